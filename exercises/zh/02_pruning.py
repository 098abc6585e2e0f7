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
# > 练习笔记本，由 `python -m coursekit exercises build` 从 `solutions/zh/02_pruning.py` 生成。
# > 把每个 `raise NotImplementedError(...)` 换成你的代码，然后运行它下面的检查单元格。

# %% [markdown]
# # 练习 02 · 剪枝 (Pruning)
#
# 本练习分八个部分，共十段代码。每次运行检查单元格时，它们都会在随机抽取的输入上与 `torch.nn.utils.prune` 或 `coursekit.prune` 的结果对照（所以写死或照抄一个数字是过不了的）：
#
# 1. 从零写一个按幅值 (magnitude) 计算的掩码 (mask)，这次给定的是要*保留*的权重比例；
# 2. 为多个层确定同一个全局阈值 (global threshold)；
# 3. Zhu & Gupta 的三次多项式 (cubic) 稀疏度调度；
# 4. 正确统计一个用 `torch.nn.utils.prune` 剪过的模型的稀疏度 (sparsity)——初始代码（seed code，即本课程最初依据的那份参考代码，见第 02 课）恰恰在这里出了错；
# 5. 删除“卷积 → BatchNorm → 卷积”模块中被剪掉的通道；
# 6. 在真实的教师模型上权衡：`tradeoff` 和 `largest_safe_sparsity`，再用它们解读真实的曲线；
# 7. 渐进式剪枝 (gradual pruning) 的循环本身：剪枝 → 微调 → 剪枝 ……；
# 8. 根据敏感度扫描 (sensitivity scan) 自己选定的逐层剪枝方案。
#
# 在写着 `raise NotImplementedError` 的地方填上你的代码，然后运行它下面的检查单元格。检查单元格在自己内部导入参考实现：请自己写代码，不要去调用它们。所有检查都通过后，在终端里运行 `python -m coursekit check exercises/zh/02_pruning.py`，看看你已经为哪些清单项提供了证据。

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import random

import torch
from torch import nn

from coursekit.i18n import tr


def holder(tensor: torch.Tensor) -> nn.Module:
    """A bare module whose parameter `weight` is `tensor` (the checks prune it with torch.nn.utils.prune)."""
    module = nn.Module()
    module.weight = nn.Parameter(tensor.clone())
    return module


# %% [markdown]
# ## 1. 幅值掩码
#
# 课上第 2 节数的是要*剪掉*多少个权重。而部署时的预算常常反过来说——“保留 10% 的权重”。所以这里请实现 `keep_mask(weight, keep)`：返回一个形状相同的 float32 张量，在**整个张量**中 `|w|` 最大的 `k = round(keep * weight.numel())` 个位置为 1，其余为 0。别忘了 `keep = 0`（一个都不留）和 `keep = 1`（全部保留）这两种情况。

# %%
def keep_mask(weight: torch.Tensor, keep: float) -> torch.Tensor:
    """1.0 for the round(keep * numel) weights with the largest |weight|, 0.0 for all others."""
    # 练习 1：把下一行换成你的代码。提示：第 02 课第 2 节“手写一个掩码”（这里用 torch.topk 挑出最大的那些来保留）
    raise NotImplementedError('Exercise 1: not written yet (see the comment above) | 练习 1：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-magnitude-mask" checklist=["T2"]
def check():
    from torch.nn.utils import prune  # 参考实现在这里才导入，你的代码调用不到它

    for trial in range(30):
        if trial < 10:  # 总有一些 2–4 维、各行数值尺度不同的张量：逐行排序在它们上面会失败
            shape = [random.randint(2, 8) for _ in range(random.randint(2, 4))]
            weight = torch.randn(shape) * torch.logspace(-1, 1, shape[0]).view(-1, *[1] * (len(shape) - 1))
        else:
            shape = [random.randint(1, 12) for _ in range(random.randint(1, 4))]
            weight = torch.randn(shape)  # 连续取值：不会出现并列
        keep = [0.0, 1.0][trial] if trial < 2 else random.uniform(0.1, 0.9) if trial < 10 else random.random()
        n_prune = weight.numel() - round(keep * weight.numel())  # 整数 amount：恰好剪掉这么多个权重
        expected = prune.l1_unstructured(holder(weight), "weight", amount=n_prune).weight_mask
        got = keep_mask(weight, keep)
        assert isinstance(got, torch.Tensor) and got.shape == weight.shape, tr(
            f"return a tensor of shape {tuple(weight.shape)}", f"请返回形状为 {tuple(weight.shape)} 的张量")
        assert got.dtype == torch.float32, tr(f"the mask must be float32 (1.0 / 0.0), got {got.dtype}",
                                              f"掩码必须是 float32（1.0 / 0.0），你的是 {got.dtype}")
        assert torch.equal(got, expected), tr(
            f"shape {shape}, keep {keep:.3f}: your mask keeps {int((got == 1).sum())} weights, "
            f"the reference keeps {int((expected == 1).sum())}; {int((got != expected).sum())} entries differ "
            "(rank |w| over the whole tensor)",
            f"形状 {shape}，keep {keep:.3f}：你的掩码保留 {int((got == 1).sum())} 个权重，参考实现保留 "
            f"{int((expected == 1).sum())} 个；有 {int((got != expected).sum())} 个位置不同（要在整个张量上对 |w| 排序）")
    print("✓ keep_mask equals torch.nn.utils.prune.l1_unstructured's mask on 30 random tensors")


check()

# %% [markdown]
# ## 2. 同一个全局阈值
#
# 逐层剪枝 (layer-wise) 让每一层的稀疏度都相同；*全局*剪枝 (global) 则把所有层的所有权重放在一起排序：只有一个阈值，小权重多的层就会被剪得更多。请实现 `global_masks(weights, sparsity)`，为每个张量返回一个 float32 掩码，使得把所有张量合在一起看时，`|w|` 最小的 `round(sparsity * total)` 个权重被剪掉。

# %%
def global_masks(weights: list[torch.Tensor], sparsity: float) -> list[torch.Tensor]:
    """Masks (1 = keep) for each tensor, from one magnitude ranking over all of them."""
    # 练习 2：把下一行换成你的代码。提示：第 02 课第 4 节“逐层还是全局？”（先拼接、排序，再切分）
    raise NotImplementedError('Exercise 2: not written yet (see the comment above) | 练习 2：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-global-threshold" checklist=["T2", "U2"]
def check():
    from torch.nn.utils import prune  # 参考实现

    for _ in range(10):
        # 和真实网络一样，各层的数值尺度相差很大：逐层阈值会得到不同的结果
        # of each layer's weights relative to its own size) prunes different weights
        n = random.randint(2, 4)
        scales = random.sample([0.01, 0.1, 1.0, 10.0], k=n)
        weights = [torch.randn(random.randint(5, 40), random.randint(5, 40)) * scale * random.uniform(0.8, 1.25)
                   for scale in scales]
        sparsity = random.uniform(0.2, 0.9)
        modules = [holder(w) for w in weights]
        prune.global_unstructured([(m, "weight") for m in modules], prune.L1Unstructured, amount=sparsity)
        got = global_masks(weights, sparsity)
        assert len(got) == len(weights), tr(f"{len(got)} masks for {len(weights)} tensors",
                                            f"{len(weights)} 个张量却返回了 {len(got)} 个掩码")
        for i, (g, m) in enumerate(zip(got, modules)):
            assert g.shape == m.weight_mask.shape, tr(f"mask {i} has shape {tuple(g.shape)}",
                                                      f"第 {i} 个掩码的形状是 {tuple(g.shape)}")
            assert g.dtype == torch.float32, tr(f"mask {i} must be float32 (1.0 / 0.0), got {g.dtype}",
                                                f"第 {i} 个掩码必须是 float32（1.0 / 0.0），你的是 {g.dtype}")
            assert torch.equal(g, m.weight_mask), tr(
                f"layer {i}: you prune {int((g == 0).sum())} weights, global_unstructured prunes "
                f"{int((m.weight_mask == 0).sum())} (sparsity {sparsity:.2f})",
                f"第 {i} 层：你剪掉 {int((g == 0).sum())} 个权重，global_unstructured 剪掉 "
                f"{int((m.weight_mask == 0).sum())} 个（稀疏度 {sparsity:.2f}）")
    print("✓ global_masks equals torch.nn.utils.prune.global_unstructured on 10 random sets of layers")


check()

# %% [markdown]
# ## 3. 三次多项式调度
#
# 渐进式剪枝 (gradual pruning，Zhu & Gupta, 2017) 分 `steps` 步提高稀疏度。第 `t` 步（t = 1 … steps）之后的目标是 `final + (initial − final) · (1 − t / steps)³`：一开始网络里冗余的权重还很多，步子迈得大；越到后面步子越小。请以列表形式返回这 `steps` 个目标值，最后一个必须恰好等于 `final`。

# %%
def cubic_schedule(initial: float, final: float, steps: int) -> list[float]:
    """The sparsity targets after steps 1..steps of Zhu & Gupta's schedule."""
    # 练习 3：把下一行换成你的代码。提示：第 02 课第 8 节“渐进还是一次性？”
    raise NotImplementedError('Exercise 3: not written yet (see the comment above) | 练习 3：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-cubic-schedule" checklist=["T3"]
def check():
    from coursekit.prune import polynomial_schedule  # 参考实现

    for trial in range(20):
        initial = 0.0 if trial == 0 else random.uniform(0.05, 0.5)  # 起点既有 0，也有非 0
        final, steps = random.uniform(initial + 0.1, 0.99), random.randint(2, 30)
        expected = polynomial_schedule(initial, final, steps)
        got = cubic_schedule(initial, final, steps)
        assert len(got) == steps, tr(f"{len(got)} targets for {steps} steps", f"{steps} 步却有 {len(got)} 个目标值")
        assert all(abs(g - e) < 1e-9 for g, e in zip(got, expected)), tr(
            f"cubic_schedule({initial:.3f}, {final:.3f}, {steps}) = {[round(g, 3) for g in got[:4]]}..., "
            f"expected {[round(e, 3) for e in expected[:4]]}...",
            f"cubic_schedule({initial:.3f}, {final:.3f}, {steps}) = {[round(g, 3) for g in got[:4]]}……，"
            f"应为 {[round(e, 3) for e in expected[:4]]}……")
        assert got[-1] == final, tr("the last target must be exactly `final`", "最后一个目标值必须恰好等于 `final`")
    print("✓ cubic_schedule matches coursekit.prune.polynomial_schedule on 20 random schedules")


check()

# %% [markdown]
# ## 4. 正确地统计稀疏度
#
# `torch.nn.utils.prune` 把原封不动的权重放在参数 `weight_orig` 里，把零的位置放在缓冲区 (buffer) `weight_mask` 里；层在计算时真正使用的是两者的乘积，即 `module.weight`。初始代码在 `model.parameters()` 里数零，而它返回的是 `weight_orig`，于是几乎一个零也数不到。请实现 `model_sparsity(model)`：把所有 `nn.Conv2d` 和 `nn.Linear` 的权重（不含偏置）**合在一起**（所有权重中零的个数除以权重总数，而不是各层比例的平均），统计层实际使用的值里零所占的比例——无论这一层有没有被剪枝（一个模型可能只剪了部分层，也可能把零当作普通权重保存了下来）。

# %%
def model_sparsity(model: nn.Module) -> float:
    """Fraction of zeros over the effective weights of all Conv2d and Linear layers."""
    # 练习 4：把下一行换成你的代码。提示：第 02 课第 12 节“初始代码的评估器错在哪里”
    raise NotImplementedError('Exercise 4: not written yet (see the comment above) | 练习 4：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-count-sparsity" checklist=["T4"]
def check():
    from torch.nn.utils import prune

    from coursekit.prune import sparsity  # 参考实现：统计层实际计算时所用权重中的零

    for trial in range(6):
        width, k = random.randint(4, 16), random.choice([2, 3, 4])
        side = 8 - k + 1
        model = nn.Sequential(nn.Conv2d(1, width, k), nn.ReLU(), nn.Flatten(), nn.Linear(width * side * side, 16),
                              nn.ReLU(), nn.Linear(16, 10))
        layers = [model[0], model[3], model[5]]
        fractions = random.sample([0.05, 0.2, 0.35, 0.5], k=3)  # 每层各不相同：对各层比例取平均就会出错
        with torch.no_grad():  # 以普通权重形式存下的零，就像剪枝后保存的检查点那样
            for layer, fraction in zip(layers, fractions):
                layer.weight[torch.rand(layer.weight.shape) < fraction] = 0.0
        if trial > 0:  # 第 0 次不剪枝；其余几次只剪部分层，其他层保持原样
            for layer in random.sample(layers, random.randint(1, 2)):
                prune.l1_unstructured(layer, "weight", amount=random.uniform(0.3, 0.95))
        expected = sparsity(model)
        got = model_sparsity(model)
        assert abs(got - expected) < 1e-9, tr(f"model_sparsity = {got:.4f}, expected {expected:.4f} (trial {trial})",
                                               f"model_sparsity = {got:.4f}，应为 {expected:.4f}（第 {trial} 次）")
    print("✓ model_sparsity counts the zeros the layers compute with, on 6 random models (pruned in part or not at all)")


check()

# %% [markdown]
# ## 5. 真正删除通道
#
# 结构化剪枝 (structured pruning) 把整个通道置零，但置零的通道仍然要花时间：卷积照样会把它算一遍。请为 `block = nn.Sequential(conv1, bn, relu, conv2)` 实现 `shrink_block(block)`，其中失效的通道（`conv1` 里滤波器 (filter) 为零——如果 `conv1` 有偏置，偏置也为零——`bn` 里 `weight` 和 `bias` 为零）已经是普通的零值。返回一个由同样四种层组成、但去掉了这些通道的**新** `nn.Sequential`：`conv1` 的滤波器更少，`bn` 的特征数更少（它的每一个逐通道张量都要跟着删），`conv2` 的输入通道更少。其余设置一律照旧：每个卷积的卷积核 (kernel) 大小（不一定是正方形）、步长 (stride)、填充 (padding) 以及有没有偏置；BatchNorm 的 `eps` 和 `momentum`。不要改动传进来的 `block` 本身：调用者可能还要用它。在 eval 模式下，新模块的输出必须与原来相同。

# %%
def shrink_block(block: nn.Sequential) -> nn.Sequential:
    """conv1 -> bn -> relu -> conv2 without the channels that always output zero."""
    # 练习 5：把下一行换成你的代码。提示：第 02 课第 9 节“结构化剪枝”（用保留下来的通道去索引每一个张量）
    raise NotImplementedError('Exercise 5: not written yet (see the comment above) | 练习 5：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-remove-channels" checklist=["T2"]
def check():
    from coursekit.prune import magnitude_prune, remove_channels, remove_pruning  # 参考实现

    def sizes(b):
        return b[0].out_channels, b[1].num_features, b[3].in_channels

    def settings(b):
        return [(c.kernel_size, c.stride, c.padding, c.bias is not None) for c in (b[0], b[3])] + [(b[1].eps, b[1].momentum)]

    # 两个卷积的卷积核、步长和填充：第一次试验一定含有非正方形卷积核、步长 2 以及填充 0 或 2，写死默认的 (3, 1, 1) 一定会被发现
    kernels = [(1, 3), (3, 1), (2, 3), (3, 5), (3, 3), (5, 3), (1, 1)]
    for trial in range(5):
        c_in, c_mid, c_out = random.randint(1, 4), random.randint(6, 24), random.randint(2, 10)
        k1, k2 = random.sample(kernels[:4], 2) if trial == 0 else random.sample(kernels, 2)
        s1, s2 = (2, 1) if trial == 0 else (random.choice([1, 2]), random.choice([1, 2]))
        p1, p2 = (0, 2) if trial == 0 else (random.choice([0, 1, 2]), random.choice([0, 1, 2]))
        bias1, bias2 = (trial % 2 == 0), (trial % 3 != 1)
        eps, momentum = random.choice([1e-3, 1e-2, 0.1]), random.choice([0.01, 0.05, 0.3])
        block = nn.Sequential(nn.Conv2d(c_in, c_mid, k1, s1, p1, bias=bias1), nn.BatchNorm2d(c_mid, eps, momentum),
                              nn.ReLU(), nn.Conv2d(c_mid, c_out, k2, s2, p2, bias=bias2))
        with torch.no_grad():  # 使用训练后那样的运行统计量，而不是默认的 0 和 1
            block[1].running_mean.uniform_(-1, 1)
            block[1].running_var.uniform_(0.2, 1.0)
            block[1].weight.uniform_(0.5, 1.5)
            block[1].bias.uniform_(-0.5, 0.5)
        remove_pruning(magnitude_prune(block, random.uniform(0.2, 0.7), structured=True))
        block.eval()
        x = torch.randn(3, c_in, random.randint(16, 20), random.randint(16, 20))
        expected_out = block(x)
        reference = remove_channels(block)
        state, before = {k: v.clone() for k, v in block.state_dict().items()}, sizes(block)
        small = shrink_block(block)
        assert small is not block, tr("return a new nn.Sequential, not the block you were given",
                                      "请返回一个新的 nn.Sequential，而不是传进来的那个模块")
        unchanged = sizes(block) == before and all(
            v.shape == state[k].shape and torch.equal(v, state[k]) for k, v in block.state_dict().items())
        assert unchanged, tr("shrink_block modified the block it was given: build new layers and leave it as it was",
                             "shrink_block 改动了传进来的模块：请新建层，让原模块保持原样")
        assert isinstance(small, nn.Sequential) and len(small) == 4, tr(
            "return nn.Sequential(conv1, bn, relu, conv2)", "请返回 nn.Sequential(conv1, bn, relu, conv2)")
        small.eval()
        assert sizes(small) == sizes(reference), tr(
            f"(conv1 out_channels, bn num_features, conv2 in_channels) = {sizes(small)}, expected {sizes(reference)}",
            f"(conv1 out_channels, bn num_features, conv2 in_channels) = {sizes(small)}，应为 {sizes(reference)}")
        assert settings(small) == settings(block), tr(
            f"[(kernel_size, stride, padding, has bias) of conv1 and conv2, (eps, momentum) of bn] = {settings(small)}, "
            f"expected {settings(block)}: copy every setting from the old layers",
            f"[conv1 和 conv2 的 (kernel_size, stride, padding, 有无偏置)，bn 的 (eps, momentum)] = {settings(small)}，"
            f"应为 {settings(block)}：旧层的每一项设置都要照搬")
        assert small[0].weight.shape == reference[0].weight.shape, tr(
            f"conv1 weight {tuple(small[0].weight.shape)}, expected {tuple(reference[0].weight.shape)}",
            f"conv1 的权重形状是 {tuple(small[0].weight.shape)}，应为 {tuple(reference[0].weight.shape)}")
        assert small[3].weight.shape == reference[3].weight.shape, tr(
            f"conv2 weight {tuple(small[3].weight.shape)}, expected {tuple(reference[3].weight.shape)}",
            f"conv2 的权重形状是 {tuple(small[3].weight.shape)}，应为 {tuple(reference[3].weight.shape)}")
        got_out = small(x)
        assert got_out.shape == expected_out.shape and torch.allclose(got_out, expected_out, atol=1e-5), tr(
            "the new block computes different outputs", "新模块的输出与原模块不同")
    print("✓ shrink_block: a new, smaller block with the same outputs and settings, the original untouched, "
          "on 5 random blocks (non-square kernels, strides, paddings, eps, momentum)")


check()

# %% [markdown]
# ## 6. 在真实模型上权衡
#
# 压缩是一种权衡：稀疏度越高，准确率越低。请在训练好的真实教师模型上做这个实验，做法和第 02 课一样：每个剪过的副本在评判之前都要**重新估计 BatchNorm 统计量**（第 02 课第 3 节讲了原因：不这样做，权重明明没问题的剪枝网络看起来也像坏掉了）。下面的单元格加载教师模型、用来做决定的验证集，以及 `calibration`：课上用来重新校准的那几批固定的训练数据。

# %%
from torch.utils.data import DataLoader, Subset

from coursekit.batchnorm import recalibrate_batchnorm
from coursekit.data import load_dataset, make_loaders
from coursekit.pretrained import pretrained
from coursekit.prune import CALIBRATION_BATCHES
from coursekit.train import evaluate

splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, batch_size=64, seed=0)
calibration = DataLoader(Subset(splits.train, range(CALIBRATION_BATCHES * 128)), batch_size=128)  # 课上用的那几批
teacher = pretrained("teacher", progress=False)  # 真实的、训练好的模型


def val_accuracy(model):
    return evaluate(model, loaders.val).accuracy


dense_val = val_accuracy(teacher)
print(f"dense teacher: validation accuracy {dense_val:.2%} on {len(splits.val)} images "
      f"(one image = {1 / len(splits.val):.2%})")

# %% [markdown]
# - `tradeoff(model, evaluate_fn, sparsities, calibration)`：对每个稀疏度，用一个全局幅值阈值剪枝 `model` 的**副本**（这里可以使用 `coursekit.prune.clone_model` 和 `magnitude_prune(..., scope="global")`，重点在实验本身），在 `calibration` 上重新估计副本的 BatchNorm 统计量（`recalibrate_batchnorm(副本, calibration)`），然后按 `sparsities` 的顺序返回每个副本的 `evaluate_fn(副本)` 组成的列表。传进来的模型必须保持原样。
# - `largest_safe_sparsity(sparsities, accuracies, dense_accuracy, max_drop)`：读懂这条曲线。按稀疏度从小到大（传入的顺序可能是乱的）依次往上走，返回第一个比 `dense_accuracy` 低了超过 `max_drop`（一个比例，例如 0.01 就是一个百分点）的稀疏度之前的那一个；如果连最小的稀疏度都不满足，就返回 `0.0`。遇到第一个代价过高的台阶就停下，而不是去取后面碰巧又高起来的稀疏度——这才是对一条有噪声的曲线的稳妥解读。

# %%
def tradeoff(model: nn.Module, evaluate_fn, sparsities: list[float], calibration) -> list[float]:
    """Accuracy of `model` pruned (a copy, one global magnitude threshold, fresh BatchNorm statistics)."""
    # 练习 6：把下一行换成你的代码。提示：第 02 课第 3 节（重新校准）和第 4 节“逐层还是全局？”
    raise NotImplementedError('Exercise 6: not written yet (see the comment above) | 练习 6：还没写（见上方注释）')


def largest_safe_sparsity(sparsities: list[float], accuracies: list[float], dense_accuracy: float,
                          max_drop: float) -> float:
    """The last sparsity (in increasing order) before the first one that loses more than max_drop."""
    # 练习 7：把下一行换成你的代码。提示：沿稀疏度往上走，在第一个代价过高的地方停下
    raise NotImplementedError('Exercise 7: not written yet (see the comment above) | 练习 7：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-tradeoff" checklist=["E1", "U3"]
def check():
    from coursekit.prune import clone_model, magnitude_prune  # 参考实现

    model = pretrained("teacher", progress=False)  # 一个全新的教师模型，不管上面的 `teacher` 经历了什么
    before = {k: v.clone() for k, v in model.state_dict().items()}
    # 一定包含 0.9：在这里，不重新估计统计量的教师接近瞎猜，重新估计后则接近稠密模型的准确率
    sparsities = random.sample([random.choice([0.5, 0.6, 0.7, 0.8]), 0.9], k=2)  # 顺序随机
    got = tradeoff(model, val_accuracy, sparsities, calibration)
    after = model.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before), tr(
        "tradeoff modified the model it was given: prune a copy each time",
        "tradeoff 改动了传进来的模型：每次都要剪枝一个副本")
    expected = [val_accuracy(recalibrate_batchnorm(magnitude_prune(clone_model(model), s, scope="global"),
                                                   calibration)) for s in sparsities]
    assert len(got) == len(expected), tr(f"one accuracy per sparsity: got {len(got)}, expected {len(expected)}",
                                         f"每个稀疏度对应一个准确率：你返回了 {len(got)} 个，应为 {len(expected)} 个")
    for s, g, e in zip(sparsities, got, expected):
        assert abs(float(g) - e) < 1e-9, tr(
            f"at sparsity {s}: accuracy {float(g):.4f}, expected {e:.4f} (one global threshold on a copy, then "
            "fresh BatchNorm statistics from `calibration`, then evaluate_fn)",
            f"稀疏度 {s} 时：准确率 {float(g):.4f}，应为 {e:.4f}（先在副本上用一个全局阈值剪枝，再用 `calibration` "
            "重新估计 BatchNorm 统计量，最后调用 evaluate_fn）")

    for trial in range(30):  # 随机编造的曲线（有的中间会下凹），检查对权衡曲线的解读
        grid = sorted(random.sample([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], k=6))
        dense = random.uniform(0.9, 1.0)
        accs = [random.uniform(0.8, 1.0) for _ in grid]
        drop = random.choice([0.01, 0.02, 0.05, 0.1])
        if trial % 3 == 0:  # 每第三条曲线里放一个点：它比稠密准确率低的幅度介于 drop·dense 与 drop 之间，按百分点算仍然安全
            k = random.randrange(len(grid))
            accs[:k] = [random.uniform(dense - dense * drop / 2, 1.0) for _ in range(k)]
            accs[k] = dense - drop * (1 + dense) / 2
        if trial % 3 == 1:  # 先凹下去，再回升到线以上：解读应停在凹陷处
            k = random.randrange(1, len(grid) - 1)
            accs[:k] = [random.uniform(dense - drop / 2, 1.0) for _ in range(k)]
            accs[k] = dense - 2 * drop
            accs[k + 1:] = [random.uniform(dense - drop / 2, 1.0) for _ in range(len(grid) - k - 1)]
        order = list(range(len(grid)))
        while order == sorted(order):
            random.shuffle(order)  # 各对数据以乱序传入，从不按顺序
        want = 0.0
        for s, a in zip(grid, accs):
            if a < dense - drop:
                break
            want = s
        have = largest_safe_sparsity([grid[i] for i in order], [accs[i] for i in order], dense, drop)
        assert have == want, tr(
            f"largest_safe_sparsity(..., dense_accuracy={dense:.3f}, max_drop={drop}) = {have}, "
            f"expected {want} for the curve {[(s, round(a, 3)) for s, a in zip(grid, accs)]}",
            f"largest_safe_sparsity(..., dense_accuracy={dense:.3f}, max_drop={drop}) = {have}，"
            f"对曲线 {[(s, round(a, 3)) for s, a in zip(grid, accs)]} 应为 {want}")
    print(f"✓ tradeoff on the real teacher at sparsities {sparsities}: {[f'{a:.1%}' for a in got]} "
          "(fresh BatchNorm statistics); largest_safe_sparsity agrees on 30 random curves")


check()

# %% [markdown]
# 现在来解读真实的曲线。用你的 `tradeoff` 在验证集上（`val_accuracy`）测出教师模型在 `GRID` 各个稀疏度下的准确率，再用你的 `largest_safe_sparsity` 找出相对稠密模型的验证准确率 `dense_val` 最多损失 `MAX_DROP` 的最大稀疏度。把结果分别存进 `curve` 和 `safe`。

# %%
GRID = [0.5, 0.8, 0.9, 0.95, 0.98]
MAX_DROP = 0.02  # 两个百分点；一张验证图像约为 0.56 个百分点


def read_curve() -> tuple[list[float], float]:
    """(curve, safe): the teacher's validation accuracy at each sparsity of GRID, and the largest safe one."""
    # 练习 8：把下一行换成你的代码。提示：两次调用，分别调用你刚写的两个函数
    raise NotImplementedError('Exercise 8: not written yet (see the comment above) | 练习 8：还没写（见上方注释）')


curve, safe = read_curve()
print("sparsity  " + "".join(f"{s:>8.0%}" for s in GRID))
print("val acc.  " + "".join(f"{a:>8.1%}" for a in curve))
print(f"largest safe sparsity (at most {MAX_DROP:.0%} below {dense_val:.1%}): {safe:.0%}")

# %% tags=["check"] check_id="ex02-read-curve" checklist=["E1", "U3"]
def check():
    from coursekit.prune import clone_model, magnitude_prune  # 参考实验

    fresh = pretrained("teacher", progress=False)
    expected = [val_accuracy(recalibrate_batchnorm(magnitude_prune(clone_model(fresh), s, scope="global"),
                                                   calibration)) for s in GRID]
    assert len(curve) == len(GRID), tr(f"`curve` has {len(curve)} values for {len(GRID)} sparsities",
                                       f"`curve` 有 {len(curve)} 个值，而 GRID 有 {len(GRID)} 个稀疏度")
    for s, g, e in zip(GRID, curve, expected):
        assert abs(float(g) - e) < 1e-9, tr(
            f"`curve` at {s}: {float(g):.6f}, expected {e:.6f} (tradeoff with val_accuracy and calibration)",
            f"`curve` 在 {s} 处为 {float(g):.6f}，应为 {e:.6f}（用 val_accuracy 和 calibration 调用 tradeoff）")
    want = 0.0
    for s, a in zip(GRID, expected):
        if a < dense_val - MAX_DROP:
            break
        want = s
    assert safe == want, tr(f"`safe` = {safe}, but the measured curve says {want}",
                            f"`safe` = {safe}，但测得的曲线给出的是 {want}")
    print(f"✓ the real curve, read with your functions: up to {safe:.0%} sparsity the teacher stays within "
          f"{MAX_DROP:.0%} of its dense validation accuracy")


check()

# %% [markdown]
# ## 7. 渐进式剪枝：循环本身
#
# 第 02 课的 `gradual_prune` 里藏着一个循环：剪到调度的下一个目标，微调，再剪到下一个目标，再微调 …… 请用 torch 自己的剪枝函数写出这个循环：`gradual_loop(model, final, steps, finetune)` 原地剪枝 `model` 中每个 `nn.Conv2d` 和 `nn.Linear` 的权重，用**一个全局幅值阈值**（`prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=...)`），依次剪到 `cubic_schedule(0.0, final, steps)` 的每个目标，并在第 t 步（t = 1 … steps）剪完之后调用 `finetune(model, t)`。返回这个模型。
#
# 初始代码掉进去的陷阱：torch 的 `amount` **不是**你想达到的稀疏度。对一个已经剪过的张量，浮点数 `amount` 表示这一次要从*尚未剪掉*的权重中再剪掉的比例。调度给出的目标是绝对的（“全部权重中有 80% 为零”）：请把每个目标换算成从当前稀疏度走到该目标所需的 amount。（整数 `amount` 表示这一次要剪掉的权重个数，这样做也可以。）请在函数内部导入 torch 的模块：`from torch.nn.utils import prune`。

# %%
def gradual_loop(model: nn.Module, final: float, steps: int, finetune) -> nn.Module:
    """Prune -> finetune(model, t) -> prune ... along the cubic schedule, one global threshold, in place."""
    # 练习 9：把下一行换成你的代码。提示：第 02 课第 8 节“渐进还是一次性？”和第 12 节（初始代码的相对 amount）
    raise NotImplementedError('Exercise 9: not written yet (see the comment above) | 练习 9：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-gradual-loop" checklist=["T3"]
def check():
    from coursekit.prune import clone_model, gradual_prune, polynomial_schedule, sparsity  # 参考实现

    def make_model():
        c, k = random.randint(4, 10), random.choice([(3, 3), (2, 3), (3, 1)])
        model = nn.Sequential(nn.Conv2d(1, c, k), nn.ReLU(), nn.Flatten(),
                              nn.Linear(c * (9 - k[0]) * (9 - k[1]), 24), nn.ReLU(), nn.Linear(24, 10))
        with torch.no_grad():  # 各层尺度不同：逐层阈值会剪掉不同的权重
            for layer, scale in zip((model[0], model[3], model[5]), random.sample([0.1, 1.0, 5.0], k=3)):
                layer.weight.mul_(scale)
        return model

    def make_finetune(log, seed):
        def finetune(model, step):  # 代替训练：记录这次调用，然后挪动权重
            log.append((step, sparsity(model)))
            g = torch.Generator().manual_seed(seed + step)
            with torch.no_grad():
                for m in model.modules():
                    if isinstance(m, (nn.Conv2d, nn.Linear)):
                        w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
                        w.add_(torch.randn(w.shape, generator=g) * w.abs().mean())  # 下一次剪枝要重新排序
            model(torch.zeros(1, 1, 8, 8))  # 像训练结束时那样做一次前向传播：重新应用掩码
        return finetune

    for _ in range(3):
        final, steps, seed = random.uniform(0.5, 0.95), random.randint(2, 5), random.randint(0, 10**6)
        model = make_model()
        reference = clone_model(model)
        n = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
        log, ref_log = [], []
        returned = gradual_loop(model, final, steps, make_finetune(log, seed))
        gradual_prune(reference, final, steps=steps, scope="global", finetune=make_finetune(ref_log, seed))
        targets = polynomial_schedule(0.0, final, steps)
        assert returned is model, tr("return the model you pruned (in place)", "请返回（原地）剪枝后的那个模型")
        assert [t for t, _ in log] == list(range(1, steps + 1)), tr(
            f"finetune was called with steps {[t for t, _ in log]}, expected {list(range(1, steps + 1))}: "
            "once after each cut, with t = 1 … steps",
            f"finetune 被调用时的步号是 {[t for t, _ in log]}，应为 {list(range(1, steps + 1))}：每剪一次之后调用一次，t = 1 … steps")
        for (t, got), target in zip(log, targets):
            assert abs(got - target) <= 2 / n, tr(
                f"when finetune(model, {t}) was called the model was {got:.2%} sparse; step {t} targets {target:.2%} "
                f"(final {final:.2%}, {steps} steps). torch's amount is a fraction of the weights still unpruned",
                f"调用 finetune(model, {t}) 时模型的稀疏度是 {got:.2%}；第 {t} 步的目标是 {target:.2%}"
                f"（final {final:.2%}，共 {steps} 步）。torch 的 amount 是剩余未剪权重中的比例")
        differ = sum(int((m.weight_mask != r.weight_mask).sum()) for m, r in zip(
            (model[0], model[3], model[5]), (reference[0], reference[3], reference[5])) if hasattr(m, "weight_mask"))
        assert all(hasattr(m, "weight_mask") for m in (model[0], model[3], model[5])) and differ <= 2 * steps, tr(
            f"your final masks differ from a reference gradual run in {differ} weights: one global threshold over "
            "all layers, a cut before each finetune, the fine-tuned weights ranked at the next cut",
            f"你最终的掩码与参考的渐进剪枝有 {differ} 个权重不同：所有层共用一个全局阈值，每次 finetune 之前先剪，"
            "下一次剪枝按微调后的权重排序")
    print(f"✓ gradual_loop follows the cubic schedule cut by cut on 3 random models (last: {steps} steps to "
          f"{final:.0%}), with fine-tuning in between, and matches coursekit.prune.gradual_prune")


check()

# %% [markdown]
# ## 8. 自己选定逐层稀疏度
#
# 第 02 课的 `adaptive_plan` 替你读了敏感度扫描，现在轮到你自己读。下面的单元格**每次只剪一层**，剪到几个不同的稀疏度（重新估计 BatchNorm 统计量，在验证集上评估），并打印每次试验的验证准确率和每层的权重个数。

# %%
from coursekit.prune import sensitivity_scan

TARGET = 0.95  # 你的方案必须达到的整体稀疏度
scan = sensitivity_scan(teacher, lambda m: val_accuracy(recalibrate_batchnorm(m, calibration)), [0.9, 0.98])
print(scan)

# %% [markdown]
# 请写出 `my_plan`：一个字典 `{层名: 稀疏度}`（没写到的层保持稠密），它的整体稀疏度——剪掉的权重数除以扫描中所有层的权重总数——至少要达到 `TARGET`。把稀疏度花在扫描显示代价低的地方：能扛住 98% 的大层可以承担大部分；很早就崩溃的小层既损失准确率、又省不了几个权重。检查单元格会按你的方案剪枝教师模型、重新校准，并在测试集上把它与 `adaptive_plan(scan, TARGET)` 和均匀方案（每层都是 `TARGET`）放在一起比较：只要你的方案达到目标，并且准确率与自适应方案相差不超过两个百分点，或者比均匀方案好，就算通过。

# %%
def choose_plan() -> dict[str, float]:
    """Your per-layer sparsities {layer name: sparsity}, read from `scan`."""
    # 练习 10：把下一行换成你的代码。提示：第 02 课第 6 节“敏感度扫描 → 自适应方案”；scan.sizes 里是每层的权重个数
    raise NotImplementedError('Exercise 10: not written yet (see the comment above) | 练习 10：还没写（见上方注释）')


my_plan = choose_plan()
overall = sum(my_plan.get(name, 0.0) * n for name, n in scan.sizes.items()) / sum(scan.sizes.values())
print(f"your plan: overall sparsity {overall:.2%} (target {TARGET:.0%})")

# %% tags=["check"] check_id="ex02-adaptive-plan" checklist=["T3", "U2", "E1"]
def check():
    from coursekit.prune import (  # 参考实现
        adaptive_plan,
        apply_plan,
        clone_model,
        magnitude_prune,
        sparsity,
    )

    assert isinstance(my_plan, dict), tr("`my_plan` must be a dict {layer name: sparsity}",
                                         "`my_plan` 必须是字典 {层名: 稀疏度}")
    unknown = sorted(set(my_plan) - set(scan.layers))
    assert not unknown, tr(f"no such layers in the scan: {unknown}; the layers are {list(scan.layers)}",
                           f"扫描里没有这些层：{unknown}；层名是 {list(scan.layers)}")
    assert all(0.0 <= float(s) <= 1.0 for s in my_plan.values()), tr("each sparsity must lie in [0, 1]",
                                                                      "每个稀疏度都必须在 [0, 1] 之间")

    def test_accuracy(model):
        return evaluate(recalibrate_batchnorm(model, calibration), loaders.test).accuracy

    fresh = pretrained("teacher", progress=False)
    mine = apply_plan(clone_model(fresh), {name: float(s) for name, s in my_plan.items()})
    reached = sparsity(mine)
    assert reached >= TARGET - 1e-3, tr(f"your plan prunes {reached:.2%} of the weights; the target is {TARGET:.0%}",
                                        f"你的方案剪掉了 {reached:.2%} 的权重；目标是 {TARGET:.0%}")
    accuracy = {
        "yours": test_accuracy(mine),
        "adaptive_plan": test_accuracy(apply_plan(clone_model(fresh), adaptive_plan(scan, TARGET))),
        "uniform": test_accuracy(magnitude_prune(clone_model(fresh), TARGET)),
    }
    table = ", ".join(f"{k} {v:.1%}" for k, v in accuracy.items())
    good = accuracy["yours"] >= accuracy["adaptive_plan"] - 0.02 or accuracy["yours"] > accuracy["uniform"]
    assert good, tr(f"test accuracy at {reached:.1%} sparsity: {table}. Your plan is neither within two points of "
                    "adaptive_plan nor better than uniform: move sparsity from the layers that break early to the "
                    "big ones that don't",
                    f"稀疏度 {reached:.1%} 时的测试准确率：{table}。你的方案既不在 adaptive_plan 的两个百分点以内，"
                    "也不比均匀方案好：把稀疏度从很早就崩溃的层挪到不怕剪的大层上")
    print(f"✓ your plan reaches {reached:.2%} sparsity; test accuracy after recalibration: {table}")


check()

# %% [markdown]
# ## 完成了吗？
#
# 运行 `python -m coursekit check exercises/zh/02_pruning.py`（或英文版），看看本练习为哪些清单项提供了证据：**T2**（结构化与非结构化剪枝）、**T3**（渐进式剪枝与自适应剪枝）、**T4**（正确评估压缩效果）、**U2**（各种剪枝策略的特点）、**U3**（压缩率与准确率之间的权衡）以及 **E1**（在真实模型上应用压缩）。
