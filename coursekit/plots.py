"""The figures the lessons draw. Every function returns a matplotlib Figure (nothing global changes)."""

from __future__ import annotations

import matplotlib

from coursekit._validate import check_type

__all__ = ["bar_compare"]


def _figure(figsize=(6, 3.5)):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def bar_compare(values: dict[str, dict[str, float]], *, title: str = "", log: bool = False):
    """One panel per metric, one bar per model: ``values[metric][model] = number``."""
    check_type("values", values, "bar_compare", dict, "a dict {metric: {model: value}}")
    if not values:
        raise ValueError("The 'values' parameter of bar_compare must hold at least one metric. Got {} instead.")
    fig = _figure((3.0 * len(values), 3.2))
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


# --- lesson 01 (distillation) figures below this line ---

__all__ += ["gradient_scale_plot", "image_pairs", "seed_strip", "temperature_figure", "temperature_panels",
            "value_heatmap"]


def _bars(ax, probs, *, student=None, class_names=None, true_class=None):
    """Bars of one distribution over classes (the teacher's), optionally outlined student bars."""
    names = [str(c) for c in (class_names or range(len(probs)))]
    xs = range(len(probs))
    colors = ["tab:orange" if i == true_class else "tab:blue" for i in xs]
    ax.bar(xs, [float(p) for p in probs], color=colors, label="teacher")
    if student is not None:
        ax.bar(xs, [float(q) for q in student], fill=False, edgecolor="black", linewidth=1.2, label="student")
        ax.legend(fontsize=7, loc="upper left")
    ax.set_xticks(list(xs), names, fontsize=8)
    ax.set_ylim(0, 1.02)


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
    fig = _figure((6.4 if image is not None else 4.8, 2.8))
    if image is not None:
        left, ax = fig.subplots(1, 2, width_ratios=[1, 3])
        _image(left, image, "input")
    else:
        ax = fig.subplots()
    _bars(ax, probs, student=student, class_names=class_names, true_class=true_class)
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
    fig = _figure((2.3 * (len(temperatures) + extra), 2.6))
    axes = fig.subplots(1, len(temperatures) + extra, squeeze=False)[0]
    if extra:
        _image(axes[0], image, "input")
    for ax, t in zip(axes[extra:], temperatures):
        probs = torch.softmax(logits / t, dim=0)
        _bars(ax, probs, class_names=class_names, true_class=true_class)
        entropy = -(probs * torch.log2(probs.clamp_min(1e-30))).sum().item()
        ax.set_title(f"T = {t:g}  (H = {entropy:.2f} bits)", fontsize=9)
    return fig


def image_pairs(pairs, *, title: str = ""):
    """Small images side by side, two per column: ``pairs = [(top_image, bottom_image, caption), ...]``."""
    pairs = list(pairs)
    if not pairs:
        raise ValueError("The 'pairs' parameter of image_pairs must hold at least one pair. Got [] instead.")
    fig = _figure((1.05 * len(pairs), 2.5))
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
    import numpy as np

    grid = np.asarray(values, dtype=float)
    if grid.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"The 'values' parameter of value_heatmap must be shaped ({len(row_labels)}, "
                         f"{len(col_labels)}) like the labels. Got shape {grid.shape} instead.")
    fig = _figure((0.6 * len(col_labels) + 2.2, 0.42 * len(row_labels) + 1.4))
    ax = fig.subplots()
    image = ax.imshow(grid, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(col_labels)), [str(c) for c in col_labels], fontsize=8)
    ax.set_yticks(range(len(row_labels)), [str(r) for r in row_labels], fontsize=8)
    ax.set_xlabel(col_title)
    ax.set_ylabel(row_title)
    low, high = np.nanmin(grid), np.nanmax(grid)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if np.isfinite(grid[i, j]):
                dark = grid[i, j] < (low + high) / 2
                ax.text(j, i, fmt.format(grid[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    fig.colorbar(image, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def gradient_scale_plot(temperatures, series: dict):
    """Log-log lines of a gradient norm vs temperature, one per ``series[name] = [norm per T]``."""
    fig = _figure((5, 3.2))
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
    fig = _figure((1.6 * len(results) + 1.6, 3))
    ax = fig.subplots()
    for i, values in enumerate(results.values()):
        values = [100 * v for v in values]
        ax.plot([i] * len(values), values, "o", alpha=0.6)
        mean = statistics.fmean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        ax.errorbar([i + 0.15], [mean], yerr=[std], fmt="s", color="black", capsize=4)
    ax.set_xticks(range(len(results)), list(results), fontsize=8)
    ax.set_xlim(-0.5, len(results) - 0.5)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    return fig


# --- lesson 02 (pruning) figures below this line ---

__all__ += ["accuracy_vs_sparsity", "gradual_vs_one_shot", "sensitivity_curves", "sparsity_bars",
            "sparsity_view_figure", "speed_comparison", "weight_histograms"]


def weight_histograms(model, *, bins: int = 60, cols: int = 3):
    """One histogram per prunable layer of its (effective) weights: most sit close to zero."""
    from torch import nn

    from coursekit._validate import check_type
    from coursekit.prune import effective_weight, prunable_layers

    func = "weight_histograms"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    layers = prunable_layers(model)
    if not layers:
        raise ValueError(f"The 'model' parameter of {func} must contain at least one Conv2d or Linear layer "
                         f"with a weight. Got a {type(model).__name__} without one instead.")
    rows = -(-len(layers) // cols)
    fig = _figure((3.0 * cols, 1.9 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    for ax, (name, m) in zip(axes, layers):
        w = effective_weight(m).detach().flatten()
        ax.hist(w[w != 0].numpy(), bins=bins, color="tab:blue")
        ax.set_title(f"{name} ({type(m).__name__}, {w.numel():,} w)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(layers):]:
        ax.axis("off")
    fig.suptitle("weights of each layer (zeros left out)", fontsize=10)
    return fig


def accuracy_vs_sparsity(sweep, *, title: str = "one-shot pruning of the teacher", ylabel: str = "test accuracy (%)"):
    """Metric vs measured sparsity, one line per method of a ``prune.SparsitySweep``."""
    from coursekit.prune import SparsitySweep

    check_type("sweep", sweep, "accuracy_vs_sparsity", SparsitySweep, "a SparsitySweep from prune.sparsity_sweep")
    fig = _figure((6, 3.4))
    ax = fig.subplots()
    for method, values in sweep.metrics.items():
        ax.plot([100 * s for s in sweep.achieved[method]], [100 * v for v in values], "o-", label=method)
    ax.axhline(100 * sweep.baseline, color="black", linestyle="--", linewidth=1, label="dense")
    ax.set_xlabel("sparsity of the prunable weights (%)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def sparsity_bars(per_layer: dict, *, title: str = "sparsity per layer", ax=None):
    """Grouped bars: ``per_layer[series][layer] = sparsity`` (series: e.g. "uniform", "adaptive")."""
    check_type("per_layer", per_layer, "sparsity_bars", dict, "a dict {series: {layer: sparsity}}")
    if not per_layer:
        raise ValueError("The 'per_layer' parameter of sparsity_bars must hold at least one series. Got {} instead.")
    fig = None
    if ax is None:
        fig = _figure((7, 3))
        ax = fig.subplots()
    layers = list(next(iter(per_layer.values())))
    width = 0.8 / len(per_layer)
    for i, (series, values) in enumerate(per_layer.items()):
        xs = [j + (i - (len(per_layer) - 1) / 2) * width for j in range(len(layers))]
        ax.bar(xs, [100 * values.get(n, 0.0) for n in layers], width=width, label=series)
    ax.set_xticks(range(len(layers)), layers, rotation=30, fontsize=7, ha="right")
    ax.set_ylabel("sparsity (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=10)
    if len(per_layer) > 1:
        ax.legend(fontsize=8)
    return fig if fig is not None else ax.figure


def sensitivity_curves(scan, *, ylabel: str = "metric lost (baseline − metric)"):
    """What each layer loses when pruned alone, vs that layer's sparsity: one line per layer."""
    from coursekit.prune import SensitivityScan

    check_type("scan", scan, "sensitivity_curves", SensitivityScan, "a SensitivityScan from prune.sensitivity_scan")
    fig = _figure((6.5, 3.4))
    ax = fig.subplots()
    for name in scan.layers:
        ax.plot([100 * s for s in scan.sparsities], scan.drops(name), "o-", label=f"{name} ({scan.sizes[name]:,} w)")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_yscale("symlog", linthresh=0.01)  # small drops stay visible next to catastrophic ones
    ax.set_xlabel("sparsity of that one layer (%)")
    ax.set_ylabel(ylabel)
    ax.set_title("sensitivity: each layer pruned alone", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


def gradual_vs_one_shot(history, one_shot: dict, *, dense: float | None = None):
    """Left: the sparsity schedule; right: accuracy after each step of a ``GradualHistory``.

    ``one_shot = {"sparsity": s, "after pruning": acc, "after fine-tuning": acc}`` is drawn for comparison.
    """
    from coursekit.prune import GradualHistory

    check_type("history", history, "gradual_vs_one_shot", GradualHistory, "a GradualHistory from prune.gradual_prune")
    fig = _figure((8, 3))
    left, right = fig.subplots(1, 2)
    steps = [s.step for s in history.steps]
    left.plot([0] + steps, [0] + [100 * t for t in history.targets], "o-", label="gradual (cubic schedule)")
    left.plot([0, 1], [0, 100 * one_shot["sparsity"]], "s--", label="one-shot")
    left.set_xlabel("pruning step")
    left.set_ylabel("sparsity (%)")
    left.set_title("how fast the zeros arrive", fontsize=10)
    left.legend(fontsize=8)
    if history.metrics[0] is not None:
        right.plot(steps, [100 * m for m in history.metrics], "o-", label="gradual: after each step")
    right.axhline(100 * one_shot["after fine-tuning"], color="tab:orange", linestyle="--",
                  label="one-shot + same fine-tuning")
    if dense is not None:
        right.axhline(100 * dense, color="black", linewidth=1, label="dense")
    for ax in (left, right):
        ax.set_xticks([0] + steps if ax is left else steps)
    right.set_xlabel("pruning step")
    right.set_ylabel("test accuracy (%)")
    right.set_title("accuracy", fontsize=10)
    right.legend(fontsize=8)
    return fig


def sparsity_view_figure(layer_sparsities: dict, dense_weights, kept_weights, *, title: str = ""):
    """The sparsity explorer's picture: per-layer sparsity bars and the weight histogram before/after."""
    fig = _figure((9, 3))
    left, right = fig.subplots(1, 2, width_ratios=[1.2, 1])
    sparsity_bars({"sparsity": layer_sparsities}, title="sparsity per layer", ax=left)
    lim = float(dense_weights.abs().max()) if len(dense_weights) else 1.0
    bins = [lim * (i / 40 - 1) for i in range(81)]
    right.hist(dense_weights.numpy(), bins=bins, color="lightgray", label="dense")
    right.hist(kept_weights.numpy(), bins=bins, color="tab:blue", label="kept")
    right.set_yscale("log")
    right.set_xlabel("weight value")
    right.set_title("all prunable weights", fontsize=10)
    right.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def speed_comparison(comparison):
    """Speed-up (bars) and FLOPs reduction (markers) of each model vs the first, per batch and threads."""
    from coursekit.prune import SpeedComparison

    check_type("comparison", comparison, "speed_comparison", SpeedComparison, "a SpeedComparison")
    settings = list(dict.fromkeys((r.batch_size, r.threads) for r in comparison.rows))
    models = list(dict.fromkeys(r.model for r in comparison.rows))
    fig = _figure((2.6 * len(settings), 3))
    axes = fig.subplots(1, len(settings), sharey=True, squeeze=False)[0]
    colors = matplotlib.colormaps["tab10"].colors
    for ax, (b, t) in zip(axes, settings):
        rows = [comparison.row(m, b, t) for m in models]
        ax.bar(models, [r.speedup for r in rows], color=colors[: len(models)], label="measured speed-up")
        ax.plot(models, [r.flops_reduction for r in rows], "k_", markersize=25, markeredgewidth=2,
                label="FLOPs ratio")
        ax.axhline(1, color="gray", linewidth=0.8)
        ax.set_title(f"batch {b}, {t} thread{'s' if t > 1 else ''}", fontsize=9)
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    axes[0].set_ylabel(f"× faster than {comparison.baseline}")
    axes[0].legend(fontsize=7)
    return fig
