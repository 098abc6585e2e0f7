"""A quantized layer computed with integers only — what an int8 kernel does.

``IntegerLinear.from_float(layer, input_qparams, output_qparams)`` stores int8 weights (symmetric,
per output channel) and an int32 bias at scale ``S_in · S_w``. Its call takes uint8 inputs and
returns uint8 outputs::

    acc   = Σ (x_q − Z_in) · w_q + b_q          int8 × int8 products, int32 accumulator
    y_q   = clamp(round(acc · S_in·S_w / S_out) + Z_out, 0, 255)   requantization

``fake_quantized_forward`` is the same layer in float with fake quantization at the same places:
the two agree (up to float ties, one output step at most). ``IntegerConv2d`` does the same for a
convolution, by im2col (``F.unfold``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validate import check_type
from coursekit.quantize.core import fake_quantize, qrange, quantize_tensor

__all__ = ["IntegerConv2d", "IntegerLinear", "fake_quantized_forward"]

ACT_BITS = 8  # activations: affine uint8, as ONNX Runtime's QUInt8


def _as_qparams(pair, name: str, func: str) -> tuple[float, int]:
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(f"The '{name}' parameter of {func} must be a (scale, zero_point) pair. Got {pair!r} instead.")
    scale, zero_point = float(pair[0]), int(pair[1])
    if not scale > 0:
        raise ValueError(f"The '{name}' parameter of {func} must have a positive scale. Got {scale} instead.")
    qmin, qmax = qrange(ACT_BITS, False)
    if not qmin <= zero_point <= qmax:
        raise ValueError(f"The '{name}' parameter of {func} must have a zero_point in [{qmin}, {qmax}]. "
                         f"Got {zero_point} instead.")
    return scale, zero_point


@dataclass(frozen=True)
class _IntegerLayer:
    weight_q: torch.Tensor      # int8, (out, ...) symmetric: zero point 0
    weight_scale: torch.Tensor  # float32, (out,)
    bias_q: torch.Tensor        # int32, (out,), at scale input_scale * weight_scale
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int

    @classmethod
    def from_float(cls, layer: nn.Module, input_qparams, output_qparams, **extra):
        func = f"{cls.__name__}.from_float"
        check_type("layer", layer, func, cls._float_type, f"a torch.nn.{cls._float_type.__name__}")
        s_in, z_in = _as_qparams(input_qparams, "input_qparams", func)
        s_out, z_out = _as_qparams(output_qparams, "output_qparams", func)
        qw = quantize_tensor(layer.weight.detach(), 8, symmetric=True, axis=0)
        bias = layer.bias.detach() if layer.bias is not None else torch.zeros(layer.weight.shape[0])
        bias_q = torch.round(bias / (s_in * qw.scale)).to(torch.int32)
        return cls(qw.q, qw.scale, bias_q, s_in, z_in, s_out, z_out, **extra)

    def requantize(self, acc: torch.Tensor, channel_dim: int) -> torch.Tensor:
        """int32 accumulator → uint8 output: multiply by ``S_in·S_w/S_out``, round, add ``Z_out``."""
        shape = [1] * acc.dim()
        shape[channel_dim] = -1
        multiplier = (self.input_scale * self.weight_scale / self.output_scale).view(shape)
        qmin, qmax = qrange(ACT_BITS, False)
        return torch.clamp(torch.round(acc * multiplier) + self.output_zero_point, qmin, qmax).to(torch.uint8)

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        """A float input on the input grid, as uint8."""
        qmin, qmax = qrange(ACT_BITS, False)
        q = torch.round(x * (1.0 / self.input_scale)) + self.input_zero_point
        return torch.clamp(q, qmin, qmax).to(torch.uint8)

    def dequantize_output(self, y_q: torch.Tensor) -> torch.Tensor:
        return (y_q.to(torch.int32) - self.output_zero_point).float() * self.output_scale

    def _check_input(self, x_q: torch.Tensor) -> torch.Tensor:
        if not isinstance(x_q, torch.Tensor) or x_q.dtype != torch.uint8:
            got = x_q.dtype if isinstance(x_q, torch.Tensor) else type(x_q).__name__
            raise TypeError(f"{type(self).__name__} takes uint8 inputs (use quantize_input). Got {got} instead.")
        return x_q.to(torch.int32) - self.input_zero_point  # centred: int32, within [-255, 255]


class IntegerLinear(_IntegerLayer):
    _float_type = nn.Linear

    def __call__(self, x_q: torch.Tensor) -> torch.Tensor:
        x = self._check_input(x_q)                                    # (B, in) int32
        acc = x @ self.weight_q.to(torch.int32).T + self.bias_q       # (B, out) int32 accumulator
        return self.requantize(acc, channel_dim=-1)


@dataclass(frozen=True)
class IntegerConv2d(_IntegerLayer):
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    _float_type = nn.Conv2d

    @classmethod
    def from_float(cls, layer: nn.Conv2d, input_qparams, output_qparams, **extra):
        if isinstance(layer, nn.Conv2d) and (layer.groups != 1 or layer.dilation != (1, 1)
                                             or not isinstance(layer.padding, tuple)):
            raise ValueError("IntegerConv2d supports groups=1, dilation=1 and numeric padding only.")
        return super().from_float(layer, input_qparams, output_qparams,
                                  stride=tuple(layer.stride), padding=tuple(layer.padding))

    def __call__(self, x_q: torch.Tensor) -> torch.Tensor:
        x = self._check_input(x_q)                                    # (B, C, H, W) int32
        out_c, _, kh, kw = self.weight_q.shape
        b, _, h, w = x.shape
        # im2col: unfold works on floats; small integers are exact in float32 (|x| < 2**24)
        cols = F.unfold(x.float(), (kh, kw), padding=self.padding, stride=self.stride).to(torch.int32)  # (B, C·kh·kw, L)
        acc = self.weight_q.to(torch.int32).view(out_c, -1) @ cols + self.bias_q.view(1, -1, 1)  # (B, out, L)
        oh = (h + 2 * self.padding[0] - kh) // self.stride[0] + 1
        ow = (w + 2 * self.padding[1] - kw) // self.stride[1] + 1
        return self.requantize(acc.view(b, out_c, oh, ow), channel_dim=1)


def fake_quantized_forward(layer: nn.Module, x: torch.Tensor, input_qparams, output_qparams) -> torch.Tensor:
    """The float reference: fake-quantize input, weight (int8 per channel), bias (at S_in·S_w), output."""
    func = "fake_quantized_forward"
    check_type("layer", layer, func, (nn.Linear, nn.Conv2d), "a torch.nn.Linear or torch.nn.Conv2d")
    s_in, z_in = _as_qparams(input_qparams, "input_qparams", func)
    s_out, z_out = _as_qparams(output_qparams, "output_qparams", func)
    xq = fake_quantize(x, ACT_BITS, symmetric=False, scale=torch.tensor(s_in), zero_point=torch.tensor(z_in))
    qw = quantize_tensor(layer.weight.detach(), 8, symmetric=True, axis=0)
    wq = fake_quantize(layer.weight.detach(), 8, symmetric=True, axis=0)
    bias = layer.bias.detach() if layer.bias is not None else torch.zeros(layer.weight.shape[0])
    bias_scale = s_in * qw.scale
    bq = torch.round(bias / bias_scale) * bias_scale
    if isinstance(layer, nn.Conv2d):
        y = F.conv2d(xq, wq, bq, layer.stride, layer.padding)
    else:
        y = F.linear(xq, wq, bq)
    return fake_quantize(y, ACT_BITS, symmetric=False, scale=torch.tensor(s_out), zero_point=torch.tensor(z_out))
