"""The ipywidgets explorers, one module per lesson on a shared base (``_base.Explorer``).

Each explorer's logic is a plain view function (tested without a browser); the widget only wires
controls to it and shows the figure it returns. ``distill`` (lesson 01: temperature),
``prune`` (lesson 02: sparsity); a new lesson adds its module and re-exports it here.
"""

from coursekit.widgets._base import Explorer, png
from coursekit.widgets.distill import (
           TemperatureExplorer,
           TemperatureView,
           temperature_explorer,
           temperature_view,
)
from coursekit.widgets.prune import SparsityView, sparsity_explorer, sparsity_view

__all__ = ["Explorer", "SparsityView", "TemperatureExplorer", "TemperatureView", "png", "sparsity_explorer",
           "sparsity_view", "temperature_explorer", "temperature_view"]
