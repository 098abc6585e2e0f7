"""Lesson 04: where training memory goes, and how to get some of it back.

Layers of API, smallest first:

- ``activation_bytes(model, x)`` — bytes of the tensors one training-mode forward pass saves for the
  backward pass, found with ``torch.autograd.graph.saved_tensors_hooks`` (each storage counted once;
  parameters that autograd keeps are reported apart from activations);
- ``estimate_training_memory(model, optimizer, activations=...)`` — parameters + gradients + optimizer
  state + activations, from arithmetic; ``measure_training_memory`` counts the real tensors after one
  step, to hold the estimate against;
- ``checkpointed(model, segments)`` — a copy of a course CNN whose ``features`` run under activation
  checkpointing (same outputs, same gradients, fewer saved bytes, more compute);
- ``peak_cuda_bytes(fn)`` — peak CUDA memory of a call, ``None`` without a GPU;
- ``FLOAT_FORMATS`` and ``fp16_underflow(values, scale)`` — fp32/fp16/bf16 bit layouts and which
  values a loss scale saves from flushing to zero in fp16.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from coursekit._validate import check_choice, check_float, check_int, check_type

__all__ = [
    "FLOAT_FORMATS", "OPTIMIZER_COPIES", "CheckpointedSequential", "FloatFormat", "SavedBytes",
    "TrainingMemory", "activation_bytes", "checkpointed", "estimate_training_memory", "fp16_underflow",
    "measure_training_memory", "optimizer_kind", "peak_cuda_bytes",
]

MB = 1e6


# --- what one forward pass keeps for backward -------------------------------------------------

@dataclass(frozen=True)
class SavedBytes:
    """What autograd kept for the backward pass of one forward call."""

    activations: int  # bytes of distinct storages that are not parameters (inputs, intermediates, masks)
    parameters: int  # bytes of parameters autograd also holds on to (they exist anyway: not extra memory)
    tensors: int  # number of pack calls (one tensor may be saved by several operations)
    storages: int  # number of distinct storages behind them

    @property
    def total(self) -> int:
        return self.activations + self.parameters

    def __repr__(self) -> str:
        return (f"SavedBytes(activations={self.activations / MB:.2f} MB, parameters={self.parameters / MB:.2f} MB, "
                f"tensors={self.tensors}, storages={self.storages})")


def _storage_key(t: torch.Tensor) -> tuple:
    storage = t.untyped_storage()
    return (t.device.type, storage.data_ptr(), storage.nbytes())


def activation_bytes(model: nn.Module, x: torch.Tensor) -> SavedBytes:
    """Bytes saved for backward by one training-mode forward pass of ``model`` on ``x``.

    Every tensor autograd packs is recorded by storage, so a tensor saved by two operations (or a view
    of it) counts once. The model is put in train mode for the call; its mode and its buffers
    (BatchNorm's running statistics) are restored afterwards, so measuring changes nothing.
    """
    func = "activation_bytes"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("x", x, func, torch.Tensor, "a torch.Tensor (a batch of inputs)")
    param_keys = {_storage_key(p) for p in model.parameters()}
    seen: dict[tuple, int] = {}
    count = 0

    def pack(t: torch.Tensor):
        nonlocal count
        count += 1
        seen[_storage_key(t)] = t.untyped_storage().nbytes()
        return t

    was_training = model.training
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    model.train()
    try:
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(x)
    finally:
        model.train(was_training)
        with torch.no_grad():
            for b, old in buffers:
                b.copy_(old)
    params = sum(n for k, n in seen.items() if k in param_keys)
    acts = sum(n for k, n in seen.items() if k not in param_keys)
    return SavedBytes(activations=acts, parameters=params, tensors=count, storages=len(seen))


# --- the training-memory budget ----------------------------------------------------------------

OPTIMIZER_COPIES = {"adam": 2, "adamw": 2, "sgd_momentum": 1, "sgd": 0}  # extra tensors per parameter


def optimizer_kind(optimizer: torch.optim.Optimizer) -> str:
    """The key of ``OPTIMIZER_COPIES`` that describes a torch optimizer instance."""
    check_type("optimizer", optimizer, "optimizer_kind", torch.optim.Optimizer, "a torch.optim.Optimizer")
    if isinstance(optimizer, torch.optim.AdamW):
        return "adamw"
    if isinstance(optimizer, torch.optim.Adam):
        return "adam"
    if isinstance(optimizer, torch.optim.SGD):
        return "sgd_momentum" if any(g.get("momentum", 0) for g in optimizer.param_groups) else "sgd"
    raise ValueError(f"The 'optimizer' parameter of optimizer_kind must be Adam, AdamW or SGD. "
                     f"Got {type(optimizer).__name__} instead.")


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes a training step holds: the four parts of the budget."""

    parameters: int  # every parameter, trainable or not
    gradients: int  # one .grad per trainable parameter
    optimizer_state: int  # Adam: exp_avg + exp_avg_sq; SGD with momentum: one buffer; plain SGD: none
    activations: int  # saved for backward by the forward pass

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer_state + self.activations

    def as_dict(self) -> dict[str, int]:
        return {"parameters": self.parameters, "gradients": self.gradients,
                "optimizer_state": self.optimizer_state, "activations": self.activations}

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v / MB:.2f} MB" for k, v in self.as_dict().items())
        return f"TrainingMemory({parts}, total={self.total / MB:.2f} MB)"


def estimate_training_memory(model: nn.Module, optimizer: str = "adam", *, activations: int = 0) -> TrainingMemory:
    """The budget from arithmetic: parameter bytes, one gradient and ``OPTIMIZER_COPIES[optimizer]``
    state tensors per *trainable* parameter, plus ``activations`` bytes (e.g. ``activation_bytes(...).activations``)."""
    func = "estimate_training_memory"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_choice("optimizer", optimizer, func, OPTIMIZER_COPIES)
    check_int("activations", activations, func, low=0)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return TrainingMemory(parameters=params, gradients=trainable,
                          optimizer_state=OPTIMIZER_COPIES[optimizer] * trainable, activations=activations)


def _tensor_bytes(tensors) -> int:
    keys = {}
    for t in tensors:
        if isinstance(t, torch.Tensor):
            keys[_storage_key(t)] = t.untyped_storage().nbytes()
    return sum(keys.values())


def measure_training_memory(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                            optimizer: str = "adam", *, lr: float = 1e-3) -> TrainingMemory:
    """Count the real tensors of one training step on a *copy* of ``model`` (the model is untouched).

    Activations from :func:`activation_bytes`; gradients are the ``.grad`` tensors after ``backward``;
    optimizer state is every tensor in ``optimizer.state`` after ``step`` (Adam's scalar step counters
    included, so it reads a few bytes above the estimate).
    """
    func = "measure_training_memory"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("x", x, func, torch.Tensor, "a torch.Tensor")
    check_type("y", y, func, torch.Tensor, "a torch.Tensor of class labels")
    check_choice("optimizer", optimizer, func, OPTIMIZER_COPIES)
    check_float("lr", lr, func, low=0.0, closed="neither")
    model = copy.deepcopy(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = {"adam": lambda: torch.optim.Adam(trainable, lr=lr),
           "adamw": lambda: torch.optim.AdamW(trainable, lr=lr),
           "sgd_momentum": lambda: torch.optim.SGD(trainable, lr=lr, momentum=0.9),
           "sgd": lambda: torch.optim.SGD(trainable, lr=lr)}[optimizer]()
    saved = activation_bytes(model, x)
    model.train()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    state = [t for s in opt.state.values() for t in s.values()]
    return TrainingMemory(parameters=_tensor_bytes(model.parameters()),
                          gradients=_tensor_bytes(p.grad for p in trainable), optimizer_state=_tensor_bytes(state),
                          activations=saved.activations)


def peak_cuda_bytes(fn, device=None) -> int | None:
    """Peak CUDA memory allocated while ``fn()`` runs, or ``None`` when CUDA is not available."""
    if not torch.cuda.is_available():
        return None
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return int(torch.cuda.max_memory_allocated(device))


# --- activation checkpointing -------------------------------------------------------------------

class CheckpointedSequential(nn.Sequential):
    """An ``nn.Sequential`` that, while training, runs in ``segments`` checkpointed pieces: only each
    piece's input is kept, and the piece is run again during backward. Same modules, same state_dict.

    Note: a BatchNorm inside is run twice per step in train mode, so its running statistics take two
    momentum updates per step (outputs and gradients are unchanged).
    """

    def __init__(self, *modules: nn.Module, segments: int = 3):
        super().__init__(*modules)
        self.segments = check_int("segments", segments, "CheckpointedSequential", low=1, high=max(1, len(modules)))

    def forward(self, x):
        if not (self.training and torch.is_grad_enabled()):
            return super().forward(x)
        from torch.utils.checkpoint import checkpoint_sequential

        return checkpoint_sequential(list(self), self.segments, x, use_reentrant=False)


def checkpointed(model: nn.Module, segments: int = 3) -> nn.Module:
    """A copy of a course CNN (anything with an ``nn.Sequential`` ``features``) whose features run under
    activation checkpointing in ``segments`` pieces. The original model is not changed."""
    func = "checkpointed"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Sequential):
        raise TypeError(f"The 'model' parameter of {func} must have an nn.Sequential 'features' "
                        f"(TeacherNet, StudentNet). Got {type(model).__name__} instead.")
    check_int("segments", segments, func, low=1, high=len(features))
    new = copy.deepcopy(model)
    new.features = CheckpointedSequential(*new.features, segments=segments)
    return new


# --- number formats -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FloatFormat:
    name: str
    dtype: torch.dtype
    sign: int  # bits
    exponent: int  # bits: the range
    mantissa: int  # bits: the precision
    max: float  # largest finite value
    smallest_normal: float
    smallest_subnormal: float
    eps: float  # gap between 1 and the next representable number

    @property
    def bits(self) -> int:
        return self.sign + self.exponent + self.mantissa


def _format(name: str, dtype: torch.dtype, exponent: int, mantissa: int) -> FloatFormat:
    info = torch.finfo(dtype)
    return FloatFormat(name, dtype, 1, exponent, mantissa, float(info.max), float(info.tiny),
                       float(info.smallest_normal) * float(info.eps), float(info.eps))


FLOAT_FORMATS = {f.name: f for f in (_format("fp32", torch.float32, 8, 23), _format("fp16", torch.float16, 5, 10),
                                     _format("bf16", torch.bfloat16, 8, 7))}


def fp16_underflow(values: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """A bool mask: the entries that are nonzero in ``values`` but become 0 when ``values * scale`` is
    cast to fp16 (what loss scaling by ``scale`` fails to save)."""
    func = "fp16_underflow"
    check_type("values", values, func, torch.Tensor, "a torch.Tensor")
    check_float("scale", scale, func, low=0.0, closed="neither")
    v = values.detach().double()
    return (v != 0) & ((v * scale).to(torch.float16) == 0)
