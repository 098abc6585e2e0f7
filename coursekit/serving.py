"""Serving a model and measuring it the way production would: percentiles, load, an artefact.

Layers of API, smallest first:

- ``latency_report(times_ms) -> LatencyReport``: p50/p90/p99 (and mean, max) of raw timings;
  ``timings_ms(fn, x, runs=, warmup=)`` produces such timings for any callable, and
  ``interleaved_medians({name: call}, repeats=)`` compares several callables fairly: it alternates
  between them, so a burst of load on a shared machine hits all of them, not just one.
- ``MicroBatcher(fn, max_batch=, max_wait_ms=)``: a server's request queue. One worker thread takes
  the first waiting request, waits at most ``max_wait_ms`` for up to ``max_batch - 1`` more, runs
  ``fn`` once on the stacked batch and hands each caller its row. ``max_batch=1`` is plain
  one-request-at-a-time serving.
- ``load_test(fn, examples, clients=, requests=, max_batch=, max_wait_ms=) -> LoadTest``: ``clients``
  threads each send one request, wait for its answer, send the next (a closed loop), until
  ``requests`` answers or ``time_limit_s``; it reports latency percentiles and requests per second.
  In-process threads, no network: it measures queueing and batching, not sockets.
- ``write_artefact(model, folder, example_input) -> Artefact``: the deployable folder — ``model.onnx``
  (one file, weights inside) and ``serve.py``, a script that needs only ``onnxruntime`` and ``numpy``.
"""

from __future__ import annotations

import queue
import statistics
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coursekit._validate import check_callable, check_float, check_int, check_type

__all__ = ["SERVE_PY", "Artefact", "LatencyReport", "LoadTest", "MicroBatcher", "latency_report", "load_test",
           "interleaved_medians", "timings_ms", "write_artefact"]


# --- percentiles from raw timings ---------------------------------------------------------------

@dataclass(frozen=True)
class LatencyReport:
    p50_ms: float  # the median: a typical request
    p90_ms: float  # one request in ten is slower than this
    p99_ms: float  # one in a hundred: the tail users notice
    mean_ms: float
    max_ms: float
    n: int

    def __repr__(self) -> str:
        return (f"LatencyReport(p50={self.p50_ms:.3f} ms, p90={self.p90_ms:.3f} ms, p99={self.p99_ms:.3f} ms, "
                f"mean={self.mean_ms:.3f} ms, max={self.max_ms:.3f} ms, n={self.n})")


def latency_report(times_ms) -> LatencyReport:
    """Percentiles of raw timings (milliseconds), linearly interpolated as ``numpy.percentile`` does."""
    values = np.asarray(list(times_ms), dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"The 'times_ms' parameter of latency_report must be a non-empty list of timings. "
                         f"Got {values.size} values instead.")
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return LatencyReport(p50_ms=float(p50), p90_ms=float(p90), p99_ms=float(p99), mean_ms=float(values.mean()),
                         max_ms=float(values.max()), n=int(values.size))


def timings_ms(fn, x, *, runs: int = 200, warmup: int = 20) -> list[float]:
    """Call ``fn(x)`` ``warmup`` times untimed, then ``runs`` times; each call's time in ms, in order."""
    func = "timings_ms"
    check_callable("fn", fn, func)
    check_int("runs", runs, func, low=1)
    check_int("warmup", warmup, func, low=0)
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def interleaved_medians(calls: dict, *, repeats: int = 5, runs: int = 40, warmup: int = 5) -> dict:
    """``{name: [median ms of round 1, ..., round repeats]}`` for zero-argument callables ``calls``.

    Each round times every callable in turn (``warmup`` untimed calls, then ``runs`` timed ones).
    """
    func = "interleaved_medians"
    check_type("calls", calls, func, dict, "a dict {name: zero-argument callable}")
    for name, call in calls.items():
        check_callable(f"calls[{name!r}]", call, func)
    check_int("repeats", repeats, func, low=1)
    rounds: dict = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            rounds[name].append(statistics.median(timings_ms(lambda _, call=call: call(), None, runs=runs,
                                                             warmup=warmup)))
    return rounds


# --- a request queue that batches ---------------------------------------------------------------

class MicroBatcher:
    """Requests in, one batched call to ``fn`` per gathered group, answers out (see the module doc).

    ``fn`` takes a numpy batch ``(B, ...)`` and returns ``(B, ...)``; ``submit(example)`` takes one
    example (no batch dimension) and returns a ``concurrent.futures.Future`` of its row. Use it as a
    context manager (or call ``close()``) so the worker thread stops.
    """

    def __init__(self, fn, *, max_batch: int = 8, max_wait_ms: float = 2.0):
        func = "MicroBatcher"
        self.fn = check_callable("fn", fn, func)
        self.max_batch = check_int("max_batch", max_batch, func, low=1, high=4096)
        self.max_wait_ms = check_float("max_wait_ms", max_wait_ms, func, low=0.0, high=1000.0)
        self.batch_sizes: list[int] = []  # the size of every batch the worker ran
        self._queue: queue.Queue = queue.Queue()
        self._worker = threading.Thread(target=self._serve, name="MicroBatcher", daemon=True)
        self._worker.start()

    def submit(self, example: np.ndarray) -> Future:
        future: Future = Future()
        self._queue.put((np.asarray(example), future))
        return future

    def _gather(self, first) -> list:
        group = [first]
        deadline = time.perf_counter() + self.max_wait_ms / 1e3
        while len(group) < self.max_batch:
            left = deadline - time.perf_counter()
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:  # close() was called: serve what we have, then stop
                self._queue.put(None)
                break
            group.append(item)
        return group

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = self._gather(first)
            try:
                out = self.fn(np.stack([example for example, _ in group]))
                for row, (_, future) in enumerate(group):
                    future.set_result(out[row])
            except Exception as error:  # hand the failure to every waiting caller
                for _, future in group:
                    future.set_exception(error)
            self.batch_sizes.append(len(group))

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=10)

    def __enter__(self) -> MicroBatcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- a closed-loop load test --------------------------------------------------------------------

@dataclass(frozen=True)
class LoadTest:
    clients: int
    max_batch: int
    max_wait_ms: float
    requests: int  # answered
    seconds: float  # wall time from the first request to the last answer
    latency: LatencyReport  # per request: submit to answer, queueing included
    mean_batch: float  # average size of the batches the server ran

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    def __repr__(self) -> str:
        return (f"LoadTest({self.clients} clients, max_batch={self.max_batch}, max_wait={self.max_wait_ms:g} ms: "
                f"p50={self.latency.p50_ms:.2f} ms, p99={self.latency.p99_ms:.2f} ms, "
                f"{self.requests_per_s:,.0f} req/s, mean batch {self.mean_batch:.1f}, {self.requests} requests)")


def load_test(fn, examples, *, clients: int = 8, requests: int = 400, max_batch: int = 1,
              max_wait_ms: float = 0.0, time_limit_s: float = 10.0) -> LoadTest:
    """``clients`` threads send ``requests`` single-example requests in total through a ``MicroBatcher``.

    ``examples`` is an array of examples ``(N, ...)``; client ``c`` sends examples ``c, c + clients, ...``
    (cycling). Stops after ``requests`` answers or ``time_limit_s`` seconds, whichever comes first.
    """
    func = "load_test"
    check_callable("fn", fn, func)
    examples = np.asarray(examples)
    if examples.ndim < 1 or examples.shape[0] < 1:
        raise ValueError(f"The 'examples' parameter of {func} must be an array of at least one example. "
                         f"Got shape {examples.shape} instead.")
    check_int("clients", clients, func, low=1, high=256)
    check_int("requests", requests, func, low=1, high=1_000_000)
    check_float("time_limit_s", time_limit_s, func, low=0.0, high=600.0, closed="right")
    latencies: list[list[float]] = [[] for _ in range(clients)]
    counter = iter(range(requests))  # next() on it is atomic enough under the GIL for a request budget
    lock = threading.Lock()

    with MicroBatcher(fn, max_batch=max_batch, max_wait_ms=max_wait_ms) as batcher:
        start = time.perf_counter()
        deadline = start + time_limit_s

        def client(c: int) -> None:
            i = c
            while time.perf_counter() < deadline:
                with lock:
                    if next(counter, None) is None:
                        return
                sent = time.perf_counter()
                batcher.submit(examples[i % len(examples)]).result(timeout=time_limit_s + 5)
                latencies[c].append((time.perf_counter() - sent) * 1e3)
                i += clients

        threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=time_limit_s + 10)
        seconds = time.perf_counter() - start
        sizes = list(batcher.batch_sizes)
    times = [t for per_client in latencies for t in per_client]
    return LoadTest(clients=clients, max_batch=max_batch, max_wait_ms=float(max_wait_ms), requests=len(times),
                    seconds=seconds, latency=latency_report(times), mean_batch=statistics.fmean(sizes))


# --- the self-contained artefact ----------------------------------------------------------------

SERVE_PY = '''\
"""Answer requests with model.onnx, using only onnxruntime and numpy (no torch).

  python serve.py in.npy out.npy   # a batch (N, 1, 8, 8) float32 -> logits (N, 10) saved to out.npy
  python serve.py --http 8000      # POST {"inputs": [[...]]} to http://127.0.0.1:8000 -> logits and labels
Inputs are digits preprocessed as in training (coursekit.data). THREADS sets ONNX Runtime's threads (1).
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import onnxruntime as ort

options = ort.SessionOptions()
options.intra_op_num_threads = int(os.environ.get("THREADS", "1"))
session = ort.InferenceSession(str(Path(__file__).with_name("model.onnx")), options, providers=["CPUExecutionProvider"])
INPUT = session.get_inputs()[0].name


def predict(batch):
    return session.run(None, {INPUT: np.ascontiguousarray(batch, dtype=np.float32)})[0]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        logits = predict(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["inputs"])
        body = json.dumps({"logits": logits.tolist(), "labels": logits.argmax(1).tolist()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet: one line per request would drown the timings
        pass


if __name__ == "__main__":
    if sys.argv[1] == "--http":
        HTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
    else:
        np.save(sys.argv[2], predict(np.load(sys.argv[1])))
'''


@dataclass(frozen=True)
class Artefact:
    folder: Path
    files: tuple  # names inside the folder
    size_bytes: int  # all files together

    @property
    def model(self) -> Path:
        return self.folder / "model.onnx"

    @property
    def script(self) -> Path:
        return self.folder / "serve.py"

    def __repr__(self) -> str:
        return f"Artefact({str(self.folder)!r}, files={list(self.files)}, size={self.size_bytes / 1024:.1f} KiB)"


def write_artefact(model, folder, example_input) -> Artefact:
    """Write ``folder/model.onnx`` (weights inside the one file), ``serve.py`` and ``requirements.txt``."""
    import onnx
    import onnxruntime
    import torch

    from coursekit.export import to_onnx

    func = "write_artefact"
    check_type("model", model, func, torch.nn.Module, "a torch.nn.Module")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file() and old.name.startswith("model.onnx"):
            old.unlink()
    exported = to_onnx(model, folder / "_export" / "model.onnx", example_input)
    graph = onnx.load(str(exported))  # pulls the external weights in
    onnx.save_model(graph, str(folder / "model.onnx"), save_as_external_data=False)
    for leftover in sorted(exported.parent.iterdir()):
        leftover.unlink()
    exported.parent.rmdir()
    (folder / "serve.py").write_text(SERVE_PY, encoding="utf-8")
    (folder / "requirements.txt").write_text(f"onnxruntime=={onnxruntime.__version__}\nnumpy=={np.__version__}\n",
                                             encoding="utf-8")
    files = ("model.onnx", "requirements.txt", "serve.py")
    return Artefact(folder=folder, files=files, size_bytes=sum((folder / f).stat().st_size for f in files))
