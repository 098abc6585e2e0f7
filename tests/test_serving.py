"""coursekit.serving: percentiles, the micro-batching queue, the load test and the artefact."""

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from coursekit.artefact import SERVE_PY, write_artefact
from coursekit.serving import (
    LatencyReport,
    LoadTest,
    MicroBatcher,
    choose_config,
    interleaved_medians,
    latency_report,
    load_test,
    timings_ms,
)


def test_latency_report_matches_numpy_percentiles():
    rng = np.random.default_rng(0)
    times = rng.exponential(1.0, size=137)
    report = latency_report(list(times))
    assert isinstance(report, LatencyReport) and report.n == 137
    for q, got in ((50, report.p50_ms), (90, report.p90_ms), (99, report.p99_ms)):
        assert got == pytest.approx(np.percentile(times, q))
    assert report.max_ms == times.max() and report.mean_ms == pytest.approx(times.mean())


def test_latency_report_rejects_empty():
    with pytest.raises(ValueError, match="'times_ms' parameter of latency_report"):
        latency_report([])


def test_timings_ms_counts_warmup_and_runs():
    calls = []
    times = timings_ms(calls.append, 1, runs=7, warmup=3)
    assert len(times) == 7 and len(calls) == 10 and all(t >= 0 for t in times)


def test_micro_batcher_answers_each_caller_with_its_own_row():
    seen = []

    def fn(batch):
        seen.append(len(batch))
        return batch * 2

    with MicroBatcher(fn, max_batch=4, max_wait_ms=50) as batcher:
        futures = [batcher.submit(np.full(3, i, dtype=np.float32)) for i in range(10)]
        answers = [f.result(timeout=5) for f in futures]
    assert all(np.array_equal(a, np.full(3, 2 * i)) for i, a in enumerate(answers))
    assert max(seen) <= 4 and sum(seen) == 10 and batcher.batch_sizes == seen
    assert max(seen) > 1  # requests queued together were batched


def test_micro_batcher_with_max_batch_one_never_batches():
    with MicroBatcher(lambda b: b, max_batch=1, max_wait_ms=5) as batcher:
        for f in [batcher.submit(np.zeros(2)) for _ in range(6)]:
            f.result(timeout=5)
    assert batcher.batch_sizes == [1] * 6


def test_micro_batcher_waits_no_longer_than_max_wait():
    with MicroBatcher(lambda b: b, max_batch=64, max_wait_ms=20) as batcher:
        start = time.perf_counter()
        batcher.submit(np.zeros(2)).result(timeout=5)  # alone: waits for company, then gives up
        waited = time.perf_counter() - start
    assert 0.015 < waited < 2.0


def test_micro_batcher_passes_errors_to_callers():
    def broken(batch):
        raise RuntimeError("boom")

    with MicroBatcher(broken, max_batch=2, max_wait_ms=1) as batcher:
        with pytest.raises(RuntimeError, match="boom"):
            batcher.submit(np.zeros(2)).result(timeout=5)


def test_micro_batcher_thread_stops_on_close():
    batcher = MicroBatcher(lambda b: b)
    batcher.close()
    assert not batcher._worker.is_alive()


def test_load_test_sends_the_requested_number_and_reports():
    lock = threading.Lock()
    rows = []

    def fn(batch):
        with lock:
            rows.append(len(batch))
        time.sleep(0.001)
        return batch

    result = load_test(fn, np.zeros((5, 3), np.float32), clients=4, requests=60, max_batch=8, max_wait_ms=1)
    assert isinstance(result, LoadTest) and result.requests == 60 and sum(rows) == 60
    assert result.requests_per_s > 0 and result.latency.n == 60 and 1 <= result.mean_batch <= 4
    assert "60 requests" in repr(result)


def test_load_test_stops_at_its_time_limit():
    result = load_test(lambda b: (time.sleep(0.01), b)[1], np.zeros((2, 2)), clients=2, requests=100_000,
                       time_limit_s=0.3)
    assert result.requests < 100 and result.seconds < 5


def test_load_test_validates():
    with pytest.raises(ValueError, match="'clients' parameter of load_test"):
        load_test(lambda b: b, np.zeros((2, 2)), clients=0)


def test_serve_script_is_short_and_imports_no_torch():
    lines = [line for line in SERVE_PY.splitlines() if line.strip()]
    assert len(lines) <= 45
    assert "torch" not in SERVE_PY.replace("(no torch)", "") and "coursekit" not in SERVE_PY.split('"""')[2]


@pytest.fixture(scope="module")
def student_artefact(tmp_path_factory):
    from coursekit.data import load_dataset
    from coursekit.pretrained import pretrained

    model = pretrained("student", progress=False).eval()
    test = load_dataset("digits", seed=0).test
    x = torch.stack([test[i][0] for i in range(len(test))])
    artefact = write_artefact(model, tmp_path_factory.mktemp("artefact"), x[:2])
    return model, x, artefact


def test_artefact_answers_like_the_model_without_torch(student_artefact, tmp_path):
    model, x, artefact = student_artefact
    assert set(artefact.files) == {"model.onnx", "serve.py", "requirements.txt"}
    assert not (artefact.folder / "model.onnx.data").exists()  # weights inside the one file
    np.save(tmp_path / "in.npy", x.numpy())
    probe = ("import runpy, sys; script = sys.argv[1]; sys.argv = [script] + sys.argv[2:]; "
             "runpy.run_path(script, run_name='__main__'); "
             "print('torch' in sys.modules, 'coursekit' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe, str(artefact.script), str(tmp_path / "in.npy"),
                           str(tmp_path / "out.npy")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]  # neither torch nor coursekit was imported there
    logits = np.load(tmp_path / "out.npy")
    with torch.inference_mode():
        expected = model(x).numpy()
    assert np.abs(logits - expected).max() <= 1e-4
    assert np.array_equal(logits.argmax(1), expected.argmax(1))


def test_interleaved_medians_alternates_between_callables():
    order = []
    calls = {"a": lambda: order.append("a"), "b": lambda: order.append("b")}
    rounds = interleaved_medians(calls, repeats=3, runs=2, warmup=1)
    assert set(rounds) == {"a", "b"} and all(len(v) == 3 for v in rounds.values())
    assert order == (["a"] * 3 + ["b"] * 3) * 3  # round by round, not all of "a" first


def fake_test(p99, rps):
    report = LatencyReport(p50_ms=p99 / 2, p90_ms=p99 / 1.5, p99_ms=p99, mean_ms=p99 / 2, max_ms=p99, n=100)
    return LoadTest(clients=4, max_batch=1, max_wait_ms=0.0, requests=100, seconds=100 / rps, latency=report,
                    mean_batch=1.0)


def test_choose_config_takes_the_fastest_within_budget():
    results = {"a": fake_test(2.0, 1000), "b": fake_test(9.0, 5000), "c": fake_test(4.0, 3000)}
    assert choose_config(results, p99_budget_ms=5.0) == "c"  # b is faster but over budget
    assert choose_config(results, p99_budget_ms=10.0) == "b"
    assert choose_config(results, p99_budget_ms=1.0) is None


def test_choose_config_breaks_ties_by_p99():
    results = {"slow tail": fake_test(4.0, 2000), "short tail": fake_test(3.0, 2000)}
    assert choose_config(results, p99_budget_ms=5.0) == "short tail"
