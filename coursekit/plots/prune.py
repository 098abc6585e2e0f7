"""Lesson 02 (pruning): weight histograms, accuracy against sparsity, sensitivity, speed."""

from __future__ import annotations

import matplotlib

from coursekit._validate import check_type
from coursekit.plots._base import new_figure

__all__ = ["accuracy_vs_sparsity", "gradual_vs_one_shot", "sensitivity_curves", "sparsity_bars", "sparsity_view_figure", "speed_comparison", "weight_histograms"]


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
    fig = new_figure((3.0 * cols, 1.9 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    for ax, (name, m) in zip(axes, layers):
        w = effective_weight(m).detach().flatten()
        ax.hist(w[w != 0].numpy(), bins=bins, color="tab:blue")
        ax.set_title(f"{name} ({type(m).__name__}, {w.numel():,} w)", fontsize=8)
    for ax in axes[len(layers):]:
        ax.axis("off")
    fig.suptitle("weights of each layer (zeros left out)", fontsize=10)
    return fig


def accuracy_vs_sparsity(sweep, *, title: str = "one-shot pruning of the teacher", ylabel: str = "test accuracy (%)"):
    """Metric vs measured sparsity, one line per method of a ``prune.SparsitySweep``."""
    from coursekit.prune import SparsitySweep

    check_type("sweep", sweep, "accuracy_vs_sparsity", SparsitySweep, "a SparsitySweep from prune.sparsity_sweep")
    fig = new_figure((6, 3.4))
    ax = fig.subplots()
    for method, values in sweep.metrics.items():
        ax.plot([100 * s for s in sweep.achieved[method]], [100 * v for v in values], "o-", label=method)
    ax.axhline(100 * sweep.baseline, color="black", linestyle="--", linewidth=1, label="dense")
    ax.set_xlabel("sparsity of the prunable weights (%)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return fig


def sparsity_bars(per_layer: dict, *, title: str = "sparsity per layer", ax=None):
    """Grouped bars: ``per_layer[series][layer] = sparsity`` (series: e.g. "uniform", "adaptive")."""
    check_type("per_layer", per_layer, "sparsity_bars", dict, "a dict {series: {layer: sparsity}}")
    if not per_layer:
        raise ValueError("The 'per_layer' parameter of sparsity_bars must hold at least one series. Got {} instead.")
    fig = None
    if ax is None:
        fig = new_figure((8, 3.2))
        ax = fig.subplots()
    layers = list(next(iter(per_layer.values())))
    width = 0.8 / len(per_layer)
    for i, (series, values) in enumerate(per_layer.items()):
        xs = [j + (i - (len(per_layer) - 1) / 2) * width for j in range(len(layers))]
        ax.bar(xs, [100 * values.get(n, 0.0) for n in layers], width=width, label=series)
    ax.set_xticks(range(len(layers)), layers, rotation=30, ha="right")
    ax.set_ylabel("sparsity (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=10)
    if len(per_layer) > 1:  # beside the axes, never over the bars (which reach 100%)
        ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig if fig is not None else ax.figure


def sensitivity_curves(scan, *, ylabel: str = "metric lost (baseline − metric)"):
    """What each layer loses when pruned alone, vs that layer's sparsity: one line per layer."""
    from coursekit.prune import SensitivityScan

    check_type("scan", scan, "sensitivity_curves", SensitivityScan, "a SensitivityScan from prune.sensitivity_scan")
    fig = new_figure((8.5, 3.6))
    ax = fig.subplots()
    lowest, highest = 0.0, 0.0
    for name in scan.layers:
        drops = scan.drops(name)
        lowest, highest = min([lowest, *drops]), max([highest, *drops])
        ax.plot([100 * s for s in scan.sparsities], drops, "o-", label=f"{name} ({scan.sizes[name]:,} w)")
    ax.axhline(0, color="black", linewidth=0.8)
    # symlog, not log: drops can be negative (pruning sometimes helps a little). Logarithmic above
    # `linthresh` so small drops stay visible next to catastrophic ones, linear around zero.
    linthresh = 0.01
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.set_ylim(-1.5 * max(linthresh, -lowest), 1.5 * max(linthresh, highest))  # room for the outer points
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.axhspan(-linthresh, linthresh, color="gray", alpha=0.08, linewidth=0)
    ax.set_xlabel("sparsity of that one layer (%)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"sensitivity: each layer pruned alone\n(log scale above {linthresh:g}, linear in the grey band)",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # off the lines
    return fig


def gradual_vs_one_shot(history, one_shot: dict, *, dense: float | None = None):
    """Left: the sparsity schedule; right: accuracy after each step of a ``GradualHistory``.

    ``one_shot = {"sparsity": s, "after pruning": acc, "after fine-tuning": acc}`` is drawn for comparison.
    """
    from coursekit.prune import GradualHistory

    check_type("history", history, "gradual_vs_one_shot", GradualHistory, "a GradualHistory from prune.gradual_prune")
    fig = new_figure((8, 3))
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
    fig = new_figure((9, 3))
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
    # horizontal bars: the model names read left to right, however long they are
    fig = new_figure((1.6 + 2.1 * len(settings), 1.4 + 0.38 * len(models)))
    axes = fig.subplots(1, len(settings), sharey=True, squeeze=False)[0]
    colors = matplotlib.colormaps["tab10"].colors
    ys = list(range(len(models)))
    for ax, (b, t) in zip(axes, settings):
        rows = [comparison.row(m, b, t) for m in models]
        ax.barh(ys, [r.speedup for r in rows], color=[colors[i % len(colors)] for i in ys],
                label="measured speed-up")
        ax.plot([r.flops_reduction for r in rows], ys, "k|", markersize=16, markeredgewidth=2,
                label="FLOPs ratio")
        ax.axvline(1, color="gray", linewidth=0.8)
        ax.set_title(f"batch {b}, {t} thread{'s' if t > 1 else ''}", fontsize=10)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(ys, models)
    axes[0].invert_yaxis()  # the first model (the baseline) on top
    fig.supxlabel(f"× faster than {comparison.baseline}", fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=2, fontsize=9)
    return fig
