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
  ``choose_config({name: LoadTest}, p99_budget_ms=)`` picks the fastest setting within a latency budget.

The deployable folder and cold start are in ``coursekit.artefact``.
"""

from __future__ import annotations

import queue
import statistics
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from coursekit._validate import check_callable, check_float, check_int, check_type

__all__ = ["LatencyReport", "LoadTest", "MicroBatcher", "choose_config", "latency_report",
           "load_test",
           "interleaved_medians", "timings_ms"]


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


def choose_config(results: dict, *, p99_budget_ms: float):
    """The name of the configuration with the most requests per second whose p99 meets the budget.

    ``results``: ``{name: LoadTest}``. Among the configurations with ``latency.p99_ms <= p99_budget_ms``
    the highest ``requests_per_s`` wins; a tie goes to the lower p99. ``None`` when none meets the budget.
    """
    func = "choose_config"
    check_type("results", results, func, dict, "a dict {name: LoadTest}")
    check_float("p99_budget_ms", p99_budget_ms, func, low=0.0, closed="neither")
    within = [(name, r) for name, r in results.items() if r.latency.p99_ms <= p99_budget_ms]
    if not within:
        return None
    return max(within, key=lambda item: (item[1].requests_per_s, -item[1].latency.p99_ms))[0]
