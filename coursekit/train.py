"""THE training loop (``fit``) and ``evaluate``.

Every lesson trains through ``fit``: distillation passes its own ``loss_fn`` and batches that carry
the teacher's logits; pruning passes ``on_step`` hooks. One loop means one place to get right.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from coursekit._validate import check_callable, check_float, check_int, check_type

__all__ = ["EvalResult", "History", "evaluate", "fit", "seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's random generators."""
    import random

    import numpy as np

    check_int("seed", seed, "seed_everything", low=0)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class History:
    """What happened in each epoch of :func:`fit`."""

    train_loss: list[float] = field(default_factory=list)  # mean training loss per epoch
    val_loss: list[float] = field(default_factory=list)  # empty without a val_loader
    val_accuracy: list[float] = field(default_factory=list)  # fractions in [0, 1]
    components: dict[str, list[float]] = field(default_factory=dict)  # e.g. {"hard": [...], "soft": [...]}
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def __repr__(self) -> str:
        parts = [f"epochs={self.epochs}"]
        if self.train_loss:
            parts.append(f"train_loss={self.train_loss[-1]:.4f}")
        if self.val_accuracy:
            parts.append(f"val_accuracy={self.val_accuracy[-1]:.2%}")
        for name, values in self.components.items():
            parts.append(f"{name}={values[-1]:.4f}")
        return f"History({', '.join(parts)})"


@dataclass(frozen=True)
class EvalResult:
    accuracy: float  # fraction of correct predictions, in [0, 1]
    loss: float  # mean cross-entropy
    n: int  # number of examples

    def __repr__(self) -> str:
        return f"EvalResult(accuracy={self.accuracy:.2%}, loss={self.loss:.4f}, n={self.n})"


def _loss_parts(result) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Split a loss_fn result into (total, named components).

    A loss function may return a tensor, or an object with a ``total`` field (a dataclass or a
    NamedTuple) whose other fields are logged per epoch in ``History.components``.
    """
    if isinstance(result, torch.Tensor):
        return result, {}
    if is_dataclass(result):
        values = {f.name: getattr(result, f.name) for f in fields(result)}
    elif hasattr(result, "_asdict"):
        values = result._asdict()
    else:
        raise TypeError(
            "The 'loss_fn' parameter of fit must return a scalar tensor, or a dataclass/NamedTuple "
            f"with a 'total' field. Got {type(result).__name__} instead."
        )
    if "total" not in values:
        raise TypeError(f"The result of 'loss_fn' has no 'total' field (fields: {sorted(values)}).")
    total = values.pop("total")
    return total, {k: v for k, v in values.items() if isinstance(v, torch.Tensor) and v.dim() == 0}


def _default_loss(logits: torch.Tensor, targets: torch.Tensor, *extra) -> torch.Tensor:
    return nn.functional.cross_entropy(logits, targets)


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    *,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    loss_fn: Callable | None = None,
    on_step: Callable[[nn.Module, int], None] | None = None,
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` with Adam for ``epochs`` epochs and return its :class:`History`.

    - Batches are ``(images, targets, *extra)``; ``loss_fn(logits, targets, *extra)`` returns a
      scalar tensor or a result with a ``total`` field (default: cross-entropy).
    - ``on_step(model, step)`` runs after every optimizer step (e.g. to re-apply pruning masks).
    - ``seed`` seeds torch, the training loader's shuffling and its augmentation, so two runs with
      the same seed and the same initial weights are identical.
    """
    func = "fit"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("train_loader", train_loader, func, DataLoader, "a torch.utils.data.DataLoader")
    if val_loader is not None:
        check_type("val_loader", val_loader, func, DataLoader, "a torch.utils.data.DataLoader or None")
    check_int("epochs", epochs, func, low=1)
    check_float("lr", lr, func, low=0.0, closed="neither")
    check_float("weight_decay", weight_decay, func, low=0.0)
    check_callable("loss_fn", loss_fn, func, allow_none=True)
    check_callable("on_step", on_step, func, allow_none=True)
    check_int("seed", seed, func, low=0)
    check_type("progress", progress, func, bool)
    loss_fn = loss_fn or _default_loss

    torch.manual_seed(seed)
    if isinstance(train_loader.generator, torch.Generator):
        train_loader.generator.manual_seed(seed)
    augment_generator = getattr(train_loader.collate_fn, "generator", None)
    if isinstance(augment_generator, torch.Generator):  # make_loaders(augment=True)
        augment_generator.manual_seed(seed + 1)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    history = History()
    step = 0
    bar = _progress(range(epochs), progress, desc=f"fit {type(model).__name__}")
    for _ in bar:
        start = time.perf_counter()
        model.train()
        sums: dict[str, float] = {}
        count = 0
        for x, y, *extra in train_loader:
            total, parts = _loss_parts(loss_fn(model(x), y, *extra))
            if not torch.isfinite(total):
                raise FloatingPointError(
                    f"The training loss became {total.item()} at step {step}; try a smaller 'lr' "
                    f"(got {lr})."
                )
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            step += 1
            if on_step is not None:
                on_step(model, step)
            n = len(y)
            count += n
            for name, value in {"total": total, **parts}.items():
                sums[name] = sums.get(name, 0.0) + value.item() * n
        history.train_loss.append(sums["total"] / count)
        for name, value in sums.items():
            if name != "total":
                history.components.setdefault(name, []).append(value / count)
        if val_loader is not None:
            result = evaluate(model, val_loader)
            history.val_loss.append(result.loss)
            history.val_accuracy.append(result.accuracy)
        history.epoch_seconds.append(time.perf_counter() - start)
        if progress:
            postfix = {"loss": f"{history.train_loss[-1]:.3f}"}
            if history.val_accuracy:
                postfix["val_acc"] = f"{history.val_accuracy[-1]:.1%}"
            bar.set_postfix(postfix)
    model.eval()
    return history


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return _Silent(iterable)
    from tqdm.auto import tqdm  # notebook bar in Jupyter, text bar in a terminal

    return tqdm(iterable, desc=desc, leave=True)


class _Silent:
    def __init__(self, iterable):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def set_postfix(self, *args, **kwargs):
        pass


@torch.inference_mode()
def evaluate(model: nn.Module, loader: DataLoader) -> EvalResult:
    """Accuracy and mean cross-entropy of ``model`` on ``loader`` (eval mode; mode restored)."""
    check_type("model", model, "evaluate", nn.Module, "a torch.nn.Module")
    check_type("loader", loader, "evaluate", DataLoader, "a torch.utils.data.DataLoader")
    was_training = model.training
    model.eval()
    correct, loss_sum, n = 0, 0.0, 0
    try:
        for x, y, *_ in loader:
            logits = model(x)
            loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(dim=1) == y).sum().item()
            n += len(y)
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("The 'loader' parameter of evaluate must yield at least one example. Got an empty loader.")
    return EvalResult(accuracy=correct / n, loss=loss_sum / n, n=n)


