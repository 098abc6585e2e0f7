"""The measurement rules of lesson 00: latency, FLOPs and a one-line profile of a model.

Latency: warm up first (the first calls pay for memory allocation and kernel selection), then time
many runs and report the median (robust to a stray slow run) and the 90th percentile (what a user
waits for on a bad day). Always say which thread count and batch size a number comes from.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from coursekit._validate import check_int, check_type
from coursekit.models import count_parameters, model_size_bytes

__all__ = ["LatencyStats", "ModelProfile", "count_flops", "measure_latency", "profile_model"]


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

    def __repr__(self) -> str:
        return (
            f"LatencyStats(median={self.median_ms:.3f} ms, p90={self.p90_ms:.3f} ms, "
            f"mean={self.mean_ms:.3f}±{self.std_ms:.3f} ms, runs={self.runs}, "
            f"threads={self.threads}, batch_size={self.batch_size})"
        )


def _percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]) of already sorted values."""
    pos = (len(sorted_values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _check_input(example_input, func: str) -> torch.Tensor:
    return check_type("example_input", example_input, func, torch.Tensor, "a torch.Tensor (a batch of inputs)")


def measure_latency(
    model: nn.Module, example_input: torch.Tensor, *, warmup: int = 10, runs: int = 50,
    threads: int | None = None,
) -> LatencyStats:
    """Time ``model(example_input)``: ``warmup`` untimed calls, then ``runs`` timed ones.

    Runs in eval mode under ``torch.inference_mode()`` with ``threads`` torch threads (default: the
    current setting); the model's train/eval mode and torch's thread count are restored afterwards.
    """
    func = "measure_latency"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    _check_input(example_input, func)
    check_int("warmup", warmup, func, low=0)
    check_int("runs", runs, func, low=1)
    if threads is not None:
        check_int("threads", threads, func, low=1)
    old_threads = torch.get_num_threads()
    was_training = model.training
    times: list[float] = []
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        model.eval()
        with torch.inference_mode():
            for _ in range(warmup):
                model(example_input)
            for _ in range(runs):
                start = time.perf_counter()
                model(example_input)
                times.append((time.perf_counter() - start) * 1000)
        used_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(old_threads)
        model.train(was_training)
    ordered = sorted(times)
    return LatencyStats(
        median_ms=statistics.median(ordered), p90_ms=_percentile(ordered, 90),
        mean_ms=statistics.fmean(ordered), std_ms=statistics.pstdev(ordered), min_ms=ordered[0],
        runs=runs, warmup=warmup, threads=used_threads,
        batch_size=example_input.shape[0] if example_input.dim() > 0 else 1, times_ms=tuple(times),
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
    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(example_input)
    finally:
        model.train(was_training)
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
    from coursekit.train import evaluate

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
