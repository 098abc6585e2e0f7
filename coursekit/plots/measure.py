"""Lesson 00 (measure first): comparing models metric by metric."""

from __future__ import annotations

import matplotlib

from coursekit._validate import check_type
from coursekit.plots._base import new_figure

__all__ = ["bar_compare"]


def bar_compare(values: dict[str, dict[str, float]], *, title: str = "", log: bool = False):
    """One panel per metric, one bar per model: ``values[metric][model] = number``."""
    check_type("values", values, "bar_compare", dict, "a dict {metric: {model: value}}")
    if not values:
        raise ValueError("The 'values' parameter of bar_compare must hold at least one metric. Got {} instead.")
    fig = new_figure((3.0 * len(values), 3.2))
    axes = fig.subplots(1, len(values), squeeze=False)[0]
    colors = matplotlib.colormaps["tab10"].colors
    for ax, (metric, per_model) in zip(axes, values.items()):
        names = list(per_model)
        ax.bar(names, [per_model[n] for n in names], color=colors[: len(names)])
        ax.set_title(metric, fontsize=10)
        if log:
            ax.set_yscale("log")
        ax.tick_params(axis="x", labelrotation=20)
    if title:
        fig.suptitle(title)
    return fig
