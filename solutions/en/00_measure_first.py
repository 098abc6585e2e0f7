# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 00 · Measure first
#
# Three small functions, each checked against `coursekit` on inputs drawn at random every time you run
# the check (so only a correct formula passes, not a number copied from somewhere):
#
# 1. the parameters of a convolution, by hand;
# 2. its FLOPs, by hand;
# 3. a latency measurement with warm-up, median and p90.
#
# Write your code where it says `raise NotImplementedError`, then run the check cell below it.
# When every check passes, run `python -m coursekit check exercises/en/00_measure_first.py` in a
# terminal to see which checklist items you have evidenced.

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import random
import statistics
import time

import torch
from torch import nn

# %% [markdown]
# ## 1. Parameters of a convolution
#
# `nn.Conv2d(c_in, c_out, k)` holds one `k×k` filter per pair of input and output channels, and (when
# `bias=True`) one bias per output channel. Complete `conv2d_params`.

# %%
def conv2d_params(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    """Number of parameters of nn.Conv2d(c_in, c_out, kernel_size=k, bias=bias)."""
    ### BEGIN SOLUTION  hint: lesson 00, section 4 "Parameters and size on disk"
    return c_out * c_in * k * k + (c_out if bias else 0)
    ### END SOLUTION


# %% tags=["check"] check_id="ex00-conv-params" checklist=["T4"]
from coursekit.models import count_parameters

for _ in range(20):
    c_in, c_out, k = random.randint(1, 64), random.randint(1, 64), random.choice([1, 3, 5, 7])
    bias = random.random() < 0.5
    layer = nn.Conv2d(c_in, c_out, k, bias=bias)
    expected = count_parameters(layer)
    got = conv2d_params(c_in, c_out, k, bias=bias)
    assert got == expected, f"conv2d_params({c_in}, {c_out}, {k}, bias={bias}) = {got}, expected {expected}"
print("✓ conv2d_params matches coursekit.count_parameters on 20 random layers")

# %% [markdown]
# ## 2. FLOPs of a convolution
#
# With padding that keeps the size (`padding=k // 2`, odd `k`), the output has `H×W` positions, and each
# needs `c_out` dot products of length `c_in·k·k`. Count a multiply-add as **2** FLOPs (as
# `torch.utils.flop_counter` does), ignore the bias, and count the work for the **whole batch** of
# `batch` images.

# %%
def conv2d_flops(c_in: int, c_out: int, k: int, h: int, w: int, batch: int = 1) -> int:
    """FLOPs of nn.Conv2d(c_in, c_out, k, padding=k // 2) on a (batch, c_in, h, w) input."""
    ### BEGIN SOLUTION  hint: lesson 00, section 5 "FLOPs"
    return 2 * batch * c_out * c_in * k * k * h * w
    ### END SOLUTION


# %% tags=["check"] check_id="ex00-conv-flops" checklist=["T4", "E3"]
from coursekit.metrics import count_flops

for _ in range(10):
    c_in, c_out, k = random.randint(1, 32), random.randint(1, 32), random.choice([1, 3, 5])
    h, w, batch = random.randint(4, 16), random.randint(4, 16), random.randint(1, 4)
    layer = nn.Conv2d(c_in, c_out, k, padding=k // 2)
    expected = count_flops(layer, torch.zeros(batch, c_in, h, w))
    got = conv2d_flops(c_in, c_out, k, h, w, batch)
    assert got == expected, f"conv2d_flops({c_in}, {c_out}, {k}, {h}, {w}, {batch}) = {got}, expected {expected}"
print("✓ conv2d_flops matches torch.utils.flop_counter on 10 random layers")

# %% [markdown]
# ## 3. A latency measurement
#
# Write `time_model(model, x, warmup, runs)`: put the model in eval mode, call it `warmup` times
# without timing, then time `runs` calls one by one with `time.perf_counter()` (under
# `torch.inference_mode()`), restore the model's train/eval mode, and return `(median_ms, p90_ms)`.
# For the p90 use `statistics.quantiles(times, n=10, method="inclusive")[-1]`.
#
# The check gives your function a model whose speed it controls: slow calls that only warm-up should
# absorb, then a mix of fast calls and occasional very slow ones (so the mean and the median differ).

# %%
def time_model(model: nn.Module, x: torch.Tensor, warmup: int = 10, runs: int = 50) -> tuple[float, float]:
    """(median, p90) latency of model(x) in milliseconds, after `warmup` untimed calls."""
    ### BEGIN SOLUTION  hint: lesson 00, section 6 "Latency"
    was_training = model.training
    model.eval()
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000)
    model.train(was_training)
    return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    ### END SOLUTION


# %% tags=["check"] check_id="ex00-latency" checklist=["E3"]
class ScriptedModel(nn.Module):
    """Sleeps for a scripted time on each call and records how it was called."""

    def __init__(self, sleeps_ms):
        super().__init__()
        self.sleeps_ms = list(sleeps_ms)
        self.calls = []  # (training, inference_mode) per call

    def forward(self, x):
        self.calls.append((self.training, torch.is_inference_mode_enabled()))
        time.sleep(self.sleeps_ms[min(len(self.calls), len(self.sleeps_ms)) - 1] / 1000)
        return x


def scripted_times(runs):
    """Fast calls spread evenly over 4-20 ms and a few distinct very slow ones, shuffled, so that the
    minimum, the median, the mean, the p90 and the maximum are all far apart."""
    slow = [60.0, 75.0, 90.0][: max(2, runs // 8)]
    fast = [4 + 16 * i / (runs - len(slow) - 1) for i in range(runs - len(slow))]
    times = fast + slow
    random.shuffle(times)
    return times


for start_in_training in (True, False):  # the mode must be restored, whichever it was
    warmup, runs = random.randint(3, 6), random.randint(16, 24)
    timed = scripted_times(runs)
    model = ScriptedModel([150.0] * warmup + timed).train(start_in_training)
    median_ms, p90_ms = time_model(model, torch.zeros(1), warmup=warmup, runs=runs)

    assert len(model.calls) == warmup + runs, f"expected {warmup} + {runs} calls, got {len(model.calls)}"
    assert all(not training for training, _ in model.calls), "call the model in eval mode"
    assert all(inference for _, inference in model.calls), "call the model under torch.inference_mode()"
    assert model.training == start_in_training, "restore the model's train/eval mode afterwards"
    true_median = statistics.median(timed)
    true_p90 = statistics.quantiles(timed, n=10, method="inclusive")[-1]
    # time.sleep overshoots by a fraction of a millisecond; the wrong statistics are >= 4 ms away
    assert abs(median_ms - true_median) < 2.0, f"median {median_ms:.2f} ms, expected about {true_median:.2f} ms"
    assert abs(p90_ms - true_p90) < 4.0, f"p90 {p90_ms:.2f} ms, expected about {true_p90:.2f} ms"
print(f"✓ time_model: median {median_ms:.2f} ms (scripted {true_median:.1f}), p90 {p90_ms:.2f} ms "
      f"(scripted {true_p90:.1f}); warm-up absorbed the {warmup} slow calls")

# %% [markdown]
# ## Done?
#
# Run `python -m coursekit check exercises/en/00_measure_first.py` (or the Chinese edition) to see the
# checklist items this exercise evidences: **T4** (evaluate and compare) and **E3** (performance
# characteristics of hardware).
