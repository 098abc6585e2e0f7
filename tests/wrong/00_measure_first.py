"""Plausible wrong answers for solutions/en/00_measure_first.py (see tests/wrong_answers.py)."""

# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS = [
    # lesson 00
    ("00_measure_first", 0, "return c_out * c_in * k * k", "ex00-conv-params", "forgets the bias"),
    ("00_measure_first", 0, "return c_out * c_in * k * k + c_in", "ex00-conv-params", "one bias per input channel"),
    ("00_measure_first", 1, "return batch * c_out * c_in * k * k * h * w", "ex00-conv-flops",
     "counts multiply-adds, not FLOPs"),
    ("00_measure_first", 1, "return 2 * c_out * c_in * k * k * h * w", "ex00-conv-flops", "ignores the batch"),
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
]
