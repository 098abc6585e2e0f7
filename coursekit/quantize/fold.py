"""Folding BatchNorm into the convolution before it — a stand-in until ``coursekit.batchnorm`` lands.

TODO(merge): helper "lib" adds ``coursekit.batchnorm.fold_batchnorm(conv, bn)`` and
``fold_model_batchnorm(model)``; once main has them, import those and delete this file.

In eval mode ``bn(conv(x)) = γ · (W x + b − μ) / √(σ² + ε) + β``, so one convolution with
``W' = W · γ/√(σ²+ε)`` (per output channel) and ``b' = (b − μ) · γ/√(σ²+ε) + β`` computes the same.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from coursekit._validate import check_type

__all__ = ["fold_batchnorm", "fold_model_batchnorm"]


@torch.no_grad()
def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new ``Conv2d`` equal to ``bn(conv(x))`` in eval mode (the inputs are left unchanged)."""
    func = "fold_batchnorm"
    check_type("conv", conv, func, nn.Conv2d, "a torch.nn.Conv2d")
    check_type("bn", bn, func, nn.BatchNorm2d, "a torch.nn.BatchNorm2d")
    if bn.num_features != conv.out_channels:
        raise ValueError(f"The 'bn' parameter of {func} must have {conv.out_channels} features (the "
                         f"convolution's out_channels). Got {bn.num_features} instead.")
    factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
    folded = copy.deepcopy(conv)
    if folded.bias is None:
        folded.bias = nn.Parameter(torch.zeros(conv.out_channels))
    bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
    folded.weight.copy_(conv.weight * factor.view(-1, 1, 1, 1))
    folded.bias.copy_((bias - bn.running_mean) * factor + bn.bias)
    return folded


def fold_model_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with every Conv2d → BatchNorm2d pair of a Sequential folded."""
    check_type("model", model, "fold_model_batchnorm", nn.Module, "a torch.nn.Module")
    model = copy.deepcopy(model).eval()
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module.children())
            for i in range(len(children) - 1):
                if isinstance(children[i], nn.Conv2d) and isinstance(children[i + 1], nn.BatchNorm2d):
                    module[i] = fold_batchnorm(children[i], children[i + 1])
                    module[i + 1] = nn.Identity()
    return model
