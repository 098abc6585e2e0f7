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
# # 03 · 量化 (Quantization)
#
# *用小整数代替 32 位浮点数来存储和计算——并弄清楚这样做究竟付出了什么、换来了什么。*
#
# 本课从最基本的算术出发搭建量化，并在课程训练好的**教师模型 (teacher)** 上测量每一步（训练部分用**学生模型 (student)**）：
#
# - 亲手写出仿射映射 `x ≈ scale · (q − zero_point)`：对称与非对称（仿射）、逐张量与逐通道，以及为什么零必须精确落在网格上；
# - 量化器在两种误差之间的取舍（**舍入 (rounding)** 与**截断 (clipping)**），以及如何在教师模型的真实激活上为激活选定范围（**校准 (calibration)**：最小–最大值或百分位）；
# - 从 8 位一路降到 2 位的训练后量化 (PTQ)，以及在 PTQ 崩溃处用直通估计器 (straight-through estimator) 做量化感知训练 (QAT)；
# - 把 BatchNorm 折叠进卷积、**只用整数**计算一层，以及 k-means 权重共享与线性网格的对比；
# - 一个真正的 int8 模型（ONNX Runtime）：在这台 CPU 上更小、更快，连同噪声一起测量；以及在什么硬件上该用什么工具链。
#
# 每个数字都是运行笔记本时实测的。模型从缓存加载，从不被修改：每个实验都在副本上进行。

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
# ## 1. 亲手写仿射映射
#
# 量化器选定一个由 `2**bits` 个等间距值组成的网格，把每个数替换成离它最近的那个值。网格由两个数描述：**缩放因子 (scale)** `s`（相邻两值之间的步长）和**零点 (zero point)** `z`（代表 0.0 的那个整数）：
#
# `q = clamp(round(x / s) + z, q_min, q_max)`，反过来：`x̂ = s · (q − z)`。
#
# - **对称 (symmetric)**：网格以 0 为中心，`z = 0`，整数取值 `[−(2^(b−1) − 1), 2^(b−1) − 1]`（8 位时为 −127…127），`s = max|x| / 127`。
# - **仿射 (affine，非对称)**：整数 `0 … 2^b − 1` 覆盖范围 `[min(x, 0), max(x, 0)]`，`s = (max − min) / (2^b − 1)`，`z = round(−min / s)`。
#
# 运行下一个单元格之前先**预测**：对 `[−1.0, 0.0, 0.3, 2.54]` 做 8 位对称量化后，哪个值能精确还原？其余的值最多会偏差多少？

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
# 两种方案都能把 0.0 精确还原，其他每个值的偏差最多是半个步长（`s / 2`）——这就是**舍入误差**。`torch.round` 把恰好一半的值舍入到最近的偶数（`round(2.5) = 2`），本课所有量化器都是如此，所以我们的网格与 PyTorch 的逐位一致。仿射方案只把 256 个整数用在 `[−1, 2.54]` 上；对称方案则把一半的整数花在了空无一物的 `[−2.54, −1)` 上：它的步长更大。

# %% [markdown]
# ## 2. 为什么零必须能被精确表示
#
# 教师模型中每个激活有一半恰好是 0（来自 ReLU），而且每个卷积都用零来填充 (padding) 输入。零点取整数，0.0 就能精确落在网格上。假如我们把“精确”的零点 `−low / s` 保留为浮点数（不取整）——那么 0.0 还原回来就是 `s · (round(z) − z)`，一个**处处同号**的小数。下面把第一个 BatchNorm 的输出（ReLU 之前）的范围当作校准得到的范围，测量它对下一个卷积输出的影响。

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
# 用浮点零点时，每个零都带着同样的小误差。普通值的舍入误差有正有负，在卷积的求和中大多相互抵消；同号的误差却不会抵消——它们累加成一个**偏置 (bias)**（比较两行的 “mean” 数字）。正因如此，所有量化方案都把零点取整（并把范围扩展到包含 0）。

# %% [markdown]
# ## 3. 对称还是仿射，逐张量还是逐通道
#
# 整个权重张量只用一个缩放因子，它就必须覆盖最宽的那个输出通道；权重较小的通道便只能用上少数几个量化级别。**逐通道 (per-channel)** 量化给每个输出通道各自的缩放因子（缩放因子是沿第 0 维的一个向量）。权重大致以零为中心，适合对称网格；ReLU 之后的激活全都 ≥ 0，适合仿射网格。
#
# **预测**：在 4 位时，对教师模型的权重而言，哪个更重要——方案（对称/仿射）还是粒度（逐张量/逐通道）？（质量用 SQNR，即信号与量化噪声之比 `10·log10(Σx² / Σ(x − x̂)²)`，单位 dB：每多一位大约增加 6 dB。）

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
# 表格最后一列解释了收益的来源：它是最宽输出通道的最大权重与最窄通道的最大权重之比。共享的缩放因子必须覆盖最宽的通道，于是窄通道能用上的级别更少（见图：逐张量网格比通道 0 自己的网格更粗）。通道之间越不均衡，逐通道缩放的收益就越大。仿射方案对权重的帮助较小（权重几乎关于 0 对称）：粒度比方案更重要。

# %% [markdown]
# ## 4. 舍入与截断
#
# 级别数固定的网格，要么粗略地覆盖一个宽范围，要么精细地覆盖一个窄范围。范围内的值承受**舍入**误差（最多半个步长）；范围外的值被**截断**到范围的端点。缩小范围就是用一种误差换另一种误差。
#
# **预测**：对教师模型第二个 ReLU 的 4 位激活（它在 512 张图像上的真实输出），总误差最小时用的是完整范围 `[0, max]`，还是更窄的范围？

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
# 舍入误差随范围增大而增大（步长变大），截断误差随范围增大而减小；总误差在两者之间最小。最大的那些激活很少见：截断它们代价不大，而其他所有值都得到了更细的网格。

# %% [markdown]
# ## 5. 校准：最小–最大值还是百分位？
#
# 权重事先已知；激活却取决于输入。**校准**把几百张训练图像送进模型，用**观察器 (observer)** 记录每层输入的范围：*最小–最大值 (min–max)* 保留极端值，*百分位 (percentile)* 观察器保留第 0.1 到第 99.9 百分位之间的范围（截掉最罕见的值）。这里两者观察的都是教师模型的真实激活。
#
# **观察并解释（答案在下文）**：8 位时哪个观察器的 SQNR 更高？4 位时呢？为什么答案会随位数而改变？

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
# 8 位时，即使覆盖完整范围步长也很小：舍入误差本来就小，截掉离群值的代价大于收益——最小–最大值胜出。4 位时步长大了 16 倍，舍入误差占主导，用一点截断换更细的网格是值得的——百分位胜出。
#
# 现在看整个模型：每个 Conv2d/Linear 用 8 位权重（逐通道），其输入激活也被量化，用同样的 512 张训练图像校准。

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
# 在这个简单任务上，整个教师模型连 4 位激活都能挺过来，两种观察器的差别最多只有几张测试图像——在断言哪个更好之前，先把它和上面“一张图像”对应的百分点比较一下。SQNR 表是更灵敏的测量；在 359 张图像上，准确率无法区分两者。在更难的任务和更大的模型上，校准的选择也会体现在准确率上。

# %% [markdown]
# ## 6. 训练后量化：8 → 4 → 3 → 2 位
#
# 只量化权重的 PTQ：把教师模型副本中每个 Conv2d/Linear 的权重舍入到 `b` 位（对称），逐张量或逐通道；激活保持浮点。不训练，除了测试集不需要任何数据。
#
# 运行之前先**预测**：每种做法在几位时会崩溃（跌破 50%）？

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
# 对称的 2 位权重只有三个级别：−s、0 和 +s。逐张量时，`s` 由每层中最大的那一个权重决定，于是大多数权重被舍入为 0，整层整层地消失。逐通道能让每个通道都存活下来，但对教师模型来说，三个级别仍然太少，没有额外帮助就保不住准确率——第 8 节提供这种帮助。

# %% [markdown]
# ## 7. 自己动手探索
#
# 滑块设定位宽（2–8），切换按钮设定方案和粒度。左图展示教师模型某个真实层（`features.3`）的权重，并画出量化级别（逐通道时画的是最宽通道的网格），标题是它们的 SQNR；右图是该设置下整个模型的测试准确率（只量化权重的 PTQ，每种设置只测一次并缓存）。下方的静态图是第 6 节的扫描结果，供没有内核的读者查看。

# %%
display(bits_explorer(teacher, loaders.test, bits=3))
plots.accuracy_vs_bits(sweep, reference=fp32_accuracy, title="weight-only PTQ of the teacher (static)")

# %% [markdown]
# ## 8. 量化感知训练
#
# 舍入几乎处处梯度为零，所以无法直接对它求导训练。**直通估计器 (straight-through estimator, STE)** 在反向传播时假装伪量化是恒等映射——在可表示范围内梯度为 1，在被截断处为 0。前向传播看到的是量化后的权重；优化器更新的是底下的浮点权重，它们可以慢慢移动，直到舍入后效果良好。先看梯度本身，并与 PyTorch 的对照：

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
# 现在在学生模型上做 2 位权重（对称、逐通道）的 QAT：`prepare_qat` 给每一层包上伪量化，再用课程的普通 `fit` 训练 3 个 epoch。训练结果取决于随机种子，所以用三个种子。*挽回率 (recovery)* 是 PTQ 损失的准确率中被 QAT 挽回的比例。
#
# **预测**：三个短短的 epoch 能挽回多少损失？

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
# 训练过程中，权重移动到了每个通道三个级别就足够的位置。学生模型原本是在没有量化的情况下训练的；前向传播中*带着*量化再训练三个 epoch 就够了。（QAT 也可以结合蒸馏——用第 01 课的损失、以教师为向导来训练——在普通 QAT 不够用时最有帮助；这里不需要。）

# %% [markdown]
# ## 9. 先折叠 BatchNorm
#
# int8 内核把 卷积 → BatchNorm 当作**一个**卷积来计算。在 eval 模式下，BatchNorm 是逐通道的仿射变换 `y = γ·(x − μ)/√(σ² + ε) + β`，因此可以并入卷积的权重和偏置：逐输出通道 `W' = W · γ/√(σ²+ε)`，`b' = (b − μ)·γ/√(σ²+ε) + β`。我们量化的是 `W'` 而不是 `W`——所以折叠必须是精确的；而且逐通道缩放变得更加重要（每个通道的权重都乘上了各自的因子）。

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
# ## 10. 只用整数计算一个 int8 层
#
# “int8 内核”到底算了什么？取折叠后教师模型的第一个隐藏线性层（`classifier.2`，256 → 512）。它的输入是被量化为 uint8 的激活，缩放因子 `S_in`、零点 `Z_in`（在真实数据上校准）；权重是 int8、对称、逐输出通道（`S_w`）；然后
#
# - `acc = Σ (x_q − Z_in) · w_q + b_q`——8 位整数的乘积，累加到一个 **int32** 累加器中，偏置以 int32 存储，缩放因子为 `S_in · S_w`；
# - `y_q = clamp(round(acc · S_in·S_w / S_out) + Z_out, 0, 255)`——**重量化 (requantization)** 到输出的网格（真实内核也用定点数完成这一乘法）。
#
# 浮点参照是同一层、在相同位置做伪量化。两者必须一致。

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
# 累加器需要 32 位：每个输出是 256 个两位 8 位数乘积之和（每个乘积最大约 2^15），远超 8 位或 16 位的范围。唯一剩下的浮点数是重量化乘数，每个输出通道一个。如果两者哪里不一致，那一定是浮点运算在一边恰好落在舍入的平局点上、另一边没有：差一个步长，只出现在极少数输出上。

# %% [markdown]
# ## 11. 用 k-means 代替线性网格
#
# Deep Compression（Han 等，2016）对权重做*聚类*：`2^b` 个共享值由 k-means 放在权重密集的地方，每个权重存成指向这个码本 (codebook) 的 `b` 位索引。
#
# **预测**：在相同位数下，哪个误差更小——你又更愿意在硬件上运行哪个？

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
# k-means 把级别放在权重所在之处（靠近零），线性网格则等间距地一直铺到极端值，所以 k-means 误差更小。但它的索引不是能直接相乘的数：int8 内核直接把 `q` 相乘，最后再乘一个缩放因子；而 k-means 层必须先查出每个权重的值（浮点数）才能相乘。k-means 缩小的是*文件*；线性量化既缩小文件**又**缩小算术，这就是硬件（VNNI、ARM 点积指令、张量核心）支持线性 int8 的原因。

# %% [markdown]
# ## 12. 一个真正的 int8 模型：更小、更快？
#
# 到目前为止一切都是在浮点中*模拟*的。现在来个真的：把教师模型导出为 ONNX，用 ONNX Runtime 做静态量化（`quantize_onnx`：QDQ 格式，权重逐通道 int8，激活 uint8，用 512 张训练图像校准），并在大小（来自文件）、准确率和延迟（batch 64、1 个线程）上与浮点模型比较。各模型轮流计时，跑好几轮；“torch fp32 (again)” 是同一个浮点模型再计时一次，它的波动范围就是噪声。
#
# **预测**：int8 权重只占 float32 四分之一的字节。文件会正好小 4 倍吗？模型会快 4 倍吗？

# %%
workdir = Path(tempfile.mkdtemp(prefix="lesson03-"))
start = time.perf_counter()
fp32_path = to_onnx(teacher, workdir / "teacher_fp32.onnx", x64)
int8_path = quantize_onnx(fp32_path, workdir / "teacher_int8.onnx", calibration)
print(f"export + quantization: {time.perf_counter() - start:.1f} s; files in {workdir}")

# %% [markdown]
# 现在开始测量：四个模型轮流计时，5 轮、每轮 10 次调用。

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
# 并非正好小 4 倍：偏置仍是 32 位，每个权重张量多了缩放因子，图本身（现在多了 QuantizeLinear/DequantizeLinear 节点）也要存储。加速来自这些内核：它们做 8 位整数乘法（每条向量指令处理的数是 float32 的四倍），只读取四分之一的权重字节，并把量化/反量化步骤融合进卷积。加速多少取决于 CPU：请看你打印出的范围，更长时间的测量见基准脚本（`benchmarks/quantize_speed.py`，`docs/benchmarks/quantization.md`）。

# %% [markdown]
# ## 13. 什么硬件，用什么工具链？
#
# | 硬件 | 路线 | 需要 |
# |---|---|---|
# | 任意笔记本 CPU（Windows、macOS Intel/Apple 芯片、Linux） | ONNX Runtime 静态 int8（本课） | 只需 `onnxruntime` |
# | 带 C++ 编译器的 x86 服务器 CPU | PyTorch 2 导出 (PT2E) + `X86InductorQuantizer` + `torch.compile`（在 `torchao` 中） | C++ 编译器、`torchao` |
# | NVIDIA GPU | TensorRT（int8/fp8），或大模型用 `torchao` 的仅权重 int8/int4 | CUDA |
# | 手机、微控制器 | ExecuTorch / LiteRT (TFLite) int8 | 各自的转换工具 |
#
# `torch.ao.quantization`（eager 和 FX 模式）已被弃用：不要在它上面开始新工作。PT2E 把量化后的图编译成融合的 int8 内核，因此运行时需要 C++ 编译器。下面的单元格检查这台机器有什么，并直接说明还缺什么。

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
# ## 观察并解释
#
# 1. 第 1 节：为什么对 `[−1, 2.54]` 做仿射量化的步长比对称量化小？什么时候对称仍是更好的选择？*（提示：第 10 节——零点为 0 在整数求和中省掉了什么？）*
# 2. 第 3 节：哪一层从逐通道缩放中获益最多？最后一列的什么信息预示了这一点？
# 3. 第 5 节：4 位时百分位观察器的 SQNR 更高，可准确率却分不出两种观察器的高下。在差别确实重要的模型上，你会测量什么来做决定？
# 4. 第 8 节：QAT 在几秒内就挽回了 2 位量化的大部分损失。为什么*学生模型*（没有 BatchNorm）很适合做这个实验？换成教师模型（第 9 节）你需要做什么？
# 5. 第 12 节：int8 模型的加速比不等于 4×。列出前向传播中那些不会随位数减少而减小的开销。
#
# ## 小结
#
# - 量化用一个缩放因子和一个零点把浮点数映射到整数；零点取整数，使 0.0 能精确表示。对称适合权重，仿射适合 ReLU 激活；逐通道缩放比方案的选择更重要。
# - 每个量化器都在舍入误差和截断误差之间取舍；校准为激活选定范围（8 位用最小–最大值，低位宽用百分位）。
# - 在这里，逐通道 PTQ 降到 4–3 位都几乎没有损失，到 2 位崩溃；用直通估计器做 QAT，几个 epoch 就能挽回大部分损失。
# - 量化之前先（精确地）折叠 BatchNorm；int8 层就是 int8 × int8 乘积在 int32 累加器中求和，再加一次重量化；k-means 误差更低，但没有整数算术。
# - 真正的 int8 ONNX 模型更小（不是 4 倍）、更快（幅度见第 12 节打印的范围），准确率不变。报告两者时都要带上噪声。
#
# **本课服务的检查清单条目：** T4（评估和比较压缩方法）、U3（压缩与保留准确率之间的权衡，8 → 2 位）、E1（在真实模型上应用压缩）、E2（一个真实的 int8 部署产物，并经过测量）。
#
# **下一步：** 练习 `exercises/zh/03_quantization.py`（量化/反量化、STE 梯度、百分位观察器、BatchNorm 折叠、纯整数线性层，以及在教师模型上比较 int8 与 fp32）。
