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
# > 练习笔记本，由 `python -m coursekit exercises build` 从 `solutions/zh/00_measure_first.py` 生成。
# > 把每个 `raise NotImplementedError(...)` 换成你的代码，然后运行它下面的检查单元格。

# %% [markdown]
# # 练习 00 · 先测量 (Measure first)
#
# 本练习有三个小函数。每次运行检查单元格时，它们都会在随机抽取的输入上与 `coursekit` 的结果对照（所以只有正确的公式才能通过，从别处抄来的数字是过不了的）：
#
# 1. 手算一个卷积层的参数量 (parameters)；
# 2. 手算它的浮点运算次数 FLOPs；
# 3. 实现一个带预热 (warm-up)、中位数 (median) 和 p90 的延迟 (latency) 测量。
#
# 在写着 `raise NotImplementedError` 的地方填上你的代码，然后运行它下面的检查单元格。所有检查都通过后，在终端里运行 `python -m coursekit check exercises/zh/00_measure_first.py`，看看你已经为哪些清单项提供了证据。

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import random
import statistics
import time

import torch
from torch import nn

# %% [markdown]
# ## 1. 卷积层的参数量
#
# `nn.Conv2d(c_in, c_out, k)` 为每一对输入通道与输出通道各保存一个 `k×k` 的卷积核 (filter)，并且（当 `bias=True` 时）为每个输出通道保存一个偏置 (bias)。请补全 `conv2d_params`。

# %%
def conv2d_params(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    """Number of parameters of nn.Conv2d(c_in, c_out, kernel_size=k, bias=bias)."""
    # 练习 1：把下一行换成你的代码。提示：第 00 课第 4 节“参数量与磁盘大小”
    raise NotImplementedError('Exercise 1: not written yet (see the comment above)')


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
# ## 2. 卷积层的 FLOPs
#
# 使用保持尺寸不变的填充 (padding)（`padding=k // 2`，`k` 为奇数）时，输出有 `H×W` 个位置，每个位置都要计算 `c_out` 个长度为 `c_in·k·k` 的点积。一次乘加 (multiply-add) 记作 **2** 次 FLOPs（与 `torch.utils.flop_counter` 的做法一致），偏置忽略不计，并且要统计整个批次（共 `batch` 张图像）的全部计算量。

# %%
def conv2d_flops(c_in: int, c_out: int, k: int, h: int, w: int, batch: int = 1) -> int:
    """FLOPs of nn.Conv2d(c_in, c_out, k, padding=k // 2) on a (batch, c_in, h, w) input."""
    # 练习 2：把下一行换成你的代码。提示：第 00 课第 5 节“FLOPs”
    raise NotImplementedError('Exercise 2: not written yet (see the comment above)')


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
# ## 3. 测量延迟
#
# 编写 `time_model(model, x, warmup, runs)`：把模型切换到评估模式 (eval mode)，先调用 `warmup` 次但不计时，然后在 `torch.inference_mode()` 下用 `time.perf_counter()` 对 `runs` 次调用逐一计时，之后恢复模型原来的 train/eval 模式，并返回 `(median_ms, p90_ms)`。p90 请用 `statistics.quantiles(times, n=10, method="inclusive")[-1]` 计算。
#
# 检查单元格会交给你的函数一个“由它来控制快慢”的模型：开头是几次本该被预热吸收掉的慢调用，之后是一串快速调用，中间偶尔夹杂几次极慢的调用（因此平均值 (mean) 和中位数会不一样）。

# %%
def time_model(model: nn.Module, x: torch.Tensor, warmup: int = 10, runs: int = 50) -> tuple[float, float]:
    """(median, p90) latency of model(x) in milliseconds, after `warmup` untimed calls."""
    # 练习 3：把下一行换成你的代码。提示：第 00 课第 6 节“延迟”
    raise NotImplementedError('Exercise 3: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex00-latency" checklist=["E3"]
class ScriptedModel(nn.Module):
    """Sleeps for a scripted time on each call and records how it was called."""

    def __init__(self, sleeps_ms):
        super().__init__()
        self.sleeps_ms = list(sleeps_ms)
        self.calls = []  # 每次调用记录一个 (training, inference_mode)

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


for start_in_training in (True, False):  # 无论原来处于哪种模式，之后都必须恢复
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
    # time.sleep 会多睡零点几毫秒；而用错的统计量至少会差出 4 ms
    assert abs(median_ms - true_median) < 2.0, f"median {median_ms:.2f} ms, expected about {true_median:.2f} ms"
    assert abs(p90_ms - true_p90) < 4.0, f"p90 {p90_ms:.2f} ms, expected about {true_p90:.2f} ms"
print(f"✓ time_model: median {median_ms:.2f} ms (scripted {true_median:.1f}), p90 {p90_ms:.2f} ms "
      f"(scripted {true_p90:.1f}); warm-up absorbed the {warmup} slow calls")

# %% [markdown]
# ## 完成了吗？
#
# 运行 `python -m coursekit check exercises/zh/00_measure_first.py`（或英文版 `exercises/en/00_measure_first.py`），查看本练习能证明的清单项：**T4**（能够评估和对比不同压缩方法的效果）和 **E3**（理解不同硬件平台的性能特点）。
