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
# > Exercise notebook, generated from `solutions/en/00_measure_first.py` by `python -m coursekit exercises build`.
# > Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.

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
# `nn.Conv2d(c_in, c_out, kernel_size=(kh, kw))` holds one `kh×kw` kernel per pair of input and output
# channels, and (when `bias=True`) one bias per output channel. Kernels need not be square. Complete
# `conv2d_params`; `kernel_size` is a pair `(kh, kw)`.

# %%
def conv2d_params(c_in: int, c_out: int, kernel_size: tuple[int, int], bias: bool = True) -> int:
    """Number of parameters of nn.Conv2d(c_in, c_out, kernel_size=(kh, kw), bias=bias)."""
    # Exercise 1: replace the next line with your code. Hint: lesson 00, section 4 "Parameters and size on disk"
    raise NotImplementedError('Exercise 1: not written yet (see the comment above) | 练习 1：还没写（见上方注释）')


# %% tags=["check"] check_id="ex00-conv-params" checklist=["T4"]
from coursekit.i18n import tr
from coursekit.models import count_parameters

# fixed cases that tell the usual slips apart on every run (non-square kernels, c_in != c_out, with and
# without a bias), then random ones
cases = [(3, 5, (1, 3), True), (4, 2, (3, 1), False), (2, 7, (2, 5), True), (6, 3, (3, 3), False)]
cases += [(random.randint(1, 64), random.randint(1, 64), (random.randint(1, 7), random.randint(1, 7)),
           random.random() < 0.5) for _ in range(16)]
for c_in, c_out, kernel, bias in cases:
    expected = count_parameters(nn.Conv2d(c_in, c_out, kernel, bias=bias))
    got = conv2d_params(c_in, c_out, kernel, bias=bias)
    assert got == expected, tr(f"conv2d_params({c_in}, {c_out}, {kernel}, bias={bias}) = {got}, expected {expected}",
                               f"conv2d_params({c_in}, {c_out}, {kernel}, bias={bias}) = {got}，应为 {expected}")
print("✓ conv2d_params matches coursekit.count_parameters on 20 layers (non-square kernels, with and without bias)")

# %% [markdown]
# ## 2. FLOPs of a convolution
#
# A convolution with a `kh×kw` kernel, stride `s` and zero padding `p` on an `h×w` input has
# `h_out = (h + 2p − kh) // s + 1` rows and `w_out = (w + 2p − kw) // s + 1` columns of outputs, and
# each of those positions needs `c_out` dot products of length `c_in·kh·kw`. Count a multiply-add as
# **2** FLOPs (as `torch.utils.flop_counter` does), ignore the bias, and count the work for the **whole
# batch** of `batch` images.

# %%
def conv2d_flops(c_in: int, c_out: int, kernel_size: tuple[int, int], h: int, w: int, batch: int = 1,
                 stride: int = 1, padding: int = 0) -> int:
    """FLOPs of nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding) on a (batch, c_in, h, w) input."""
    # Exercise 2: replace the next line with your code. Hint: lesson 00, section 5 "FLOPs"
    raise NotImplementedError('Exercise 2: not written yet (see the comment above) | 练习 2：还没写（见上方注释）')


# %% tags=["check"] check_id="ex00-conv-flops" checklist=["T4", "E3"]
from coursekit.i18n import tr
from coursekit.metrics import count_flops

# fixed cases first: non-square kernel, stride 2 with an odd size (floor division matters), padding
# 0 and 2, h != w, batch > 1; then random layers
cases = [(3, 4, (3, 1), 9, 6, 2, 2, 0), (2, 5, (1, 3), 7, 10, 3, 1, 2), (4, 2, (3, 3), 11, 8, 1, 2, 1),
         (1, 3, (2, 5), 6, 9, 4, 3, 0)]
for _ in range(12):
    kernel = (random.randint(1, 5), random.randint(1, 5))
    stride, padding = random.choice([1, 2, 3]), random.randint(0, 2)
    h, w = random.randint(max(kernel) + 1, 16), random.randint(max(kernel) + 1, 16)
    cases.append((random.randint(1, 32), random.randint(1, 32), kernel, h, w, random.randint(1, 4), stride, padding))
for c_in, c_out, kernel, h, w, batch, stride, padding in cases:
    layer = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding)
    expected = count_flops(layer, torch.zeros(batch, c_in, h, w))
    got = conv2d_flops(c_in, c_out, kernel, h, w, batch, stride=stride, padding=padding)
    call = f"conv2d_flops({c_in}, {c_out}, {kernel}, {h}, {w}, {batch}, stride={stride}, padding={padding})"
    assert got == expected, tr(f"{call} = {got}, expected {expected}", f"{call} = {got}，应为 {expected}")
print("✓ conv2d_flops matches torch.utils.flop_counter on 16 layers (strides, paddings, non-square kernels, batches)")

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
    # Exercise 3: replace the next line with your code. Hint: lesson 00, section 6 "Latency"
    raise NotImplementedError('Exercise 3: not written yet (see the comment above) | 练习 3：还没写（见上方注释）')


# %% tags=["check"] check_id="ex00-latency" checklist=["E3"]
from coursekit.i18n import tr


class ScriptedModel(nn.Module):
    """Sleeps for a scripted time on each call and records how it was called."""

    def __init__(self, sleeps_ms):
        super().__init__()
        self.sleeps_ms = list(sleeps_ms)
        self.calls = []  # (training, inference_mode) per call
        self.slept_ms = []  # how long each call really took inside forward (sleep overshoots on a busy machine)

    def forward(self, x):
        self.calls.append((self.training, torch.is_inference_mode_enabled()))
        start = time.perf_counter()
        time.sleep(self.sleeps_ms[min(len(self.calls), len(self.sleeps_ms)) - 1] / 1000)
        self.slept_ms.append((time.perf_counter() - start) * 1000)
        return x


def scripted_times(runs):
    """Fast calls spread evenly over 4-20 ms and a few distinct very slow ones (100 ms and more), shuffled,
    so that the minimum, the median, the mean, the p90 and the maximum are all far apart. The run counts
    are chosen so that the p90 falls between the last fast and the first slow call, at least a fifth of
    the way from either: a p90 read off by a nearest-rank rule or another quantile method lands >= 16 ms away."""
    slow = [100.0, 120.0, 140.0][: 2 if runs < 20 else 3]
    fast = [4 + 16 * i / (runs - len(slow) - 1) for i in range(runs - len(slow))]
    times = fast + slow
    random.shuffle(times)
    return times


for start_in_training in (True, False):  # the mode must be restored, whichever it was
    warmup, runs = random.randint(3, 6), random.choice([16, 17, 18, 19, 23, 24])
    timed = scripted_times(runs)
    model = ScriptedModel([150.0] * warmup + timed).train(start_in_training)
    median_ms, p90_ms = time_model(model, torch.zeros(1), warmup=warmup, runs=runs)

    assert len(model.calls) == warmup + runs, tr(f"expected {warmup} + {runs} calls, got {len(model.calls)}",
                                                 f"应调用 {warmup} + {runs} 次，实际调用了 {len(model.calls)} 次")
    assert all(not training for training, _ in model.calls), tr("call the model in eval mode",
                                                                "请在 eval 模式下调用模型")
    assert all(inference for _, inference in model.calls), tr("call the model under torch.inference_mode()",
                                                              "请在 torch.inference_mode() 下调用模型")
    assert model.training == start_in_training, tr("restore the model's train/eval mode afterwards",
                                                   "结束后请恢复模型原来的 train/eval 模式")
    slept = model.slept_ms[warmup:]  # the timed calls as they really ran: the answer key, free of sleep's overshoot
    true_median = statistics.median(slept)
    true_p90 = statistics.quantiles(slept, n=10, method="inclusive")[-1]
    # your timings add only the call's overhead to these; the wrong statistics are >= 9 ms (median) and >= 16 ms (p90) away
    assert abs(median_ms - true_median) < 2.0, tr(f"median {median_ms:.2f} ms, expected about {true_median:.2f} ms",
                                                  f"中位数 {median_ms:.2f} ms，应约为 {true_median:.2f} ms")
    assert abs(p90_ms - true_p90) < 4.0, tr(f"p90 {p90_ms:.2f} ms, expected about {true_p90:.2f} ms",
                                            f"p90 为 {p90_ms:.2f} ms，应约为 {true_p90:.2f} ms")
print(f"✓ time_model: median {median_ms:.2f} ms (inside the model {true_median:.1f}), p90 {p90_ms:.2f} ms "
      f"(inside the model {true_p90:.1f}); warm-up absorbed the {warmup} slow calls")

# %% [markdown]
# ## Done?
#
# Run `python -m coursekit check exercises/en/00_measure_first.py` (or the Chinese edition) to see the
# checklist items this exercise evidences: **T4** (evaluate and compare) and **E3** (performance
# characteristics of hardware).
