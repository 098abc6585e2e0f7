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
# # 00 · Measure first
#
# *Before we make a network lighter or faster, we need numbers that say how light and how fast it is.*
#
# In this lesson you will measure two real models on real data — the course's **teacher** (a large CNN)
# and **student** (a small one) — in every way the rest of the course uses:
#
# | question | measure |
# |---|---|
# | Is it still good? | accuracy on the held-out test split |
# | How heavy is it? | number of parameters, size on disk |
# | How much work is one prediction? | FLOPs (floating-point operations) |
# | How long does a user wait? | latency: warm-up, median and p90 over many runs, at a stated batch size and thread count |
#
# Every later lesson compares against the numbers you compute here. Nothing in this notebook is typed
# in by hand: every number is measured when you run it, on your machine.

# %%
import os

# Idle OpenMP threads busy-wait; on a shared 2-core machine that can make 2-thread timings tens of
# times slower. PASSIVE makes them sleep. It only works if set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from coursekit.data import load_dataset, make_loaders
from coursekit.metrics import count_flops, measure_latency
from coursekit.models import count_parameters, model_size_bytes
from coursekit.plots import bar_compare
from coursekit.pretrained import pretrained
from coursekit.train import evaluate

torch.manual_seed(0)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads available, {os.cpu_count()} CPU cores")

# %% [markdown]
# ## 1. The data: real handwritten digits
#
# scikit-learn ships 1,797 scanned handwritten digits as 8×8 grey images, so nothing is downloaded.
# `load_dataset` splits them into train / validation / test parts that keep the class proportions
# (stratified) and depend only on the seed.

# %%
splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, batch_size=64, seed=0)
print(splits)

from matplotlib.figure import Figure  # noqa: E402 - kept next to its first use

fig = Figure(figsize=(8, 1.6), layout="constrained")
for i, ax in enumerate(fig.subplots(1, 10)):
    image, label = splits.test[i]
    ax.imshow(image[0], cmap="gray_r")
    ax.set_title(splits.class_names[label], fontsize=9)
    ax.axis("off")
fig

# %% [markdown]
# ## 2. Two models, trained once
#
# `TeacherNet` and `StudentNet` are the course's models: six convolutions with BatchNorm for the
# teacher, five thinner ones without BatchNorm for the student, each followed by a small classifier.
# Training the teacher takes about fifteen seconds, so `pretrained` does it once and keeps the weights in
# the project's `.cache/` folder; the next lesson that asks gets them in a fraction of a second.

# %%
teacher = pretrained("teacher")
student = pretrained("student")
models = {"teacher": teacher, "student": student}
print(student)

# %% [markdown]
# ## 3. Accuracy: is it still good?
#
# Speed means nothing if the answers are wrong, so accuracy comes first. We measure it on the **test**
# split, which no training run has seen.

# %%
accuracy = {name: evaluate(m, loaders.test).accuracy for name, m in models.items()}
for name, acc in accuracy.items():
    print(f"{name:8s} test accuracy: {acc:.2%} on {len(splits.test)} images")

# %% [markdown]
# ## 4. Parameters and size on disk
#
# A convolution with `c_in` input channels, `c_out` output channels and a `k×k` kernel holds
# `c_out · c_in · k · k` weights plus `c_out` biases. Let's check that formula on the teacher's first
# layer, then count everything.

# %%
first = teacher.features[0]
by_hand = first.out_channels * first.in_channels * first.kernel_size[0] * first.kernel_size[1] + first.out_channels
print(f"first conv: {first}")
print(f"by hand: {by_hand} parameters; counted by torch: {sum(p.numel() for p in first.parameters())}")
assert by_hand == sum(p.numel() for p in first.parameters())

params = {name: count_parameters(m) for name, m in models.items()}
size = {name: model_size_bytes(m) for name, m in models.items()}
for name in models:
    print(f"{name:8s} {params[name]:>9,} parameters, {size[name] / 1024:8.1f} KiB on disk, "
          f"{size[name] / (4 * params[name]):.3f} × (4 bytes × parameters)")
print(f"teacher / student: {params['teacher'] / params['student']:.1f}× the parameters, "
      f"{size['teacher'] / size['student']:.1f}× the bytes")

# %% [markdown]
# Size on disk is almost exactly 4 bytes (one float32) per parameter. The small excess is the file's
# own bookkeeping and, for the teacher, BatchNorm's running mean and variance: buffers that are saved
# but are not parameters. Lesson 03 (quantization) attacks the "4 bytes" part; lesson 02 (pruning)
# the "number of parameters" part.

# %% [markdown]
# ## 5. FLOPs: how much arithmetic is one prediction?
#
# A convolution computes, at each of the `H·W` output positions, `c_out` dot products of length
# `c_in·k·k`: that is `c_out·c_in·k·k·H·W` multiply-adds, or twice as many FLOPs (a multiply-add counts
# as 2, as in `torch.utils.flop_counter`).

# %%
x1 = splits.test[:1][0]  # one image, (1, 1, 8, 8)
h, w = x1.shape[-2:]
conv_flops_by_hand = 2 * first.out_channels * first.in_channels * 3 * 3 * h * w
print(f"first conv by hand: {conv_flops_by_hand:,} FLOPs; counted: {count_flops(first, x1):,}")
assert conv_flops_by_hand == count_flops(first, x1)

flops = {name: count_flops(m, x1) for name, m in models.items()}
for name in models:
    print(f"{name:8s} {flops[name] / 1e6:6.2f} MFLOPs per image")
flops_ratio = flops["teacher"] / flops["student"]
print(f"teacher / student FLOPs: {flops_ratio:.1f}×")

# %% [markdown]
# ## 6. Latency: how long does a user wait?
#
# Timing a model looks easy: start a clock, call it, stop the clock. Let's do exactly that, twenty times
# in a row on a freshly built teacher, and look at every single time.

# %%
import time  # noqa: E402

from coursekit.models import TeacherNet  # noqa: E402

fresh = TeacherNet(num_classes=10, in_channels=1).eval()
naive_ms = []
with torch.inference_mode():
    for _ in range(20):
        start = time.perf_counter()
        fresh(x1)
        naive_ms.append((time.perf_counter() - start) * 1000)
print("first 20 calls (ms):", " ".join(f"{t:.2f}" for t in naive_ms))
typical = sorted(naive_ms[10:])[5]
print(f"first call: {naive_ms[0]:.2f} ms; median of calls 11-20: {typical:.2f} ms; "
      f"first / typical = {naive_ms[0] / typical:.1f}×; slowest / fastest call = {max(naive_ms) / min(naive_ms):.1f}×")

# %% [markdown]
# On most machines the first calls are the slowest: they pay one-off costs — allocating memory, choosing kernels, filling caches — that a
# running service never pays again. Rule 1: **warm up** before timing.
#
# Even after warm-up, times vary from run to run: the operating system, other programs and the CPU's
# clock speed all interfere. One slow run drags the *mean* up, while the **median** (the middle run) does
# not care. The **p90** (90% of runs are faster) says what a user sees on a bad day. Rule 2: time
# **many runs** and report the median and p90. `measure_latency` follows both rules.

# %%
stats = measure_latency(teacher, x1, warmup=10, runs=100, threads=1)
print(stats)

fig = Figure(figsize=(6, 2.6), layout="constrained")
ax = fig.subplots()
ax.hist(stats.times_ms, bins=30, color="tab:blue", alpha=0.8)
for value, label, color in [(stats.median_ms, "median", "black"), (stats.p90_ms, "p90", "tab:red"),
                            (stats.mean_ms, "mean", "tab:orange")]:
    ax.axvline(value, color=color, linestyle="--", label=f"{label} {value:.3f} ms")
ax.set_xlabel("latency of one call (ms), teacher, batch 1, 1 thread")
ax.set_ylabel("runs")
ax.legend(fontsize=8)
fig

# %% [markdown]
# Rule 3: **say what you measured**. Latency depends on the batch size (one image, or 64 at once?) and
# on how many threads torch may use. We measure both models at batch 1 and 64, with 1 and 2 threads.

# %%
x64 = splits.test[:64][0]  # (64, 1, 8, 8)
rows = []
for name, m in models.items():
    for batch, x in ((1, x1), (64, x64)):
        for threads in (1, 2):
            s = measure_latency(m, x, warmup=10, runs=40, threads=threads)
            rows.append({"model": name, "batch": batch, "threads": threads, "median_ms": s.median_ms,
                         "p90_ms": s.p90_ms, "per_image_ms": s.median_ms / batch})
print(f"{'model':8s} {'batch':>5s} {'threads':>7s} {'median ms':>10s} {'p90 ms':>8s} {'ms / image':>10s}")
for r in rows:
    print(f"{r['model']:8s} {r['batch']:5d} {r['threads']:7d} {r['median_ms']:10.3f} {r['p90_ms']:8.3f} "
          f"{r['per_image_ms']:10.4f}")


def latency(model_name, batch, threads):
    return next(r["median_ms"] for r in rows
                if (r["model"], r["batch"], r["threads"]) == (model_name, batch, threads))


# %% [markdown]
# Read the table before going on:
# - How much cheaper is one image when it travels in a batch of 64 (compare `ms / image`)?
# - Do 2 threads help at batch 1? At batch 64? (Your answer depends on your machine: try it.)

# %% [markdown]
# ## 7. A FLOPs ratio is not a latency ratio
#
# FLOPs count arithmetic. If time were just arithmetic, then (a) one image would cost the same time
# whether it travels alone or in a batch of 64 — its FLOPs are identical — and (b) the teacher would
# be slower than the student by exactly their FLOPs ratio, at every batch size and thread count.
# Let's test both predictions against the measurements above.

# %%
for name in models:
    alone = latency(name, 1, 1)
    in_batch = latency(name, 64, 1) / 64
    print(f"{name:8s} {flops[name] / 1e6:5.2f} MFLOPs per image either way; time per image: "
          f"{alone:.3f} ms alone, {in_batch:.4f} ms in a batch of 64 → {alone / in_batch:.1f}× apart")

ratios = {(b, t): latency("teacher", b, t) / latency("student", b, t) for b in (1, 64) for t in (1, 2)}
for (b, t), r in ratios.items():
    print(f"teacher / student latency at batch {b:2d}, {t} thread(s): {r:.1f}×")
print(f"FLOPs ratio: {flops_ratio:.1f}×; measured latency ratios range from "
      f"{min(ratios.values()):.1f}× to {max(ratios.values()):.1f}× depending on batch size and threads")


def verdict(measured, predicted, tolerance=0.2):
    """'holds' when every measured ratio is within ±20% of the prediction."""
    ok = all(abs(m / predicted - 1) <= tolerance for m in measured)
    return "holds (within ±20%)" if ok else "fails (off by more than ±20%)"


per_image_gap = [latency(n, 1, 1) / (latency(n, 64, 1) / 64) for n in models]
print(f"prediction (a), same time per image alone or in a batch: {verdict(per_image_gap, 1.0)}")
print(f"prediction (b), latency ratio = FLOPs ratio everywhere:   {verdict(ratios.values(), flops_ratio)}")

# %% [markdown]
# On a CPU, with images this small, at least one prediction usually fails — read the verdicts your
# machine printed. Every call of a layer has a fixed cost — Python, dispatching the
# operator, allocating the output, moving weights from memory into the CPU's caches — that does not
# shrink with the arithmetic. On 8×8 images each layer does very little arithmetic, so the fixed costs
# are a large share of the time for a single image, and a batch spreads them over 64 images. Threads
# change the picture again: a second thread only pays off when there is enough work to split, and on a
# busy machine it may wait for a core. FLOPs count *work*; latency also counts *overhead* and *memory
# traffic*, and how they weigh depends on the hardware, the batch size and the thread count. That is why
# every speed claim in this course is a measured latency with its batch size and thread count — never a
# FLOPs estimate.

# %% [markdown]
# ## 8. The results table
#
# These are the reference numbers for the rest of the course.

# %%
print(f"{'':22s} {'teacher':>12s} {'student':>12s} {'teacher/student':>16s}")
table = {
    "test accuracy": (accuracy["teacher"], accuracy["student"], "{:.2%}"),
    "parameters": (params["teacher"], params["student"], "{:,}"),
    "size on disk (KiB)": (size["teacher"] / 1024, size["student"] / 1024, "{:.1f}"),
    "MFLOPs / image": (flops["teacher"] / 1e6, flops["student"] / 1e6, "{:.2f}"),
    "latency b1 1t (ms)": (latency("teacher", 1, 1), latency("student", 1, 1), "{:.3f}"),
    "latency b64 1t (ms)": (latency("teacher", 64, 1), latency("student", 64, 1), "{:.3f}"),
}
for label, (t, s, fmt) in table.items():
    print(f"{label:22s} {fmt.format(t):>12s} {fmt.format(s):>12s} {t / s:>15.2f}×")

bar_compare({
    "test accuracy (%)": {n: 100 * accuracy[n] for n in models},
    "parameters (M)": {n: params[n] / 1e6 for n in models},
    "MFLOPs / image": {n: flops[n] / 1e6 for n in models},
    "latency b64, 1 thread (ms)": {n: latency(n, 64, 1) for n in models},
}, title="teacher vs student on the digits test split")

# %% [markdown]
# ## Observe and explain
#
# 1. The student has roughly a tenth of the teacher's parameters. Why is its FLOPs ratio different from
#    its parameter ratio? (Hint: where in the network are most parameters, and where is most arithmetic?
#    A weight in a convolution is used at every position of its input.)
# 2. Run the latency cell again. Which numbers change most between runs: medians or p90s? Why?
# 3. Your laptop has more cores than our 2-core test machine. Predict how the 2-thread rows change there,
#    then check.
# 4. A colleague reports "the student is 5× faster" from a FLOPs count. What would you ask them?
# 5. The first timed call of the fresh teacher was slower than the rest. Which one-off costs could it
#    have paid? Would they return if you fed it a batch of a different size?
#
# ## Summary
#
# - *Lighter* = fewer parameters and fewer bytes; *faster* = lower measured latency at a stated batch
#   size and thread count. Accuracy is measured on the test split every time.
# - Warm up, time many runs, report the median and p90, and say which batch size and thread count.
# - FLOPs predict work, not time: overheads and memory traffic matter, more so for small inputs.
#
# **Checklist item served:** E3 — understand the performance characteristics of different hardware
# (here: thread count and batch size on a CPU).
#
# **Next:** the exercise `exercises/en/00_measure_first.py` (count parameters and FLOPs by hand; write a
# latency measurement with warm-up, median and p90), then lesson 01, knowledge distillation.
