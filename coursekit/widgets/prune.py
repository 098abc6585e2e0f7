"""Lesson 02's sparsity explorer: prune a copy of a model at any sparsity and method, and measure it."""

from __future__ import annotations

from dataclasses import dataclass

from coursekit.widgets._base import Explorer

__all__ = ["SparsityView", "sparsity_explorer", "sparsity_view"]


@dataclass(frozen=True, repr=False)
class SparsityView:
    """What the sparsity explorer shows for one setting."""

    method: str
    sparsity: float  # the requested sparsity
    achieved: float  # the measured sparsity of the prunable weights
    accuracy: float  # on the explorer's loader, in [0, 1]
    layer_sparsities: dict  # layer name -> sparsity
    figure: object  # matplotlib Figure

    def __repr__(self) -> str:
        return (f"SparsityView({self.method!r}, sparsity={self.sparsity:.0%}, achieved={self.achieved:.1%}, "
                f"accuracy={self.accuracy:.2%})")


def sparsity_view(model, loader, sparsity: float, method: str = "magnitude (global)", *,
                  calibration_loader=None, seed: int = 0) -> SparsityView:
    """Prune a copy of ``model`` with ``method`` at ``sparsity`` and measure it (``model`` is untouched).

    With ``calibration_loader``, BatchNorm statistics are first re-estimated on its first
    ``prune.CALIBRATION_BATCHES`` batches (see ``prune.recalibrate_batchnorm``), as lesson 02
    does, so the explorer and the lesson show the same number for the same setting. Returns the
    accuracy on ``loader``, the per-layer sparsities and the figure the explorer shows.
    """
    import torch
    from torch import nn
    from torch.utils.data import DataLoader

    from coursekit import batchnorm, prune
    from coursekit._validate import check_choice, check_float, check_int, check_type
    from coursekit.plots import sparsity_view_figure
    from coursekit.train import evaluate

    func = "sparsity_view"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("loader", loader, func, DataLoader, "a torch.utils.data.DataLoader")
    sparsity = check_float("sparsity", sparsity, func, low=0, high=1)
    check_choice("method", method, func, prune.METHODS)
    if calibration_loader is not None:
        check_type("calibration_loader", calibration_loader, func, DataLoader, "a DataLoader or None")
    check_int("seed", seed, func, low=0)
    pruned = prune.prune_with(prune.clone_model(model), sparsity, method, seed=seed)
    if calibration_loader is not None:
        batchnorm.recalibrate_batchnorm(pruned, calibration_loader, batches=prune.CALIBRATION_BATCHES)
    accuracy = evaluate(pruned, loader).accuracy
    report = prune.sparsity_report(pruned)
    with torch.no_grad():
        dense = torch.cat([prune.effective_weight(m).flatten() for _, m in prune.prunable_layers(model)])
        kept = torch.cat([prune.effective_weight(m).flatten() for _, m in prune.prunable_layers(pruned)])
    kept = kept[kept != 0]
    title = (f"{method}: target {sparsity:.0%}, achieved {report.sparsity:.1%} → "
             f"accuracy {accuracy:.1%}")
    figure = sparsity_view_figure(report.as_dict(), dense, kept, title=title)
    return SparsityView(method, sparsity, report.sparsity, accuracy, report.as_dict(), figure)


def sparsity_explorer(model, loader, *, calibration_loader=None, sparsity: float = 0.5,
                      method: str = "magnitude (global)") -> Explorer:
    """A slider (sparsity 0-0.99) and a method choice that prune a copy of ``model`` and show the result.

    The caller's model is never modified: every update prunes a fresh copy of a snapshot taken now.
    With ``calibration_loader``, a checkbox re-estimates BatchNorm statistics after pruning.
    Returns the widget (an :class:`Explorer`: display it, or leave it as the cell's last expression);
    ``widget.controls`` holds the "sparsity", "method" and "recalibrate" controls.
    """
    import ipywidgets as widgets
    from torch import nn

    from coursekit import prune
    from coursekit._validate import check_choice, check_float, check_type

    func = "sparsity_explorer"
    snapshot = prune.clone_model(check_type("model", model, func, nn.Module, "a torch.nn.Module"))
    check_float("sparsity", sparsity, func, low=0, high=0.99)
    check_choice("method", method, func, prune.METHODS)
    slider = widgets.FloatSlider(value=sparsity, min=0.0, max=0.99, step=0.01, description="sparsity",
                                 continuous_update=False, readout_format=".0%")
    choice = widgets.Dropdown(options=list(prune.METHODS), value=method, description="method")
    recal = widgets.Checkbox(value=calibration_loader is not None, description="re-estimate BatchNorm statistics",
                             disabled=calibration_loader is None, indent=False, layout=widgets.Layout(width="auto"))

    def view(sparsity, method, recalibrate):
        return sparsity_view(snapshot, loader, sparsity, method,
                             calibration_loader=calibration_loader if recalibrate else None)

    return Explorer({"sparsity": slider, "method": choice, "recalibrate": recal}, view,
                    rows=[widgets.HBox([slider, choice, recal])])
