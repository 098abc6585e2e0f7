"""Pruning: masks on top of ``torch.nn.utils.prune``, schedules, sensitivity, and channel removal.

Three layers of API, as in ``torch.nn.utils.prune``:

1. choose what to prune: :func:`magnitude_prune`, :func:`random_prune`, :func:`gradual_prune`,
   :func:`apply_plan` compute masks and install them with ``torch.nn.utils.prune`` (each pruned
   tensor ``w`` becomes ``w_orig`` (a parameter) times ``w_mask`` (a buffer), recomputed by a
   forward pre-hook before every call);
2. make it permanent: :func:`remove_pruning` folds the masks in (the zeros stay, the hooks go);
3. make it faster: :func:`remove_channels` rebuilds a structured-pruned CNN without its dead channels.

In a network with BatchNorm, pruning makes the statistics it stored during training stale: call
:func:`recalibrate_batchnorm` before judging a pruned model (fine-tuning via :func:`finetuner` does).

Modules: ``masks`` (magnitude/random/structured masks, sparsity reports, clone_model,
remove_pruning), ``schedules`` (gradual pruning, fine-tuning), ``sensitivity`` (per-layer scans,
adaptive plans, sweeps), ``channels`` (remove_channels). Everything is importable from
``coursekit.prune`` itself, including, for lesson 02, helpers whose home is elsewhere:
``size_on_disk`` & co. (coursekit.size), ``compare_speed`` (coursekit.metrics) and
``recalibrate_batchnorm`` (coursekit.batchnorm).

One word for how much is pruned: ``sparsity``, a float in [0, 1], the fraction of weights that are
zero. Targets are absolute: pruning a layer that is already 50% sparse "to 0.8" adds 30 points, and
pruning never brings a zeroed weight back.
"""

from coursekit.batchnorm import recalibrate_batchnorm
from coursekit.metrics import SpeedComparison, SpeedRow, compare_speed
from coursekit.prune.channels import remove_channels
from coursekit.prune.masks import (
    CALIBRATION_BATCHES,
    METHODS,
    PRUNABLE,
    LayerSparsity,
    SparsityReport,
    clone_model,
    effective_weight,
    magnitude_prune,
    prunable_layers,
    prune_with,
    random_prune,
    remove_pruning,
    sparsity,
    sparsity_report,
)
from coursekit.prune.schedules import (
    GradualHistory,
    GradualStep,
    finetuner,
    gradual_prune,
    polynomial_schedule,
)
from coursekit.prune.sensitivity import (
    PruningPlan,
    SensitivityScan,
    SparsitySweep,
    adaptive_plan,
    apply_plan,
    sensitivity_scan,
    sparsity_sweep,
)
from coursekit.size import SizeOnDisk, from_sparse_state_dict, size_on_disk, to_sparse_state_dict

__all__ = [
    "CALIBRATION_BATCHES", "METHODS", "PRUNABLE", "GradualHistory", "GradualStep", "LayerSparsity", "PruningPlan",
    "SensitivityScan", "SizeOnDisk", "SparsityReport", "SparsitySweep", "SpeedComparison", "SpeedRow",
    "adaptive_plan", "apply_plan", "clone_model", "compare_speed", "effective_weight", "finetuner",
    "from_sparse_state_dict", "gradual_prune", "magnitude_prune", "polynomial_schedule", "prunable_layers",
    "prune_with", "random_prune", "recalibrate_batchnorm", "remove_channels", "remove_pruning", "sensitivity_scan",
    "size_on_disk", "sparsity", "sparsity_report", "sparsity_sweep", "to_sparse_state_dict",
]
