import math
import time

import pytest
import torch
from torch import nn

from coursekit.metrics import LatencyStats, count_flops, measure_latency, profile_model


class Sleepy(nn.Module):
    def __init__(self, ms):
        super().__init__()
        self.ms = ms
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_inference_mode_enabled(), torch.get_num_threads()))
        time.sleep(self.ms / 1000)
        return x


def test_latency_counts_warmup_and_runs_and_reports_stats():
    model = Sleepy(2.0).train()
    stats = measure_latency(model, torch.zeros(5, 3), warmup=3, runs=7, threads=1)
    assert isinstance(stats, LatencyStats)
    assert len(model.calls) == 10 and stats.runs == 7 and len(stats.times_ms) == 7
    assert stats.batch_size == 5 and stats.threads == 1
    assert 2.0 <= stats.median_ms < 50 and stats.min_ms <= stats.median_ms <= stats.p90_ms
    assert stats.std_ms >= 0 and stats.mean_ms >= stats.min_ms
    assert "threads=1" in repr(stats) and "batch_size=5" in repr(stats)


def test_latency_runs_in_eval_and_inference_mode_and_restores_state():
    model = Sleepy(0.1).train()
    before = torch.get_num_threads()
    measure_latency(model, torch.zeros(1), warmup=1, runs=2, threads=1)
    assert all(not training and inference and threads == 1 for training, inference, threads in model.calls)
    assert model.training and torch.get_num_threads() == before


def test_latency_restores_state_even_when_the_model_fails():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = Broken().train()
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"):
        measure_latency(model, torch.zeros(1), threads=1)
    assert model.training and torch.get_num_threads() == before


def test_p90_is_the_linearly_interpolated_90th_percentile():
    from unittest import mock

    times = iter([v for i in range(1, 11) for v in (0.0, i / 1000)])  # runs of 1..10 ms
    with mock.patch("coursekit.metrics.time.perf_counter", lambda: next(times)):
        stats = measure_latency(lambda x: x, torch.zeros(1), warmup=0, runs=10)
    assert stats.times_ms == pytest.approx(tuple(float(v) for v in range(1, 11)))
    assert stats.p90_ms == pytest.approx(9.1) and stats.median_ms == pytest.approx(5.5)


def test_a_plain_function_that_sleeps_2_ms_measures_about_2_ms():
    calls = []

    def sleepy(x):
        calls.append(x.shape)
        time.sleep(0.002)
        return x

    stats = measure_latency(sleepy, torch.zeros(3, 2), warmup=2, runs=20)
    assert len(calls) == 22 and stats.batch_size == 3
    assert 1.9 <= stats.median_ms < 8  # sleep never returns early; a busy machine can add a few ms
    assert stats.device == "cpu" and "device='cpu'" in repr(stats)


def test_latency_times_any_callable_with_a_mode():
    class Runtime:  # like OnnxModel: eval()/train() that do nothing
        training = False

        def eval(self):
            return self

        def train(self, mode=True):
            return self

        def __call__(self, x):
            return x + 1

    assert measure_latency(Runtime(), torch.zeros(2), warmup=0, runs=3).runs == 3
    with pytest.raises(TypeError, match="'model' parameter of measure_latency must be a callable"):
        measure_latency("model", torch.zeros(2))


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"runs": 0}, ValueError, r"The 'runs' parameter of measure_latency must be an int in the range \[1, inf\). Got 0"),
    ({"warmup": -1}, ValueError, "'warmup'"),
    ({"threads": 0}, ValueError, "'threads'"),
    ({"runs": 2.0}, TypeError, "'runs'"),
])
def test_latency_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        measure_latency(nn.Identity(), torch.zeros(1), **kwargs)


def test_latency_rejects_non_tensor_input():
    with pytest.raises(TypeError, match="'example_input' parameter of measure_latency must be a torch.Tensor"):
        measure_latency(nn.Identity(), [1, 2])


def test_flops_of_linear_and_conv_count_a_multiply_add_as_two():
    assert count_flops(nn.Linear(10, 20), torch.zeros(3, 10)) == 2 * 3 * 10 * 20
    conv = nn.Conv2d(4, 8, 3, padding=1)
    assert count_flops(conv, torch.zeros(2, 4, 6, 6)) == 2 * 2 * 8 * 4 * 9 * 36


def test_flops_restore_mode_and_validate():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).train()
    count_flops(model, torch.zeros(1, 2))
    assert model.training
    with pytest.raises(TypeError, match="'model' parameter of count_flops"):
        count_flops(lambda x: x, torch.zeros(1))


def test_profile_model():
    from coursekit.models import StudentNet

    model = StudentNet(in_channels=1)
    profile = profile_model(model, torch.zeros(4, 1, 8, 8))
    assert profile.parameters == sum(p.numel() for p in model.parameters())
    assert profile.flops == count_flops(model, torch.zeros(1, 1, 8, 8))
    assert profile.accuracy is None and "StudentNet" in repr(profile)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
def test_latency_on_cuda_synchronises_and_records_the_device():
    x = torch.randn(256, 256, device="cuda")
    stats = measure_latency(lambda a: a @ a @ a, x, warmup=2, runs=5)
    assert stats.device.startswith("cuda") and stats.median_ms > 0


def _sleeper(ms):
    def fn(x):
        time.sleep(ms / 1000)
        return x
    return fn


def test_compare_speed_times_plain_functions_and_ranks_them():
    from coursekit.metrics import compare_speed

    result = compare_speed({"slow": _sleeper(6), "fast": _sleeper(1), "net": nn.Linear(4, 2)},
                           torch.zeros(3, 4), batch_sizes=(2,), threads=(1,), runs=3, rounds=2, warmup=0)
    fast = result.row("fast", 2, 1)
    assert fast.speedup > 2 and fast.judge() == "above"  # 6 ms against 1 ms, whatever the noise
    assert result.row("net", 2, 1).flops == 2 * 2 * 4 * 2  # FLOPs are counted for modules only
    assert math.isnan(fast.flops_reduction) and fast.flops == 0


def test_class_accuracy_counts_only_the_class():
    from torch.utils.data import DataLoader, TensorDataset

    from coursekit.metrics import class_accuracy

    x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    y = torch.tensor([0, 1, 1, 1])  # the model predicts argmax(x): right on 0, wrong once on 1
    loader = DataLoader(TensorDataset(x, y), batch_size=3)
    assert class_accuracy(lambda b: b, loader, 0) == 1.0
    assert class_accuracy(lambda b: b, loader, 1) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="'label' parameter of class_accuracy must be a class present"):
        class_accuracy(lambda b: b, loader, 5)
