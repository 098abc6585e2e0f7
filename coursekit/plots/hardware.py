"""Lesson 04 (memory, precision and hardware): number formats bit by bit, and the roofline."""

from __future__ import annotations

from coursekit._validate import check_type
from coursekit.plots._base import new_figure

__all__ = ["float_formats_figure", "roofline_figure"]


def float_formats_figure(formats: dict | None = None):
    """One bar per format, one cell per bit: sign, exponent (range), mantissa (precision)."""
    from coursekit.memory import FLOAT_FORMATS

    formats = FLOAT_FORMATS if formats is None else check_type("formats", formats, "float_formats_figure", dict)
    fig = new_figure((9, 0.7 + 0.55 * len(formats)))
    ax = fig.subplots()
    colors = {"sign": "#d62728", "exponent": "#1f77b4", "mantissa": "#2ca02c"}
    for row, fmt in enumerate(reversed(list(formats.values()))):
        start = 0
        for part in ("sign", "exponent", "mantissa"):
            width = getattr(fmt, part)
            for bit in range(width):
                ax.add_patch(_rect(start + bit, row, colors[part]))
            label = f"{part} {width}" if width > 1 else "s"
            ax.text(start + width / 2, row + 0.4, label, ha="center", va="center", fontsize=8, color="white")
            start += width
        ax.text(-0.5, row + 0.4, f"{fmt.name}  (max {fmt.max:.3g}, eps {fmt.eps:.2g})", ha="right", va="center",
                fontsize=9)
    ax.set_xlim(-14, 32)
    ax.set_ylim(-0.2, len(formats))
    ax.axis("off")
    ax.set_title("bits: sign | exponent (range) | mantissa (precision)", fontsize=10)
    return fig


def _rect(x, y, color):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 0.92, 0.8, color=color)


def roofline_figure(peaks, costs_by_label: dict, *, title: str = ""):
    """The two roofs of ``peaks`` (a ``coursekit.hardware.Peaks``) and each layer as a point at its
    arithmetic intensity, one colour per entry of ``costs_by_label`` ({label: [LayerCost, ...]}).

    Points sit on the roof (the best the machine allows them); layers with no FLOPs are left out.
    """
    import numpy as np

    from coursekit.hardware import Peaks, roofline

    check_type("peaks", peaks, "roofline_figure", Peaks)
    check_type("costs_by_label", costs_by_label, "roofline_figure", dict, "a dict {label: [LayerCost, ...]}")
    fig = new_figure((6.5, 4))
    ax = fig.subplots()
    xs = np.logspace(-2, 3, 200)
    ax.plot(xs, np.minimum(peaks.gflops, xs * peaks.gbps), color="black", lw=2, label="roof")
    ax.axvline(peaks.ridge, color="gray", ls=":", lw=1)
    ax.text(peaks.ridge, peaks.gflops * 1.15, f"ridge {peaks.ridge:.0f} FLOP/B", fontsize=8, ha="center")
    for (label, costs), marker in zip(costs_by_label.items(), "os^Dv"):
        pts = [(c.intensity, roofline(c.intensity, peaks.gflops, peaks.gbps)[0], c.kind) for c in costs if c.flops]
        conv = [(i, g) for i, g, k in pts if k in ("Conv2d", "Linear")]
        other = [(i, g) for i, g, k in pts if k not in ("Conv2d", "Linear")]
        line = ax.scatter(*zip(*conv), marker=marker, s=40, label=f"{label}: conv/linear", zorder=3)
        if other:
            ax.scatter(*zip(*other), marker=marker, s=18, facecolors="none", edgecolors=line.get_facecolor(),
                       label=f"{label}: BN/ReLU/pool", zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte moved)")
    ax.set_ylabel("attainable GFLOP/s")
    ax.set_title(title or f"roofline of this machine ({peaks.device}, {peaks.threads} thread(s))", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return fig
