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
# # 02 · Pruning
#
# *Most of a trained network's weights barely matter. Find them, set them to zero — and then find out
# what that actually buys you.*
#
# In this lesson you prune the course's trained **teacher** (lesson 00) and measure every step:
#
# - where the weights are, and a magnitude mask written by hand (checked against `torch.nn.utils.prune`);
# - magnitude vs random pruning, layer-wise vs global, and a slider to explore them;
# - a per-layer **sensitivity scan** that turns into an adaptive sparsity plan;
# - **fine-tuning** after pruning, and **gradual** pruning (Zhu & Gupta's cubic schedule) vs one-shot;
# - **structured** pruning of whole channels, and why only *removing* them makes the model faster;
# - what pruning does to the size on disk, and what the seed code's evaluator got wrong.
#
# Every number below is measured when you run the notebook. The teacher is loaded from the cache
# (never retrained here), and every experiment prunes a fresh copy of it.

# %%
import os

# Idle OpenMP threads busy-wait and make 2-thread timings on a busy machine far slower; PASSIVE makes
# them sleep. It only works if set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# %matplotlib inline

import torch
from IPython.display import display
from torch import nn
from torch.nn.utils import prune
from torch.utils.data import DataLoader

from coursekit import plots
from coursekit.data import load_dataset, make_loaders
from coursekit.metrics import count_flops
from coursekit.models import TeacherNet, count_parameters
from coursekit.pretrained import pretrained
from coursekit.prune import (
    adaptive_plan,
    apply_plan,
    clone_model,
    compare_speed,
    finetuner,
    from_sparse_state_dict,
    gradual_prune,
    magnitude_prune,
    random_prune,
    recalibrate_batchnorm,
    remove_channels,
    remove_pruning,
    sensitivity_scan,
    size_on_disk,
    sparsity,
    sparsity_report,
    sparsity_sweep,
    to_sparse_state_dict,
)
from coursekit.train import evaluate
from coursekit.widgets import sparsity_explorer

torch.manual_seed(0)
splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, batch_size=64, seed=0)
calibration = DataLoader(splits.train, batch_size=128)  # fixed training batches for BatchNorm statistics
finetune_loader = make_loaders(splits, batch_size=128, seed=0).train  # bigger batches: faster epochs on a CPU
teacher = pretrained("teacher")


def test_accuracy(model):
    return evaluate(model, loaders.test).accuracy


def recalibrated(model):
    """Re-estimate BatchNorm's running statistics on two training batches (section 3 explains why)."""
    return recalibrate_batchnorm(model, calibration, batches=2)


dense_accuracy = test_accuracy(teacher)
print(f"teacher: {count_parameters(teacher):,} parameters, test accuracy {dense_accuracy:.2%} "
      f"on {len(splits.test)} images")

# %% [markdown]
# ## 1. Where are the weights?
#
# Pruning rests on one observation: in a trained network most weights are small. The histograms show
# the weights of each prunable layer (every `Conv2d` and `Linear`).

# %%
weights = torch.cat([m.weight.detach().abs().flatten() for m in teacher.modules()
                     if isinstance(m, (nn.Conv2d, nn.Linear))])
print(f"{weights.numel():,} prunable weights ({weights.numel() / count_parameters(teacher):.1%} of all parameters)")
for fraction in (0.01, 0.05, 0.1):
    print(f"  {(weights < fraction * weights.max()).float().mean():6.1%} of them are smaller than "
          f"{fraction:.0%} of the largest")
plots.weight_histograms(teacher)

# %% [markdown]
# Each histogram is a narrow peak around zero with long tails. The layers also differ: their weights
# live on different scales, which matters in section 4.

# %% [markdown]
# ## 2. A mask by hand
#
# *Magnitude pruning* at sparsity `s` zeroes the `round(s · n)` weights with the smallest absolute value.
# It is a mask: 1 keeps a weight, 0 removes it. Here it is in four lines, checked against PyTorch's
# `prune.l1_unstructured` on one of the teacher's layers.

# %%
def magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())  # how many weights to zero
    mask = torch.ones(weight.numel())
    mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = 0.0  # the k smallest |w|
    return mask.view(weight.shape)


layer = clone_model(teacher).features[3]  # a fresh copy: the teacher itself stays dense
ours = magnitude_mask(layer.weight.detach(), 0.6)
prune.l1_unstructured(layer, "weight", amount=0.6)
assert torch.equal(ours, layer.weight_mask)
assert torch.equal(layer.weight, layer.weight_orig * layer.weight_mask)
print(f"our mask == prune.l1_unstructured's mask: {torch.equal(ours, layer.weight_mask)}; "
      f"sparsity {sparsity(layer.weight):.1%}")
print("after pruning the layer holds:", [name for name, _ in layer.named_parameters()], "+",
      [name for name, _ in layer.named_buffers()])

# %% [markdown]
# `torch.nn.utils.prune` does not delete anything: it renames the parameter to `weight_orig`, stores
# the mask as a buffer `weight_mask`, and installs a forward pre-hook that computes
# `weight = weight_orig * weight_mask` **before every call**. Remember that hook: it explains
# section 10. `coursekit.prune` builds on the same mechanism (`magnitude_prune`, `random_prune`, ...),
# so everything below can be inspected the same way.

# %% [markdown]
# ## 3. Magnitude vs random — and a BatchNorm surprise
#
# Is magnitude a good criterion? The baseline is to prune the same number of weights at random. We
# prune 70% of every layer both ways and measure the test accuracy.

# %%
def accuracies(model):
    """Test accuracy as pruned, then after re-estimating BatchNorm statistics."""
    as_pruned = test_accuracy(model)
    return as_pruned, test_accuracy(recalibrated(model))


s = 0.7
results = {
    "magnitude": accuracies(magnitude_prune(clone_model(teacher), s)),
    "random": accuracies(random_prune(clone_model(teacher), s, seed=0)),
}
print(f"dense: {dense_accuracy:.2%}")
print(f"{'pruned to ' + format(s, '.0%'):18s} {'as pruned':>10s} {'BN re-estimated':>16s}")
for name, (raw, recal) in results.items():
    print(f"{name:18s} {raw:>10.2%} {recal:>16.2%}")
assert results["magnitude"][1] > results["random"][1] + 0.2  # magnitude wins clearly
assert results["magnitude"][1] > results["magnitude"][0] + 0.2  # and BatchNorm needed new statistics

# %% [markdown]
# Read the first column: even magnitude pruning seems to destroy the network. It hasn't. The teacher
# uses **BatchNorm**, which normalises each channel with the mean and variance it *stored during
# training*. Pruning changes what every layer outputs, so those stored statistics are now wrong, and
# the errors compound layer after layer. Re-estimating them — a few forward passes over training data
# without gradients, no weight changes (`recalibrate_batchnorm`) — brings the accuracy back (second
# column). From now on every pruned model gets fresh statistics before it is evaluated.
#
# With that fixed, magnitude is far better than random: small weights really matter less.

# %% [markdown]
# ## 4. Layer-wise or global?
#
# *Layer-wise* pruning gives every layer the same sparsity. *Global* pruning ranks all weights of all
# layers together and applies one threshold, so each layer ends up with its own sparsity. We also try
# random pruning and *structured* pruning (whole channels, section 9) at a range of sparsities: each
# point is a fresh copy of the teacher, pruned once, with BatchNorm re-estimated, no fine-tuning.

# %%
sweep = sparsity_sweep(teacher, lambda m: test_accuracy(recalibrated(m)), [0.5, 0.7, 0.8, 0.9, 0.95])
print(sweep)
at = {method: dict(zip(sweep.sparsities, values)) for method, values in sweep.metrics.items()}
assert at["magnitude (global)"][0.9] > at["magnitude (layer)"][0.9]
assert all(at["magnitude (layer)"][s] > at["random"][s] for s in (0.5, 0.7, 0.8))
print(f"at 90%: global {at['magnitude (global)'][0.9]:.2%} vs layer-wise {at['magnitude (layer)'][0.9]:.2%}")

global90 = sparsity_report(magnitude_prune(clone_model(teacher), 0.9, scope="global"))
per_layer = global90.as_dict()
assert per_layer["features.0"] < 0.5 < 0.95 < per_layer["features.17"]
global90

# %% [markdown]
# The table shows where global pruning put the zeros: the big late convolutions lose almost
# everything, while the first convolution (a few hundred weights that every image passes through)
# keeps most of its weights. Layer-wise pruning at the same overall sparsity cuts the
# first layer just as hard as the largest one — that is why it collapses first in the sweep.

# %% [markdown]
# ## 5. Explore it yourself
#
# Move the slider and switch methods (in JupyterLab; the widget needs a running kernel). Each change
# prunes a fresh copy of the teacher, so the teacher is never modified. Untick "re-estimate
# BatchNorm statistics" to see section 3's collapse again. Below the widget, the static figure
# summarises the sweep from section 4 for readers without a kernel.

# %%
display(sparsity_explorer(teacher, loaders.test, calibration_loader=calibration, sparsity=0.9))
plots.accuracy_vs_sparsity(sweep, title="one-shot pruning, BatchNorm re-estimated, no fine-tuning")

# %% [markdown]
# ## 6. Sensitivity scan → an adaptive plan
#
# Global magnitude decides per-layer sparsity from weight sizes alone. We can ask the network instead:
# prune **one layer at a time** to several sparsities and measure how much the validation loss rises
# (the validation split, not the test split we report). Loss is used rather than accuracy because
# the validation split is small and accuracy moves in steps of one image.

# %%
scan = sensitivity_scan(teacher, lambda m: -evaluate(recalibrated(m), loaders.val).loss,
                        [0.5, 0.8, 0.9, 0.95, 0.98])
at_98 = {name: scan.drops(name)[-1] for name in scan.layers}  # validation loss added at 98%
most, least = max(at_98, key=at_98.get), min(at_98, key=at_98.get)
print(f"at 98% alone: {most} adds {at_98[most]:.3f} to the validation loss, {least} adds {at_98[least]:.3f}")
assert at_98[most] > 10 * max(at_98[least], 0.01)
plots.sensitivity_curves(scan, ylabel="validation loss added")

# %% [markdown]
# Some layers shrug off 98% sparsity; others break much earlier (the line printed above names the
# extremes). `adaptive_plan` turns the scan into
# per-layer sparsities that reach an overall target: starting from nothing pruned, it repeatedly takes
# the move that adds the least loss per weight removed. We compare it with the uniform (layer-wise)
# plan and with global magnitude at the same overall sparsity, one-shot, without fine-tuning.

# %%
target = 0.95
plan = adaptive_plan(scan, target)
candidates = {
    "uniform": magnitude_prune(clone_model(teacher), target),
    "global magnitude": magnitude_prune(clone_model(teacher), target, scope="global"),
    "adaptive (scan)": apply_plan(clone_model(teacher), plan),
}
plan_accuracy = {name: test_accuracy(recalibrated(m)) for name, m in candidates.items()}
for name, m in candidates.items():
    print(f"{name:17s} overall sparsity {sparsity(m):.2%}  test accuracy {plan_accuracy[name]:.2%}")
assert all(abs(sparsity(m) - target) < 0.005 for m in candidates.values())
assert plan_accuracy["adaptive (scan)"] > plan_accuracy["uniform"] + 0.1
assert plan.sparsities["features.0"] < target and plan.sparsities["classifier.8"] < target
assert max(plan.sparsities.values()) > target
plots.sparsity_bars({name: sparsity_report(m).as_dict() for name, m in candidates.items()},
                    title=f"per-layer sparsity of three plans at {target:.0%} overall")

# %% [markdown]
# At the same number of zeros, *where* they go decides the accuracy. The adaptive plan spares the small,
# sensitive layers (the first convolution, the classifier's output layer) and takes nearly everything
# from the big, robust ones. The scan assumes that the damage from several layers adds up; it doesn't
# exactly (pruning everything at once compounds), so the plan is a well-informed guess that you then
# verify, as above.

# %% [markdown]
# ## 7. Fine-tuning recovers the rest
#
# After pruning, a few epochs of ordinary training with the mask in place let the remaining weights
# compensate. The mask is re-applied on every forward, and the pruned entries of `weight_orig` receive
# zero gradient, so the zeros stay zeros. `finetuner` wraps `coursekit.train.fit` (the course's only
# training loop) and re-estimates BatchNorm statistics afterwards.

# %%
final_sparsity, budget = 0.95, 2  # budget: fine-tuning epochs, the same for every schedule below
one_shot = {}
for seed in (0, 1):
    model = magnitude_prune(clone_model(teacher), final_sparsity, scope="global")
    before = test_accuracy(recalibrated(model))
    finetuner(finetune_loader, epochs=budget, lr=1.5e-3, seed=seed)(model, 1)
    one_shot[seed] = {"model": model, "after pruning": before, "after fine-tuning": test_accuracy(model)}
    print(f"seed {seed}: sparsity {sparsity(model):.2%}, accuracy {before:.2%} right after pruning → "
          f"{one_shot[seed]['after fine-tuning']:.2%} after {budget} epochs (dense: {dense_accuracy:.2%})")
pruned95 = one_shot[0]["model"]
assert sparsity(pruned95) >= 0.9 and one_shot[0]["after fine-tuning"] >= dense_accuracy - 0.01
print(f"after fine-tuning, {final_sparsity:.0%} sparse is within "
      f"{dense_accuracy - one_shot[0]['after fine-tuning']:+.2%} of the dense teacher")

# %% [markdown]
# ## 8. Gradual or one-shot?
#
# Zhu & Gupta (2017) prune *gradually*: the sparsity rises in steps along a cubic schedule, with
# training in between, so the network adapts while it loses weights. The target after step
# `t = 1 … n` is `final + (initial − final) · (1 − t/n)³` — big steps first, small ones at the end.
# We give gradual pruning exactly the one-shot budget above: `budget` steps with one epoch of
# fine-tuning after each, versus one pruning step followed by `budget` epochs.

# %%
gradual = {}
for seed in (0, 1):
    model = clone_model(teacher)
    history = gradual_prune(model, final_sparsity, steps=budget, scope="global",
                            finetune=finetuner(finetune_loader, epochs=1, lr=1.5e-3, seed=seed),
                            evaluate_fn=test_accuracy)
    gradual[seed] = {"history": history, "after fine-tuning": history.metrics[-1]}
print(gradual[0]["history"])


def mean_std(values):
    t = torch.tensor(values, dtype=torch.float64)
    return f"{t.mean():.2%} ± {t.std():.2%}"


one = [r["after fine-tuning"] for r in one_shot.values()]
grad = [r["after fine-tuning"] for r in gradual.values()]
print(f"one-shot + {budget} epochs: {mean_std(one)}   gradual ({budget} steps × 1 epoch): {mean_std(grad)}"
      f"   (2 seeds, dense {dense_accuracy:.2%})")
gap = abs(sum(one) - sum(grad)) / 2
spread = max(max(one) - min(one), max(grad) - min(grad), 1 / len(splits.test))
verdict = ("within the seed-to-seed spread: no winner at this budget" if gap <= spread
           else f"{'gradual' if sum(grad) > sum(one) else 'one-shot'} is ahead by more than the seed-to-seed spread")
print(f"difference of the means: {gap:.2%}; largest spread between seeds: {spread:.2%} → {verdict}")
assert min(one + grad) >= dense_accuracy - 0.03  # both schedules recover to near the dense accuracy
assert sum(grad) / 2 <= sum(one) / 2 + spread  # at this short budget, gradual does not come out ahead
plots.gradual_vs_one_shot(gradual[0]["history"], {"sparsity": final_sparsity, **one_shot[0]}, dense=dense_accuracy)

# %% [markdown]
# Read the verdict your run printed. With BatchNorm statistics re-estimated and a budget this short,
# gradual pruning does not come out ahead of one-shot on this task (the cell checks it): with only
# `budget` steps, its last step is itself a large cut (look at the targets in the history), followed by
# a single epoch of recovery, while one-shot spends its whole budget at the final sparsity. The
# schedule pays off when there are many small steps with training in between — Zhu & Gupta prune every
# few hundred training steps over thousands — and at extreme sparsity. The seed's version used a
# linear schedule (`np.linspace`); the cubic one spends its big steps early, while redundancy is
# plentiful. The lesson to keep: compare schedules at the **same** fine-tuning budget, over several
# seeds, before believing either is better.

# %% [markdown]
# ## 9. Structured pruning
#
# Unstructured pruning scatters zeros everywhere. *Structured* pruning removes whole output channels —
# the filters with the smallest L2 norm — and whole neurons of the hidden linear layers (never the
# classifier's output layer). A pruned channel must output exactly zero: its filter and bias are
# masked, and so are the scale and shift of the BatchNorm after it, which would otherwise turn the
# zero into a constant.

# %%
structured = magnitude_prune(clone_model(teacher), 0.5, structured=True)
outputs = {}
hook = structured.features[2].register_forward_hook(lambda mod, inp, out: outputs.update(relu=out))
structured(splits.test[:64][0])
hook.remove()
dead = (outputs["relu"].abs().sum(dim=(0, 2, 3)) == 0).sum().item()
print(f"first block: {dead} of {outputs['relu'].shape[1]} channels output exactly zero")
assert dead == structured.features[0].out_channels // 2
before = test_accuracy(recalibrated(structured))
finetuner(finetune_loader, epochs=1, lr=1.5e-3)(structured, 1)
structured_accuracy = test_accuracy(structured)
print(f"50% of channels pruned: accuracy {before:.2%} right after pruning → {structured_accuracy:.2%} after "
      f"1 epoch (dense {dense_accuracy:.2%}); weight sparsity {sparsity(structured):.1%}")

# %% [markdown]
# The model still has every channel; half of them are multiplied by zero. `remove_channels` builds a
# new, physically smaller network: each zero channel goes, with its BatchNorm entries and the matching
# input channels of the next layer. It must compute the same function — checked on real images.

# %%
x64 = splits.test[:64][0]  # (64, 1, 8, 8)
small = remove_channels(structured, example_input=x64)
assert torch.allclose(small(x64), structured.eval()(x64), atol=1e-5)
print(small.features[:4])
params = {name: count_parameters(m) for name, m in [("dense", teacher), ("pruned (masks)", structured), ("channels removed", small)]}
flops = {name: count_flops(m, x64[:1]) for name, m in [("dense", teacher), ("pruned (masks)", structured), ("channels removed", small)]}
for name in params:
    print(f"{name:17s} {params[name]:>10,} parameters  {flops[name] / 1e6:6.2f} MFLOPs per image")
flops_ratio = flops["dense"] / flops["channels removed"]
print(f"removing the channels: {params['dense'] / params['channels removed']:.1f}× fewer parameters, "
      f"{flops_ratio:.1f}× fewer FLOPs, same outputs, accuracy {test_accuracy(small):.2%}")

# %% [markdown]
# ## 10. Do masks make it faster? Measure.
#
# We time four models on the same inputs, at batch 1 and 64, with 1 and 2 threads (models timed in
# turns, median of many runs): the dense teacher; the 50%-channel model still held as masks; the same
# model with its channels removed; and the 95% unstructured model from section 7 with its masks folded
# in (`remove_pruning`: plain weights, 95% of them zero).

# %%
speed = compare_speed({
    "dense": teacher,
    "50% ch. masked": structured,
    "50% ch. removed": small,
    "95% zeros": remove_pruning(clone_model(pruned95)),
}, x64, batch_sizes=(1, 64), threads=(1, 2), runs=6, rounds=3)
print(speed)
def verdict(row):
    return "faster" if row.speedup > 1.2 else "slower" if row.speedup < 0.9 else "no faster"


for model_name in ("50% ch. masked", "50% ch. removed", "95% zeros"):
    r = speed.row(model_name, 64, 1)
    print(f"{model_name:16s} batch 64, 1 thread: {r.speedup:.2f}× the dense speed ({verdict(r)}) "
          f"for {r.flops_reduction:.2f}× fewer FLOPs")
removed = [speed.row("50% ch. removed", b, t) for b in (1, 64) for t in (1, 2)]
print(f"channels removed: speed-up below the FLOPs ratio in {sum(r.speedup < r.flops_reduction for r in removed)} "
      f"of {len(removed)} settings; batch 1 vs 64 (1 thread): {removed[0].speedup:.2f}× vs {removed[2].speedup:.2f}×")
plots.speed_comparison(speed)

# %% [markdown]
# Three lessons in one table:
#
# - **Masks are not a speed-up.** The masked model runs the same dense convolutions on the same
#   number of channels, and its forward pre-hooks recompute `weight_orig * weight_mask` for every
#   layer on every call: it does all of the dense model's work plus the multiplications by the mask.
#   The seed's evaluator timed exactly this and reported the ratio as a "speed-up".
# - **Zeros are not a speed-up either**, for dense kernels: the 95%-sparse model multiplies zeros as
#   fast as any other number. Turning unstructured sparsity into speed needs sparse kernels (and
#   usually far higher sparsity or hardware support).
# - **Removing channels is.** The smaller network does less arithmetic, so it can be faster. Compare its
#   speed-up with its FLOPs ratio in the lines printed above: for the reasons of lesson 00 — per-call
#   overheads and memory traffic do not shrink in step with the arithmetic — the two differ.

# %% [markdown]
# ## 11. Size on disk
#
# What does each form cost to store? `size_on_disk` saves a model four ways: its `state_dict` as it
# is; after `remove_pruning` (masks folded in, zeros stored as ordinary float32 zeros); that file
# compressed with zlib; and a sparse encoding (one bit per weight saying "non-zero?", plus the
# non-zero values).

# %%
sizes = {"dense teacher": size_on_disk(teacher), "95% unstructured": size_on_disk(pruned95),
         "50% ch. removed": size_on_disk(small)}
kib = 1024
print(f"{'':18s} {'state_dict':>11s} {'remove_pruning':>15s} {'zlib':>9s} {'sparse':>9s}   (KiB)")
for name, sz in sizes.items():
    print(f"{name:18s} {sz.state_dict_bytes / kib:>11.0f} {sz.dense_bytes / kib:>15.0f} "
          f"{sz.zlib_bytes / kib:>9.0f} {sz.sparse_bytes / kib:>9.0f}")
p95 = sizes["95% unstructured"]
assert p95.state_dict_bytes > 1.9 * p95.dense_bytes  # weight_orig + weight_mask: twice the weights
assert p95.sparse_bytes < p95.zlib_bytes < p95.dense_bytes
assert abs(p95.dense_bytes - sizes["dense teacher"].dense_bytes) < 0.01 * p95.dense_bytes
restored = TeacherNet(in_channels=1).eval()
restored.load_state_dict(from_sparse_state_dict(to_sparse_state_dict(pruned95)))
assert torch.equal(restored(x64), pruned95.eval()(x64))  # the sparse file loses nothing
print(f"95% unstructured: saving with masks costs {p95.state_dict_bytes / p95.dense_bytes:.1f}× the dense file; "
      f"the sparse encoding is {p95.dense_bytes / p95.sparse_bytes:.1f}× smaller than the dense file, "
      f"zlib {p95.dense_bytes / p95.zlib_bytes:.1f}×")

# %% [markdown]
# A pruned checkpoint saved carelessly is *twice* the size (both `weight_orig` and the float mask are
# stored). After `remove_pruning` it is exactly the dense size: zeros are still 4-byte floats. Only an
# encoding that skips the zeros — a generic compressor or an explicit sparse format — turns sparsity
# into bytes saved, and the sparse format's index costs (here one bit per weight) set how far it can
# go. The model with channels removed needs no special format at all.

# %% [markdown]
# ## 12. What the seed's evaluator got wrong
#
# The seed code's `PruningManager` and `PrunedModelEvaluator` looked plausible. Each flaw below is
# demonstrated on real objects:
#
# 1. it counted sparsity over `model.parameters()`, which after `torch.nn.utils.prune` yields the
#    untouched `weight_orig` — so a heavily pruned model reports almost no zeros;
# 2. it timed the masked model against the dense one and called the ratio a speed-up (section 10: masks
#    make nothing faster, by construction);
# 3. its timing code calls `self.device.type` on the default `device='cuda'`, a string: it crashes;
# 4. its gradual pruning recorded no `'sparsity'` key, so the progress plot (`entry.get('sparsity', 0)`)
#    drew every gradual run at 0;
# 5. it trained and evaluated on random noise with random labels, so every accuracy it printed was
#    meaningless — and it never re-estimated BatchNorm statistics (section 3).

# %%
params_all = list(pruned95.parameters())
seed_count = 1 - sum(int((p != 0).sum()) for p in params_all) / sum(p.numel() for p in params_all)
print(f"1. the seed's count on the 95%-pruned model: {seed_count:.2%} sparse; the real sparsity: {sparsity(pruned95):.2%}")
assert seed_count < 0.05 < 0.9 < sparsity(pruned95)
masked = speed.row("50% ch. masked", 64, 1)
print(f"2. masked vs dense, batch 64, 1 thread: {masked.speedup:.2f}× the dense speed ({verdict(masked)})")
try:
    device = "cuda"  # the evaluator's default
    device.type
except AttributeError as error:
    print(f"3. {type(error).__name__}: {error}")
seed_history = [{"method": "gradual", "steps": 10, "final_sparsity": 0.8}]
print(f"4. the seed's plot reads sparsity {seed_history[0].get('sparsity', 0)} for a run that reached "
      f"{seed_history[0]['final_sparsity']:.0%}; gradual_prune records every step:",
      [f"{a:.0%}" for a in gradual[0]["history"].achieved])

# %% [markdown]
# ## Observe and explain
#
# 1. In section 3, why does random pruning suffer so much more than magnitude pruning at the same
#    sparsity? Why does re-estimating BatchNorm statistics help both?
# 2. In section 4's table, which layers did global pruning spare? Relate it to their number of weights
#    and to the sensitivity scan of section 6.
# 3. The adaptive plan is built from single-layer experiments. Give an example of why the damage of
#    pruning two layers can be larger than the sum of pruning each alone.
# 4. Section 10: compare the speed-up of removing channels at batch 1 and at batch 64 with its FLOPs
#    ratio. What besides arithmetic does a forward pass spend time on?
# 5. A colleague reports "pruned 95% of the weights, the model is 20× smaller and faster". Which two
#    measurements would you ask for first?
#
# ## Summary
#
# - Magnitude pruning works because most trained weights are small; random pruning is the baseline
#   it must beat. In a BatchNorm network, re-estimate the statistics after pruning before judging it.
# - Global thresholds and sensitivity-based plans put the zeros where they hurt least; uniform
#   layer-wise pruning collapses first. Fine-tuning with the mask in place recovers the rest.
# - Gradual (cubic) pruning needs many small steps and training time between them to pay off; at a
#   short, equal budget on this task it does not beat one-shot + fine-tuning. Compare schedules at the
#   same budget, over several seeds.
# - Masks and zeros buy neither speed nor bytes by themselves: removing channels gives real speed
#   (measure it: it is not the FLOPs ratio); sparse or compressed formats give real bytes.
#
# **Checklist items served:** U2 (traits of pruning strategies and when each fits), U3 (compression vs
# retained accuracy), T2 (structured and unstructured pruning), T3 (gradual and adaptive pruning), T4
# (evaluating and comparing compression methods — correctly).
#
# **Next:** the exercise `exercises/en/02_pruning.py` (a magnitude mask and a global threshold from
# scratch, the cubic schedule, counting sparsity correctly, removing the channels of a
# conv → BatchNorm → conv block).
