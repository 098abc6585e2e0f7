"""The arithmetic of linear quantization: ``x ≈ scale · (q − zero_point)``.

Layers of API, smallest first:

- ``qrange(bits, symmetric)`` — the integers a scheme may use;
- ``quantize_tensor(x, bits, symmetric=, axis=)`` → ``QuantizedTensor`` (q, scale, zero_point, bits,
  axis), ``dequantize(qt)``, and ``fake_quantize`` (both at once, with a straight-through gradient);
- ``sqnr_db(x, x_hat)`` — how much signal survives, in decibels;
- ``kmeans_quantize`` — Deep Compression's weight sharing, for comparison with the linear grid.

Rounding is half-to-even (``torch.round``), and the scaled value is ``x * (1 / scale)``, as in
``torch.fake_quantize_per_tensor_affine``, so the two agree bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from coursekit._validate import check_int, check_type

__all__ = [
    "QuantizedTensor", "dequantize", "fake_quantize", "kmeans_quantize", "qparams_from_range",
    "qrange", "quantize_tensor", "quantize_with", "sqnr_db",
]

MIN_BITS, MAX_BITS = 2, 16


def _check_bits(bits, func: str) -> int:
    return check_int("bits", bits, func, low=MIN_BITS, high=MAX_BITS)


def _check_axis(axis, x: torch.Tensor, func: str) -> int | None:
    if axis is None:
        return None
    if x.dim() == 0:
        raise ValueError(f"The 'axis' parameter of {func} must be None for a 0-d tensor. Got {axis} instead.")
    axis = check_int("axis", axis, func, low=-x.dim(), high=x.dim() - 1)
    return axis % x.dim()


def qrange(bits: int, symmetric: bool = True) -> tuple[int, int]:
    """The smallest and largest integer: ``±(2**(bits-1) - 1)`` (symmetric) or ``0 … 2**bits - 1``."""
    bits = _check_bits(bits, "qrange")
    check_type("symmetric", symmetric, "qrange", bool)
    if symmetric:
        return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _int_dtype(qmin: int, qmax: int) -> torch.dtype:
    for dtype in (torch.int8, torch.uint8, torch.int16, torch.int32):
        info = torch.iinfo(dtype)
        if info.min <= qmin and qmax <= info.max:
            return dtype
    raise AssertionError("unreachable: bits <= 16")


@dataclass(frozen=True)
class QuantizedTensor:
    """Integers ``q`` and the map back: ``x ≈ scale · (q − zero_point)``.

    ``scale`` and ``zero_point`` are 0-d tensors (per tensor) or 1-D along ``axis`` (per channel).
    """

    q: torch.Tensor
    scale: torch.Tensor
    zero_point: torch.Tensor
    bits: int
    axis: int | None
    symmetric: bool

    def __repr__(self) -> str:
        kind = "symmetric" if self.symmetric else "affine"
        where = "per tensor" if self.axis is None else f"per channel (axis {self.axis})"
        return f"QuantizedTensor({self.bits}-bit {kind}, {where}, shape {tuple(self.q.shape)}, q {self.q.dtype})"


def _broadcast(v: torch.Tensor, x: torch.Tensor, axis: int | None) -> torch.Tensor:
    """A per-channel vector shaped to broadcast along ``axis`` of ``x``."""
    if axis is None:
        return v
    shape = [1] * x.dim()
    shape[axis] = -1
    return v.view(shape)


def _range(x: torch.Tensor, axis: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    if axis is None:
        return x.min(), x.max()
    flat = x.detach().movedim(axis, 0).reshape(x.shape[axis], -1)  # (C, everything else)
    return flat.min(dim=1).values, flat.max(dim=1).values


def qparams_from_range(low: torch.Tensor, high: torch.Tensor, bits: int = 8, *,
                       symmetric: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, zero_point)`` that map ``[low, high]`` (per tensor or per channel) onto the integers.

    Symmetric: ``scale = max(|low|, |high|) / qmax``, ``zero_point = 0``. Affine: the range is first
    widened to contain 0 (so that 0 is exactly representable), then ``scale = (high − low) / (qmax −
    qmin)`` and ``zero_point = qmin − round(low / scale)``. An empty range (all zeros) gets scale 1.
    """
    func = "qparams_from_range"
    bits = _check_bits(bits, func)
    check_type("symmetric", symmetric, func, bool)
    low = torch.as_tensor(low, dtype=torch.float32).detach()
    high = torch.as_tensor(high, dtype=torch.float32).detach()
    qmin, qmax = qrange(bits, symmetric)
    if symmetric:
        amax = torch.maximum(low.abs(), high.abs())
        scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
        return scale, torch.zeros_like(scale, dtype=torch.int32)
    low, high = torch.clamp(low, max=0.0), torch.clamp(high, min=0.0)
    span = high - low
    scale = torch.where(span > 0, span / (qmax - qmin), torch.ones_like(span))
    zero_point = torch.clamp(qmin - torch.round(low / scale), qmin, qmax).to(torch.int32)
    return scale, zero_point


def quantize_with(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, bits: int, *,
                  symmetric: bool = True, axis: int | None = None) -> QuantizedTensor:
    """Quantize ``x`` with given ``scale``/``zero_point`` (e.g. from a calibration observer)."""
    func = "quantize_with"
    check_type("x", x, func, torch.Tensor, "a torch.Tensor")
    bits = _check_bits(bits, func)
    axis = _check_axis(axis, x, func)
    qmin, qmax = qrange(bits, symmetric)
    scale = torch.as_tensor(scale, dtype=torch.float32)
    zero_point = torch.as_tensor(zero_point).to(torch.int32)
    s, z = _broadcast(scale, x, axis), _broadcast(zero_point, x, axis)
    q = torch.clamp(torch.round(x.detach().float() * (1.0 / s)) + z, qmin, qmax)
    return QuantizedTensor(q.to(_int_dtype(qmin, qmax)), scale, zero_point, bits, axis, symmetric)


def quantize_tensor(x: torch.Tensor, bits: int = 8, *, symmetric: bool = True,
                    axis: int | None = None) -> QuantizedTensor:
    """Quantize ``x`` to ``bits``-bit integers over its own range (``axis``: one scale per channel)."""
    func = "quantize_tensor"
    check_type("x", x, func, torch.Tensor, "a torch.Tensor")
    if not x.is_floating_point():
        raise TypeError(f"The 'x' parameter of {func} must be a floating-point tensor. Got dtype {x.dtype} instead.")
    bits = _check_bits(bits, func)
    check_type("symmetric", symmetric, func, bool)
    axis = _check_axis(axis, x, func)
    if x.numel() == 0:
        raise ValueError(f"The 'x' parameter of {func} must have at least one element. Got shape {tuple(x.shape)}.")
    scale, zero_point = qparams_from_range(*_range(x.detach(), axis), bits, symmetric=symmetric)
    return quantize_with(x, scale, zero_point, bits, symmetric=symmetric, axis=axis)


def dequantize(qt: QuantizedTensor) -> torch.Tensor:
    """``scale · (q − zero_point)`` as float32."""
    check_type("qt", qt, "dequantize", QuantizedTensor, "a QuantizedTensor (from quantize_tensor)")
    s, z = _broadcast(qt.scale, qt.q, qt.axis), _broadcast(qt.zero_point, qt.q, qt.axis)
    return (qt.q.to(torch.int32) - z).float() * s


class _FakeQuantSTE(torch.autograd.Function):
    """Forward: quantize and dequantize. Backward: pass the gradient where x was not clipped."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        scaled = torch.round(x * (1.0 / scale)) + zero_point  # before clamping
        inside = (scaled >= qmin) & (scaled <= qmax)
        ctx.save_for_backward(inside)
        return (torch.clamp(scaled, qmin, qmax) - zero_point) * scale

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None, None, None


def fake_quantize(x: torch.Tensor, bits: int = 8, *, symmetric: bool = True, axis: int | None = None,
                  scale: torch.Tensor | None = None, zero_point: torch.Tensor | None = None) -> torch.Tensor:
    """``dequantize(quantize_tensor(x, ...))`` in the forward pass, straight-through gradient backward.

    The gradient is 1 where ``x`` lies inside the representable range and 0 where it is clipped (as
    ``torch.fake_quantize_per_tensor_affine``). ``scale``/``zero_point`` fix the grid (e.g. a
    calibrated activation range); by default it is computed from ``x`` itself.
    """
    func = "fake_quantize"
    check_type("x", x, func, torch.Tensor, "a torch.Tensor")
    bits = _check_bits(bits, func)
    check_type("symmetric", symmetric, func, bool)
    axis = _check_axis(axis, x, func)
    if scale is None:
        scale, zero_point = qparams_from_range(*_range(x.detach(), axis), bits, symmetric=symmetric)
    elif zero_point is None:
        zero_point = torch.zeros_like(torch.as_tensor(scale), dtype=torch.int32)
    qmin, qmax = qrange(bits, symmetric)
    s = _broadcast(torch.as_tensor(scale, dtype=x.dtype), x, axis)
    z = _broadcast(torch.as_tensor(zero_point).to(x.dtype), x, axis)
    return _FakeQuantSTE.apply(x, s, z, qmin, qmax)


def sqnr_db(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Signal-to-quantization-noise ratio ``10·log10(Σx² / Σ(x − x̂)²)`` in dB (inf when exact)."""
    check_type("x", x, "sqnr_db", torch.Tensor, "a torch.Tensor")
    check_type("x_hat", x_hat, "sqnr_db", torch.Tensor, "a torch.Tensor")
    if x.shape != x_hat.shape:
        raise ValueError(f"The 'x_hat' parameter of sqnr_db must have the shape of x {tuple(x.shape)}. "
                         f"Got {tuple(x_hat.shape)} instead.")
    noise = (x.double() - x_hat.double()).pow(2).sum().item()
    signal = x.double().pow(2).sum().item()
    return math.inf if noise == 0 else 10 * math.log10(signal / noise) if signal > 0 else -math.inf


def kmeans_quantize(x: torch.Tensor, bits: int = 2, *, iterations: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight sharing (Han et al., Deep Compression): ``2**bits`` centroids fitted by 1-D k-means.

    Returns ``(centroids, labels)``; ``centroids[labels]`` is the reconstruction. Centroids start
    evenly spaced between min and max (the initialisation Deep Compression found best).
    """
    func = "kmeans_quantize"
    check_type("x", x, func, torch.Tensor, "a torch.Tensor")
    bits = check_int("bits", bits, func, low=1, high=8)
    iterations = check_int("iterations", iterations, func, low=1)
    flat = x.detach().float().flatten()
    centroids = torch.linspace(flat.min().item(), flat.max().item(), 2**bits)
    for _ in range(iterations):
        labels = _nearest(flat, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, labels, flat)
        counts = torch.zeros_like(centroids).index_add_(0, labels, torch.ones_like(flat))
        updated = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)  # an empty cluster stays put
        if torch.equal(updated, centroids):
            break
        centroids = updated
    centroids, _ = torch.sort(centroids)
    return centroids, _nearest(flat, centroids).view(x.shape)


def _nearest(flat: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    order = torch.argsort(centroids)
    ordered = centroids[order]
    boundaries = (ordered[1:] + ordered[:-1]) / 2  # 1-D: the nearest centroid is found between midpoints
    return order[torch.bucketize(flat, boundaries)]
