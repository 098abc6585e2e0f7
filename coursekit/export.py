"""Taking a model out of Python training code: ONNX export and ONNX Runtime inference.

Layers of API, smallest first:

- ``to_onnx(model, path, example_input)`` writes an ONNX file with torch's current exporter
  (``torch.onnx.export(..., dynamo=True)``); the batch dimension is dynamic.
- ``OnnxModel(path, threads=None)`` runs such a file in ONNX Runtime and is called like a model:
  a torch tensor in, torch logits out, so ``evaluate``, ``predict`` and ``measure_latency`` take it.
- ``onnx_size_bytes(path)`` is the size on disk, the external weight file included.

Lesson 05 adds the ``torch.export`` round trip, a parity check and cold start to this module.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from coursekit._validate import check_int, check_type
from coursekit.train import eval_mode

__all__ = ["OnnxModel", "onnx_files", "onnx_size_bytes", "to_onnx"]

MAX_BATCH = 4096


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter logs progress and 'torchvision is not installed' warnings: not for learners."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch._dynamo", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def to_onnx(model: nn.Module, path: str | os.PathLike, example_input: torch.Tensor) -> Path:
    """Export ``model`` (in eval mode, on CPU) to ``path`` and return the path.

    The first dimension of the input (the batch) is dynamic, from 1 to 4096. The weights may be
    written next to the file as ``path + ".data"``; ``onnx_size_bytes`` counts both. The model's
    train/eval mode is restored afterwards.
    """
    func = "to_onnx"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("example_input", example_input, func, torch.Tensor, "a torch.Tensor (a batch of inputs)")
    if example_input.dim() < 1 or example_input.shape[0] < 1:
        raise ValueError(f"The 'example_input' parameter of {func} must be a batch with at least one example. "
                         f"Got shape {tuple(example_input.shape)} instead.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in onnx_files(path):
        old.unlink()
    with eval_mode(model):
        batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
        with _quiet_exporter():
            torch.onnx.export(model, (example_input.cpu(),), str(path), dynamo=True,
                              input_names=["x"], output_names=["logits"],
                              dynamic_shapes={"x": {0: batch}})
    return path


def onnx_files(path: str | os.PathLike) -> list[Path]:
    """The file at ``path`` and its external-data files (``path.data``), those that exist."""
    path = Path(path)
    candidates = [path, path.with_name(path.name + ".data")]
    return [p for p in candidates if p.exists()]


def onnx_size_bytes(path: str | os.PathLike) -> int:
    """Bytes on disk of an ONNX model: the graph file plus its external weight file, if any."""
    files = onnx_files(path)
    if not files or files[0] != Path(path):
        raise FileNotFoundError(f"No ONNX file at {path}.")
    return sum(p.stat().st_size for p in files)


class OnnxModel:
    """An ONNX file run by ONNX Runtime on the CPU, called like a torch model.

    ``OnnxModel(path, threads=1)(x)`` takes a float torch tensor and returns torch logits. ``threads``
    sets ONNX Runtime's intra-op threads (default: ONNX Runtime's own choice), so a comparison with
    torch can use the same thread count. ``eval()``/``train()`` exist so code written for torch models
    runs unchanged; they do nothing (an exported model has no training mode).
    """

    def __init__(self, path: str | os.PathLike, *, threads: int | None = None):
        import onnxruntime as ort

        func = "OnnxModel"
        if threads is not None:
            check_int("threads", threads, func, low=1)
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"The 'path' parameter of {func} must name an ONNX file. "
                                    f"Got {str(path)!r}, which does not exist.")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.threads = threads
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.training = False

    @property
    def size_bytes(self) -> int:
        """Bytes on disk, the external weight file included."""
        return onnx_size_bytes(self.path)

    def run_numpy(self, x: np.ndarray) -> np.ndarray:
        """The raw runtime call: a float32 numpy batch in, numpy logits out."""
        return self.session.run(None, {self.input_name: x})[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"OnnxModel takes a torch.Tensor batch. Got {type(x).__name__} instead.")
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(self.run_numpy(array))

    def eval(self) -> OnnxModel:
        return self

    def train(self, mode: bool = True) -> OnnxModel:
        return self

    def __repr__(self) -> str:
        return f"OnnxModel({self.path.name!r}, threads={self.threads}, size={self.size_bytes / 1024:.1f} KiB)"
