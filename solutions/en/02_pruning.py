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
# # Exercise 02 · Pruning
#
# Five small functions, each checked against `torch.nn.utils.prune` or `coursekit.prune` on inputs
# drawn at random every time you run the check (so only a correct method passes):
#
# 1. a magnitude mask from scratch (unstructured pruning of one tensor);
# 2. one global threshold for several layers;
# 3. Zhu & Gupta's cubic sparsity schedule;
# 4. the sparsity of a model pruned with `torch.nn.utils.prune` (the mistake the seed code made);
# 5. physically removing the pruned channels of a conv → BatchNorm → conv block.
#
# Write your code where it says `raise NotImplementedError`, then run the check cell below it.
# When every check passes, run `python -m coursekit check exercises/en/02_pruning.py` in a terminal to
# see which checklist items you have evidenced.

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import random

import torch
from torch import nn
from torch.nn.utils import prune

from coursekit import prune as ckprune


def holder(tensor: torch.Tensor) -> nn.Module:
    """A bare module whose parameter `weight` is `tensor`, so torch.nn.utils.prune can prune it."""
    module = nn.Module()
    module.weight = nn.Parameter(tensor.clone())
    return module


# %% [markdown]
# ## 1. A magnitude mask
#
# Unstructured magnitude pruning keeps the weights with the largest absolute value. Write
# `magnitude_mask(weight, sparsity)`: a float tensor of the same shape, 0 for the
# `k = round(sparsity * weight.numel())` weights with the smallest `|w|` and 1 everywhere else
# (that is how `torch.nn.utils.prune.l1_unstructured` counts). Mind `k = 0`.

# %%
def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """1.0 where |weight| is among the largest, 0.0 for the round(sparsity * numel) smallest."""
    ### BEGIN SOLUTION  hint: lesson 02, section 2 "A mask by hand" (torch.topk with largest=False)
    k = round(sparsity * weight.numel())
    mask = torch.ones(weight.numel())
    if k > 0:
        mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = 0.0
    return mask.view(weight.shape)
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-magnitude-mask" checklist=["T2"]
for trial in range(30):
    shape = [random.randint(1, 12) for _ in range(random.randint(1, 4))]
    weight = torch.randn(shape)  # continuous values: no ties
    sparsity = [0.0, 1.0][trial] if trial < 2 else random.random()
    expected = prune.l1_unstructured(holder(weight), "weight", amount=sparsity).weight_mask
    got = magnitude_mask(weight, sparsity)
    assert got.shape == weight.shape, f"mask shape {tuple(got.shape)}, expected {tuple(weight.shape)}"
    assert torch.equal(got.float(), expected), (
        f"shape {shape}, sparsity {sparsity:.3f}: your mask prunes {int((got == 0).sum())} weights, "
        f"l1_unstructured prunes {int((expected == 0).sum())}; {int((got != expected).sum())} entries differ")
print("✓ magnitude_mask equals torch.nn.utils.prune.l1_unstructured's mask on 30 random tensors")

# %% [markdown]
# ## 2. One global threshold
#
# Layer-wise pruning gives every layer the same sparsity. *Global* pruning ranks all weights of all
# layers together: one threshold, so layers with many small weights lose more. Write
# `global_masks(weights, sparsity)` returning one mask per tensor such that, over all tensors together,
# the `round(sparsity * total)` smallest `|w|` are pruned.

# %%
def global_masks(weights: list[torch.Tensor], sparsity: float) -> list[torch.Tensor]:
    """Masks (1 = keep) for each tensor, from one magnitude ranking over all of them."""
    ### BEGIN SOLUTION  hint: lesson 02, section 4 "Layer-wise or global?" (concatenate, then split)
    flat = torch.cat([w.abs().flatten() for w in weights])
    mask = magnitude_mask(flat, sparsity)
    return [m.view(w.shape) for m, w in zip(torch.split(mask, [w.numel() for w in weights]), weights)]
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-global-threshold" checklist=["T2", "U2"]
for _ in range(10):
    # layers of very different scales, as in a real network: a per-layer threshold would differ
    weights = [torch.randn(random.randint(5, 40), random.randint(5, 40)) * 10 ** random.uniform(-2, 1)
               for _ in range(random.randint(2, 4))]
    sparsity = random.uniform(0.2, 0.9)
    modules = [holder(w) for w in weights]
    prune.global_unstructured([(m, "weight") for m in modules], prune.L1Unstructured, amount=sparsity)
    got = global_masks(weights, sparsity)
    assert len(got) == len(weights), f"{len(got)} masks for {len(weights)} tensors"
    for i, (g, m) in enumerate(zip(got, modules)):
        assert g.shape == m.weight_mask.shape, f"mask {i} has shape {tuple(g.shape)}"
        assert torch.equal(g.float(), m.weight_mask), (
            f"layer {i}: you prune {int((g == 0).sum())} weights, global_unstructured prunes "
            f"{int((m.weight_mask == 0).sum())} (sparsity {sparsity:.2f})")
print("✓ global_masks equals torch.nn.utils.prune.global_unstructured on 10 random sets of layers")

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
    ### BEGIN SOLUTION  hint: lesson 02, section 8 "Gradual or one-shot?"
    return [final + (initial - final) * (1 - t / steps) ** 3 for t in range(1, steps + 1)]
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-cubic-schedule" checklist=["T3"]
for _ in range(20):
    initial = random.uniform(0.0, 0.5)
    final, steps = random.uniform(initial, 0.99), random.randint(2, 30)
    expected = ckprune.polynomial_schedule(initial, final, steps)
    got = cubic_schedule(initial, final, steps)
    assert len(got) == steps, f"{len(got)} targets for {steps} steps"
    assert all(abs(g - e) < 1e-9 for g, e in zip(got, expected)), (
        f"cubic_schedule({initial:.3f}, {final:.3f}, {steps}) = {[round(g, 3) for g in got[:4]]}..., "
        f"expected {[round(e, 3) for e in expected[:4]]}...")
    assert got[-1] == final, "the last target must be exactly `final`"
print("✓ cubic_schedule matches coursekit.prune.polynomial_schedule on 20 random schedules")

# %% [markdown]
# ## 4. Counting sparsity correctly
#
# `torch.nn.utils.prune` keeps the untouched weights in a parameter `weight_orig` and the zeros in a
# buffer `weight_mask`; the weight the layer computes with is their product, `module.weight`. The seed
# code counted zeros in `model.parameters()`, which yields `weight_orig`, and so found almost none.
# Write `model_sparsity(model)`: the fraction of zeros among the weights (not the biases) of every
# `nn.Conv2d` and `nn.Linear`, as the layer uses them.

# %%
def model_sparsity(model: nn.Module) -> float:
    """Fraction of zeros over the effective weights of all Conv2d and Linear layers."""
    ### BEGIN SOLUTION  hint: lesson 02, section 12 "What the seed's evaluator got wrong"
    zeros = total = 0
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            zeros += int((module.weight == 0).sum())
            total += module.weight.numel()
    return zeros / total
    ### END SOLUTION


# %% tags=["check"] check_id="ex02-count-sparsity" checklist=["T4"]
for _ in range(5):
    width = random.randint(4, 16)
    model = nn.Sequential(nn.Conv2d(1, width, 3), nn.ReLU(), nn.Flatten(), nn.Linear(width * 36, 10))
    sparsity = random.uniform(0.3, 0.95)
    ckprune.magnitude_prune(model, sparsity, scope=random.choice(["layer", "global"]))
    expected = ckprune.sparsity(model)
    got = model_sparsity(model)
    assert abs(got - expected) < 1e-9, f"model_sparsity = {got:.4f}, expected {expected:.4f}"
print("✓ model_sparsity counts the zeros the layers compute with, on 5 random pruned models")

# %% [markdown]
# ## 5. Removing channels for real
#
# Structured pruning zeroes whole channels, but a zero channel still costs time: the convolution
# still computes it. Write `shrink_block(block)` for `block = nn.Sequential(conv1, bn, relu, conv2)`
# whose dead channels (zero filter and bias in `conv1`, zero `weight` and `bias` in `bn`) are plain
# zeros. Return a new `nn.Sequential` of the same four kinds of layers without those channels:
# fewer filters in `conv1`, fewer features in `bn` (every per-channel tensor of it), and fewer input
# channels in `conv2`. In eval mode it must compute the same outputs.

# %%
def shrink_block(block: nn.Sequential) -> nn.Sequential:
    """conv1 -> bn -> relu -> conv2 without the channels that always output zero."""
    ### BEGIN SOLUTION  hint: lesson 02, section 9 "Structured pruning" and coursekit.prune.remove_channels
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
for _ in range(5):
    c_in, c_mid, c_out = random.randint(1, 4), random.randint(6, 24), random.randint(2, 10)
    block = nn.Sequential(nn.Conv2d(c_in, c_mid, 3, padding=1), nn.BatchNorm2d(c_mid), nn.ReLU(),
                          nn.Conv2d(c_mid, c_out, 3, padding=1))
    with torch.no_grad():  # running statistics as after training, not the defaults 0 and 1
        block[1].running_mean.uniform_(-1, 1)
        block[1].running_var.uniform_(0.5, 2.0)
        block[1].weight.uniform_(0.5, 1.5)
        block[1].bias.uniform_(-0.5, 0.5)
    ckprune.remove_pruning(ckprune.magnitude_prune(block, random.uniform(0.2, 0.7), structured=True))
    block.eval()
    x = torch.randn(3, c_in, random.randint(5, 9), random.randint(5, 9))
    expected_out = block(x)
    reference = ckprune.remove_channels(block)
    small = shrink_block(block).eval()
    assert isinstance(small, nn.Sequential) and len(small) == 4, "return nn.Sequential(conv1, bn, relu, conv2)"
    assert small[0].weight.shape == reference[0].weight.shape, (
        f"conv1 weight {tuple(small[0].weight.shape)}, expected {tuple(reference[0].weight.shape)}")
    assert small[3].weight.shape == reference[3].weight.shape, (
        f"conv2 weight {tuple(small[3].weight.shape)}, expected {tuple(reference[3].weight.shape)}")
    got_out = small(x)
    assert torch.allclose(got_out, expected_out, atol=1e-5), (
        f"outputs differ by up to {(got_out - expected_out).abs().max():.3g}")
print("✓ shrink_block: same outputs with the dead channels gone, on 5 random blocks")

# %% [markdown]
# ## Done?
#
# Run `python -m coursekit check exercises/en/02_pruning.py` (or the Chinese edition) to see the
# checklist items this exercise evidences: **T2** (structured and unstructured pruning), **T3** (gradual
# pruning), **T4** (evaluating compression correctly) and **U2** (the traits of pruning strategies).
