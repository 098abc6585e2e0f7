"""Knowledge distillation (Hinton, Vinyals & Dean, 2015): train a small student on a teacher's
softened outputs.

Layers of the API, smallest first:

- ``soft_targets(logits, T)``: softmax(logits / T), the "softened" distribution;
- ``kd_loss(student_logits, teacher_logits, targets)``: α·hard + (1−α)·T²·KL(teacher ‖ student),
  returned as a ``KDLoss`` (``.total``, ``.hard``, ``.soft``; unpacks as a 3-tuple);
- ``distill(student, teacher, loader, ...)``: trains the student through ``coursekit.train.fit``
  with the teacher frozen, computing the teacher's logits once when the data is not augmented.

Helpers for the lesson's experiments: ``add_class_bias`` / ``best_class_bias`` (Hinton et al.'s
omitted-class experiment). Lesson 01 also imports from here, for convenience, helpers whose home is
elsewhere: ``split_labels`` / ``without_class`` (coursekit.data), ``class_accuracy``
(coursekit.metrics), ``MLPStudent`` (coursekit.models), ``compare_seeds`` (coursekit.stats).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset, default_collate, default_convert

from coursekit._validate import _fail, check_float, check_int, check_type
from coursekit.data import LabelSplit, is_augmented, split_labels, without_class
from coursekit.metrics import class_accuracy
from coursekit.models import MLPStudent
from coursekit.stats import SeedComparison, compare_seeds
from coursekit.train import History, eval_mode, fit, model_device, predict

__all__ = [
    "DistillationLoss", "KDLoss", "LabelSplit", "MLPStudent", "SeedComparison", "add_class_bias",
    "best_class_bias", "class_accuracy", "compare_seeds", "compute_logits", "distill", "kd_loss",
    "soft_targets", "split_labels", "without_class",
]


# --------------------------------------------------------------------------------------------
# The loss
# --------------------------------------------------------------------------------------------

def _check_temperature(temperature, func: str) -> float:
    return check_float("temperature", temperature, func, low=0, closed="neither")


def _check_alpha(alpha, func: str) -> float:
    return check_float("alpha", alpha, func, low=0, high=1)


def _check_logits(name: str, logits, func: str) -> torch.Tensor:
    check_type(name, logits, func, torch.Tensor, "a torch.Tensor of logits shaped (batch, classes)")
    if logits.dim() != 2 or logits.shape[1] < 2 or not logits.is_floating_point():
        _fail(name, func, "a float tensor shaped (batch, classes) with at least 2 classes", logits,
              got=f"a {logits.dtype} tensor of shape {tuple(logits.shape)}")
    return logits


def soft_targets(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """softmax(logits / T) over the last (class) dimension.

    T = 1 is the ordinary softmax; T > 1 flattens the distribution so that the small probabilities
    of the wrong classes (the "dark knowledge") become visible; T → ∞ tends to uniform.
    """
    func = "soft_targets"
    check_type("logits", logits, func, torch.Tensor, "a torch.Tensor of logits")
    if logits.dim() < 1 or not logits.is_floating_point():
        _fail("logits", func, "a float tensor with a class dimension", logits,
              got=f"a {logits.dtype} tensor of shape {tuple(logits.shape)}")
    temperature = _check_temperature(temperature, func)
    return torch.softmax(logits / temperature, dim=-1)


class KDLoss(NamedTuple):
    """The three parts of the distillation loss (scalar tensors). ``total`` is what is minimised."""

    total: torch.Tensor  # alpha * hard + (1 - alpha) * soft
    hard: torch.Tensor  # cross-entropy with the true labels
    soft: torch.Tensor  # T² · KL(teacher ‖ student) at temperature T, averaged over the batch

    def __repr__(self) -> str:
        return f"KDLoss(total={self.total.item():.4f}, hard={self.hard.item():.4f}, soft={self.soft.item():.4f})"


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    temperature: float = 4.0,
    alpha: float = 0.3,
    labelled: torch.Tensor | None = None,
) -> KDLoss:
    """Hinton et al.'s distillation loss: ``alpha * hard + (1 - alpha) * soft``.

    - ``hard`` = cross-entropy(student_logits, targets) — at temperature 1;
    - ``soft`` = T² · KL(softmax(teacher/T) ‖ softmax(student/T)), summed over classes and averaged
      over the batch (``reduction="batchmean"``). The KL points from the teacher (the target
      distribution) to the student. Its gradient with respect to the student's logits is
      (softmax(student/T) − softmax(teacher/T)) / T, which shrinks like 1/T² once T is large;
      the T² factor keeps the soft term's gradients on the same scale whatever T is.

    ``labelled`` (optional, a bool tensor shaped (batch,)) restricts the hard loss to the examples
    whose label is known; the soft loss still uses every example. Targets of unlabelled examples are
    ignored (``split_labels`` sets them to -1). A batch without any labelled example has hard = 0.
    """
    func = "kd_loss"
    _check_logits("student_logits", student_logits, func)
    _check_logits("teacher_logits", teacher_logits, func)
    if teacher_logits.shape != student_logits.shape:
        _fail("teacher_logits", func, f"a tensor of the same shape as student_logits {tuple(student_logits.shape)}",
              teacher_logits, got=f"shape {tuple(teacher_logits.shape)}")
    temperature = _check_temperature(temperature, func)
    alpha = _check_alpha(alpha, func)
    batch, classes = student_logits.shape
    check_type("targets", targets, func, torch.Tensor, "a torch.Tensor of class indices")
    if targets.shape != (batch,) or targets.is_floating_point() or targets.dtype == torch.bool:
        _fail("targets", func, f"an integer tensor of shape ({batch},)", targets,
              got=f"a {targets.dtype} tensor of shape {tuple(targets.shape)}")
    if labelled is not None:
        check_type("labelled", labelled, func, torch.Tensor, "a bool torch.Tensor or None")
        if labelled.dtype != torch.bool or labelled.shape != (batch,):
            _fail("labelled", func, f"a bool tensor of shape ({batch},) or None", labelled,
                  got=f"a {labelled.dtype} tensor of shape {tuple(labelled.shape)}")
    known = targets if labelled is None else targets[labelled]
    if known.numel() and (known.min() < 0 or known.max() >= classes):
        bad = known[(known < 0) | (known >= classes)][0].item()
        _fail("targets", func, f"class indices in the range [0, {classes})", bad)

    if labelled is None:
        hard = F.cross_entropy(student_logits, targets)
    elif labelled.any():
        hard = F.cross_entropy(student_logits[labelled], targets[labelled])
    else:  # no label in this batch: a zero that keeps the graph (and the dtype) of the student
        hard = student_logits.sum() * 0.0
    log_q = F.log_softmax(student_logits / temperature, dim=1)  # student, log-probabilities (B, C)
    log_p = F.log_softmax(teacher_logits / temperature, dim=1)  # teacher, log-probabilities (B, C)
    # kl_div(input, target) computes KL(target ‖ input): input = student log-probs, target = teacher
    soft = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True) * temperature**2
    return KDLoss(alpha * hard + (1 - alpha) * soft, hard, soft)


class DistillationLoss(nn.Module):
    """``kd_loss`` as a module: ``DistillationLoss(T, alpha)(student_logits, teacher_logits, targets)``."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.3):
        super().__init__()
        self.temperature = _check_temperature(temperature, "DistillationLoss")
        self.alpha = _check_alpha(alpha, "DistillationLoss")

    def forward(self, student_logits, teacher_logits, targets, labelled=None) -> KDLoss:
        return kd_loss(student_logits, teacher_logits, targets, temperature=self.temperature,
                       alpha=self.alpha, labelled=labelled)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

def compute_logits(model: nn.Module, data: torch.Tensor | Dataset | DataLoader, *,
                   batch_size: int = 256) -> torch.Tensor:
    """``model``'s logits for every example of ``data`` in order (``coursekit.train.predict``)."""
    func = "compute_logits"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("data", data, func, (torch.Tensor, Dataset, DataLoader), "a Tensor, a Dataset or a DataLoader")
    check_int("batch_size", batch_size, func, low=1)
    return predict(model, data, batch_size=batch_size)


class _TeacherCollate:
    """Collate a batch with the loader's own collate function, then append the teacher's logits."""

    def __init__(self, collate, teacher: nn.Module):
        self.collate = collate
        self.teacher = teacher

    def __call__(self, items):
        x, y, *extra = self.collate(items)
        with torch.no_grad():  # the teacher is in eval mode (distill sees to it); logits (B, classes)
            logits = self.teacher(x.to(model_device(self.teacher))).to(x.device)
        return (x, y, logits, *extra)


def _like(train_loader: DataLoader, dataset: Dataset, collate, *, whole_batches: bool = False) -> DataLoader:
    """A loader over ``dataset`` that draws exactly the index batches ``train_loader`` would draw.

    It shares ``train_loader``'s (batch) sampler and generator, so ``fit(seed=...)`` reseeds both and
    batch k holds the same example indices as batch k of ``train_loader``; ``dataset`` must be
    indexed like ``train_loader.dataset``. ``whole_batches=True`` fetches each batch with one
    indexing operation, ``dataset[indices]`` (a TensorDataset allows it), instead of one per example.
    """
    generator = train_loader.generator
    if whole_batches or train_loader.batch_sampler is None:
        sampler = train_loader.batch_sampler or train_loader.sampler  # yields lists of indices
        return DataLoader(dataset, batch_size=None, sampler=sampler, collate_fn=collate, generator=generator)
    return DataLoader(dataset, batch_sampler=train_loader.batch_sampler, collate_fn=collate, generator=generator)


def _all_examples(train_loader: DataLoader) -> list[torch.Tensor]:
    """Every example of the loader's dataset, in dataset order, as stacked tensors (x, y, *extra)."""
    dataset, collate = train_loader.dataset, train_loader.collate_fn
    if isinstance(dataset, TensorDataset) and collate in (default_collate, default_convert):
        return list(dataset.tensors)
    if train_loader.batch_sampler is None:  # no automatic batching: the collate function sees batches
        collate = default_collate
    batches = list(DataLoader(dataset, batch_size=512, shuffle=False, collate_fn=collate))
    return [torch.cat(column) for column in zip(*batches)]


def _cached_loader(teacher: nn.Module, train_loader: DataLoader, logits: torch.Tensor | None) -> DataLoader:
    """The teacher's logits once per example; batches become (x, y, teacher_logits, *extra)."""
    x, y, *extra = _all_examples(train_loader)  # every example, in dataset order
    if logits is None:
        logits = compute_logits(teacher, x)  # (N, classes), in dataset order
    # the cached logits sit in the same row as their image: shuffling moves them together
    return _like(train_loader, TensorDataset(x, y, logits, *extra), None, whole_batches=True)


def distill(
    student: nn.Module,
    teacher: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    *,
    epochs: int,
    lr: float = 1e-3,
    temperature: float = 4.0,
    alpha: float = 0.3,
    seed: int = 0,
    progress: bool = True,
    cache_teacher: bool | None = None,
    teacher_logits: torch.Tensor | None = None,
) -> History:
    """Train ``student`` on ``alpha * hard + (1 - alpha) * soft`` (see :func:`kd_loss`) with ``fit``.

    - The teacher is frozen and in eval mode while training (dropout off, BatchNorm statistics
      fixed); its mode and its parameters' ``requires_grad`` are restored afterwards.
    - ``cache_teacher=None`` (default) computes the teacher's logits once per example and reuses
      them every epoch when the training data is not augmented (``coursekit.data.is_augmented``),
      and per batch when it is. ``True``/``False`` force one way (``True`` with augmented data is an
      error: the cached logits would belong to other images).
    - ``teacher_logits`` (optional): the teacher's logits for ``train_loader.dataset``, in dataset
      order (e.g. from :func:`compute_logits`), to reuse one computation across several runs. They
      travel with their examples through the shuffling, so they cannot be misaligned.
    - Batches ``(x, y)`` or ``(x, y, labelled)``, where ``labelled`` is a bool mask from
      :func:`split_labels`: the hard loss then uses only the labelled examples.
    - Returns fit's ``History``: ``train_loss`` is the total loss per epoch, ``components["hard"]``
      and ``components["soft"]`` its parts, ``val_accuracy`` the student's (with a ``val_loader``).
    """
    func = "distill"
    check_type("student", student, func, nn.Module, "a torch.nn.Module")
    check_type("teacher", teacher, func, nn.Module, "a torch.nn.Module")
    if student is teacher:
        raise ValueError("The 'teacher' parameter of distill must be a different model from 'student'. "
                         "Got the same object for both.")
    check_type("train_loader", train_loader, func, DataLoader, "a torch.utils.data.DataLoader")
    if val_loader is not None:
        check_type("val_loader", val_loader, func, DataLoader, "a torch.utils.data.DataLoader or None")
    check_int("epochs", epochs, func, low=1)
    check_float("lr", lr, func, low=0, closed="neither")
    temperature = _check_temperature(temperature, func)
    alpha = _check_alpha(alpha, func)
    check_int("seed", seed, func, low=0)
    check_type("progress", progress, func, bool)
    if cache_teacher is not None:
        check_type("cache_teacher", cache_teacher, func, bool, "a bool or None")
    augmented = is_augmented(train_loader)
    if cache_teacher and augmented:
        raise ValueError("The 'cache_teacher' parameter of distill must be False or None for augmented "
                         "training data (the images change every epoch, so cached logits would be "
                         "wrong). Got True instead.")
    use_cache = (not augmented) if cache_teacher is None else cache_teacher
    if teacher_logits is not None:
        n = len(train_loader.dataset)
        check_type("teacher_logits", teacher_logits, func, torch.Tensor, "a torch.Tensor or None")
        if teacher_logits.dim() != 2 or len(teacher_logits) != n or not teacher_logits.is_floating_point():
            _fail("teacher_logits", func, f"a float tensor shaped ({n}, classes): one row per training example",
                  teacher_logits, got=f"a {teacher_logits.dtype} tensor of shape {tuple(teacher_logits.shape)}")
        if not use_cache:
            raise ValueError("The 'teacher_logits' parameter of distill must be None when the teacher runs on "
                             "every batch (augmented data or cache_teacher=False). Got a tensor instead.")
        teacher_logits = teacher_logits.detach()

    def loss_fn(student_logits, targets, batch_teacher_logits, *extra):
        if len(extra) > 1:
            raise ValueError("distill's batches must be (x, y) or (x, y, labelled). Got "
                             f"{len(extra) + 2} tensors per batch instead.")
        return kd_loss(student_logits, batch_teacher_logits, targets, temperature=temperature, alpha=alpha,
                       labelled=extra[0] if extra else None)

    grad_flags = [p.requires_grad for p in teacher.parameters()]
    try:
        with eval_mode(teacher):
            for p in teacher.parameters():
                p.requires_grad_(False)
            if use_cache:
                loader = _cached_loader(teacher, train_loader, teacher_logits)
            else:
                loader = _like(train_loader, train_loader.dataset,
                               _TeacherCollate(train_loader.collate_fn, teacher))
            return fit(student, loader, val_loader, epochs=epochs, lr=lr, loss_fn=loss_fn, seed=seed,
                       progress=progress)
    finally:
        for p, flag in zip(teacher.parameters(), grad_flags):
            p.requires_grad_(flag)


# --------------------------------------------------------------------------------------------
# Experiments: an omitted class (the few-label split, MLPStudent, compare_seeds and class_accuracy
# live in data, models, stats and metrics; they are re-exported here for lesson 01)
# --------------------------------------------------------------------------------------------

def _check_loader(loader, func: str) -> DataLoader:
    return check_type("loader", loader, func, DataLoader, "a torch.utils.data.DataLoader")


def _output_layer(model: nn.Module) -> nn.Linear:
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers or layers[-1].bias is None:
        raise TypeError(f"The 'model' parameter must end in an nn.Linear layer with a bias. "
                        f"Got {type(model).__name__} instead.")
    return layers[-1]


@torch.no_grad()
def add_class_bias(model: nn.Module, label: int, amount: float) -> nn.Module:
    """Add ``amount`` to the output bias of class ``label`` (in place; returns ``model``)."""
    func = "add_class_bias"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    layer = _output_layer(model)
    check_int("label", label, func, low=0, high=layer.out_features - 1)
    amount = check_float("amount", amount, func)
    layer.bias[label] += amount
    return model


@torch.no_grad()
def best_class_bias(model: nn.Module, loader: DataLoader, label: int,
                    amounts: Sequence[float]) -> tuple[float, float]:
    """The bias shift for class ``label`` (one of ``amounts``) that maximises accuracy on ``loader``.

    Returns ``(amount, accuracy)``; ``model`` is unchanged. Choose it on a validation split, never on
    the test set. Ties go to the smallest shift.
    """
    func = "best_class_bias"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    _check_loader(loader, func)
    layer = _output_layer(model)
    check_int("label", label, func, low=0, high=layer.out_features - 1)
    amounts = [check_float("amounts", a, func) for a in amounts]
    if not amounts:
        raise ValueError("The 'amounts' parameter of best_class_bias must hold at least one value. Got [] instead.")
    logits = compute_logits(model, loader)
    labels = torch.cat([batch[1] for batch in DataLoader(loader.dataset, batch_size=512)])
    best = None
    for amount in sorted(amounts, key=abs):
        shifted = logits.clone()
        shifted[:, label] += amount  # the same as raising the output bias: logits are affine in it
        acc = (shifted.argmax(1) == labels).float().mean().item()
        if best is None or acc > best[1]:
            best = (amount, acc)
    return best
