"""The course's two CNNs and how to count their size.

``TeacherNet`` and ``StudentNet`` are the seed's ``TeacherModel`` and ``StudentModel`` layer for layer;
the only change is ``in_channels``, default 1 (the seed hard-coded 3 for 32x32 colour images; the
digits are 1x8x8). Three 2x2 max-pools need inputs of at least 8x8; the global average pool makes any larger
size work too.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import torch
from torch import nn

from coursekit._validate import check_int, check_type

__all__ = ["MLPStudent", "StudentNet", "TeacherNet", "count_parameters", "model_size_bytes"]

MIN_SIDE = 8  # three 2x2 max-pools: 8 -> 4 -> 2 -> 1


def _conv_block(cin: int, cout: int, batchnorm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU(inplace=True))
    return layers


class _SmallCNN(nn.Module):
    """features (conv blocks + pools) -> classifier (global pool + MLP)."""

    def __init__(self, num_classes: int, in_channels: int):
        super().__init__()
        func = type(self).__name__
        self.num_classes = check_int("num_classes", num_classes, func, low=2)
        self.in_channels = check_int("in_channels", in_channels, func, low=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or min(x.shape[-2:]) < MIN_SIDE:
            raise ValueError(
                f"{type(self).__name__} expects images shaped (batch, {self.in_channels}, H, W) with "
                f"H, W >= {MIN_SIDE}. Got a tensor of shape {tuple(x.shape)} instead."
            )
        return self.classifier(self.features(x))  # (B, num_classes)


class TeacherNet(_SmallCNN):
    """The seed's teacher: six conv layers with BatchNorm (64-64-128-128-256-256), MLP 512-256."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__(num_classes, in_channels)
        self.features = nn.Sequential(
            *_conv_block(in_channels, 64, True), *_conv_block(64, 64, True), nn.MaxPool2d(2, 2),
            *_conv_block(64, 128, True), *_conv_block(128, 128, True), nn.MaxPool2d(2, 2),
            *_conv_block(128, 256, True), *_conv_block(256, 256, True), nn.MaxPool2d(2, 2),
        )
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
            nn.Linear(256, 512), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(512, 256), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(256, num_classes),
        )


class StudentNet(_SmallCNN):
    """The seed's student: five conv layers without BatchNorm (32-32-64-64-128), MLP 64."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__(num_classes, in_channels)
        self.features = nn.Sequential(
            *_conv_block(in_channels, 32, False), *_conv_block(32, 32, False), nn.MaxPool2d(2, 2),
            *_conv_block(32, 64, False), *_conv_block(64, 64, False), nn.MaxPool2d(2, 2),
            *_conv_block(64, 128, False), nn.MaxPool2d(2, 2),
        )
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
            nn.Linear(128, 64), nn.ReLU(inplace=True),
            nn.Linear(64, num_classes),
        )


def count_parameters(model: nn.Module, *, nonzero_only: bool = False) -> int:
    """Number of parameters (``nonzero_only=True``: only those that are not exactly zero).

    A layer pruned with ``torch.nn.utils.prune`` keeps ``weight_orig`` as the parameter and the
    mask in a buffer; ``nonzero_only`` counts the effective (masked) weight, which is what the
    model computes with.
    """
    func = "count_parameters"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("nonzero_only", nonzero_only, func, bool)
    total = 0
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if name.endswith("_orig"):  # pruned: count the effective weight instead
                param = getattr(module, name[: -len("_orig")])
            total += int(torch.count_nonzero(param)) if nonzero_only else param.numel()
    return total


def model_size_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: the model's size on disk."""
    check_type("model", model, "model_size_bytes", nn.Module, "a torch.nn.Module")
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


class MLPStudent(nn.Module):
    """A fully connected student: flatten -> hidden ReLU layers -> classes.

    The default 64-300-100-10 has the hidden layers of LeNet-300-100 (LeCun et al., 1998) on the 64
    pixels of the 8x8 digits (Hinton et al.'s MNIST students were larger: two hidden layers of 800
    units, the big net 1200-1200). It trains in about a second on a CPU.
    """

    def __init__(self, in_features: int = 64, hidden: Sequence[int] = (300, 100), num_classes: int = 10):
        super().__init__()
        func = "MLPStudent"
        self.in_features = check_int("in_features", in_features, func, low=1)
        self.num_classes = check_int("num_classes", num_classes, func, low=2)
        check_type("hidden", hidden, func, (list, tuple), "a list or tuple of layer widths")
        widths = [in_features, *(check_int("hidden", h, func, low=1) for h in hidden)]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths, widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x[0].numel() != self.in_features:
            raise ValueError(f"MLPStudent expects {self.in_features} input values per example. "
                             f"Got a tensor of shape {tuple(x.shape)} instead.")
        return self.net(x)  # (B, num_classes)
