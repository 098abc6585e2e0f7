"""What every figure module shares: a fresh Figure that touches no global matplotlib state."""

from __future__ import annotations

from matplotlib.figure import Figure

__all__ = ["MIN_TICK_LABELSIZE", "ReadableFigure", "new_figure", "raise_small_tick_labels"]

MIN_TICK_LABELSIZE = 9  # points: tick labels smaller than this are raised to it when the figure is drawn


def raise_small_tick_labels(fig, minimum: float = MIN_TICK_LABELSIZE):
    """Raise every tick label of ``fig`` smaller than ``minimum`` points to ``minimum`` (per axis, no rcParams)."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for which, ticks in (("major", axis.get_major_ticks()), ("minor", axis.get_minor_ticks())):
                sizes = [label.get_size() for t in ticks for label in (t.label1, t.label2)]
                if sizes and min(sizes) < minimum:
                    axis.set_tick_params(which=which, labelsize=minimum)


class ReadableFigure(Figure):
    """A Figure whose tick labels are never drawn below ``MIN_TICK_LABELSIZE`` points.

    The floor is applied to this figure's own axes just before each draw (so that constrained layout
    makes room for it); rcParams and every other figure are left alone.
    """

    def draw(self, renderer):
        raise_small_tick_labels(self)
        super().draw(renderer)


def new_figure(figsize=(6, 3.5)):
    """A constrained-layout Figure (no pyplot, no global state) with tick labels of at least 9 pt."""
    return ReadableFigure(figsize=figsize, layout="constrained")
