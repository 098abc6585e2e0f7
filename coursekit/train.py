"""THE training loop (``fit``), ``evaluate``, ``predict`` and ``eval_mode``.

Every lesson trains through ``fit``: distillation passes its own ``loss_fn`` and batches that carry
the teacher's logits; later lessons pass ``device``, ``accumulate_steps``, ``autocast`` and their own
``optimizer``. One loop means one place to get right. ``evaluate`` and ``predict`` take a torch
model OR any callable ``batch -> logits`` (e.g. ``coursekit.export.OnnxModel``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from coursekit._validate import _fail, check_callable, check_choice, check_float, check_int, check_type

__all__ = ["EvalResult", "History", "eval_mode", "evaluate", "fit", "model_device", "predict",
           "seed_everything"]

AUTOCAST_DTYPES = (torch.bfloat16, torch.float16)


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


# --------------------------------------------------------------------------------------------
# Devices and modes
# --------------------------------------------------------------------------------------------

def model_device(model) -> torch.device | None:
    """The device of ``model``'s first parameter or buffer; CPU for a module without any; None for a
    callable that is not an ``nn.Module`` (its inputs are left where they are)."""
    if not isinstance(model, nn.Module):
        return None
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def _resolve_device(device, model, func: str) -> torch.device | None:
    if device is None:
        return model_device(model)
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        _fail("device", func, "None, a torch.device or a device string such as 'cpu' or 'cuda'", device)


def _to(batch, device: torch.device | None):
    if device is None:
        return batch
    return [t.to(device, non_blocking=True) if isinstance(t, torch.Tensor) else t for t in batch]


@contextlib.contextmanager
def eval_mode(model) -> Iterator:
    """``with eval_mode(model):`` runs the block in eval mode and restores the model's mode after.

    Works for an ``nn.Module`` and for any object with ``training``/``eval()``/``train(mode)`` (such
    as ``OnnxModel``); for a plain function it does nothing.
    """
    has_mode = hasattr(model, "training") and callable(getattr(model, "eval", None)) \
        and callable(getattr(model, "train", None))
    if not has_mode:
        yield model
        return
    was_training = bool(model.training)
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _check_model(model, func: str):
    return check_callable("model", model, func) if not isinstance(model, nn.Module) else model


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

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
    return nn.functional.cross_entropy(logits.float(), targets)


def _make_optimizer(optimizer, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    if optimizer is None:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    made = optimizer(params)
    if not isinstance(made, torch.optim.Optimizer):
        _fail("optimizer", "fit", "a callable params -> torch.optim.Optimizer (or None for Adam)", optimizer,
              TypeError, got=f"a callable that returned {type(made).__name__}")
    return made


def _seed_loader(train_loader: DataLoader, seed: int) -> None:
    torch.manual_seed(seed)
    if isinstance(train_loader.generator, torch.Generator):
        train_loader.generator.manual_seed(seed)
    augment_generator = getattr(train_loader.collate_fn, "generator", None)
    if isinstance(augment_generator, torch.Generator):  # make_loaders(augment=True)
        augment_generator.manual_seed(seed + 1)


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    *,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    loss_fn: Callable | None = None,
    optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    accumulate_steps: int = 1,
    device: torch.device | str | None = None,
    autocast: torch.dtype | None = None,
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    - Batches are ``(images, targets, *extra)``; ``loss_fn(logits, targets, *extra)`` returns a
      scalar tensor or a result with a ``total`` field (default: cross-entropy).
    - ``optimizer``: a callable ``params -> torch.optim.Optimizer``, e.g.
      ``lambda p: torch.optim.SGD(p, lr=0.1)``; default ``Adam(params, lr=lr, weight_decay=weight_decay)``
      (``lr`` and ``weight_decay`` are used only by that default).
    - ``device``: where the model and batches run (default: the model's device; each batch is moved
      there). The model itself is not moved: put it on the device first.
    - ``accumulate_steps=k``: the optimizer steps once every k batches, with the gradient of the MEAN
      of those k batch losses, so k equal micro-batches of size b give the gradient of one batch of
      size k·b (exactly, for a model without BatchNorm or dropout). When the number of batches is not
      a multiple of k, the final incomplete group of r < k batches still steps, with the mean of its
      r losses (each of its batches weighs 1/r, not 1/k).
    - ``autocast``: None (full precision), ``torch.bfloat16`` or ``torch.float16`` (mixed precision
      via ``torch.autocast``; float16 on CUDA uses a ``torch.amp.GradScaler``).
    - ``seed`` seeds torch, the training loader's shuffling and its augmentation, so two runs with
      the same seed and the same initial weights are identical.
    - The model is left in eval mode.
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
    check_callable("optimizer", optimizer, func, allow_none=True)
    check_int("accumulate_steps", accumulate_steps, func, low=1)
    if autocast is not None:
        check_choice("autocast", autocast, func, [None, *AUTOCAST_DTYPES])
    check_int("seed", seed, func, low=0)
    check_type("progress", progress, func, bool)
    device = _resolve_device(device, model, func)
    loss_fn = loss_fn or _default_loss

    _seed_loader(train_loader, seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(optimizer, params, lr, weight_decay)
    scaler = None
    if autocast == torch.float16 and device.type == "cuda":
        scaler = torch.amp.GradScaler("cuda")
    history = History()
    step = 0  # batches seen
    bar = _progress(range(epochs), progress, desc=f"fit {type(model).__name__}")
    for _ in bar:
        start = time.perf_counter()
        model.train()
        sums: dict[str, float] = {}
        count = 0
        pending = 0  # batches whose gradient waits for the next optimizer step
        opt.zero_grad(set_to_none=True)
        for batch in train_loader:
            x, y, *extra = _to(batch, device)
            with _autocast(device, autocast):
                total, parts = _loss_parts(loss_fn(model(x), y, *extra))
            if not torch.isfinite(total):
                raise FloatingPointError(
                    f"The training loss became {total.item()} at step {step}; try a smaller 'lr' "
                    f"(got {lr})."
                )
            scaled = total / accumulate_steps
            (scaler.scale(scaled) if scaler is not None else scaled).backward()
            pending += 1
            step += 1
            if pending == accumulate_steps:
                _step(opt, scaler, params, pending, accumulate_steps)
                pending = 0
            n = len(y)
            count += n
            for name, value in {"total": total, **parts}.items():
                sums[name] = sums.get(name, 0.0) + value.item() * n
        if pending:  # the final incomplete group: the mean of its own `pending` losses
            _step(opt, scaler, params, pending, accumulate_steps)
        history.train_loss.append(sums["total"] / count)
        for name, value in sums.items():
            if name != "total":
                history.components.setdefault(name, []).append(value / count)
        if val_loader is not None:
            result = evaluate(model, val_loader, device=device)
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


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _step(opt, scaler, params, pending: int, accumulate_steps: int) -> None:
    if pending != accumulate_steps:  # gradients hold sum/k; make them the mean over `pending` batches
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(accumulate_steps / pending)
    if scaler is not None:
        scaler.step(opt)
        scaler.update()
    else:
        opt.step()
    opt.zero_grad(set_to_none=True)


def _progress(iterable, enabled: bool, desc: str):
    from tqdm.auto import tqdm  # notebook bar in Jupyter, text bar in a terminal

    return tqdm(iterable, desc=desc, leave=True, disable=not enabled)


# --------------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def evaluate(model, loader: DataLoader, *, device: torch.device | str | None = None) -> EvalResult:
    """Accuracy and mean cross-entropy of ``model`` on ``loader`` (eval mode; mode restored).

    ``model`` is an ``nn.Module`` or any callable ``batch -> logits``; batches are moved to
    ``device`` (default: the module's device; left as they are for other callables).
    """
    func = "evaluate"
    _check_model(model, func)
    check_type("loader", loader, func, DataLoader, "a torch.utils.data.DataLoader")
    device = _resolve_device(device, model, func)
    correct, loss_sum, n = 0, 0.0, 0
    with eval_mode(model):
        for batch in loader:
            x, y, *_ = _to(batch, device)
            logits = model(x).float()
            y = y.to(logits.device)
            loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(dim=1) == y).sum().item()
            n += len(y)
    if n == 0:
        raise ValueError("The 'loader' parameter of evaluate must yield at least one example. Got an empty loader.")
    return EvalResult(accuracy=correct / n, loss=loss_sum / n, n=n)


@torch.no_grad()
def predict(model, data: torch.Tensor | Dataset | DataLoader, *, batch_size: int = 256,
            device: torch.device | str | None = None) -> torch.Tensor:
    """``model``'s logits for every example of ``data``, in order, in eval mode (mode restored).

    - ``model``: an ``nn.Module`` or any callable ``batch -> logits`` (e.g. ``OnnxModel``).
    - ``data``: a batch of inputs (a tensor), a dataset of ``(image, label, ...)`` items, or a
      DataLoader (its dataset is used, in order, never shuffled, with the loader's collate function).
    - Batches of ``batch_size`` run on ``device`` (default: the module's device). The logits come
      back on ``data``'s device for a tensor, on the CPU for a dataset or loader: shape (N, classes).
    """
    func = "predict"
    _check_model(model, func)
    check_type("data", data, func, (torch.Tensor, Dataset, DataLoader), "a Tensor, a Dataset or a DataLoader")
    check_int("batch_size", batch_size, func, low=1)
    device = _resolve_device(device, model, func)
    out_device = data.device if isinstance(data, torch.Tensor) else torch.device("cpu")
    collate = None
    if isinstance(data, torch.Tensor):
        data = TensorDataset(data)
    elif isinstance(data, DataLoader):
        # without automatic batching (batch_size=None) the loader's collate_fn expects whole batches
        data, collate = data.dataset, (data.collate_fn if data.batch_sampler is not None else None)
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, collate_fn=collate)
    with eval_mode(model):
        outputs = [model(_to(batch, device)[0]).to(out_device) for batch in loader]
    if not outputs:
        raise ValueError(f"The 'data' parameter of {func} must hold at least one example. Got an empty one.")
    return torch.cat(outputs)
