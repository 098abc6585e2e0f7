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
# Five small functions, each checked against `torch.nn.utils.prune` or `coursekit.prune` on inputs
# drawn at random every time you run the check (so a hard-coded or copied number can't pass):
#
# 1. a magnitude mask from scratch, this time given the fraction of weights to *keep*;
# 2. one global threshold for several layers;
# 3. Zhu & Gupta's cubic sparsity schedule;
# 4. the sparsity of a model pruned with `torch.nn.utils.prune` (the mistake the seed code — the
#    reference code this course started from, see lesson 02 — made);
# 5. physically removing the pruned channels of a conv → BatchNorm → conv block.
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
# the same shape, 1 for the `k = round(keep * weight.numel())` weights with the largest `|w|` and 0
# everywhere else. Mind `keep = 0` (nothing kept) and `keep = 1` (everything kept).

# %%
def keep_mask(weight: torch.Tensor, keep: float) -> torch.Tensor:
    """1.0 for the round(keep * numel) weights with the largest |weight|, 0.0 for all others."""
    # Exercise 1: replace the next line with your code. Hint: lesson 02, section 2 "A mask by hand" (here torch.topk picks the largest, to keep)
    raise NotImplementedError('Exercise 1: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex02-magnitude-mask" checklist=["T2"]
def check():
    from torch.nn.utils import prune  # the reference, imported here so that it stays out of your code's reach

    for trial in range(30):
        shape = [random.randint(1, 12) for _ in range(random.randint(1, 4))]
        weight = torch.randn(shape)  # continuous values: no ties
        keep = [0.0, 1.0][trial] if trial < 2 else random.random()
        n_prune = weight.numel() - round(keep * weight.numel())  # an int amount: that many weights go
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
    raise NotImplementedError('Exercise 2: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex02-global-threshold" checklist=["T2", "U2"]
def check():
    from torch.nn.utils import prune  # the reference

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
            assert g.dtype == torch.float32, f"mask {i} must be float32 (1.0 / 0.0), got {g.dtype}"
            assert torch.equal(g, m.weight_mask), (
                f"layer {i}: you prune {int((g == 0).sum())} weights, global_unstructured prunes "
                f"{int((m.weight_mask == 0).sum())} (sparsity {sparsity:.2f})")
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
    raise NotImplementedError('Exercise 3: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex02-cubic-schedule" checklist=["T3"]
def check():
    from coursekit.prune import polynomial_schedule  # the reference

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
# ## 4. Counting sparsity correctly
#
# `torch.nn.utils.prune` keeps the untouched weights in a parameter `weight_orig` and the zeros in a
# buffer `weight_mask`; the weight the layer computes with is their product, `module.weight`. The seed
# code counted zeros in `model.parameters()`, which yields `weight_orig`, and so found almost none.
# Write `model_sparsity(model)`: the fraction of zeros among the weights (not the biases) of every
# `nn.Conv2d` and `nn.Linear`, as the layer uses them — whether the layer was pruned or not (a model may
# prune only some layers, or hold zeros that were saved as plain weights).

# %%
def model_sparsity(model: nn.Module) -> float:
    """Fraction of zeros over the effective weights of all Conv2d and Linear layers."""
    # Exercise 4: replace the next line with your code. Hint: lesson 02, section 12 "What the seed code's evaluator got wrong"
    raise NotImplementedError('Exercise 4: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex02-count-sparsity" checklist=["T4"]
def check():
    from torch.nn.utils import prune

    from coursekit.prune import sparsity  # the reference: zeros among the weights the layers compute with

    for trial in range(6):
        width = random.randint(4, 16)
        model = nn.Sequential(nn.Conv2d(1, width, 3), nn.ReLU(), nn.Flatten(), nn.Linear(width * 36, 16), nn.ReLU(),
                              nn.Linear(16, 10))
        layers = [model[0], model[3], model[5]]
        with torch.no_grad():  # zeros stored as plain weights, as in a checkpoint saved after pruning
            for layer in layers:
                layer.weight[torch.rand(layer.weight.shape) < random.uniform(0.05, 0.5)] = 0.0
        if trial > 0:  # trial 0 stays unpruned; the others prune some layers and leave the rest
            for layer in random.sample(layers, random.randint(1, 2)):
                prune.l1_unstructured(layer, "weight", amount=random.uniform(0.3, 0.95))
        expected = sparsity(model)
        got = model_sparsity(model)
        assert abs(got - expected) < 1e-9, f"model_sparsity = {got:.4f}, expected {expected:.4f} (trial {trial})"
    print("✓ model_sparsity counts the zeros the layers compute with, on 6 random models (pruned in part or not at all)")


check()

# %% [markdown]
# ## 5. Removing channels for real
#
# Structured pruning zeroes whole channels, but a zero channel still costs time: the convolution
# still computes it. Write `shrink_block(block)` for `block = nn.Sequential(conv1, bn, relu, conv2)`
# whose dead channels (zero filter and bias in `conv1`, zero `weight` and `bias` in `bn`) are plain
# zeros. Return a **new** `nn.Sequential` of the same four kinds of layers without those channels:
# fewer filters in `conv1`, fewer features in `bn` (every per-channel tensor of it), and fewer input
# channels in `conv2`. Leave `block` itself unchanged: the caller may still need it. In eval mode the
# new block must compute the same outputs.

# %%
def shrink_block(block: nn.Sequential) -> nn.Sequential:
    """conv1 -> bn -> relu -> conv2 without the channels that always output zero."""
    # Exercise 5: replace the next line with your code. Hint: lesson 02, section 9 "Structured pruning" (index every tensor with the surviving channels)
    raise NotImplementedError('Exercise 5: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex02-remove-channels" checklist=["T2"]
def check():
    from coursekit.prune import magnitude_prune, remove_channels, remove_pruning  # the reference

    def sizes(b):
        return b[0].out_channels, b[1].num_features, b[3].in_channels

    for _ in range(5):
        c_in, c_mid, c_out = random.randint(1, 4), random.randint(6, 24), random.randint(2, 10)
        block = nn.Sequential(nn.Conv2d(c_in, c_mid, 3, padding=1), nn.BatchNorm2d(c_mid), nn.ReLU(),
                              nn.Conv2d(c_mid, c_out, 3, padding=1))
        with torch.no_grad():  # running statistics as after training, not the defaults 0 and 1
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
# ## 6. The trade-off on a real model
#
# Compression is a trade: more sparsity, less accuracy. Run the experiment on the real, trained teacher.
#
# - `tradeoff(model, evaluate_fn, sparsities)`: for each sparsity, prune a **copy** of `model` with one
#   global magnitude threshold (here you may use `coursekit.prune.clone_model` and
#   `magnitude_prune(..., scope="global")`: the point is the experiment), and return the list of
#   `evaluate_fn(copy)` values. The model you were given must be left untouched.
# - `largest_safe_sparsity(sparsities, accuracies, dense_accuracy, max_drop)`: read the curve. Going up
#   the sparsities in increasing order (they may be given in any order), return the last one before the
#   first that is more than `max_drop` (a fraction, e.g. 0.01 = one point) below `dense_accuracy`;
#   `0.0` if even the smallest is. Stopping at the first costly step, rather than taking any later
#   sparsity that happens to score well again, is the cautious reading of a noisy curve.

# %%
def tradeoff(model: nn.Module, evaluate_fn, sparsities: list[float]) -> list[float]:
    """Accuracy of `model` pruned (a copy, one global magnitude threshold) to each sparsity."""
    # Exercise 6: replace the next line with your code. Hint: lesson 02, section 4 "Layer-wise or global?" and the sweep in section 5
    raise NotImplementedError('Exercise 6: not written yet (see the comment above)')


def largest_safe_sparsity(sparsities: list[float], accuracies: list[float], dense_accuracy: float,
                          max_drop: float) -> float:
    """The last sparsity (in increasing order) before the first one that loses more than max_drop."""
    # Exercise 7: replace the next line with your code. Hint: walk up the sparsities and stop at the first that is too costly
    raise NotImplementedError('Exercise 7: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex02-tradeoff" checklist=["E1", "U3"]
def check():
    from coursekit.data import load_dataset, make_loaders
    from coursekit.pretrained import pretrained
    from coursekit.prune import clone_model, magnitude_prune  # the reference experiment
    from coursekit.train import evaluate

    teacher = pretrained("teacher", progress=False)  # the real, trained model
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

    for trial in range(30):  # made-up curves, some with a dip, to check the reading of a trade-off curve
        grid = sorted(random.sample([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], k=6))
        dense = random.uniform(0.9, 1.0)
        accs = [random.uniform(0.8, 1.0) for _ in grid]
        drop = random.choice([0.01, 0.02, 0.05, 0.1])
        if trial % 3 == 0:  # every third curve has a point that loses between drop·dense and drop: safe in accuracy points
            k = random.randrange(len(grid))
            accs[:k] = [random.uniform(dense - dense * drop / 2, 1.0) for _ in range(k)]
            accs[k] = dense - drop * (1 + dense) / 2
        order = random.sample(range(len(grid)), k=len(grid))  # the pairs may come in any order
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
# ## Done?
#
# Run `python -m coursekit check exercises/en/02_pruning.py` (or the Chinese edition) to see the
# checklist items this exercise evidences: **T2** (structured and unstructured pruning), **T3** (gradual
# pruning), **T4** (evaluating compression correctly), **U2** (the traits of pruning strategies), **U3** (the
# trade-off between compression and accuracy) and **E1** (compression applied to a real model).
