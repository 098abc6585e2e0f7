"""The figures the lessons draw, one module per lesson on a shared base. Every function returns a
matplotlib Figure (nothing global changes).

``_base`` (a fresh Figure), ``measure`` (lesson 00), ``distill`` (lesson 01), ``prune`` (lesson 02);
a new lesson adds its own module here and re-exports its figures below.
"""

from coursekit.plots.distill import (
    gradient_scale_plot,
    image_pairs,
    seed_strip,
    temperature_figure,
    temperature_panels,
    value_heatmap,
)
from coursekit.plots.measure import bar_compare
from coursekit.plots.prune import (
    accuracy_vs_sparsity,
    gradual_vs_one_shot,
    sensitivity_curves,
    sparsity_bars,
    sparsity_view_figure,
    speed_comparison,
    weight_histograms,
)

__all__ = ["accuracy_vs_sparsity", "bar_compare", "gradient_scale_plot", "gradual_vs_one_shot", "image_pairs", "seed_strip", "sensitivity_curves", "sparsity_bars", "sparsity_view_figure", "speed_comparison", "temperature_figure", "temperature_panels", "value_heatmap", "weight_histograms"]
