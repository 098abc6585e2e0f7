"""Measurement: latency of any callable, FLOPs, a one-line profile, speed comparisons, per-class accuracy.

Latency (lesson 00's rules): warm up first (the first calls pay for memory allocation and kernel
selection), then time many runs and report the median (robust to a stray slow run) and the 90th
percentile (what a user waits for on a bad day). Always say which device, thread count and batch
size a number comes from. On a GPU the work is queued asynchronously: ``measure_latency``
synchronises before each clock reading, so the time is the time the work took.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from coursekit._validate import check_callable, check_int, check_type
from coursekit.models import count_parameters, model_size_bytes
from coursekit.train import eval_mode, evaluate, predict

__all__ = ["LatencyStats", "ModelProfile", "SpeedComparison", "SpeedRow", "class_accuracy", "compare_speed",
           "count_flops", "measure_latency", "profile_model"]


@dataclass(frozen=True)
class LatencyStats:
    median_ms: float
    p90_ms: float
    mean_ms: float
    std_ms: float
    min_ms: float
    runs: int
    warmup: int
    threads: int  # torch intra-op threads used for the timing
    batch_size: int
    times_ms: tuple = ()  # every timed run, in order
    device: str = "cpu"  # where the input lived: "cpu", "cuda:0", ...

    def __repr__(self) -> str:
        return (
            f"LatencyStats(median={self.median_ms:.3f} ms, p90={self.p90_ms:.3f} ms, "
            f"mean={self.mean_ms:.3f}±{self.std_ms:.3f} ms, runs={self.runs}, "
            f"threads={self.threads}, batch_size={self.batch_size}, device={self.device!r})"
        )


def _check_input(example_input, func: str) -> torch.Tensor:
    return check_type("example_input", example_input, func, torch.Tensor, "a torch.Tensor (a batch of inputs)")


def _p90(values: list[float]) -> float:
    """The 90th percentile, linearly interpolated between the sorted values."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def measure_latency(
    model: Callable, example_input: torch.Tensor, *, warmup: int = 10, runs: int = 50,
    threads: int | None = None,
) -> LatencyStats:
    """Time ``model(example_input)``: ``warmup`` untimed calls, then ``runs`` timed ones.

    ``model`` is any callable: an ``nn.Module`` (run in eval mode, its mode restored afterwards), a
    compiled module, an ``OnnxModel`` or a plain function. Calls run under ``torch.inference_mode()``
    with ``threads`` torch threads (default: the current setting; restored afterwards). With an input
    on a CUDA device the GPU is synchronised before each clock reading; ``device`` in the result
    says where the input lived.
    """
    func = "measure_latency"
    check_callable("model", model, func)
    _check_input(example_input, func)
    check_int("warmup", warmup, func, low=0)
    check_int("runs", runs, func, low=1)
    if threads is not None:
        check_int("threads", threads, func, low=1)
    on_cuda = example_input.device.type == "cuda"
    sync = (lambda: torch.cuda.synchronize(example_input.device)) if on_cuda else (lambda: None)
    old_threads = torch.get_num_threads()
    times: list[float] = []
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        with eval_mode(model), torch.inference_mode():
            for _ in range(warmup):
                model(example_input)
            sync()
            for _ in range(runs):
                start = time.perf_counter()
                model(example_input)
                sync()
                times.append((time.perf_counter() - start) * 1000)
        used_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(old_threads)
    return LatencyStats(
        median_ms=statistics.median(times), p90_ms=_p90(times),
        mean_ms=statistics.fmean(times), std_ms=statistics.pstdev(times), min_ms=min(times),
        runs=runs, warmup=warmup, threads=used_threads,
        batch_size=example_input.shape[0] if example_input.dim() > 0 else 1, times_ms=tuple(times),
        device=str(example_input.device),
    )


def count_flops(model: nn.Module, example_input: torch.Tensor) -> int:
    """FLOPs of one forward pass on ``example_input``, as ``torch.utils.flop_counter`` counts them.

    A multiply-add counts as 2 FLOPs. Only matrix multiplies and convolutions are counted (they are
    nearly all of the work); the count is for the whole batch.
    """
    from torch.utils.flop_counter import FlopCounterMode

    func = "count_flops"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    _check_input(example_input, func)
    counter = FlopCounterMode(display=False)
    with eval_mode(model), torch.no_grad(), counter:
        model(example_input)
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class ModelProfile:
    """Lesson 00's numbers for one model."""

    name: str
    parameters: int
    nonzero_parameters: int
    size_bytes: int
    flops: int  # per example
    accuracy: float | None = None  # fraction in [0, 1], if a loader was given

    def __repr__(self) -> str:
        acc = "" if self.accuracy is None else f", accuracy={self.accuracy:.2%}"
        return (
            f"ModelProfile({self.name!r}, parameters={self.parameters:,}, "
            f"size={self.size_bytes / 1024:.1f} KiB, flops={self.flops:,}{acc})"
        )


def profile_model(model: nn.Module, example_input: torch.Tensor, *, name: str | None = None,
                  loader=None) -> ModelProfile:
    """Parameters, size on disk, FLOPs per example and (given a loader) accuracy of ``model``."""
    func = "profile_model"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    _check_input(example_input, func)
    one = example_input[:1]
    return ModelProfile(
        name=name or type(model).__name__,
        parameters=count_parameters(model),
        nonzero_parameters=count_parameters(model, nonzero_only=True),
        size_bytes=model_size_bytes(model),
        flops=count_flops(model, one),
        accuracy=None if loader is None else evaluate(model, loader).accuracy,
    )


@dataclass(frozen=True)
class SpeedRow:
    model: str
    batch_size: int
    threads: int
    median_ms: float  # over all rounds together
    speedup: float  # baseline median / this median (> 1: faster than the baseline)
    flops: int  # per batch (0 for a callable that is not an nn.Module)
    flops_reduction: float  # baseline FLOPs / these FLOPs (nan when either is unknown)
    round_medians_ms: tuple = ()  # the median of each round alone
    speedup_low: float = float("nan")  # the lowest ratio the rounds allow: slowest baseline round / ...
    speedup_high: float = float("nan")  # ... and the highest (see compare_speed)

    def judge(self, ratio: float = 1.0, control: SpeedRow | None = None) -> str:
        """Is the speed-up above ``ratio``, below it, or can the noise not tell (``"within noise"``)?

        The speed-up counts as above ``ratio`` only if even its least favourable pairing of rounds
        (``speedup_low``) is above it, and below only if its most favourable one is. ``control`` is the
        row of a model identical to the baseline timed alongside it (an A/A test): its range shows how
        far the ratio of two identical models strays, and widens the band around ``ratio`` to match.
        ``judge()`` asks "faster than the baseline?", ``judge(row.flops_reduction)`` "as fast as the
        FLOPs ratio predicts?".
        """
        low, high = (ratio * control.speedup_low, ratio * control.speedup_high) if control else (ratio, ratio)
        if self.speedup_low > high:
            return "above"
        if self.speedup_high < low:
            return "below"
        return "within noise"


@dataclass(frozen=True)
class SpeedComparison:
    baseline: str
    rows: tuple  # of SpeedRow

    def row(self, model: str, batch_size: int, threads: int) -> SpeedRow:
        return next(r for r in self.rows if (r.model, r.batch_size, r.threads) == (model, batch_size, threads))

    def __repr__(self) -> str:
        width = max([5] + [len(r.model) for r in self.rows])
        lines = [f"{'model':<{width}s} {'batch':>5s} {'threads':>7s} {'median ms':>10s} "
                 f"{'speed-up':>9s} {'rounds allow':>14s} {'FLOPs fewer':>11s}"]
        for r in self.rows:
            lines.append(f"{r.model:<{width}s} {r.batch_size:>5d} {r.threads:>7d} {r.median_ms:>10.3f} "
                         f"{r.speedup:>8.2f}× {r.speedup_low:>6.2f}–{r.speedup_high:.2f}× {r.flops_reduction:>10.2f}×")
        return "\n".join(lines)


def compare_speed(models: Mapping[str, Callable], example_input: torch.Tensor, *,
                  batch_sizes: Iterable[int] = (1, 64), threads: Iterable[int] = (1, 2), runs: int = 10,
                  rounds: int = 3, warmup: int = 3) -> SpeedComparison:
    """Median latency of each model at each batch size and thread count, as ratios to the first model.

    The models are timed in turns (``rounds`` rounds of ``runs`` calls each, after ``warmup``), so a
    burst of noise on a shared machine hits all of them alike. ``speedup`` compares the medians over
    all rounds; ``speedup_low`` .. ``speedup_high`` is the range that the rounds' own medians allow
    (slowest baseline round / fastest round of the model, and the reverse), as in lesson 00: a claim
    about a ratio holds only outside that range (:meth:`SpeedRow.judge`). Batches are the first rows
    of ``example_input`` (repeated if needed). The models are any callables (see
    :func:`measure_latency`); FLOPs come from :func:`count_flops` for ``nn.Module`` s (0, and a
    ``flops_reduction`` of nan, for other callables, whose work torch cannot count).
    """
    func = "compare_speed"
    check_type("models", models, func, Mapping, "a dict {name: model}")
    if not models:
        raise ValueError("The 'models' parameter of compare_speed must hold at least one model. Got {} instead.")
    for name, m in models.items():
        check_callable(f"models[{name!r}]", m, func)
    check_type("example_input", example_input, func, torch.Tensor, "a torch.Tensor (a batch of inputs)")
    batch_sizes = [check_int("batch_sizes", b, func, low=1) for b in batch_sizes]
    threads = [check_int("threads", t, func, low=1) for t in threads]
    check_int("runs", runs, func, low=1)
    check_int("rounds", rounds, func, low=1)
    check_int("warmup", warmup, func, low=0)
    names = list(models)
    rows = []
    for b in batch_sizes:
        reps = -(-b // example_input.shape[0])
        x = example_input.repeat(reps, *([1] * (example_input.dim() - 1)))[:b]
        flops = {n: count_flops(models[n], x) if isinstance(models[n], nn.Module) else 0 for n in names}
        for t in threads:
            times: dict[str, list[float]] = {n: [] for n in names}
            per_round: dict[str, list[float]] = {n: [] for n in names}
            for i in range(rounds):
                for n in (names if i % 2 == 0 else names[::-1]):  # alternate the order: no model always first
                    stats = measure_latency(models[n], x, warmup=warmup, runs=runs, threads=t)
                    times[n].extend(stats.times_ms)
                    per_round[n].append(stats.median_ms)
            median = {n: statistics.median(times[n]) for n in names}
            base = per_round[names[0]]
            for n in names:
                rows.append(SpeedRow(n, b, t, median[n], median[names[0]] / median[n], flops[n],
                                     _ratio(flops[names[0]], flops[n]), tuple(per_round[n]),
                                     min(base) / max(per_round[n]), max(base) / min(per_round[n])))
    return SpeedComparison(names[0], tuple(rows))


def _ratio(a: int, b: int) -> float:
    return a / b if a and b else float("nan")


def class_accuracy(model: Callable, loader: DataLoader, label: int) -> float:
    """Fraction of the examples of class ``label`` in ``loader`` that ``model`` gets right."""
    func = "class_accuracy"
    if not isinstance(model, nn.Module):
        check_callable("model", model, func)
    check_type("loader", loader, func, DataLoader, "a torch.utils.data.DataLoader")
    check_int("label", label, func, low=0)
    logits = predict(model, loader)
    labels = torch.cat([batch[1] for batch in DataLoader(loader.dataset, batch_size=512)])
    of_class = labels == label
    if not of_class.any():
        raise ValueError(f"The 'label' parameter of class_accuracy must be a class present in the loader. "
                         f"Got {label} instead (no example has it).")
    return (logits[of_class].argmax(1) == label).float().mean().item()
