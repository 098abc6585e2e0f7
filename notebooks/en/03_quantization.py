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
# # 03 · Quantization
#
# *Store and compute with small integers instead of 32-bit floats — and find out exactly what that
# costs and what it buys.*
#
# In this lesson you build quantization from its arithmetic up and measure every step on the course's
# trained **teacher** (and, for training, the **student**):
#
# - the affine map `x ≈ scale · (q − zero_point)` written by hand, symmetric and affine, per tensor
#   and per channel, and why zero must land exactly on the grid;
# - the two errors a quantizer trades (**rounding** and **clipping**) and how to choose a range for
#   activations (**calibration**: min–max or a percentile) on the teacher's real activations;
# - post-training quantization (PTQ) from 8 down to 2 bits, and quantization-aware training (QAT)
#   with a straight-through gradient where PTQ collapses;
# - BatchNorm folded into the convolution, a layer computed with **integers only**, and k-means
#   weight sharing against the linear grid;
# - a real int8 model (ONNX Runtime) that is smaller and faster on this CPU, measured with its noise,
#   and which toolchain to use on which hardware.
#
# Every number is measured when you run the notebook. Models are loaded from the cache and never
# modified: every experiment works on a copy.

# %%
import os

# Idle OpenMP threads busy-wait and make timings on a busy machine far slower; PASSIVE makes them sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# %matplotlib inline

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
from IPython.display import display
from torch import nn

from coursekit import plots
from coursekit.batchnorm import fold_model_batchnorm
from coursekit.data import load_dataset, make_loaders
from coursekit.export import OnnxModel, onnx_size_bytes, to_onnx
from coursekit.pretrained import pretrained
from coursekit.quantize import (
    IntegerConv2d,
    IntegerLinear,
    MinMaxObserver,
    PercentileObserver,
    dequantize,
    fake_quantize,
    fake_quantized_forward,
    kmeans_quantize,
    prepare_qat,
    qrange,
    quantize_model,
    quantize_onnx,
    quantize_tensor,
    quantize_weights,
    sqnr_db,
)
from coursekit.stats import claim
from coursekit.train import evaluate, fit
from coursekit.widgets import bits_explorer

torch.manual_seed(0)
torch.set_num_threads(1)  # one thread everywhere: fair timings, and the same numbers on any laptop
splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, batch_size=64, seed=0)
teacher = pretrained("teacher")
student = pretrained("student")
calibration = splits.train[:512][0]  # (512, 1, 8, 8): training images, never the test split
one_image = 1 / len(splits.test)  # the smallest change test accuracy can show


def accuracy(model):
    """Test accuracy of a torch model or of any callable batch -> logits (an ONNX model, section 12)."""
    return evaluate(model, loaders.test).accuracy


fp32_accuracy = accuracy(teacher)
print(f"teacher: test accuracy {fp32_accuracy:.2%} on {len(splits.test)} images "
      f"(one image = {100 * one_image:.2f} points); student {accuracy(student):.2%}")

# %% [markdown]
# ## 1. The affine map, by hand
#
# A quantizer picks a grid of `2**bits` evenly spaced values and replaces each number with the
# nearest one. The grid is described by two numbers: a **scale** `s` (the step between neighbours)
# and a **zero point** `z` (the integer that stands for 0.0):
#
# `q = clamp(round(x / s) + z, q_min, q_max)`  and back:  `x̂ = s · (q − z)`.
#
# - **Symmetric**: the grid is centred on 0, `z = 0`, integers in `[−(2^(b−1) − 1), 2^(b−1) − 1]`
#   (for 8 bits −127…127), `s = max|x| / 127`.
# - **Affine** (asymmetric): integers `0 … 2^b − 1` cover the range `[min(x, 0), max(x, 0)]`,
#   `s = (max − min) / (2^b − 1)`, `z = round(−min / s)`.
#
# **Predict** before you run the next cell: after 8-bit symmetric quantization of `[−1.0, 0.0, 0.3, 2.54]`,
# which value comes back exactly, and how far off can the others be at most?

# %%
def my_quantize(x, bits, symmetric):
    """Per-tensor quantization from scratch: returns (q, scale, zero_point)."""
    if symmetric:
        qmin, qmax = -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
        scale = x.abs().max() / qmax
        zero_point = 0
    else:
        qmin, qmax = 0, 2**bits - 1
        low, high = min(x.min(), 0), max(x.max(), 0)  # the range must contain 0
        scale = (high - low) / (qmax - qmin)
        zero_point = int(qmin - torch.round(low / scale))
    q = torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax)
    return q, scale, zero_point


x = torch.tensor([-1.0, 0.0, 0.3, 2.54])
for symmetric in (True, False):
    q, s, z = my_quantize(x, 8, symmetric)
    print(f"{'symmetric' if symmetric else 'affine   '}: q = {q.int().tolist()}, scale {s:.5f}, zero point {z:3d}, "
          f"back: {[round(v, 4) for v in (s * (q - z)).tolist()]}")

# the same on a real layer's weights, checked against coursekit and against PyTorch's own fake quantization
w = teacher.features[3].weight.detach()  # (64, 64, 3, 3)
for symmetric in (True, False):
    q, s, z = my_quantize(w, 4, symmetric)
    qt = quantize_tensor(w, 4, symmetric=symmetric)
    qmin, qmax = qrange(4, symmetric)
    reference = torch.fake_quantize_per_tensor_affine(w, qt.scale.item(), int(qt.zero_point), qmin, qmax)
    same = torch.equal(q.int(), qt.q.int()) and torch.allclose(s * (q - z), reference)
    claim(same, f"{'symmetric' if symmetric else 'affine'} 4-bit: my_quantize = coursekit.quantize_tensor = "
          f"torch.fake_quantize_per_tensor_affine on features.3",
          f"{'对称' if symmetric else '非对称（仿射）'} 4 位：my_quantize 与 coursekit.quantize_tensor、"
          f"torch.fake_quantize_per_tensor_affine 在 features.3 上结果相同")

# %% [markdown]
# 0.0 comes back exactly in both schemes, and every other value is off by at most half a step
# (`s / 2`) — the **rounding error**. `torch.round` rounds halves to the nearest even integer
# (`round(2.5) = 2`), as does every quantizer in this lesson, so our grid agrees with PyTorch's bit for
# bit. Affine used its 256 integers for `[−1, 2.54]` only; symmetric spent half of them on
# `[−2.54, −1)`, where there is nothing: its step is larger.

# %% [markdown]
# ## 2. Why zero must be exactly representable
#
# Half of every activation in the teacher is an exact 0 (the ReLUs), and every convolution pads its
# input with zeros. A zero point that is an integer makes 0.0 land exactly on the grid. Suppose instead
# that we kept the "exact" zero point `−low / s` as a float (no rounding) — then 0.0 comes back as
# `s · (round(z) − z)`, a small number with **the same sign everywhere**. We use the range of the first
# BatchNorm's output (before the ReLU) as the calibrated range, and measure what happens to the next
# convolution's output.

# %%
acts = {}
hooks = [teacher.features[i].register_forward_hook(lambda m, inp, out, i=i: acts.__setitem__(i, out.detach().clone()))
         for i in (1, 2, 5, 9, 19)]
with torch.no_grad():
    teacher(calibration)
for h in hooks:
    h.remove()
a = acts[2]  # (512, 64, 8, 8): the first ReLU's output, the input of features.3
low, high = acts[1].min().item(), acts[1].max().item()  # the BatchNorm output's range, before the ReLU
s = (high - low) / 255
z_float = -low / s
z_int = round(z_float)
conv = teacher.features[3]
with torch.no_grad():
    exact = conv(a)
    for name, z in (("integer zero point", z_int), ("float zero point", z_float)):
        a_hat = s * (torch.clamp(torch.round(a / s + z), 0, 255) - z)
        shift = conv(a_hat) - exact
        print(f"{name:19s} z = {z:8.3f}: 0.0 comes back as {a_hat[a == 0][0].item():+.5f}; next conv output "
              f"error: mean {shift.mean().item():+.5f}, mean |error| {shift.abs().mean().item():.5f}")
print(f"{(a == 0).float().mean():.0%} of this activation is exactly 0")

# %% [markdown]
# With the float zero point each of the zeros carries the same small error. Rounding errors of
# ordinary values are as often up as down and mostly cancel in the convolution's sum; errors with one
# sign do not cancel — they add up into a **bias** (compare the two "mean" numbers). That is why
# every quantization scheme rounds the zero point to an integer (and widens the range to contain 0).

# %% [markdown]
# ## 3. Symmetric or affine, per tensor or per channel
#
# One scale for a whole weight tensor must cover its widest output channel; channels with small
# weights then use only a few of the levels. **Per-channel** quantization gives every output channel
# its own scale (the scales are a vector along axis 0). Weights are roughly centred on zero, so
# symmetric grids suit them; activations after a ReLU are all ≥ 0, which affine grids suit.
#
# **Predict:** at 4 bits, which matters more for the teacher's weights — the scheme or the granularity?
# (Quality is measured as SQNR, the signal-to-quantization-noise ratio `10·log10(Σx² / Σ(x − x̂)²)` in dB:
# each extra bit adds about 6 dB.)

# %%
layers = {"features.0": teacher.features[0], "features.3": teacher.features[3],
          "features.17": teacher.features[17], "classifier.2": teacher.classifier[2]}
print(f"{'4-bit SQNR (dB)':16s} {'sym/tensor':>11s} {'sym/channel':>12s} {'aff/tensor':>11s} {'aff/channel':>12s}"
      f" {'widest/narrowest channel':>25s}")
sqnr4, spread = {}, {}
for name, layer in layers.items():
    w = layer.weight.detach()
    row = [sqnr_db(w, dequantize(quantize_tensor(w, 4, symmetric=sym, axis=axis)))
           for sym in (True, False) for axis in (None, 0)]
    sqnr4[name] = row
    ranges = w.flatten(1).abs().amax(dim=1)
    spread[name] = (ranges.max() / ranges.min()).item()
    print(f"{name:16s} {row[0]:11.1f} {row[1]:12.1f} {row[2]:11.1f} {row[3]:12.1f} {spread[name]:24.1f}×")
claim(all(r[1] > r[0] for r in sqnr4.values()),
      "per channel beats per tensor (symmetric, 4 bits) on every layer shown",
      "在所列每一层上，逐通道都优于逐张量（对称，4 位）")
gains = {name: row[1] - row[0] for name, row in sqnr4.items()}
claim(max(gains, key=gains.get) == max(spread, key=spread.get),
      f"the layer with the most unequal channels ({max(spread, key=spread.get)}) gains most from per-channel scales",
      f"通道间差异最大的层（{max(spread, key=spread.get)}）从逐通道缩放中获益最多")
w3 = teacher.features[3].weight.detach()
grids = {}
for label, axis in (("per tensor", None), ("per channel (channel 0)", 0)):
    qt = quantize_tensor(w3, 3, axis=axis)
    scale = qt.scale if axis is None else qt.scale[0]
    grids[label] = torch.arange(-3, 4) * scale
plots.levels_figure(w3[0], grids, title="features.3, output channel 0: its weights and the 3-bit symmetric grid")

# %% [markdown]
# The last column of the table explains the gain: it is the ratio between the largest weight of the
# widest output channel and that of the narrowest. One shared scale must cover the widest channel, so
# the narrow channels use fewer of the levels (the figure: the per-tensor grid is coarser than
# channel 0's own). The more unequal the channels, the more per-channel scales gain. Affine gains less
# on weights (they are nearly symmetric around 0): the granularity matters more than the scheme.

# %% [markdown]
# ## 4. Rounding vs clipping
#
# A grid with a fixed number of levels can cover a wide range coarsely or a narrow range finely.
# Values inside the range suffer **rounding** error (at most half a step); values outside are
# **clipped** to the end of the range. Shrinking the range trades one error for the other.
#
# **Predict:** for 4-bit activations of the teacher's second ReLU (its real outputs on 512 images), does the
# smallest total error come with the full range `[0, max]`, or with a narrower one?

# %%
a = acts[5]  # (512, 64, 8, 8): the second ReLU's output, all >= 0
a_max = a.max().item()
fractions = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]
rows = []
for f in fractions:
    clip = f * a_max
    a_hat = fake_quantize(a, 4, symmetric=False, scale=torch.tensor(clip / 15), zero_point=torch.tensor(0))
    err = (a - a_hat) ** 2
    clipped = a > clip
    rows.append((f, err[~clipped].sum().item() / a.numel(), err[clipped].sum().item() / a.numel()))
print(f"4-bit affine, range [0, f·max], max = {a_max:.2f}; mean squared error per value:")
for f, rounding, clipping in rows:
    print(f"  f = {f:.1f}: rounding {rounding:.5f} + clipping {clipping:.5f} = {rounding + clipping:.5f}")
best = min(rows, key=lambda r: r[1] + r[2])
_ = claim(best[0] < 1.0, f"the smallest total error is at a range narrower than min–max (f = {best[0]:.1f})",
      f"总误差最小处的范围比最小–最大值范围更窄（f = {best[0]:.1f}）")

# %% [markdown]
# Rounding error grows with the range (the step grows), clipping error shrinks with it; the total is
# smallest in between. The few largest activations are rare: clipping them costs little, and every
# other value gets a finer grid.

# %% [markdown]
# ## 5. Calibration: min–max or a percentile?
#
# Weights are known in advance; activations depend on the input. **Calibration** runs a few hundred
# training images through the model and records each layer's input range with an **observer**:
# *min–max* keeps the extreme values, a *percentile* observer keeps the range between the 0.1-th and
# 99.9-th percentiles (clipping the rarest values). Here both observe the teacher's real activations.
#
# **Observe and explain (answered below):** which observer gives the higher SQNR at 8 bits, and which at
# 4 bits? Why would the answer change with the number of bits?

# %%
print(f"{'activation SQNR (dB)':22s} {'8-bit min-max':>14s} {'8-bit p99.9':>12s} {'4-bit min-max':>14s} {'4-bit p99.9':>12s}")
observed = {}
for i in (2, 9, 19):
    a = acts[i]
    observers = {"min-max": MinMaxObserver(), "p99.9": PercentileObserver(99.9)}
    row = []
    for bits in (8, 4):
        for obs in observers.values():
            obs.update(a)
            scale, zp = obs.qparams(bits)
            row.append(sqnr_db(a, fake_quantize(a, bits, symmetric=False, scale=scale, zero_point=zp)))
    observed[i] = row
    print(f"after features.{i:<10d} {row[0]:14.1f} {row[1]:12.1f} {row[2]:14.1f} {row[3]:12.1f}")
claim(all(r[0] > r[1] for r in observed.values()) and all(r[3] > r[2] for r in observed.values()),
      "min-max wins at 8 bits, the percentile wins at 4 bits, on all three layers",
      "8 位时最小–最大值更好，4 位时百分位更好，三层皆如此")
obs = {"min-max": MinMaxObserver(), "percentile 99.9": PercentileObserver(99.9)}
for o in obs.values():
    o.update(acts[19])
plots.calibration_figure(acts[19], {k: o.range() for k, o in obs.items()},
                               title="activations after features.19 (log scale) and two calibration ranges")

# %% [markdown]
# At 8 bits the step is tiny even over the full range: rounding error is already small, so clipping
# the outliers costs more than it saves — min–max wins. At 4 bits the step is 16× larger, rounding
# dominates, and trading a little clipping for a finer grid pays — the percentile wins.
#
# Now the whole model: every Conv2d/Linear with 8-bit weights (per channel) and its input activation
# quantized, calibrated on the same 512 training images.

# %%
ptq_full = {}
for act_bits, observer in ((8, "minmax"), (4, "minmax"), (4, "percentile")):
    model = quantize_model(teacher, weight_bits=8, act_bits=act_bits, calibration=calibration,
                           observer=observer, percentile=99.9)
    ptq_full[(act_bits, observer)] = accuracy(model)
    print(f"weights 8 bits, activations {act_bits} bits ({observer:10s}): test accuracy "
          f"{ptq_full[(act_bits, observer)]:.2%} (float {fp32_accuracy:.2%})")
claim(abs(ptq_full[(8, "minmax")] - fp32_accuracy) <= 0.01,
      "8-bit weights and activations lose at most 1 point", "8 位权重加 8 位激活最多损失 1 个百分点")
gap = ptq_full[(4, "percentile")] - ptq_full[(4, "minmax")]
print(f"4-bit activations, percentile − min-max: {100 * gap:+.2f} points; one test image is {100 * one_image:.2f} points")

# %% [markdown]
# On this easy task the whole teacher survives even 4-bit activations, and the difference between the
# two observers is a handful of test images at most — compare it with one image above before calling
# either better. The SQNR table is the more sensitive measurement; accuracy on 359 images cannot
# separate them here. On harder tasks and larger models, the calibration choice shows up in accuracy
# too.

# %% [markdown]
# ## 6. Post-training quantization: 8 → 4 → 3 → 2 bits
#
# Weight-only PTQ: round every Conv2d/Linear weight of a copy of the teacher to `b` bits (symmetric),
# per tensor or per channel; activations stay float. No training, no data except the test set.
#
# **Predict** before running: at which bit width does each variant collapse (fall below 50%)?

# %%
sweep = {"per tensor": {}, "per channel": {}}
for bits in (8, 4, 3, 2):
    for label, per_channel in (("per tensor", False), ("per channel", True)):
        sweep[label][bits] = accuracy(quantize_weights(teacher, bits, per_channel=per_channel))
    print(f"{bits} bits: per tensor {sweep['per tensor'][bits]:.2%}, per channel {sweep['per channel'][bits]:.2%}")
claim(all(abs(sweep["per channel"][b] - fp32_accuracy) <= 0.01 for b in (8, 4, 3)),
      "per channel, 8, 4 and 3 bits all stay within 1 point of float",
      "逐通道时，8、4、3 位都与浮点相差不超过 1 个百分点")
claim(sweep["per tensor"][2] < 0.5 and sweep["per channel"][2] > sweep["per tensor"][2] + 0.2,
      "at 2 bits per tensor collapses, per channel keeps far more",
      "2 位时逐张量崩溃，逐通道保留得多得多")
plots.accuracy_vs_bits(sweep, reference=fp32_accuracy, title="teacher, weight-only PTQ (symmetric)")

# %% [markdown]
# Symmetric 2-bit weights have only three levels: −s, 0 and +s. Per tensor, `s` is set by the single
# largest weight of each layer, so most weights round to 0 and whole layers vanish. Per channel keeps
# every channel alive, but three levels are still too few for the teacher to keep its accuracy
# without help — section 8 provides the help.

# %% [markdown]
# ## 7. Explore it yourself
#
# The slider sets the bit width (2–8), the toggles the scheme and the granularity. The left panel shows
# the weights of one real teacher layer (`features.3`) with the quantization levels drawn on them
# (per channel: the grid of its widest channel), the title their SQNR; the right panel the whole
# model's test accuracy at that setting (weight-only PTQ, measured once per setting and cached).
# Below it, the static figure is the sweep of section 6 for readers without a kernel.

# %%
display(bits_explorer(teacher, loaders.test, bits=3))
plots.accuracy_vs_bits(sweep, reference=fp32_accuracy, title="weight-only PTQ of the teacher (static)")

# %% [markdown]
# ## 8. Quantization-aware training
#
# Rounding has zero gradient almost everywhere, so we cannot train through it directly. The
# **straight-through estimator** (STE) pretends, in the backward pass, that fake quantization is the
# identity — gradient 1 — inside the representable range, and 0 where the value was clipped. The
# forward pass sees quantized weights; the optimizer updates the float weights underneath, which can
# drift until they round well. First, the gradient itself, against PyTorch's:

# %%
v = (torch.randn(12) * 2).requires_grad_()
scale, zp = torch.tensor(0.02), torch.tensor(128)  # 8-bit affine grid covering [-2.56, 2.54]
fake_quantize(v, 8, symmetric=False, scale=scale, zero_point=zp).sum().backward()
ours = v.grad.clone()
v.grad = None
torch.fake_quantize_per_tensor_affine(v, 0.02, 128, 0, 255).sum().backward()
print("values:  ", [round(x, 2) for x in v.tolist()])
print("gradient:", ours.int().tolist(), "(0 where the value lies outside [-2.56, 2.54])")
_ = claim(torch.equal(ours, v.grad), "our straight-through gradient equals PyTorch's", "我们的直通梯度与 PyTorch 的相同")

# %% [markdown]
# Now QAT on the student at 2-bit weights (symmetric, per channel): `prepare_qat` wraps every layer
# with fake quantization, and the course's ordinary `fit` trains it for 3 epochs. Training depends on
# the seed, so three seeds. *Recovery* is the share of the accuracy that PTQ lost which QAT wins back.
#
# **Predict:** how much of the loss do three short epochs recover?

# %%
student_fp32 = accuracy(student)
student_ptq = accuracy(quantize_weights(student, 2))
print(f"student: float {student_fp32:.2%}, 2-bit PTQ {student_ptq:.2%}")
recovery = {}
for seed in (0, 1, 2):
    qat = prepare_qat(student, weight_bits=2)
    start = time.perf_counter()
    fit(qat, loaders.train, epochs=3, lr=1e-3, seed=seed, progress=False)
    qat_accuracy = accuracy(qat)
    recovery[seed] = (qat_accuracy - student_ptq) / (student_fp32 - student_ptq)
    print(f"  seed {seed}: QAT {qat_accuracy:.2%} after {time.perf_counter() - start:.1f} s, "
          f"recovers {recovery[seed]:.0%} of the loss")
values = list(recovery.values())
print(f"recovery over 3 seeds: mean {statistics.mean(values):.1%}, min {min(values):.1%}, max {max(values):.1%}")
_ = claim(min(values) >= 0.9, "QAT recovers at least 90% of what 2-bit PTQ lost, on every seed",
      "QAT 在每个种子上都挽回了 2 位 PTQ 损失的至少 90%")

# %% [markdown]
# The weights moved, during training, to places where three levels per channel suffice. The student
# was trained without quantization; three epochs *with* it in the forward pass were enough. (QAT can
# also be distilled — train with lesson 01's loss and the teacher as a guide — which helps most when
# plain QAT falls short; here it does not.)

# %% [markdown]
# ## 9. Fold BatchNorm first
#
# An int8 kernel computes conv → BatchNorm as **one** convolution. In eval mode BatchNorm is an affine
# map per channel, `y = γ·(x − μ)/√(σ² + ε) + β`, so it can be absorbed into the convolution's weights
# and bias: `W' = W · γ/√(σ²+ε)` per output channel, `b' = (b − μ)·γ/√(σ²+ε) + β`. We quantize `W'`,
# not `W` — so the fold must be exact, and per-channel scales become even more important (each
# channel's weights are multiplied by its own factor).

# %%
folded = fold_model_batchnorm(teacher)
x64 = splits.test[:64][0]
with torch.no_grad():
    diff = (folded(x64) - teacher(x64)).abs().max().item()
n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in teacher.modules())
print(f"{n_bn} BatchNorm layers folded; largest logit difference {diff:.2e}; accuracy {accuracy(folded):.2%} "
      f"(teacher {fp32_accuracy:.2%})")
claim(diff < 1e-4 and accuracy(folded) == fp32_accuracy, "the fold is exact up to float rounding",
      "折叠在浮点舍入误差内是精确的")
for name, w in (("before folding", teacher.features[3].weight), ("after folding", folded.features[3].weight)):
    ranges = w.detach().flatten(1).abs().amax(dim=1)
    print(f"features.3 {name}: widest / narrowest channel {ranges.max() / ranges.min():.1f}×")
folded_sweep = {b: (accuracy(quantize_weights(folded, b, per_channel=False)),
                    accuracy(quantize_weights(folded, b))) for b in (4, 3)}
for b, (tensor_acc, channel_acc) in folded_sweep.items():
    print(f"folded teacher, {b}-bit weights: per tensor {tensor_acc:.2%}, per channel {channel_acc:.2%}")

# %% [markdown]
# ## 10. An int8 layer with integers only
#
# What does an "int8 kernel" compute? Take the folded teacher's first hidden linear layer
# (`classifier.2`, 256 → 512). Its input is an activation quantized to uint8 with scale `S_in` and
# zero point `Z_in` (calibrated on real data); its weights are int8, symmetric, per output channel
# (`S_w`); then
#
# - `acc = Σ (x_q − Z_in) · w_q + b_q` — products of 8-bit integers, summed in an **int32**
#   accumulator, with the bias stored as int32 at scale `S_in · S_w`;
# - `y_q = clamp(round(acc · S_in·S_w / S_out) + Z_out, 0, 255)` — **requantization** to the output's
#   grid (real kernels do this multiplication in fixed point, too).
#
# The float reference is the same layer with fake quantization at the same places. They must agree.

# %%
captured = {}
hook = folded.classifier[2].register_forward_hook(lambda m, inp, out: captured.update(x=inp[0], y=out))
with torch.no_grad():
    folded(calibration)
hook.remove()
linear = folded.classifier[2]
in_obs, out_obs = MinMaxObserver(), MinMaxObserver()
in_obs.update(captured["x"])
out_obs.update(captured["y"])
in_q = tuple(t.item() for t in in_obs.qparams(8))  # (scale, zero point) of the input
out_q = tuple(t.item() for t in out_obs.qparams(8))

# the integer arithmetic, written out (coursekit.quantize.IntegerLinear does the same)
x_test = folded.classifier[:2](folded.features(x64)).detach()  # (64, 256): real inputs of this layer
x_q = torch.clamp(torch.round(x_test / in_q[0]) + in_q[1], 0, 255).to(torch.uint8)
w_qt = quantize_tensor(linear.weight.detach(), 8, axis=0)  # int8, one scale per output channel
b_q = torch.round(linear.bias.detach() / (in_q[0] * w_qt.scale)).to(torch.int32)
acc = (x_q.to(torch.int32) - in_q[1]) @ w_qt.q.to(torch.int32).T + b_q  # (64, 512) int32
y_q = torch.clamp(torch.round(acc * (in_q[0] * w_qt.scale / out_q[0])) + out_q[1], 0, 255).to(torch.uint8)

reference = fake_quantized_forward(linear, x_test, in_q, out_q).detach()
ours = (y_q.to(torch.int32) - out_q[1]).float() * out_q[0]
library = IntegerLinear.from_float(linear, in_q, out_q)
print(f"dtypes: x_q {x_q.dtype}, w_q {w_qt.q.dtype}, acc {acc.dtype} (largest |acc| {acc.abs().max().item():,} "
      f"of {torch.iinfo(torch.int32).max:,}), y_q {y_q.dtype}")
steps_off = ((ours - reference).abs() / out_q[0]).round()
print(f"integer vs fake-quantized float: {(steps_off == 0).float().mean():.2%} of {steps_off.numel():,} outputs "
      f"identical; largest difference {int(steps_off.max())} output step(s)")
claim(torch.equal(library(x_q), y_q) and steps_off.max() <= 1 and (steps_off == 0).float().mean() > 0.99,
      "the integer-only layer matches the fake-quantized float layer (at most one step where float rounding ties)",
      "纯整数层与伪量化的浮点层一致（仅在浮点舍入平局处最多差一个量化步长）")
conv_layer = folded.features[3]
a_in = torch.relu(folded.features[0](x64)).detach()  # features.1 is an Identity after folding
mm_in, mm_out = MinMaxObserver(), MinMaxObserver()
mm_in.update(a_in)
mm_out.update(conv_layer(a_in))
cin, cout = tuple(t.item() for t in mm_in.qparams(8)), tuple(t.item() for t in mm_out.qparams(8))
int_conv = IntegerConv2d.from_float(conv_layer, cin, cout)
conv_out = int_conv.dequantize_output(int_conv(int_conv.quantize_input(a_in)))
conv_ref = fake_quantized_forward(conv_layer, a_in, cin, cout).detach()
print(f"features.3 as an integer convolution: {(conv_out == conv_ref).float().mean():.2%} of outputs identical to "
      f"the fake-quantized float convolution")

# %% [markdown]
# The accumulator needs 32 bits: each output sums 256 products of two 8-bit numbers (up to 2^15
# each), far beyond 8 or 16 bits. The only float left is the requantization multiplier, one number per
# output channel. If the two ever disagree, it is where float arithmetic put a value exactly on a
# rounding tie on one side and not on the other: one step, in a handful of outputs.

# %% [markdown]
# ## 11. k-means instead of a linear grid
#
# Deep Compression (Han et al., 2016) *clusters* the weights: `2^b` shared values placed by k-means
# where the weights are dense, each weight stored as a `b`-bit index into that codebook.
#
# **Predict:** at the same number of bits, which has the smaller error — and which would you rather
# run on hardware?

# %%
w3 = teacher.features[3].weight.detach()
print(f"{'bits':>4s} {'linear per tensor (dB)':>23s} {'k-means (dB)':>13s}")
kmeans_sqnr = {}
for bits in (2, 3, 4):
    centroids, labels = kmeans_quantize(w3, bits)
    kmeans_sqnr[bits] = (sqnr_db(w3, fake_quantize(w3, bits, symmetric=False)), sqnr_db(w3, centroids[labels]))
    print(f"{bits:4d} {kmeans_sqnr[bits][0]:23.1f} {kmeans_sqnr[bits][1]:13.1f}")
claim(all(k > lin for lin, k in kmeans_sqnr.values()), "k-means has the higher SQNR at every bit width",
      "在每种位宽下 k-means 的 SQNR 都更高")
centroids, _ = kmeans_quantize(w3, 3)
qt = quantize_tensor(w3, 3, symmetric=False)
plots.levels_figure(w3, {"linear (affine)": (torch.arange(8) - qt.zero_point) * qt.scale,
                               "k-means": centroids}, title="features.3: 8 levels each")

# %% [markdown]
# k-means puts its levels where the weights are (near zero), the linear grid spaces them evenly out to
# the extremes, so k-means wins on error. But its indices are not numbers you can multiply: an int8
# kernel multiplies `q` directly and applies one scale afterwards, while a k-means layer must look up
# each weight's value (a float) before multiplying. k-means shrinks the *file*; linear quantization
# shrinks the file **and** the arithmetic, which is why hardware (VNNI, ARM dot-product, tensor cores)
# supports linear int8.

# %% [markdown]
# ## 12. A real int8 model: smaller and faster?
#
# Everything so far was *simulated* in float. Now a real one: export the teacher to ONNX, quantize it
# statically with ONNX Runtime (`quantize_onnx`: QDQ format, int8 weights per channel, uint8
# activations calibrated on the 512 training images), and compare with the float model on size (from
# the files), accuracy and latency at batch 64 on 1 thread. The models are timed in turns, over
# several rounds; "torch fp32 (again)" is the same float model timed a second time, so its spread is
# the noise.
#
# **Predict:** int8 weights take a quarter of float32's bytes. Will the file be exactly 4× smaller? Will
# the model be 4× faster?

# %%
workdir = Path(tempfile.mkdtemp(prefix="lesson03-"))
start = time.perf_counter()
fp32_path = to_onnx(teacher, workdir / "teacher_fp32.onnx", x64)
int8_path = quantize_onnx(fp32_path, workdir / "teacher_int8.onnx", calibration)
print(f"export + quantization: {time.perf_counter() - start:.1f} s; files in {workdir}")

# %% [markdown]
# Now the measurement: four models in turns, 5 rounds of 10 calls each.

# %%
candidates = {"torch fp32": teacher, "torch fp32 (again)": teacher,
              "ONNX fp32": OnnxModel(fp32_path, threads=1), "ONNX int8": OnnxModel(int8_path, threads=1)}
rounds = {name: [] for name in candidates}
with torch.inference_mode():
    for fn in candidates.values():
        for _ in range(3):
            fn(x64)  # warm-up
    for _ in range(5):
        for name, fn in candidates.items():
            times = []
            for _ in range(10):
                t0 = time.perf_counter()
                fn(x64)
                times.append((time.perf_counter() - t0) * 1000)
            rounds[name].append(statistics.median(times))


def speedup(name):
    """Median and range over rounds of torch fp32's time / this model's time."""
    r = [b / m for b, m in zip(rounds["torch fp32"], rounds[name])]
    return statistics.median(r), min(r), max(r)


sizes = {"fp32": onnx_size_bytes(fp32_path), "int8": onnx_size_bytes(int8_path)}
onnx_accuracy = {name: accuracy(candidates[name]) for name in ("ONNX fp32", "ONNX int8")}
for name in candidates:
    mid, lo, hi = speedup(name)
    print(f"{name:19s} {statistics.median(rounds[name]):6.2f} ms   speed-up over torch fp32 {mid:4.2f}× ({lo:.2f}–{hi:.2f}×)")
print(f"files: fp32 {sizes['fp32'] / 1024:.0f} KiB, int8 {sizes['int8'] / 1024:.0f} KiB → "
      f"{sizes['fp32'] / sizes['int8']:.2f}× smaller")
print("test accuracy: " + ", ".join(f"{k} {v:.2%}" for k, v in onnx_accuracy.items()) + f", torch fp32 {fp32_accuracy:.2%}")
control_high = speedup("torch fp32 (again)")[2]
int8_low = speedup("ONNX int8")[1]
vs_onnx = [f / i for f, i in zip(rounds["ONNX fp32"], rounds["ONNX int8"])]
claim(int8_low > control_high, f"int8 is faster than torch fp32 beyond the noise (slowest round {int8_low:.2f}× vs "
      f"the control's fastest {control_high:.2f}×)",
      f"int8 比 torch fp32 更快，且超出噪声范围（最慢一轮 {int8_low:.2f}×，对照组最快 {control_high:.2f}×）")
claim(min(vs_onnx) > 1, f"int8 is faster than the fp32 ONNX model in every round ({min(vs_onnx):.2f}–{max(vs_onnx):.2f}×)",
      f"每一轮 int8 都比 fp32 ONNX 模型快（{min(vs_onnx):.2f}–{max(vs_onnx):.2f}×）")
claim(abs(onnx_accuracy["ONNX int8"] - fp32_accuracy) <= 0.01, "int8 accuracy within 1 point of float",
      "int8 准确率与浮点相差不超过 1 个百分点")
claim(3 < sizes["fp32"] / sizes["int8"] < 4, "the int8 files are between 3× and 4× smaller, not exactly 4×",
      "int8 文件小 3 到 4 倍，而不是正好 4 倍")
shutil.rmtree(workdir)

# %% [markdown]
# Not exactly 4× smaller: the biases stay in 32 bits, every weight tensor gains its scales, and the
# graph itself (now with QuantizeLinear/DequantizeLinear nodes) is stored too. The speed-up comes from
# kernels that multiply 8-bit integers (four times as many per vector instruction as float32), read a
# quarter of the weight bytes, and fuse the quantize/dequantize steps into the convolutions. How much
# it is depends on the CPU: read your printed range, and the benchmark (`benchmarks/quantize_speed.py`,
# `docs/benchmarks/quantization.md`) for a longer measurement.

# %% [markdown]
# ## 13. Which toolchain, on which hardware?
#
# | hardware | route | needs |
# |---|---|---|
# | any laptop CPU (Windows, macOS Intel/Apple silicon, Linux) | ONNX Runtime static int8 (this lesson) | `onnxruntime` only |
# | x86 server CPU with a C++ compiler | PyTorch 2 export (PT2E) + `X86InductorQuantizer` + `torch.compile` (in `torchao`) | a C++ compiler, `torchao` |
# | NVIDIA GPU | TensorRT (int8/fp8), or `torchao` weight-only int8/int4 for large models | CUDA |
# | phones, microcontrollers | ExecuTorch / LiteRT (TFLite) int8 | their converters |
#
# `torch.ao.quantization` (eager and FX mode) is deprecated: don't start new work on it. PT2E compiles
# the quantized graph into fused int8 kernels, so it needs a C++ compiler at run time. This cell checks
# what this machine has, and says plainly what it would take.

# %%
compiler = next((c for c in ("c++", "g++", "gcc", "clang", "cl") if shutil.which(c)), None)
try:
    import torchao  # noqa: F401

    has_torchao = True
except ImportError:
    has_torchao = False
print(f"C++ compiler: {shutil.which(compiler) if compiler else 'none found'}; torchao installed: {has_torchao}")
if compiler and has_torchao:
    print("→ the PT2E route (torchao's X86InductorQuantizer + torch.compile) could run here; this lesson does "
          "not run it (compiling takes longer than its time budget).")
else:
    missing = " and ".join(m for m, ok in (("a C++ compiler", compiler), ("torchao", has_torchao)) if not ok)
    print(f"→ skipped: the PT2E route needs {missing}, which this machine lacks. "
          "ONNX Runtime (section 12) needs neither.")

# %% [markdown]
# ## Observe and explain
#
# 1. Section 1: why does affine quantization of `[−1, 2.54]` have a smaller step than symmetric? When
#    would symmetric be the better choice anyway? *(Hint: section 10 — what does a zero point of 0 save
#    in the integer sum?)*
# 2. Section 3: which layer gains most from per-channel scales, and what in the last column predicts it?
# 3. Section 5: at 4 bits the percentile observer wins on SQNR, yet accuracy cannot tell the observers
#    apart. What would you measure to decide on a model where it matters?
# 4. Section 8: QAT recovered most of the 2-bit loss in seconds. Why is the *student* (no BatchNorm) a
#    convenient model for this, and what would you have to do for the teacher (section 9)?
# 5. Section 12: the int8 model's speed-up differs from 4×. List the costs in a forward pass that do
#    not shrink with the number of bits.
#
# ## Summary
#
# - Quantization maps floats to integers with a scale and a zero point; the zero point is an integer so
#   that 0.0 is exact. Symmetric suits weights, affine suits ReLU activations; per-channel scales
#   matter more than the scheme.
# - Every quantizer trades rounding error against clipping error; calibration picks the activation
#   range (min–max at 8 bits, a percentile at low bit widths).
# - PTQ is free down to 4–3 bits per channel here and collapses at 2; QAT with the straight-through
#   estimator recovers most of it in a few epochs.
# - Fold BatchNorm before quantizing (exactly); an int8 layer is int8 × int8 products in an int32
#   accumulator plus one requantization; k-means has lower error but no integer arithmetic.
# - A real int8 ONNX model was smaller (not 4×) and faster (by the range printed in section 12), at the
#   same accuracy. Report both with their noise.
#
# **Checklist items served:** T4 (evaluating and comparing compression methods), U3 (compression vs
# retained accuracy, 8 → 2 bits), E1 (compression applied to a real model), E2 (a real int8
# deployment artefact, measured).
#
# **Next:** the exercise `exercises/en/03_quantization.py` (quantize/dequantize, the STE gradient, a
# percentile observer, BatchNorm folding, an integer-only linear layer, and int8 vs fp32 on the teacher).
