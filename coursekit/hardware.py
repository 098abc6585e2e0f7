"""Lesson 04: what a machine can do, and what a model asks of it — the roofline.

A layer needs ``flops`` arithmetic and must move at least ``bytes`` between memory and the processor
(its input, its output and its weights, each once). On a machine with peak compute ``P`` (FLOP/s) and
memory bandwidth ``B`` (bytes/s) it cannot take less than ``max(flops / P, bytes / B)``. Its
*arithmetic intensity* ``I = flops / bytes`` decides which term wins: below the *ridge point* ``P / B``
it is memory-bound, above it compute-bound. Real layers also pay a fixed overhead per call (dispatch,
thread start-up, kernel launch on a GPU), which the roofline leaves out — at batch 1 it often wins.

Layers of API: ``matmul_gflops`` / ``copy_bandwidth`` (short, bounded measurements of the current
device) → ``measure_peaks`` → ``conv2d_cost`` / ``layer_costs`` (FLOPs and bytes per layer) →
``roofline`` / ``predict_seconds`` → ``time_layers`` (measured per-layer times to hold against them).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from coursekit._validate import check_float, check_int, check_type
from coursekit.train import eval_mode

__all__ = ["LayerCost", "Peaks", "conv2d_cost", "copy_bandwidth", "layer_costs", "matmul_gflops", "measure_peaks",
           "predict_seconds", "roofline", "time_interleaved", "time_layers"]


def _device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _best_seconds(fn, device: torch.device, repeats: int, budget_s: float) -> list[float]:
    """Times of up to ``repeats`` calls of ``fn`` (after one warm-up), stopping once ``budget_s`` is spent."""
    fn()
    _sync(device)
    times: list[float] = []
    spent = 0.0
    while len(times) < repeats and (spent < budget_s or len(times) < 2):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return times


def matmul_gflops(size: int = 512, *, repeats: int = 10, budget_s: float = 0.5, device=None,
                  dtype: torch.dtype = torch.float32) -> list[float]:
    """GFLOP/s of ``size × size`` matrix multiplies (2·size³ FLOPs each), one value per timed run.

    Bounded: at most ``repeats`` runs and about ``budget_s`` seconds after the warm-up.
    """
    func = "matmul_gflops"
    check_int("size", size, func, low=16, high=16384)
    check_int("repeats", repeats, func, low=1)
    check_float("budget_s", budget_s, func, low=0.0, closed="neither")
    dev = _device(device)
    a = torch.randn(size, size, device=dev).to(dtype)
    b = torch.randn(size, size, device=dev).to(dtype)
    with torch.inference_mode():
        times = _best_seconds(lambda: a @ b, dev, repeats, budget_s)
    return [2 * size**3 / t / 1e9 for t in times]


def copy_bandwidth(megabytes: int = 64, *, repeats: int = 10, budget_s: float = 0.5, device=None) -> list[float]:
    """GB/s of copying a ``megabytes`` buffer (each copy reads and writes it: 2 × size bytes moved).

    Use a buffer well above the CPU's caches (the default 64 MB is), or it measures the cache.
    """
    func = "copy_bandwidth"
    check_int("megabytes", megabytes, func, low=1, high=4096)
    check_int("repeats", repeats, func, low=1)
    check_float("budget_s", budget_s, func, low=0.0, closed="neither")
    dev = _device(device)
    n = megabytes * 1_000_000 // 4
    src = torch.ones(n, device=dev)
    dst = torch.empty_like(src)
    with torch.inference_mode():
        times = _best_seconds(lambda: dst.copy_(src), dev, repeats, budget_s)
    return [2 * n * 4 / t / 1e9 for t in times]


@dataclass(frozen=True)
class Peaks:
    """Measured peaks of one device: the two roofs."""

    gflops: float  # best matmul GFLOP/s seen
    gbps: float  # best copy GB/s seen
    device: str
    threads: int
    gflops_runs: tuple = ()
    gbps_runs: tuple = ()

    @property
    def ridge(self) -> float:
        """FLOPs per byte at which a layer stops being memory-bound."""
        return self.gflops / self.gbps

    def __repr__(self) -> str:
        return (f"Peaks(matmul={self.gflops:.1f} GFLOP/s, copy={self.gbps:.1f} GB/s, ridge={self.ridge:.1f} FLOP/byte, "
                f"device={self.device!r}, threads={self.threads})")


def measure_peaks(device=None, *, size: int = 512, megabytes: int = 64, budget_s: float = 0.5) -> Peaks:
    """Peak matmul throughput and copy bandwidth of ``device`` (default: CUDA if present, else CPU).

    The best of a few short runs: a roof is what the machine *can* do, so the fastest run is the
    estimate (the slower ones were disturbed). About ``2 × budget_s`` seconds in all.
    """
    dev = _device(device)
    flops = matmul_gflops(size, budget_s=budget_s, device=dev)
    bw = copy_bandwidth(megabytes, budget_s=budget_s, device=dev)
    return Peaks(max(flops), max(bw), str(dev), torch.get_num_threads(), tuple(flops), tuple(bw))


@dataclass(frozen=True)
class LayerCost:
    """The work one layer does at one batch size."""

    name: str
    kind: str  # the module's class name
    flops: int  # multiply-add = 2 FLOPs; elementwise layers count one per output element
    bytes: int  # input + output + parameters, each moved once: the least traffic the layer needs
    out_shape: tuple

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes if self.bytes else 0.0


def conv2d_cost(batch: int, in_channels: int, out_channels: int, height: int, width: int, kernel: int,
                *, stride: int = 1, padding: int = 0, bias: bool = True, bytes_per_element: int = 4) -> tuple[int, int]:
    """(FLOPs, bytes) of a square-kernel ``Conv2d`` on a ``(batch, in_channels, height, width)`` input.

    FLOPs = 2 · batch · out_channels · H_out · W_out · in_channels · kernel² (plus one add per output for
    the bias); bytes = (input + output + weights + bias) elements × ``bytes_per_element``.
    """
    func = "conv2d_cost"
    for name, value in (("batch", batch), ("in_channels", in_channels), ("out_channels", out_channels),
                        ("height", height), ("width", width), ("kernel", kernel), ("stride", stride),
                        ("bytes_per_element", bytes_per_element)):
        check_int(name, value, func, low=1)
    check_int("padding", padding, func, low=0)
    check_type("bias", bias, func, bool)
    h_out = (height + 2 * padding - kernel) // stride + 1
    w_out = (width + 2 * padding - kernel) // stride + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"The 'kernel' parameter of {func} must fit the padded input "
                         f"({height + 2 * padding}×{width + 2 * padding}). Got {kernel} instead.")
    outputs = batch * out_channels * h_out * w_out
    flops = 2 * outputs * in_channels * kernel * kernel + (outputs if bias else 0)
    elements = (batch * in_channels * height * width + outputs + out_channels * in_channels * kernel * kernel
                + (out_channels if bias else 0))
    return flops, elements * bytes_per_element


def _nbytes(t) -> int:
    return t.numel() * t.element_size() if isinstance(t, torch.Tensor) else 0


def _flops(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return 2 * out.numel() * (module.in_channels // module.groups) * kh * kw + (out.numel() if module.bias is not None else 0)
    if isinstance(module, nn.Linear):
        return 2 * out.numel() * module.in_features + (out.numel() if module.bias is not None else 0)
    if isinstance(module, (nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.AvgPool2d)):
        return inp.numel()  # one comparison or add per input element
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return 2 * out.numel()  # eval mode: a scale and a shift per element
    if isinstance(module, (nn.Flatten, nn.Dropout, nn.Identity)):
        return 0  # a view, or nothing at inference
    return out.numel()  # ReLU and other elementwise layers


def layer_costs(model: nn.Module, x: torch.Tensor) -> list[LayerCost]:
    """FLOPs and least bytes moved of every leaf layer of ``model`` in one eval-mode forward on ``x``."""
    func = "layer_costs"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("x", x, func, torch.Tensor, "a torch.Tensor (a batch of inputs)")
    costs: list[LayerCost] = []
    hooks = []

    def hook(name):
        def record(module, args, out):
            inp = args[0]
            params = sum(_nbytes(p) for p in module.parameters(recurse=False))
            moved = 0 if isinstance(module, (nn.Flatten, nn.Identity)) else _nbytes(inp) + _nbytes(out) + params
            costs.append(LayerCost(name, type(module).__name__, _flops(module, inp, out), moved, tuple(out.shape)))
        return record

    for name, module in model.named_modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(hook(name)))
    try:
        with eval_mode(model), torch.inference_mode():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return costs


def roofline(intensity: float, peak_gflops: float, peak_gbps: float) -> tuple[float, str]:
    """(attainable GFLOP/s, "memory" or "compute") for arithmetic ``intensity`` FLOP/byte on a machine
    with the given roofs. Exactly at the ridge point it counts as compute-bound."""
    func = "roofline"
    check_float("intensity", intensity, func, low=0.0)
    check_float("peak_gflops", peak_gflops, func, low=0.0, closed="neither")
    check_float("peak_gbps", peak_gbps, func, low=0.0, closed="neither")
    memory_roof = intensity * peak_gbps
    return min(peak_gflops, memory_roof), ("memory" if memory_roof < peak_gflops else "compute")


def predict_seconds(cost: LayerCost, peaks: Peaks) -> float:
    """The roofline's lower bound on a layer's time: max(FLOPs / peak compute, bytes / bandwidth)."""
    check_type("cost", cost, "predict_seconds", LayerCost)
    check_type("peaks", peaks, "predict_seconds", Peaks)
    return max(cost.flops / (peaks.gflops * 1e9), cost.bytes / (peaks.gbps * 1e9))


def time_layers(model: nn.Module, x: torch.Tensor, *, repeats: int = 20, budget_s: float = 2.0) -> dict[str, float]:
    """Median seconds of each leaf layer called alone on the input it received in a forward pass on ``x``.

    Each layer gets at most ``repeats`` timed calls and an equal share of ``budget_s``.
    """
    func = "time_layers"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("x", x, func, torch.Tensor, "a torch.Tensor (a batch of inputs)")
    check_int("repeats", repeats, func, low=1)
    check_float("budget_s", budget_s, func, low=0.0, closed="neither")
    inputs: dict[str, torch.Tensor] = {}
    leaves = {name: m for name, m in model.named_modules() if not list(m.children())}
    hooks = [m.register_forward_pre_hook(lambda mod, args, name=name: inputs.__setitem__(name, args[0].clone()))
             for name, m in leaves.items()]
    result: dict[str, float] = {}
    try:
        with eval_mode(model), torch.inference_mode():
            model(x)
            for h in hooks:
                h.remove()
            share = budget_s / max(1, len(leaves))
            for name, module in leaves.items():
                inp = inputs[name]
                times = _best_seconds(lambda m=module, i=inp: m(i), x.device, repeats, share)
                result[name] = statistics.median(times)
    finally:
        for h in hooks:
            h.remove()
    return result


def time_interleaved(fns: dict, *, rounds: int = 5, calls: int = 1) -> dict[str, list[float]]:
    """Milliseconds per call of each function in ``fns`` ({name: fn}), measured in ``rounds`` rounds
    that take turns (a, b, a, b, ...), so a machine that slows down mid-way slows all of them alike.
    Each function is called once untimed first. Compare them by the ratio within each round."""
    func = "time_interleaved"
    check_type("fns", fns, func, dict, "a dict {name: callable}")
    check_int("rounds", rounds, func, low=1)
    check_int("calls", calls, func, low=1)
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) * 1000 / calls)
    return times
