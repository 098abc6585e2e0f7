"""Plausible wrong answers for solutions/en/00_measure_first.py (see tests/wrong_answers.py)."""

# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS = [
    # lesson 00
    ("00_measure_first", 0, """
        kh, kw = kernel_size
        return c_out * c_in * kh * kw
    """, "ex00-conv-params", "forgets the bias"),
    ("00_measure_first", 0, """
        kh, kw = kernel_size
        return c_out * c_in * kh * kw + c_in
    """, "ex00-conv-params", "one bias per input channel"),
    ("00_measure_first", 0, "return c_out * c_in * 9 + (c_out if bias else 0)", "ex00-conv-params",
     "hard-codes a 3x3 kernel"),
    ("00_measure_first", 0, """
        k = kernel_size[0]
        return c_out * c_in * k * k + (c_out if bias else 0)
    """, "ex00-conv-params", "assumes a square kernel"),
    ("00_measure_first", 1, """
        kh, kw = kernel_size
        return batch * c_out * c_in * kh * kw * ((h + 2 * padding - kh) // stride + 1) * ((w + 2 * padding - kw) // stride + 1)
    """, "ex00-conv-flops", "counts multiply-adds, not FLOPs"),
    ("00_measure_first", 1, """
        kh, kw = kernel_size
        return 2 * c_out * c_in * kh * kw * ((h + 2 * padding - kh) // stride + 1) * ((w + 2 * padding - kw) // stride + 1)
    """, "ex00-conv-flops", "ignores the batch"),
    ("00_measure_first", 1, """
        kh, kw = kernel_size
        return 2 * batch * c_out * c_in * kh * kw * h * w
    """, "ex00-conv-flops", "assumes 'same' output size (stride 1, padding k // 2), as the lesson's 3x3 example"),
    ("00_measure_first", 1, """
        kh, kw = kernel_size
        return 2 * batch * c_out * c_in * kh * kw * (h + 2 * padding - kh + 1) * (w + 2 * padding - kw + 1)
    """, "ex00-conv-flops", "ignores the stride"),
    ("00_measure_first", 1, """
        kh, kw = kernel_size
        return 2 * batch * c_out * c_in * kh * kw * ((h - kh) // stride + 1) * ((w - kw) // stride + 1)
    """, "ex00-conv-flops", "ignores the padding"),
    ("00_measure_first", 1, """
        kh, kw = kernel_size
        return 2 * batch * c_out * c_in * kh * kw * ((h + padding - kh) // stride + 1) * ((w + padding - kw) // stride + 1)
    """, "ex00-conv-flops", "pads one side only"),
    ("00_measure_first", 1, """
        k = kernel_size[0]
        return 2 * batch * c_out * c_in * k * k * ((h + 2 * padding - k) // stride + 1) * ((w + 2 * padding - k) // stride + 1)
    """, "ex00-conv-flops", "assumes a square kernel"),
    ("00_measure_first", 2, """
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        model.train()
        return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "no warm-up"),
    ("00_measure_first", 2, """
        was_training = model.training
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        model.train(was_training)
        return statistics.mean(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "reports the mean, which one slow run drags up"),
    ("00_measure_first", 2, """
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "leaves the model in eval mode"),
    ("00_measure_first", 2, """
        was_training = model.training
        model.eval()
        times = []
        for _ in range(warmup):
            model(x)
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000)
        model.train(was_training)
        return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "records autograd history (no inference_mode)"),
    ("00_measure_first", 2, """
        was_training = model.training
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        model.train(was_training)
        return min(times), max(times)
    """, "ex00-latency", "best and worst run instead of median and p90"),
    ("00_measure_first", 2, """
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        model.train()
        return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "always switches back to train mode, even if the model was in eval mode"),
    ("00_measure_first", 2, """
        was_training = model.training
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        model.train(was_training)
        return statistics.median(times), statistics.quantiles(times, n=10)[-1]
    """, "ex00-latency", "p90 by the default (exclusive) quantile method instead of the inclusive one"),
    ("00_measure_first", 2, """
        was_training = model.training
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        model.train(was_training)
        return statistics.median(times), sorted(times)[int(0.9 * len(times))]
    """, "ex00-latency", "p90 as a nearest-rank value instead of the inclusive quantile"),
    ("00_measure_first", 2, """
        was_training = model.training
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(10):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        model.train(was_training)
        return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "hard-codes 10 warm-up calls"),
]
