"""Taking a model out of Python training code: ONNX export and ONNX Runtime inference.

Layers of API, smallest first:

- ``to_onnx(model, path, example_input)`` writes an ONNX file with torch's current exporter
  (``torch.onnx.export(..., dynamo=True)``); the batch dimension is dynamic.
- ``OnnxModel(path, threads=None)`` runs such a file in ONNX Runtime and is called like a model:
  a torch tensor in, torch logits out, so ``evaluate``, ``predict`` and ``measure_latency`` take it.
- ``onnx_size_bytes(path)`` is the size on disk, the external weight file included.

Lesson 05 (deployment) adds:

- ``export_program(model, path, example_input)`` / ``load_program(path)``: the ``torch.export``
  round trip through a ``.pt2`` file (dynamic batch), loaded back as a callable model;
- ``parity(a, b, inputs) -> Parity``: the largest absolute logit difference and the prediction
  agreement of two runtimes on the same inputs — checked before any speed number is trusted;
- ``compile_available() -> CompileSupport``: whether ``torch.compile`` can run here, and why not.

Cold start (a fresh process loading one of these files) and serving live in ``coursekit.serving``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from coursekit._validate import check_int, check_type
from coursekit.train import eval_mode

__all__ = ["CompileSupport", "OnnxModel", "Parity", "ProgramModel", "compile_available",
           "explain_export_error", "export_program", "load_program", "onnx_files", "onnx_size_bytes", "parity", "to_onnx"]

MAX_BATCH = 4096


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter logs progress and 'torchvision is not installed' warnings: not for learners."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch._dynamo", "torch.export", "onnxscript",
                                                     "torch.fx.experimental.symbolic_shapes")]
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



def _check_export_args(model, path, example_input, func: str) -> Path:
    """The checks both exporters make; returns ``path`` as a Path with its folder created."""
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("example_input", example_input, func, torch.Tensor, "a torch.Tensor (a batch of inputs)")
    if example_input.dim() < 1 or example_input.shape[0] < 1:
        raise ValueError(f"The 'example_input' parameter of {func} must be a batch with at least one example. "
                         f"Got shape {tuple(example_input.shape)} instead.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path

def to_onnx(model: nn.Module, path: str | os.PathLike, example_input: torch.Tensor) -> Path:
    """Export ``model`` (in eval mode, on CPU) to ``path`` and return the path.

    The first dimension of the input (the batch) is dynamic, from 1 to 4096. The weights may be
    written next to the file as ``path + ".data"``; ``onnx_size_bytes`` counts both. The model's
    train/eval mode is restored afterwards.
    """
    func = "to_onnx"
    path = _check_export_args(model, path, example_input, func)
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


# --- lesson 05: torch.export round trip ---------------------------------------------------------

def export_program(model: nn.Module, path: str | os.PathLike, example_input: torch.Tensor) -> Path:
    """Trace ``model`` (eval mode, CPU) with ``torch.export`` and save the program to ``path`` (.pt2).

    The batch dimension is dynamic (1 to 4096). Code that ``torch.export`` cannot capture as one
    graph (for example an ``if`` on a tensor's *value*) raises here, with torch's explanation. The
    model's train/eval mode is restored afterwards.
    """
    func = "export_program"
    path = _check_export_args(model, path, example_input, func)
    was_training = model.training
    model.eval()
    try:
        batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
        # the forward's first argument is the batch, whatever it is called
        with _quiet_exporter():  # the error, if any, still comes through: only progress logs are hidden
            program = torch.export.export(model, (example_input.cpu(),), dynamic_shapes=({0: batch},))
    finally:
        model.train(was_training)
    torch.export.save(program, str(path))
    return path


class ProgramModel(nn.Module):
    """A saved ``torch.export`` program, called like a model (``evaluate`` and ``predict`` take it).

    An exported graph has no train/eval switch (it was traced in eval mode): ``train()``/``eval()``
    only set the flag on this wrapper. ``program`` is the ``torch.export.ExportedProgram``.
    """

    def __init__(self, program):
        super().__init__()
        self.program = program
        self.graph = program.module()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(x)

    def train(self, mode: bool = True) -> ProgramModel:
        self.training = mode  # not passed on: the traced graph refuses train()/eval()
        return self


def explain_export_error(error: BaseException, *, max_lines: int = 8) -> str:
    """The lines of a ``torch.export`` error worth reading first: what failed, where, the suggested fix.

    torch's messages run to dozens of lines (logging hints, links); this keeps the error's type, its
    first line, the bullet points, the user code that raised it and any "Suggested fixes".
    """
    lines = [line.rstrip() for line in str(error).splitlines()]
    keep = [f"{type(error).__name__}: {next((line for line in lines if line.strip()), '')}"]
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("- ") or stripped.startswith('File "'):
            keep.append(line)
        elif stripped.startswith("Suggested fixes") or stripped.startswith("The following call raised"):
            keep.append(line)
            keep.extend(following for following in lines[i + 1:i + 3] if following.startswith("  "))
    unique = list(dict.fromkeys(keep))
    return "\n".join(unique[:max_lines])


def load_program(path: str | os.PathLike) -> ProgramModel:
    """Load a ``.pt2`` file written by ``export_program`` (or ``torch.export.save``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The 'path' parameter of load_program must name a .pt2 file. "
                                f"Got {str(path)!r}, which does not exist.")
    return ProgramModel(torch.export.load(str(path)))


# --- parity: the same model? -------------------------------------------------------------------

@dataclass(frozen=True)
class Parity:
    max_abs_diff: float  # largest |logit_a - logit_b| over all examples and classes
    agreement: float  # fraction of examples whose predicted class is the same, in [0, 1]
    n: int  # examples compared

    def ok(self, atol: float = 1e-4) -> bool:
        """Logits within ``atol`` and every prediction identical."""
        return self.max_abs_diff <= atol and self.agreement == 1.0

    def __repr__(self) -> str:
        return f"Parity(max_abs_diff={self.max_abs_diff:.3g}, agreement={self.agreement:.2%}, n={self.n})"


def _batches(inputs, func: str):
    if isinstance(inputs, torch.Tensor):
        return [inputs]
    if isinstance(inputs, np.ndarray):
        return [torch.from_numpy(inputs)]
    try:
        iterator = iter(inputs)
    except TypeError:
        raise TypeError(f"The 'inputs' parameter of {func} must be a tensor batch or an iterable of batches "
                        f"(a DataLoader). Got {type(inputs).__name__} instead.") from None
    return (item[0] if isinstance(item, (tuple, list)) else item for item in iterator)


def _logits(fn, x: torch.Tensor) -> torch.Tensor:
    out = fn(x)
    return torch.as_tensor(np.asarray(out)) if isinstance(out, np.ndarray) else out.detach()


def parity(a, b, inputs) -> Parity:
    """Compare two models (any callables batch -> logits) on the same ``inputs``.

    ``inputs``: a batch (tensor or numpy array) or an iterable of batches, such as a DataLoader of
    ``(x, y)``. torch modules run in eval mode under ``torch.inference_mode`` (their mode is restored).
    """
    func = "parity"
    for name, fn in (("a", a), ("b", b)):
        if not callable(fn):
            raise TypeError(f"The '{name}' parameter of {func} must be a model or a callable batch -> logits. "
                            f"Got {type(fn).__name__} instead.")
    modules = [m for m in (a, b) if isinstance(m, nn.Module)]
    modes = [m.training for m in modules]
    worst, same, n = 0.0, 0, 0
    try:
        for m in modules:
            m.eval()
        with torch.inference_mode():
            for x in _batches(inputs, func):
                la, lb = _logits(a, x).float().cpu(), _logits(b, x).float().cpu()
                if la.shape != lb.shape:
                    raise ValueError(f"{func}: the two models return logits of different shapes on the same batch: "
                                     f"{tuple(la.shape)} and {tuple(lb.shape)}.")
                worst = max(worst, float((la - lb).abs().max()))
                same += int((la.argmax(1) == lb.argmax(1)).sum())
                n += la.shape[0]
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)
    if n == 0:
        raise ValueError(f"The 'inputs' parameter of {func} must hold at least one example. Got none.")
    return Parity(max_abs_diff=worst, agreement=same / n, n=n)


# --- torch.compile needs a C++ compiler on a CPU ------------------------------------------------

@dataclass(frozen=True)
class CompileSupport:
    ok: bool
    reason: str  # what was found, or why torch.compile cannot run here

    def __bool__(self) -> bool:
        return self.ok


def compile_available() -> CompileSupport:
    """Can ``torch.compile`` (its default backend, Inductor) run on this CPU?

    Inductor writes C++ and compiles it, so it needs a C++ compiler (``$CXX``, else ``g++``,
    ``c++`` or ``clang++`` on the PATH). ``COURSEKIT_NO_COMPILE=1`` forces "no" (to try the fallback).
    """
    if os.environ.get("COURSEKIT_NO_COMPILE", "") not in ("", "0"):
        return CompileSupport(False, "switched off by COURSEKIT_NO_COMPILE")
    if not hasattr(torch, "compile"):
        return CompileSupport(False, f"torch {torch.__version__} has no torch.compile")
    try:
        import torch._dynamo as dynamo

        if not dynamo.is_dynamo_supported():
            return CompileSupport(False, f"torch.compile does not support Python {sys.version.split()[0]}")
    except Exception as error:  # an unusual build: say what happened
        return CompileSupport(False, f"torch._dynamo is unavailable ({error})")
    candidates = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "c++", "clang++"]
    for name in candidates:
        found = shutil.which(name)
        if found:
            return CompileSupport(True, f"C++ compiler found: {found}")
    return CompileSupport(False, f"no C++ compiler found (looked for {', '.join(candidates)}); "
                                 "install one (e.g. g++ or Xcode's command-line tools) to use torch.compile on a CPU")
