"""coursekit.hardware: roofline arithmetic against hand-computed and torch-counted references."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from coursekit.gpu import cuda_tricks, gpu_reference
from coursekit.hardware import (
    LayerCost,
    Peaks,
    conv2d_cost,
    copy_bandwidth,
    layer_costs,
    matmul_gflops,
    predict_seconds,
    roofline,
    time_interleaved,
    time_layers,
)


def _torch_flops(module, x):
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(x)
    return counter.get_total_flops()


@pytest.mark.parametrize("b, cin, cout, hw, k, s, p", [(1, 3, 8, 9, 3, 1, 1), (4, 5, 7, 12, 5, 2, 0),
                                                       (2, 1, 16, 8, 1, 1, 0)])
def test_conv2d_cost_flops_match_torch_counter(b, cin, cout, hw, k, s, p):
    conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=False)
    x = torch.randn(b, cin, hw, hw)
    flops, nbytes = conv2d_cost(b, cin, cout, hw, hw, k, stride=s, padding=p, bias=False)
    assert flops == _torch_flops(conv, x)
    out = conv(x)
    assert nbytes == (x.numel() + out.numel() + conv.weight.numel()) * 4


def test_conv2d_cost_bias_and_validation():
    f0, b0 = conv2d_cost(1, 2, 3, 8, 8, 3, bias=False)
    f1, b1 = conv2d_cost(1, 2, 3, 8, 8, 3, bias=True)
    assert f1 - f0 == 3 * 6 * 6 and b1 - b0 == 3 * 4
    with pytest.raises(ValueError, match="'kernel' parameter of conv2d_cost"):
        conv2d_cost(1, 1, 1, 2, 2, 5)
    with pytest.raises(TypeError, match="'stride' parameter of conv2d_cost"):
        conv2d_cost(1, 1, 1, 8, 8, 3, stride=1.5)


def test_layer_costs_of_conv_and_linear():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 10))
    x = torch.randn(5, 1, 8, 8)
    costs = {c.name: c for c in layer_costs(model, x)}
    assert costs["0"].flops == conv2d_cost(5, 1, 4, 8, 8, 3, padding=1)[0]
    assert costs["0"].bytes == conv2d_cost(5, 1, 4, 8, 8, 3, padding=1)[1]
    assert costs["3"].flops == 5 * (2 * 256 * 10 + 10)
    assert costs["2"].bytes == 0  # a view moves nothing
    assert costs["1"].intensity == pytest.approx(5 * 4 * 64 / (2 * 5 * 4 * 64 * 4))


def test_intensity_grows_with_batch_for_a_linear_layer():
    layer = nn.Linear(256, 256)
    one = layer_costs(layer, torch.randn(1, 256))[0].intensity
    many = layer_costs(layer, torch.randn(64, 256))[0].intensity
    assert many > 20 * one  # at batch 1 the weights dominate the bytes


def test_roofline_sides_of_the_ridge():
    assert roofline(1.0, 100.0, 10.0) == (10.0, "memory")
    assert roofline(50.0, 100.0, 10.0) == (100.0, "compute")
    assert roofline(10.0, 100.0, 10.0) == (100.0, "compute")  # at the ridge
    with pytest.raises(ValueError, match="'peak_gbps' parameter of roofline"):
        roofline(1.0, 100.0, 0.0)


def test_predict_seconds_is_the_larger_bound():
    peaks = Peaks(gflops=100.0, gbps=10.0, device="cpu", threads=1)
    assert peaks.ridge == 10.0
    cost = LayerCost("x", "Conv2d", flops=10**9, bytes=10**9, out_shape=(1,))
    assert predict_seconds(cost, peaks) == pytest.approx(0.1)  # memory: 1 GB at 10 GB/s


def test_measurements_are_bounded_and_positive():
    flops = matmul_gflops(64, repeats=3, budget_s=0.05)
    bw = copy_bandwidth(2, repeats=3, budget_s=0.05)
    assert 2 <= len(flops) <= 3 and all(v > 0 for v in flops)
    assert 2 <= len(bw) <= 3 and all(v > 0 for v in bw)


def test_time_layers_times_every_leaf():
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)).train()
    times = time_layers(model, torch.randn(4, 8), repeats=2, budget_s=0.05)
    assert set(times) == {"0", "1", "2"} and all(t > 0 for t in times.values())
    assert model.training


def test_time_interleaved_takes_turns():
    order = []
    times = time_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, rounds=3)
    assert order == ["a", "b"] + ["a", "b"] * 3  # one untimed call each, then alternating rounds
    assert all(len(v) == 3 for v in times.values())


def test_gpu_reference_absent_is_none(tmp_path):
    assert gpu_reference(tmp_path / "missing.json") is None
    (tmp_path / "ref.json").write_text('{"gpu": "X", "rows": []}')
    assert gpu_reference(tmp_path / "ref.json") == {"gpu": "X", "rows": []}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA path")
def test_cuda_tricks_says_it_needs_cuda():
    with pytest.raises(RuntimeError, match="needs a CUDA device"):
        cuda_tricks()


def test_figures_draw_without_global_state():
    from coursekit.plots import float_formats_figure, roofline_figure

    peaks = Peaks(gflops=100.0, gbps=10.0, device="cpu", threads=1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
    fig = roofline_figure(peaks, {"batch 2": layer_costs(model, torch.randn(2, 1, 8, 8))})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.collections) == 2  # conv/linear points, elementwise points
    assert len(float_formats_figure().axes[0].patches) == 32 + 16 + 16  # one cell per bit
    with pytest.raises(TypeError, match="'peaks' parameter of roofline_figure"):
        roofline_figure({"gflops": 1}, {})


def test_cuda_tricks_smoke_run_on_the_cpu():
    # the GPU path cannot run here; a tiny CPU run exercises every row's code except CUDA-only ones
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bf16 on a busy 2-core CPU with 2 threads can be tens of times slower
    try:
        rows = cuda_tricks(device="cpu", repeats=1, graphs=False, infer_batches=(1,), train_batch=2,
                           memory_batch=2, image_size=8)
    finally:
        torch.set_num_threads(threads)
    by_case = {r["case"]: r for r in rows}
    for case in ("inference fp32", "inference bf16 autocast", "inference bf16 + channels-last", "training step fp32",
                 "training step TF32", "training step bf16 autocast", "training step bf16 + channels-last",
                 "digits teacher batch 1 on the CPU"):
        assert by_case[case]["value"] > 0, by_case[case]
    assert "CUDA devices only" in by_case["peak training memory fp32"]["error"]
