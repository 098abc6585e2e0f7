"""The capstone (lesson 06): a report card that measures a candidate against a scenario card.

``report_card(candidate, scenario, data=splits, reference=teacher_card)`` measures, itself:

- accuracy on the test split, parameters, size on disk (of the file that would ship), FLOPs (torch
  models), latency p50/p90 at the card's batch size and thread count, throughput, the runtime used;
- pass/fail per budget line; a failing line's message names the line, the budget and the measured
  value, in the learner's language.

A candidate is an ``nn.Module`` (timed in torch eager), a path to an ``.onnx`` file (run by ONNX
Runtime with the card's threads) or a path to a ``.pt`` file holding a whole module
(``torch.save(model, path)``). Lines relative to the teacher (speed-up, accuracy drop) need
``reference``: the teacher's own report card on the same card, measured in the same run (the
teacher's card itself is measured with ``reference="self"``).

``int8_onnx(model, path, calibration)`` exports a model and writes its int8 (QDQ) ONNX copy.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from coursekit._validate import check_int, check_type
from coursekit.data import DatasetSplits
from coursekit.export import OnnxModel, onnx_size_bytes, to_onnx
from coursekit.i18n import tr
from coursekit.metrics import count_flops, measure_latency
from coursekit.models import count_parameters
from coursekit.quantize import quantize_onnx
from coursekit.scenarios import SCENARIOS, Scenario
from coursekit.size import size_on_disk
from coursekit.train import evaluate

__all__ = ["LineResult", "ReportCard", "int8_onnx", "load_candidate", "onnx_int8_weights", "onnx_parameters",
           "report_card", "report_table"]

_WEIGHT_OPS = {"Conv", "Gemm", "MatMul"}


@dataclass(frozen=True)
class LineResult:
    metric: str
    budget: str  # e.g. "size on disk <= 160.0 KiB"
    measured: str  # e.g. "412.3 KiB"
    passed: bool

    @property
    def message(self) -> str:
        if self.passed:
            return tr(f"✓ {self.budget}: measured {self.measured}", f"✓ {self.budget}：实测 {self.measured}")
        return tr(f"✗ {self.budget}: FAILS, measured {self.measured}",
                  f"✗ {self.budget}：未通过，实测 {self.measured}")


@dataclass(frozen=True)
class ReportCard:
    name: str
    scenario: str  # the card's key
    runtime: str  # "torch eager (fp32)", "onnxruntime (int8 QDQ)", ...
    accuracy: float
    parameters: int
    size_bytes: int
    flops: int | None  # per example; None for ONNX files
    p50_ms: float
    p90_ms: float
    batch: int
    threads: int
    int8_weights: bool
    speedup: float | None = None  # reference p50 / p50 (None without a reference)
    accuracy_drop: float | None = None  # points below the reference
    lines: tuple = field(default=())  # LineResult, ...

    @property
    def size_kb(self) -> float:
        return self.size_bytes / 1024

    @property
    def throughput(self) -> float:
        """Images per second at the card's batch size."""
        return self.batch / (self.p50_ms / 1000)

    @property
    def passed(self) -> bool:
        return all(line.passed for line in self.lines)

    def failures(self) -> list[str]:
        """One message per failing line (the line, its budget, the measured value)."""
        return [line.message for line in self.lines if not line.passed]

    def __str__(self) -> str:
        flops = "—" if self.flops is None else f"{self.flops / 1e6:.2f} MFLOPs"
        head = (f"{self.name} [{self.runtime}] on '{self.scenario}': acc {100 * self.accuracy:.2f}%, "
                f"{self.parameters:,} params, {self.size_kb:.1f} KiB, {flops}/image, "
                f"p50 {self.p50_ms:.3f} ms / p90 {self.p90_ms:.3f} ms (batch {self.batch}, "
                f"{self.threads} thread{'s' if self.threads > 1 else ''}), {self.throughput:,.0f} img/s")
        verdict = tr("PASSES every line", "所有预算项均通过") if self.passed else tr("FAILS", "未通过")
        return "\n".join([head, *[f"  {line.message}" for line in self.lines], f"  → {verdict}"])


def onnx_parameters(path: str | os.PathLike) -> int:
    """Weights and biases stored in an ONNX file (quantization scales, zero points and shapes not counted)."""
    import numpy as np
    import onnx

    model = onnx.load(str(path))
    sizes = {init.name: int(np.prod(init.dims)) for init in model.graph.initializer
             if init.data_type != onnx.TensorProto.INT64}
    counted = set()
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if node.op_type in ("QuantizeLinear", "DequantizeLinear") and i > 0:
                continue
            if name in sizes:
                counted.add(name)
    return sum(sizes[name] for name in counted)


def onnx_int8_weights(path: str | os.PathLike) -> bool:
    """True when every Conv/Gemm/MatMul weight in the file is stored as 8-bit integers (QDQ or QLinear)."""
    import onnx

    model = onnx.load(str(path))
    inits = {init.name: init.data_type for init in model.graph.initializer}
    producers = {out: node for node in model.graph.node for out in node.output}
    int8 = (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)
    found = False
    for node in model.graph.node:
        if node.op_type in ("QLinearConv", "ConvInteger", "MatMulInteger", "QLinearMatMul"):
            found = True
            continue
        if node.op_type not in _WEIGHT_OPS:
            continue
        found = True
        weight = node.input[1]
        if inits.get(weight) in int8:
            continue
        producer = producers.get(weight)
        if producer is None or producer.op_type != "DequantizeLinear" or inits.get(producer.input[0]) not in int8:
            return False
    return found


def load_candidate(candidate, *, threads: int | None = None):
    """``(callable, runtime, path or None)`` for an nn.Module, an ``.onnx`` path or a ``.pt`` path."""
    func = "load_candidate"
    check_type("candidate", candidate, func, (nn.Module, str, os.PathLike),
               "an nn.Module or a path to an .onnx or .pt file")
    if isinstance(candidate, nn.Module):
        return candidate, "torch eager (fp32)", None
    path = Path(candidate)
    if not path.is_file():
        raise FileNotFoundError(tr(f"The 'candidate' parameter of {func} must name an existing file. "
                                   f"Got {str(path)!r}, which does not exist.",
                                   f"{func} 的参数 'candidate' 必须是一个存在的文件，但 {str(path)!r} 不存在。"))
    if path.suffix == ".onnx":
        kind = "int8 QDQ" if onnx_int8_weights(path) else "fp32"
        return OnnxModel(path, threads=threads), f"onnxruntime ({kind})", path
    if path.suffix == ".pt":
        model = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(model, nn.Module):
            raise TypeError(tr(f"{path.name} must hold a whole model saved with torch.save(model, path). "
                               f"It holds a {type(model).__name__} instead.",
                               f"{path.name} 应保存整个模型（torch.save(model, path)），实际是 {type(model).__name__}。"))
        return model.eval(), "torch eager (fp32, loaded)", path
    raise ValueError(tr(f"The 'candidate' parameter of {func} must be an .onnx or .pt file. Got {path.name!r}.",
                        f"{func} 的参数 'candidate' 必须是 .onnx 或 .pt 文件，实际是 {path.name!r}。"))


def _example(splits: DatasetSplits, batch: int) -> torch.Tensor:
    images = splits.test.tensors[0]
    reps = -(-batch // len(images))
    return images.repeat(reps, 1, 1, 1)[:batch].contiguous()


def _scenario(scenario) -> Scenario:
    if isinstance(scenario, str):
        from coursekit.scenarios import scenario as by_key

        return by_key(scenario)
    return check_type("scenario", scenario, "report_card", Scenario, "a Scenario or one of " + ", ".join(SCENARIOS))


def report_card(candidate, scenario, *, data: DatasetSplits, reference: ReportCard | str | None = None,
                name: str | None = None, runs: int = 30, warmup: int = 5) -> ReportCard:
    """Measure ``candidate`` on ``scenario``'s card (see the module docstring). Changes nothing."""
    func = "report_card"
    card = _scenario(scenario)
    check_type("data", data, func, DatasetSplits, "a DatasetSplits from load_dataset")
    if reference is not None and reference != "self":
        check_type("reference", reference, func, ReportCard,
                   "a ReportCard (the teacher's, on the same card), 'self' (this candidate is the reference) or None")
        if (reference.batch, reference.threads) != (card.batch, card.threads):
            raise ValueError(f"The 'reference' parameter of {func} must be measured on the same card "
                             f"(batch {card.batch}, {card.threads} threads). Got batch {reference.batch}, "
                             f"{reference.threads} threads instead.")
    check_int("runs", runs, func, low=1)
    check_int("warmup", warmup, func, low=0)
    model, runtime, path = load_candidate(candidate, threads=card.threads)
    one = _example(data, 1)
    if isinstance(model, nn.Module):
        parameters = count_parameters(model, nonzero_only=True)
        size = path.stat().st_size if path is not None else size_on_disk(model).dense_bytes
        flops = count_flops(model, one)
        int8 = False
    else:
        parameters, size, flops = onnx_parameters(path), onnx_size_bytes(path), None
        int8 = onnx_int8_weights(path)
    accuracy = evaluate(model, DataLoader(data.test, batch_size=256)).accuracy
    stats = measure_latency(model, _example(data, card.batch), warmup=warmup, runs=runs, threads=card.threads)
    speedup = drop = None
    if reference == "self":
        speedup, drop = 1.0, 0.0
    elif reference is not None:
        speedup = reference.p50_ms / stats.median_ms
        drop = 100 * (reference.accuracy - accuracy)
    values = {"accuracy": accuracy, "size_kb": size / 1024, "int8_weights": float(int8),
              "speedup": speedup, "accuracy_drop": drop}
    lines = []
    for line in card.budgets:
        value = values[line.metric]
        if value is None:
            raise ValueError(tr(f"The card '{card.key}' has the line '{line}', measured against the teacher: "
                                f"pass reference=<the teacher's report card on this card> to {func}.",
                                f"卡片 '{card.key}' 的预算项 '{line}' 以教师为基准：请给 {func} 传入 "
                                f"reference=<教师在同一卡片上的成绩单>。"))
        lines.append(LineResult(line.metric, str(line), line.show(value), line.passes(value)))
    label = name or (path.name if path is not None else type(model).__name__)
    return ReportCard(label, card.key, runtime, accuracy, parameters, size, flops, stats.median_ms, stats.p90_ms,
                      card.batch, card.threads, int8, speedup, drop, tuple(lines))


def report_table(cards) -> str:
    """A plain-text table of report cards, one row each: what the lesson prints after every step."""
    cards = list(cards)
    head = f"{'candidate':<24} {'runtime':<24} {'acc %':>6} {'params':>9} {'KiB':>8} {'p50 ms':>8} {'speed-up':>8}  pass"
    rows = [head, "-" * len(head)]
    for c in cards:
        speed = "—" if c.speedup is None else f"{c.speedup:.2f}×"
        verdict = "✓" if c.passed else "✗ " + ", ".join(line.metric for line in c.lines if not line.passed)
        rows.append(f"{c.name[:24]:<24} {c.runtime[:24]:<24} {100 * c.accuracy:6.2f} {c.parameters:9,d} "
                    f"{c.size_kb:8.1f} {c.p50_ms:8.3f} {speed:>8}  {verdict}")
    return "\n".join(rows)


def int8_onnx(model, path: str | os.PathLike, calibration: torch.Tensor) -> Path:
    """Write an int8 (QDQ, per-channel int8 weights, uint8 activations) ONNX copy of ``model`` to
    ``path``, calibrated on ``calibration`` (a batch of inputs), and return ``path``. ``model`` is an
    ``nn.Module`` (exported first) or the path of an fp32 ``.onnx`` file (no second export)."""
    func = "int8_onnx"
    check_type("model", model, func, (nn.Module, str, os.PathLike), "a torch.nn.Module or an .onnx path")
    check_type("calibration", calibration, func, torch.Tensor, "a torch.Tensor (a batch of inputs)")
    path = Path(path)
    if not isinstance(model, nn.Module):
        return quantize_onnx(Path(model), path, calibration)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = to_onnx(model, Path(tmp) / "fp32.onnx", calibration[:2])  # a batch of 1 would be specialised
        return quantize_onnx(fp32, path, calibration)
