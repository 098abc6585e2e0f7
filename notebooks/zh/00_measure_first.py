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
# | 模型还够好吗？ | 在留出的测试集 (test split) 上的准确率 (accuracy) |
# | 模型有多重？ | 参数量 (parameters)、磁盘占用 |
# | 一次预测要做多少计算？ | 浮点运算次数 FLOPs (floating-point operations) |
# | 用户要等多久？ | 延迟 (latency)：先预热 (warm-up)，再多次运行，取中位数 (median) 和 p90，并注明批大小 (batch size) 和线程数 (threads) |
#
# 后面的每一课都会拿自己的结果和这里算出的数字作比较。本笔记本中没有任何手工填写的数字：每一个数字都是你运行时在自己的机器上实测出来的。
#
# 一路上，**预测 (Predict)** 请你在运行某个单元格之前先给出答案，**观察与解释 (Observe and explain)** 则针对单元格打印出的结果提问；每个问题都会在几个单元格之后给出答案。以 ✓ 开头的行，是本课对自己测量结果所做的断言，并已检查成立（✗ 表示在你的机器上不成立——找找原因）。

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
# `TeacherNet` 和 `StudentNet` 是本课程使用的两个模型：教师模型有六个带 BatchNorm 的卷积层，学生模型有五个更窄、不带 BatchNorm 的卷积层，两者后面都接一个小小的分类器。训练它们需要一点时间，所以 `pretrained` 只训练一次，并把权重保存在项目的 `.cache/` 文件夹里；之后每一课都直接加载这些权重。下面的单元格会打印准备模型所用的时间，由此可以看出这一次是现场训练的，还是从缓存直接加载的。

# %%
start = time.perf_counter()
teacher = pretrained("teacher")
student = pretrained("student")
print(f"teacher and student ready in {time.perf_counter() - start:.1f} s")
models = {"teacher": teacher, "student": student}
print(student)

# %% [markdown]
# ## 3. 准确率：模型还够好吗？
#
# 答案如果是错的，速度再快也毫无意义，所以先看准确率。我们在**测试集**上测量它——这部分数据在任何一次训练中都没有出现过。

# %%
accuracy = {name: evaluate(m, loaders.test).accuracy for name, m in models.items()}
for name, acc in accuracy.items():
    print(f"{name:8s} test accuracy: {acc:.2%} on {len(splits.test)} images")
print(f"the student is {100 * (accuracy['teacher'] - accuracy['student']):+.1f} percentage points behind the teacher "
      f"(one test image is {100 / len(splits.test):.2f} points)")

# %% [markdown]
# ## 4. 参数量与磁盘大小
#
# 一个输入通道数为 `c_in`、输出通道数为 `c_out`、卷积核大小为 `k×k` 的卷积层，含有 `c_out · c_in · k · k` 个权重，外加 `c_out` 个偏置 (bias)。我们先在教师模型的第一层上验证这个公式，再把全部参数数一遍。
#
# **预测：** 一个 float32 数占 4 个字节。如果教师模型有 N 个参数，它在磁盘上的文件会正好是 4·N 字节、略多一点，还是略少一点？为什么？

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
# （预测的答案。）磁盘大小几乎正好等于每个参数 4 字节（一个 float32）。多出来的那一点点（上面已经算出）由两部分组成：一是会被保存下来、但不算参数的缓冲区 (buffer)，即 BatchNorm 的滑动均值和方差 (running mean / variance)——只有教师模型有；二是文件格式本身的开销（元数据），每保存一个张量 (tensor) 大致要付一笔固定的开销。所以，要让文件变小有两条路：减少参数个数（第 02 课，剪枝 (pruning)，做法是删掉整个通道），或者减少每个参数占用的字节数（量化 (quantization)，在课程的第二阶段）。

# %% [markdown]
# ## 5. FLOPs：一次预测要做多少计算？
#
# 卷积在它的 `H·W` 个输出位置中的每一个上（带 `padding=1` 填充 (padding) 时，3×3 卷积会保持 8×8 的尺寸），都要计算 `c_out` 个长度为 `c_in·k·k` 的点积：总共是 `c_out·c_in·k·k·H·W` 次乘加 (multiply-add)，也就是两倍于此的 FLOPs（和 `torch.utils.flop_counter` 的约定一样，一次乘加记作 2 次浮点运算）。`count_flops` 只统计卷积和矩阵乘法——它们几乎占了全部计算量。BatchNorm、ReLU 和池化 (pooling) 都记作 0 FLOPs，却同样要花时间：这是 FLOPs 和耗时并不一致的第一个迹象。
#
# **预测：** 学生模型的参数量大约是教师模型的十分之一（第 4 节）。它需要的 FLOPs 是否也大约是教师模型的十分之一？（本课最后的第 1 个问题会请你解释看到的结果。）

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
# ## 6. 延迟：用户要等多久？
#
# 给模型计时看上去很简单：按下秒表，调用模型，停下秒表。我们就照这个办法，在单线程下连续调用二十次，把每一次的耗时都列出来看看。这里用的是一个刚刚新建、从未运行过的教师模型（训练好的那个在上面已经被调用过了）；它的权重是随机的，但权重的取值并不影响计算要花多长时间。
#
# **预测：** 这二十次的耗时会差不多吗？如果不会，哪几次会特别突出？

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
typical = statistics.median(naive_ms[10:])  # 第 11-20 次调用的中间值
print(f"first call: {naive_ms[0]:.2f} ms; typical (middle value of calls 11-20): {typical:.2f} ms; "
      f"first / typical = {naive_ms[0] / typical:.1f}×; slowest / fastest call = {max(naive_ms) / min(naive_ms):.1f}×")

# %% [markdown]
# （预测的答案。）通常最开始的几次调用最慢（看看上面打印的 first / typical 之比）：它们要支付一些一次性开销——分配内存、选择计算核 (kernel)、填充缓存——而一个持续运行的服务之后再也不用付这些代价。规则 1：计时之前先**预热**。
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
#
# 规则 4：**了解你的噪声 (noise)**。把上面的单元格再运行一次，中位数就会变。所以下面每种设置都测量三次，而且交错进行（教师、学生、教师……，这样机器偶尔变慢的那一刻会同时影响两个模型），最后取三个中位数中居中的那个，并给出三者的范围。

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
# 继续往下之前，先**观察与解释**这张表（第 7 节会回答这两个问题）：
# - 一张图像放进 64 张的批次里一起处理，每张图像的耗时能降低多少（比较 `ms / image` 一列）？
# - 批大小为 1 时，2 个线程有帮助吗？批大小为 64 时呢？（答案取决于你的机器：动手试一试。）

# %% [markdown]
# ## 7. FLOPs 之比不等于延迟之比
#
# FLOPs 统计的是计算量。假如耗时只取决于计算量，那么：(a) 一张图像无论单独处理，还是放在 64 张的批次里处理，所花的时间都应该一样——它的 FLOPs 完全相同；(b) 在任何批大小和线程数下，教师模型比学生模型慢的倍数，都应该恰好等于二者的 FLOPs 之比。下面就用上面的测量结果来检验这两个预测，同时把测得的噪声考虑在内：只有当预测值落在三次重复测量所允许的范围之外时，才算预测不成立（`coursekit.stats.ratio_range(a, b)`：从 `min(a) / max(b)` 到 `max(a) / min(b)`）。先**预测**：(a) 会成立吗？(b) 呢？

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
# （对预测以及延迟表下面那两个问题的回答。）先看看上面打印的结论（输出中的 “holds” 表示成立，“fails” 表示不成立，“noise allows” 即噪声所允许的范围）。除了计算本身，还有三种开销在起作用：
#
# - **每次调用一层的固定开销**——Python 本身、算子分派 (dispatch)、为输出分配内存。无论是 1 张图像还是 64 张，这笔开销都一样，所以批处理能把它摊薄。它会把教师/学生的延迟之比拉向 1×（两个模型的层数差不多）。
# - **内存访问 (memory traffic)**——每次调用都要从内存中读取全部权重。处理单张图像时，教师模型要读入它的全部权重（大小见第 4 节打印的结果），而每个权重只参与很少的计算；批大小为 64 时，每个权重会被重复使用 64 次。读取权重的开销会把这个比值拉向*字节数*之比，而这里字节数之比比 FLOPs 之比更大——尤其是当学生模型的权重能装进 CPU 缓存 (cache)、而教师模型的装不下时。
# - **线程**——只有当工作量多到值得拆分时（批大小 64 比批大小 1 多得多），第二个线程才划算；在繁忙的机器上，它还可能要排队等待空闲的核心。
#
# 前两种开销把教师/学生之比往相反的方向拉，所以即使预测 (b) 成立，也有几分是两者恰好相互抵消的巧合。预测 (a) 就没有这种运气：批处理省掉了逐次调用的开销，所以单独处理一张图像，总是比它在批次中分摊到的那一份更贵。
#
# 这些因素各占多大比重，取决于硬件、批大小和线程数。正因如此，本课程中每一个关于速度的结论，都是注明了批大小和线程数的实测延迟——绝不是 FLOPs 估算。

# %% [markdown]
# ## 8. 结果汇总表
#
# 这些是后面几课用来对比的数字。后面几课会按同样的规则重新测量：延迟取决于机器和测量的时刻，所以永远只比较同一次运行中测得的比值。

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
# ## 观察与解释
#
# 1. 学生模型的参数量大约只有教师模型的十分之一。为什么它们的 FLOPs 之比和参数量之比不一样？（提示：网络中大部分参数在哪里？大部分计算又发生在哪里？卷积中的一个权重会在输入的每一个位置上被使用。）
# 2. 再运行一次测量延迟的单元格。两次运行之间，哪些数字变化最大：中位数还是 p90？为什么？
# 3. 你的机器有多少个核心（见第一个单元格的输出）？先预测一下：在核心更多、或者只有一个核心的机器上，2 线程的那几行会怎样变化；条件允许的话，再动手验证。
# 4. 一位同事根据 FLOPs 计数报告说“学生模型快 5 倍”。你会向对方追问什么？
# 5. 在你的机器上，新建的教师模型第一次被计时的调用，是否比典型的调用更慢？第一次调用可能要支付哪些一次性开销？如果换一个不同大小的批次喂给它，这些开销会再次出现吗？
#
# ## 小结
#
# - *更轻* = 更少的参数、更少的字节；*更快* = 在注明的批大小和线程数下，实测延迟更低。每一次都要在测试集上测量准确率。
# - 先预热，再多次计时，报告中位数和 p90，并注明批大小和线程数。
# - FLOPs 预测的是工作量，而不是时间：额外开销和内存访问同样重要，输入越小越是如此。
#
# **本课对应的检查清单条目：** E3——理解不同硬件平台的性能特点（本课具体指：CPU 上的线程数和批大小）。
#
# **下一步：** 完成练习 `exercises/zh/00_measure_first.py`（手算参数量和 FLOPs；编写一个带预热、中位数和 p90 的延迟测量函数），然后进入第 01 课：知识蒸馏 (knowledge distillation)。
