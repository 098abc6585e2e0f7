"""coursekit.quantize against trusted references: torch's fake_quantize, torch.round, float layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit.quantize import (
    FakeQuantized,
    IntegerConv2d,
    IntegerLinear,
    MinMaxObserver,
    PercentileObserver,
    dequantize,
    fake_quantize,
    fake_quantized_forward,
    kmeans_quantize,
    prepare_qat,
    qrange,
    quantize_model,
    quantize_tensor,
    quantize_weights,
    sqnr_db,
)
from coursekit.train import fit


@pytest.mark.parametrize("bits", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("symmetric", [True, False])
def test_integer_range(bits, symmetric):
    x = torch.randn(300) * 3 + (0 if symmetric else 1)
    qt = quantize_tensor(x, bits, symmetric=symmetric)
    qmin, qmax = qrange(bits, symmetric)
    assert qmin <= int(qt.q.min()) and int(qt.q.max()) <= qmax
    assert not qt.q.is_floating_point()
    assert (int(qt.q.min()) == qmin or int(qt.q.max()) == qmax)  # the range is used to its end


def test_symmetric_scale_and_zero_point():
    x = torch.tensor([-3.0, 0.5, 1.27])
    qt = quantize_tensor(x, 8, symmetric=True)
    assert qt.scale.item() == pytest.approx(3.0 / 127)
    assert qt.zero_point.item() == 0


def test_affine_range_contains_zero_and_zero_is_exact():
    x = torch.rand(100) + 2.0  # all positive: the range must still reach down to 0
    qt = quantize_tensor(x, 8, symmetric=False)
    assert qt.zero_point.item() == 0
    assert qt.scale.item() == pytest.approx(x.max().item() / 255)
    y = torch.tensor([-1.3, 0.0, 2.2, 0.7])
    q = quantize_tensor(y, 4, symmetric=False)
    assert dequantize(q)[1].item() == 0.0  # zero maps to an integer exactly


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("symmetric", [True, False])
def test_matches_torch_fake_quantize(axis, symmetric):
    torch.manual_seed(0)
    x = torch.randn(6, 5, 4) * torch.rand(6, 1, 1) * 4
    bits = 5
    qt = quantize_tensor(x, bits, symmetric=symmetric, axis=axis)
    qmin, qmax = qrange(bits, symmetric)
    if axis is None:
        ref = torch.fake_quantize_per_tensor_affine(x, qt.scale.item(), int(qt.zero_point), qmin, qmax)
    else:
        ref = torch.fake_quantize_per_channel_affine(x, qt.scale, qt.zero_point, axis % 3, qmin, qmax)
    assert torch.equal(dequantize(qt), ref)
    assert torch.equal(fake_quantize(x, bits, symmetric=symmetric, axis=axis), ref)


def test_rounding_is_half_to_even():
    x = torch.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 127.0])  # scale 1 (max 127, 8-bit symmetric)
    qt = quantize_tensor(x, 8)
    assert qt.scale.item() == 1.0
    assert qt.q.tolist() == torch.round(x).to(torch.int64).tolist() == [0, 2, 2, 0, -2, 127]


def test_all_zero_tensor_and_channel():
    z = torch.zeros(3, 4)
    for symmetric in (True, False):
        assert torch.equal(dequantize(quantize_tensor(z, 8, symmetric=symmetric)), z)
        w = torch.randn(3, 4)
        w[1] = 0
        out = dequantize(quantize_tensor(w, 4, symmetric=symmetric, axis=0))
        assert torch.isfinite(out).all() and torch.equal(out[1], torch.zeros(4))


def test_per_channel_scales_follow_each_channel():
    w = torch.randn(4, 10) * torch.tensor([[0.01], [0.1], [1.0], [10.0]])
    qt = quantize_tensor(w, 8, axis=0)
    assert qt.scale.shape == (4,)
    assert torch.allclose(qt.scale, w.abs().amax(dim=1) / 127)


def test_straight_through_gradient_matches_torch():
    torch.manual_seed(1)
    x = (torch.randn(200) * 3).requires_grad_()
    scale, zp = torch.tensor(0.05), torch.tensor(100)
    fake_quantize(x, 8, symmetric=False, scale=scale, zero_point=zp).sum().backward()
    ours = x.grad.clone()
    x.grad = None
    torch.fake_quantize_per_tensor_affine(x, 0.05, 100, 0, 255).sum().backward()
    assert torch.equal(ours, x.grad)
    assert 0 < ours.sum() < len(x)  # some values clip (gradient 0), most pass (gradient 1)


def test_gradient_is_one_inside_range():
    x = torch.randn(50, requires_grad=True)
    fake_quantize(x, 4).sum().backward()  # own range: nothing clips
    assert torch.equal(x.grad, torch.ones(50))


@pytest.mark.parametrize("bad", [1, 17, 2.0, True])
def test_bits_validated(bad):
    with pytest.raises((ValueError, TypeError), match="'bits' parameter of quantize_tensor"):
        quantize_tensor(torch.randn(3), bad)


def test_axis_and_dtype_validated():
    with pytest.raises(ValueError, match="'axis' parameter"):
        quantize_tensor(torch.randn(3, 4), 8, axis=2)
    with pytest.raises(TypeError, match="floating-point"):
        quantize_tensor(torch.arange(4), 8)


def test_error_shrinks_with_bits():
    x = torch.randn(1000)
    db = [sqnr_db(x, fake_quantize(x, b)) for b in (2, 4, 8)]
    assert db[0] < db[1] < db[2]
    assert 5.5 < (db[2] - db[1]) / 4 < 6.5  # about 6 dB per bit


def test_kmeans_beats_linear_on_gaussian_weights():
    torch.manual_seed(0)
    w = torch.randn(4000)
    centroids, labels = kmeans_quantize(w, 2)
    assert centroids.numel() == 4 and labels.shape == w.shape
    for symmetric in (True, False):  # same number of levels: k-means puts them where the weights are
        assert sqnr_db(w, centroids[labels]) > sqnr_db(w, fake_quantize(w, 2, symmetric=symmetric)) + 1


def test_observers():
    x = torch.cat([torch.randn(10000), torch.tensor([50.0])])
    mm, pc = MinMaxObserver(), PercentileObserver(99.9)
    for chunk in x.split(1000):
        mm.update(chunk)
        pc.update(chunk)
    assert mm.range() == (x.min().item(), 50.0)
    low, high = pc.range()
    ref = torch.quantile(x, torch.tensor([0.001, 0.999]))
    assert (low, high) == pytest.approx(ref.tolist())
    assert high < 5  # the outlier is clipped away
    with pytest.raises(ValueError, match="'percentile' parameter"):
        PercentileObserver(101)


def _small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 8 * 8, 10)).eval()


def test_quantize_weights_rounds_every_layer_and_keeps_original():
    net = _small_net()
    before = net[0].weight.clone()
    q = quantize_weights(net, 3)
    assert torch.equal(net[0].weight, before)
    layers = [m for m in q.modules() if isinstance(m, FakeQuantized)]
    assert len(layers) == 2
    for m in layers:
        assert m.quantized_weight().unique(dim=None).numel() <= 7 * m.layer.weight.shape[0]


def test_weight_and_activation_ptq_close_to_float_at_8_bits():
    net = _small_net()
    x = torch.randn(64, 1, 8, 8)
    q = quantize_model(net, 8, 8, calibration=x)
    ref = net(x)
    assert (q(x) - ref).abs().max() < 0.05 * ref.abs().max()
    with pytest.raises(ValueError, match="'calibration' parameter"):
        quantize_model(net, 8, 8)


def test_qat_trains_through_fit():
    net = _small_net().train()
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(128, 1, 8, 8, generator=g), torch.randint(0, 10, (128,), generator=g))
    qat = prepare_qat(net, weight_bits=2, act_bits=8)
    before = qat[4].layer.weight.detach().clone()
    history = fit(qat, DataLoader(data, batch_size=32), epochs=2, lr=1e-2, progress=False)
    assert history.train_loss[1] < history.train_loss[0]
    assert not torch.equal(before, qat[4].layer.weight)  # float weights moved through the STE


def _qparams(y):
    scale = (y.max().clamp(min=0) - y.min().clamp(max=0)).item() / 255
    return scale, int(round(-y.min().clamp(max=0).item() / scale))


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_integer_layer_matches_fake_quantized_float(kind):
    torch.manual_seed(0)
    if kind == "linear":
        layer, x = nn.Linear(20, 7), torch.randn(16, 20)
        cls = IntegerLinear
    else:
        layer, x = nn.Conv2d(3, 5, 3, stride=2, padding=1), torch.randn(4, 3, 9, 9)
        cls = IntegerConv2d
    qin, qout = _qparams(x), _qparams(layer(x).detach())
    integer = cls.from_float(layer, qin, qout)
    assert integer.weight_q.dtype == torch.int8 and integer.bias_q.dtype == torch.int32
    y_q = integer(integer.quantize_input(x))
    assert y_q.dtype == torch.uint8
    ours = integer.dequantize_output(y_q)
    ref = fake_quantized_forward(layer, x, qin, qout).detach()
    assert ours.shape == ref.shape
    assert (ours - ref).abs().max() <= qout[0] * 1.001  # at most one output step (float ties)
    assert (ours == ref).float().mean() > 0.97
    assert (ref - layer(x)).abs().max() < 0.1 * layer(x).abs().max()  # and both are close to float


def test_integer_layer_rejects_float_input():
    layer = nn.Linear(4, 2)
    integer = IntegerLinear.from_float(layer, (0.1, 128), (0.1, 128))
    with pytest.raises(TypeError, match="uint8"):
        integer(torch.randn(3, 4))
