"""The statistics and loader helpers that lessons 00–02 call in one line (issue 13)."""

from __future__ import annotations

import json
import types

import pytest
import torch
from torch.utils.data import TensorDataset

from coursekit import stats
from coursekit.data import batch_loader
from coursekit.stats import compare_seeds


def test_ratio_range_is_min_over_max_and_max_over_min():
    assert stats.ratio_range([2.0, 3.0], [1.0, 2.0]) == (1.0, 3.0)


def test_ratio_range_rejects_non_positive_denominators():
    with pytest.raises(ValueError, match="'b' parameter of ratio_range"):
        stats.ratio_range([1.0], [0.0, 1.0])


def test_compare_means_within_noise_when_difference_is_small():
    c = stats.compare_means([0.90, 0.92, 0.94], [0.91, 0.93, 0.95])
    assert c.ahead == "within noise" and c.difference == pytest.approx(0.01)


def test_compare_means_names_the_winner_by_direction():
    assert stats.compare_means([1.0, 1.1], [2.0, 2.1]).ahead == "treated"
    assert stats.compare_means([1.0, 1.1], [2.0, 2.1], higher_is_better=False).ahead == "baseline"


def test_compare_means_floor_raises_the_noise():
    c = stats.compare_means([0.5, 0.5], [0.51, 0.51], floor=0.02)
    assert c.noise == 0.02 and c.ahead == "within noise"


def test_compare_means_line_names_both_arms():
    line = stats.compare_means([1.0, 1.2], [3.0, 3.2]).line("loss", "one-shot", "gradual", fmt=".1f")
    assert "one-shot 1.1" in line and "gradual 3.1" in line and line.endswith("→ gradual")


def test_seed_verdict_within_and_beyond_the_spread():
    assert "cannot tell" in stats.seed_verdict(compare_seeds([0.9, 0.92], [0.91, 0.93]), "a", "b")
    assert "b wins" in stats.seed_verdict(compare_seeds([0.5, 0.51], [0.9, 0.91]), "a", "b")


def _row(judged):
    return types.SimpleNamespace(judge=lambda ratio=1.0, control=None: judged)


@pytest.mark.parametrize("judged, text", [("above", "faster than dense"), ("below", "slower than dense"),
                                          ("within noise", "same speed as dense, within the noise")])
def test_speed_verdict_maps_the_judgement(judged, text):
    assert stats.speed_verdict(_row(judged)) == text


def test_reference_reads_the_recorded_file(tmp_path, monkeypatch):
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({"results": {"x": {"baseline": [0.9, 0.95], "treated": [0.96, 0.97],
                                                  "seeds": [0, 1], "verdict": "within the spread"}}}))
    monkeypatch.setattr(stats, "reference_path", lambda name: path)
    entry = stats.reference("demo", "x")
    assert entry["seeds"] == [0, 1]
    assert stats.describe_reference(entry) == ("baseline 90.00–95.00 %, treated 96.00–97.00 % over seeds 0–1, "
                                               "within the spread")


def test_reference_is_none_when_nothing_was_recorded(monkeypatch, tmp_path):
    monkeypatch.setattr(stats, "reference_path", lambda name: tmp_path / "missing.json")
    assert stats.reference("missing") is None
    assert "no reference" in stats.describe_reference(None)


def test_batch_loader_visits_every_example_once_per_pass():
    data = TensorDataset(torch.arange(10).float(), torch.arange(10))
    seen = torch.cat([y for _, y in batch_loader(data, 4, seed=0)])
    assert sorted(seen.tolist()) == list(range(10))


def test_batch_loader_steps_counts_batches():
    data = TensorDataset(torch.arange(10).float(), torch.arange(10))
    loader = batch_loader(data, 4, seed=1, steps=7)
    assert len(list(loader)) == 7 and all(len(y) == 4 for _, y in loader)


def test_batch_loader_same_seed_same_order():
    data = TensorDataset(torch.arange(10).float(), torch.arange(10))
    first = [y.tolist() for _, y in batch_loader(data, 3, seed=5)]
    assert first == [y.tolist() for _, y in batch_loader(data, 3, seed=5)]
