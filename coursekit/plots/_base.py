"""What every figure module shares: a fresh Figure that touches no global matplotlib state."""

from __future__ import annotations

__all__ = ["new_figure"]


def new_figure(figsize=(6, 3.5)):
    """A constrained-layout ``matplotlib.figure.Figure`` (no pyplot, no global state)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")
