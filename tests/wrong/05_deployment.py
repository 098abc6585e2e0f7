"""Plausible wrong answers for solutions/en/05_deployment.py (see tests/wrong_answers.py)."""

# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS = [
    ("05_deployment", 0, """
        worst, same, n = 0.0, 0, 0
        for x in batches:
            la, lb = torch.as_tensor(a(x)).float(), torch.as_tensor(b(x)).float()
            worst = max(worst, (la - lb).abs().mean().item())
            same += (la.argmax(1) == lb.argmax(1)).sum().item()
            n += len(x)
        return worst, same / n
    """, "ex05-parity", "the mean absolute difference hides the one wrong row that the maximum reveals"),
    ("05_deployment", 0, """
        worst, same, n = 0.0, 0, 0
        for x in batches:
            la, lb = torch.as_tensor(a(x)).float(), torch.as_tensor(b(x)).float()
            worst = max(worst, (la - lb).max().item())
            same += (la.argmax(1) == lb.argmax(1)).sum().item()
            n += len(x)
        return worst, same / n
    """, "ex05-parity", "a signed maximum: misses differences where b is larger than a"),
    ("05_deployment", 0, """
        worst, agreements = 0.0, []
        for x in batches:
            la, lb = torch.as_tensor(a(x)).float(), torch.as_tensor(b(x)).float()
            worst = max(worst, (la - lb).abs().max().item())
            agreements.append((la.argmax(1) == lb.argmax(1)).float().mean().item())
        return worst, sum(agreements) / len(agreements)
    """, "ex05-parity", "averages the per-batch agreement: batches of different sizes get equal weight"),
    ("05_deployment", 0, """
        for x in batches:
            la, lb = torch.as_tensor(a(x)).float(), torch.as_tensor(b(x)).float()
        return (la - lb).abs().max().item(), (la.argmax(1) == lb.argmax(1)).float().mean().item()
    """, "ex05-parity", "only the last batch is compared"),
    ("05_deployment", 0, """
        worst, same, n = 0.0, 0, 0
        for x in batches:
            la, lb = torch.as_tensor(a(x)).float(), torch.as_tensor(b(x)).float()
            worst = max(worst, (la.max(1).values - lb.max(1).values).abs().max().item())
            same += (la.argmax(1) == lb.argmax(1)).sum().item()
            n += len(x)
        return worst, same / n
    """, "ex05-parity", "compares only the largest logit of each row, not every logit"),
    ("05_deployment", 1, """
        ordered = sorted(times_ms)
        return {f"p{q}": ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))] for q in (50, 90, 99)}
    """, "ex05-percentiles", "nearest rank without interpolation"),
    ("05_deployment", 1, """
        ordered = sorted(times_ms)
        report = {}
        for q in (50, 90, 99):
            position = len(ordered) * q / 100
            low = min(int(position), len(ordered) - 1)
            high = min(low + 1, len(ordered) - 1)
            report[f"p{q}"] = ordered[low] + (ordered[high] - ordered[low]) * (position - int(position))
        return report
    """, "ex05-percentiles", "position n · q / 100 instead of (n - 1) · q / 100"),
    ("05_deployment", 1, """
        report = {}
        for q in (50, 90, 99):
            position = (len(times_ms) - 1) * q / 100
            low = int(position)
            high = min(low + 1, len(times_ms) - 1)
            report[f"p{q}"] = times_ms[low] + (times_ms[high] - times_ms[low]) * (position - low)
        return report
    """, "ex05-percentiles", "forgets to sort: reads positions in the order the timings came"),
    ("05_deployment", 1, """
        import statistics
        ordered = sorted(times_ms)
        report = {"p50": statistics.fmean(ordered)}
        for q in (90, 99):
            position = (len(ordered) - 1) * q / 100
            low = int(position)
            high = min(low + 1, len(ordered) - 1)
            report[f"p{q}"] = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
        return report
    """, "ex05-percentiles", "reports the mean as p50: a few slow calls pull it up"),
    ("05_deployment", 1, """
        times_ms.sort()
        report = {}
        for q in (50, 90, 99):
            position = (len(times_ms) - 1) * q / 100
            low = int(position)
            high = min(low + 1, len(times_ms) - 1)
            report[f"p{q}"] = times_ms[low] + (times_ms[high] - times_ms[low]) * (position - low)
        return report
    """, "ex05-percentiles", "sorts the caller's list in place"),
    ("05_deployment", 3, """
        from coursekit.export import to_onnx
        return to_onnx(model, folder / "student.onnx", calibration[:8])
    """, "ex05-deploy-budget", "the fp32 export: about 600 KiB, over the 256 KiB budget"),
    ("05_deployment", 3, """
        from onnxruntime.quantization import QuantType, quantize_dynamic

        from coursekit.export import to_onnx

        fp32 = to_onnx(model, folder / "student-fp32.onnx", calibration[:8])
        int8 = folder / "student-int8.onnx"
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        return int8
    """, "ex05-deploy-budget", "dynamic int8 (ConvInteger): small enough, but barely faster than torch eager at batch 1"),
    ("05_deployment", 3, """
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

        fp32 = folder / "student-fp32.onnx"
        torch.onnx.export(model.eval(), (calibration[:1],), str(fp32), dynamo=True, input_names=["x"])
        int8 = folder / "student-int8.onnx"

        class Batches(CalibrationDataReader):
            def __init__(self):
                self.items = iter([{"x": calibration[i:i + 1].numpy()} for i in range(64)])

            def get_next(self):
                return next(self.items, None)

        quantize_static(str(fp32), str(int8), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
        return int8
    """, "ex05-deploy-budget", "exported without a dynamic batch dimension: only batch 1 works"),
    ("05_deployment", 3, """
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

        from coursekit.export import to_onnx
        from coursekit.models import StudentNet

        fresh = StudentNet(in_channels=1)  # an untrained student: the right shape, the wrong weights
        fp32 = to_onnx(fresh, folder / "student-fp32.onnx", calibration[:8])
        int8 = folder / "student-int8.onnx"

        class Batches(CalibrationDataReader):
            def __init__(self):
                self.items = iter([{"x": calibration[i:i + 64].numpy()} for i in range(0, len(calibration), 64)])

            def get_next(self):
                return next(self.items, None)

        quantize_static(str(fp32), str(int8), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
        return int8
    """, "ex05-deploy-budget", "deploys a fresh, untrained StudentNet instead of the trained one it was given"),
    ("05_deployment", 2, """
        fastest = max(results, key=lambda name: results[name].requests_per_s)
        return fastest if results[fastest].latency.p99_ms <= p99_budget_ms else None
    """, "ex05-choose-config", "takes the fastest overall and gives up if it is over budget"),
    ("05_deployment", 2, """
        within = {n: r for n, r in results.items() if r.latency.p99_ms <= p99_budget_ms}
        return min(within, key=lambda n: within[n].latency.p99_ms) if within else None
    """, "ex05-choose-config", "picks the lowest p99 instead of the most requests per second within budget"),
    ("05_deployment", 2, """
        within = {n: r for n, r in results.items() if r.latency.p99_ms < p99_budget_ms}
        return max(within, key=lambda n: (within[n].requests_per_s, -within[n].latency.p99_ms)) if within else None
    """, "ex05-choose-config", "a strict < where the budget is inclusive (<=)"),
    ("05_deployment", 2, """
        within = {n: r for n, r in results.items() if r.latency.p50_ms <= p99_budget_ms}
        return max(within, key=lambda n: (within[n].requests_per_s, -within[n].latency.p99_ms)) if within else None
    """, "ex05-choose-config", "checks the median (p50) against a p99 budget"),
    ("05_deployment", 2, """
        within = {n: r for n, r in results.items() if r.latency.p99_ms <= p99_budget_ms}
        return max(within, key=lambda n: within[n].requests_per_s) if within else None
    """, "ex05-choose-config", "ignores the tie-break: on equal requests/s the first one wins, not the lower p99"),
]
