"""Simulated ("fake") quantization of a whole model: calibration observers, PTQ and QAT.

- ``MinMaxObserver`` / ``PercentileObserver`` watch activations and return a range;
- ``quantize_weights(model, bits, ...)`` — weight-only post-training quantization (a new model);
- ``quantize_model(model, weight_bits, act_bits, calibration=...)`` — weights and activations, the
  activation ranges calibrated on a few batches (a new model);
- ``prepare_qat(model, weight_bits, act_bits=None)`` — the same wrappers, ready to train with
  ``coursekit.train.fit``: fake quantization in the forward pass, straight-through gradients.

Every ``Conv2d`` and ``Linear`` is replaced by a ``FakeQuantized`` wrapper that fake-quantizes its
weight (per output channel by default) and, optionally, its input activation.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validate import check_choice, check_float, check_int, check_type
from coursekit.quantize.core import fake_quantize, qparams_from_range

__all__ = [
    "FakeQuantized", "MinMaxObserver", "PercentileObserver", "calibrate", "prepare_qat",
    "quantize_model", "quantize_weights", "quantized_layers",
]

QUANTIZABLE = (nn.Conv2d, nn.Linear)
MAX_SAMPLES = 1 << 20  # a percentile observer keeps at most this many values (a random sample)


class MinMaxObserver:
    """Tracks the smallest and largest value seen (per tensor)."""

    def __init__(self):
        self.low: float | None = None
        self.high: float | None = None

    def update(self, x: torch.Tensor) -> None:
        x = x.detach()
        low, high = x.min().item(), x.max().item()
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)

    def range(self) -> tuple[float, float]:
        if self.low is None:
            raise RuntimeError("The observer has seen no data yet: call update(x) first.")
        return self.low, self.high

    def qparams(self, bits: int = 8, *, symmetric: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scale, zero_point)`` for the observed range."""
        low, high = self.range()
        return qparams_from_range(torch.tensor(low), torch.tensor(high), bits, symmetric=symmetric)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(range={None if self.low is None else self.range()})"


class PercentileObserver(MinMaxObserver):
    """The range between the ``(100 − p)``-th and ``p``-th percentiles of the values seen.

    Clipping the rare extreme values shrinks the scale, so every other value is rounded more finely.
    """

    def __init__(self, percentile: float = 99.99, *, seed: int = 0):
        super().__init__()
        self.percentile = check_float("percentile", percentile, "PercentileObserver", low=50.0, high=100.0)
        self._values: list[torch.Tensor] = []
        self._generator = torch.Generator().manual_seed(check_int("seed", seed, "PercentileObserver", low=0))

    def update(self, x: torch.Tensor) -> None:
        flat = x.detach().float().flatten()
        if flat.numel() > MAX_SAMPLES:
            flat = flat[torch.randint(flat.numel(), (MAX_SAMPLES,), generator=self._generator)]
        self._values.append(flat)
        super().update(x)

    def range(self) -> tuple[float, float]:
        super().range()  # raises if nothing was seen
        values = torch.cat(self._values)
        if values.numel() > MAX_SAMPLES:
            values = values[torch.randint(values.numel(), (MAX_SAMPLES,), generator=self._generator)]
        self._values = [values]
        p = self.percentile / 100
        low, high = torch.quantile(values, torch.tensor([1 - p, p])).tolist()
        return low, high


def _make_observer(observer: str, percentile: float):
    return PercentileObserver(percentile) if observer == "percentile" else MinMaxObserver()


class FakeQuantized(nn.Module):
    """A ``Conv2d`` or ``Linear`` whose weight (and optionally input) is fake-quantized."""

    def __init__(self, layer: nn.Module, weight_bits: int | None, act_bits: int | None = None, *,
                 symmetric: bool = True, per_channel: bool = True, observer: str = "minmax",
                 percentile: float = 99.99):
        super().__init__()
        self.layer = layer
        self.weight_bits, self.act_bits = weight_bits, act_bits
        self.symmetric, self.per_channel = symmetric, per_channel
        self.observer = _make_observer(observer, percentile) if act_bits is not None else None
        self.observing = False  # calibration: watch inputs even in eval mode
        self.register_buffer("act_scale", torch.tensor(1.0))
        self.register_buffer("act_zero_point", torch.tensor(0, dtype=torch.int32))

    def freeze(self) -> None:
        """Fix the activation grid from what the observer has seen."""
        if self.observer is not None and self.observer.low is not None:
            scale, zero_point = self.observer.qparams(self.act_bits, symmetric=False)
            self.act_scale.copy_(scale)
            self.act_zero_point.copy_(zero_point)

    def quantized_weight(self) -> torch.Tensor:
        w = self.layer.weight
        if self.weight_bits is None:
            return w
        return fake_quantize(w, self.weight_bits, symmetric=self.symmetric, axis=0 if self.per_channel else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_bits is not None and self.observing:
            self.observer.update(x)  # calibration sees the float activations; the grid is fixed afterwards
        elif self.act_bits is not None:
            if self.training:  # QAT: the grid follows the range seen so far
                self.observer.update(x)
                self.freeze()
            x = fake_quantize(x, self.act_bits, symmetric=False, scale=self.act_scale,
                              zero_point=self.act_zero_point)
        w = self.quantized_weight()
        if isinstance(self.layer, nn.Conv2d):
            return F.conv2d(x, w, self.layer.bias, self.layer.stride, self.layer.padding,
                            self.layer.dilation, self.layer.groups)
        return F.linear(x, w, self.layer.bias)

    def extra_repr(self) -> str:
        granularity = "per channel" if self.per_channel else "per tensor"
        scheme = "symmetric" if self.symmetric else "affine"
        return f"weight_bits={self.weight_bits} ({scheme}, {granularity}), act_bits={self.act_bits}"


def quantized_layers(model: nn.Module) -> list[tuple[str, FakeQuantized]]:
    """The ``FakeQuantized`` wrappers of a model, with their names."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, FakeQuantized)]


def _wrap(model: nn.Module, func: str, weight_bits, act_bits, symmetric, per_channel, observer,
          percentile) -> nn.Module:
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    if weight_bits is not None:
        check_int("weight_bits", weight_bits, func, low=2, high=16)
    if act_bits is not None:
        check_int("act_bits", act_bits, func, low=2, high=16)
    check_type("symmetric", symmetric, func, bool)
    check_type("per_channel", per_channel, func, bool)
    check_choice("observer", observer, func, ("minmax", "percentile"))
    check_float("percentile", percentile, func, low=50.0, high=100.0)
    model = copy.deepcopy(model)

    def replace(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, QUANTIZABLE):
                setattr(parent, name, FakeQuantized(child, weight_bits, act_bits, symmetric=symmetric,
                                                    per_channel=per_channel, observer=observer,
                                                    percentile=percentile))
            else:
                replace(child)

    replace(model)
    return model


def quantize_weights(model: nn.Module, bits: int, *, symmetric: bool = True, per_channel: bool = True) -> nn.Module:
    """Weight-only PTQ: a copy of ``model`` whose Conv2d/Linear weights are rounded to ``bits`` bits."""
    func = "quantize_weights"
    check_int("bits", bits, func, low=2, high=16)
    return _wrap(model, func, bits, None, symmetric, per_channel, "minmax", 99.99).eval()


@torch.no_grad()
def calibrate(model: nn.Module, data, *, batches: int | None = None) -> nn.Module:
    """Run ``data`` (a tensor of inputs or a loader) through ``model`` so its observers see it; freeze."""
    func = "calibrate"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    if batches is not None:
        check_int("batches", batches, func, low=1)
    layers = [m for _, m in quantized_layers(model) if m.observer is not None]
    was_training = model.training
    model.eval()
    for m in layers:
        m.observing = True
    try:
        for i, x in enumerate(_batches(data, func)):
            if batches is not None and i >= batches:
                break
            model(x)
    finally:
        for m in layers:
            m.observing = False
            m.freeze()
        model.train(was_training)
    return model


def _batches(data, func: str):
    if isinstance(data, torch.Tensor):
        yield from data.split(256)
        return
    try:
        iterator = iter(data)
    except TypeError:
        raise TypeError(f"The 'data' parameter of {func} must be a tensor of inputs or an iterable of batches. "
                        f"Got {type(data).__name__} instead.") from None
    for batch in iterator:
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def quantize_model(model: nn.Module, weight_bits: int | None = 8, act_bits: int | None = 8, *,
                   calibration=None, symmetric: bool = True, per_channel: bool = True,
                   observer: str = "minmax", percentile: float = 99.99, batches: int | None = None) -> nn.Module:
    """PTQ of weights and activations, simulated in float: a calibrated copy of ``model`` in eval mode.

    Activations (each layer's input) use an affine 8-bit-style grid over the range the ``observer``
    saw on ``calibration`` (a tensor of inputs or a loader); weights use ``symmetric``/``per_channel``.
    """
    func = "quantize_model"
    if act_bits is not None and calibration is None:
        raise ValueError(f"The 'calibration' parameter of {func} must be data (a tensor or a loader) when "
                         f"act_bits is set. Got None instead.")
    wrapped = _wrap(model, func, weight_bits, act_bits, symmetric, per_channel, observer, percentile)
    if act_bits is not None:
        calibrate(wrapped, calibration, batches=batches)
    return wrapped.eval()


def prepare_qat(model: nn.Module, weight_bits: int | None = 8, act_bits: int | None = None, *,
                symmetric: bool = True, per_channel: bool = True) -> nn.Module:
    """A copy of ``model`` ready for quantization-aware training with ``coursekit.train.fit``.

    The forward pass sees quantized weights (and activations, if ``act_bits``); the float weights
    underneath are what the optimizer updates, through the straight-through gradient.
    """
    return _wrap(model, "prepare_qat", weight_bits, act_bits, symmetric, per_channel, "minmax", 99.99)
