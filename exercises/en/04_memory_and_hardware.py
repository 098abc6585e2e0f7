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
# > Exercise notebook, generated from `solutions/en/04_memory_and_hardware.py` by `python -m coursekit exercises build`.
# > Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.

# %% [markdown]
# # Exercise 04 · Memory, precision and hardware
#
# Five small functions, each checked against `coursekit` or PyTorch itself on inputs drawn at random
# every time you run the check (so a hard-coded or copied number can't pass):
#
# 1. one optimizer step accumulated over micro-batches of *different* sizes, equal to the big batch;
# 2. the training-memory budget of a model and an optimizer;
# 3. the FLOPs and bytes of a convolution — its arithmetic intensity;
# 4. whether that intensity is compute- or memory-bound on a given machine;
# 5. which gradients a loss scale fails to save from underflowing in fp16.
#
# Write your code where it says `raise NotImplementedError`, then run the check cell below it. The
# checks import the reference implementations inside themselves: write the code, don't call them.
# When every check passes, run `python -m coursekit check exercises/en/04_memory_and_hardware.py` in a
# terminal to see which checklist items you have evidenced.

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
# ## 1. Gradient accumulation over uneven micro-batches
#
# A data loader's last batch is often shorter. Write `accumulated_step(model, optimizer, micro_batches)`:
# `micro_batches` is a list of `(x, y)` pairs of possibly different sizes; take **one** optimizer step
# whose gradient equals that of the mean cross-entropy over *all* their examples together (what one
# big batch would give). Start from clean gradients — whatever `.grad` holds when you are called is
# stale.

# %%
def accumulated_step(model: nn.Module, optimizer: torch.optim.Optimizer, micro_batches: list) -> None:
    """One optimizer step equal to the big batch made of all micro-batches."""
    # Exercise 1: replace the next line with your code. Hint: lesson 04, section 3 "Gradient accumulation" (sum each loss, divide by the total)
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
# ## 2. The training-memory budget
#
# Write `training_memory(model, optimizer, activations)` returning a dict of bytes with the keys
# `"parameters"`, `"gradients"`, `"optimizer_state"` and `"activations"`:
#
# - parameters: every parameter, trainable or frozen, at its own dtype's size;
# - gradients: one per **trainable** parameter (`requires_grad`);
# - optimizer state: `torch.optim.Adam`/`AdamW` keep 2 tensors per trainable parameter, `torch.optim.SGD`
#   with momentum 1, without momentum 0 (ignore Adam's scalar step counters);
# - activations: the `activations` bytes you are given.

# %%
def training_memory(model: nn.Module, optimizer: torch.optim.Optimizer, activations: int) -> dict:
    """Bytes of parameters, gradients, optimizer state and activations of one training step."""
    # Exercise 2: replace the next line with your code. Hint: lesson 04, section 1 "Where training memory goes"; p.element_size() is bytes per number
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
# ## 3. A convolution's arithmetic intensity
#
# Write `conv_cost(batch, in_channels, out_channels, size, kernel, stride, padding, bytes_per_element)`
# for a `nn.Conv2d` with a bias and a square `kernel × kernel` filter on a `(batch, in_channels, size,
# size)` input. Return `(flops, bytes, intensity)`:
#
# - the output side is `(size + 2·padding − kernel) // stride + 1`;
# - FLOPs: 2 per multiply-add (`in_channels · kernel²` of them per output value) plus 1 per output
#   value for the bias;
# - bytes: input + output + weights + bias, each moved once, `bytes_per_element` bytes per number;
# - intensity = flops / bytes.

# %%
def conv_cost(batch: int, in_channels: int, out_channels: int, size: int, kernel: int, stride: int,
              padding: int, bytes_per_element: int) -> tuple:
    """(FLOPs, bytes moved, arithmetic intensity) of one Conv2d call."""
    # Exercise 3: replace the next line with your code. Hint: lesson 04, section 9 "A roofline of your machine"
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
# ## 4. Compute- or memory-bound?
#
# A machine computes at most `peak_gflops` GFLOP/s and moves at most `peak_gbps` GB/s. Write
# `bound(intensity, peak_gflops, peak_gbps)` returning `(attainable_gflops, "memory" or "compute")`: the
# roofline's attainable rate for a layer of that intensity, and which roof limits it. Exactly at the
# ridge point, call it `"compute"`.

# %%
def bound(intensity: float, peak_gflops: float, peak_gbps: float) -> tuple:
    """(attainable GFLOP/s, "memory" or "compute") on the roofline of the given machine."""
    # Exercise 4: replace the next line with your code. Hint: lesson 04, section 9 (the ridge point is peak_gflops / peak_gbps)
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
# ## 5. Which gradients does a loss scale save?
#
# In fp16, any magnitude below about 6e-8 (half of fp16's smallest subnormal rounds down) becomes
# exactly 0. Loss scaling multiplies every gradient by `scale` first. Write `lost_in_fp16(grads, scale)`:
# a bool tensor, `True` where a gradient is **nonzero** but `grads * scale` cast to `torch.float16` is
# **zero** — what that scale fails to save. Let PyTorch's cast do the rounding.

# %%
def lost_in_fp16(grads: torch.Tensor, scale: float) -> torch.Tensor:
    """True where grads != 0 but (grads * scale) becomes 0 in float16."""
    # Exercise 5: replace the next line with your code. Hint: lesson 04, section 6 "Why fp16 needs loss scaling"
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
# ## Done?
#
# Run `python -m coursekit check exercises/en/04_memory_and_hardware.py` (or the Chinese edition) to
# see the checklist items this exercise evidences: **E3** (the performance characteristics of
# different hardware: training memory, the roofline, fp16's range) and **T4** (evaluating methods
# correctly: exact accumulation, memory budgets, loss scaling).
