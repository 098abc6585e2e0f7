"""Issue 13, "figures a learner squints at": properties of the lesson figures checked without looking."""

import math

import matplotlib
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba

from coursekit import plots
from coursekit.metrics import SpeedComparison, SpeedRow
from coursekit.plots._base import MIN_TICK_LABELSIZE
from coursekit.prune import SensitivityScan

LAYERS = ["features.0", "features.3", "features.7", "classifier.2", "classifier.8"]
MODELS = ["dense", "dense (again)", "50% ch. masked", "50% ch. removed", "95% zeros"]


def drawn(fig):
    """Draw ``fig`` (the way a notebook does) and return its renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def speed():
    rows = tuple(SpeedRow(m, b, t, 1.0, 1.0 + i / 2, 100, 1.0 + i, (), 1.0, 1.0 + i)
                 for b in (1, 64) for t in (1, 2) for i, m in enumerate(MODELS))
    return SpeedComparison("dense", rows)


def scan():
    sps = (0.5, 0.9, 0.98)
    metrics = {n: tuple(-0.02 - d for d in ((-0.005, 0.01, 0.5) if k % 2 else (0.002, 0.3, 4.0)))
               for k, n in enumerate(LAYERS)}
    return SensitivityScan(tuple(LAYERS), sps, -0.02, metrics, {n: 1000 * (k + 1) for k, n in enumerate(LAYERS)})


def plan():
    return {name: {n: 0.95 - 0.1 * k * (i % 2) for i, n in enumerate(LAYERS)}
            for k, name in enumerate(["uniform", "global magnitude", "adaptive (scan)"])}


def all_figures():
    z = torch.tensor([0.0, 1, 2, 9, 1, 0, 0, 3, 1, 0])
    return {
        "speed": plots.speed_comparison(speed()),
        "plan": plots.sparsity_bars(plan()),
        "sensitivity": plots.sensitivity_curves(scan()),
        "heatmap": plots.value_heatmap([[0.905, 0.93], [0.91, 0.853]], [1, 4], [0.0, 1.0]),
        "temperature": plots.temperature_figure(torch.softmax(z / 2, 0), student=torch.softmax(z / 4, 0),
                                                image=torch.rand(1, 8, 8), true_class=3),
        "panels": plots.temperature_panels(z, [1, 4], true_class=3),
        "seeds": plots.seed_strip({"a": [0.9, 0.91], "b": [0.92, 0.93]}),
    }


def test_speed_bars_are_horizontal_with_unrotated_labels_that_do_not_collide():
    fig = plots.speed_comparison(speed())
    renderer = drawn(fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == MODELS
    assert all(t.get_rotation() == 0 for t in ax.get_yticklabels() + ax.get_xticklabels())
    boxes = [t.get_window_extent(renderer) for t in ax.get_yticklabels()]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx([1.0 + i / 2 for i in range(len(MODELS))])  # speed-up is the bar length


def legend_beside(ax, legend, renderer):
    """The legend's box lies entirely right of the axes' drawing area (it cannot cover bars or lines)."""
    return legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1


def test_plan_legend_does_not_cover_the_bars():
    fig = plots.sparsity_bars(plan())
    renderer = drawn(fig)
    ax = fig.axes[0]
    assert legend_beside(ax, ax.get_legend(), renderer)


def test_sensitivity_axis_takes_negative_values_and_legend_is_off_the_lines():
    s = scan()
    assert min(min(s.drops(n)) for n in s.layers) < 0
    fig = plots.sensitivity_curves(s)
    renderer = drawn(fig)
    ax = fig.axes[0]
    assert ax.get_yscale() != "log"
    low, high = ax.get_ylim()
    assert all(low < d < high for n in s.layers for d in s.drops(n))  # every point is on the axes
    assert legend_beside(ax, ax.get_legend(), renderer)
    assert not any("−1" in t.get_text() or "^" in t.get_text() for t in ax.get_yticklabels())  # plain numbers


@pytest.mark.parametrize("values, fmt, percent", [
    ([[0.905, 0.93], [0.91, 0.853]], "{:.1%}", True),  # fractions shown as %: lesson 01's accuracy grid
    ([[12.5, 3.0], [40.0, 0.5]], "{:.1f}", False),  # numbers already in %: lesson 01's probability grid
])
def test_heatmap_colour_bar_speaks_the_cells_unit(values, fmt, percent):
    fig = plots.value_heatmap(values, [1, 4], [0.0, 1.0], fmt=fmt)
    drawn(fig)
    heat, bar = fig.axes
    cells = [t.get_text() for t in heat.texts]
    assert all(c.endswith("%") == percent for c in cells)
    low, high = bar.get_ylim()
    labels = [t.get_text() for t, v in zip(bar.get_yticklabels(), bar.get_yticks()) if low <= v <= high]
    assert labels and all(label.endswith("%") == percent for label in labels)
    flat = [v for row in values for v in row]
    shown = [float(label.rstrip("%").replace("−", "-")) / (100 if percent else 1) for label in labels]
    assert all(min(flat) - 1e-9 <= v <= max(flat) + 1e-9 for v in shown)  # in the cells' range and unit


def test_temperature_legend_names_the_orange_true_class_bar():
    z = torch.tensor([0.0, 1, 2, 9, 1, 0, 0, 3, 1, 0])
    fig = plots.temperature_figure(torch.softmax(z, 0), student=torch.softmax(z / 3, 0), true_class=3)
    renderer = drawn(fig)
    ax = fig.axes[0]
    legend = ax.get_legend()
    entries = {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles)}
    true_entry = [name for name in entries if "true class" in name]
    assert true_entry == ["teacher, true class (3)"]
    assert entries[true_entry[0]].get_facecolor() == to_rgba("tab:orange")
    assert to_rgba("tab:orange") in [p.get_facecolor() for p in ax.patches]
    assert {"teacher", "student"} <= set(entries)
    assert legend_beside(ax, legend, renderer)
    panels = plots.temperature_panels(z, [1, 4], true_class=3)
    assert any("true class" in t.get_text() for legend in panels.legends for t in legend.get_texts())
    without = plots.temperature_figure(torch.softmax(z, 0))
    assert not any("true class" in t.get_text() for t in without.axes[0].get_legend().get_texts())


def test_tick_labels_are_at_least_9_pt_and_nothing_global_changes():
    before = dict(matplotlib.rcParams)
    for name, fig in all_figures().items():
        drawn(fig)
        for ax in fig.axes:
            for label in ax.get_xticklabels() + ax.get_yticklabels():
                assert label.get_size() >= MIN_TICK_LABELSIZE >= 9, (name, label.get_text(), label.get_size())
    after = dict(matplotlib.rcParams)
    assert {k: v for k, v in after.items() if before[k] != v and not (
        isinstance(v, float) and math.isnan(v) and math.isnan(before[k]))} == {}


def test_an_explicitly_small_tick_label_is_raised_at_draw():
    fig = plots.sparsity_bars(plan())
    fig.axes[0].tick_params(labelsize=6)
    drawn(fig)
    assert min(t.get_size() for t in fig.axes[0].get_xticklabels()) == MIN_TICK_LABELSIZE
