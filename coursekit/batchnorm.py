"""BatchNorm after the fact: re-estimating its statistics, and folding it into the preceding convolution.

- :func:`recalibrate_batchnorm`: pruning (or quantizing) changes what each layer outputs, so the
  running statistics BatchNorm stored during training no longer match; a few forward passes fix it.
- :func:`fold_batchnorm` / :func:`fold_model_batchnorm`: in eval mode a BatchNorm is a fixed affine
  map per channel, ``y = gamma * (x - mean) / sqrt(var + eps) + beta``, so it can be merged into the
  convolution before it (one layer less to run, and what quantization and deployment expect).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from coursekit._validate import _fail, check_int, check_type
from coursekit.train import eval_mode, model_device

__all__ = ["fold_batchnorm", "fold_model_batchnorm", "recalibrate_batchnorm"]


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, loader: DataLoader, *, batches: int | None = None) -> nn.Module:
    """Re-estimate every BatchNorm's running mean and variance on ``loader``; return the model (in place).

    Pruning changes what each layer outputs, so the statistics BatchNorm stored during training no
    longer match, and a pruned network can look broken when its weights are fine. A few forward
    passes without gradients (``batches`` of them; all by default) fix that; no weight changes.
    Batches are moved to the model's device; the model's mode is restored.
    """
    func = "recalibrate_batchnorm"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("loader", loader, func, DataLoader, "a torch.utils.data.DataLoader")
    if batches is not None:
        check_int("batches", batches, func, low=1)
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not bns:
        return model
    device = model_device(model)
    momenta = [bn.momentum for bn in bns]
    with eval_mode(model):  # dropout off; only the BatchNorm layers collect statistics
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # a plain average over every batch seen
            bn.train()
        try:
            for i, (x, *_) in enumerate(loader):
                if batches is not None and i >= batches:
                    break
                model(x.to(device))
        finally:
            for bn, momentum in zip(bns, momenta, strict=True):
                bn.momentum = momentum
    return model


@torch.no_grad()
def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A NEW convolution whose output equals ``bn(conv(x))`` with ``bn`` in eval mode.

    Per output channel c, with ``s = gamma_c / sqrt(running_var_c + eps)``: the weights become
    ``s * W_c`` and the bias ``s * (b_c - running_mean_c) + beta_c``. Neither argument is changed.
    The result matches ``conv -> bn`` in eval mode only: in training mode BatchNorm normalises with
    each batch's own statistics, which no fixed convolution can do.
    """
    func = "fold_batchnorm"
    check_type("conv", conv, func, nn.Conv2d, "a torch.nn.Conv2d")
    check_type("bn", bn, func, nn.BatchNorm2d, "a torch.nn.BatchNorm2d")
    if bn.num_features != conv.out_channels:
        _fail("bn", func, f"a BatchNorm2d over the convolution's {conv.out_channels} output channels", bn,
              got=f"a BatchNorm2d over {bn.num_features} channels")
    if bn.running_mean is None or bn.running_var is None:
        _fail("bn", func, "a BatchNorm2d with running statistics (track_running_stats=True)", bn,
              got="one without running statistics")
    weight = conv.weight.detach()
    scale = torch.rsqrt(bn.running_var + bn.eps)  # (C,)
    if bn.weight is not None:
        scale = scale * bn.weight.detach()
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    shift = bn.bias.detach() if bn.bias is not None else torch.zeros_like(bn.running_mean)
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                       padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
                       padding_mode=conv.padding_mode, device=weight.device, dtype=weight.dtype)
    folded.weight.copy_(weight * scale.reshape(-1, 1, 1, 1))
    folded.bias.copy_((bias - bn.running_mean) * scale + shift)
    return folded


def fold_model_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) with every Conv2d that is immediately followed by a
    BatchNorm2d inside an ``nn.Sequential`` folded (:func:`fold_batchnorm`); the BatchNorm becomes
    ``nn.Identity``. ``model`` is unchanged; in eval mode the copy computes the same outputs.
    """
    func = "fold_model_batchnorm"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    try:
        folded = copy.deepcopy(model)
    except RuntimeError as error:  # e.g. masks of torch.nn.utils.prune
        raise ValueError(f"The 'model' parameter of {func} must be a model that copy.deepcopy can copy "
                         "(for a pruned model, copy it with coursekit.prune.clone_model and make the "
                         "pruning permanent with remove_pruning first).") from error
    for seq in [m for m in folded.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            a, b = seq[i], seq[i + 1]
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d) and b.num_features == a.out_channels:
                seq[i], seq[i + 1] = fold_batchnorm(a, b), nn.Identity()
    return folded.eval()
