"""The bit-width explorer of lesson 03 (ready to become ``coursekit/widgets/quantize.py``).

``bits_view(...)`` is the logic: a plain function returning a :class:`BitsView` (numbers + Figure),
tested without a browser. ``bits_explorer(...)`` wires a slider and two toggles to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from coursekit._validate import check_choice, check_int, check_type

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
    from coursekit.quant_plots import levels_panel
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


def _png(figure):
    import io

    from IPython.display import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return Image(data=buffer.getvalue(), format="png")


def bits_explorer(model: nn.Module, loader: DataLoader, *, bits: int = 4, scheme: str = "symmetric",
                  granularity: str = "per channel", layer: str | None = None):
    """A bit-width slider (2–8), scheme and granularity toggles over ``bits_view``.

    Every setting's accuracy is measured once and cached. Returns the widget; ``widget.controls``
    holds the controls, ``widget.view`` the latest :class:`BitsView`, ``widget.cache`` the accuracies.
    """
    import copy

    import ipywidgets as widgets
    from IPython.display import display

    func = "bits_explorer"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    snapshot = copy.deepcopy(model).eval()
    cache: dict = {}
    first = bits_view(snapshot, loader, bits, scheme=scheme, granularity=granularity, layer=layer, cache=cache)
    slider = widgets.IntSlider(value=bits, min=2, max=8, step=1, description="bits", continuous_update=False)
    scheme_toggle = widgets.ToggleButtons(options=list(SCHEMES), value=scheme, description="scheme")
    granularity_toggle = widgets.ToggleButtons(options=list(GRANULARITIES), value=granularity,
                                               description="scale")
    readout = widgets.HTML()
    out = widgets.Output()
    box = widgets.VBox([slider, scheme_toggle, granularity_toggle, readout, out])

    @out.capture(clear_output=True, wait=True)
    def show(view):
        box.view = view
        readout.value = view.summary()
        display(_png(view.figure))

    controls = {"bits": slider, "scheme": scheme_toggle, "granularity": granularity_toggle}

    def refresh(_=None):
        show(bits_view(snapshot, loader, slider.value, scheme=scheme_toggle.value,
                       granularity=granularity_toggle.value, layer=first.layer, cache=cache))

    def update(**values):
        """Set controls by name without a browser (as coursekit.widgets' Explorer does); returns the view."""
        if not values:
            refresh()
        for name, value in values.items():
            controls[name].value = value  # fires refresh when the (clamped) value changes
        return box.view

    for w in controls.values():
        w.observe(refresh, names="value")
    show(first)
    box.update, box.cache, box.controls = update, cache, controls
    return box
