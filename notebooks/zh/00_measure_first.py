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
# # 00 · 先测量 (Measure first)
#
# *在让网络变得更轻、更快之前，我们得先有数字来说明：它现在到底有多轻、有多快。*
#
# 本课会在真实数据上测量两个真实的模型——课程中的**教师模型 (teacher)**（一个较大的 CNN）和**学生模型 (student)**（一个较小的 CNN）——用到的正是课程后面反复使用的全部度量方式：
#
# | 问题 | 度量 |
# |---|---|
# | 模型还靠得住吗？ | 在留出的测试集 (test split) 上的准确率 (accuracy) |
# | 模型有多重？ | 参数量 (parameters)、磁盘占用 |
# | 一次预测要做多少计算？ | 浮点运算次数 FLOPs (floating-point operations) |
# | 用户要等多久？ | 延迟 (latency)：先预热 (warm-up)，再多次运行，取中位数 (median) 和 p90，并注明批大小 (batch size) 和线程数 (threads) |
#
# 后面的每一课都会拿自己的结果和这里算出的数字作比较。本笔记本中没有任何手工填写的数字：每一个数字都是你运行时在自己的机器上实测出来的。

# %%
import os

# 空闲的 OpenMP 线程会忙等 (busy-wait)；在共享的 2 核机器上，这可能让 2 线程的计时慢上几十倍。
# 设为 PASSIVE 后它们会休眠。这个设置只有在导入 torch 之前完成才会生效。
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
# ## 1. 数据：真实的手写数字
#
# scikit-learn 自带 1,797 张扫描得到的手写数字，每张都是 8×8 的灰度图，因此无需下载任何东西。`load_dataset` 把它们划分为训练集、验证集和测试集 (train / validation / test)：各部分保持相同的类别比例（分层抽样，stratified），划分结果只取决于随机种子 (seed)。

# %%
splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, batch_size=64, seed=0)
print(splits)

from matplotlib.figure import Figure  # noqa: E402 - 放在第一次用到它的地方

fig = Figure(figsize=(8, 1.6), layout="constrained")
for i, ax in enumerate(fig.subplots(1, 10)):
    image, label = splits.test[i]
    ax.imshow(image[0], cmap="gray_r")
    ax.set_title(splits.class_names[label], fontsize=9)
    ax.axis("off")
fig

# %% [markdown]
# ## 2. 两个模型，只训练一次
#
# `TeacherNet` 和 `StudentNet` 是本课程使用的两个模型：教师模型有六个带 BatchNorm 的卷积层，学生模型有五个更窄、不带 BatchNorm 的卷积层，两者后面都接一个小小的分类器。训练教师模型大约需要十五秒，所以 `pretrained` 只训练一次，并把权重保存在项目的 `.cache/` 文件夹里；之后哪一课再要用，不到一秒就能拿到。

# %%
teacher = pretrained("teacher")
student = pretrained("student")
models = {"teacher": teacher, "student": student}
print(student)

# %% [markdown]
# ## 3. 准确率：结果还对吗？
#
# 答案如果是错的，速度再快也毫无意义，所以先看准确率。我们在**测试集**上测量它——这部分数据在任何一次训练中都没有出现过。

# %%
accuracy = {name: evaluate(m, loaders.test).accuracy for name, m in models.items()}
for name, acc in accuracy.items():
    print(f"{name:8s} test accuracy: {acc:.2%} on {len(splits.test)} images")

# %% [markdown]
# ## 4. 参数量与磁盘大小
#
# 一个输入通道数为 `c_in`、输出通道数为 `c_out`、卷积核大小为 `k×k` 的卷积层，含有 `c_out · c_in · k · k` 个权重，外加 `c_out` 个偏置 (bias)。我们先在教师模型的第一层上验证这个公式，再把全部参数数一遍。

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
# 磁盘大小几乎正好等于每个参数 4 字节（一个 float32）。多出来的一点点，一部分是文件自身的记录信息；对教师模型来说，还有 BatchNorm 的滑动均值和方差 (running mean / variance)：它们是会被保存下来的缓冲区 (buffer)，但不算参数。第 03 课（量化，quantization）要削减的是“4 字节”这一项，第 02 课（剪枝，pruning）要削减的则是“参数个数”这一项。

# %% [markdown]
# ## 5. FLOPs：一次预测要做多少算术？
#
# 卷积在 `H·W` 个输出位置中的每一个上，都要计算 `c_out` 个长度为 `c_in·k·k` 的点积：总共是 `c_out·c_in·k·k·H·W` 次乘加 (multiply-add)，也就是两倍于此的 FLOPs（和 `torch.utils.flop_counter` 的约定一样，一次乘加记作 2 次浮点运算）。

# %%
x1 = splits.test[:1][0]  # 一张图像，形状 (1, 1, 8, 8)
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
# ## 6. 延迟：用户要等多久？
#
# 给模型计时看上去很简单：按下秒表，调用模型，停下秒表。我们就照这个办法，对一个刚刚新建的教师模型连续调用二十次，把每一次的耗时都列出来看看。

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
# 在大多数机器上，最开始的几次调用最慢：它们要支付一些一次性开销——分配内存、选择计算内核 (kernel)、填充缓存——而一个持续运行的服务之后再也不用付这些代价。规则 1：计时之前先**预热**。
#
# 即使预热过了，每次运行的耗时仍会上下波动：操作系统、其他程序以及 CPU 的时钟频率都会带来干扰。一次慢的运行就能把*平均值 (mean)* 拉高，而**中位数**（排在正中间的那一次）却不受影响。**p90**（有 90% 的运行比它快）反映的是用户“运气不好”时看到的情况。规则 2：对**多次运行**计时，并报告中位数和 p90。`measure_latency` 同时遵循这两条规则。

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
# 规则 3：**说清楚你测的是什么**。延迟取决于批大小（一次处理一张图像，还是一次 64 张？），也取决于 torch 可以使用多少个线程。下面我们在批大小 1 和 64、线程数 1 和 2 的各种组合下，分别测量两个模型。

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
# 继续往下之前，先仔细读一读这张表：
# - 一张图像放进 64 张的批次里一起处理，能便宜多少（比较 `ms / image` 一列）？
# - 批大小为 1 时，2 个线程有帮助吗？批大小为 64 时呢？（答案取决于你的机器：动手试一试。）

# %% [markdown]
# ## 7. FLOPs 之比不等于延迟之比
#
# FLOPs 统计的是算术运算量。假如耗时只取决于算术量，那么：(a) 一张图像无论单独处理，还是放在 64 张的批次里处理，所花的时间都应该一样——它的 FLOPs 完全相同；(b) 在任何批大小和线程数下，教师模型比学生模型慢的倍数，都应该恰好等于二者的 FLOPs 之比。下面就用上面的测量结果来检验这两个预言。

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
# 在 CPU 上、面对这么小的图像，通常至少有一个预言会落空——请看你的机器打印出的结论。每调用一次某一层，都有一笔固定开销：Python 本身、算子分派 (dispatch)、为输出分配内存、把权重从内存搬进 CPU 缓存……这笔开销不会随着算术量的减少而缩小。在 8×8 的图像上，每一层做的算术都很少，因此对单张图像来说，固定开销占了耗时的很大一部分；而批处理会把这些开销分摊到 64 张图像上。线程数又会改变局面：只有当工作量多到值得拆分时，第二个线程才划算；在繁忙的机器上，它还可能要排队等待空闲的核心。FLOPs 衡量的是*工作量*，而延迟还包含*额外开销*和*内存访问*；三者各占多大比重，取决于硬件、批大小和线程数。正因如此，本课程中每一个关于速度的结论，都是注明了批大小和线程数的实测延迟——绝不是 FLOPs 估算。

# %% [markdown]
# ## 8. 结果汇总表
#
# 这些数字是课程后续各课的参照基准。

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
# ## 观察与解释
#
# 1. 学生模型的参数量大约只有教师模型的十分之一。为什么它们的 FLOPs 之比和参数量之比不一样？（提示：网络中大部分参数在哪里？大部分算术又发生在哪里？卷积中的一个权重会在输入的每一个位置上被使用。）
# 2. 再运行一次测量延迟的单元格。两次运行之间，哪些数字变化最大：中位数还是 p90？为什么？
# 3. 你的笔记本电脑比我们的 2 核测试机拥有更多核心。先预测一下，在你的机器上 2 线程的那几行会怎样变化，再动手验证。
# 4. 一位同事根据 FLOPs 计数报告说“学生模型快 5 倍”。你会向他追问什么？
# 5. 新建的教师模型第一次被计时的调用比后面几次都慢。它可能支付了哪些一次性开销？如果换一个不同大小的批次喂给它，这些开销会再次出现吗？
#
# ## 小结
#
# - *更轻* = 更少的参数、更少的字节；*更快* = 在注明的批大小和线程数下，实测延迟更低。每一次都要在测试集上测量准确率。
# - 先预热，再多次计时，报告中位数和 p90，并注明批大小和线程数。
# - FLOPs 预测的是工作量，而不是时间：额外开销和内存访问同样重要，输入越小越是如此。
#
# **本课对应的清单项：** E3——理解不同硬件平台的性能特点（本课具体指：CPU 上的线程数和批大小）。
#
# **下一步：** 完成练习 `exercises/zh/00_measure_first.py`（手算参数量和 FLOPs；编写一个带预热、中位数和 p90 的延迟测量函数），然后进入第 01 课：知识蒸馏 (knowledge distillation)。
