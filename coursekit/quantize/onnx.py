"""Real int8: static quantization of an ONNX file with ONNX Runtime (QDQ, per-channel int8 weights).

``quantize_onnx(src, dst, calibration)`` inserts QuantizeLinear/DequantizeLinear pairs around every
weight and activation; ONNX Runtime fuses them into int8 kernels when it loads the file. The same
file runs on Windows, macOS and Linux without a compiler. Weights: signed int8, symmetric, one scale
per output channel. Activations: unsigned int8, affine, ranges calibrated (min–max) on
``calibration``: a tensor of inputs or a loader of ``(inputs, labels)`` batches.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path

import numpy as np
import torch

from coursekit._validate import check_int, check_type
from coursekit.export import onnx_files

__all__ = ["quantize_onnx"]


def _calibration_batches(calibration, func: str, max_batches: int) -> list[np.ndarray]:
    if isinstance(calibration, torch.Tensor):
        batches = list(calibration.split(64))
    else:
        try:
            iterator = iter(calibration)
        except TypeError:
            raise TypeError(f"The 'calibration' parameter of {func} must be a tensor of inputs or a loader. "
                            f"Got {type(calibration).__name__} instead.") from None
        batches = []
        for batch in iterator:
            batches.append(batch[0] if isinstance(batch, (tuple, list)) else batch)
            if len(batches) >= max_batches:
                break
    arrays = [b.detach().to("cpu", torch.float32).contiguous().numpy() for b in batches if len(b)]
    if not arrays:
        raise ValueError(f"The 'calibration' parameter of {func} must hold at least one input. Got none.")
    return arrays


def quantize_onnx(src: str | os.PathLike, dst: str | os.PathLike, calibration, *, per_channel: bool = True,
                  max_batches: int = 8) -> Path:
    """Write an int8 (QDQ) copy of the fp32 ONNX file ``src`` to ``dst`` and return ``dst``.

    ``calibration``: a tensor of inputs or a loader (its first ``max_batches`` batches are used).
    """
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    func = "quantize_onnx"
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise FileNotFoundError(f"The 'src' parameter of {func} must name an ONNX file. Got {str(src)!r}, "
                                f"which does not exist.")
    check_type("per_channel", per_channel, func, bool)
    check_int("max_batches", max_batches, func, low=1)
    arrays = _calibration_batches(calibration, func, max_batches)
    import onnx

    input_name = onnx.load(str(src), load_external_data=False).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{input_name: a} for a in arrays])

        def get_next(self):
            return next(self.items, None)

    dst.parent.mkdir(parents=True, exist_ok=True)
    for old in onnx_files(dst):
        old.unlink()
    quiet = logging.getLogger("root"), logging.getLogger()
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)
    return dst
