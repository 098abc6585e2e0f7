"""Which layers can lose how much: a sensitivity scan per layer, adaptive per-layer plans, and sweeps
of accuracy against sparsity (the lesson's figure and the widget)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from coursekit._validate import check_callable, check_choice, check_int, check_type
from coursekit.prune.masks import (
    METHODS,
    PRUNABLE,
    _apply_mask,
    _check_include,
    _check_model,
    _check_sparsity,
    _keep_mask,
    _layers,
    _n_prune,
    clone_model,
    effective_weight,
    prune_with,
    sparsity,
)

__all__ = [
    "PruningPlan", "SensitivityScan", "SparsitySweep", "adaptive_plan", "apply_plan", "sensitivity_scan", "sparsity_sweep",
]


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
        w = effective_weight(module)
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
