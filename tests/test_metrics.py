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


def test_percentile_is_the_90th():
    from coursekit.metrics import _percentile

    values = [float(v) for v in range(1, 11)]
    assert _percentile(values, 90) == pytest.approx(9.1)
    assert _percentile(values, 50) == pytest.approx(5.5)


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
