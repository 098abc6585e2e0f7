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
# # 04 · 内存、精度与硬件
#
# *训练时内存都花在了哪里？怎样把它省回来？同一个技巧为什么能让一台机器变快，却让另一台变慢？*
#
# 第 01–03 课让模型变小了。这一课关心的是*训练*和*运行*模型要机器付出什么，并在你自己的机器上把每一步都测出来：
#
# - 训练内存的账本——参数、梯度、优化器状态、激活 (activations)——先用算术估计，再实测；
# - **梯度累积 (gradient accumulation)**：用小内存跑大批次；没有 BatchNorm 时完全精确，以及它不再精确的两种情形；
# - **fp32、fp16、bf16**：范围与精度之争，`autocast` 哪些运算用低精度、哪些保留 fp32，fp16 为什么需要**损失缩放 (loss scaling)**，以及 bf16 在*这台* CPU 上的表现；
# - **激活检查点 (activation checkpointing)**：用计算换内存，两边都实测；
# - 你这台机器的 **roofline（屋顶线模型）**：教师模型的哪些层受算力限制、哪些受内存带宽限制，先预测再计时；
# - 为什么同一个技巧在一台机器上划算、在另一台上不划算（有 GPU 就现场测，没有就看记录下来的表格）。
#
# 每个数字都是运行笔记本时实测的；计时有噪声，所以对比都是轮流测量，并给出波动范围。

# %%
import os

# 空闲的 OpenMP 线程会忙等 (busy-wait)，在繁忙的机器上会让 2 线程的计时慢很多；设为 PASSIVE 后它们会休眠。
# 这个设置只有在导入 torch 之前完成才会生效。
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
# ## 1. 训练内存都去哪儿了
#
# 一步训练要同时保存四类张量：
#
# | 部分 | 大小 | 原因 |
# |---|---|---|
# | 参数 (parameters) | 每个权重一个数 | 模型本身 |
# | 梯度 (gradients) | 每个*可训练*权重一个 | `backward` 写入 `.grad` |
# | 优化器状态 (optimizer state) | Adam：每个可训练权重两个（`exp_avg`、`exp_avg_sq`）；带动量的 SGD：一个；普通 SGD：没有 | 优化器对过去步骤的记忆 |
# | 激活 (activations) | 取决于批大小 | 前向传播为了让 `backward` 能算梯度而保留的张量 |
#
# **运行前先预测：** 教师模型约有 130 万个参数，用 Adam、批大小 64 在 8×8 的手写数字上训练。四部分里哪一部分最大？写下你以 MB 计的猜测。
#
# 先估计：前三部分都是参数个数 × 4 字节（fp32）。激活部分则列出一次前向传播产生的每个中间张量（每层的输出，加上输入），把它们的大小加起来。

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
# 现在来实测。`activation_bytes` 用 `torch.autograd.graph.saved_tensors_hooks` 跑一次训练模式的前向传播，它能看到 autograd 为反向传播保留的每一个张量；同一块存储 (storage) 被保存两次（或以视图形式出现）只算一次。autograd 保留的参数（卷积需要自己的权重才能把梯度继续往回传）单独列出：它们本来就在内存里。`measure_training_memory` 再在一份副本上真正跑一步 Adam，数一数 `.grad` 张量和优化器状态。

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
# **观察并解释。** (1) 为什么实测的激活总量不正好等于各层输出之和？想想每一层算梯度需要什么：卷积需要它的*输入*，BatchNorm 需要输入和批统计量，原地 (in-place) ReLU 需要它的输出（而这就是 BatchNorm 的输出，同一块存储），最大池化需要输入和最大值的*下标*（int64），dropout 需要一个掩码。(2) Adam 的状态是参数的两倍：对于一个勉强装进内存的模型做微调，这意味着什么？答案在第 2 节之后。

# %% [markdown]
# ## 2. 激活随批大小增长，其余部分不变
#
# **预测：** 批大小到多少时，激活会超过参数 + 梯度 + Adam 状态三者之和？

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
# **第 1 节的答案。** (1) autograd 对有些层保留*输入*，对另一些层保留*输出*，还有一些小东西（int64 的池化下标、dropout 掩码、BatchNorm 的逐通道统计量），而原地 ReLU 与它前面的 BatchNorm 输出共用存储——所以保存的字节数和输出列表不完全一致，但相差在 2 倍以内。(2) 在第一个激活出现之前，Adam 就需要参数 4 倍的内存（权重、梯度、两个动量）；换成带动量的 SGD 省一份，普通 SGD 省两份——这也是大模型常用更省内存的优化器或冻结部分层来微调的原因（冻结的参数既不需要梯度，也不需要优化器状态）。
#
# 在 8×8 的手写数字上，交叉点出现在很大的批次；换成 32×32 的图像（初始代码用的尺寸），每个激活都大 16 倍，在普通批大小下激活就占了大头。这正是接下来三个技巧的用武之地。

# %% [markdown]
# ## 3. 梯度累积：用小内存跑大批次
#
# 激活内存随批大小增长。想用等效批大小 64 训练，同时一次只保存 16 张图的激活，就把它拆成四个*微批次 (micro-batch)*，让 `backward` 把它们的梯度**累加**到 `.grad` 里，最后只更新一次。64 张图平均损失的梯度是
#
# $$\nabla \frac{1}{64}\sum_{i=1}^{64} \ell_i = \sum_{\text{micro-batches } m} \nabla \frac{1}{64}\sum_{i\in m} \ell_i ,$$
#
# 所以每个微批次的损失必须是它的**总和**除以**整个**批次的大小。循环如下：

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
# **预测：** 有两种方式会破坏这种精确性。(a) 一个批次有 60 张图，拆成 16 + 16 + 16 + 12，每个微批次取*平均*损失再除以微批次个数（一种常见写法）。(b) 模型里有 BatchNorm（教师模型）。哪一种破坏得更厉害？

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
# **观察并解释。** 在 (a) 中，最后一个微批次的 12 张图每张的权重是 1/(4·12)，而不是 1/60：它们比其他图片分量更重。在 (b) 中，BatchNorm 用*每个微批次自己*的均值和方差做归一化，于是每张图的激活——以及梯度——取决于和它同在一个微批次的另外 15 张图；任何除法都无法弥补。运行统计量 (running statistics) 看到的也是四个 16 张的批次，而不是一个 64 张的批次。补救办法：把损失的权重写对（总和 / 总数）；对 BatchNorm，要么接受这点差别，要么用更大的微批次，要么换成不混合样本的归一化（GroupNorm、LayerNorm）。课程的 `fit(..., accumulate_steps=k)` 对 k 个批次的损失取平均：批次大小相同时完全精确；有一个批次较短时，偏差正是 (a) 那种。

# %% [markdown]
# 课程的 `fit` 会替你跑这个循环：`accumulate_steps=4` 表示每四个批次更新一次，用这四个损失的平均值。**预测：** 在 256 张手写数字上，批大小 16 加 `accumulate_steps=4` 的 `fit`，和批大小 64 的 `fit` 结果一样吗？换成 250 张、最后一个 16 张的批次只剩 10 张时呢？

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
# ## 4. fp32、fp16、bf16：范围与精度
#
# 浮点数由符号位、**指数 (exponent)**（数有多大：即*范围*）和**尾数 (mantissa)**（有几位有效数字：即*精度*）组成。fp16 和 bf16 都是 16 位，只是分法不同：

# %%
display(float_formats_figure())
print(f"{'format':6s} {'bits s/e/m':>10s} {'max':>10s} {'smallest normal':>16s} {'smallest subnormal':>19s} {'eps':>9s}")
for f in FLOAT_FORMATS.values():
    print(f"{f.name:6s} {f'{f.sign}/{f.exponent}/{f.mantissa}':>10s} {f.max:10.3g} {f.smallest_normal:16.3g} "
          f"{f.smallest_subnormal:19.3g} {f.eps:9.2g}")

# %% [markdown]
# **预测：** `1 + 0.001`、`70000` 和 `1e-8` 在每种格式里分别变成什么？`256 + 1` 呢？

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
# fp16 精度更高（10 位尾数），但范围很小；bf16 的范围与 fp32 相同（8 位指数），但精度很低。神经网络对丢掉几位有效数字的容忍度，远高于对数值溢出成 `inf` 或消失成 `0` 的容忍度——这就是 bf16 被发明出来的原因，也是 fp16 需要第 6 节那个技巧的原因。

# %% [markdown]
# ## 5. autocast 哪些运算用低精度，哪些保留 fp32
#
# `torch.autocast` 并不转换模型。它*逐个运算*地选择精度：矩阵乘法和卷积（收益最大）用低精度；对舍入敏感的归约和损失函数用 fp32。权重保持 fp32（所谓"主权重" master weights），它们的梯度也是。**预测：** 在 CPU 的 autocast 下，教师模型哪些层输出 bf16？

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
# 第一个卷积接收 fp32 图像，autocast 在入口处把它转成 bf16；之后的层都保持 bf16，因为它们的输入已经是 bf16。损失又回到 fp32（`cross_entropy` 在 autocast 的 fp32 列表里）。在 GPU 上列表略有不同（例如那里的 softmax 用 fp32）：规则是"安全的地方才求快"，逐个运算决定。

# %% [markdown]
# ## 6. fp16 为什么需要损失缩放
#
# 训练好的模型损失很小，梯度也很小——其中许多比 fp16 最小的次正规数 (subnormal)（约 6e-8）还小，会变成精确的 0。这里的梯度用 fp32 计算，我们数一数 fp16 会把它们怎么样。**预测：** 在这个批次上，教师模型的激活梯度有多大比例会在 fp16 里消失？

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
# 损失缩放在 `backward` 之前把损失乘以 `S`（于是每个梯度都大了 `S` 倍，离开下溢区），在优化器更新之前再用 fp32 把梯度除以 `S`。`S` 太大会溢出成 `inf`。`torch.amp.GradScaler` 动态地选择 `S`：从一个大值（2^16）开始，出现 `inf` 时减半并*跳过这一步*，连续若干步正常后再增大。bf16 完全不需要这些：它的范围和 fp32 一样。

# %% [markdown]
# ## 7. bf16 在这台 CPU 上
#
# 字节数减半应该更快——前提是处理器有直接用 bf16 计算的指令。很多 CPU 没有，于是每个 bf16 运算都要先转成 fp32 再转回来。**预测：** 在你的 CPU 上，bf16 autocast 的一步训练比 fp32 快还是慢？

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
# 上面的结论属于这台机器。在没有原生 bf16 运算的 CPU 上（或者 PyTorch 的内核在这些小卷积上用不到它的 bf16 单元），bf16 纯属额外开销：每层都要进出转换，运算却不会更快。有 AMX 的新款 Xeon，或带张量核心 (tensor cores) 的 GPU 上，它可以*快*好几倍。字节减半不等于时间减半；由硬件说了算。

# %% [markdown]
# ## 8. 激活检查点：用计算换内存
#
# 检查点只保留网络中几个*分段 (segment)* 各自的输入；在 `backward` 时再把每段的前向重新跑一遍，重建需要的激活。`checkpointed(model, 3)` 把教师模型的 `features` 分成三段运行（`torch.utils.checkpoint.checkpoint_sequential`，`use_reentrant=False`）。**预测：** 在批大小 64 时它能省多少激活内存？一步训练会慢多少？

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
# **观察并解释。** (1) 随着分段数增加，内存为什么先降后升？（`checkpoint_sequential` 保留*每一段*的输入，并正常运行*最后一段*，因为反向传播马上就要用到它的激活：只分一段等于什么都没做检查点，分太多段又要保留太多输入。反向传播时一次只重建一段的激活——这是一个短暂的峰值，而钩子统计的是从前向保留到反向的张量，看不到它。）(2) 每一步大约多付出一次 `features` 的前向计算：只有当限制你的是内存而不是时间时才值得——比如不用它就装不下的更大批次或更大模型。(3) 一个陷阱：检查点分段里的 BatchNorm 在训练模式下会运行两次，所以它的运行统计量每步会做两次动量更新。上面的输出和梯度完全相同；只是运行平均值漂移得稍快一些。

# %% [markdown]
# ## 9. 你这台机器的 roofline
#
# 一个层需要 `F` 次浮点运算，并且至少要搬运 `B` 个字节（它的输入、输出和权重，各一次）。机器每秒最多算 `P` 次浮点运算、最多搬运 `W` 字节，所以这一层至少要花 `max(F / P, B / W)`。哪一项更大取决于它的**算术强度 (arithmetic intensity)** `I = F / B`：低于*拐点 (ridge point)* `P / W` 就是**受内存限制 (memory-bound)**，高于它就是**受算力限制 (compute-bound)**。
#
# 测一测这台机器的两个"屋顶"（矩阵乘法吞吐量和拷贝带宽；取几次短测量中最好的一次，总共约一秒）：

# %%
peaks = measure_peaks()
print(peaks)
print(f"matmul runs (GFLOP/s): {', '.join(f'{v:.0f}' for v in peaks.gflops_runs)}")
print(f"copy runs (GB/s): {', '.join(f'{v:.1f}' for v in peaks.gbps_runs)}")

# %% [markdown]
# **预测：** 教师模型的卷积层在批大小 1 和批大小 64 时，分别落在拐点的哪一侧？（批大小为 1 时，一个层仍然要读入它全部的权重，只为处理一张图。）

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
# 批大小为 1 时，一个层读入全部权重，每个权重只用一次（卷积里也不过几十次）：算术强度低。批大小 64 时，同样的权重服务 64 张图：强度随之升高，直到字节数的大头变成激活而不是权重。逐元素的层（BatchNorm、ReLU）每读一个元素只做一两次运算：它们在任何机器上都受内存限制。

# %% [markdown]
# **动手探索：** 拖动滑块改变批大小，观察教师模型的各层如何沿着*你这台*机器的 roofline 移动（屋顶是上面测出来的；点是预测值，这里不计时）。批大小到多少时，第一个卷积越过拐点？哪些层永远越不过？上面的静态图给出了批大小 1 和 64 的情形，供没有运行内核的读者参考。

# %%
roofline_explorer(teacher, peaks)

# %% [markdown]
# ## 10. 预测与实测
#
# 现在单独给每一层计时（用它在真实前向传播中收到的输入），并与 roofline 给出的下界对比。**预测：** 批大小为 1 时，实测时间会和预测有多接近？

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
# **观察并解释。** (1) 批大小为 1 时，大多数层花的微秒数 roofline 解释不了：计算量太小，*调用*这一层的开销反而占了主导——模型是**受开销限制 (overhead-bound)** 的，落在屋顶线下方。(2) 批大小 64 时，一些小的逐元素层可能比预测*更快*：它们那几百 KB 的数据放得进 CPU 缓存，而缓存比拷贝测试测到的主存快。roofline 是机器的模型，不是机器本身。(3) 批大小 64 时，哪些层占了实测时间的大头？它们是受算力限制的卷积吗？

# %% [markdown]
# ## 11. 为什么同一个技巧在一台机器上划算，在另一台上不划算
#
# 上面每个技巧改变的都只是其中一项：内存、搬运的字节、运算量或开销。它能不能让模型变快，取决于*那台*机器上限制*那个*模型的是哪一项。下面是这台 CPU 的结果，以及——如果有 GPU，或者记录过 GPU 的结果——GPU 的结果。

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
# 结合 roofline 读这两张表：
#
# - **bf16 / fp16** 让字节数减半，并且在有低精度运算单元的硬件上（GPU 张量核心、CPU 的 AMX）成倍提高运算速率。它们在大批次、受算力或内存限制的层上划算；批大小为 1 时小模型受开销限制，多出来的类型转换反而可能让它*更慢*。在没有快速 bf16 运算的 CPU 上，它们在任何批大小下都更慢（第 7 节测出了你的机器）。
# - **CUDA graphs**（`torch.compile(mode="reduce-overhead")`）消除内核启动开销：恰好在 roofline 不适用的地方——小批次——划算，对受算力限制的训练步毫无帮助。
# - **channels-last** 按张量核心卷积读取的方式排列激活：这是 GPU 上的技巧，在 CPU 上往往无益甚至更慢。
# - **检查点** 总是要花时间；只有当内存是瓶颈时才划算（不用它就装不下的批次或模型）。
# - 批大小为 1 时，手写数字这么小的模型在 *CPU 上可能比 GPU 更快*：启动内核的代价超过了运算本身。
#
# 上面如果显示了 GPU 表格，就在表中逐条找到这些现象；如果还没有记录，CPU 的数字仍然能说明第一条和第四条。

# %% [markdown]
# ## 小结
#
# - 训练内存 = 参数 + 梯度 + 优化器状态（Adam：多两份）+ 激活。前三项固定；激活随批大小增长（也随图像边长的平方增长）。你估计并实测了每一项：算术是对的，autograd 保存的张量与各层输出相差在 2 倍以内。
# - 梯度累积用小批次的激活内存得到大批次的梯度——前提是每个微批次的损失总和除以*整个*批次的大小，并且模型里没有 BatchNorm。BatchNorm 的批统计量和按微批次取平均都会破坏精确性，而且差别可测。
# - fp16 精度够但范围小（需要损失缩放：你数过它会把多少梯度变成零）；bf16 范围大但精度低（不需要缩放）。autocast 逐个运算地选择精度，并让权重、梯度和损失保持 fp32。低精度*是否更快*取决于硬件：你的 CPU 的结论印在第 7 节。
# - 检查点用多一次前向计算换来激活内存的大幅下降，输出和梯度完全相同。
# - roofline 告诉你限制一个层的是什么——运算还是内存搬运——从而知道哪个技巧可能有用；批大小为 1 时，小模型既不受算力也不受带宽限制，而是受每次调用的开销限制。
#
# **本课对应的清单条目：** E3（理解不同硬件平台的性能特点：在你的机器上实测的 roofline、bf16 和开销，以及 GPU 参考数据），T4（能够评估和对比不同方法的效果：用测量说话，并给出噪声范围）。
#
# **下一步：** 练习 `exercises/zh/04_memory_and_hardware.py`（一个与大批次结果一致的梯度累积步、训练内存估计、一个卷积在给定机器上的算术强度，以及给定损失缩放下哪些梯度会在 fp16 中下溢）。
