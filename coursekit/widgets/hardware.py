"""Lesson 04's roofline explorer: move the batch size and watch each layer slide along the roofline."""

from __future__ import annotations

from dataclasses import dataclass

from coursekit.widgets._base import Explorer

__all__ = ["BATCH_SIZES", "RooflineView", "roofline_explorer", "roofline_view"]

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass(frozen=True, repr=False)
class RooflineView:
    """What the roofline explorer shows for one batch size."""

    batch: int
    costs: list  # LayerCost of every leaf layer
    bound: dict  # conv/linear layer name -> "memory" or "compute" on the explorer's machine
    figure: object  # matplotlib Figure

    @property
    def memory_bound(self) -> int:
        return sum(kind == "memory" for kind in self.bound.values())

    def summary(self) -> str:
        return (f"batch {self.batch}: {self.memory_bound} of {len(self.bound)} conv/linear layers are "
                f"memory-bound, {len(self.bound) - self.memory_bound} compute-bound")

    def __repr__(self) -> str:
        return f"RooflineView(batch={self.batch}, memory_bound={self.memory_bound}/{len(self.bound)})"


def roofline_view(model, peaks, batch: int, input_shape=(1, 8, 8)) -> RooflineView:
    """The per-layer costs of ``model`` at ``batch`` on the machine ``peaks`` describes, and its roofline figure.

    ``input_shape`` is one example's shape (C, H, W). Nothing is timed: this is the roofline's prediction.
    """
    import torch
    from torch import nn

    from coursekit._validate import check_int, check_type
    from coursekit.hardware import Peaks, layer_costs, roofline
    from coursekit.plots import roofline_figure

    func = "roofline_view"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("peaks", peaks, func, Peaks, "a coursekit.hardware.Peaks (from measure_peaks())")
    check_int("batch", batch, func, low=1, high=4096)
    check_type("input_shape", input_shape, func, tuple, "a tuple (C, H, W)")
    costs = layer_costs(model, torch.zeros(batch, *input_shape))
    bound = {c.name: roofline(c.intensity, peaks.gflops, peaks.gbps)[1] for c in costs if c.kind in ("Conv2d", "Linear")}
    figure = roofline_figure(peaks, {f"batch {batch}": costs},
                             title=f"batch {batch} on {peaks.device} ({peaks.threads} thread(s))")
    return RooflineView(batch, costs, bound, figure)


def roofline_explorer(model, peaks, *, input_shape=(1, 8, 8), batch: int = 1) -> Explorer:
    """A batch-size slider that redraws where each layer of ``model`` sits on this machine's roofline.

    ``peaks`` comes from ``coursekit.hardware.measure_peaks()`` (measured once; the slider only predicts).
    ``widget.controls["batch"]`` is the slider; ``widget.view`` the latest :class:`RooflineView`.
    """
    import ipywidgets as widgets

    from coursekit._validate import check_choice

    check_choice("batch", batch, "roofline_explorer", BATCH_SIZES)
    slider = widgets.SelectionSlider(options=list(BATCH_SIZES), value=batch, description="batch",
                                     continuous_update=False)

    def view(batch):
        return roofline_view(model, peaks, batch, input_shape)

    return Explorer({"batch": slider}, view, readout=True)
