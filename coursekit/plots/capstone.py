"""Lesson 06's figure: every candidate tried, accuracy against latency, marker area = size on disk."""

from __future__ import annotations

from coursekit.plots._base import new_figure

__all__ = ["pareto_plot", "pareto_front"]


def pareto_front(cards) -> list:
    """The cards no other card beats on both accuracy (higher) and p50 latency (lower)."""
    cards = list(cards)
    return [c for c in cards
            if not any(o is not c and o.accuracy >= c.accuracy and o.p50_ms <= c.p50_ms
                       and (o.accuracy > c.accuracy or o.p50_ms < c.p50_ms) for o in cards)]


def pareto_plot(cards, *, title: str | None = None):
    """Accuracy (%) vs p50 latency (ms, log scale) of report cards measured on one scenario card;
    marker area grows with size on disk, filled markers pass every budget line, the front is joined."""
    cards = list(cards)
    if not cards:
        raise ValueError("The 'cards' parameter of pareto_plot must hold at least one ReportCard. Got none.")
    fig = new_figure((6.5, 4))
    ax = fig.add_subplot()
    biggest = max(c.size_bytes for c in cards)
    for c in cards:
        area = 30 + 600 * (c.size_bytes / biggest) ** 0.5
        ax.scatter([c.p50_ms], [100 * c.accuracy], s=area, alpha=0.6,
                   facecolors="tab:green" if c.passed else "none", edgecolors="tab:green" if c.passed else "tab:red")
        ax.annotate(f"{c.name}\n{c.size_kb:.0f} KiB", (c.p50_ms, 100 * c.accuracy), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    front = sorted(pareto_front(cards), key=lambda c: c.p50_ms)
    ax.plot([c.p50_ms for c in front], [100 * c.accuracy for c in front], "k--", lw=0.8, label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel(f"p50 latency (ms, batch {cards[0].batch}, {cards[0].threads} thread(s))")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title or f"candidates on card '{cards[0].scenario}' (filled = passes, area = size)")
    ax.legend(loc="lower right", fontsize=8)
    return fig
