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
# # 04 · Memory, precision and hardware
#
# *Where does training memory go, how do you get it back, and why does the same trick make one machine
# faster and another slower?*
#
# Lessons 01–03 made the model smaller. This one looks at what *training* and *running* it costs the
# machine, and measures every step on yours:
#
# - the training-memory budget — parameters, gradients, optimizer state, activations — estimated with
#   arithmetic, then measured;
# - **gradient accumulation**: a big batch in small memory, exact without BatchNorm, and the two ways it
#   stops being exact;
# - **fp32, fp16, bf16**: range against precision, what `autocast` runs in low precision and what it
#   keeps in fp32, why fp16 needs **loss scaling**, and what bf16 does on *this* CPU;
# - **activation checkpointing**: memory back for compute, both sides measured;
# - a **roofline** of your machine: which of the teacher's layers are limited by arithmetic and which by
#   memory traffic, predicted and then timed;
# - why the same trick pays on one machine and not another (a GPU live if you have one, else a
#   recorded table).
#
# Every number is measured when you run the notebook; timings are noisy, so comparisons are made in
# turns and shown with their range.

# %%
import os

# Idle OpenMP threads busy-wait and make 2-thread timings on a busy machine far slower; PASSIVE makes
# them sleep. It only works if set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# %matplotlib inline

import copy
import statistics

import torch
from IPython.display import display
from torch import nn
from torch.utils.data import DataLoader

from coursekit.data import load_dataset
from coursekit.gpu import cuda_tricks, gpu_reference
from coursekit.hardware import (
    layer_costs,
    measure_peaks,
    predict_seconds,
    roofline,
    time_interleaved,
    time_layers,
)
from coursekit.memory import (
    FLOAT_FORMATS,
    activation_bytes,
    checkpointed,
    estimate_training_memory,
    fp16_underflow,
    measure_training_memory,
)
from coursekit.models import StudentNet, count_parameters
from coursekit.plots import float_formats_figure, roofline_figure
from coursekit.pretrained import pretrained
from coursekit.stats import claim
from coursekit.train import fit
from coursekit.widgets import roofline_explorer

torch.manual_seed(0)
splits = load_dataset("digits", seed=0)
x64, y64 = next(iter(DataLoader(splits.train, batch_size=64)))[:2]  # one fixed batch of real digits
teacher = pretrained("teacher")
MB = 1e6
CUDA = torch.cuda.is_available()


def fresh_teacher():
    """A copy of the trained teacher: experiments below run training steps and must not change it."""
    return copy.deepcopy(teacher)


def ratio_range(base_ms, other_ms):
    """other / base in each round of an interleaved timing: (median, lowest, highest)."""
    ratios = [o / b for b, o in zip(base_ms, other_ms)]
    return statistics.median(ratios), min(ratios), max(ratios)


def speed_verdict(lo, hi, what):
    if lo > 1:
        return f"{what} is slower here in every round"
    if hi < 1:
        return f"{what} is faster here in every round"
    return f"{what}: the difference is within this machine's noise (the rounds disagree)"


print(f"teacher: {count_parameters(teacher):,} parameters; batch {tuple(x64.shape)}; "
      f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CUDA: {CUDA}")

# %% [markdown]
# ## 1. Where training memory goes
#
# One training step holds four kinds of tensors:
#
# | part | size | why |
# |---|---|---|
# | parameters | one number per weight | the model |
# | gradients | one per *trainable* weight | `backward` writes `.grad` |
# | optimizer state | Adam: two per trainable weight (`exp_avg`, `exp_avg_sq`); SGD with momentum: one; plain SGD: none | the optimizer's memory of past steps |
# | activations | depends on the batch | what the forward pass keeps so that `backward` can compute gradients |
#
# **Predict before you run:** the teacher has about 1.3 million parameters and is trained with Adam at
# batch 64 on 8×8 digits. Which of the four parts is largest? Write down your guess in MB.
#
# First the estimate: parameters × 4 bytes (fp32) for the first three. For the activations, list every
# intermediate tensor one forward pass produces (each layer's output, plus the input) and add up their
# sizes.

# %%
estimate = estimate_training_memory(teacher, "adam")
outputs = []  # (layer, kind, shape, bytes) of each layer's output in a training-mode forward pass
hooks = [m.register_forward_hook(lambda m, a, out, name=name: outputs.append(
             (name, type(m).__name__, tuple(out.shape), out.numel() * out.element_size())))
         for name, m in teacher.named_modules() if not list(m.children())]
model = fresh_teacher().train()
with torch.no_grad():
    model(x64)
for h in hooks:
    h.remove()
listed = x64.numel() * x64.element_size() + sum(b for *_, b in outputs)
print(f"{'layer':14s} {'kind':18s} {'output shape':>18s} {'MB':>7s}")
for name, kind, shape, b in outputs:
    print(f"{name:14s} {kind:18s} {str(shape):>18s} {b / MB:7.3f}")
print(f"input + every layer's output: {listed / MB:.2f} MB")
print(f"\nestimate: parameters {estimate.parameters / MB:.2f} MB, gradients {estimate.gradients / MB:.2f} MB, "
      f"Adam state {estimate.optimizer_state / MB:.2f} MB, activations ≈ {listed / MB:.2f} MB")

# %% [markdown]
# Now measure. `activation_bytes` runs one training-mode forward pass with
# `torch.autograd.graph.saved_tensors_hooks`, which sees every tensor autograd keeps for the backward
# pass; a storage saved twice (or viewed) counts once. Parameters that autograd keeps (a convolution
# needs its weight to send the gradient further back) are reported apart: they exist anyway.
# `measure_training_memory` then runs a real Adam step on a copy and counts the `.grad` tensors and the
# optimizer's state.

# %%
saved = activation_bytes(fresh_teacher(), x64)
measured = measure_training_memory(teacher, x64, y64, "adam")
print(saved)
print(f"{'part':16s} {'estimated MB':>13s} {'measured MB':>12s}")
rows = {"parameters": (estimate.parameters, measured.parameters),
        "gradients": (estimate.gradients, measured.gradients),
        "optimizer_state": (estimate.optimizer_state, measured.optimizer_state),
        "activations": (listed, measured.activations)}
for part, (est, got) in rows.items():
    print(f"{part:16s} {est / MB:13.2f} {got / MB:12.2f}")
print(f"{'total':16s} {sum(e for e, _ in rows.values()) / MB:13.2f} {measured.total / MB:12.2f}")
ratio = measured.activations / listed
claim(estimate.gradients == measured.gradients and abs(measured.optimizer_state - estimate.optimizer_state) < 1000,
      "gradients and Adam's state are exactly what the arithmetic says (Adam adds a few bytes of step counters)",
      "梯度和 Adam 状态与算术估计完全一致（Adam 另有几个字节的步数计数器）")
claim(0.5 <= ratio <= 2, f"saved activations are {ratio:.2f}× the listed tensors: within a factor of 2",
      f"实际保存的激活是所列张量之和的 {ratio:.2f} 倍：在 2 倍以内")
largest = max(rows, key=lambda k: rows[k][1])
print(f"largest part at batch 64: {largest}")

# %% [markdown]
# **Observe and explain.** (1) Why is the measured activation total not exactly the sum of the layer
# outputs? Think of what each layer needs for its gradient: a convolution needs its *input*, BatchNorm
# its input and batch statistics, an in-place ReLU its output (which *is* BatchNorm's output, in the same
# storage), max-pooling its input and the *indices* of the maxima (int64), dropout a mask. (2) Adam's
# state is twice the parameters: what does that mean for fine-tuning a model that barely fits in memory?
# The answers come after section 2.

# %% [markdown]
# ## 2. Activations grow with the batch; the rest does not
#
# **Predict:** at which batch size do the activations outgrow parameters + gradients + Adam state
# together?

# %%
fixed = estimate.parameters + estimate.gradients + estimate.optimizer_state
per_batch = {}
for batch in (1, 16, 64, 256):
    xb = torch.randn(batch, 1, 8, 8)
    per_batch[batch] = activation_bytes(fresh_teacher(), xb).activations
    print(f"batch {batch:4d}: activations {per_batch[batch] / MB:7.2f} MB "
          f"({per_batch[batch] / batch / 1e3:6.1f} kB per image); parameters + gradients + Adam: {fixed / MB:.2f} MB")
per_image = (per_batch[256] - per_batch[64]) / (256 - 64)
crossover = fixed / per_image
print(f"activations pass the fixed part at about batch {crossover:.0f}")
claim(per_batch[256] > 3 * per_batch[64], "activations grow (almost) linearly with the batch",
      "激活内存随批大小（几乎）线性增长")

# %% [markdown]
# **Answers to section 1.** (1) Autograd keeps *inputs* of some layers and *outputs* of others, plus
# small extras (max-pool indices in int64, dropout masks, BatchNorm's per-channel statistics), and an
# in-place ReLU shares its storage with the BatchNorm output before it — so the saved bytes and the list
# of outputs differ, but stay within a factor of 2. (2) Adam needs 4× the parameters' memory before the
# first activation (weights, gradients, two moments); switching to SGD with momentum saves one copy,
# plain SGD two — a reason large models are fine-tuned with frugal optimizers or with frozen layers
# (frozen parameters need neither gradients nor optimizer state).
#
# On 8×8 digits the crossover comes at a large batch; at 32×32 (the seed's images) every activation is
# 16× bigger and activations dominate at ordinary batch sizes. That is where the next three tricks come in.

# %% [markdown]
# ## 3. Gradient accumulation: a big batch in small memory
#
# Memory for activations grows with the batch. To train with an effective batch of 64 while holding
# only 16 images' activations at a time, run four *micro-batches*, let `backward` **add** their
# gradients into `.grad`, and step once. The gradient of the mean loss over 64 images is
#
# $$\nabla \frac{1}{64}\sum_{i=1}^{64} \ell_i = \sum_{\text{micro-batches } m} \nabla \frac{1}{64}\sum_{i\in m} \ell_i ,$$
#
# so each micro-batch's loss must be its **sum** divided by the **whole** batch size. Here is the loop:

# %%
def accumulation_step(model, optimizer, x, y, micro_batch):
    """One optimizer step on the batch (x, y), computed micro_batch images at a time."""
    optimizer.zero_grad(set_to_none=True)
    for xm, ym in zip(x.split(micro_batch), y.split(micro_batch)):
        loss = nn.functional.cross_entropy(model(xm), ym, reduction="sum") / len(x)
        loss.backward()  # adds into .grad
    optimizer.step()


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def max_weight_difference(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


torch.manual_seed(0)
student = StudentNet(in_channels=1)  # no BatchNorm, no dropout
big, acc = copy.deepcopy(student), copy.deepcopy(student)
print(f"start equal: {max_weight_difference(big, acc) == 0}")
opt_big, opt_acc = sgd(big), sgd(acc)
for _ in range(5):
    accumulation_step(big, opt_big, x64, y64, micro_batch=64)  # one batch of 64
    accumulation_step(acc, opt_acc, x64, y64, micro_batch=16)  # four micro-batches of 16
exact_diff = max_weight_difference(big, acc)
moved = max_weight_difference(big, student)
print(f"after 5 steps the weights moved by up to {moved:.3g}; big batch vs accumulated differ by at most "
      f"{exact_diff:.2g} (float32 rounding: sums taken in a different order)")
claim(exact_diff < 1e-5 * max(1.0, moved), "without BatchNorm, accumulation gives the big batch's weights",
      "没有 BatchNorm 时，梯度累积得到与大批次相同的权重")

# %% [markdown]
# **Predict:** two ways to break this. (a) The batch has 60 images, split 16 + 16 + 16 + 12, and each
# micro-batch's *mean* loss is divided by the number of micro-batches (a common way to write it).
# (b) The model has BatchNorm (the teacher). Which one breaks exactness more?

# %%
def mean_per_micro_step(model, optimizer, x, y, micro_batch):
    """The common but wrong version: each micro-batch's mean, divided by the number of micro-batches."""
    optimizer.zero_grad(set_to_none=True)
    chunks = list(zip(x.split(micro_batch), y.split(micro_batch)))
    for xm, ym in chunks:
        (nn.functional.cross_entropy(model(xm), ym) / len(chunks)).backward()
    optimizer.step()


def gradient(model, step_fn, x, y, micro_batch):
    """The gradient one step would use (the step itself is taken on a copy with lr 0)."""
    model = copy.deepcopy(model)
    step_fn(model, torch.optim.SGD(model.parameters(), lr=0.0), x, y, micro_batch)
    return torch.cat([p.grad.flatten() for p in model.parameters()])


def relative_difference(a, b):
    return ((a - b).norm() / b.norm()).item()


x60, y60 = x64[:60], y64[:60]
g_big = gradient(student, accumulation_step, x60, y60, 60)
uneven_right = relative_difference(gradient(student, accumulation_step, x60, y60, 16), g_big)
uneven_wrong = relative_difference(gradient(student, mean_per_micro_step, x60, y60, 16), g_big)

no_dropout = fresh_teacher().train()  # train mode: BatchNorm uses each batch's own statistics
for m in no_dropout.modules():
    if isinstance(m, nn.Dropout):
        m.p = 0.0  # keep only BatchNorm as the difference (dropout would draw different masks)
g_bn_big = gradient(no_dropout, accumulation_step, x64, y64, 64)
bn_diff = relative_difference(gradient(no_dropout, accumulation_step, x64, y64, 16), g_bn_big)
print("relative gradient difference to the big batch (‖g − g_big‖ / ‖g_big‖):")
print(f"  student, 60 = 16+16+16+12, sum / whole batch  : {uneven_right:.2e}")
print(f"  student, 60 = 16+16+16+12, mean / #micro      : {uneven_wrong:.2e}")
print(f"  teacher (BatchNorm), 64 = 4 × 16, sum / whole : {bn_diff:.2e}")
claim(uneven_wrong > 100 * uneven_right, "averaging per micro-batch breaks exactness when the last one is smaller",
      "最后一个微批次较小时，按微批次取平均会破坏精确性")
claim(bn_diff > 100 * uneven_right, "with BatchNorm, accumulation is measurably not the big batch",
      "有 BatchNorm 时，梯度累积与大批次有可测的差别")
micro_saved = activation_bytes(fresh_teacher(), x64[:16]).activations
print(f"what accumulation buys: activations for 16 images {micro_saved / MB:.2f} MB instead of "
      f"{saved.activations / MB:.2f} MB for 64")

# %% [markdown]
# **Observe and explain.** In (a), the 12 images of the last micro-batch each count 1/(4·12) instead of
# 1/60: they weigh more than the others. In (b), BatchNorm normalises each micro-batch with *its own*
# mean and variance, so every image's activation — and gradient — depends on which 15 others share its
# micro-batch; no division can undo that. The running statistics also see four batches of 16 instead of
# one of 64. Remedies: fix the loss weighting (sum / total), and for BatchNorm either accept the
# difference, use bigger micro-batches, or use a normalisation that does not mix images (GroupNorm,
# LayerNorm). The course's `fit(..., accumulate_steps=k)` averages the k batch losses: exact when the
# batches are equal in size, and off in exactly the way of (a) when one is shorter.

# %% [markdown]
# The course's `fit` runs this loop for you: `accumulate_steps=4` steps once every four batches with the
# mean of their four losses. **Predict:** on 256 digits, is `fit` with batches of 16 and
# `accumulate_steps=4` the same as `fit` with batches of 64? And on 250 digits, where the last batch of
# 16 holds only 10?

# %%
def fit_weights(n_images, batch_size, accumulate_steps):
    """The student's weights after one epoch of fit on the first n_images training digits."""
    subset = torch.utils.data.Subset(splits.train, range(n_images))
    loader = DataLoader(subset, batch_size=batch_size, shuffle=True, generator=torch.Generator())  # fit seeds it
    model = copy.deepcopy(student)
    fit(model, loader, epochs=1, accumulate_steps=accumulate_steps, progress=False,
        optimizer=lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9))
    return model


fit_diff = {}
for n in (256, 250):
    fit_diff[n] = max_weight_difference(fit_weights(n, 64, 1), fit_weights(n, 16, 4))
    print(f"{n} images: batches of 64 vs 4 × 16 accumulated — weights differ by at most {fit_diff[n]:.2g}")
claim(fit_diff[256] < 1e-5 and fit_diff[250] > 100 * fit_diff[256],
      "fit's accumulation is exact with equal batches and off when the last batch is shorter",
      "fit 的梯度累积在批次大小相同时精确，最后一个批次较短时有偏差")

# %% [markdown]
# ## 4. fp32, fp16, bf16: range against precision
#
# A floating-point number is a sign, an **exponent** (how big: the *range*) and a **mantissa** (how
# many significant digits: the *precision*). fp16 and bf16 both use 16 bits, split differently:

# %%
display(float_formats_figure())
print(f"{'format':6s} {'bits s/e/m':>10s} {'max':>10s} {'smallest normal':>16s} {'smallest subnormal':>19s} {'eps':>9s}")
for f in FLOAT_FORMATS.values():
    print(f"{f.name:6s} {f'{f.sign}/{f.exponent}/{f.mantissa}':>10s} {f.max:10.3g} {f.smallest_normal:16.3g} "
          f"{f.smallest_subnormal:19.3g} {f.eps:9.2g}")

# %% [markdown]
# **Predict:** what do `1 + 0.001`, `70000` and `1e-8` become in each format? And `256 + 1`?

# %%
for value in (1 + 0.001, 256 + 1, 70000.0, 1e-8):
    cast = {name: torch.tensor(value, dtype=f.dtype).item() for name, f in FLOAT_FORMATS.items()}
    print(f"{value:>10g} → " + ", ".join(f"{name} {v:.8g}" for name, v in cast.items()))
claim(torch.tensor(70000.0, dtype=torch.float16).isinf().item() and torch.tensor(1e-8, dtype=torch.float16).item() == 0,
      "fp16 overflows above 65504 and flushes 1e-8 to zero: a narrow range",
      "fp16 超过 65504 溢出，把 1e-8 变成 0：范围窄")
claim(torch.tensor(257.0, dtype=torch.bfloat16).item() == 256, "bf16 keeps fp32's range but only ~3 significant digits",
      "bf16 保留 fp32 的范围，但只有约 3 位有效数字")

# %% [markdown]
# fp16 has more precision (10 mantissa bits) but a tiny range; bf16 has fp32's range (8 exponent bits)
# but little precision. Neural networks tolerate the lost digits much better than values that overflow
# to `inf` or vanish to `0` — that is why bf16 was invented, and why fp16 needs the trick of section 6.

# %% [markdown]
# ## 5. What autocast runs in low precision, and what it keeps in fp32
#
# `torch.autocast` does not convert the model. It picks a precision *per operation*: matrix multiplies
# and convolutions (which gain most) in the low precision; reductions and losses that are sensitive to
# rounding in fp32. The weights stay fp32 (the "master weights"), and so do their gradients.
# **Predict:** which layers of the teacher produce bf16 outputs under CPU autocast?

# %%
model = fresh_teacher().train()
dtypes = []
hooks = [m.register_forward_hook(lambda m, a, out, name=name: dtypes.append((name, type(m).__name__, a[0].dtype, out.dtype)))
         for name, m in model.named_modules() if not list(m.children())]
with torch.autocast("cpu", dtype=torch.bfloat16):
    logits = model(x64)
    loss = nn.functional.cross_entropy(logits, y64)
for h in hooks:
    h.remove()
loss.backward()
by_kind = {}
for _name, kind, din, dout in dtypes:
    by_kind.setdefault(kind, set()).add(f"{str(din).replace('torch.', '')} → {str(dout).replace('torch.', '')}")
for kind, seen in by_kind.items():
    print(f"{kind:18s} {', '.join(sorted(seen))}")
weight = model.features[0].weight
print(f"loss: {loss.dtype}; weights: {weight.dtype}; their gradients: {weight.grad.dtype}")
claim(loss.dtype == torch.float32 and weight.grad.dtype == torch.float32 and logits.dtype == torch.bfloat16,
      "autocast computed in bf16 but kept the loss, the weights and their gradients in fp32",
      "autocast 用 bf16 计算，但损失、权重和梯度保持 fp32")

# %% [markdown]
# The first convolution receives an fp32 image and autocast casts it to bf16 on the way in; everything
# after it stays in bf16 because its input already is. The loss goes back to fp32 (`cross_entropy` is on
# autocast's fp32 list). On a GPU the lists differ a little (for example softmax runs in fp32 there):
# the rule is "fast where it is safe", decided per operation.

# %% [markdown]
# ## 6. Why fp16 needs loss scaling
#
# A trained model's loss is small, and so are its gradients — many are smaller than fp16's smallest
# subnormal (about 6e-8) and would become exactly 0. The gradients are computed in fp32 here; we count
# what fp16 would do to them. **Predict:** what fraction of the teacher's activation gradients on this
# batch would vanish in fp16?

# %%
model = fresh_teacher().train()
for m in model.modules():
    if isinstance(m, nn.Dropout):
        m.p = 0.0
activation_grads = []


def keep_output_gradient(module, args, out):
    out.register_hook(lambda g: activation_grads.append(g.flatten()))  # called with d loss / d out


hooks = [m.register_forward_hook(keep_output_gradient)
         for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d))]
loss = nn.functional.cross_entropy(model(x64), y64)
loss.backward()
for h in hooks:
    h.remove()
grads = {"activation gradients": torch.cat(activation_grads),
         "weight gradients": torch.cat([p.grad.flatten() for p in model.parameters()])}
print(f"loss {loss.item():.2e}")
print(f"{'scale':>10s} " + " ".join(f"{k + ' lost':>28s}" for k in grads) + f" {'overflow (inf)':>15s}")
lost = {}
for scale in (1.0, 2.0**8, 2.0**16, 2.0**24):
    lost[scale] = {k: fp16_underflow(g, scale).float().mean().item() for k, g in grads.items()}
    overflow = sum(int(((g.double() * scale).abs() > FLOAT_FORMATS["fp16"].max).sum()) for g in grads.values())
    print(f"{scale:10.0f} " + " ".join(f"{lost[scale][k]:28.3%}" for k in grads) + f" {overflow:15d}")
largest = max(g.abs().max().item() for g in grads.values())
print(f"largest |gradient| {largest:.3g}: any scale above {FLOAT_FORMATS['fp16'].max / largest:.3g} overflows it")
claim(lost[1.0]["activation gradients"] > 10 * lost[2.0**16]["activation gradients"],
      "scaling the loss by 2^16 saves most of the gradients fp16 would flush to zero",
      "把损失乘以 2^16 挽救了 fp16 会变成零的大部分梯度")

# %% [markdown]
# Loss scaling multiplies the loss by `S` before `backward` (every gradient is then `S` times larger,
# out of the underflow zone), and divides the gradients by `S` in fp32 before the optimizer step. Too
# large an `S` overflows to `inf`. `torch.amp.GradScaler` chooses `S` dynamically: start large (2^16), halve
# and *skip the step* when an `inf` appears, grow again after a run of good steps. bf16 needs none of
# this: its range is fp32's.

# %% [markdown]
# ## 7. bf16 on this CPU
#
# Half the bytes should mean faster — if the processor has instructions that compute in bf16. Many
# CPUs do not, and then every bf16 operation is converted to fp32 and back. **Predict:** is a bf16
# autocast training step on your CPU faster or slower than fp32?

# %%
flags = set()
if os.path.exists("/proc/cpuinfo"):
    with open("/proc/cpuinfo") as f:
        flags = {w for line in f if line.startswith("flags") for w in line.split()}
bf16_flags = sorted(flags & {"avx512_bf16", "amx_bf16", "amx_tile", "avx512_fp16"})
print(f"torch sees CPU capability {torch.backends.cpu.get_cpu_capability()}; bf16-related CPU flags: "
      f"{bf16_flags or 'none (or not Linux)'}")

model = fresh_teacher().train()
opt = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the step runs, the weights stay put
xb, yb = x64[:16], y64[:16]


def train_step(dtype=None):
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        loss = nn.functional.cross_entropy(model(xb), yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


times = time_interleaved({"fp32": train_step, "bf16": lambda: train_step(torch.bfloat16)}, rounds=4)
bf16_ratio, bf16_lo, bf16_hi = ratio_range(times["fp32"], times["bf16"])
print(f"training step at batch {len(xb)}, {torch.get_num_threads()} thread(s): fp32 median "
      f"{statistics.median(times['fp32']):.1f} ms, bf16 autocast median {statistics.median(times['bf16']):.1f} ms")
print(f"bf16 / fp32 = {bf16_ratio:.2f}× (rounds {bf16_lo:.2f}–{bf16_hi:.2f}×): "
      + speed_verdict(bf16_lo, bf16_hi, "bf16 autocast training"))

# %% [markdown]
# The verdict above is this machine's. On a CPU without native bf16 arithmetic (or whose bf16 units
# PyTorch's kernels do not use for these small convolutions) bf16 is pure overhead: conversions in and
# out of every layer and no faster arithmetic. With AMX (recent Xeons) or on a GPU with tensor cores it
# can be several times *faster*. Half the bytes is not half the time; the hardware decides.

# %% [markdown]
# ## 8. Activation checkpointing: memory for compute
#
# Checkpointing keeps only the input of each of a few *segments* of the network; during `backward` it
# runs each segment's forward again to rebuild the activations it needs. `checkpointed(model, 3)` runs
# the teacher's `features` in three segments (`torch.utils.checkpoint.checkpoint_sequential`,
# `use_reentrant=False`). **Predict:** how much activation memory does that save at batch 64, and how
# much slower is a training step?

# %%
plain, ckpt = fresh_teacher(), checkpointed(teacher, 3)
saved_plain = activation_bytes(plain, x64)
saved_ckpt = activation_bytes(ckpt, x64)
torch.manual_seed(1)
out_plain = plain.train()(x64)
torch.manual_seed(1)  # the same dropout masks
out_ckpt = ckpt.train()(x64)
nn.functional.cross_entropy(out_plain, y64).backward()
nn.functional.cross_entropy(out_ckpt, y64).backward()
out_diff = (out_plain - out_ckpt).abs().max().item()
grad_diff = max((p.grad - q.grad).abs().max().item() for p, q in zip(plain.parameters(), ckpt.parameters()))
memory_ratio = saved_plain.activations / saved_ckpt.activations
print(f"saved activations: plain {saved_plain.activations / MB:.2f} MB, checkpointed {saved_ckpt.activations / MB:.2f} MB "
      f"({memory_ratio:.1f}× less); largest difference in outputs {out_diff:.1g}, in gradients {grad_diff:.1g}")
claim(memory_ratio >= 1.5 and out_diff <= 1e-5 and grad_diff <= 1e-5,
      "checkpointing saves at least 1.5× activation memory with the same outputs and gradients",
      "检查点至少节省 1.5 倍激活内存，输出和梯度不变")

for segments in (1, 2, 3, 5, 7):
    print(f"  {segments} segment(s): {activation_bytes(checkpointed(teacher, segments), x64).activations / MB:6.2f} MB")


def step_of(net):
    opt = torch.optim.SGD(net.parameters(), lr=0.0)

    def step():
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(x64), y64).backward()
        opt.step()
    return step


times = time_interleaved({"plain": step_of(plain), "checkpointed": step_of(ckpt)}, rounds=5)
ckpt_ratio, ckpt_lo, ckpt_hi = ratio_range(times["plain"], times["checkpointed"])
print(f"training step at batch 64: checkpointed / plain = {ckpt_ratio:.2f}× (rounds {ckpt_lo:.2f}–{ckpt_hi:.2f}×): "
      + speed_verdict(ckpt_lo, ckpt_hi, "checkpointing"))

# %% [markdown]
# **Observe and explain.** (1) Why does the memory first fall and then rise again as the number of
# segments grows? (`checkpoint_sequential` keeps the *input* of every segment and runs the *last*
# segment normally, because backward needs its activations at once: one segment checkpoints nothing,
# many segments keep many inputs. During backward one segment's activations are rebuilt at a time —
# a short-lived peak the hook, which counts what is kept from forward to backward, does not see.) (2) The
# step costs roughly one extra forward pass of `features`: worth it only when memory, not time, is what
# stops you — a bigger batch or a bigger model that otherwise would not fit. (3) A catch: BatchNorm in
# a checkpointed segment runs twice in train mode, so its running statistics take two momentum updates
# per step. The outputs and gradients above are identical; the running averages drift slightly faster.

# %% [markdown]
# ## 9. A roofline of your machine
#
# A layer needs `F` floating-point operations and must move at least `B` bytes (its input, output and
# weights, once each). A machine computes at most `P` FLOP/s and moves at most `W` bytes/s, so the layer
# takes at least `max(F / P, B / W)`. Which term wins depends on its **arithmetic intensity**
# `I = F / B`: below the *ridge point* `P / W` it is **memory-bound**, above it **compute-bound**.
#
# Measure the two roofs of this machine (matmul throughput and copy bandwidth; the best of a few short
# runs, about a second in all):

# %%
peaks = measure_peaks()
print(peaks)
print(f"matmul runs (GFLOP/s): {', '.join(f'{v:.0f}' for v in peaks.gflops_runs)}")
print(f"copy runs (GB/s): {', '.join(f'{v:.1f}' for v in peaks.gbps_runs)}")

# %% [markdown]
# **Predict:** the teacher's convolutions at batch 1 and at batch 64 — which side of the ridge point
# is each on? (At batch 1 a layer still reads all its weights, for one image.)

# %%
costs = {batch: layer_costs(teacher, torch.randn(batch, 1, 8, 8)) for batch in (1, 64)}
print(f"ridge point: {peaks.ridge:.1f} FLOP/byte")
print(f"{'layer':14s} {'kind':10s} {'I @1':>7s} {'bound @1':>9s} {'I @64':>7s} {'bound @64':>10s}")
for c1, c64 in zip(costs[1], costs[64]):
    if c1.kind in ("Conv2d", "Linear"):
        print(f"{c1.name:14s} {c1.kind:10s} {c1.intensity:7.1f} {roofline(c1.intensity, peaks.gflops, peaks.gbps)[1]:>9s} "
              f"{c64.intensity:7.1f} {roofline(c64.intensity, peaks.gflops, peaks.gbps)[1]:>10s}")
bound = {b: [roofline(c.intensity, peaks.gflops, peaks.gbps)[1] for c in cs if c.kind in ("Conv2d", "Linear")]
         for b, cs in costs.items()}
print(f"memory-bound conv/linear layers: {bound[1].count('memory')} of {len(bound[1])} at batch 1, "
      f"{bound[64].count('memory')} of {len(bound[64])} at batch 64")
elementwise = max(c.intensity for b in (1, 64) for c in costs[b] if c.kind in ("BatchNorm2d", "ReLU", "MaxPool2d"))
claim(elementwise < peaks.ridge, f"BatchNorm, ReLU and pooling are memory-bound at both batch sizes (intensity at most "
      f"{elementwise:.2f} FLOP/byte, ridge {peaks.ridge:.1f})",
      f"BatchNorm、ReLU 和池化在两种批大小下都受内存限制（算术强度最多 {elementwise:.2f} FLOP/字节，拐点 {peaks.ridge:.1f}）")
claim(all(c64.intensity > c1.intensity for c1, c64 in zip(costs[1], costs[64]) if c1.kind in ("Conv2d", "Linear")),
      "every conv and linear layer has a higher arithmetic intensity at batch 64 than at batch 1",
      "每个卷积层和全连接层在批大小 64 时的算术强度都高于批大小 1")
display(roofline_figure(peaks, {"batch 1": costs[1], "batch 64": costs[64]}))

# %% [markdown]
# At batch 1 a layer reads all its weights to use each of them once (or, in a conv, a few dozen times):
# low intensity. At batch 64 the same weights serve 64 images: the intensity grows until the
# activations, not the weights, dominate the bytes. Elementwise layers (BatchNorm, ReLU) do one or two
# operations per element they read: they are memory-bound on every machine.

# %% [markdown]
# **Explore:** move the slider through batch sizes and watch the teacher's layers slide along *your*
# machine's roofline (the roofs measured above; the points are predictions, nothing is timed). At which
# batch does the first convolution cross the ridge point? Which layers never do? The static figure
# above shows batch 1 and 64 for readers without a live kernel.

# %%
roofline_explorer(teacher, peaks)

# %% [markdown]
# ## 10. Prediction against measurement
#
# Now time each layer alone (on the input it receives in a real forward pass) and hold the times
# against the roofline's lower bound. **Predict:** at batch 1, how close will the measured times be to
# the prediction?

# %%
measured_times = {b: time_layers(teacher, torch.randn(b, 1, 8, 8), repeats=15, budget_s=1.5) for b in (1, 64)}
print(f"{'layer':14s} {'kind':12s} {'pred @1 µs':>11s} {'meas @1 µs':>11s} {'pred @64 µs':>12s} {'meas @64 µs':>12s}")
slowdown = {1: [], 64: []}
for c1, c64 in zip(costs[1], costs[64]):
    if c1.flops == 0:
        continue
    p1, p64 = predict_seconds(c1, peaks), predict_seconds(c64, peaks)
    m1, m64 = measured_times[1][c1.name], measured_times[64][c64.name]
    slowdown[1].append(m1 / p1)
    slowdown[64].append(m64 / p64)
    print(f"{c1.name:14s} {c1.kind:12s} {p1 * 1e6:11.1f} {m1 * 1e6:11.1f} {p64 * 1e6:12.1f} {m64 * 1e6:12.1f}")
for b in (1, 64):
    total_pred = sum(predict_seconds(c, peaks) for c in costs[b] if c.flops)
    total_meas = sum(measured_times[b][c.name] for c in costs[b] if c.flops)
    print(f"batch {b:2d}: measured / predicted per layer — median {statistics.median(slowdown[b]):.1f}×, "
          f"range {min(slowdown[b]):.2f}–{max(slowdown[b]):.1f}×; whole model {total_meas * 1e3:.2f} ms measured vs "
          f"{total_pred * 1e3:.2f} ms predicted")
overhead_dominates = statistics.median(slowdown[1]) > statistics.median(slowdown[64])
print("at batch 1 the layers are further from their roofline bound than at batch 64: a fixed cost per call "
      "(dispatch, threads, memory allocation) the roofline leaves out" if overhead_dominates else
      "on this run batch 1 was not further from its bound than batch 64: read the table and say why")

# %% [markdown]
# **Observe and explain.** (1) At batch 1, most layers take microseconds that the roofline cannot
# explain: the work is so small that the cost of *calling* the layer dominates — the model is
# **overhead-bound**, below the roofline. (2) Some small elementwise layers at batch 64 may run *faster*
# than predicted: their few hundred kilobytes fit in the CPU's caches, which are faster than the main
# memory the copy benchmark measured. A roofline is a model of the machine, not the machine. (3) Which
# layers dominate the measured time at batch 64? Are they the compute-bound convolutions?

# %% [markdown]
# ## 11. Why the same trick pays on one machine and not another
#
# Every trick above changes *one* of: memory, bytes moved, arithmetic, or overhead. Whether it speeds
# a model up depends on which of these limits *that* model on *that* machine. Here is what this CPU
# said, and — if a GPU is present, or one was recorded — what a GPU says.

# %%
print(f"this machine ({peaks.device}, {peaks.threads} thread(s)):")
print(f"  bf16 autocast training step     {bf16_ratio:5.2f}× the fp32 time (rounds {bf16_lo:.2f}–{bf16_hi:.2f})")
print(f"  checkpointing, training step    {ckpt_ratio:5.2f}× the time, {1 / memory_ratio:.2f}× the activation memory")
print(f"  roofline                        {peaks.gflops:.0f} GFLOP/s, {peaks.gbps:.1f} GB/s, ridge {peaks.ridge:.0f} FLOP/byte")

# %%
def show_gpu_rows(rows):
    print(f"{'case':45s} {'batch':>6s} {'value':>12s}")
    for row in rows:
        value = "failed: " + row.get("error", "") if row["value"] is None else f"{row['value']:.3f} {row['unit']}"
        print(f"{row['case']:45s} {row['batch']:6d} {value:>12s}")


if CUDA:
    print(f"live on {torch.cuda.get_device_name(0)} (torch {torch.__version__}):")
    show_gpu_rows(cuda_tricks(repeats=10, graphs=True))
else:
    reference = gpu_reference()
    if reference is None:
        print("No CUDA device here, and no GPU reference recorded yet: run `python benchmarks/gpu_reference.py` "
              "on a machine with an NVIDIA GPU to record one (benchmarks/results/gpu_reference.json).")
    else:
        print(f"No CUDA device here. Reference measured on {reference['gpu']}, torch {reference['torch']}, "
              f"{reference['date']} ({reference['inputs']}):")
        show_gpu_rows(reference["rows"])

# %% [markdown]
# Read the two tables with the roofline in mind:
#
# - **bf16 / fp16** halve the bytes and, on hardware with low-precision units (GPU tensor cores, CPU AMX),
#   multiply the arithmetic rate. They pay for compute- or memory-bound layers at large batches; at
#   batch 1 a small model is overhead-bound and the extra casts can make it *slower*. On a CPU without
#   fast bf16 arithmetic they are slower at every batch (section 7 measured yours).
# - **CUDA graphs** (`torch.compile(mode="reduce-overhead")`) remove launch overhead: they pay exactly
#   where the roofline does not apply — small batches — and do nothing for a compute-bound step.
# - **channels-last** lays out activations the way tensor-core convolutions read them: a GPU trick,
#   often neutral or worse on a CPU.
# - **checkpointing** always costs time; it pays only when memory is the limit (a batch or model that
#   otherwise does not fit).
# - A digits-sized model at batch 1 can run *faster on a CPU* than on a GPU: launching kernels costs
#   more than the arithmetic.
#
# When a GPU table is shown above, find each of these in it; when none is recorded, the CPU numbers
# still show the first and fourth points.

# %% [markdown]
# ## Summary
#
# - Training memory = parameters + gradients + optimizer state (Adam: 2 more copies) + activations.
#   The first three are fixed; activations grow with the batch (and with the image size squared). You
#   estimated each and measured it: the arithmetic holds, and autograd's saved tensors are within a
#   factor of 2 of the layer outputs.
# - Gradient accumulation gives a big batch's gradient with a small batch's activations — exactly,
#   if each micro-batch's summed loss is divided by the *whole* batch size and the model has no
#   BatchNorm. BatchNorm's batch statistics and per-micro-batch averaging both break it, measurably.
# - fp16 has precision but little range (needs loss scaling: you counted the gradients it would flush
#   to zero); bf16 has range but little precision (no scaling). Autocast chooses per operation and keeps
#   weights, gradients and the loss in fp32. Whether low precision is *faster* depends on the hardware:
#   your CPU's verdict was printed in section 7.
# - Checkpointing trades one extra forward pass for a large cut in activation memory, with identical
#   outputs and gradients.
# - The roofline tells you what limits a layer — arithmetic or memory traffic — and so which trick can
#   help; at batch 1, small models are limited by neither but by per-call overhead.
#
# **Checklist items served:** E3 (the performance characteristics of different hardware: roofline,
# bf16 and overhead measured on your machine, GPU reference), T4 (evaluating and comparing methods by
# measurement, with noise ranges).
#
# **Next:** the exercise `exercises/en/04_memory_and_hardware.py` (an accumulation step that matches a
# big batch, the training-memory estimate, a convolution's arithmetic intensity on a given machine, and
# which gradients underflow in fp16 at a given loss scale).
