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
# # 06 · Capstone: choose and combine methods for a real budget
#
# *A method is only "good" against a budget. Here the budget is written down, and a report card
# measures every candidate against it — nobody self-reports.*
#
# Lessons 01–05 gave you four tools: **distillation** (a smaller architecture that learns from the
# teacher), **pruning** (fewer weights, and with whole channels removed, fewer FLOPs), **quantization**
# (8-bit integers instead of 32-bit floats) and **export** (ONNX Runtime instead of Python-eager torch).
# This lesson
#
# 1. reads four **scenario cards** — a phone app, a batch server, a microcontroller, a quality-first
#    pipeline — each a list of budget lines;
# 2. runs a **worked pipeline** on the microcontroller card: distil → prune → fine-tune → quantize →
#    export, printing the report card after every step;
# 3. measures every candidate on every card and argues, from *your* numbers, which methods each
#    card needs.
#
# Speed budgets are **ratios to the fp32 teacher timed in the same run** ("speed-up ≥ 8×"), not
# milliseconds: a slower laptop slows the teacher too, so the same card stays fair everywhere.

# %%
import os

# Idle OpenMP threads busy-wait and make 2-thread timings on a busy machine far slower; PASSIVE makes
# them sleep. It only works if set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# %matplotlib inline

import tempfile
from pathlib import Path

import torch
from IPython.display import display

from coursekit.capstone import int8_onnx, report_card, report_table
from coursekit.data import load_dataset, make_loaders
from coursekit.distill import distill
from coursekit.export import to_onnx
from coursekit.plots import pareto_plot
from coursekit.pretrained import pretrained
from coursekit.prune import clone_model, finetuner, magnitude_prune, remove_channels
from coursekit.scenarios import SCENARIOS
from coursekit.stats import claim

torch.manual_seed(0)
splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, 64, seed=0)
teacher = pretrained("teacher", progress=False)  # lesson 00's teacher, from the cache
student = pretrained("student", progress=False)  # the small architecture, trained on labels only
work = Path(tempfile.mkdtemp(prefix="capstone-"))  # the artefacts we ship: files, measured from disk
calibration = splits.train.tensors[0][:256]  # inputs for int8 calibration (lesson 03)
print(splits)
for card in SCENARIOS.values():
    print(card.describe(), end="\n\n")

# %% [markdown]
# ## 1. The cards
#
# Each card has a batch size and a thread count (where its latency is measured) and budget lines.
# `report_card(candidate, card, data=splits, reference=teacher_card)` measures, itself, the test
# accuracy, parameters, size on disk (of the file that would ship), FLOPs, p50/p90 latency at the
# card's batch and threads, and the runtime used — for a torch model or an exported file — and says
# pass/fail per line.
#
# **Predict before you run**: the teacher is the most accurate model we have. Which lines of the
# microcontroller card will it fail, and by how much?

# %%
micro = SCENARIOS["micro"]
teacher_card = report_card(teacher, micro, data=splits, reference="self", name="teacher")
print(teacher_card)

# %% [markdown]
# ## 2. Worked pipeline on the microcontroller card
#
# ### Step 1 — distil
# The cached student already learned from the labels; one epoch of distillation from the teacher
# (lesson 01, temperature 4) continues from there. (Training a student from scratch would take longer
# than this lesson may; lesson 01 measured what distillation buys over seeds.)
#
# **Predict**: the student has about 10× fewer parameters. Which lines will it pass now?
#
# (Compare with the cached student, printed last: on a student that already fits the labels, one epoch
# of distillation moves accuracy by a few test images, either way. What this step contributes is the
# small architecture; lesson 01 showed where distillation itself pays — few labels, an omitted class.)

# %%
distilled = clone_model(student)
distill(distilled, teacher, loaders.train, epochs=1, temperature=4.0, alpha=0.7, lr=3e-4, seed=0, progress=False)
student_card = report_card(student, micro, data=splits, reference=teacher_card, name="student (cached)")
pipeline = [teacher_card, report_card(distilled, micro, data=splits, reference=teacher_card, name="distilled")]
print(pipeline[-1])
print(f"accuracy change from one epoch of distillation: {100 * (pipeline[-1].accuracy - student_card.accuracy):+.2f} "
      f"points (1 test image = {100 / len(splits.test):.2f} points)")

# %% [markdown]
# ### Step 2 — prune whole channels, then fine-tune
# Unstructured zeros do not shrink a dense file or speed up a dense kernel (lesson 02): we remove half
# of every layer's channels by filter norm, fine-tune two epochs, and rebuild the model without them.

# %%
pruned = magnitude_prune(clone_model(distilled), 0.5, structured=True)
before_finetune = report_card(pruned, micro, data=splits, reference=teacher_card, name="pruned, no fine-tune")
finetuner(loaders.train, epochs=2, lr=1e-3)(pruned, 0)
slim = remove_channels(pruned, example_input=splits.test.tensors[0][:2])
pipeline += [before_finetune, report_card(slim, micro, data=splits, reference=teacher_card, name="pruned+fine-tuned")]
print(report_table(pipeline))

# %% [markdown]
# ### Step 3 — quantize and export
# The card asks for int8 weights: a float model fails that line whatever its size. `int8_onnx`
# exports the model (lesson 05) and writes an int8 QDQ copy with per-channel int8 weights, calibrated
# on 256 training images (lesson 03). We also export the fp32 model, to separate what the runtime buys
# from what the integers buy.
#
# **Predict**: how much smaller is the int8 file than the fp32 one: 4×, or less? Why might it be less?

# %%
slim_fp32 = to_onnx(slim, work / "slim-fp32.onnx", splits.test.tensors[0][:2])
slim_int8 = int8_onnx(slim_fp32, work / "slim-int8.onnx", calibration)  # from the fp32 file
pipeline += [report_card(slim_fp32, micro, data=splits, reference=teacher_card, name="pruned fp32.onnx"),
             report_card(slim_int8, micro, data=splits, reference=teacher_card, name="pruned int8.onnx")]
print(report_table(pipeline))
print()
print(pipeline[-1])
fp32_card, int8_card = pipeline[-2], pipeline[-1]
ratio = fp32_card.size_bytes / int8_card.size_bytes
claim(ratio > 2, f"the int8 file is {ratio:.1f}× smaller than the fp32 file (less than 4×: scales, biases and the graph stay)",
      f"int8 文件比 fp32 文件小 {ratio:.1f} 倍（不到 4 倍：缩放因子、偏置和计算图本身都还在）")
claim(abs(int8_card.accuracy - fp32_card.accuracy) <= 0.011,
      f"int8 costs {100 * (fp32_card.accuracy - int8_card.accuracy):+.2f} points of accuracy (within about 1 point)",
      f"int8 带来的准确率变化为 {100 * (fp32_card.accuracy - int8_card.accuracy):+.2f} 个百分点（约 1 个百分点以内）")

# %% [markdown]
# **Observe and explain** (answers below the plot):
# 1. Pruning without fine-tuning lost accuracy; how much did two epochs of fine-tuning win back?
# 2. The fp32 ONNX file of the pruned model is faster than the same model in torch eager. Its weights
#    are the same: where does the time go in eager torch at batch 1?
# 3. Which single step was needed to pass the *int8 weights* line, and which to pass the *size* line?

# %%
display(pareto_plot(pipeline, title="micro card: every step of the pipeline"))

# %% [markdown]
# *Answers.* (1) Compare the rows "pruned, no fine-tune" and "pruned+fine-tuned" in the table: removing
# half the channels changes every layer's input, and the remaining weights adapt in a few epochs.
# (2) At batch 1 the arithmetic is tiny; eager torch pays Python and dispatcher overhead per layer,
# ONNX Runtime runs a pre-planned graph. (3) Only quantization turns the weights into integers; size
# needed both — the int8 teacher is still far too big, and the pruned fp32 file too.

# %% [markdown]
# ## 3. Decision: which methods for which card?
#
# The same candidates, measured on every card (the teacher is re-timed on each card, at its batch and
# threads, so every speed-up is a same-run ratio). We add the int8 teacher and the int8 distilled
# student, so each method also appears on its own.
#
# **Predict before you run**: for each card, which candidate is the *smallest* that passes?

# %%
candidates = {
    "distilled": distilled,
    "pruned": slim,
    "teacher int8": int8_onnx(teacher, work / "teacher-int8.onnx", calibration),
    "distilled int8": int8_onnx(distilled, work / "distilled-int8.onnx", calibration),
    "pruned int8": slim_int8,
}
print({name: type(c).__name__ for name, c in candidates.items()})

# %%
results = {}
for key, card in SCENARIOS.items():
    runs = 5 if card.batch > 1 else 30  # batch 256 on 2 threads: fewer runs keep the lesson short
    ref = report_card(teacher, card, data=splits, reference="self", name="teacher", runs=runs, warmup=2)
    results[key] = [ref] + [report_card(c, card, data=splits, reference=ref, name=n, runs=runs, warmup=2)
                            for n, c in candidates.items()]
    print(f"== {card.name}: " + ", ".join(str(line) for line in card.budgets))
    print(report_table(results[key]), end="\n\n")

# %%
for key, cards in results.items():
    passing = sorted((c for c in cards if c.passed), key=lambda c: c.size_bytes)
    best = f"{passing[0].name} ({passing[0].size_kb:.0f} KiB)" if passing else "none of these"
    print(f"{SCENARIOS[key].name:<16} smallest passing: {best}")
    for c in cards:
        if not c.passed:
            print(f"    {c.name:<15} " + "; ".join(c.failures()))
every = [name for name in ["teacher", *candidates] if all(
    next(c for c in cards if c.name == name).passed for cards in results.values())]
claim(not every, "no single candidate passes every card: each card needs its own combination",
      "没有一个候选模型能通过所有卡片：每张卡片需要自己的方法组合")

# %% [markdown]
# **Argue from your table** (your numbers, not ours — a slower or busier machine may change a
# speed line, which is exactly what the card would say in production):
#
# - **Phone app** (batch 1, one thread, download cap, high accuracy): the speed-up and the size line
#   want a small architecture *and* int8; pruning cost accuracy the card does not have to spare.
#   Look at which rows fail only *accuracy* and which only *size*.
# - **Batch server** (batch 256, two threads): at large batches the work is arithmetic, so FLOPs
#   matter. The fp32 student sits close to the speed line (about 3× on a quiet machine): a result
#   within noise of its budget passes one run and fails the next, so ship it with margin — the int8
#   student clears it comfortably. Compare the int8 *teacher's* speed-up here with its speed-up on the
#   phone card: int8 kernels do not help every shape equally.
# - **Microcontroller**: the int8 line rules out every float model, the size line every unpruned one —
#   the whole pipeline.
# - **Quality first**: half a point is one or two test images on this split (≈ 360 examples). Only
#   models that did not change the teacher's function much stay within it: quantizing the teacher is
#   the cheap answer; check whether your distilled student happens to be close enough.
#
# *On a GPU the answer would change*: at batch 256 a GPU makes the teacher's FLOPs nearly free, so the
# server card could keep the teacher (in fp16) and spend its budget on accuracy, while int8 ONNX on the
# CPU provider would not be the fast path. Lesson 04 measures this on a GPU: the next cell prints its
# recorded GPU table, or says that none is recorded — then treat this paragraph as a prediction, not a
# measurement.

# %%
from coursekit.gpu import gpu_reference  # lesson 04's recorded GPU table, if one was recorded

gpu = gpu_reference()
if gpu is None:
    print("No GPU reference table is recorded here (lesson 04's benchmarks/gpu_reference.py needs CUDA):\n"
          "the GPU paragraph above is a prediction, not a measurement.")
else:
    print({k: v for k, v in gpu.items() if not isinstance(v, (list, dict))})
    for row in gpu.get("rows", [])[:8]:
        print(row)

# %%
display(pareto_plot(results["phone"], title="phone card: all candidates"))

# %% [markdown]
# ## Summary
#
# - A budget turns "which method is best?" into a measurable question; the report card answers it
#   per line, and a failing line says which budget and by how much.
# - Distillation buys a smaller architecture at little accuracy; structured pruning buys FLOPs and
#   bytes at some accuracy; int8 buys bytes (≈ 3–4×) and CPU speed at almost none; export buys
#   the runtime's overhead at batch 1. The cards need different combinations.
# - Checklist: **U4** (choose a suitable compression method for an application's needs — section 3 and
#   exercise U4) and **E4** (optimise a model end to end — section 2 and exercise E4, re-measured by
#   `coursekit check`).
