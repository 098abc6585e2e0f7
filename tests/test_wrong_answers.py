"""Each exercise check fails on a plausible wrong answer, not only on the stub.

Every entry plants a wrong answer into one solution region (0-based, counted in file order) of a
solution notebook, executes the notebook in a real kernel, and requires the named check cell to fail.
Add an entry for each wrong answer a learner could plausibly write.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coursekit.exercises import replace_regions
from tests.nbrun import run_text

ROOT = Path(__file__).resolve().parent.parent

# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS: list[tuple[str, int, str, str, str]] = [
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
]


@pytest.mark.notebook
@pytest.mark.parametrize(
    "stem, region, code, check_id, why", WRONG_ANSWERS, ids=[f"{w[0]}-{w[3]}-{i}" for i, w in enumerate(WRONG_ANSWERS)]
)
def test_check_fails_on_wrong_answer(stem, region, code, check_id, why):
    path = ROOT / "solutions" / "en" / f"{stem}.py"
    text = replace_regions(path.read_text(encoding="utf-8"), {region: code}, where=str(path))
    runs = run_text(text, cwd=str(ROOT), stop_after=check_id)
    checks = {r.metadata.get("check_id"): r for r in runs if r.is_check}
    assert check_id in checks, f"no check cell with check_id={check_id!r} in {path.name}"
    assert checks[check_id].error is not None, f"check {check_id} passed a wrong answer ({why})"
