"""Lesson 01 (knowledge distillation): softened distributions, image pairs, heatmaps, seed strips."""

from __future__ import annotations

from coursekit._validate import check_type
from coursekit.plots._base import new_figure

__all__ = ["gradient_scale_plot", "image_pairs", "seed_strip", "temperature_figure", "temperature_panels", "value_heatmap"]


def _bars(ax, probs, *, student=None, class_names=None, true_class=None):
    """Bars of one distribution over classes (the teacher's), optionally outlined student bars.

    Returns the legend's handles: the teacher's bars, the true class's (orange) bar when it is given,
    and the student's outlines when given.
    """
    from matplotlib.patches import Patch

    names = [str(c) for c in (class_names or range(len(probs)))]
    xs = range(len(probs))
    colors = ["tab:orange" if i == true_class else "tab:blue" for i in xs]
    ax.bar(xs, [float(p) for p in probs], color=colors)
    handles = [Patch(color="tab:blue", label="teacher")]
    if true_class is not None:
        handles.append(Patch(color="tab:orange", label=f"teacher, true class ({names[true_class]})"))
    if student is not None:
        ax.bar(xs, [float(q) for q in student], fill=False, edgecolor="black", linewidth=1.2)
        handles.append(Patch(fill=False, edgecolor="black", linewidth=1.2, label="student"))
    ax.set_xticks(list(xs), names)
    ax.set_ylim(0, 1.02)
    return handles


def _image(ax, image, title: str = ""):
    if hasattr(image, "detach"):  # a torch tensor: matplotlib wants an array
        image = image.detach().cpu().numpy()
    ax.imshow(image.reshape(image.shape[-2:]), cmap="gray_r")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def temperature_figure(probs, *, student=None, image=None, class_names=None, true_class=None, title: str = ""):
    """The temperature explorer's picture: the digit (if given) and the softened distribution as bars."""
    fig = new_figure((8.0 if image is not None else 6.4, 2.8))
    if image is not None:
        left, ax = fig.subplots(1, 2, width_ratios=[1, 3])
        _image(left, image, "input")
    else:
        ax = fig.subplots()
    handles = _bars(ax, probs, student=student, class_names=class_names, true_class=true_class)
    # beside the bars, never over them: every legend entry names a colour in the plot, orange included
    ax.legend(handles=handles, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set_ylabel("probability")
    ax.set_title(title, fontsize=10)
    return fig


def temperature_panels(logits, temperatures, *, image=None, class_names=None, true_class=None):
    """The static version of the temperature explorer: softmax(logits / T) for a few T side by side."""
    import torch

    func = "temperature_panels"
    check_type("logits", logits, func, torch.Tensor, "a 1-D tensor of logits")
    if logits.dim() != 1:
        raise ValueError(f"The 'logits' parameter of {func} must be a 1-D tensor (one example). "
                         f"Got shape {tuple(logits.shape)} instead.")
    temperatures = list(temperatures)
    if not temperatures:
        raise ValueError(f"The 'temperatures' parameter of {func} must hold at least one value. Got [] instead.")
    extra = image is not None
    fig = new_figure((2.3 * (len(temperatures) + extra), 2.6))
    axes = fig.subplots(1, len(temperatures) + extra, squeeze=False)[0]
    if extra:
        _image(axes[0], image, "input")
    for ax, t in zip(axes[extra:], temperatures):
        probs = torch.softmax(logits / t, dim=0)
        handles = _bars(ax, probs, class_names=class_names, true_class=true_class)
        entropy = -(probs * torch.log2(probs.clamp_min(1e-30))).sum().item()
        ax.set_title(f"T = {t:g}  (H = {entropy:.2f} bits)", fontsize=9)
    if true_class is not None:  # one legend for all panels, below them: which bar is the true class
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=9)
    return fig


def image_pairs(pairs, *, title: str = ""):
    """Small images side by side, two per column: ``pairs = [(top_image, bottom_image, caption), ...]``."""
    pairs = list(pairs)
    if not pairs:
        raise ValueError("The 'pairs' parameter of image_pairs must hold at least one pair. Got [] instead.")
    fig = new_figure((1.05 * len(pairs), 2.5))
    axes = fig.subplots(2, len(pairs), squeeze=False)
    for j, (top, bottom, caption) in enumerate(pairs):
        _image(axes[0, j], top, caption)
        _image(axes[1, j], bottom)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def value_heatmap(values, row_labels, col_labels, *, row_title: str = "", col_title: str = "",
                  title: str = "", fmt: str = "{:.1%}", cmap: str = "viridis"):
    """A grid of numbers as a coloured table: ``values[i][j]`` at row ``row_labels[i]``, column ``col_labels[j]``."""
    import matplotlib.ticker
    import numpy as np

    grid = np.asarray(values, dtype=float)
    if grid.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"The 'values' parameter of value_heatmap must be shaped ({len(row_labels)}, "
                         f"{len(col_labels)}) like the labels. Got shape {grid.shape} instead.")
    fig = new_figure((0.65 * len(col_labels) + 2.4, 0.42 * len(row_labels) + 1.4))
    ax = fig.subplots()
    image = ax.imshow(grid, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(col_labels)), [str(c) for c in col_labels])
    ax.set_yticks(range(len(row_labels)), [str(r) for r in row_labels])
    ax.set_xlabel(col_title)
    ax.set_ylabel(row_title)
    low, high = np.nanmin(grid), np.nanmax(grid)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if np.isfinite(grid[i, j]):
                dark = grid[i, j] < (low + high) / 2
                ax.text(j, i, fmt.format(grid[i, j]), ha="center", va="center", fontsize=9,
                        color="white" if dark else "black")
    # the colour bar speaks the cells' unit: its ticks are written with the same ``fmt`` (97.0%, not 0.97)
    bar = fig.colorbar(image, ax=ax, shrink=0.8, format=matplotlib.ticker.FuncFormatter(lambda v, _: fmt.format(v)))
    bar.ax.tick_params(labelsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def gradient_scale_plot(temperatures, series: dict):
    """Log-log lines of a gradient norm vs temperature, one per ``series[name] = [norm per T]``."""
    fig = new_figure((5, 3.2))
    ax = fig.subplots()
    for name, norms in series.items():
        ax.plot(list(temperatures), list(norms), "o-", label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("temperature T")
    ax.set_ylabel("‖gradient w.r.t. student logits‖")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def seed_strip(results: dict, *, ylabel: str = "test accuracy (%)", title: str = ""):
    """One column of dots per method (one dot per seed) with its mean ± std: ``results[method] = [values]``."""
    import statistics

    check_type("results", results, "seed_strip", dict, "a dict {method: [value per seed]}")
    fig = new_figure((1.6 * len(results) + 1.6, 3))
    ax = fig.subplots()
    for i, values in enumerate(results.values()):
        values = [100 * v for v in values]
        ax.plot([i] * len(values), values, "o", alpha=0.6)
        mean = statistics.fmean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        ax.errorbar([i + 0.15], [mean], yerr=[std], fmt="s", color="black", capsize=4)
    ax.set_xticks(range(len(results)), list(results))
    ax.set_xlim(-0.5, len(results) - 0.5)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    return fig
