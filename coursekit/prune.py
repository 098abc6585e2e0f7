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

One word for how much is pruned: ``sparsity``, a float in [0, 1], the fraction of weights that are
zero. Targets are absolute: pruning a layer that is already 50% sparse "to 0.8" adds 30 points, and
pruning never brings a zeroed weight back.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils import prune

from coursekit._validate import _fail, check_callable, check_choice, check_float, check_int, check_type
from coursekit.batchnorm import recalibrate_batchnorm
from coursekit.metrics import SpeedComparison, SpeedRow, compare_speed
from coursekit.size import SizeOnDisk, from_sparse_state_dict, size_on_disk, to_sparse_state_dict
from coursekit.train import eval_mode

__all__ = [
    "CALIBRATION_BATCHES", "METHODS", "PRUNABLE", "GradualHistory", "GradualStep", "LayerSparsity", "PruningPlan",
    "SensitivityScan", "SizeOnDisk", "SparsityReport", "SparsitySweep", "SpeedComparison", "SpeedRow",
    "adaptive_plan", "apply_plan", "clone_model", "compare_speed", "finetuner", "from_sparse_state_dict",
    "gradual_prune", "magnitude_prune", "polynomial_schedule", "prunable_layers", "prune_with",
    "random_prune", "recalibrate_batchnorm", "remove_channels", "remove_pruning", "sensitivity_scan", "size_on_disk",
    "sparsity", "sparsity_report", "sparsity_sweep", "to_sparse_state_dict",
]

PRUNABLE = (nn.Conv2d, nn.Linear)  # the layers pruned by default: their weights are nearly all parameters
METHODS = ("magnitude (layer)", "magnitude (global)", "random", "structured")
# batches of training data on which a pruned model's BatchNorm statistics are re-estimated before it is
# judged (the lesson's `recalibrated` and the sparsity explorer both use it, so they show the same numbers)
CALIBRATION_BATCHES = 2


# ---------------------------------------------------------------------------------------------
# argument checks shared by the public functions

def _check_model(model, func: str) -> nn.Module:
    return check_type("model", model, func, nn.Module, "a torch.nn.Module")


def _check_sparsity(value, func: str, name: str = "sparsity") -> float:
    return check_float(name, value, func, low=0, high=1)


def _check_include(include, func: str) -> tuple:
    ok = isinstance(include, tuple) and include and all(
        isinstance(t, type) and issubclass(t, nn.Module) for t in include)
    if not ok:
        _fail("include", func, "a non-empty tuple of nn.Module classes, e.g. (nn.Conv2d, nn.Linear)",
              include, TypeError)
    return include


def _layers(model: nn.Module, include: tuple, func: str) -> list[tuple[str, nn.Module]]:
    layers = prunable_layers(model, include)
    if not layers:
        kinds = ", ".join(t.__name__ for t in include)
        raise ValueError(f"The 'model' parameter of {func} must contain at least one layer of type {kinds} "
                         f"with a weight. Got a {type(model).__name__} without one instead.")
    return layers


# ---------------------------------------------------------------------------------------------
# masks

def prunable_layers(model: nn.Module, include: tuple = PRUNABLE) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every layer of a type in ``include`` that has a weight, in model order."""
    _check_model(model, "prunable_layers")
    _check_include(include, "prunable_layers")
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, include) and (hasattr(m, "weight_orig") or isinstance(getattr(m, "weight", None), torch.Tensor))]


def _effective(module: nn.Module, name: str = "weight") -> torch.Tensor:
    """The tensor the module computes with: ``orig * mask`` when pruned (fresh, not the cached copy)."""
    if hasattr(module, name + "_orig"):
        return getattr(module, name + "_orig") * getattr(module, name + "_mask")
    return getattr(module, name)


def _is_pruned(module: nn.Module, name: str) -> bool:
    return hasattr(module, name + "_mask")


def _apply_mask(module: nn.Module, name: str, keep: torch.Tensor) -> None:
    """Zero the entries where ``keep`` is False, on top of any existing mask.

    The first time, ``prune.custom_from_mask`` installs the reparametrisation (``name_orig``,
    ``name_mask``, the forward pre-hook); afterwards the mask buffer is narrowed in place, so one
    hook per tensor serves every later pruning step.
    """
    keep = keep.to(getattr(module, name + "_orig", getattr(module, name)).dtype)
    if _is_pruned(module, name):
        mask = getattr(module, name + "_mask")
        mask.mul_(keep)
        setattr(module, name, getattr(module, name + "_orig") * mask)
    else:
        prune.custom_from_mask(module, name, keep.clone())


def _keep_mask(scores: torch.Tensor, n_prune: int) -> torch.Tensor:
    """Boolean mask that drops the ``n_prune`` lowest scores (exactly that many, ties broken by topk)."""
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    if n_prune > 0:
        keep[torch.topk(scores.reshape(-1), n_prune, largest=False).indices] = False
    return keep.view(scores.shape)


def _n_prune(sparsity: float, n: int) -> int:
    return round(sparsity * n)  # the rounding torch.nn.utils.prune uses for a float amount


def _output_layer(layers: list[tuple[str, nn.Module]]) -> nn.Module:
    return layers[-1][1]


def _following_batchnorm(model: nn.Module) -> dict[nn.Module, _BatchNorm]:
    """Conv/Linear -> the BatchNorm that comes right after it (in registration order) and normalises its outputs."""
    leaves = [m for m in model.modules() if not list(m.children())]
    pairs = {}
    for a, b in zip(leaves, leaves[1:], strict=False):
        if isinstance(a, (nn.Conv2d, nn.Linear)) and isinstance(b, _BatchNorm):
            out = a.out_channels if isinstance(a, nn.Conv2d) else a.out_features
            if b.num_features == out:
                pairs[a] = b
    return pairs


def _unstructured(model, sparsity, scope, include, func, score_fn) -> nn.Module:
    layers = _layers(model, include, func)
    with torch.no_grad():
        # pruned entries score -1 so they are pruned first: targets are absolute and never un-prune
        scores = [torch.where(_effective(m) == 0, -1.0, score_fn(m)) for _, m in layers]
    if scope == "layer":
        keeps = [_keep_mask(s, _n_prune(sparsity, s.numel())) for s in scores]
    else:  # one threshold over every included weight
        flat = torch.cat([s.reshape(-1) for s in scores])
        keep_flat = _keep_mask(flat, _n_prune(sparsity, flat.numel()))
        keeps = list(torch.split(keep_flat, [s.numel() for s in scores]))
        keeps = [k.view(s.shape) for k, s in zip(keeps, scores, strict=True)]
    for (_, m), keep in zip(layers, keeps, strict=True):
        _apply_mask(m, "weight", keep)
    return model


def _structured(model, sparsity, include, func, score_fn) -> nn.Module:
    """Prune whole output channels (conv filters, hidden neurons) with the lowest scores.

    A pruned channel outputs exactly zero: its weights, its bias and the affine parameters of a
    BatchNorm right after it are all masked (BatchNorm would otherwise turn a zero into ``beta - gamma
    * mean / std``). The last included layer (the classifier's output) is never pruned.
    """
    layers = _layers(model, include, func)
    bns = _following_batchnorm(model)
    last = _output_layer(layers)
    for _, m in layers:
        if m is last or not isinstance(m, (nn.Conv2d, nn.Linear)):
            continue
        with torch.no_grad():
            w = _effective(m)
            scores = score_fn(m, w)
            dead = w.flatten(1).abs().sum(dim=1) == 0
            scores = torch.where(dead, -1.0, scores)
            keep_channels = _keep_mask(scores, _n_prune(sparsity, scores.numel()))  # (out,)
        shape = (-1,) + (1,) * (w.dim() - 1)
        _apply_mask(m, "weight", keep_channels.view(shape).expand_as(w))
        if getattr(m, "bias", None) is not None or hasattr(m, "bias_orig"):
            _apply_mask(m, "bias", keep_channels)
        bn = bns.get(m)
        if bn is not None and bn.affine:
            _apply_mask(bn, "weight", keep_channels)
            _apply_mask(bn, "bias", keep_channels)
    return model


def magnitude_prune(model: nn.Module, sparsity: float, *, scope: str = "layer", structured: bool = False,
                    include: tuple = PRUNABLE) -> nn.Module:
    """Prune ``model`` in place by weight magnitude and return it.

    - ``scope="layer"``: every included layer loses the fraction ``sparsity`` of its smallest |w|.
    - ``scope="global"``: one |w| threshold across all included layers, so the overall sparsity is
      ``sparsity`` while layers with many small weights lose more.
    - ``structured=True``: whole output channels go, those whose filters have the smallest L2 norm
      (hidden Linear layers lose whole neurons; the last layer, the classifier's output, never).
      Structured pruning is layer-wise only.
    """
    func = "magnitude_prune"
    _check_model(model, func)
    sparsity = _check_sparsity(sparsity, func)
    check_choice("scope", scope, func, ["layer", "global"])
    check_type("structured", structured, func, bool)
    _check_include(include, func)
    if structured:
        if scope != "layer":
            raise ValueError("The 'scope' parameter of magnitude_prune must be 'layer' when structured=True "
                             "(filter norms of different layers are not comparable). Got 'global' instead.")
        return _structured(model, sparsity, include, func, lambda m, w: w.flatten(1).norm(dim=1))
    return _unstructured(model, sparsity, scope, include, func, lambda m: _effective(m).abs())


def random_prune(model: nn.Module, sparsity: float, *, seed: int = 0, scope: str = "layer",
                 structured: bool = False, include: tuple = PRUNABLE) -> nn.Module:
    """Prune ``model`` in place at random (the baseline magnitude pruning must beat) and return it.

    The same ``seed`` prunes the same weights. ``scope`` and ``structured`` as in :func:`magnitude_prune`.
    """
    func = "random_prune"
    _check_model(model, func)
    sparsity = _check_sparsity(sparsity, func)
    check_int("seed", seed, func, low=0)
    check_choice("scope", scope, func, ["layer", "global"])
    check_type("structured", structured, func, bool)
    _check_include(include, func)
    gen = torch.Generator().manual_seed(seed)
    if structured:
        if scope != "layer":
            raise ValueError("The 'scope' parameter of random_prune must be 'layer' when structured=True. "
                             "Got 'global' instead.")
        return _structured(model, sparsity, include, func, lambda m, w: torch.rand(w.shape[0], generator=gen))
    return _unstructured(model, sparsity, scope, include, func,
                         lambda m: torch.rand(_effective(m).shape, generator=gen))


def prune_with(model: nn.Module, sparsity: float, method: str, *, seed: int = 0) -> nn.Module:
    """Prune ``model`` in place with one of :data:`METHODS` (the names the lesson and the widget use)."""
    func = "prune_with"
    _check_model(model, func)
    _check_sparsity(sparsity, func)
    check_choice("method", method, func, METHODS)
    if method == "random":
        return random_prune(model, sparsity, seed=seed)
    if method == "structured":
        return magnitude_prune(model, sparsity, structured=True)
    return magnitude_prune(model, sparsity, scope="global" if "global" in method else "layer")


# ---------------------------------------------------------------------------------------------
# measuring sparsity

def sparsity(model_or_tensor: nn.Module | torch.Tensor, *, include: tuple = PRUNABLE) -> float:
    """Fraction of zeros: in a tensor, or over the (effective, masked) weights of the included layers.

    Biases and BatchNorm parameters are not counted: they are a tiny share of the parameters.
    """
    func = "sparsity"
    check_type("model_or_tensor", model_or_tensor, func, (nn.Module, torch.Tensor), "a torch.nn.Module or a torch.Tensor")
    if isinstance(model_or_tensor, torch.Tensor):
        if model_or_tensor.numel() == 0:
            raise ValueError("The 'model_or_tensor' parameter of sparsity must have at least one element. "
                             "Got an empty tensor instead.")
        return (model_or_tensor == 0).sum().item() / model_or_tensor.numel()
    _check_include(include, func)
    layers = _layers(model_or_tensor, include, func)
    with torch.no_grad():
        zeros = sum(int((_effective(m) == 0).sum()) for _, m in layers)
    return zeros / sum(_effective(m).numel() for _, m in layers)


@dataclass(frozen=True)
class LayerSparsity:
    name: str  # as in model.named_modules()
    kind: str  # Conv2d, Linear, ...
    shape: tuple  # of the weight
    numel: int
    nonzero: int

    @property
    def sparsity(self) -> float:
        return 1 - self.nonzero / self.numel


@dataclass(frozen=True)
class SparsityReport:
    """Per-layer sparsity of a model's included weights (a table in a notebook)."""

    layers: tuple  # of LayerSparsity

    @property
    def numel(self) -> int:
        return sum(r.numel for r in self.layers)

    @property
    def nonzero(self) -> int:
        return sum(r.nonzero for r in self.layers)

    @property
    def sparsity(self) -> float:  # overall
        return 1 - self.nonzero / self.numel

    def as_dict(self) -> dict[str, float]:
        return {r.name: r.sparsity for r in self.layers}

    def _rows(self):
        rows = [(r.name, r.kind, "×".join(map(str, r.shape)), f"{r.nonzero:,}", f"{r.numel:,}",
                 f"{r.sparsity:.1%}") for r in self.layers]
        rows.append(("total", "", "", f"{self.nonzero:,}", f"{self.numel:,}", f"{self.sparsity:.1%}"))
        return ("layer", "type", "weight shape", "non-zeros", "weights", "sparsity"), rows

    def __repr__(self) -> str:
        head, rows = self._rows()
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
        line = lambda cells: "  ".join(  # noqa: E731
            str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "\n".join([line(head)] + [line(r) for r in rows])

    def _repr_html_(self) -> str:
        head, rows = self._rows()
        th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def sparsity_report(model: nn.Module, *, include: tuple = PRUNABLE) -> SparsityReport:
    """Name, weight shape, non-zeros and sparsity of every included layer, plus the total."""
    func = "sparsity_report"
    _check_model(model, func)
    _check_include(include, func)
    rows = []
    with torch.no_grad():
        for name, m in _layers(model, include, func):
            w = _effective(m)
            rows.append(LayerSparsity(name, type(m).__name__, tuple(w.shape), w.numel(), int(torch.count_nonzero(w))))
    return SparsityReport(tuple(rows))


# ---------------------------------------------------------------------------------------------
# copies and permanence

def _pruning_hooks(model: nn.Module):
    for m in model.modules():
        for key, hook in list(m._forward_pre_hooks.items()):
            if isinstance(hook, prune.BasePruningMethod):
                yield m, key, hook


def clone_model(model: nn.Module) -> nn.Module:
    """An independent copy of ``model``, pruned or not (pruning state, masks and hooks included).

    ``copy.deepcopy`` alone fails on a model pruned with ``torch.nn.utils.prune``: each pruned
    ``weight`` is a computed tensor (``weight_orig * weight_mask``), and only leaf tensors can be
    deep-copied. We set those computed tensors aside, copy, and recompute them in both models.
    """
    _check_model(model, "clone_model")
    computed = []
    for m, _, hook in _pruning_hooks(model):
        computed.append((m, hook._tensor_name, m.__dict__.pop(hook._tensor_name, None)))
    try:
        new = copy.deepcopy(model)
    finally:
        for m, name, tensor in computed:
            if tensor is not None:
                m.__dict__[name] = tensor
    for m, _, hook in _pruning_hooks(new):
        setattr(m, hook._tensor_name, hook.apply_mask(m))
    return new


def remove_pruning(model: nn.Module) -> nn.Module:
    """Make pruning permanent, in place: fold every mask into its tensor and drop the hooks.

    Afterwards the model has plain ``weight`` parameters again (no ``*_orig``, no ``*_mask``), the
    pruned entries are stored zeros, and the outputs are unchanged. Returns the model.
    """
    _check_model(model, "remove_pruning")
    for m, _, hook in list(_pruning_hooks(model)):
        prune.remove(m, hook._tensor_name)
    return model


# ---------------------------------------------------------------------------------------------
# gradual pruning

def polynomial_schedule(initial: float, final: float, steps: int, *, power: float = 3) -> tuple[float, ...]:
    """Zhu & Gupta's sparsity schedule: ``steps`` targets rising from ``initial`` to exactly ``final``.

    The t-th value (t = 1..steps) is ``final + (initial - final) * (1 - t / steps) ** power``: large
    steps first, while the network has many redundant weights, and small ones at the end.
    """
    func = "polynomial_schedule"
    initial = _check_sparsity(initial, func, "initial")
    final = _check_sparsity(final, func, "final")
    steps = check_int("steps", steps, func, low=1)
    power = check_float("power", power, func, low=0.0, closed="neither")
    if final < initial:
        raise ValueError(f"The 'final' parameter of polynomial_schedule must be >= initial ({initial}): "
                         f"pruning only adds zeros. Got {final} instead.")
    return tuple(final + (initial - final) * (1 - t / steps) ** power for t in range(1, steps + 1))


@dataclass(frozen=True)
class GradualStep:
    step: int  # 1..steps
    target: float  # scheduled sparsity
    achieved: float  # measured sparsity after pruning (and fine-tuning)
    metric: float | None  # evaluate_fn(model) after the step, if given


@dataclass(frozen=True)
class GradualHistory:
    """What :func:`gradual_prune` did at each step."""

    steps: tuple  # of GradualStep
    initial_metric: float | None = None  # evaluate_fn(model) before the first step

    @property
    def targets(self) -> list[float]:
        return [s.target for s in self.steps]

    @property
    def achieved(self) -> list[float]:
        return [s.achieved for s in self.steps]

    @property
    def metrics(self) -> list[float | None]:
        return [s.metric for s in self.steps]

    def __repr__(self) -> str:
        lines = [f"GradualHistory({len(self.steps)} steps)", "  step  target  achieved  metric"]
        for s in self.steps:
            metric = "" if s.metric is None else f"{s.metric:.4f}"
            lines.append(f"  {s.step:4d}  {s.target:6.1%}  {s.achieved:8.1%}  {metric}")
        return "\n".join(lines)


def finetuner(train_loader, *, epochs: int = 1, lr: float = 3e-4, seed: int = 0,
              recalibrate: bool = True) -> Callable[[nn.Module, int], None]:
    """A ``finetune(model, step)`` for :func:`gradual_prune`: ``epochs`` epochs of ``coursekit.train.fit``.

    Pruned weights stay zero while fine-tuning: the mask is applied on every forward, and the masked
    entries of ``weight_orig`` get zero gradient. Each step uses the seed ``seed + step``. With
    ``recalibrate`` (the default), BatchNorm statistics are re-estimated on ``train_loader`` after
    training (see :func:`recalibrate_batchnorm`): the running averages that a short run updates with
    momentum 0.1 still carry much of the stale, pre-pruning statistics.
    """
    from torch.utils.data import DataLoader

    from coursekit.train import fit

    func = "finetuner"
    check_type("train_loader", train_loader, func, DataLoader, "a torch.utils.data.DataLoader")
    check_int("epochs", epochs, func, low=1)
    check_float("lr", lr, func, low=0, closed="neither")
    check_int("seed", seed, func, low=0)
    check_type("recalibrate", recalibrate, func, bool)

    def finetune(model: nn.Module, step: int) -> None:
        fit(model, train_loader, epochs=epochs, lr=lr, seed=seed + step, progress=False)
        if recalibrate:
            recalibrate_batchnorm(model, train_loader)

    return finetune


def gradual_prune(model: nn.Module, final_sparsity: float, *, steps: int,
                  finetune: Callable[[nn.Module, int], None] | None = None, initial_sparsity: float = 0.0,
                  scope: str = "global", structured: bool = False, power: float = 3,
                  evaluate_fn: Callable[[nn.Module], float] | None = None,
                  include: tuple = PRUNABLE) -> GradualHistory:
    """Prune ``model`` in place in ``steps`` steps along :func:`polynomial_schedule`.

    After each step ``finetune(model, step)`` (if given) trains the pruned model (see
    :func:`finetuner`), then ``evaluate_fn(model)`` (if given) is recorded. Returns the history.
    """
    func = "gradual_prune"
    _check_model(model, func)
    final_sparsity = _check_sparsity(final_sparsity, func, "final_sparsity")
    initial_sparsity = _check_sparsity(initial_sparsity, func, "initial_sparsity")
    check_int("steps", steps, func, low=1)
    check_callable("finetune", finetune, func, allow_none=True)
    check_callable("evaluate_fn", evaluate_fn, func, allow_none=True)
    check_choice("scope", scope, func, ["layer", "global"])
    _check_include(include, func)
    if final_sparsity < initial_sparsity:
        raise ValueError(f"The 'final_sparsity' parameter of gradual_prune must be >= initial_sparsity "
                         f"({initial_sparsity}). Got {final_sparsity} instead.")
    schedule = polynomial_schedule(initial_sparsity, final_sparsity, steps, power=power)
    initial_metric = None if evaluate_fn is None else float(evaluate_fn(model))
    records = []
    for t, target in enumerate(schedule, start=1):
        magnitude_prune(model, target, scope=scope, structured=structured, include=include)
        if finetune is not None:
            finetune(model, t)
        metric = None if evaluate_fn is None else float(evaluate_fn(model))
        records.append(GradualStep(t, target, sparsity(model, include=include), metric))
    return GradualHistory(tuple(records), initial_metric)


# ---------------------------------------------------------------------------------------------
# sensitivity and adaptive plans

@dataclass(frozen=True)
class SensitivityScan:
    """``metrics[layer][i]``: the metric with only ``layer`` pruned to ``sparsities[i]``."""

    layers: tuple  # layer names
    sparsities: tuple
    baseline: float  # the metric of the unpruned model
    metrics: dict  # layer -> tuple of metrics, one per sparsity
    sizes: dict  # layer -> number of weights

    def drops(self, layer: str) -> list[float]:
        """Metric lost at each sparsity (baseline minus metric; negative = noise in our favour)."""
        return [self.baseline - v for v in self.metrics[layer]]

    def __repr__(self) -> str:
        head = "layer".ljust(14) + "weights".rjust(9) + "".join(f"{s:>8.0%}" for s in self.sparsities)
        lines = [f"SensitivityScan(baseline={self.baseline:.4f}; metric with one layer pruned)", head]
        for name in self.layers:
            lines.append(name.ljust(14) + f"{self.sizes[name]:>9,}"
                         + "".join(f"{v:>8.4f}" for v in self.metrics[name]))
        return "\n".join(lines)


def sensitivity_scan(model: nn.Module, evaluate_fn: Callable[[nn.Module], float], sparsities: Sequence[float], *,
                     layers: Sequence[str] | None = None, include: tuple = PRUNABLE) -> SensitivityScan:
    """Prune each layer alone (magnitude, at each sparsity) and record ``evaluate_fn`` of the result.

    Each trial prunes a fresh copy (:func:`clone_model`), so ``model`` is exactly as it was before.
    Evaluate on the validation split, never on the test split you report.
    """
    func = "sensitivity_scan"
    _check_model(model, func)
    check_callable("evaluate_fn", evaluate_fn, func)
    check_type("sparsities", sparsities, func, (list, tuple), "a non-empty list of floats in [0, 1]")
    if not sparsities:
        raise ValueError("The 'sparsities' parameter of sensitivity_scan must be a non-empty list of floats "
                         "in [0, 1]. Got [] instead.")
    sparsities = tuple(sorted(_check_sparsity(s, func, "sparsities") for s in sparsities))
    _check_include(include, func)
    available = {name: m for name, m in _layers(model, include, func)}
    if layers is None:
        layers = list(available)
    check_type("layers", layers, func, (list, tuple), "a list of layer names or None")
    for name in layers:
        check_choice("layers", name, func, list(available))
    baseline = float(evaluate_fn(clone_model(model)))
    metrics = {}
    for name in layers:
        row = []
        for s in sparsities:
            trial = clone_model(model)
            _unstructured_layer(dict(trial.named_modules())[name], s)
            row.append(float(evaluate_fn(trial)))
        metrics[name] = tuple(row)
    sizes = {name: available[name].weight_orig.numel() if hasattr(available[name], "weight_orig")
             else available[name].weight.numel() for name in layers}
    return SensitivityScan(tuple(layers), sparsities, baseline, metrics, sizes)


def _unstructured_layer(module: nn.Module, sparsity: float) -> None:
    with torch.no_grad():
        w = _effective(module)
        scores = torch.where(w == 0, -1.0, w.abs())
    _apply_mask(module, "weight", _keep_mask(scores, _n_prune(sparsity, w.numel())))


@dataclass(frozen=True)
class PruningPlan:
    """A sparsity per layer (apply it with :func:`apply_plan`)."""

    sparsities: dict  # layer name -> sparsity
    sizes: dict  # layer name -> number of weights
    estimated_drop: float = 0.0  # sum of the single-layer metric drops: a rough guide, not a promise

    @property
    def overall(self) -> float:
        total = sum(self.sizes.values())
        return sum(self.sparsities[n] * self.sizes[n] for n in self.sparsities) / total

    def __repr__(self) -> str:
        lines = [f"PruningPlan(overall={self.overall:.1%}, estimated drop={self.estimated_drop:.4f})"]
        for name, s in self.sparsities.items():
            lines.append(f"  {name:<14s} {self.sizes[name]:>9,} weights  {s:6.1%}")
        return "\n".join(lines)


def adaptive_plan(scan: SensitivityScan, target: float) -> PruningPlan:
    """Per-layer sparsities with overall sparsity ``target`` that lose as little as the scan predicts.

    Greedy: start from nothing pruned and repeatedly take the cheapest move, the one (layer, higher
    scanned sparsity) that loses the least metric per weight removed; the last move stops part-way so
    the overall sparsity is exactly ``target``. A layer's drop is made non-decreasing in sparsity
    (more pruning never helps), and negative drops (noise) count as zero.
    """
    func = "adaptive_plan"
    check_type("scan", scan, func, SensitivityScan, "a SensitivityScan from sensitivity_scan")
    target = _check_sparsity(target, func, "target")
    levels = (0.0,) + tuple(s for s in scan.sparsities if s > 0)
    drop = {}
    for name in scan.layers:
        d = [0.0] + [max(0.0, x) for x, s in zip(scan.drops(name), scan.sparsities, strict=True) if s > 0]
        drop[name] = list(np.maximum.accumulate(d))
    total = sum(scan.sizes.values())
    need = target * total  # weights to remove
    current = dict.fromkeys(scan.layers, 0)  # index into levels
    chosen = dict.fromkeys(scan.layers, 0.0)
    removed, est = 0.0, 0.0
    while removed < need - 1e-9:
        best = None
        for name in scan.layers:
            i, n = current[name], scan.sizes[name]
            for j in range(i + 1, len(levels)):
                gain = n * (levels[j] - levels[i])
                cost = drop[name][j] - drop[name][i]
                key = (cost / gain, -gain)
                if best is None or key < best[0]:
                    best = (key, name, j, gain, cost)
        if best is None:
            raise ValueError(
                f"The 'target' parameter of adaptive_plan must be reachable with the scanned sparsities "
                f"(at most {max(levels):.0%} per layer). Got {target} instead; scan higher sparsities.")
        _, name, j, gain, cost = best
        i = current[name]
        if removed + gain >= need:  # stop part-way: exactly the target
            frac = (need - removed) / gain
            chosen[name] = levels[i] + frac * (levels[j] - levels[i])
            est += frac * cost
            removed = need
            break
        current[name], chosen[name] = j, levels[j]
        removed += gain
        est += cost
    return PruningPlan(dict(chosen), dict(scan.sizes), est)


def apply_plan(model: nn.Module, plan: PruningPlan | Mapping[str, float]) -> nn.Module:
    """Magnitude-prune each layer named in ``plan`` to its sparsity, in place; return the model."""
    func = "apply_plan"
    _check_model(model, func)
    check_type("plan", plan, func, (PruningPlan, Mapping), "a PruningPlan or a dict {layer name: sparsity}")
    sparsities = plan.sparsities if isinstance(plan, PruningPlan) else dict(plan)
    modules = dict(model.named_modules())
    names = [n for n, m in model.named_modules() if isinstance(getattr(m, "weight", None), torch.Tensor)]
    for name, s in sparsities.items():
        check_choice("plan", name, func, names)
        _check_sparsity(s, func, f"plan[{name!r}]")
    for name, s in sparsities.items():
        _unstructured_layer(modules[name], s)
    return model


# ---------------------------------------------------------------------------------------------
# sweeps (the lesson's accuracy-vs-sparsity figure and the widget)

@dataclass(frozen=True)
class SparsitySweep:
    """``metrics[method][i]`` at target ``sparsities[i]``; ``achieved`` is the measured sparsity."""

    sparsities: tuple
    baseline: float
    metrics: dict  # method -> tuple
    achieved: dict  # method -> tuple

    def __repr__(self) -> str:
        lines = [f"SparsitySweep(baseline={self.baseline:.4f})",
                 "method".ljust(20) + "".join(f"{s:>8.0%}" for s in self.sparsities)]
        for method, values in self.metrics.items():
            lines.append(method.ljust(20) + "".join(f"{v:>8.4f}" for v in values))
        return "\n".join(lines)


def sparsity_sweep(model: nn.Module, evaluate_fn: Callable[[nn.Module], float], sparsities: Sequence[float], *,
                   methods: Sequence[str] = METHODS, seed: int = 0) -> SparsitySweep:
    """``evaluate_fn`` of a fresh pruned copy of ``model`` for every method and sparsity (one-shot)."""
    func = "sparsity_sweep"
    _check_model(model, func)
    check_callable("evaluate_fn", evaluate_fn, func)
    check_type("sparsities", sparsities, func, (list, tuple), "a list of floats in [0, 1]")
    sparsities = tuple(_check_sparsity(s, func, "sparsities") for s in sparsities)
    check_type("methods", methods, func, (list, tuple), f"a list of method names from {METHODS}")
    for m in methods:
        check_choice("methods", m, func, METHODS)
    check_int("seed", seed, func, low=0)
    metrics, achieved = {}, {}
    for method in methods:
        values, got = [], []
        for s in sparsities:
            trial = prune_with(clone_model(model), s, method, seed=seed)
            values.append(float(evaluate_fn(trial)))
            got.append(sparsity(trial))
        metrics[method], achieved[method] = tuple(values), tuple(got)
    return SparsitySweep(sparsities, float(evaluate_fn(clone_model(model))), metrics, achieved)


# ---------------------------------------------------------------------------------------------
# physically removing channels

_ZERO_PRESERVING = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.Hardtanh, nn.MaxPool2d,
                    nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten, nn.Dropout,
                    nn.Identity)


def _chain(model: nn.Module, func: str):
    """The model as a chain [(layer, batchnorm or None)], checked to be a plain sequential CNN.

    Between two layers only modules that map a zero channel to a zero channel (ReLU, pooling,
    Flatten, Dropout, ...) may appear, so that a dead channel can be dropped on both sides.
    """
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    chain: list[list] = []
    for name, m in leaves:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if isinstance(m, nn.Conv2d) and m.groups != 1:
                raise ValueError(f"The 'model' parameter of {func} must have ungrouped convolutions. "
                                 f"Got {name} with groups={m.groups} instead.")
            chain.append([m, None])
        elif isinstance(m, _BatchNorm) and chain and chain[-1][1] is None:
            chain[-1][1] = m
        elif isinstance(m, _ZERO_PRESERVING) or not chain:
            if not chain and not isinstance(m, _ZERO_PRESERVING):
                raise ValueError(f"The 'model' parameter of {func} must start with a Conv2d or Linear layer. "
                                 f"Got {name} ({type(m).__name__}) first instead.")
        else:
            raise ValueError(f"The 'model' parameter of {func} must be a sequential CNN whose layers are joined "
                             f"only by BatchNorm, activations that keep 0 at 0, pooling, Flatten or Dropout. "
                             f"Got {name} ({type(m).__name__}) instead.")
    if len(chain) < 2:
        raise ValueError(f"The 'model' parameter of {func} must have at least two Conv2d/Linear layers. "
                         f"Got {len(chain)} instead.")
    return chain


def _dead_channels(layer: nn.Module, bn: _BatchNorm | None) -> torch.Tensor:
    """True for each output channel that always outputs exactly zero."""
    if bn is not None:
        if not bn.affine:
            return torch.zeros(bn.num_features, dtype=torch.bool)
        return (bn.weight == 0) & (bn.bias == 0)
    dead = layer.weight.flatten(1).abs().sum(dim=1) == 0
    if layer.bias is not None:
        dead &= layer.bias == 0
    return dead


@torch.no_grad()
def remove_channels(model: nn.Module, *, example_input: torch.Tensor | None = None) -> nn.Module:
    """A new, physically smaller copy of a structured-pruned sequential CNN (``model`` is not modified).

    Every channel that always outputs zero (after :func:`magnitude_prune` with ``structured=True``)
    is removed: its filter and bias, its BatchNorm entries, and the matching input channels of the
    next layer. The smaller model computes the same outputs with fewer parameters and FLOPs.
    With ``example_input``, that is checked on it (a ValueError if not).
    """
    func = "remove_channels"
    _check_model(model, func)
    if example_input is not None:
        check_type("example_input", example_input, func, torch.Tensor, "a torch.Tensor or None")
    new = remove_pruning(clone_model(model))
    chain = _chain(new, func)
    for (layer, bn), (nxt, _) in zip(chain, chain[1:], strict=False):
        alive = torch.nonzero(~_dead_channels(layer, bn)).flatten()
        n_out = layer.weight.shape[0]
        if len(alive) == 0:
            alive = torch.tensor([0])  # keep one (zero) channel so the shapes stay valid
        if len(alive) == n_out:
            continue
        layer.weight = nn.Parameter(layer.weight[alive].clone())
        if layer.bias is not None:
            layer.bias = nn.Parameter(layer.bias[alive].clone())
        if isinstance(layer, nn.Conv2d):
            layer.out_channels = len(alive)
        else:
            layer.out_features = len(alive)
        if bn is not None:
            if bn.affine:
                bn.weight = nn.Parameter(bn.weight[alive].clone())
                bn.bias = nn.Parameter(bn.bias[alive].clone())
            if bn.track_running_stats:
                bn.running_mean = bn.running_mean[alive].clone()
                bn.running_var = bn.running_var[alive].clone()
            bn.num_features = len(alive)
        # the next layer's inputs: channel c of a conv feeds columns c*k .. c*k+k-1 of a Linear
        # after Flatten (k = the spatial positions left, 1 after global pooling)
        n_in = nxt.weight.shape[1]
        if isinstance(nxt, nn.Conv2d):
            if isinstance(layer, nn.Linear):
                raise ValueError(f"The 'model' parameter of {func} must not feed a Linear layer into a Conv2d.")
            cols = alive
        else:
            if n_in % n_out:
                raise ValueError(f"The 'model' parameter of {func}: a Linear layer with {n_in} inputs follows "
                                 f"a layer with {n_out} channels; cannot match them.")
            k = n_in // n_out
            cols = (alive[:, None] * k + torch.arange(k)).flatten()
        nxt.weight = nn.Parameter(nxt.weight[:, cols].clone())
        if isinstance(nxt, nn.Conv2d):
            nxt.in_channels = len(alive)
        else:
            nxt.in_features = len(cols)
    if example_input is not None:
        model_out = _outputs(model, example_input)
        try:
            new_out = _outputs(new, example_input)
        except RuntimeError as exc:
            problem = f"the smaller model fails: {exc}"
        else:
            if new_out.shape != model_out.shape:
                problem = f"output shape {tuple(new_out.shape)} instead of {tuple(model_out.shape)}"
            elif not torch.allclose(model_out, new_out, rtol=1e-4, atol=1e-5):
                problem = f"max difference {(model_out - new_out).abs().max().item():.3g}"
            else:
                problem = None
        if problem:
            raise ValueError(f"remove_channels changed the outputs on 'example_input' ({problem}): the model's "
                             f"forward is probably not the chain of its layers.")
    return new


def _outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with eval_mode(model):
        return model(x)
