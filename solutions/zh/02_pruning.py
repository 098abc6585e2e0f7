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
# # 练习 02 · 剪枝 (Pruning)
#
# 本练习有五个小函数。每次运行检查单元格时，它们都会在随机抽取的输入上与 `torch.nn.utils.prune` 或 `coursekit.prune` 的结果对照（所以写死或照抄一个数字是过不了的）：
#
# 1. 从零写一个按幅值 (magnitude) 计算的掩码 (mask)，这次给定的是要*保留*的权重比例；
# 2. 为多个层确定同一个全局阈值 (global threshold)；
# 3. Zhu & Gupta 的三次多项式（cubic）稀疏度调度；
# 4. 正确统计一个用 `torch.nn.utils.prune` 剪过的模型的稀疏度 (sparsity)——初始代码（seed code，即本课程最初依据的那份参考代码，见第 02 课）恰恰在这里出了错；
# 5. 删除“卷积 → BatchNorm → 卷积”模块中被剪掉的通道。
#
# 在写着 `raise NotImplementedError` 的地方填上你的代码，然后运行它下面的检查单元格。检查单元格在自己内部导入参考实现：请自己写代码，不要去调用它们。所有检查都通过后，在终端里运行 `python -m coursekit check exercises/zh/02_pruning.py`，看看你已经为哪些清单项提供了证据。

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import random

import torch
from torch import nn


def holder(tensor: torch.Tensor) -> nn.Module:
    """A bare module whose parameter `weight` is `tensor` (the checks prune it with torch.nn.utils.prune)."""
    module = nn.Module()
    module.weight = nn.Parameter(tensor.clone())
    return module


# %% [markdown]
# ## 1. 幅值掩码
#
# 课上第 2 节数的是要*剪掉*多少个权重。而部署时的预算常常反过来说——“保留 10% 的权重”。所以这里请实现 `keep_mask(weight, keep)`：返回一个形状相同的 float32 张量，`|w|` 最大的 `k = round(keep * weight.numel())` 个位置为 1，其余为 0。别忘了 `keep = 0`（一个都不留）和 `keep = 1`（全部保留）这两种情况。

# %%
def keep_mask(weight: torch.Tensor, keep: float) -> torch.Tensor:
    """1.0 for the round(keep * numel) weights with the largest |weight|, 0.0 for all others."""
    ### BEGIN SOLUTION  hint: 第 02 课第 2 节“手写一个掩码”（这里用 torch.topk 挑出最大的那些来保留）
    k = round(keep * weight.numel())
    mask = torch.zeros(weight.numel())
    mask[torch.topk(weight.abs().flatten(), k).indices] = 1.0
    return mask.view(weight.shape)
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-magnitude-mask" checklist=["T2"]
def check():
    from torch.nn.utils import prune  # 参考实现在这里才导入，你的代码调用不到它

    for trial in range(30):
        shape = [random.randint(1, 12) for _ in range(random.randint(1, 4))]
        weight = torch.randn(shape)  # 连续取值：不会出现并列
        keep = [0.0, 1.0][trial] if trial < 2 else random.random()
        n_prune = weight.numel() - round(keep * weight.numel())  # 整数 amount：恰好剪掉这么多个权重
        expected = prune.l1_unstructured(holder(weight), "weight", amount=n_prune).weight_mask
        got = keep_mask(weight, keep)
        assert isinstance(got, torch.Tensor) and got.shape == weight.shape, (
            f"return a tensor of shape {tuple(weight.shape)}")
        assert got.dtype == torch.float32, f"the mask must be float32 (1.0 / 0.0), got {got.dtype}"
        assert torch.equal(got, expected), (
            f"shape {shape}, keep {keep:.3f}: your mask keeps {int((got == 1).sum())} weights, "
            f"the reference keeps {int((expected == 1).sum())}; {int((got != expected).sum())} entries differ")
    print("✓ keep_mask equals torch.nn.utils.prune.l1_unstructured's mask on 30 random tensors")


check()

# %% [markdown]
# ## 2. 同一个全局阈值
#
# 逐层剪枝 (layer-wise) 让每一层的稀疏度都相同；*全局*剪枝 (global) 则把所有层的所有权重放在一起排序：只有一个阈值，小权重多的层就会被剪得更多。请实现 `global_masks(weights, sparsity)`，为每个张量返回一个 float32 掩码，使得把所有张量合在一起看时，`|w|` 最小的 `round(sparsity * total)` 个权重被剪掉。

# %%
def global_masks(weights: list[torch.Tensor], sparsity: float) -> list[torch.Tensor]:
    """Masks (1 = keep) for each tensor, from one magnitude ranking over all of them."""
    ### BEGIN SOLUTION  hint: 第 02 课第 4 节“逐层还是全局？”（先拼接、排序，再切分）
    flat = torch.cat([w.abs().flatten() for w in weights])
    mask = torch.ones(flat.numel())
    mask[torch.topk(flat, round(sparsity * flat.numel()), largest=False).indices] = 0.0
    return [m.view(w.shape) for m, w in zip(torch.split(mask, [w.numel() for w in weights]), weights)]
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-global-threshold" checklist=["T2", "U2"]
def check():
    from torch.nn.utils import prune  # 参考实现

    for _ in range(10):
        # 和真实网络一样，各层的数值尺度相差很大：逐层阈值会得到不同的结果
        weights = [torch.randn(random.randint(5, 40), random.randint(5, 40)) * 10 ** random.uniform(-2, 1)
                   for _ in range(random.randint(2, 4))]
        sparsity = random.uniform(0.2, 0.9)
        modules = [holder(w) for w in weights]
        prune.global_unstructured([(m, "weight") for m in modules], prune.L1Unstructured, amount=sparsity)
        got = global_masks(weights, sparsity)
        assert len(got) == len(weights), f"{len(got)} masks for {len(weights)} tensors"
        for i, (g, m) in enumerate(zip(got, modules)):
            assert g.shape == m.weight_mask.shape, f"mask {i} has shape {tuple(g.shape)}"
            assert g.dtype == torch.float32, f"mask {i} must be float32 (1.0 / 0.0), got {g.dtype}"
            assert torch.equal(g, m.weight_mask), (
                f"layer {i}: you prune {int((g == 0).sum())} weights, global_unstructured prunes "
                f"{int((m.weight_mask == 0).sum())} (sparsity {sparsity:.2f})")
    print("✓ global_masks equals torch.nn.utils.prune.global_unstructured on 10 random sets of layers")


check()

# %% [markdown]
# ## 3. 三次多项式调度
#
# 渐进式剪枝 (gradual pruning，Zhu & Gupta, 2017) 分 `steps` 步提高稀疏度。第 `t` 步（t = 1 … steps）之后的目标是 `final + (initial − final) · (1 − t / steps)³`：一开始网络里冗余的权重还很多，步子迈得大；越到后面步子越小。请以列表形式返回这 `steps` 个目标值，最后一个必须恰好等于 `final`。

# %%
def cubic_schedule(initial: float, final: float, steps: int) -> list[float]:
    """The sparsity targets after steps 1..steps of Zhu & Gupta's schedule."""
    ### BEGIN SOLUTION  hint: 第 02 课第 8 节“渐进还是一次性？”
    return [final + (initial - final) * (1 - t / steps) ** 3 for t in range(1, steps + 1)]
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-cubic-schedule" checklist=["T3"]
def check():
    from coursekit.prune import polynomial_schedule  # 参考实现

    for _ in range(20):
        initial = random.uniform(0.0, 0.5)
        final, steps = random.uniform(initial, 0.99), random.randint(2, 30)
        expected = polynomial_schedule(initial, final, steps)
        got = cubic_schedule(initial, final, steps)
        assert len(got) == steps, f"{len(got)} targets for {steps} steps"
        assert all(abs(g - e) < 1e-9 for g, e in zip(got, expected)), (
            f"cubic_schedule({initial:.3f}, {final:.3f}, {steps}) = {[round(g, 3) for g in got[:4]]}..., "
            f"expected {[round(e, 3) for e in expected[:4]]}...")
        assert got[-1] == final, "the last target must be exactly `final`"
    print("✓ cubic_schedule matches coursekit.prune.polynomial_schedule on 20 random schedules")


check()

# %% [markdown]
# ## 4. 正确地统计稀疏度
#
# `torch.nn.utils.prune` 把原封不动的权重放在参数 `weight_orig` 里，把零的位置放在缓冲区 (buffer) `weight_mask` 里；层在计算时真正使用的是两者的乘积，即 `module.weight`。初始代码在 `model.parameters()` 里数零，而它返回的是 `weight_orig`，于是几乎一个零也数不到。请实现 `model_sparsity(model)`：统计所有 `nn.Conv2d` 和 `nn.Linear` 的权重（不含偏置）中，层实际使用的值里零所占的比例——无论这一层有没有被剪枝（一个模型可能只剪了部分层，也可能把零当作普通权重保存了下来）。

# %%
def model_sparsity(model: nn.Module) -> float:
    """Fraction of zeros over the effective weights of all Conv2d and Linear layers."""
    ### BEGIN SOLUTION  hint: 第 02 课第 12 节“初始代码的评估器错在哪里”
    zeros = total = 0
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            zeros += int((module.weight == 0).sum())
            total += module.weight.numel()
    return zeros / total
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-count-sparsity" checklist=["T4"]
def check():
    from torch.nn.utils import prune

    from coursekit.prune import sparsity  # 参考实现：统计层实际计算时所用权重中的零

    for trial in range(6):
        width = random.randint(4, 16)
        model = nn.Sequential(nn.Conv2d(1, width, 3), nn.ReLU(), nn.Flatten(), nn.Linear(width * 36, 16), nn.ReLU(),
                              nn.Linear(16, 10))
        layers = [model[0], model[3], model[5]]
        with torch.no_grad():  # 以普通权重形式存下的零，就像剪枝后保存的检查点那样
            for layer in layers:
                layer.weight[torch.rand(layer.weight.shape) < random.uniform(0.05, 0.5)] = 0.0
        if trial > 0:  # 第 0 次不剪枝；其余几次只剪部分层，其他层保持原样
            for layer in random.sample(layers, random.randint(1, 2)):
                prune.l1_unstructured(layer, "weight", amount=random.uniform(0.3, 0.95))
        expected = sparsity(model)
        got = model_sparsity(model)
        assert abs(got - expected) < 1e-9, f"model_sparsity = {got:.4f}, expected {expected:.4f} (trial {trial})"
    print("✓ model_sparsity counts the zeros the layers compute with, on 6 random models (pruned in part or not at all)")


check()

# %% [markdown]
# ## 5. 真正删除通道
#
# 结构化剪枝 (structured pruning) 把整个通道置零，但置零的通道仍然要花时间：卷积照样会把它算一遍。请为 `block = nn.Sequential(conv1, bn, relu, conv2)` 实现 `shrink_block(block)`，其中失效的通道（`conv1` 里滤波器和偏置为零、`bn` 里 `weight` 和 `bias` 为零）已经是普通的零值。返回一个由同样四种层组成、但去掉了这些通道的**新** `nn.Sequential`：`conv1` 的滤波器更少，`bn` 的特征数更少（它的每一个逐通道张量都要跟着删），`conv2` 的输入通道更少。不要改动传进来的 `block` 本身：调用者可能还要用它。在 eval 模式下，新模块的输出必须与原来相同。

# %%
def shrink_block(block: nn.Sequential) -> nn.Sequential:
    """conv1 -> bn -> relu -> conv2 without the channels that always output zero."""
    ### BEGIN SOLUTION  hint: 第 02 课第 9 节“结构化剪枝”（用保留下来的通道去索引每一个张量）
    conv1, bn, relu, conv2 = block
    alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
    new1 = nn.Conv2d(conv1.in_channels, len(alive), conv1.kernel_size, conv1.stride, conv1.padding)
    new_bn = nn.BatchNorm2d(len(alive), eps=bn.eps, momentum=bn.momentum)
    new2 = nn.Conv2d(len(alive), conv2.out_channels, conv2.kernel_size, conv2.stride, conv2.padding)
    with torch.no_grad():
        new1.weight.copy_(conv1.weight[alive])
        new1.bias.copy_(conv1.bias[alive])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(new_bn, name).copy_(getattr(bn, name)[alive])
        new2.weight.copy_(conv2.weight[:, alive])
        new2.bias.copy_(conv2.bias)
    return nn.Sequential(new1, new_bn, relu, new2)
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-remove-channels" checklist=["T2"]
def check():
    from coursekit.prune import magnitude_prune, remove_channels, remove_pruning  # 参考实现

    def sizes(b):
        return b[0].out_channels, b[1].num_features, b[3].in_channels

    for _ in range(5):
        c_in, c_mid, c_out = random.randint(1, 4), random.randint(6, 24), random.randint(2, 10)
        block = nn.Sequential(nn.Conv2d(c_in, c_mid, 3, padding=1), nn.BatchNorm2d(c_mid), nn.ReLU(),
                              nn.Conv2d(c_mid, c_out, 3, padding=1))
        with torch.no_grad():  # 使用训练后那样的运行统计量，而不是默认的 0 和 1
            block[1].running_mean.uniform_(-1, 1)
            block[1].running_var.uniform_(0.5, 2.0)
            block[1].weight.uniform_(0.5, 1.5)
            block[1].bias.uniform_(-0.5, 0.5)
        remove_pruning(magnitude_prune(block, random.uniform(0.2, 0.7), structured=True))
        block.eval()
        x = torch.randn(3, c_in, random.randint(5, 9), random.randint(5, 9))
        expected_out = block(x)
        reference = remove_channels(block)
        state, before = {k: v.clone() for k, v in block.state_dict().items()}, sizes(block)
        small = shrink_block(block)
        assert small is not block, "return a new nn.Sequential, not the block you were given"
        unchanged = sizes(block) == before and all(
            v.shape == state[k].shape and torch.equal(v, state[k]) for k, v in block.state_dict().items())
        assert unchanged, "shrink_block modified the block it was given: build new layers and leave it as it was"
        assert isinstance(small, nn.Sequential) and len(small) == 4, "return nn.Sequential(conv1, bn, relu, conv2)"
        small.eval()
        assert sizes(small) == sizes(reference), (
            f"(conv1 out_channels, bn num_features, conv2 in_channels) = {sizes(small)}, expected {sizes(reference)}")
        assert small[0].weight.shape == reference[0].weight.shape, (
            f"conv1 weight {tuple(small[0].weight.shape)}, expected {tuple(reference[0].weight.shape)}")
        assert small[3].weight.shape == reference[3].weight.shape, (
            f"conv2 weight {tuple(small[3].weight.shape)}, expected {tuple(reference[3].weight.shape)}")
        got_out = small(x)
        assert torch.allclose(got_out, expected_out, atol=1e-5), (
            f"outputs differ by up to {(got_out - expected_out).abs().max():.3g}")
    print("✓ shrink_block: a new, smaller block with the same outputs, the original untouched, on 5 random blocks")


check()

# %% [markdown]
# ## 6. 在真实模型上权衡
#
# 压缩是一种权衡：稀疏度越高，准确率越低。请在训练好的真实教师模型上做这个实验。
#
# - `tradeoff(model, evaluate_fn, sparsities)`：对每个稀疏度，用一个全局幅值阈值剪枝 `model` 的**副本**（这里可以使用 `coursekit.prune.clone_model` 和 `magnitude_prune(..., scope="global")`，重点在实验本身），返回每个副本的 `evaluate_fn(副本)` 组成的列表。传进来的模型必须保持原样。
# - `largest_safe_sparsity(sparsities, accuracies, dense_accuracy, max_drop)`：读懂这条曲线。按稀疏度从小到大（传入的顺序可能是乱的）依次往上走，返回第一个比 `dense_accuracy` 低了超过 `max_drop`（一个比例，例如 0.01 就是一个百分点）的稀疏度之前的那一个；如果连最小的稀疏度都不满足，就返回 `0.0`。遇到第一个代价过高的台阶就停下，而不是去取后面碰巧又高起来的稀疏度——这才是对一条有噪声的曲线的稳妥解读。

# %%
def tradeoff(model: nn.Module, evaluate_fn, sparsities: list[float]) -> list[float]:
    """Accuracy of `model` pruned (a copy, one global magnitude threshold) to each sparsity."""
    ### BEGIN SOLUTION  hint: 第 02 课第 4 节“逐层还是全局？”以及第 5 节的扫描
    from coursekit.prune import clone_model, magnitude_prune

    accuracies = []
    for s in sparsities:
        pruned = magnitude_prune(clone_model(model), s, scope="global")
        accuracies.append(evaluate_fn(pruned))
    return accuracies
    ### END SOLUTION


def largest_safe_sparsity(sparsities: list[float], accuracies: list[float], dense_accuracy: float,
                          max_drop: float) -> float:
    """The last sparsity (in increasing order) before the first one that loses more than max_drop."""
    ### BEGIN SOLUTION  hint: 按稀疏度从小到大走，遇到第一个代价过高的就停下
    safe = 0.0
    for s, accuracy in sorted(zip(sparsities, accuracies)):
        if accuracy < dense_accuracy - max_drop:
            break
        safe = s
    return safe
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-tradeoff" checklist=["E1", "U3"]
def check():
    from coursekit.data import load_dataset, make_loaders
    from coursekit.pretrained import pretrained
    from coursekit.prune import clone_model, magnitude_prune  # 参考实现
    from coursekit.train import evaluate

    teacher = pretrained("teacher", progress=False)  # 真实的、训练好的模型
    val = make_loaders(load_dataset()).val
    before = {k: v.clone() for k, v in teacher.state_dict().items()}

    def evaluate_fn(m):
        return evaluate(m, val).accuracy

    sparsities = sorted(random.sample([0.3, 0.5, 0.6, 0.7, 0.8, 0.9], k=3))
    got = tradeoff(teacher, evaluate_fn, sparsities)
    after = teacher.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before), (
        "tradeoff modified the model it was given: prune a copy each time")
    expected = [evaluate_fn(magnitude_prune(clone_model(teacher), s, scope="global")) for s in sparsities]
    assert len(got) == len(expected), f"one accuracy per sparsity: got {len(got)}, expected {len(expected)}"
    for s, g, e in zip(sparsities, got, expected):
        assert abs(float(g) - e) < 1e-9, f"at sparsity {s}: accuracy {float(g):.4f}, expected {e:.4f} (one global threshold)"

    for trial in range(30):  # 随机编造的曲线（有的中间会下凹），检查对权衡曲线的解读
        grid = sorted(random.sample([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], k=6))
        dense = random.uniform(0.9, 1.0)
        accs = [random.uniform(0.8, 1.0) for _ in grid]
        drop = random.choice([0.01, 0.02, 0.05, 0.1])
        if trial % 3 == 0:  # 每第三条曲线里放一个点：它比稠密准确率低的幅度介于 drop·dense 与 drop 之间，按百分点算仍然安全
            k = random.randrange(len(grid))
            accs[:k] = [random.uniform(dense - dense * drop / 2, 1.0) for _ in range(k)]
            accs[k] = dense - drop * (1 + dense) / 2
        order = random.sample(range(len(grid)), k=len(grid))  # 传入的顺序可以是乱的
        want = 0.0
        for s, a in zip(grid, accs):
            if a < dense - drop:
                break
            want = s
        have = largest_safe_sparsity([grid[i] for i in order], [accs[i] for i in order], dense, drop)
        assert have == want, (f"largest_safe_sparsity(..., dense_accuracy={dense:.3f}, max_drop={drop}) = {have}, "
                              f"expected {want} for the curve {[(s, round(a, 3)) for s, a in zip(grid, accs)]}")
    print(f"✓ tradeoff on the real teacher at sparsities {sparsities}: {[f'{a:.1%}' for a in got]}; "
          "largest_safe_sparsity agrees on 30 random curves")


check()

# %% [markdown]
# ## 完成了吗？
#
# 运行 `python -m coursekit check exercises/zh/02_pruning.py`（或英文版），看看本练习为哪些清单项提供了证据：**T2**（结构化与非结构化剪枝）、**T3**（渐进式剪枝）、**T4**（正确评估压缩效果）、**U2**（各种剪枝策略的特点）、**U3**（压缩率与准确率之间的权衡）以及 **E1**（在真实模型上应用压缩）。
