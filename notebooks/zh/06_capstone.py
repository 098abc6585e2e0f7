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
# # 06 · 综合项目：针对真实预算选择并组合方法
#
# *一种方法"好不好"，只能相对于预算来说。这里把预算写下来，由成绩单（report card）亲自测量每个候选模型——
# 没有人可以自报成绩。*
#
# 第 01–05 课给了你四件工具：**知识蒸馏**（让更小的架构向教师学习）、**剪枝**（更少的权重；整通道移除后
# FLOPs 也更少）、**量化**（用 8 位整数代替 32 位浮点数）和**导出**（用 ONNX Runtime 代替 Python 里的
# eager torch）。本课将：
#
# 1. 阅读四张**场景卡片**——手机应用、批处理服务器、微控制器、质量优先的流水线——每张卡片都是一组预算项；
# 2. 在微控制器卡片上走一遍**完整流水线**：蒸馏 → 剪枝 → 微调 → 量化 → 导出，每一步之后都打印成绩单；
# 3. 在每张卡片上测量每个候选模型，并根据*你自己*的测量结果论证每张卡片需要哪些方法。
#
# 速度预算是**相对于同一次运行中测得的 fp32 教师的比值**（"加速比 ≥ 8×"），而不是毫秒数：更慢的笔记本
# 也会让教师变慢，所以同一张卡片在哪台机器上都公平。

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
# ## 1. 场景卡片
#
# 每张卡片规定了批大小和线程数（延迟在这个条件下测量）以及若干预算项。
# `report_card(candidate, card, data=splits, reference=teacher_card)` 会亲自测量测试集准确率、参数量、
# 磁盘大小（真正要交付的文件）、FLOPs、卡片规定的批大小和线程数下的 p50/p90 延迟，以及所用的运行时——
# 无论候选是 torch 模型还是导出的文件——并逐项给出通过/未通过。
#
# **运行之前先预测**：教师是我们最准确的模型。它会在微控制器卡片的哪几项上失败？差多少？

# %%
micro = SCENARIOS["micro"]
teacher_card = report_card(teacher, micro, data=splits, reference="self", name="teacher")
print(teacher_card)

# %% [markdown]
# ## 2. 在微控制器卡片上走一遍完整流水线
#
# ### 第 1 步——蒸馏
# 缓存中的学生模型已经用标签训练过；我们再从教师蒸馏一个 epoch（第 01 课，温度 4），在此基础上继续。
# （从零训练学生所需的时间超过本课的时间预算；第 01 课已经在多个随机种子上测量过蒸馏的收益。）
#
# **预测**：学生的参数量大约少 10 倍。它现在能通过哪些预算项？
#
# （和最后打印的缓存学生比较：对一个已经拟合了标签的学生，一个 epoch 的蒸馏只会让准确率变化几张测试图像，
# 可能变好也可能变差。这一步真正贡献的是小架构；蒸馏本身在哪里有用——标签很少、缺少某个类别——见第 01 课。）

# %%
distilled = clone_model(student)
distill(distilled, teacher, loaders.train, epochs=1, temperature=4.0, alpha=0.7, lr=3e-4, seed=0, progress=False)
student_card = report_card(student, micro, data=splits, reference=teacher_card, name="student (cached)")
pipeline = [teacher_card, report_card(distilled, micro, data=splits, reference=teacher_card, name="distilled")]
print(pipeline[-1])
print(f"accuracy change from one epoch of distillation: {100 * (pipeline[-1].accuracy - student_card.accuracy):+.2f} "
      f"points (1 test image = {100 / len(splits.test):.2f} points)")

# %% [markdown]
# ### 第 2 步——按整通道剪枝，然后微调
# 非结构化的零既不会让稠密文件变小，也不会让稠密计算变快（第 02 课）：我们按滤波器范数去掉每层一半的通道，
# 微调两个 epoch，再把这些通道从模型中真正删除。

# %%
pruned = magnitude_prune(clone_model(distilled), 0.5, structured=True)
before_finetune = report_card(pruned, micro, data=splits, reference=teacher_card, name="pruned, no fine-tune")
finetuner(loaders.train, epochs=2, lr=1e-3)(pruned, 0)
slim = remove_channels(pruned, example_input=splits.test.tensors[0][:2])
pipeline += [before_finetune, report_card(slim, micro, data=splits, reference=teacher_card, name="pruned+fine-tuned")]
print(report_table(pipeline))

# %% [markdown]
# ### 第 3 步——量化并导出
# 卡片要求 int8 权重：浮点模型无论多小都过不了这一项。`int8_onnx` 先导出模型（第 05 课），再写出一个
# int8 QDQ 副本：逐通道 int8 权重，用 256 张训练图像校准（第 03 课）。我们也导出 fp32 模型，以便区分
# 运行时带来的收益和整数带来的收益。
#
# **预测**：int8 文件比 fp32 文件小多少：4 倍，还是更少？为什么可能更少？

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
# **观察并解释**（答案在图的下方）：
# 1. 不微调的剪枝损失了准确率；两个 epoch 的微调找回了多少？
# 2. 剪枝模型的 fp32 ONNX 文件比同一模型在 eager torch 中更快，而权重完全相同。批大小为 1 时，
#    eager torch 的时间花在哪里？
# 3. 通过 *int8 权重* 这一项需要哪一步？通过 *大小* 这一项又需要哪一步？

# %%
display(pareto_plot(pipeline, title="micro card: every step of the pipeline"))

# %% [markdown]
# *答案。* (1) 比较表中 "pruned, no fine-tune" 和 "pruned+fine-tuned" 两行：去掉一半通道会改变每一层的输入，
# 剩下的权重在几个 epoch 内就能适应。(2) 批大小为 1 时计算量很小；eager torch 每一层都要付出 Python 和
# 分发器的开销，而 ONNX Runtime 执行的是预先规划好的计算图。(3) 只有量化能把权重变成整数；大小这一项则两者
# 都需要——int8 的教师仍然大得多，fp32 的剪枝模型文件也超标。

# %% [markdown]
# ## 3. 决策：每张卡片用哪些方法？
#
# 同一批候选模型在每张卡片上测量（教师在每张卡片上、按该卡片的批大小和线程数重新计时，所以每个加速比
# 都是同一次运行中的比值）。我们加入 int8 教师和 int8 蒸馏学生，让每种方法也能单独出场。
#
# **运行之前先预测**：对每张卡片，能通过的*最小*候选是哪一个？

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
# **根据你的表格来论证**（用你的数字，而不是我们的——更慢或更忙的机器可能改变某个速度项的结果，
# 而这正是生产环境中卡片会告诉你的事）：
#
# - **手机应用**（批大小 1、单线程、下载大小上限、高准确率）：加速比和大小两项既要小架构*又要* int8；
#   剪枝损失的准确率是这张卡片负担不起的。看看哪些行只在*准确率*上失败，哪些只在*大小*上失败。
# - **批处理服务器**（批大小 256、两个线程）：大批量时主要是算术运算，所以 FLOPs 很重要。fp32 学生离速度线
#   很近（在空闲机器上约 3 倍）：一个与预算的差距在噪声之内的结果，这次通过、下次就可能失败，所以交付时要留
#   余量——int8 学生可以轻松越过这条线。比较 int8 *教师*在这里和在手机卡片上的加速比：int8 内核并不对所有
#   形状同样有效。
# - **微控制器**：int8 这一项排除了所有浮点模型，大小这一项排除了所有未剪枝的模型——需要整条流水线。
# - **质量优先**：在这个划分上（约 360 个样本），半个百分点只相当于一两张测试图像。只有基本没改变教师函数的
#   模型才能保持在范围内：量化教师是最省事的答案；也看看你的蒸馏学生是否恰好足够接近。
#
# *在 GPU 上答案会变*：批大小为 256 时，GPU 让教师的 FLOPs 几乎不花时间，所以服务器卡片可以保留教师
# （用 fp16），把预算花在准确率上；而 CPU 执行器上的 int8 ONNX 就不再是最快的路径。第 04 课在 GPU 上测量了这一点：
# 下一个单元格会打印它记录的 GPU 表格；如果没有记录（没有 GPU），它会明说——那时请把这一段当作预测，而不是测量结果。

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
# ## 小结
#
# - 预算把"哪种方法最好？"变成了一个可测量的问题；成绩单逐项回答它，失败的预算项会说明是哪个预算、差多少。
# - 知识蒸馏以很小的准确率代价换来更小的架构；结构化剪枝以一些准确率换来 FLOPs 和字节数；int8 几乎不损失
#   准确率就换来字节数（约 3–4 倍）和 CPU 速度；导出在批大小为 1 时省掉了运行时开销。不同卡片需要不同的组合。
# - 清单：**U4**（能够根据应用需求选择合适的压缩方法——第 3 节和练习 U4）和 **E4**（具备端到端的模型优化
#   能力——第 2 节和练习 E4，由 `coursekit check` 重新测量）。
