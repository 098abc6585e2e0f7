"""Lesson 03's explorer: the bit width (2–8), the scheme and the granularity of weight quantization.

``bits_view(...)`` is the logic: a plain function returning a :class:`BitsView` (numbers + Figure),
tested without a browser. ``bits_explorer(...)`` wires a slider and two toggles to it (an ``Explorer``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from coursekit._validate import check_choice, check_int, check_type
from coursekit.widgets._base import Explorer

__all__ = ["BitsView", "bits_explorer", "bits_view"]

SCHEMES = ("symmetric", "affine")
GRANULARITIES = ("per channel", "per tensor")


@dataclass(frozen=True, repr=False)
class BitsView:
    """What the bit-width explorer shows for one setting."""

    bits: int
    scheme: str
    granularity: str
    layer: str            # the layer whose weights are drawn
    sqnr_db: float        # of that layer's weights
    accuracy: float       # the whole model with every Conv2d/Linear weight quantized so, on the loader
    levels: torch.Tensor  # the grid drawn (per channel: the grid of the layer's widest channel)
    figure: object        # matplotlib Figure

    def __repr__(self) -> str:
        return (f"BitsView({self.bits}-bit {self.scheme}, {self.granularity}: SQNR {self.sqnr_db:.1f} dB, "
                f"accuracy {self.accuracy:.2%})")

    def summary(self) -> str:
        return (f"{self.bits}-bit {self.scheme}, {self.granularity}: {self.layer} SQNR {self.sqnr_db:.1f} dB · "
                f"model accuracy {self.accuracy:.2%}")


def _layer(model: nn.Module, name: str | None, func: str) -> tuple[str, nn.Module]:
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not layers:
        raise ValueError(f"The 'model' parameter of {func} must contain a Conv2d or Linear layer. Got none.")
    if name is None:
        return layers[min(1, len(layers) - 1)]  # the second layer: a full conv with many weights
    names = [n for n, _ in layers]
    check_choice("layer", name, func, names)
    return name, dict(layers)[name]


def bits_view(model: nn.Module, loader: DataLoader, bits: int, *, scheme: str = "symmetric",
              granularity: str = "per channel", layer: str | None = None, cache: dict | None = None) -> BitsView:
    """Quantize a copy of ``model``'s weights to ``bits`` bits and measure it (``model`` is untouched).

    ``cache`` (a dict) keeps accuracies per setting, so moving back to a setting costs nothing.
    """
    from coursekit.plots.quantize import levels_panel
    from coursekit.quantize import dequantize, qrange, quantize_tensor, quantize_weights, sqnr_db
    from coursekit.train import evaluate

    func = "bits_view"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("loader", loader, func, DataLoader, "a torch.utils.data.DataLoader")
    bits = check_int("bits", bits, func, low=2, high=8)
    check_choice("scheme", scheme, func, SCHEMES)
    check_choice("granularity", granularity, func, GRANULARITIES)
    if cache is not None:
        check_type("cache", cache, func, dict, "a dict or None")
    name, module = _layer(model, layer, func)
    symmetric, per_channel = scheme == "symmetric", granularity == "per channel"
    weight = module.weight.detach()
    qt = quantize_tensor(weight, bits, symmetric=symmetric, axis=0 if per_channel else None)
    sqnr = sqnr_db(weight, dequantize(qt))
    key = (bits, scheme, granularity)
    if cache is not None and key in cache:
        accuracy = cache[key]
    else:
        accuracy = evaluate(quantize_weights(model, bits, symmetric=symmetric, per_channel=per_channel), loader).accuracy
        if cache is not None:
            cache[key] = accuracy
    qmin, qmax = qrange(bits, symmetric)
    channel = int(weight.flatten(1).abs().amax(dim=1).argmax()) if per_channel else None
    scale = qt.scale[channel] if per_channel else qt.scale
    zero = qt.zero_point[channel] if per_channel else qt.zero_point
    levels = (torch.arange(qmin, qmax + 1) - zero).float() * scale

    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.4, 1])
    shown = weight[channel] if per_channel else weight
    levels_panel(left, shown, levels, label=f"{len(levels)} levels",
                 bins=40 if per_channel else 80)
    where = f"channel {channel} (widest)" if per_channel else "all channels"
    left.set_title(f"{name}, {where}: SQNR {sqnr:.1f} dB", fontsize=9)
    done = {k: v for k, v in (cache or {key: accuracy}).items() if k[1:] == key[1:]}
    xs = sorted(k[0] for k in done)
    right.plot(xs, [done[(b, scheme, granularity)] for b in xs], "o-", color="tab:blue")
    right.plot([bits], [accuracy], "o", color="tab:red", markersize=10)
    right.set_xlim(1.5, 8.5)
    right.set_ylim(0, 1.02)
    right.set_xlabel("bits")
    right.set_ylabel("test accuracy")
    right.set_title(f"model accuracy, {scheme}, {granularity}", fontsize=9)
    fig.suptitle(f"{bits}-bit weights: accuracy {accuracy:.1%}", fontsize=10)
    return BitsView(bits, scheme, granularity, name, sqnr, accuracy, levels, fig)


def bits_explorer(model: nn.Module, loader: DataLoader, *, bits: int = 4, scheme: str = "symmetric",
                  granularity: str = "per channel", layer: str | None = None) -> Explorer:
    """A bit-width slider (2–8), scheme and granularity toggles over ``bits_view``.

    Every setting's accuracy is measured once and cached (``widget.cache``), so the slider stays
    responsive. The caller's model is never modified: the explorer works on a snapshot taken now.
    Returns an :class:`Explorer`; ``widget.controls`` holds "bits", "scheme" and "granularity".
    """
    import copy

    import ipywidgets as widgets

    func = "bits_explorer"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_int("bits", bits, func, low=2, high=8)
    check_choice("scheme", scheme, func, SCHEMES)
    check_choice("granularity", granularity, func, GRANULARITIES)
    snapshot = copy.deepcopy(model).eval()
    layer_name, _ = _layer(snapshot, layer, func)
    cache: dict = {}
    controls = {
        "bits": widgets.IntSlider(value=bits, min=2, max=8, step=1, description="bits", continuous_update=False),
        "scheme": widgets.ToggleButtons(options=list(SCHEMES), value=scheme, description="scheme"),
        "granularity": widgets.ToggleButtons(options=list(GRANULARITIES), value=granularity, description="scale"),
    }

    def view(bits, scheme, granularity):
        return bits_view(snapshot, loader, bits, scheme=scheme, granularity=granularity, layer=layer_name,
                         cache=cache)

    explorer = Explorer(controls, view, readout=True)
    explorer.cache = cache
    return explorer
