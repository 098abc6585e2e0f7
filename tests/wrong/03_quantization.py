"""Plausible wrong answers for solutions/en/03_quantization.py (see tests/wrong_answers.py)."""

# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS = [
    # region 0: quantize
    ("03_quantization", 0, """
        if axis is None:
            low, high = x.min(), x.max()
        else:
            flat = x.movedim(axis, 0).reshape(x.shape[axis], -1)
            low, high = flat.min(dim=1).values, flat.max(dim=1).values
        if symmetric:
            qmin, qmax = -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
            amax = torch.maximum(low.abs(), high.abs())
            scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
            zero_point = torch.zeros_like(scale, dtype=torch.int64)
        else:
            qmin, qmax = 0, 2**bits - 1
            scale = torch.where(high > low, (high - low) / (qmax - qmin), torch.ones_like(low))
            zero_point = (qmin - torch.round(low / scale)).to(torch.int64)
        shape = [1] * x.dim()
        if axis is not None:
            shape[axis] = -1
        q = torch.clamp(torch.round(x / scale.view(shape)) + zero_point.view(shape), qmin, qmax)
        return q.to(torch.int64), scale, zero_point
    """, "ex03-quantize", "affine range not widened to contain 0: an all-positive tensor gets a zero point outside the grid"),
    ("03_quantization", 0, """
        if axis is None:
            low, high = x.min(), x.max()
        else:
            flat = x.movedim(axis, 0).reshape(x.shape[axis], -1)
            low, high = flat.min(dim=1).values, flat.max(dim=1).values
        if symmetric:
            qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            amax = torch.maximum(low.abs(), high.abs())
            scale = torch.where(amax > 0, amax / 2 ** (bits - 1), torch.ones_like(amax))
            zero_point = torch.zeros_like(scale, dtype=torch.int64)
        else:
            qmin, qmax = 0, 2**bits - 1
            low, high = low.clamp(max=0), high.clamp(min=0)
            scale = torch.where(high > low, (high - low) / (qmax - qmin), torch.ones_like(low))
            zero_point = (qmin - torch.round(low / scale)).to(torch.int64)
        shape = [1] * x.dim()
        if axis is not None:
            shape[axis] = -1
        q = torch.clamp(torch.round(x / scale.view(shape)) + zero_point.view(shape), qmin, qmax)
        return q.to(torch.int64), scale, zero_point
    """, "ex03-quantize", "symmetric over -128..127 with scale max/128: the grid is not the symmetric one asked for"),
    ("03_quantization", 0, """
        if axis is None:
            low, high = x.min(), x.max()
        else:
            flat = x.movedim(axis, 0).reshape(x.shape[axis], -1)
            low, high = flat.min(dim=1).values, flat.max(dim=1).values
        if symmetric:
            qmin, qmax = -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
            scale = torch.maximum(low.abs(), high.abs()) / qmax
            zero_point = torch.zeros_like(scale, dtype=torch.int64)
        else:
            qmin, qmax = 0, 2**bits - 1
            low, high = low.clamp(max=0), high.clamp(min=0)
            scale = (high - low) / (qmax - qmin)
            zero_point = (qmin - torch.round(low / scale)).to(torch.int64)
        shape = [1] * x.dim()
        if axis is not None:
            shape[axis] = -1
        q = torch.clamp(torch.round(x / scale.view(shape)) + zero_point.view(shape), qmin, qmax)
        return q.to(torch.int64), scale, zero_point
    """, "ex03-quantize", "no guard for an all-zero tensor or channel: divides by a zero scale"),
    ("03_quantization", 0, """
        if axis is None:
            low, high = x.min(), x.max()
        else:
            flat = x.movedim(axis, 0).reshape(x.shape[axis], -1)
            low, high = flat.min(dim=1).values, flat.max(dim=1).values
        if symmetric:
            qmin, qmax = -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
            amax = torch.maximum(low.abs(), high.abs())
            scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
            zero_point = torch.zeros_like(scale, dtype=torch.int64)
        else:
            qmin, qmax = 0, 2**bits - 1
            low, high = low.clamp(max=0), high.clamp(min=0)
            scale = torch.where(high > low, (high - low) / (qmax - qmin), torch.ones_like(low))
            zero_point = (qmin - torch.round(low / scale)).to(torch.int64)
        shape = [1] * x.dim()
        if axis is not None:
            shape[axis] = -1
        q = torch.clamp(torch.floor(x / scale.view(shape) + 0.5) + zero_point.view(shape), qmin, qmax)
        return q.to(torch.int64), scale, zero_point
    """, "ex03-quantize", "rounds halves up (floor(x + 0.5)) instead of to the nearest even integer"),
    ("03_quantization", 0, """
        low, high = x.min(), x.max()
        if symmetric:
            qmin, qmax = -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
            amax = torch.maximum(low.abs(), high.abs())
            scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
            zero_point = torch.zeros_like(scale, dtype=torch.int64)
        else:
            qmin, qmax = 0, 2**bits - 1
            low, high = low.clamp(max=0), high.clamp(min=0)
            scale = torch.where(high > low, (high - low) / (qmax - qmin), torch.ones_like(low))
            zero_point = (qmin - torch.round(low / scale)).to(torch.int64)
        q = torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax)
        return q.to(torch.int64), scale, zero_point
    """, "ex03-quantize", "ignores axis: one scale for the whole tensor when one per channel is asked for"),
    ("03_quantization", 0, """
        if axis is None:
            low, high = x.min(), x.max()
        else:
            flat = x.movedim(axis, 0).reshape(x.shape[axis], -1)
            low, high = flat.min(dim=1).values, flat.max(dim=1).values
        if symmetric:
            qmin, qmax = -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
            amax = torch.maximum(low.abs(), high.abs())
            scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
            zero_point = torch.zeros_like(scale)
        else:
            qmin, qmax = 0, 2**bits - 1
            low, high = low.clamp(max=0), high.clamp(min=0)
            scale = torch.where(high > low, (high - low) / (qmax - qmin), torch.ones_like(low))
            zero_point = qmin - low / scale
        shape = [1] * x.dim()
        if axis is not None:
            shape[axis] = -1
        q = torch.clamp(torch.round(x / scale.view(shape) + zero_point.view(shape)), qmin, qmax)
        return q.to(torch.int64), scale, zero_point
    """, "ex03-quantize", "a float zero point (not rounded): 0.0 is no longer exactly representable"),
    # region 1: dequantize
    ("03_quantization", 1, """
        shape = [1] * q.dim()
        if axis is not None:
            shape[axis] = -1
        return (q * scale.view(shape) - zero_point.view(shape)).float()
    """, "ex03-quantize", "dequantize subtracts the zero point after scaling"),
    # region 2: the straight-through gradient
    ("03_quantization", 2, """
        return (torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax) - zero_point) * scale
    """, "ex03-ste", "no straight-through estimator: round has zero gradient, so nothing trains"),
    ("03_quantization", 2, """
        y = (torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax) - zero_point) * scale
        return x + (y - x).detach()
    """, "ex03-ste", "gradient 1 everywhere, also where the value was clipped"),
    ("03_quantization", 2, """
        scaled = x / scale + zero_point
        inside = ((scaled >= qmin) & (scaled <= qmax)).to(x.dtype)
        y = (torch.clamp(torch.round(scaled), qmin, qmax) - zero_point) * scale
        return x * inside + (y - x * inside).detach()
    """, "ex03-ste", "the mask tests the value before rounding: wrong within half a step of each end"),
    ("03_quantization", 2, """
        class Fake(torch.autograd.Function):
            @staticmethod
            def forward(ctx, v):
                s = torch.round(v / scale) + zero_point
                ctx.save_for_backward((s >= qmin) & (s <= qmax))
                return (torch.clamp(s, qmin, qmax) - zero_point) * scale

            @staticmethod
            def backward(ctx, grad):
                (inside,) = ctx.saved_tensors
                return inside.to(grad.dtype)

        return Fake.apply(x)
    """, "ex03-ste", "backward returns the mask and drops the incoming gradient"),
    # region 3: the percentile observer
    ("03_quantization", 3, """
        values = torch.cat([b.flatten() for b in batches])
        low, high = min(values.min().item(), 0.0), max(values.max().item(), 0.0)
        scale = (high - low) / (2**bits - 1) if high > low else 1.0
        return scale, int(round(-low / scale))
    """, "ex03-percentile", "min-max: ignores the percentile"),
    ("03_quantization", 3, """
        values = batches[-1].flatten()
        p = percentile / 100
        low, high = torch.quantile(values, torch.tensor([1 - p, p])).tolist()
        low, high = min(low, 0.0), max(high, 0.0)
        scale = (high - low) / (2**bits - 1) if high > low else 1.0
        return scale, int(round(-low / scale))
    """, "ex03-percentile", "only the last batch is observed"),
    ("03_quantization", 3, """
        values = torch.cat([b.flatten() for b in batches])
        p = percentile / 100
        low, high = torch.quantile(values, torch.tensor([1 - p, p])).tolist()
        scale = (high - low) / (2**bits - 1) if high > low else 1.0
        return scale, int(round(-low / scale))
    """, "ex03-percentile", "the range is not widened to contain 0"),
    ("03_quantization", 3, """
        p = percentile / 100
        lows, highs = zip(*[torch.quantile(b.flatten(), torch.tensor([1 - p, p])).tolist() for b in batches])
        low, high = min(sum(lows) / len(lows), 0.0), max(sum(highs) / len(highs), 0.0)
        scale = (high - low) / (2**bits - 1) if high > low else 1.0
        return scale, int(round(-low / scale))
    """, "ex03-percentile", "averages per-batch percentiles instead of taking the percentile of all values"),
    # region 4: folding BatchNorm
    ("03_quantization", 4, """
        factor = bn.weight.detach() / torch.sqrt(bn.running_var)
        folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(conv.out_channels)
        with torch.no_grad():
            folded.weight.copy_(conv.weight * factor.view(-1, 1, 1, 1))
            folded.bias.copy_((bias - bn.running_mean) * factor + bn.bias)
        return folded
    """, "ex03-fold-bn", "forgets eps"),
    ("03_quantization", 4, """
        factor = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
        with torch.no_grad():
            folded.weight.copy_(conv.weight * factor.view(-1, 1, 1, 1))
            folded.bias.copy_(-bn.running_mean * factor + bn.bias)
        return folded
    """, "ex03-fold-bn", "drops the convolution's own bias"),
    ("03_quantization", 4, """
        factor = bn.weight.detach() / (bn.running_var + bn.eps)
        folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(conv.out_channels)
        with torch.no_grad():
            folded.weight.copy_(conv.weight * factor.view(-1, 1, 1, 1))
            folded.bias.copy_((bias - bn.running_mean) * factor + bn.bias)
        return folded
    """, "ex03-fold-bn", "divides by the variance instead of the standard deviation"),
    ("03_quantization", 4, """
        factor = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        if conv.bias is None:
            conv.bias = nn.Parameter(torch.zeros(conv.out_channels))
        with torch.no_grad():
            conv.weight.mul_(factor.view(-1, 1, 1, 1))
            conv.bias.copy_((conv.bias - bn.running_mean) * factor + bn.bias)
        return conv
    """, "ex03-fold-bn", "folds in place and returns the caller's convolution"),
    # region 5: the integer-only linear layer
    ("03_quantization", 5, """
        acc = x_q.to(torch.int32) @ w_q.to(torch.int32).T + b_q
        y_q = torch.clamp(torch.round(acc * multiplier) + out_zero_point, 0, 255).to(torch.uint8)
        return acc, y_q
    """, "ex03-integer-linear", "forgets to subtract the input zero point"),
    ("03_quantization", 5, """
        acc = (x_q.to(torch.int32) - in_zero_point) @ w_q.to(torch.int32).T + b_q
        y_q = torch.clamp((acc * multiplier).to(torch.int32) + out_zero_point, 0, 255).to(torch.uint8)
        return acc, y_q
    """, "ex03-integer-linear", "truncates instead of rounding when requantizing"),
    ("03_quantization", 5, """
        acc = (x_q.to(torch.int32) - in_zero_point) @ w_q.to(torch.int32).T + b_q
        y_q = torch.clamp(torch.round(acc * multiplier), 0, 255).to(torch.uint8)
        return acc, y_q
    """, "ex03-integer-linear", "forgets the output zero point"),
    ("03_quantization", 5, """
        acc = (x_q.float() - in_zero_point) @ w_q.float().T + b_q
        y_q = torch.clamp(torch.round(acc * multiplier) + out_zero_point, 0, 255).to(torch.uint8)
        return acc, y_q
    """, "ex03-integer-linear", "accumulates in float, not in int32"),
    ("03_quantization", 5, """
        acc = (x_q - in_zero_point) @ w_q.T + b_q
        y_q = torch.clamp(torch.round(acc * multiplier) + out_zero_point, 0, 255).to(torch.uint8)
        return acc, y_q
    """, "ex03-integer-linear", "computes in uint8/int8: no int32 accumulator (wraps around or fails)"),
    # region 6: int8 vs fp32 on the teacher
    ("03_quantization", 6, """
        import statistics
        import time

        from coursekit.export import OnnxModel, to_onnx
        from coursekit.quantize import quantize_onnx

        fp32_path = to_onnx(model, workdir / "fp32.onnx", example)
        int8_path = quantize_onnx(fp32_path, workdir / "int8.onnx", calibration)
        result = {}
        for name, path in (("fp32", fp32_path), ("int8", int8_path)):
            onnx_model = OnnxModel(path, threads=1)
            correct = total = 0
            for x, y in test_loader:
                correct += (onnx_model(x).argmax(dim=1) == y).sum().item()
                total += len(y)
            times = []
            for _ in range(20):
                start = time.perf_counter()
                onnx_model(example)
                times.append((time.perf_counter() - start) * 1000)
            result[f"accuracy_{name}"] = correct / total
            result[f"bytes_{name}"] = path.stat().st_size
            result[f"ms_{name}"] = statistics.median(times)
        return result
    """, "ex03-int8-vs-fp32", "counts only the graph file, not the external weight file (.data)"),
    ("03_quantization", 6, """
        import shutil
        import statistics
        import time

        from coursekit.export import OnnxModel, onnx_size_bytes, to_onnx

        fp32_path = to_onnx(model, workdir / "fp32.onnx", example)
        int8_path = to_onnx(model, workdir / "int8.onnx", example)  # "quantized" by exporting again
        result = {}
        for name, path in (("fp32", fp32_path), ("int8", int8_path)):
            onnx_model = OnnxModel(path, threads=1)
            correct = total = 0
            for x, y in test_loader:
                correct += (onnx_model(x).argmax(dim=1) == y).sum().item()
                total += len(y)
            times = []
            for _ in range(20):
                start = time.perf_counter()
                onnx_model(example)
                times.append((time.perf_counter() - start) * 1000)
            result[f"accuracy_{name}"] = correct / total
            result[f"bytes_{name}"] = onnx_size_bytes(path)
            result[f"ms_{name}"] = statistics.median(times)
        return result
    """, "ex03-int8-vs-fp32", "the 'int8' model was never quantized"),
]
