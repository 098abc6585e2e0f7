"""coursekit.capstone / scenarios / plots.capstone: real measurements of tiny models on a few digits."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from coursekit.capstone import (
    ReportCard,
    int8_onnx,
    onnx_int8_weights,
    onnx_parameters,
    report_card,
    report_table,
)
from coursekit.data import DatasetSplits
from coursekit.export import to_onnx
from coursekit.plots.capstone import pareto_front, pareto_plot
from coursekit.scenarios import SCENARIOS, BudgetLine, Scenario, scenario


def _splits(n=40):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 8, 8, generator=g)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    ds = TensorDataset(x, y)
    return DatasetSplits("tiny", ds, ds, ds, 2, (1, 8, 8), ("0", "1"), 0)


class _Tiny(nn.Module):  # forward(x): coursekit.export names the input "x"
    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(width, 2))

    def forward(self, x):
        return self.body(x)


def _model(width=4):
    torch.manual_seed(0)
    return _Tiny(width)


def _card(*lines, batch=2, threads=1):
    return Scenario("t", "Test", "测试", "s", "故事", batch, threads, tuple(lines))


def test_every_card_is_valid_and_bilingual():
    for key, card in SCENARIOS.items():
        assert scenario(key) is card and card.key == key
        assert card.name_zh != card.name_en and card.story_zh and card.budgets
    with pytest.raises(ValueError, match="'key' parameter of scenario"):
        scenario("watch")


def test_accuracy_matches_a_hand_count():
    splits, model = _splits(), _model()
    rc = report_card(model, _card(BudgetLine("accuracy", 0.0)), data=splits, runs=2, warmup=0)
    x, y = splits.test.tensors
    with torch.no_grad():
        expected = (model(x).argmax(1) == y).float().mean().item()
    assert rc.accuracy == pytest.approx(expected)
    assert rc.parameters == sum(p.numel() for p in model.parameters())
    assert rc.flops == 2 * (4 * 9 * 64 + 4 * 2)  # conv MACs + linear MACs, one image
    assert rc.batch == 2 and rc.threads == 1 and rc.p90_ms >= rc.p50_ms > 0


def test_a_failing_line_names_line_budget_and_value():
    rc = report_card(_model(), _card(BudgetLine("size_kb", 0.01)), data=_splits(), runs=2, warmup=0)
    assert not rc.passed
    (msg,) = rc.failures()
    assert "size on disk" in msg and "0.0 KiB" in msg and f"{rc.size_kb:.1f} KiB" in msg


def test_relative_lines_need_a_reference():
    card = _card(BudgetLine("speedup", 1.0))
    with pytest.raises(ValueError, match="reference"):
        report_card(_model(), card, data=_splits(), runs=2, warmup=0)
    ref = report_card(_model(16), card, data=_splits(), reference="self", runs=2, warmup=0)
    assert ref.speedup == 1.0 and ref.accuracy_drop == 0.0
    rc = report_card(_model(), card, data=_splits(), reference=ref, runs=2, warmup=0)
    assert rc.speedup == pytest.approx(ref.p50_ms / rc.p50_ms)


def test_onnx_files_fp32_and_int8(tmp_path):
    splits, model = _splits(), _model()
    x = splits.test.tensors[0]
    fp32 = to_onnx(model, tmp_path / "m.onnx", x[:2])
    q = int8_onnx(model, tmp_path / "m-int8.onnx", x)
    assert not onnx_int8_weights(fp32) and onnx_int8_weights(q)
    assert onnx_parameters(fp32) == onnx_parameters(q) == sum(p.numel() for p in model.parameters())
    card = _card(BudgetLine("int8_weights", 1.0))
    rc32 = report_card(str(fp32), card, data=splits, runs=2, warmup=0)
    rc8 = report_card(q, card, data=splits, runs=2, warmup=0)
    assert rc32.flops is None and "onnxruntime" in rc32.runtime
    assert not rc32.passed and rc8.passed
    assert rc32.size_bytes == fp32.stat().st_size
    assert rc32.accuracy == report_card(model, card, data=splits, runs=2, warmup=0).accuracy


def test_saved_whole_module_is_loaded(tmp_path):
    model = _model()
    torch.save(model, tmp_path / "m.pt")
    rc = report_card(tmp_path / "m.pt", _card(BudgetLine("accuracy", 0.0)), data=_splits(), runs=2, warmup=0)
    assert rc.size_bytes == (tmp_path / "m.pt").stat().st_size and "loaded" in rc.runtime
    with pytest.raises(FileNotFoundError):
        report_card(tmp_path / "missing.onnx", _card(), data=_splits())


def test_pareto_front_and_plot():
    def card(name, acc, ms):
        return ReportCard(name, "t", "r", acc, 1, 1024, None, ms, ms, 1, 1, False)
    a, b, c = card("a", 0.9, 1.0), card("b", 0.95, 2.0), card("c", 0.8, 3.0)
    assert pareto_front([a, b, c]) == [a, b]
    fig = pareto_plot([a, b, c])
    assert len(fig.axes) == 1
    assert "a" in report_table([a, b, c])
