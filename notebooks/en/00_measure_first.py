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
#
# Along the way, **Predict** asks you to commit to an answer before you run a cell, and **Observe and
# explain** asks about what a cell printed; each is answered a few cells later. Lines starting with ✓
# are claims the lesson checks about its own measurements (✗: not so on your machine — find out why).

# %%
# %matplotlib inline
import os

# Idle OpenMP threads busy-wait, which slows multi-thread timings down badly on a busy machine.
# PASSIVE makes them sleep. It only works if set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import statistics
import time

import torch

from coursekit.data import load_dataset, make_loaders
from coursekit.metrics import count_flops, measure_latency
from coursekit.models import count_parameters, model_size_bytes
from coursekit.plots import bar_compare
from coursekit.pretrained import pretrained
from coursekit.stats import claim, ratio_range
from coursekit.train import evaluate

torch.manual_seed(0)
# the cores this process may use (a container or `taskset` can give it fewer than the machine has)
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
print(f"torch {torch.__version__}; torch uses {torch.get_num_threads()} threads by default; "
      f"{cores} CPU core(s) available to this notebook")

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
# Training them takes a little while, so `pretrained` does it once and keeps the weights in the
# project's `.cache/` folder; afterwards every lesson just loads them. The cell prints which happened.

# %%
start = time.perf_counter()
teacher = pretrained("teacher")
student = pretrained("student")
print(f"teacher and student ready in {time.perf_counter() - start:.1f} s")
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
print(f"the student is {100 * (accuracy['teacher'] - accuracy['student']):+.1f} percentage points behind the teacher "
      f"(one test image is {100 / len(splits.test):.2f} points)")

# %% [markdown]
# ## 4. Parameters and size on disk
#
# A convolution with `c_in` input channels, `c_out` output channels and a `k×k` kernel holds
# `c_out · c_in · k · k` weights plus `c_out` biases. Let's check that formula on the teacher's first
# layer, then count everything.
#
# **Predict:** a float32 number takes 4 bytes. If the teacher has N parameters, will its file on disk
# be exactly 4·N bytes, a little more, or a little less? Why?

# %%
first = teacher.features[0]
by_hand = first.out_channels * first.in_channels * first.kernel_size[0] * first.kernel_size[1] + first.out_channels
print(f"first conv: {first}")
print(f"by hand: {by_hand} parameters; counted by torch: {sum(p.numel() for p in first.parameters())}")
claim(by_hand == sum(p.numel() for p in first.parameters()), "the formula counts the first conv's parameters exactly",
      "公式准确数出了第一个卷积层的参数")

params = {name: count_parameters(m) for name, m in models.items()}
size = {name: model_size_bytes(m) for name, m in models.items()}
for name, m in models.items():
    buffer_bytes = sum(b.numel() * b.element_size() for b in m.buffers())
    tensors = len(m.state_dict())
    print(f"{name:8s} {params[name]:>9,} parameters, {size[name] / 1024:8.1f} KiB on disk = "
          f"{size[name] / (4 * params[name]):.3f} × (4 bytes × parameters); "
          f"buffers {buffer_bytes / 1024:.1f} KiB; the rest ≈ {(size[name] - 4 * params[name] - buffer_bytes) / tensors:.0f} "
          f"bytes of file bookkeeping for each of its {tensors} tensors")
print(f"teacher / student: {params['teacher'] / params['student']:.1f}× the parameters, "
      f"{size['teacher'] / size['student']:.1f}× the bytes")

# %% [markdown]
# (Answer to the prediction.) Size on disk is almost exactly 4 bytes (one float32) per parameter. The small excess, computed above,
# is made of buffers that are saved but are not parameters (BatchNorm's running mean and variance — only
# the teacher has them) and the file format's bookkeeping, a roughly fixed cost per saved tensor. So
# there are two ways to make the file smaller: fewer parameters (lesson 02, by removing whole channels)
# or fewer bytes per parameter (quantization, in phase 2 of the course).

# %% [markdown]
# ## 5. FLOPs: how much arithmetic is one prediction?
#
# A convolution computes, at each of its `H·W` output positions (with `padding=1` a 3×3 convolution
# keeps the 8×8 size), `c_out` dot products of length `c_in·k·k`: that is `c_out·c_in·k·k·H·W`
# multiply-adds, or twice as many FLOPs (a multiply-add counts as 2, as in `torch.utils.flop_counter`).
# `count_flops` counts only convolutions and matrix multiplies — nearly all the arithmetic. BatchNorm,
# ReLU and pooling count as zero FLOPs, yet they still take time: a first hint that FLOPs and time differ.
#
# **Predict:** the student has about a tenth of the teacher's parameters (section 4). Will it also
# need about a tenth of the teacher's FLOPs? (Question 1 at the end asks you to explain what you see.)

# %%
x1 = splits.test[:1][0]  # one image, (1, 1, 8, 8)
h, w = x1.shape[-2:]
k = first.kernel_size[0] * first.kernel_size[1]
conv_flops_by_hand = 2 * first.out_channels * first.in_channels * k * h * w
print(f"first conv by hand: {conv_flops_by_hand:,} FLOPs; counted: {count_flops(first, x1):,}")
claim(conv_flops_by_hand == count_flops(first, x1), "the formula counts the first conv's FLOPs exactly",
      "公式准确数出了第一个卷积层的 FLOPs")

flops = {name: count_flops(m, x1) for name, m in models.items()}
for name in models:
    print(f"{name:8s} {flops[name] / 1e6:6.2f} MFLOPs per image")
flops_ratio = flops["teacher"] / flops["student"]
print(f"teacher / student FLOPs: {flops_ratio:.1f}×")

# %% [markdown]
# ## 6. Latency: how long does a user wait?
#
# Timing a model looks easy: start a clock, call it, stop the clock. Let's do exactly that, twenty times
# in a row, on one thread, and look at every single time. We use a freshly built teacher that has never
# run (the trained one has already been called above); its weights are random, but the values of the
# weights don't change how long the arithmetic takes.
#
# **Predict:** will the twenty times be about equal? If not, which calls will stand out?

# %%
from coursekit.models import TeacherNet  # noqa: E402

fresh = TeacherNet(num_classes=10, in_channels=1).eval()
threads_before = torch.get_num_threads()
torch.set_num_threads(1)
naive_ms = []
with torch.inference_mode():
    for _ in range(20):
        start = time.perf_counter()
        fresh(x1)
        naive_ms.append((time.perf_counter() - start) * 1000)
torch.set_num_threads(threads_before)
print("first 20 calls (ms):", " ".join(f"{t:.2f}" for t in naive_ms))
typical = statistics.median(naive_ms[10:])  # the middle value of calls 11-20
print(f"first call: {naive_ms[0]:.2f} ms; typical (middle value of calls 11-20): {typical:.2f} ms; "
      f"first / typical = {naive_ms[0] / typical:.1f}×; slowest / fastest call = {max(naive_ms) / min(naive_ms):.1f}×")

# %% [markdown]
# (Answer to the prediction.) Usually the first calls are the slowest (check the first / typical ratio above): they pay one-off costs — allocating memory, choosing kernels, filling caches — that a
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
#
# Rule 4: **know your noise**. Run the cell above twice and the median moves. So each setting below is
# measured three times, interleaved (teacher, student, teacher, …, so that a slow moment of the machine
# hits both), and we keep the middle of the three medians and their range.

# %%
x64 = splits.test[:64][0]  # (64, 1, 8, 8)
settings = [(name, batch, threads) for name in models for batch in (1, 64) for threads in (1, 2)]
medians = {key: [] for key in settings}
for _ in range(3):
    for name, batch, threads in settings:
        x = x1 if batch == 1 else x64
        medians[(name, batch, threads)].append(
            measure_latency(models[name], x, warmup=5, runs=20, threads=threads).median_ms)


def latency(model_name, batch, threads):
    """The middle of the three repeated medians, in ms."""
    return statistics.median(medians[(model_name, batch, threads)])


print(f"{'model':8s} {'batch':>5s} {'threads':>7s} {'median ms':>10s} {'range of 3 repeats':>20s} {'ms / image':>10s}")
for name, batch, threads in settings:
    low, high = min(medians[(name, batch, threads)]), max(medians[(name, batch, threads)])
    print(f"{name:8s} {batch:5d} {threads:7d} {latency(name, batch, threads):10.3f} {low:9.3f} – {high:8.3f} "
          f"{latency(name, batch, threads) / batch:10.4f}")
if cores < 2:
    print(f"note: only {cores} core is available, so the 2-thread rows share one core")


# %% [markdown]
# **Observe and explain** before going on (section 7 answers both):
# - How much cheaper is one image when it travels in a batch of 64 (compare `ms / image`)?
# - Do 2 threads help at batch 1? At batch 64? (Your answer depends on your machine: try it.)

# %% [markdown]
# ## 7. A FLOPs ratio is not a latency ratio
#
# FLOPs count arithmetic. If time were just arithmetic, then (a) one image would cost the same time
# whether it travels alone or in a batch of 64 — its FLOPs are identical — and (b) the teacher would
# be slower than the student by exactly their FLOPs ratio, at every batch size and thread count.
# Let's test both predictions against the measurements above, allowing for the noise we measured: a
# prediction fails only when it lies outside the range the three repeats allow
# (`coursekit.stats.ratio_range(a, b)`: from `min(a) / max(b)` to `max(a) / min(b)`). **Predict** first:
# will (a) hold? Will (b)?

# %%
print("(a) time per image, alone vs in a batch of 64 (1 thread); FLOPs per image are identical:")
for name in models:
    low, high = ratio_range(medians[(name, 1, 1)], medians[(name, 64, 1)])
    low, high = 64 * low, 64 * high  # per image: the batch-64 time is shared by 64 images
    verdict = "holds" if low <= 1.0 <= high else "fails"
    print(f"    {name:8s} {latency(name, 1, 1) / (latency(name, 64, 1) / 64):5.1f}× apart "
          f"(noise allows {low:.1f}–{high:.1f}×) → prediction (a) {verdict}")

print(f"(b) teacher / student latency vs their FLOPs ratio, {flops_ratio:.1f}×, "
      f"and their bytes ratio, {size['teacher'] / size['student']:.1f}×:")
for batch in (1, 64):
    for threads in (1, 2):
        low, high = ratio_range(medians[("teacher", batch, threads)], medians[("student", batch, threads)])
        verdict = "holds" if low <= flops_ratio <= high else "fails"
        print(f"    batch {batch:2d}, {threads} thread(s): {latency('teacher', batch, threads) / latency('student', batch, threads):5.1f}× "
              f"(noise allows {low:.1f}–{high:.1f}×) → prediction (b) {verdict}")

# %% [markdown]
# (Answers to the predictions and to the questions under the latency table.) Read your verdicts above.
# Three costs besides arithmetic are at work:
#
# - **A fixed cost per layer call** — Python, dispatching the operator, allocating the output. It is
#   the same for 1 image or 64, so batching spreads it thin. It pulls the teacher/student ratio
#   towards 1× (both models have about the same number of layers).
# - **Memory traffic** — every call reads all the weights from memory. For one image the teacher reads
#   all its weights (the size printed in section 4) to do very little arithmetic with each; a batch of
#   64 reuses each weight 64 times. Weight traffic pulls the ratio towards the *bytes* ratio, which here
#   is larger than the FLOPs ratio — especially when the student's weights fit in the CPU's caches and
#   the teacher's don't.
# - **Threads** — a second thread only pays off when there is enough work to split (more at batch 64
#   than at batch 1), and on a busy machine it may have to wait for a core.
#
# The first two pull the teacher/student ratio in opposite directions, so when prediction (b) holds it
# is partly by coincidence of the two. Prediction (a) has no such luck: batching removes per-call
# costs, so one image alone always costs more than its share of a batch.
#
# How these weigh depends on the hardware, the batch size and the thread count. That is why every speed
# claim in this course is a measured latency with its batch size and thread count — never a FLOPs
# estimate.

# %% [markdown]
# ## 8. The results table
#
# The numbers to compare against in the next lessons (which re-measure with the same rules: latencies
# depend on the machine and the moment, so always compare ratios measured in one run).

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
    ratio = f"{100 * (t - s):+.1f} points" if label == "test accuracy" else f"{t / s:.2f}×"
    print(f"{label:22s} {fmt.format(t):>12s} {fmt.format(s):>12s} {ratio:>16s}")

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
# 3. How many cores does your machine have (first cell)? Predict how the 2-thread rows would change on a
#    machine with more cores, or with only one, then check if you can.
# 4. A colleague reports "the student is 5× faster" from a FLOPs count. What would you ask them?
# 5. Was the first timed call of the fresh teacher slower than the typical one on your machine? Which
#    one-off costs could a first call pay? Would they return if you fed it a batch of a different size?
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
