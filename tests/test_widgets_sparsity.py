"""The sparsity explorer's logic (sparsity_view) and its widget state, without a browser."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit import prune as P
from coursekit.widgets import SparsityView, sparsity_explorer, sparsity_view


def model_and_loader():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3),
    ).eval()
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(24, 1, 8, 8, generator=g), torch.randint(0, 3, (24,), generator=g))
    return model, DataLoader(data, batch_size=8)


def snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("method", P.METHODS)
def test_sparsity_view_reports_accuracy_layers_and_a_figure(method):
    model, loader = model_and_loader()
    view = sparsity_view(model, loader, 0.6, method)
    assert isinstance(view, SparsityView) and isinstance(view.figure, Figure)
    assert 0.0 <= view.accuracy <= 1.0
    assert list(view.layer_sparsities) == [n for n, _ in P.prunable_layers(model)]
    assert view.achieved == pytest.approx(P.sparsity(P.prune_with(P.clone_model(model), 0.6, method)))
    assert "accuracy=" in repr(view)


def test_sparsity_view_accuracy_matches_pruning_a_copy_by_hand():
    from coursekit.train import evaluate

    model, loader = model_and_loader()
    by_hand = evaluate(P.magnitude_prune(P.clone_model(model), 0.5, scope="global"), loader).accuracy
    assert sparsity_view(model, loader, 0.5, "magnitude (global)").accuracy == by_hand


def test_sparsity_view_never_modifies_the_callers_model():
    model, loader = model_and_loader()
    before = snapshot(model)
    sparsity_view(model, loader, 0.9, "structured", calibration_loader=loader)
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.nn.utils.prune.is_pruned(model)


def test_explorer_never_modifies_the_callers_model_and_follows_its_controls():
    model, loader = model_and_loader()
    before = snapshot(model)
    box = sparsity_explorer(model, loader, calibration_loader=loader, sparsity=0.3)
    controls = box.controls
    assert controls["sparsity"].min == 0.0 and controls["sparsity"].max == 0.99
    assert set(controls["method"].options) == set(P.METHODS)
    controls["sparsity"].value = 0.95  # observers fire synchronously without a browser
    controls["method"].value = "random"
    controls["recalibrate"].value = False
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not torch.nn.utils.prune.is_pruned(model)


def test_explorer_without_calibration_disables_the_checkbox():
    model, loader = model_and_loader()
    box = sparsity_explorer(model, loader)
    assert box.controls["recalibrate"].disabled and not box.controls["recalibrate"].value


@pytest.mark.parametrize("call, exc, match", [
    (lambda m, dl: sparsity_view(m, dl, 1.5, "random"), ValueError,
     r"The 'sparsity' parameter of sparsity_view must be a float in the range \[0, 1\]\. Got 1\.5 instead\."),
    (lambda m, dl: sparsity_view(m, dl, 0.5, "lottery"), ValueError, "'method' parameter of sparsity_view"),
    (lambda m, dl: sparsity_view(m, [1], 0.5), TypeError, "'loader' parameter of sparsity_view"),
    (lambda m, dl: sparsity_view("m", dl, 0.5), TypeError, "'model' parameter of sparsity_view"),
    (lambda m, dl: sparsity_view(m, dl, 0.5, calibration_loader=3), TypeError, "'calibration_loader' parameter"),
    (lambda m, dl: sparsity_explorer(m, dl, sparsity=-1.0), ValueError, "'sparsity' parameter of sparsity_explorer"),
    (lambda m, dl: sparsity_explorer(m, dl, method="magic"), ValueError, "'method' parameter of sparsity_explorer"),
])
def test_argument_errors(call, exc, match):
    model, loader = model_and_loader()
    with pytest.raises(exc, match=match):
        call(model, loader)


# --- the lesson's figures (coursekit.plots, lesson 02 section) ---------------------------------

def test_lesson_figures_are_figures():
    from coursekit import plots

    model, loader = model_and_loader()
    sweep = P.sparsity_sweep(model, P.sparsity, [0.5, 0.9], methods=["random", "magnitude (global)"])
    scan = P.sensitivity_scan(model, lambda m: -P.sparsity(m), [0.5, 0.9])
    history = P.gradual_prune(P.clone_model(model), 0.8, steps=3, evaluate_fn=P.sparsity)
    speed = P.compare_speed({"a": model, "b": model}, torch.randn(2, 1, 8, 8), batch_sizes=(1,), threads=(1,),
                            runs=1, rounds=1, warmup=0)
    figures = [
        plots.weight_histograms(model),
        plots.accuracy_vs_sparsity(sweep),
        plots.sensitivity_curves(scan),
        plots.sparsity_bars({"x": P.sparsity_report(P.magnitude_prune(P.clone_model(model), 0.5)).as_dict()}),
        plots.gradual_vs_one_shot(history, {"sparsity": 0.8, "after pruning": 0.5, "after fine-tuning": 0.6}, dense=0.7),
        plots.speed_comparison(speed),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert len(figures[1].axes[0].lines) == 3  # two methods + the dense line


@pytest.mark.parametrize("call, match", [
    (lambda plots: plots.accuracy_vs_sparsity({}), "'sweep' parameter of accuracy_vs_sparsity"),
    (lambda plots: plots.sensitivity_curves(None), "'scan' parameter of sensitivity_curves"),
    (lambda plots: plots.gradual_vs_one_shot([], {}), "'history' parameter of gradual_vs_one_shot"),
    (lambda plots: plots.speed_comparison({}), "'comparison' parameter of speed_comparison"),
    (lambda plots: plots.sparsity_bars([]), "'per_layer' parameter of sparsity_bars"),
    (lambda plots: plots.weight_histograms("model"), "'model' parameter of weight_histograms"),
])
def test_lesson_figure_argument_errors(call, match):
    from coursekit import plots

    with pytest.raises(TypeError, match=match):
        call(plots)
