"""Quantization (lesson 03): the arithmetic, simulated quantization of models, real int8 with ONNX Runtime.

Layers of API, smallest first (each in its own module):

- ``core``: ``quantize_tensor`` → ``QuantizedTensor``, ``dequantize``, ``fake_quantize`` (straight-
  through gradient), ``qparams_from_range``, ``sqnr_db``, ``kmeans_quantize``;
- ``integer``: ``IntegerLinear`` / ``IntegerConv2d`` (int8 × int8 → int32 → requantize) and their
  float reference ``fake_quantized_forward``;
- ``model``: observers (``MinMaxObserver``, ``PercentileObserver``), ``quantize_weights`` (weight-only
  PTQ), ``quantize_model`` (weights + activations, calibrated), ``prepare_qat`` (train with ``fit``);
- ``onnx``: ``quantize_onnx(src, dst, calibration)`` — a real int8 ONNX file.

Fold BatchNorm before quantizing with ``coursekit.batchnorm.fold_model_batchnorm``.
"""

from coursekit.quantize.core import (
    QuantizedTensor,
    dequantize,
    fake_quantize,
    kmeans_quantize,
    qparams_from_range,
    qrange,
    quantize_tensor,
    quantize_with,
    sqnr_db,
)
from coursekit.quantize.integer import IntegerConv2d, IntegerLinear, fake_quantized_forward
from coursekit.quantize.model import (
    FakeQuantized,
    MinMaxObserver,
    PercentileObserver,
    calibrate,
    prepare_qat,
    quantize_model,
    quantize_weights,
    quantized_layers,
)
from coursekit.quantize.onnx import quantize_onnx

__all__ = [
    "FakeQuantized", "IntegerConv2d", "IntegerLinear", "MinMaxObserver", "PercentileObserver",
    "QuantizedTensor", "calibrate", "dequantize", "fake_quantize", "fake_quantized_forward",
    "kmeans_quantize", "prepare_qat", "qparams_from_range",
    "qrange", "quantize_model", "quantize_onnx", "quantize_tensor", "quantize_weights", "quantize_with",
    "quantized_layers", "sqnr_db",
]
