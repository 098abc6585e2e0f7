"""Gradual pruning (Zhu & Gupta, 2017): raise the sparsity in steps along a schedule, fine-tuning between."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from coursekit._validate import check_callable, check_choice, check_float, check_int, check_type
from coursekit.batchnorm import recalibrate_batchnorm
from coursekit.prune.masks import (
    PRUNABLE,
    _check_include,
    _check_model,
    _check_sparsity,
    magnitude_prune,
    sparsity,
)

__all__ = [
    "GradualHistory", "GradualStep", "finetuner", "gradual_prune", "polynomial_schedule",
]


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
