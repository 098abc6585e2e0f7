"""Masks: choose which weights to zero (``torch.nn.utils.prune`` underneath), measure sparsity,
copy a pruned model, and make pruning permanent.

Each pruned tensor ``w`` becomes ``w_orig`` (a parameter) times ``w_mask`` (a buffer), recomputed
by a forward pre-hook before every call. Helpers whose name starts with ``_`` are shared by the
other modules of this package only.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils import prune

from coursekit._validate import _fail, check_choice, check_float, check_int, check_type

__all__ = [
    "CALIBRATION_BATCHES", "effective_weight", "LayerSparsity", "METHODS", "PRUNABLE", "SparsityReport", "clone_model", "magnitude_prune", "prunable_layers", "prune_with", "random_prune", "remove_pruning", "sparsity", "sparsity_report",
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


def effective_weight(module: nn.Module, name: str = "weight") -> torch.Tensor:
    """The tensor the module computes with: ``orig * mask`` when pruned (fresh, not the cached copy)."""
    check_type("module", module, "effective_weight", nn.Module, "a torch.nn.Module")
    check_type("name", name, "effective_weight", str)
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
        scores = [torch.where(effective_weight(m) == 0, -1.0, score_fn(m)) for _, m in layers]
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
            w = effective_weight(m)
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
    return _unstructured(model, sparsity, scope, include, func, lambda m: effective_weight(m).abs())


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
                         lambda m: torch.rand(effective_weight(m).shape, generator=gen))


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
        zeros = sum(int((effective_weight(m) == 0).sum()) for _, m in layers)
    return zeros / sum(effective_weight(m).numel() for _, m in layers)


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
            w = effective_weight(m)
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
