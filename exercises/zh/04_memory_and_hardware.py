# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# > 练习笔记本，由 `python -m coursekit exercises build` 从 `solutions/zh/04_memory_and_hardware.py` 生成。
# > 把每个 `raise NotImplementedError(...)` 换成你的代码，然后运行它下面的检查单元格。

# %% [markdown]
# # 练习 04 · 内存、精度与硬件
#
# 五个小函数，每个都会在每次运行检查时重新随机抽取的输入上，与 `coursekit` 或 PyTorch 本身的结果对照（所以硬编码或抄来的数字无法通过）：
#
# 1. 在*大小不同*的微批次上累积出一步优化器更新，结果与大批次相同；
# 2. 一个模型加一个优化器的训练内存账本；
# 3. 一个卷积的 FLOPs 和字节数——即它的算术强度；
# 4. 这个强度在给定机器上是受算力限制还是受内存限制；
# 5. 给定的损失缩放救不回哪些会在 fp16 中下溢的梯度。
#
# 在写着 `raise NotImplementedError` 的地方写代码，然后运行下面的检查单元。检查单元会在内部导入参考实现：请自己写代码，不要调用它们。全部检查通过后，在终端运行 `python -m coursekit check exercises/zh/04_memory_and_hardware.py`，看看你证明了哪些清单条目。

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import random

import torch
from torch import nn

from coursekit.i18n import tr


def random_mlp(dtype=torch.float32) -> nn.Sequential:
    """A small random MLP without BatchNorm or dropout (widths drawn at random)."""
    widths = [random.randint(3, 12) for _ in range(random.randint(2, 4))]
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], 5))
    return nn.Sequential(*layers).to(dtype)


# %% [markdown]
# ## 1. 在不均匀的微批次上做梯度累积
#
# 数据加载器的最后一个批次往往更短。写出 `accumulated_step(model, optimizer, micro_batches)`：`micro_batches` 是一个 `(x, y)` 对的列表，各自大小可能不同；只做**一次**优化器更新，其梯度等于把它们*全部*样本合在一起的平均交叉熵的梯度（也就是一个大批次会得到的梯度）。从干净的梯度开始——你被调用时 `.grad` 里的东西都是过时的。

# %%
def accumulated_step(model: nn.Module, optimizer: torch.optim.Optimizer, micro_batches: list) -> None:
    """One optimizer step equal to the big batch made of all micro-batches."""
    # 练习 1：把下一行换成你的代码。提示：第 04 课第 3 节“梯度累积”（每个损失取总和，再除以总数）
    raise NotImplementedError('Exercise 1: not written yet (see the comment above) | 练习 1：还没写（见上方注释）')


# %% tags=["check"] check_id="ex04-accumulation" checklist=["T4"]
def check():
    import copy

    for _ in range(8):
        model = random_mlp()
        n_in = model[0].in_features
        sizes = [random.randint(4, 12) for _ in range(random.randint(2, 4))]
        sizes.append(random.randint(1, min(sizes) - 1))  # a shorter last micro-batch
        micro = [(torch.randn(s, n_in), torch.randint(0, 5, (s,))) for s in sizes]
        big, mine = copy.deepcopy(model), copy.deepcopy(model)
        lr, momentum = random.uniform(0.05, 0.5), random.choice([0.0, 0.9])
        opt_big = torch.optim.SGD(big.parameters(), lr=lr, momentum=momentum)
        opt_mine = torch.optim.SGD(mine.parameters(), lr=lr, momentum=momentum)
        for _ in range(2):  # two steps: momentum remembers the first
            x = torch.cat([x for x, _ in micro])
            y = torch.cat([y for _, y in micro])
            opt_big.zero_grad()
            nn.functional.cross_entropy(big(x), y).backward()
            opt_big.step()
            for p in mine.parameters():  # stale gradients from "an earlier step"
                p.grad = torch.randn_like(p)
            accumulated_step(mine, opt_mine, micro)
        for (name, p), q in zip(mine.named_parameters(), big.parameters()):
            assert torch.allclose(p, q, atol=1e-6), tr(
                "micro-batches of sizes {sizes}: after two steps parameter {name} differs from the big batch's by "
                "up to {d:.2g}", "微批次大小 {sizes}：两步之后参数 {name} 与大批次相差最多 {d:.2g}",
                sizes=sizes, name=name, d=(p - q).abs().max().item())
    print("✓ accumulated_step equals one big-batch step on 8 random models and uneven micro-batches")


check()

# %% [markdown]
# ## 2. 训练内存账本
#
# 写出 `training_memory(model, optimizer, activations)`，返回一个以字节为单位的 dict，键为 `"parameters"`、`"gradients"`、`"optimizer_state"` 和 `"activations"`：
#
# - 参数：所有参数，无论可训练还是冻结，按各自 dtype 的大小计算；
# - 梯度：每个**可训练**参数（`requires_grad`）一个；
# - 优化器状态：`torch.optim.Adam`/`AdamW` 对每个可训练参数保留 2 个张量，带动量的 `torch.optim.SGD` 保留 1 个，不带动量的保留 0 个（忽略 Adam 的标量步数计数器）；
# - 激活：直接用传入的 `activations` 字节数。

# %%
def training_memory(model: nn.Module, optimizer: torch.optim.Optimizer, activations: int) -> dict:
    """Bytes of parameters, gradients, optimizer state and activations of one training step."""
    # 练习 2：把下一行换成你的代码。提示：第 04 课第 1 节“训练内存都去哪儿了”；p.element_size() 是每个数的字节数
    raise NotImplementedError('Exercise 2: not written yet (see the comment above) | 练习 2：还没写（见上方注释）')


# %% tags=["check"] check_id="ex04-training-memory" checklist=["E3", "T4"]
def check():
    from coursekit.memory import estimate_training_memory  # the reference

    kinds = ["adam", "adamw", "sgd_momentum", "sgd"]
    random.shuffle(kinds)
    for trial in range(12):
        dtype = [torch.float32, torch.float64, torch.float16][trial % 3]
        model = random_mlp(dtype)
        linears = [m for m in model if isinstance(m, nn.Linear)]
        frozen = random.sample(linears[:-1], random.randint(1, len(linears) - 1)) if trial % 2 else []
        for layer in frozen:
            layer.requires_grad_(False)
        trainable = [p for p in model.parameters() if p.requires_grad]
        kind = kinds[trial % 4]
        if kind in ("adam", "adamw"):
            optimizer = (torch.optim.Adam if kind == "adam" else torch.optim.AdamW)(trainable)
        else:
            optimizer = torch.optim.SGD(trainable, lr=0.1, momentum=random.uniform(0.5, 0.99) if kind == "sgd_momentum" else 0)
        activations = random.randint(0, 10**7)
        want = estimate_training_memory(model, kind, activations=activations).as_dict()
        got = training_memory(model, optimizer, activations)
        assert isinstance(got, dict) and set(got) == set(want), tr(
            "return a dict with the keys {keys}", "返回一个包含键 {keys} 的 dict", keys=sorted(want))
        for key in want:
            assert got[key] == want[key], tr(
                "{kind}, {dtype}, {frozen} frozen layer(s): {key} should be {want:,} bytes, got {got}",
                "{kind}，{dtype}，冻结 {frozen} 层：{key} 应为 {want:,} 字节，你得到 {got}",
                kind=kind, dtype=str(dtype), frozen=len(frozen), key=key, want=want[key], got=got[key])
    print("✓ training_memory matches coursekit.memory.estimate_training_memory for Adam, AdamW, SGD (± momentum), "
          "three dtypes and frozen layers")


check()

# %% [markdown]
# ## 3. 一个卷积的算术强度
#
# 写出 `conv_cost(batch, in_channels, out_channels, size, kernel, stride, padding, bytes_per_element)`，对象是一个带偏置 (bias)、卷积核为 `kernel × kernel` 正方形的 `nn.Conv2d`，输入形状为 `(batch, in_channels, size, size)`。返回 `(flops, bytes, intensity)`：
#
# - 输出的边长是 `(size + 2·padding − kernel) // stride + 1`；
# - FLOPs：每次乘加算 2 次（每个输出值有 `in_channels · kernel²` 次乘加），偏置再为每个输出值加 1 次；
# - 字节：输入 + 输出 + 权重 + 偏置，各搬运一次，每个数 `bytes_per_element` 字节；
# - 算术强度 = flops / bytes。

# %%
def conv_cost(batch: int, in_channels: int, out_channels: int, size: int, kernel: int, stride: int,
              padding: int, bytes_per_element: int) -> tuple:
    """(FLOPs, bytes moved, arithmetic intensity) of one Conv2d call."""
    # 练习 3：把下一行换成你的代码。提示：第 04 课第 9 节“你这台机器的 roofline”
    raise NotImplementedError('Exercise 3: not written yet (see the comment above) | 练习 3：还没写（见上方注释）')


# %% tags=["check"] check_id="ex04-conv-intensity" checklist=["E3"]
def check():
    from torch.utils.flop_counter import FlopCounterMode

    from coursekit.hardware import conv2d_cost  # the reference

    for trial in range(25):
        kernel = random.choice([1, 3, 5, 7])
        args = dict(batch=random.randint(1, 9), in_channels=random.randint(1, 24), out_channels=random.randint(1, 24),
                    size=random.randint(kernel + 1, 20), kernel=kernel, stride=random.choice([1, 2, 3]),
                    padding=random.randint(0, kernel // 2 + 1), bytes_per_element=random.choice([1, 2, 4, 8]))
        want_flops, want_bytes = conv2d_cost(args["batch"], args["in_channels"], args["out_channels"], args["size"],
                                             args["size"], kernel, stride=args["stride"], padding=args["padding"],
                                             bytes_per_element=args["bytes_per_element"])
        got = conv_cost(**args)
        assert isinstance(got, tuple) and len(got) == 3, tr("return (flops, bytes, intensity)",
                                                            "返回 (flops, bytes, intensity)")
        flops, nbytes, intensity = got
        assert flops == want_flops, tr("{args}: {want:,} FLOPs expected, got {got}", "{args}：应为 {want:,} FLOPs，你得到 {got}",
                                       args=args, want=want_flops, got=flops)
        assert nbytes == want_bytes, tr("{args}: {want:,} bytes expected, got {got}", "{args}：应为 {want:,} 字节，你得到 {got}",
                                        args=args, want=want_bytes, got=nbytes)
        assert abs(intensity - want_flops / want_bytes) < 1e-9 * intensity, tr(
            "intensity must be flops / bytes", "算术强度必须是 flops / bytes")
        if trial < 3:  # torch's own counter agrees on the multiply-adds
            conv = nn.Conv2d(args["in_channels"], args["out_channels"], kernel, args["stride"], args["padding"])
            counter = FlopCounterMode(display=False)
            with torch.no_grad(), counter:
                out = conv(torch.randn(args["batch"], args["in_channels"], args["size"], args["size"]))
            assert flops == counter.get_total_flops() + out.numel(), tr(
                "torch's FLOP counter disagrees with your count", "torch 的 FLOP 计数器与你的计数不一致")
    print("✓ conv_cost matches coursekit.hardware.conv2d_cost (and torch's FLOP counter) on 25 random convolutions")


check()

# %% [markdown]
# ## 4. 受算力限制还是受内存限制？
#
# 一台机器每秒最多计算 `peak_gflops` GFLOP、最多搬运 `peak_gbps` GB。写出 `bound(intensity, peak_gflops, peak_gbps)`，返回 `(attainable_gflops, "memory" 或 "compute")`：即该强度的层在 roofline 上可达到的速率，以及限制它的是哪个屋顶。正好落在拐点上时，算作 `"compute"`。

# %%
def bound(intensity: float, peak_gflops: float, peak_gbps: float) -> tuple:
    """(attainable GFLOP/s, "memory" or "compute") on the roofline of the given machine."""
    # 练习 4：把下一行换成你的代码。提示：第 04 课第 9 节（拐点是 peak_gflops / peak_gbps）
    raise NotImplementedError('Exercise 4: not written yet (see the comment above) | 练习 4：还没写（见上方注释）')


# %% tags=["check"] check_id="ex04-roofline-bound" checklist=["E3"]
def check():
    from coursekit.hardware import roofline  # the reference

    for trial in range(40):
        peak_gbps = random.choice([2.0, 8.0, 25.0, 50.0, 200.0, 1000.0, 4800.0])
        peak_gflops = peak_gbps * random.choice([4, 8, 16, 32, 64, 128, 256])
        ridge = peak_gflops / peak_gbps
        intensity = [ridge, ridge / 2, ridge * 2][trial] if trial < 3 else ridge * 2 ** random.uniform(-4, 4)
        want = roofline(intensity, peak_gflops, peak_gbps)
        got = bound(intensity, peak_gflops, peak_gbps)
        assert isinstance(got, tuple) and len(got) == 2, tr("return (attainable_gflops, kind)",
                                                            "返回 (attainable_gflops, kind)")
        assert got[1] == want[1], tr(
            "intensity {i:.3g} FLOP/B on a {p:g} GFLOP/s, {b:g} GB/s machine (ridge {r:.3g}) is {want}-bound, you said {got!r}",
            "在 {p:g} GFLOP/s、{b:g} GB/s 的机器上（拐点 {r:.3g}），算术强度 {i:.3g} FLOP/B 是 {want} 受限，你给出 {got!r}",
            i=intensity, p=peak_gflops, b=peak_gbps, r=ridge, want=want[1], got=got[1])
        assert abs(got[0] - want[0]) <= 1e-9 * want[0], tr(
            "attainable rate {got} GFLOP/s, expected {want:.4g}", "可达速率为 {got} GFLOP/s，应为 {want:.4g}",
            got=got[0], want=want[0])
    print("✓ bound matches coursekit.hardware.roofline on 40 random machines and intensities (the ridge included)")


check()

# %% [markdown]
# ## 5. 损失缩放能救回哪些梯度？
#
# 在 fp16 中，绝对值小于约 6e-8 的数（fp16 最小次正规数的一半以下会向下舍入）会变成精确的 0。损失缩放先把每个梯度乘以 `scale`。写出 `lost_in_fp16(grads, scale)`：返回一个 bool 张量，在梯度**非零**、但 `grads * scale` 转成 `torch.float16` 后**为零**的位置为 `True`——也就是这个缩放救不回来的梯度。舍入交给 PyTorch 的类型转换去做。

# %%
def lost_in_fp16(grads: torch.Tensor, scale: float) -> torch.Tensor:
    """True where grads != 0 but (grads * scale) becomes 0 in float16."""
    # 练习 5：把下一行换成你的代码。提示：第 04 课第 6 节“fp16 为什么需要损失缩放”
    raise NotImplementedError('Exercise 5: not written yet (see the comment above) | 练习 5：还没写（见上方注释）')


# %% tags=["check"] check_id="ex04-loss-scaling" checklist=["E3", "T4"]
def check():
    from coursekit.memory import fp16_underflow  # the reference

    for _ in range(20):
        scale = 2.0 ** random.randint(0, 24)
        n = random.randint(200, 2000)
        exponents = torch.empty(n).uniform_(-12, -1)
        grads = torch.sign(torch.randn(n)) * 10.0 ** exponents
        boundary = 5.96e-8 / scale  # around fp16's smallest subnormal, once scaled
        grads[: n // 4] = torch.sign(torch.randn(n // 4)) * boundary * torch.empty(n // 4).uniform_(0.3, 1.7)
        grads[torch.rand(n) < 0.1] = 0.0  # gradients that are exactly zero are not "lost"
        grads = grads[torch.randperm(n)]
        want = fp16_underflow(grads, scale)
        got = lost_in_fp16(grads.clone(), scale)
        assert isinstance(got, torch.Tensor) and got.dtype == torch.bool and got.shape == grads.shape, tr(
            "return a bool tensor of shape {shape}", "返回形状为 {shape} 的 bool 张量", shape=tuple(grads.shape))
        assert torch.equal(got, want), tr(
            "scale 2^{k}: you mark {got} gradients as lost, the reference {want} ({diff} differ)",
            "缩放 2^{k}：你标记了 {got} 个丢失的梯度，参考答案是 {want} 个（{diff} 个不同）",
            k=int(torch.log2(torch.tensor(scale))), got=int(got.sum()), want=int(want.sum()), diff=int((got != want).sum()))
    print("✓ lost_in_fp16 matches coursekit.memory.fp16_underflow at 20 random power-of-two scales")


check()

# %% [markdown]
# ## 完成了吗？
#
# 运行 `python -m coursekit check exercises/zh/04_memory_and_hardware.py`（或英文版），查看本练习证明的清单条目：**E3**（理解不同硬件平台的性能特点：训练内存、roofline、fp16 的范围）和 **T4**（能够正确评估各种方法：精确的梯度累积、内存账本、损失缩放）。
