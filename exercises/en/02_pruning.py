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
# > Exercise notebook, generated from `solutions/en/02_pruning.py` by `python -m coursekit exercises build`.
# > Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.

# %% [markdown]
# # Exercise 02 · Pruning
#
# Ten pieces of code in eight sections, each checked against `torch.nn.utils.prune` or `coursekit.prune` on inputs
# drawn at random every time you run the check (so a hard-coded or copied number can't pass):
#
# 1. a magnitude mask from scratch, this time given the fraction of weights to *keep*;
# 2. one global threshold for several layers;
# 3. Zhu & Gupta's cubic sparsity schedule;
# 4. the sparsity of a model pruned with `torch.nn.utils.prune` (the mistake the seed code — the
#    reference code this course started from, see lesson 02 — made);
# 5. physically removing the pruned channels of a conv → BatchNorm → conv block;
# 6. the trade-off on the real teacher: `tradeoff` and `largest_safe_sparsity`, then reading the real
#    curve with them;
# 7. gradual pruning, the loop itself: prune → fine-tune → prune …;
# 8. a per-layer plan you choose yourself from a sensitivity scan.
#
# Write your code where it says `raise NotImplementedError`, then run the check cell below it. The
# checks import the reference implementations inside themselves: write the code, don't call them.
# When every check passes, run `python -m coursekit check exercises/en/02_pruning.py` in a terminal to
# see which checklist items you have evidenced.

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
# ## 1. A magnitude mask
#
# Section 2 of the lesson counted the weights to *remove*. A deployment budget is often stated the
# other way round — "keep 10% of the weights" — so write `keep_mask(weight, keep)`: a float32 tensor of
# the same shape, 1 for the `k = round(keep * weight.numel())` weights with the largest `|w|` **in the
# whole tensor** and 0 everywhere else. Mind `keep = 0` (nothing kept) and `keep = 1` (everything kept).

# %%
def keep_mask(weight: torch.Tensor, keep: float) -> torch.Tensor:
    """1.0 for the round(keep * numel) weights with the largest |weight|, 0.0 for all others."""
    # Exercise 1: replace the next line with your code. Hint: lesson 02, section 2 "A mask by hand" (here torch.topk picks the largest, to keep)
    raise NotImplementedError('Exercise 1: not written yet (see the comment above) | 练习 1：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-magnitude-mask" checklist=["T2"]
def check():
    from torch.nn.utils import prune  # the reference, imported here so that it stays out of your code's reach

    for trial in range(30):
        if trial < 10:  # always some 2-4-d tensors whose rows differ in scale: a per-row ranking fails on them
            shape = [random.randint(2, 8) for _ in range(random.randint(2, 4))]
            weight = torch.randn(shape) * torch.logspace(-1, 1, shape[0]).view(-1, *[1] * (len(shape) - 1))
        else:
            shape = [random.randint(1, 12) for _ in range(random.randint(1, 4))]
            weight = torch.randn(shape)  # continuous values: no ties
        keep = [0.0, 1.0][trial] if trial < 2 else random.uniform(0.1, 0.9) if trial < 10 else random.random()
        n_prune = weight.numel() - round(keep * weight.numel())  # an int amount: that many weights go
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
# ## 2. One global threshold
#
# Layer-wise pruning gives every layer the same sparsity. *Global* pruning ranks all weights of all
# layers together: one threshold, so layers with many small weights lose more. Write
# `global_masks(weights, sparsity)` returning one float32 mask per tensor such that, over all tensors
# together, the `round(sparsity * total)` smallest `|w|` are pruned.

# %%
def global_masks(weights: list[torch.Tensor], sparsity: float) -> list[torch.Tensor]:
    """Masks (1 = keep) for each tensor, from one magnitude ranking over all of them."""
    # Exercise 2: replace the next line with your code. Hint: lesson 02, section 4 "Layer-wise or global?" (concatenate, rank, then split)
    raise NotImplementedError('Exercise 2: not written yet (see the comment above) | 练习 2：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-global-threshold" checklist=["T2", "U2"]
def check():
    from torch.nn.utils import prune  # the reference

    for _ in range(10):
        # layers of clearly different scales, as in a real network: a per-layer threshold (or a ranking
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
# ## 3. The cubic schedule
#
# Gradual pruning (Zhu & Gupta, 2017) raises the sparsity in `steps` steps. The target after step
# `t` (t = 1 … steps) is `final + (initial − final) · (1 − t / steps)³`: big steps first, while the
# network still has plenty of redundant weights, small ones at the end. Return the `steps` targets as a
# list; the last one must be exactly `final`.

# %%
def cubic_schedule(initial: float, final: float, steps: int) -> list[float]:
    """The sparsity targets after steps 1..steps of Zhu & Gupta's schedule."""
    # Exercise 3: replace the next line with your code. Hint: lesson 02, section 8 "Gradual or one-shot?"
    raise NotImplementedError('Exercise 3: not written yet (see the comment above) | 练习 3：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-cubic-schedule" checklist=["T3"]
def check():
    from coursekit.prune import polynomial_schedule  # the reference

    for trial in range(20):
        initial = 0.0 if trial == 0 else random.uniform(0.05, 0.5)  # both a zero and a non-zero start
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
# ## 4. Counting sparsity correctly
#
# `torch.nn.utils.prune` keeps the untouched weights in a parameter `weight_orig` and the zeros in a
# buffer `weight_mask`; the weight the layer computes with is their product, `module.weight`. The seed
# code counted zeros in `model.parameters()`, which yields `weight_orig`, and so found almost none.
# Write `model_sparsity(model)`: the fraction of zeros among the weights (not the biases) of every
# `nn.Conv2d` and `nn.Linear` **taken together** (zeros over all their weights, not an average of
# per-layer fractions), as the layer uses them — whether the layer was pruned or not (a model may
# prune only some layers, or hold zeros that were saved as plain weights).

# %%
def model_sparsity(model: nn.Module) -> float:
    """Fraction of zeros over the effective weights of all Conv2d and Linear layers."""
    # Exercise 4: replace the next line with your code. Hint: lesson 02, section 12 "What the seed code's evaluator got wrong"
    raise NotImplementedError('Exercise 4: not written yet (see the comment above) | 练习 4：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-count-sparsity" checklist=["T4"]
def check():
    from torch.nn.utils import prune

    from coursekit.prune import sparsity  # the reference: zeros among the weights the layers compute with

    for trial in range(6):
        width, k = random.randint(4, 16), random.choice([2, 3, 4])
        side = 8 - k + 1
        model = nn.Sequential(nn.Conv2d(1, width, k), nn.ReLU(), nn.Flatten(), nn.Linear(width * side * side, 16),
                              nn.ReLU(), nn.Linear(16, 10))
        layers = [model[0], model[3], model[5]]
        fractions = random.sample([0.05, 0.2, 0.35, 0.5], k=3)  # distinct per layer: a mean of layer fractions is off
        with torch.no_grad():  # zeros stored as plain weights, as in a checkpoint saved after pruning
            for layer, fraction in zip(layers, fractions):
                layer.weight[torch.rand(layer.weight.shape) < fraction] = 0.0
        if trial > 0:  # trial 0 stays unpruned; the others prune some layers and leave the rest
            for layer in random.sample(layers, random.randint(1, 2)):
                prune.l1_unstructured(layer, "weight", amount=random.uniform(0.3, 0.95))
        expected = sparsity(model)
        got = model_sparsity(model)
        assert abs(got - expected) < 1e-9, tr(f"model_sparsity = {got:.4f}, expected {expected:.4f} (trial {trial})",
                                               f"model_sparsity = {got:.4f}，应为 {expected:.4f}（第 {trial} 次）")
    print("✓ model_sparsity counts the zeros the layers compute with, on 6 random models (pruned in part or not at all)")


check()

# %% [markdown]
# ## 5. Removing channels for real
#
# Structured pruning zeroes whole channels, but a zero channel still costs time: the convolution
# still computes it. Write `shrink_block(block)` for `block = nn.Sequential(conv1, bn, relu, conv2)`
# whose dead channels (zero filter — and zero bias, if `conv1` has one — in `conv1`, zero `weight` and
# `bias` in `bn`) are plain zeros. Return a **new** `nn.Sequential` of the same four kinds of layers
# without those channels: fewer filters in `conv1`, fewer features in `bn` (every per-channel tensor
# of it), and fewer input channels in `conv2`. Every other setting stays as it was: each convolution's
# kernel size (not always square), stride, padding and whether it has a bias; BatchNorm's `eps` and
# `momentum`. Leave `block` itself unchanged: the caller may still need it. In eval mode the new block
# must compute the same outputs.

# %%
def shrink_block(block: nn.Sequential) -> nn.Sequential:
    """conv1 -> bn -> relu -> conv2 without the channels that always output zero."""
    # Exercise 5: replace the next line with your code. Hint: lesson 02, section 9 "Structured pruning" (index every tensor with the surviving channels)
    raise NotImplementedError('Exercise 5: not written yet (see the comment above) | 练习 5：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-remove-channels" checklist=["T2"]
def check():
    from coursekit.prune import magnitude_prune, remove_channels, remove_pruning  # the reference

    def sizes(b):
        return b[0].out_channels, b[1].num_features, b[3].in_channels

    def settings(b):
        return [(c.kernel_size, c.stride, c.padding, c.bias is not None) for c in (b[0], b[3])] + [(b[1].eps, b[1].momentum)]

    # kernels, strides and paddings for the two convolutions: the first trial always has a non-square
    # kernel, stride 2 and padding 0 or 2 somewhere, so no default (3, 1, 1) goes unnoticed
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
        with torch.no_grad():  # running statistics as after training, not the defaults 0 and 1
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
# ## 6. The trade-off on a real model
#
# Compression is a trade: more sparsity, less accuracy. Run the experiment on the real, trained teacher,
# the way lesson 02 does it: every pruned copy gets **fresh BatchNorm statistics** before it is judged
# (section 3 of the lesson showed why: without them, a pruned network looks broken when its weights are
# fine). The cell below loads the teacher, the validation split you decide on, and `calibration`: the
# same few fixed training batches the lesson recalibrates on.

# %%
from torch.utils.data import DataLoader, Subset

from coursekit.batchnorm import recalibrate_batchnorm
from coursekit.data import load_dataset, make_loaders
from coursekit.pretrained import pretrained
from coursekit.prune import CALIBRATION_BATCHES
from coursekit.train import evaluate

splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, batch_size=64, seed=0)
calibration = DataLoader(Subset(splits.train, range(CALIBRATION_BATCHES * 128)), batch_size=128)  # the lesson's batches
teacher = pretrained("teacher", progress=False)  # the real, trained model


def val_accuracy(model):
    return evaluate(model, loaders.val).accuracy


dense_val = val_accuracy(teacher)
print(f"dense teacher: validation accuracy {dense_val:.2%} on {len(splits.val)} images "
      f"(one image = {1 / len(splits.val):.2%})")

# %% [markdown]
# - `tradeoff(model, evaluate_fn, sparsities, calibration)`: for each sparsity, prune a **copy** of
#   `model` with one global magnitude threshold (here you may use `coursekit.prune.clone_model` and
#   `magnitude_prune(..., scope="global")`: the point is the experiment), re-estimate the copy's
#   BatchNorm statistics on `calibration` (`recalibrate_batchnorm(copy, calibration)`), and return the
#   list of `evaluate_fn(copy)` values, in the order of `sparsities`. The model you were given must be
#   left untouched.
# - `largest_safe_sparsity(sparsities, accuracies, dense_accuracy, max_drop)`: read the curve. Going up
#   the sparsities in increasing order (they may be given in any order), return the last one before the
#   first that is more than `max_drop` (a fraction, e.g. 0.01 = one point) below `dense_accuracy`;
#   `0.0` if even the smallest is. Stopping at the first costly step, rather than taking any later
#   sparsity that happens to score well again, is the cautious reading of a noisy curve.

# %%
def tradeoff(model: nn.Module, evaluate_fn, sparsities: list[float], calibration) -> list[float]:
    """Accuracy of `model` pruned (a copy, one global magnitude threshold, fresh BatchNorm statistics)."""
    # Exercise 6: replace the next line with your code. Hint: lesson 02, sections 3 (recalibration) and 4 "Layer-wise or global?"
    raise NotImplementedError('Exercise 6: not written yet (see the comment above) | 练习 6：还没写（见上方注释）')


def largest_safe_sparsity(sparsities: list[float], accuracies: list[float], dense_accuracy: float,
                          max_drop: float) -> float:
    """The last sparsity (in increasing order) before the first one that loses more than max_drop."""
    # Exercise 7: replace the next line with your code. Hint: walk up the sparsities and stop at the first that is too costly
    raise NotImplementedError('Exercise 7: not written yet (see the comment above) | 练习 7：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-tradeoff" checklist=["E1", "U3"]
def check():
    from coursekit.prune import clone_model, magnitude_prune  # the reference experiment

    model = pretrained("teacher", progress=False)  # a fresh teacher, whatever happened to `teacher` above
    before = {k: v.clone() for k, v in model.state_dict().items()}
    # 0.9 always: there the teacher without fresh statistics is near chance, with them near its dense accuracy
    sparsities = random.sample([random.choice([0.5, 0.6, 0.7, 0.8]), 0.9], k=2)  # in either order
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

    for trial in range(30):  # made-up curves, some with a dip, to check the reading of a trade-off curve
        grid = sorted(random.sample([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], k=6))
        dense = random.uniform(0.9, 1.0)
        accs = [random.uniform(0.8, 1.0) for _ in grid]
        drop = random.choice([0.01, 0.02, 0.05, 0.1])
        if trial % 3 == 0:  # every third curve has a point that loses between drop·dense and drop: safe in accuracy points
            k = random.randrange(len(grid))
            accs[:k] = [random.uniform(dense - dense * drop / 2, 1.0) for _ in range(k)]
            accs[k] = dense - drop * (1 + dense) / 2
        if trial % 3 == 1:  # a dip, then a recovery above the line: the reading stops at the dip
            k = random.randrange(1, len(grid) - 1)
            accs[:k] = [random.uniform(dense - drop / 2, 1.0) for _ in range(k)]
            accs[k] = dense - 2 * drop
            accs[k + 1:] = [random.uniform(dense - drop / 2, 1.0) for _ in range(len(grid) - k - 1)]
        order = list(range(len(grid)))
        while order == sorted(order):
            random.shuffle(order)  # the pairs come in any order, never sorted
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
# Now read the real curve. Measure the teacher at the sparsities of `GRID` with your `tradeoff`, on the
# validation split (`val_accuracy`), and name the largest sparsity that loses at most `MAX_DROP` of the
# dense validation accuracy `dense_val`, with your `largest_safe_sparsity`. Store them in `curve` and
# `safe`.

# %%
GRID = [0.5, 0.8, 0.9, 0.95, 0.98]
MAX_DROP = 0.02  # two points; one validation image is about 0.56 points


def read_curve() -> tuple[list[float], float]:
    """(curve, safe): the teacher's validation accuracy at each sparsity of GRID, and the largest safe one."""
    # Exercise 8: replace the next line with your code. Hint: two calls, one to each function you just wrote
    raise NotImplementedError('Exercise 8: not written yet (see the comment above) | 练习 8：还没写（见上方注释）')


curve, safe = read_curve()
print("sparsity  " + "".join(f"{s:>8.0%}" for s in GRID))
print("val acc.  " + "".join(f"{a:>8.1%}" for a in curve))
print(f"largest safe sparsity (at most {MAX_DROP:.0%} below {dense_val:.1%}): {safe:.0%}")

# %% tags=["check"] check_id="ex02-read-curve" checklist=["E1", "U3"]
def check():
    from coursekit.prune import clone_model, magnitude_prune  # the reference experiment

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
# ## 7. Gradual pruning: the loop itself
#
# Lesson 02's `gradual_prune` hides a loop: prune to the schedule's next target, fine-tune, prune to the
# next target, fine-tune … Write that loop with torch's own pruning function:
# `gradual_loop(model, final, steps, finetune)` prunes the weights of every `nn.Conv2d` and `nn.Linear`
# of `model` in place, with **one global magnitude threshold** (`prune.global_unstructured(layers,
# pruning_method=prune.L1Unstructured, amount=...)`), to each target of `cubic_schedule(0.0, final,
# steps)` in turn, and calls `finetune(model, t)` after the cut of step t = 1 … steps. Return the model.
#
# The trap the seed code fell into: torch's `amount` is **not** the sparsity you want to reach. On a
# tensor that is already pruned, a float `amount` is the fraction of the weights *still unpruned* to
# remove now. The schedule's targets are absolute ("80% of all weights are zero"): convert each into
# the amount that takes you from where you are to the target. (An integer `amount` is a number of weights
# to remove now; that works too.) Import torch's module inside your function:
# `from torch.nn.utils import prune`.

# %%
def gradual_loop(model: nn.Module, final: float, steps: int, finetune) -> nn.Module:
    """Prune -> finetune(model, t) -> prune ... along the cubic schedule, one global threshold, in place."""
    # Exercise 9: replace the next line with your code. Hint: lesson 02, sections 8 "Gradual or one-shot?" and 12 (the seed code's relative amounts)
    raise NotImplementedError('Exercise 9: not written yet (see the comment above) | 练习 9：还没写（见上方注释）')


# %% tags=["check"] check_id="ex02-gradual-loop" checklist=["T3"]
def check():
    from coursekit.prune import clone_model, gradual_prune, polynomial_schedule, sparsity  # the reference

    def make_model():
        c, k = random.randint(4, 10), random.choice([(3, 3), (2, 3), (3, 1)])
        model = nn.Sequential(nn.Conv2d(1, c, k), nn.ReLU(), nn.Flatten(),
                              nn.Linear(c * (9 - k[0]) * (9 - k[1]), 24), nn.ReLU(), nn.Linear(24, 10))
        with torch.no_grad():  # layers of different scales: a threshold per layer prunes different weights
            for layer, scale in zip((model[0], model[3], model[5]), random.sample([0.1, 1.0, 5.0], k=3)):
                layer.weight.mul_(scale)
        return model

    def make_finetune(log, seed):
        def finetune(model, step):  # stands in for training: it records the call, then moves the weights
            log.append((step, sparsity(model)))
            g = torch.Generator().manual_seed(seed + step)
            with torch.no_grad():
                for m in model.modules():
                    if isinstance(m, (nn.Conv2d, nn.Linear)):
                        w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
                        w.add_(torch.randn(w.shape, generator=g) * w.abs().mean())  # the next cut ranks anew
            model(torch.zeros(1, 1, 8, 8))  # a forward pass, as training ends with: masks re-applied
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
# ## 8. Choose the per-layer sparsities yourself
#
# Lesson 02's `adaptive_plan` reads a sensitivity scan for you. Now you read it. The cell below prunes
# **one layer at a time** to a few sparsities (with fresh BatchNorm statistics, on the validation
# split) and prints the validation accuracy of each trial, with each layer's number of weights.

# %%
from coursekit.prune import sensitivity_scan

TARGET = 0.95  # the overall sparsity your plan must reach
scan = sensitivity_scan(teacher, lambda m: val_accuracy(recalibrate_batchnorm(m, calibration)), [0.9, 0.98])
print(scan)

# %% [markdown]
# Write `my_plan`, a dict `{layer name: sparsity}` (layers you leave out stay dense), whose overall
# sparsity — weights removed over the weights of all the layers in the scan — is at least `TARGET`.
# Spend the sparsity where the scan says it is cheap: big layers that shrug off 98% can carry most of
# it; small layers that break early cost accuracy and save few weights. The check prunes the teacher
# with your plan, recalibrates, and measures it on the test split next to `adaptive_plan(scan, TARGET)`
# and the uniform plan (every layer at `TARGET`): it passes if your plan reaches the target and is
# within two points of the adaptive plan's accuracy, or better than uniform.

# %%
def choose_plan() -> dict[str, float]:
    """Your per-layer sparsities {layer name: sparsity}, read from `scan`."""
    # Exercise 10: replace the next line with your code. Hint: lesson 02, section 6 "Sensitivity scan → an adaptive plan"; scan.sizes has the weights per layer
    raise NotImplementedError('Exercise 10: not written yet (see the comment above) | 练习 10：还没写（见上方注释）')


my_plan = choose_plan()
overall = sum(my_plan.get(name, 0.0) * n for name, n in scan.sizes.items()) / sum(scan.sizes.values())
print(f"your plan: overall sparsity {overall:.2%} (target {TARGET:.0%})")

# %% tags=["check"] check_id="ex02-adaptive-plan" checklist=["T3", "U2", "E1"]
def check():
    from coursekit.prune import (  # the reference
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
# ## Done?
#
# Run `python -m coursekit check exercises/en/02_pruning.py` (or the Chinese edition) to see the
# checklist items this exercise evidences: **T2** (structured and unstructured pruning), **T3** (gradual
# and adaptive pruning), **T4** (evaluating compression correctly), **U2** (the traits of pruning
# strategies), **U3** (the trade-off between compression and accuracy) and **E1** (compression applied
# to a real model).
