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
# > 练习笔记本，由 `python -m coursekit exercises build` 从 `solutions/zh/03_quantization.py` 生成。
# > 把每个 `raise NotImplementedError(...)` 换成你的代码，然后运行它下面的检查单元格。

# %% [markdown]
# # 练习 03 · 量化 (Quantization)
#
# 六个部分，每一部分都在每次运行检查时随机生成的输入上，与 PyTorch 或 `coursekit.quantize` 对照（位数、形状、维度、方案、eps、卷积核大小……全都会变，硬编码的答案无法通过）：
#
# 1. 量化与反量化一个张量——对称与仿射，逐张量与逐通道；
# 2. 伪量化的直通梯度 (straight-through gradient)；
# 3. 用于激活的百分位观察器；
# 4. 把 BatchNorm 折叠进它前面的卷积；
# 5. 只用整数计算的线性层；
# 6. 在真实教师模型上比较 int8 与 fp32：真实 int8 ONNX 模型的准确率、大小和延迟。
#
# 在写着 `raise NotImplementedError` 的地方写代码，然后运行它下面的检查单元格。检查单元格会在内部导入参考实现：请自己写代码，不要调用它们。全部检查通过后，在终端运行 `python -m coursekit check exercises/zh/03_quantization.py`，查看你已经为哪些检查清单条目提供了证据。

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import random

import torch
from torch import nn

from coursekit.i18n import tr

# %% [markdown]
# ## 1. 量化与反量化
#
# 实现 `quantize(x, bits, symmetric, axis)`，返回 `(q, scale, zero_point)`，以及 `dequantize(q, scale, zero_point, axis)`，与课上第 1 节相同，但也要支持**逐通道**：
#
# - 对称：整数取值 `[−(2^(b−1) − 1), 2^(b−1) − 1]`，`zero_point = 0`，`scale = max|x| / qmax`；
# - 仿射：整数取值 `[0, 2^b − 1]`，把范围 `[min(x, 0), max(x, 0)]` 映射上去，`scale = (max − min) / (2^b − 1)`，`zero_point = qmin − round(min / scale)`（一个整数）；
# - `axis=None`：整个张量一个缩放因子（`scale`、`zero_point` 为 0 维张量）；`axis=k`：沿第 `k` 维每个下标一个（长度为 `x.shape[k]` 的 1 维张量）；
# - `q = clamp(round(x / scale) + zero_point, qmin, qmax)`，用 `torch.round`（四舍六入五成双），返回整数张量（任意整数 dtype）；`scale` 为 float32，`zero_point` 为整数张量；
# - 全零的张量或通道不能除以零：那里用 `scale = 1`。

# %%
def quantize(x: torch.Tensor, bits: int, symmetric: bool, axis: int | None = None):
    """(q, scale, zero_point): x ≈ scale * (q - zero_point), per tensor or along `axis`."""
    # 练习 1：把下一行换成你的代码。提示：第 03 课第 1 节（my_quantize）；逐通道：在其余所有维度上求最值
    raise NotImplementedError('Exercise 1: not written yet (see the comment above) | 练习 1：还没写（见上方注释）')


def dequantize(q: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, axis: int | None = None):
    """scale * (q - zero_point) as float32."""
    # 练习 2：把下一行换成你的代码。提示：调整 scale 和 zero_point 的形状，使它们沿 `axis` 广播
    raise NotImplementedError('Exercise 2: not written yet (see the comment above) | 练习 2：还没写（见上方注释）')


# %% tags=["check"] check_id="ex03-quantize" checklist=["T4"]
def check():
    from coursekit.quantize import QuantizedTensor, quantize_tensor  # the reference
    from coursekit.quantize import dequantize as ref_dequantize

    def dequantize_reference(q, ref):  # the reference map applied to YOUR integers
        return ref_dequantize(QuantizedTensor(q.long(), ref.scale, ref.zero_point, ref.bits, ref.axis, ref.symmetric))

    for trial in range(40):
        shape = [random.randint(1, 6) for _ in range(random.randint(1, 4))]
        x = torch.randn(shape) * 10 ** random.uniform(-2, 1) + random.choice([0.0, 0.0, 3.0, -3.0])
        axis = None if trial % 3 == 0 else random.randrange(len(shape))
        if trial % 5 == 4 and axis is not None:  # an all-zero channel
            x.select(axis, random.randrange(shape[axis])).zero_()
        if trial == 1:
            x = torch.zeros(shape)
        bits, symmetric = random.randint(2, 8), random.random() < 0.5
        where = tr("shape {s}, {b} bits, {k}, axis {a}", "形状 {s}，{b} 位，{k}，axis {a}", s=shape, b=bits,
                   k="symmetric" if symmetric else "affine", a=axis)
        ref = quantize_tensor(x, bits, symmetric=symmetric, axis=axis)
        q, scale, zero_point = quantize(x, bits, symmetric, axis)
        assert isinstance(q, torch.Tensor) and not q.is_floating_point() and q.shape == x.shape, tr(
            "{w}: q must be an integer tensor of shape {s}", "{w}：q 必须是形状为 {s} 的整数张量", w=where, s=shape)
        scale, zero_point = torch.as_tensor(scale), torch.as_tensor(zero_point)
        assert scale.shape == ref.scale.shape and zero_point.shape == ref.zero_point.shape, tr(
            "{w}: scale/zero_point shaped {g}, expected {e}", "{w}：scale/zero_point 的形状为 {g}，应为 {e}",
            w=where, g=(tuple(scale.shape), tuple(zero_point.shape)), e=(tuple(ref.scale.shape), tuple(ref.zero_point.shape)))
        assert torch.allclose(scale.float(), ref.scale, rtol=1e-5), tr(
            "{w}: scale {g}, expected {e}", "{w}：scale 为 {g}，应为 {e}", w=where, g=scale, e=ref.scale)
        assert torch.equal(zero_point.long(), ref.zero_point.long()), tr(
            "{w}: zero_point {g}, expected {e}", "{w}：zero_point 为 {g}，应为 {e}", w=where, g=zero_point, e=ref.zero_point)
        # x / scale and x * (1 / scale) can round differently when a value sits exactly between two
        # integers (to within float precision): there either neighbour is right
        shape_b = [1] * x.dim()
        if axis is not None:
            shape_b[axis] = -1
        scaled = x / ref.scale.view(shape_b)
        tie = ((scaled - scaled.floor()) - 0.5).abs() < 1e-4
        off = (q.long() - ref.q.long()).abs()
        wrong = ((off > 0) & ~tie).sum().item() + (off > 1).sum().item()
        assert wrong == 0, tr("{w}: {n} of {t} integers differ from the reference",
                              "{w}：{t} 个整数中有 {n} 个与参考答案不同", w=where, n=wrong, t=x.numel())
        back = dequantize(q, scale, zero_point, axis)
        assert torch.allclose(back, dequantize_reference(q, ref), atol=1e-6), tr(
            "{w}: dequantize differs from scale * (q - zero_point)", "{w}：dequantize 与 scale * (q - zero_point) 不一致",
            w=where)
    # exact ties (the scale is exactly 1 here): halves go to the nearest even integer, as torch.round does
    halves = torch.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 3.5, -127.0, 127.0])
    q, _, _ = quantize(halves, 8, True)
    expected = torch.round(halves).long()
    assert torch.equal(q.long(), expected), tr(
        "quantize({h}, 8 bits, symmetric) = {g}, expected {e}: round halves to even (torch.round)",
        "quantize({h}, 8 位, 对称) = {g}，应为 {e}：恰好一半时舍入到偶数（torch.round）",
        h=halves.tolist(), g=q.tolist(), e=expected.tolist())
    print("✓ quantize/dequantize match coursekit.quantize on 40 random tensors (2–8 bits, both schemes, any axis)")


check()

# %% [markdown]
# ## 2. 直通梯度
#
# 实现 `ste_fake_quantize(x, scale, zero_point, qmin, qmax)`：前向传播为 `scale · (clamp(round(x / scale) + zero_point, qmin, qmax) − zero_point)`；反向传播时，在 `round(x / scale) + zero_point` 落在 `[qmin, qmax]` 之内的位置，传入的梯度原样通过，被截断的位置梯度为 0。（可以用 `torch.autograd.Function`，也可以用 `x + (y − x).detach()` 的技巧再乘上掩码——随你选。）`scale` 是正的浮点数，`zero_point` 是整数。

# %%
def ste_fake_quantize(x: torch.Tensor, scale: float, zero_point: int, qmin: int, qmax: int) -> torch.Tensor:
    """Fake quantization whose gradient is 1 inside the representable range and 0 where it clips."""
    # 练习 3：把下一行换成你的代码。提示：第 03 课第 8 节（掩码比较的是舍入之后的值与 qmin/qmax）
    raise NotImplementedError('Exercise 3: not written yet (see the comment above) | 练习 3：还没写（见上方注释）')


# %% tags=["check"] check_id="ex03-ste" checklist=["T4"]
def check():
    for _ in range(30):
        qmin, qmax = random.choice([(0, 255), (-127, 127), (0, 15), (-7, 7), (-1, 1), (0, 3)])
        scale = 10 ** random.uniform(-3, 0)
        zero_point = random.randint(qmin, qmax) if qmin == 0 else 0
        low, high = scale * (qmin - zero_point), scale * (qmax - zero_point)
        inside = torch.rand(40) * (high - low) + low
        # values just beyond each end: some round back inside (gradient 1), some don't (gradient 0)
        edges = torch.tensor([high + 0.3 * scale, high + 0.7 * scale, low - 0.3 * scale, low - 0.7 * scale])
        x = torch.cat([inside, edges, (torch.rand(6) - 0.5) * 4 * (high - low)]).requires_grad_()
        upstream = torch.randn(x.shape)  # an arbitrary incoming gradient, not just ones
        y = ste_fake_quantize(x, scale, zero_point, qmin, qmax)
        (y * upstream).sum().backward()
        got = x.grad.clone()
        x.grad = None
        ref_y = torch.fake_quantize_per_tensor_affine(x, scale, zero_point, qmin, qmax)  # the reference
        (ref_y * upstream).sum().backward()
        where = tr("scale {s:.4g}, zero point {z}, range [{a}, {b}]", "scale {s:.4g}，零点 {z}，范围 [{a}, {b}]",
                   s=scale, z=zero_point, a=qmin, b=qmax)
        scaled = x.detach() / scale
        tie = ((scaled - scaled.floor()) - 0.5).abs() < 1e-4  # either neighbour is right there (float precision)
        close = torch.isclose(y.detach(), ref_y.detach(), atol=1e-6 * max(1.0, abs(high)))
        assert (close | tie).all(), tr(
            "{w}: the forward values differ from torch.fake_quantize_per_tensor_affine",
            "{w}：前向结果与 torch.fake_quantize_per_tensor_affine 不同", w=where)
        differ = (~torch.isclose(got, x.grad) & ~tie).sum().item()
        assert differ == 0, tr("{w}: the gradient differs from PyTorch's at {n} of {t} values (check the mask and "
                               "that you multiply the incoming gradient)",
                               "{w}：梯度在 {t} 个值中有 {n} 个与 PyTorch 不同（检查掩码，以及是否乘上了传入的梯度）",
                               w=where, n=differ, t=x.numel())
    print("✓ ste_fake_quantize: forward and gradient equal torch.fake_quantize_per_tensor_affine's on 30 random grids")


check()

# %% [markdown]
# ## 3. 百分位观察器
#
# 实现 `percentile_qparams(batches, percentile, bits)`：激活分好几个批次到来；把它们**所有**的值放在一起，取第 `(100 − p)` 到第 `p` 百分位之间的范围 `[low, high]`（`p = percentile`，按 `torch.quantile` 的方式用线性插值计算），把范围扩展到包含 0，再返回 `bits` 位**仿射**量化的 `(scale, zero_point)`（浮点数/整数；`scale = (high − low) / (2^b − 1)`，`zero_point = round(−low / scale)`）。`percentile = 100` 就是最小–最大值。

# %%
def percentile_qparams(batches: list[torch.Tensor], percentile: float, bits: int) -> tuple[float, int]:
    """Affine (scale, zero_point) for the range between the (100-p)-th and p-th percentiles of all batches."""
    # 练习 4：把下一行换成你的代码。提示：第 03 课第 5 节；torch.quantile 的 q 取值在 [0, 1]
    raise NotImplementedError('Exercise 4: not written yet (see the comment above) | 练习 4：还没写（见上方注释）')


# %% tags=["check"] check_id="ex03-percentile" checklist=["T4", "U3"]
def check():
    from coursekit.quantize import PercentileObserver  # the reference

    for trial in range(25):
        percentile = random.choice([90.0, 99.0, 99.9, 99.99, 100.0, random.uniform(95, 100)])
        bits = random.randint(2, 8)
        offset = random.choice([0.0, 2.0, -2.0, 0.5])
        batches = [torch.randn(random.randint(5, 300), random.randint(1, 8)) * random.uniform(0.5, 3) + offset
                   for _ in range(random.randint(1, 4))]
        if trial % 4 == 0:  # ReLU-like activations with a few outliers
            batches = [torch.relu(b) for b in batches]
            batches[0].view(-1)[0] = 40.0
        elif trial % 4 in (1, 2):  # all positive or all negative: the range must be widened to contain 0
            sign = 1.0 if trial % 4 == 1 else -1.0
            batches = [sign * (torch.rand(b.shape) + random.uniform(0.2, 2)) for b in batches]
        observer = PercentileObserver(percentile)
        for b in batches:
            observer.update(b)
        scale, zero_point = observer.qparams(bits, symmetric=False)
        got = percentile_qparams(batches, percentile, bits)
        where = tr("{n} batches, percentile {p:.3f}, {b} bits", "{n} 个批次，百分位 {p:.3f}，{b} 位",
                   n=len(batches), p=percentile, b=bits)
        assert isinstance(got, tuple) and len(got) == 2, tr("return (scale, zero_point)", "请返回 (scale, zero_point)")
        assert abs(float(got[0]) - scale.item()) <= 1e-5 * scale.item(), tr(
            "{w}: scale {g:.6g}, expected {e:.6g}", "{w}：scale 为 {g:.6g}，应为 {e:.6g}", w=where, g=float(got[0]),
            e=scale.item())
        assert int(got[1]) == int(zero_point), tr("{w}: zero_point {g}, expected {e}", "{w}：zero_point 为 {g}，应为 {e}",
                                                  w=where, g=got[1], e=int(zero_point))
    print("✓ percentile_qparams matches coursekit.quantize.PercentileObserver on 25 random sets of batches")


check()

# %% [markdown]
# ## 4. 折叠 BatchNorm
#
# 实现 `fold_bn(conv, bn)`：返回一个**新的** `nn.Conv2d`（卷积核大小、步长、填充都相同；总是带偏置），它计算的是 eval 模式下的 `bn(conv(x))`：逐输出通道 `W' = W · γ/√(σ² + ε)`，`b' = (b − μ) · γ/√(σ² + ε) + β`（若 `conv` 没有偏置则 `b = 0`）。不要修改 `conv` 和 `bn`。

# %%
def fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new Conv2d equal to bn(conv(x)) with bn in eval mode."""
    # 练习 5：把下一行换成你的代码。提示：第 03 课第 9 节
    raise NotImplementedError('Exercise 5: not written yet (see the comment above) | 练习 5：还没写（见上方注释）')


# %% tags=["check"] check_id="ex03-fold-bn" checklist=["E1"]
def check():
    for trial in range(12):
        c_in, c_out = random.randint(1, 6), random.randint(1, 8)
        k = random.choice([1, 3, 5])
        conv = nn.Conv2d(c_in, c_out, k, stride=random.choice([1, 2]), padding=random.randint(0, k // 2),
                         bias=trial % 2 == 0)
        bn = nn.BatchNorm2d(c_out, eps=10 ** random.uniform(-5, -0.5)).eval()  # a large eps must matter
        with torch.no_grad():  # statistics as after training, not the defaults
            bn.running_mean.uniform_(-2, 2)
            bn.running_var.uniform_(0.01, 3)
            bn.weight.uniform_(-2, 2)
            bn.bias.uniform_(-1, 1)
            if conv.bias is not None:
                conv.bias.uniform_(-1, 1)  # a bias large enough that dropping it shows
        before = [t.clone() for t in (conv.weight, bn.running_mean, bn.weight)]
        x = torch.randn(2, c_in, random.randint(k, 9), random.randint(k, 9))
        expected = bn(conv(x))
        folded = fold_bn(conv, bn)
        where = tr("kernel {k}, bias={b}, eps {e:.2g}", "卷积核 {k}，bias={b}，eps {e:.2g}", k=k, b=conv.bias is not None,
                   e=bn.eps)
        assert isinstance(folded, nn.Conv2d) and folded is not conv, tr(
            "return a new nn.Conv2d", "请返回一个新的 nn.Conv2d")
        assert all(torch.equal(a, b) for a, b in zip(before, (conv.weight, bn.running_mean, bn.weight))), tr(
            "fold_bn changed conv or bn: leave them as they were", "fold_bn 修改了 conv 或 bn：请保持它们不变")
        got = folded(x)
        assert got.shape == expected.shape, tr("{w}: output shape {g}, expected {e}", "{w}：输出形状为 {g}，应为 {e}",
                                               w=where, g=tuple(got.shape), e=tuple(expected.shape))
        err = (got - expected).abs().max().item()
        assert err < 1e-4 * max(1.0, expected.abs().max().item()), tr(
            "{w}: outputs differ from bn(conv(x)) by up to {d:.3g}", "{w}：输出与 bn(conv(x)) 最多相差 {d:.3g}",
            w=where, d=err)
    print("✓ fold_bn equals bn(conv(x)) in eval mode on 12 random layers (kernel sizes, strides, eps, with and without bias)")


check()

# %% [markdown]
# ## 5. 只用整数的线性层
#
# 按课上第 10 节实现 `integer_linear(x_q, w_q, b_q, in_zero_point, multiplier, out_zero_point)`：
#
# - `x_q`：uint8 输入 `(batch, in)`；`w_q`：int8 权重 `(out, in)`（对称：零点为 0）；`b_q`：int32 偏置 `(out,)`，已经是缩放因子 `S_in · S_w` 下的值；
# - `acc = (x_q − in_zero_point) @ w_q.T + b_q`，用 **int32** 计算（返回它，dtype 为 int32）；
# - `y_q = clamp(round(acc · multiplier) + out_zero_point, 0, 255)`，类型 uint8，其中 `multiplier`（float32，每个输出通道一个）等于 `S_in · S_w / S_out`。
#
# 返回 `(acc, y_q)`。

# %%
def integer_linear(x_q, w_q, b_q, in_zero_point: int, multiplier: torch.Tensor, out_zero_point: int):
    """(int32 accumulator, uint8 output) of a quantized linear layer."""
    # 练习 6：把下一行换成你的代码。提示：第 03 课第 10 节（先转成 int32，再做减法和乘法）
    raise NotImplementedError('Exercise 6: not written yet (see the comment above) | 练习 6：还没写（见上方注释）')


# %% tags=["check"] check_id="ex03-integer-linear" checklist=["E2"]
def check():
    from coursekit.quantize import IntegerLinear  # the reference

    for _ in range(15):
        n_in, n_out, batch = random.randint(1, 300), random.randint(1, 40), random.randint(1, 8)
        layer = nn.Linear(n_in, n_out)
        with torch.no_grad():
            layer.weight.mul_(random.uniform(0.5, 5))
            layer.bias.uniform_(-2, 2)
        x = torch.randn(batch, n_in) * random.uniform(0.5, 3) + random.uniform(-1, 1)
        y = layer(x).detach()
        def span(t):  # the range widened to contain 0, never empty
            return max(t.max().item(), 0.0) - min(t.min().item(), 0.0) + 1e-3

        in_scale, out_scale = span(x) / 255, span(y) / 255 * random.uniform(0.5, 1)
        in_q = (in_scale, int(min(255, max(0, round(-min(x.min().item(), 0.0) / in_scale)))))
        out_q = (out_scale, random.randint(0, 255))
        ref = IntegerLinear.from_float(layer, in_q, out_q)
        x_q = ref.quantize_input(x)
        multiplier = ref.input_scale * ref.weight_scale / ref.output_scale
        acc, y_q = integer_linear(x_q, ref.weight_q, ref.bias_q, ref.input_zero_point, multiplier, ref.output_zero_point)
        expected_acc = (x_q.long() - in_q[1]) @ ref.weight_q.long().T + ref.bias_q.long()  # exact, in int64
        where = tr("{i} → {o}, batch {b}, zero points {zi}/{zo}", "{i} → {o}，batch {b}，零点 {zi}/{zo}",
                   i=n_in, o=n_out, b=batch, zi=in_q[1], zo=out_q[1])
        assert isinstance(acc, torch.Tensor) and acc.dtype == torch.int32, tr(
            "{w}: the accumulator must be an int32 tensor, got {d}", "{w}：累加器必须是 int32 张量，得到的是 {d}",
            w=where, d=getattr(acc, "dtype", type(acc).__name__))
        assert torch.equal(acc.long(), expected_acc), tr(
            "{w}: the accumulator differs at {n} entries (subtract the input zero point; add the bias)",
            "{w}：累加器有 {n} 处不同（减去输入零点；加上偏置）", w=where, n=(acc.long() != expected_acc).sum().item())
        assert isinstance(y_q, torch.Tensor) and y_q.dtype == torch.uint8, tr(
            "{w}: y_q must be uint8", "{w}：y_q 必须是 uint8", w=where)
        expected = ref(x_q)
        assert torch.equal(y_q, expected), tr(
            "{w}: {n} outputs differ from coursekit's IntegerLinear (round, add the output zero point, clamp to 0..255)",
            "{w}：有 {n} 个输出与 coursekit 的 IntegerLinear 不同（舍入、加上输出零点、截断到 0..255）",
            w=where, n=(y_q != expected).sum().item())
    print("✓ integer_linear equals coursekit.quantize.IntegerLinear (int32 accumulator, requantized uint8) on 15 random layers")


check()

# %% [markdown]
# ## 6. 在真实教师模型上比较 int8 与 fp32
#
# 现在把课上第 12 节的实验写成一个函数。`int8_vs_fp32(model, example, calibration, test_loader, workdir)` 必须
#
# - 把 `model` 导出到 `workdir / "fp32.onnx"`（`coursekit.export.to_onnx`），并把它量化为 `workdir / "int8.onnx"`（`coursekit.quantize.quantize_onnx`，用 `calibration` 校准）——这里可以用库函数：重点是测量；
# - 返回一个字典，包含 `"accuracy_fp32"`、`"accuracy_int8"`（两个 ONNX 模型在 `test_loader` 上的测试准确率）、`"bytes_fp32"`、`"bytes_int8"`（每个模型**所有文件**在磁盘上的大小）以及 `"ms_fp32"`、`"ms_int8"`（在 `example` 上调用一次的延迟中位数，单位 ms，1 个线程，ONNX Runtime）。

# %%
def int8_vs_fp32(model, example, calibration, test_loader, workdir) -> dict:
    """Accuracy, bytes on disk and median latency of the fp32 and int8 ONNX versions of `model`."""
    # 练习 7：把下一行换成你的代码。提示：第 03 课第 12 节；预热后用 time.perf_counter 计时约 20 次调用
    raise NotImplementedError('Exercise 7: not written yet (see the comment above) | 练习 7：还没写（见上方注释）')


# %% tags=["check"] check_id="ex03-int8-vs-fp32" checklist=["T4", "U3", "E1", "E2"]
def check():
    import tempfile
    from pathlib import Path

    import onnx

    from coursekit.data import load_dataset, make_loaders
    from coursekit.export import OnnxModel, onnx_files
    from coursekit.pretrained import pretrained

    splits = load_dataset("digits", seed=0)
    test = make_loaders(splits, batch_size=random.choice([64, 128, 256]), seed=0).test
    teacher = pretrained("teacher", progress=False)
    example = splits.test[: random.randint(16, 64)][0]
    n_cal = random.randint(128, 512)
    calibration = splits.train[torch.randperm(len(splits.train))[:n_cal]][0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        got = int8_vs_fp32(teacher, example, calibration, test, workdir)
        keys = {"accuracy_fp32", "accuracy_int8", "bytes_fp32", "bytes_int8", "ms_fp32", "ms_int8"}
        assert isinstance(got, dict) and keys <= set(got), tr("return a dict with the keys {k}", "请返回含有键 {k} 的字典",
                                                             k=sorted(keys))
        for name in ("fp32", "int8"):
            path = workdir / f"{name}.onnx"
            assert path.is_file(), tr("no ONNX file at {p}", "{p} 处没有 ONNX 文件", p=path)
            on_disk = sum(p.stat().st_size for p in onnx_files(path))
            assert got[f"bytes_{name}"] == on_disk, tr(
                "bytes_{n} = {g}, but its files take {e} bytes (count the external .data file too)",
                "bytes_{n} = {g}，但它的文件共占 {e} 字节（外部 .data 文件也要算上）", n=name, g=got[f"bytes_{name}"],
                e=on_disk)
            m = OnnxModel(path, threads=1)
            correct = sum((m(x).argmax(1) == y).sum().item() for x, y in test)
            expected = correct / len(splits.test)
            assert abs(got[f"accuracy_{name}"] - expected) < 1e-9, tr(
                "accuracy_{n} = {g:.4f}, but the file scores {e:.4f} on the test split",
                "accuracy_{n} = {g:.4f}，但该文件在测试集上的准确率为 {e:.4f}", n=name, g=got[f"accuracy_{name}"], e=expected)
        ops = {node.op_type for node in onnx.load(str(workdir / "int8.onnx"), load_external_data=False).graph.node}
        assert "QuantizeLinear" in ops and "DequantizeLinear" in ops, tr(
            "int8.onnx has no QuantizeLinear/DequantizeLinear nodes: it was not quantized",
            "int8.onnx 中没有 QuantizeLinear/DequantizeLinear 节点：它没有被量化")
    assert got["bytes_fp32"] > 3 * got["bytes_int8"], tr("the int8 files should be over 3× smaller",
                                                         "int8 文件应当小 3 倍以上")
    assert abs(got["accuracy_int8"] - got["accuracy_fp32"]) <= 0.01, tr(
        "int8 accuracy should be within 1 point of fp32", "int8 准确率应与 fp32 相差不超过 1 个百分点")
    assert 0 < got["ms_int8"] < got["ms_fp32"], tr(
        "ms_int8 ({a:.2f}) should be positive and below ms_fp32 ({b:.2f}): time the ONNX models, 1 thread",
        "ms_int8（{a:.2f}）应为正数且小于 ms_fp32（{b:.2f}）：请对 ONNX 模型计时，使用 1 个线程",
        a=got["ms_int8"], b=got["ms_fp32"])
    print(f"✓ int8 vs fp32 on the teacher: accuracy {got['accuracy_fp32']:.2%} → {got['accuracy_int8']:.2%}, "
          f"{got['bytes_fp32'] / got['bytes_int8']:.2f}× smaller, {got['ms_fp32'] / got['ms_int8']:.2f}× faster "
          f"(batch {len(example)}, 1 thread)")


check()

# %% [markdown]
# ## 完成了吗？
#
# 运行 `python -m coursekit check exercises/zh/03_quantization.py`（或英文版），查看本练习为哪些检查清单条目提供了证据：**T4**（评估和比较压缩方法）、**U3**（压缩与准确率的权衡）、**E1**（在真实模型上应用压缩）和 **E2**（一个经过测量的、已部署的 int8 模型）。
