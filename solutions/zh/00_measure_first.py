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
# `nn.Conv2d(c_in, c_out, kernel_size=(kh, kw))` 为每一对输入通道与输出通道各保存一个 `kh×kw` 的卷积核 (kernel)，并且（当 `bias=True` 时）为每个输出通道保存一个偏置 (bias)。卷积核不一定是正方形的。请补全 `conv2d_params`；`kernel_size` 是一个二元组 `(kh, kw)`。

# %%
def conv2d_params(c_in: int, c_out: int, kernel_size: tuple[int, int], bias: bool = True) -> int:
    """Number of parameters of nn.Conv2d(c_in, c_out, kernel_size=(kh, kw), bias=bias)."""
    ### BEGIN SOLUTION  hint: 第 00 课第 4 节“参数量与磁盘大小”
    kh, kw = kernel_size
    return c_out * c_in * kh * kw + (c_out if bias else 0)
    ### END SOLUTION


# %% tags=["check"] check_id="ex00-conv-params" checklist=["T4"]
from coursekit.i18n import tr
from coursekit.models import count_parameters

# 先是固定的几组：每次运行都能区分常见的错误（非正方形卷积核、c_in != c_out、有无偏置），然后是随机的
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
# ## 2. 卷积层的 FLOPs
#
# 一个卷积核为 `kh×kw`、步长 (stride) 为 `s`、零填充 (padding) 为 `p` 的卷积，作用在 `h×w` 的输入上，输出有 `h_out = (h + 2p − kh) // s + 1` 行、`w_out = (w + 2p − kw) // s + 1` 列，每个输出位置都要计算 `c_out` 个长度为 `c_in·kh·kw` 的点积。一次乘加 (multiply-add) 记作 **2** 次 FLOPs（与 `torch.utils.flop_counter` 的做法一致），偏置忽略不计，并且要统计**整个批次**（共 `batch` 张图像）的全部计算量。

# %%
def conv2d_flops(c_in: int, c_out: int, kernel_size: tuple[int, int], h: int, w: int, batch: int = 1,
                 stride: int = 1, padding: int = 0) -> int:
    """FLOPs of nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding) on a (batch, c_in, h, w) input."""
    ### BEGIN SOLUTION  hint: 第 00 课第 5 节“FLOPs”
    kh, kw = kernel_size
    h_out = (h + 2 * padding - kh) // stride + 1
    w_out = (w + 2 * padding - kw) // stride + 1
    return 2 * batch * c_out * c_in * kh * kw * h_out * w_out
    ### END SOLUTION


# %% tags=["check"] check_id="ex00-conv-flops" checklist=["T4", "E3"]
from coursekit.i18n import tr
from coursekit.metrics import count_flops

# 先是固定的几组：非正方形卷积核、步长 (stride) 2 配奇数尺寸（向下取整有影响）、填充 0 和 2、h != w、batch > 1；然后是随机的层
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
# ## 3. 测量延迟
#
# 编写 `time_model(model, x, warmup, runs)`：把模型切换到评估模式 (eval mode)，先调用 `warmup` 次但不计时，然后在 `torch.inference_mode()` 下用 `time.perf_counter()` 对 `runs` 次调用逐一计时，之后恢复模型原来的 train/eval 模式，并返回 `(median_ms, p90_ms)`。p90 请用 `statistics.quantiles(times, n=10, method="inclusive")[-1]` 计算。
#
# 检查单元格会交给你的函数一个“由它来控制快慢”的模型：开头是几次本该被预热吸收掉的慢调用，之后是一串快速调用，中间偶尔夹杂几次极慢的调用（因此平均值 (mean) 和中位数会不一样）。

# %%
def time_model(model: nn.Module, x: torch.Tensor, warmup: int = 10, runs: int = 50) -> tuple[float, float]:
    """(median, p90) latency of model(x) in milliseconds, after `warmup` untimed calls."""
    ### BEGIN SOLUTION  hint: 第 00 课第 6 节“延迟”
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
from coursekit.i18n import tr


class ScriptedModel(nn.Module):
    """Sleeps for a scripted time on each call and records how it was called."""

    def __init__(self, sleeps_ms):
        super().__init__()
        self.sleeps_ms = list(sleeps_ms)
        self.calls = []  # 每次调用记录一个 (training, inference_mode)
        self.slept_ms = []  # 每次调用在 forward 里实际花的时间（机器繁忙时 sleep 会睡过头）

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


for start_in_training in (True, False):  # 无论原来处于哪种模式，之后都必须恢复
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
    slept = model.slept_ms[warmup:]  # 计时调用的实际耗时：作为标准答案，不受 sleep 睡过头的影响
    true_median = statistics.median(slept)
    true_p90 = statistics.quantiles(slept, n=10, method="inclusive")[-1]
    # 你测到的时间只比这些多出调用本身的开销；错误的统计量会差出 9 ms 以上（中位数）和 16 ms 以上（p90）
    assert abs(median_ms - true_median) < 2.0, tr(f"median {median_ms:.2f} ms, expected about {true_median:.2f} ms",
                                                  f"中位数 {median_ms:.2f} ms，应约为 {true_median:.2f} ms")
    assert abs(p90_ms - true_p90) < 4.0, tr(f"p90 {p90_ms:.2f} ms, expected about {true_p90:.2f} ms",
                                            f"p90 为 {p90_ms:.2f} ms，应约为 {true_p90:.2f} ms")
print(f"✓ time_model: median {median_ms:.2f} ms (inside the model {true_median:.1f}), p90 {p90_ms:.2f} ms "
      f"(inside the model {true_p90:.1f}); warm-up absorbed the {warmup} slow calls")

# %% [markdown]
# ## 完成了吗？
#
# 运行 `python -m coursekit check exercises/zh/00_measure_first.py`（或英文版 `exercises/en/00_measure_first.py`），查看本练习能证明的清单项：**T4**（能够评估和对比不同压缩方法的效果）和 **E3**（理解不同硬件平台的性能特点）。
