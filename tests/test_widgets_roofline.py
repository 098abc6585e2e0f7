"""The roofline explorer's logic (roofline_view) and its widget state, without a browser."""

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from coursekit.hardware import Peaks, layer_costs, roofline
from coursekit.widgets import RooflineView, roofline_explorer, roofline_view

PEAKS = Peaks(gflops=100.0, gbps=10.0, device="cpu", threads=1)


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 64, 64))


def test_roofline_view_matches_the_roofline_of_each_layer():
    view = roofline_view(model(), PEAKS, 8)
    assert isinstance(view, RooflineView) and isinstance(view.figure, Figure)
    costs = layer_costs(model(), torch.zeros(8, 1, 8, 8))
    assert view.bound == {c.name: roofline(c.intensity, 100.0, 10.0)[1] for c in costs if c.kind in ("Conv2d", "Linear")}
    assert "of 2 conv/linear layers" in view.summary()


def test_bigger_batches_are_never_more_memory_bound():
    counts = [roofline_view(model(), PEAKS, b).memory_bound for b in (1, 16, 256)]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]


def test_explorer_slider_redraws_and_validates():
    widget = roofline_explorer(model(), PEAKS)
    assert widget.view.batch == 1
    view = widget.update(batch=64)
    assert view.batch == 64 and "batch 64" in widget.readout.value
    with pytest.raises(ValueError, match="'batch' parameter of roofline_explorer"):
        roofline_explorer(model(), PEAKS, batch=3)
    with pytest.raises(TypeError, match="'peaks' parameter of roofline_view"):
        roofline_view(model(), {"gflops": 1}, 1)
