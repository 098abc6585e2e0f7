"""Lesson 03 (quantization) figures. Each returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib
import torch

from coursekit._validate import check_type
from coursekit.plots._base import new_figure as _figure

__all__ = ["accuracy_vs_bits", "calibration_figure", "levels_figure", "levels_panel"]


def levels_panel(ax, weights: torch.Tensor, levels: torch.Tensor, *, label: str = "levels", bins: int = 80,
                 color: str = "tab:red") -> None:
    """A histogram of ``weights`` with one vertical line per quantization level."""
    values = weights.detach().flatten().float().numpy()
    ax.hist(values, bins=bins, color="lightgray")
    levels = levels.detach().flatten().tolist()
    width, alpha = (0.8, 0.8) if len(levels) <= 32 else (0.3, 0.4)  # 8 bits: 255 lines, keep them faint
    for i, level in enumerate(levels):
        ax.axvline(level, color=color, linewidth=width, alpha=alpha, label=label if i == 0 else None)
    ax.set_xlabel("weight value")
    ax.legend(fontsize=7, loc="upper right")


def levels_figure(weights: torch.Tensor, grids: dict[str, torch.Tensor], *, title: str = ""):
    """One panel per grid: the same weight histogram with that grid's levels drawn on it."""
    check_type("weights", weights, "levels_figure", torch.Tensor, "a torch.Tensor")
    check_type("grids", grids, "levels_figure", dict, "a dict {name: levels}")
    fig = _figure((3.2 * len(grids), 2.8))
    axes = fig.subplots(1, len(grids), sharey=True, squeeze=False)[0]
    colors = matplotlib.colormaps["tab10"].colors
    for ax, (name, levels), color in zip(axes, grids.items(), colors[1:]):
        levels_panel(ax, weights, levels, label=f"{len(levels)} levels", color=color)
        ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def accuracy_vs_bits(results: dict[str, dict[int, float]], *, reference: float | None = None, title: str = ""):
    """Test accuracy against bit width, one line per setting: ``results[label][bits] = accuracy``."""
    check_type("results", results, "accuracy_vs_bits", dict, "a dict {label: {bits: accuracy}}")
    fig = _figure((5, 3.2))
    ax = fig.subplots()
    for label, per_bits in results.items():
        bits = sorted(per_bits, reverse=True)
        ax.plot(bits, [per_bits[b] for b in bits], "o-", label=label)
    if reference is not None:
        ax.axhline(reference, color="gray", linestyle="--", linewidth=1, label="float32")
    ax.set_xlabel("bits")
    ax.invert_xaxis()
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def calibration_figure(values: torch.Tensor, ranges: dict[str, tuple[float, float]], *, title: str = ""):
    """A (log-scale) histogram of activations with each calibration range drawn as a pair of lines."""
    check_type("values", values, "calibration_figure", torch.Tensor, "a torch.Tensor")
    fig = _figure((6, 3))
    ax = fig.subplots()
    ax.hist(values.detach().flatten().float().numpy(), bins=120, color="lightgray")
    ax.set_yscale("log")
    colors = matplotlib.colormaps["tab10"].colors
    for (name, (low, high)), color in zip(ranges.items(), colors[1:]):
        ax.axvline(low, color=color, linestyle="--")
        ax.axvline(high, color=color, label=f"{name}: [{low:.2f}, {high:.2f}]")
    ax.set_xlabel("activation value")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
