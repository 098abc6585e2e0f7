"""The ipywidgets explorers. Each explorer's logic is a plain function (tested without a browser);
the widget only wires a slider to it and shows the figure it returns."""

from __future__ import annotations

__all__: list[str] = []


# --- lesson 01: temperature_explorer below this line ---


# --- lesson 02: sparsity_explorer below this line ---
