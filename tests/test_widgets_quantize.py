"""The bit-width explorer's logic (bits_view) and its widget state, without a browser."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit.quantize import dequantize, quantize_tensor, quantize_weights, sqnr_db
from coursekit.train import evaluate
from coursekit.widgets import BitsView, bits_explorer, bits_view


def model_and_loader():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3)).eval()
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(24, 1, 8, 8, generator=g), torch.randint(0, 3, (24,), generator=g))
    return model, DataLoader(data, batch_size=8)


@pytest.mark.parametrize("scheme", ["symmetric", "affine"])
@pytest.mark.parametrize("granularity", ["per channel", "per tensor"])
def test_view_reports_sqnr_accuracy_levels_and_figure(scheme, granularity):
    model, loader = model_and_loader()
    view = bits_view(model, loader, 3, scheme=scheme, granularity=granularity)
    symmetric, per_channel = scheme == "symmetric", granularity == "per channel"
    assert isinstance(view, BitsView) and isinstance(view.figure, Figure)
    assert view.layer == "2"  # the second quantizable layer by default
    w = model[2].weight.detach()
    assert view.sqnr_db == pytest.approx(sqnr_db(w, dequantize(quantize_tensor(
        w, 3, symmetric=symmetric, axis=0 if per_channel else None))))
    expected = evaluate(quantize_weights(model, 3, symmetric=symmetric, per_channel=per_channel), loader).accuracy
    assert view.accuracy == expected
    assert len(view.levels) == (7 if symmetric else 8)
    assert "SQNR" in repr(view) and "accuracy" in view.summary()


def test_more_bits_less_error():
    model, loader = model_and_loader()
    db = [bits_view(model, loader, b).sqnr_db for b in (2, 4, 8)]
    assert db[0] < db[1] < db[2]


def test_cache_is_used_and_model_untouched():
    model, loader = model_and_loader()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cache = {(4, "symmetric", "per channel"): 0.123}
    assert bits_view(model, loader, 4, cache=cache).accuracy == 0.123
    bits_view(model, loader, 2, cache=cache)
    assert (2, "symmetric", "per channel") in cache
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_arguments_validated():
    model, loader = model_and_loader()
    with pytest.raises(ValueError, match="'bits' parameter of bits_view"):
        bits_view(model, loader, 9)
    with pytest.raises(ValueError, match="'scheme' parameter of bits_view"):
        bits_view(model, loader, 4, scheme="asymmetric")
    with pytest.raises(ValueError, match="'layer' parameter of bits_view"):
        bits_view(model, loader, 4, layer="nope")


def test_explorer_follows_its_controls():
    model, loader = model_and_loader()
    box = bits_explorer(model, loader, bits=4)
    assert box.view.bits == 4
    box.controls["bits"].value = 2
    assert box.view.bits == 2 and box.view.accuracy == box.cache[(2, "symmetric", "per channel")]
    box.controls["granularity"].value = "per tensor"
    box.controls["scheme"].value = "affine"
    assert (box.view.granularity, box.view.scheme) == ("per tensor", "affine")
    box.controls["bits"].value = 20  # clamped by the slider
    assert box.view.bits == 8
    assert box.update(bits=5, scheme="symmetric").bits == 5
