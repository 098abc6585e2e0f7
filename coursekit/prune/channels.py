"""Physically removing channels: rebuild a structured-pruned CNN without its dead channels, so it is
smaller AND faster (masks alone make nothing faster)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from coursekit._validate import check_type
from coursekit.prune.masks import _check_model, clone_model, remove_pruning
from coursekit.train import eval_mode

__all__ = [
    "remove_channels",
]


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
