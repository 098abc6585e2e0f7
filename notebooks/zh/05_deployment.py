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
# # 05 · 部署
#
# *压缩后的模型只有在别处跑起来才有用——在另一个进程里、不依赖你的训练代码、承受真实的流量。先把它从 Python
# 里拿出来，证明它仍是同一个模型，再按生产环境的方式测量它。*
#
# 本课部署课程里压缩过的**学生模型**（第 00 课训练，第 01 课蒸馏）：
#
# - `torch.export`：保存和加载带动态批大小（dynamic batch）的 `.pt2` 程序，以及模型无法导出时如何读懂报错；
# - ONNX 导出与 **ONNX Runtime**；**先对齐，再谈速度**（logits 相同，预测相同）；
# - CPU 上的 `torch.compile` 及其代价（第一次调用、遇到新形状时重新编译）；
# - 批大小 1 时的延迟**百分位数**、更大批次下的**吞吐量**、**线程数**、**冷启动**；
# - **负载下的批处理**：多个客户端、一个服务端，逐个处理 vs 微批处理（micro-batching）；
# - 一个自包含的**部署包**（一个 ONNX 文件 + 约 40 行的 `serve.py`），不需要 torch 就能运行；
# - 不同目标平台该选哪个运行时：笔记本 CPU、服务器 CPU、NVIDIA GPU、手机/边缘设备。
#
# 下面每个数字都是运行本 notebook 时在你的机器上实测的；除非单元格另有说明，都只用一个线程。在共享或繁忙的机器上，
# 速度数字每次运行都会变化：本课打印的是同一次运行中并排测得的比值及其波动范围。

# %%
import os

# Idle OpenMP threads busy-wait and make 2-thread timings on a busy machine far slower; PASSIVE makes
# them sleep. It only works if set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# %matplotlib inline

import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from coursekit.artefact import cold_start, write_artefact
from coursekit.data import load_dataset, make_loaders
from coursekit.export import (
    OnnxModel,
    compile_available,
    explain_export_error,
    export_program,
    load_program,
    onnx_size_bytes,
    parity,
    to_onnx,
)
from coursekit.models import count_parameters
from coursekit.pretrained import pretrained
from coursekit.serving import interleaved_medians, latency_report, load_test, timings_ms
from coursekit.stats import claim
from coursekit.train import evaluate

torch.manual_seed(0)
torch.set_num_threads(1)  # one thread for every comparison below, unless a cell says otherwise
splits = load_dataset("digits", seed=0)
loaders = make_loaders(splits, batch_size=64, seed=0)
test_x = torch.stack([splits.test[i][0] for i in range(len(splits.test))])  # (N, 1, 8, 8)
student = pretrained("student", progress=False).eval()
work = Path(tempfile.mkdtemp(prefix="lesson05-"))  # every file this lesson writes goes here
print(f"student: {count_parameters(student):,} parameters, test accuracy "
      f"{evaluate(student, loaders.test).accuracy:.2%} on {len(test_x)} images; files in {work}")

# %% [markdown]
# ## 1. `torch.export`：把模型变成一个程序
#
# 训练代码是 Python：一个类、一个 `forward` 方法，以及它调用的一切。部署后的模型不应该依赖这些。
# `torch.export.export` 用一个示例输入把 `forward` 跑一遍，把每个张量运算记录成一张图——一个
# `ExportedProgram`——再由 `torch.export.save` 写入 `.pt2` 文件。加载它需要 torch，但不需要 `StudentNet`
# 类，也不需要 `coursekit` 里的任何东西。
#
# 我们用来追踪（trace）的示例有 8 张图片。`export_program` 把批维度标记为**动态**（1 到 4096 之间任意大小）。
#
# **先预测**再运行：加载后的程序能接受批大小 1 吗？359 呢？它的 logits 会与原模型完全相等，还是只是接近？

# %%
program_path = export_program(student, work / "student.pt2", test_x[:8])
program = load_program(program_path)
print(f"{program_path.name}: {program_path.stat().st_size / 1024:.0f} KiB")
with torch.inference_mode():
    for batch in (1, 8, len(test_x)):
        diff = (program(test_x[:batch]) - student(test_x[:batch])).abs().max().item()
        print(f"batch {batch:3d}: largest |logit difference| vs the original = {diff:.2e}")
print(program.program.graph_module.code.strip().splitlines()[0][:100], "...")  # the traced graph, as Python

# %% [markdown]
# 程序在每种批大小下都能运行，logits 相等（或者只在最后几位上不同：同样的运算，顺序可能不同）。图里只有普通的
# 张量运算，权重作为输入：追踪之后，Python 的类、`if`、循环都不复存在。这也正是 `torch.export` 的边界，下一个
# 单元格会故意撞上它。
#
# ## 2. 哪些代码导不出来，以及如何读懂报错
#
# 两个在 Python 里运行得好好的小模型。第一个根据输入的**数值**选择分支；第二个在 reshape 时写死了批大小。

# %%
class ValueBranch(nn.Module):
    """Picks a head from the input's values: fine in Python, one graph cannot hold both branches."""

    def __init__(self):
        super().__init__()
        self.bright, self.dark = nn.Linear(64, 10), nn.Linear(64, 10)

    def forward(self, x):
        x = x.flatten(1)
        if x.mean() > 0:  # a Python `if` on a tensor's value
            return self.bright(x)
        return self.dark(x)


class FixedBatch(nn.Module):
    def forward(self, x):
        return x.reshape(8, -1)  # the batch size written in: only 8 will ever work


for model in (ValueBranch(), FixedBatch()):
    try:
        export_program(model, work / "broken.pt2", test_x[:8])
        print(type(model).__name__, "exported")
    except Exception as error:
        print(f"{type(model).__name__} failed to export:\n{explain_export_error(error)}\n")

# %% [markdown]
# 如何读这些报错（完整信息更长；`explain_export_error` 只保留最该先读的几行）：
#
# - **`GuardOnDataDependentSymNode` / "data-dependent expression"**：代码根据一个只有真实数据到来时才知道的值
#   做分支（`u0` 就代表这个值）。"The following call raised this error" 下面那一行指向那个 `if`。修法：两个分支
#   都算，再用张量运算（`torch.where`）挑选；真正需要控制流时用 `torch.cond`。
# - **"Constraints violated (batch)" / "specialized it to be a constant"**：我们要求批维度是动态的，但代码只对
#   一个大小有效。"Suggested fixes" 告诉你它发现的是哪个大小。要改的是代码（`x.reshape(x.shape[0], -1)` 或
#   `x.flatten(1)`），而不是约束。
#
# 第一种修法，验证一下：

# %%
class ValueBranchFixed(ValueBranch):
    def forward(self, x):
        x = x.flatten(1)
        return torch.where(x.mean() > 0, self.bright(x), self.dark(x))  # both branches, picked by value


fixed = ValueBranchFixed().eval()
fixed.load_state_dict(ValueBranch().state_dict())
reloaded = load_program(export_program(fixed, work / "fixed.pt2", test_x[:8]))
p = parity(fixed, reloaded, [test_x, -test_x])  # bright and dark inputs: both branches taken
print(p)
ok = claim(p.ok(), "the rewritten model exports and agrees with Python on both branches",
      "改写后的模型可以导出，且在两个分支上都与 Python 一致")

# %% [markdown]
# ## 3. ONNX 与 ONNX Runtime
#
# ONNX 是一种计算图文件格式，许多运行时都能读取；**ONNX Runtime**（ORT）是微软为它开发的运行时（支持 CPU、
# CUDA、TensorRT、移动端……）。torch 当前的 ONNX 导出器先用 `torch.export`，再翻译这张图，所以同样的规则适用。
# `to_onnx` 以动态批大小导出；`OnnxModel` 在 ORT 中运行该文件（这里用 1 个线程），调用方式和模型一样。

# %%
onnx_path = to_onnx(student, work / "student.onnx", test_x[:8])
ort_model = OnnxModel(onnx_path, threads=1)
print(ort_model)
print(f"the state_dict in memory: {sum(t.numel() * t.element_size() for t in student.state_dict().values()) / 1024:.0f} KiB, "
      f".pt2 {program_path.stat().st_size / 1024:.0f} KiB, .onnx (+ weights) {onnx_size_bytes(onnx_path) / 1024:.0f} KiB")

# %% [markdown]
# ## 4. 先对齐，再谈速度
#
# 一个更快但答案不同的模型，并不是*你的*模型的更快版本。在任何计时之前，先在**真实的测试集**上比较两个运行时：
# 所有 logit 中最大的绝对差，以及预测类别相同的图片所占的比例。
#
# **先预测**：ONNX Runtime 会融合、重排运算。logits 会逐位相同吗？会有预测发生变化吗？

# %%
onnx_parity = parity(student, ort_model, loaders.test)
program_parity = parity(student, program, loaders.test)
print("torch vs ONNX Runtime:", onnx_parity)
print("torch vs torch.export:", program_parity)
ok = claim(onnx_parity.ok(atol=1e-4) and program_parity.ok(atol=1e-4),
      "both exported models agree with torch: logits within 1e-4, every prediction identical",
      "两个导出的模型都与 torch 一致：logits 相差不超过 1e-4，每个预测都相同")

# %% [markdown]
# 不是逐位相同：浮点加法不满足结合律，ORT 的求和顺序不同。logits 大小在 10 左右时，1e-6 量级的差是舍入误差；
# 而 1e-2 量级的差就是 bug（输入布局错了、某层停在训练模式、漏了归一化），即使大多数预测仍然一致。只看一致率太弱；
# 只看 logit 差又说明不了决策。两个都要报告。
#
# 差异多大仍然无害？把每个权重舍入到 16 位浮点再转回来看看：

# %%
rounded = pretrained("student", progress=False).eval()
with torch.no_grad():
    for tensor in rounded.state_dict().values():
        tensor.copy_(tensor.half().float())  # fp16 rounding of every weight, computed in fp32
fp16_parity = parity(student, rounded, loaders.test)
print("torch vs fp16-rounded weights:", fp16_parity)
print(f"the rounded weights move the logits {fp16_parity.max_abs_diff / onnx_parity.max_abs_diff:,.0f}× "
      "more than ONNX Runtime does")

# %% [markdown]
# **观察并解释**（答案在第 6 节）：fp16 舍入后的权重让 logits 的变化远大于 ONNX Runtime（见上面的比值）。
# 预测变了吗？对于 fp32 导出，你会在部署测试里写什么阈值？对于 fp16 导出呢？

# %% [markdown]
# ## 5. 批大小 1 的延迟：看百分位数，不看平均值
#
# 在线服务一次回答一个请求，所以用户感受到的是批大小 1 的数字。多次计时，报告 **p50**（典型请求）、**p90** 和
# **p99**（慢尾巴：每一百个请求就有一个比 p99 慢；一个页面要调用模型 50 次时，就经常会碰上它）。每个运行时都以
# 自己的原生方式调用：torch 在 `inference_mode` 下接收张量，ORT 接收 numpy 数组。
#
# **先预测**：对这个小模型，批大小 1 时 torch eager 和 ONNX Runtime 哪个更快？快多少？

# %%
@torch.inference_mode()
def torch_eager(x):
    return student(x)


@torch.inference_mode()
def torch_program(x):
    return program(x)


x1, x1_np = test_x[:1], test_x[:1].numpy()
runtimes = {"torch eager": (torch_eager, x1), "torch.export (.pt2)": (torch_program, x1),
            "ONNX Runtime": (ort_model.run_numpy, x1_np)}
raw = {name: timings_ms(fn, x, runs=300, warmup=30) for name, (fn, x) in runtimes.items()}
print(f"batch 1, 1 thread, 300 calls each    {'p50':>8s} {'p90':>8s} {'p99':>8s} {'max':>8s}  (ms)")
for name, times in raw.items():
    r = latency_report(times)
    print(f"{name:34s} {r.p50_ms:8.3f} {r.p90_ms:8.3f} {r.p99_ms:8.3f} {r.max_ms:8.2f}")

# %% [markdown]
# 单次计时可能不走运：某个运行时计时期间恰好有别的进程在跑。所以比较要在**交替进行的多轮**中重复
# （eager、export、ORT、eager、export、ORT……）；每轮中位数之比，以及它在各轮之间的范围，才是该引用的数字。

# %%
rounds = interleaved_medians({name: (lambda fn=fn, x=x: fn(x)) for name, (fn, x) in runtimes.items()},
                             repeats=5, runs=60)
ratios = [e / o for e, o in zip(rounds["torch eager"], rounds["ONNX Runtime"])]
print("median ms per round:", {name: [f"{v:.3f}" for v in values] for name, values in rounds.items()})
print(f"ONNX Runtime is {statistics.median(ratios):.1f}× faster than torch eager at batch 1 "
      f"(range over 5 rounds {min(ratios):.1f}–{max(ratios):.1f}×)")
ok = claim(statistics.median(ratios) > 1, "ONNX Runtime beats torch eager at batch 1",
      "在批大小 1 时，ONNX Runtime 比 torch eager 快")

# %% [markdown]
# 为什么一个小模型在批大小 1 时用 ORT 快这么多？它的算术量很小（几十万次乘加）：torch eager 的大部分时间花在
# **每个运算的开销**上——Python 调用、分派（dispatch）、autograd 检查、分配输出。ORT 一次性规划整张图、融合运算、
# 复用缓冲区，除了算术本身几乎没剩下什么。`.pt2` 程序去掉了 Python *类*，但仍然经过 torch 的分派器逐个执行运算：
# 开销和 eager 差不多。
#
# ## 6. 更大批次下的吞吐量，以及线程数
#
# 批处理任务（给一天的图片打分）关心的是**每秒处理多少张图片**，而不是单次延迟。更大的批次把每次调用的固定开销
# 分摊到更多图片上。
#
# **先预测**：到批大小 256 时，ORT 的优势会变大还是变小？第二个线程又能带来什么？

# %%
print(f"{'runtime':14s} {'batch':>5s} {'threads':>7s} {'ms / batch':>10s} {'images/s':>10s}")
throughput = {}
for batch in (1, 64, 256):
    xb = test_x[:batch]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        multi = OnnxModel(onnx_path, threads=threads)
        medians = interleaved_medians({"torch eager": lambda xb=xb: torch_eager(xb),
                                       "ONNX Runtime": lambda m=multi, xb=xb: m.run_numpy(xb.numpy())},
                                      repeats=3, runs={1: 40, 64: 10, 256: 4}[batch], warmup=2)
        for name, values in medians.items():
            ms = statistics.median(values)
            throughput[name, batch, threads] = batch / ms * 1e3
            print(f"{name:14s} {batch:5d} {threads:7d} {ms:10.3f} {batch / ms * 1e3:10,.0f}")
torch.set_num_threads(1)
gain = {b: throughput["ONNX Runtime", b, 1] / throughput["torch eager", b, 1] for b in (1, 64, 256)}
print("ORT / torch throughput, 1 thread: " + ", ".join(f"batch {b}: {g:.1f}×" for b, g in gain.items()))
print("ONNX Runtime's advantage", "shrinks" if gain[256] < gain[1] else "does NOT shrink",
      "from batch 1 to batch 256 on this run")

# %% [markdown]
# 在批大小 256 时，两个运行时都把时间花在同样的卷积算术上，所以差距缩小：批大小 1 时开销说了算，大批次时算术
# 说了算。第二个线程对大批次有帮助（前提是有空闲的核——在繁忙的机器上它反而可能拖慢），对批大小 1 几乎没用，
# 因为没有足够的工作可以拆分。
#
# *第 4 节问题的答案*：fp16 舍入后的权重让 logits 的变化比 ONNX Runtime 大了几个数量级，但（看它的一致率）预测
# 几乎没变，甚至完全没变：logit 有差异本身并不是错误。所以部署测试要同时写明两个数字：fp32 导出，logits 相差约
# 1e-4 以内且预测完全相同；fp16 或 int8，logit 的界放宽，并在真实数据上测准确率（第 03 课）。
#
# ## 7. CPU 上的 `torch.compile` 及其代价
#
# `torch.compile` 先追踪模型（TorchDynamo），再生成融合后的代码（Inductor）——在 CPU 上生成的是 C++，用系统的
# **C++ 编译器**编译。没有编译器就无法运行；单元格会先检查。TorchScript（`torch.jit.script`/`trace`）是更老的
# 路线，已被弃用：新工作不要再用它。
#
# **先预测**：第一次调用要多久——毫秒还是秒？遇到一个没见过的批大小呢？

# %%
support = compile_available()
print("torch.compile here:", support.reason)
compiled_runs = {}
if support.ok:
    compiled = torch.compile(student)
    with torch.inference_mode():
        for label, x in (("first call, batch 1", x1), ("second call, batch 1", x1),
                         ("first call, batch 64 (new shape)", test_x[:64]), ("first call, batch 32", test_x[:32])):
            start = time.perf_counter()
            compiled(x)
            compiled_runs[label] = time.perf_counter() - start
            print(f"{label:34s} {compiled_runs[label] * 1e3:10.1f} ms")
    with torch.inference_mode():
        speed = {b: interleaved_medians({"eager": lambda b=b: student(test_x[:b]),
                                         "compiled": lambda b=b: compiled(test_x[:b])},
                                        repeats=3, runs=30 if b == 1 else 10, warmup=3) for b in (1, 64)}
    for b, medians in speed.items():
        r = [e / c for e, c in zip(medians["eager"], medians["compiled"])]
        print(f"batch {b:2d}: compiled is {statistics.median(r):.2f}× eager (range {min(r):.2f}–{max(r):.2f}×)")
    saved_s = (statistics.median(speed[1]["eager"]) - statistics.median(speed[1]["compiled"])) / 1e3
    print(f"the first call's compile time is repaid after ~{compiled_runs['first call, batch 1'] / saved_s:,.0f} "
          "batch-1 calls" if saved_s > 0 else "no speed-up at batch 1 here: the compile time is never repaid")
else:
    print("Skipped: torch.compile needs a C++ compiler on a CPU. Everything else in the lesson runs without it.")

# %% [markdown]
# 这些数字说明了什么（如果单元格运行了）：
#
# - **第一次调用**要花好几秒：追踪、图优化、C++ 编译。磁盘上的缓存（`/tmp/torchinductor_<用户名>`）会让下一个
#   进程快一些，但一台新机器要付全价。
# - **新的批大小**会触发**重新编译**（输入形状上的守卫（guard）失效了）；随后 torch 会编译一个批大小为符号的版本，
#   所以第三种形状就快了。生产环境里形状多变（文本长度、批大小）就意味着反复编译：把输入补齐到几种固定大小，或者
#   传 `dynamic=True`。
# - **加速比**取决于批大小。Inductor 把 ReLU 和偏置融合进生成的循环里，有工作可省时（批大小 64）就能省下内存访问；
#   批大小 1 时，这么小的模型几乎没什么可融合，而编译后函数每次调用都要做的检查（形状和 dtype 是否仍是编译时的那些？）
#   可能比融合省下的还多。读你自己的比值：不同 CPU、不同 torch 版本结果不同。编译到底划不划算，还取决于一个进程在重启
#   前要服务多少次调用：短命的任务可能永远赚不回第一次调用的时间。
#
# ## 8. 冷启动：新进程的第一个回答
#
# 扩容的服务器、serverless 函数、命令行工具：每次都要启动一个**全新的进程**，导入运行时、加载模型、回答第一个请求。
# `cold_start` 启动这样一个进程，并为每一步计时。
#
# **先预测**：对每个运行时来说，导入、加载、第一次回答，哪一步最久？

# %%
cold = {"ONNX Runtime (.onnx)": cold_start(onnx_path, x1), "torch.export (.pt2)": cold_start(program_path, x1)}
print(f"{'':22s} {'import':>9s} {'load':>9s} {'1st answer':>11s} {'2nd answer':>11s} {'whole process':>14s}")
for name, c in cold.items():
    print(f"{name:22s} {c.import_s * 1e3:7.0f} ms {c.load_s * 1e3:7.0f} ms {c.first_answer_s * 1e3:8.1f} ms "
          f"{c.second_answer_s * 1e3:8.2f} ms {c.process_s:12.2f} s")
onnx_cold, torch_cold = cold.values()
ok = claim(onnx_cold.ready_s < torch_cold.ready_s, "the ONNX Runtime process answers its first request sooner",
      "ONNX Runtime 进程更早答出第一个请求")

# %% [markdown]
# 单是导入 torch，就比 ORT 完成全部步骤还久。第一次回答也比第二次慢：运行时在第一次使用时分配内存、做规划——这就是
# 本课程每次计时前都先预热的原因，也是服务在报告"就绪"之前应该先给自己发一个请求的原因。
#
# ## 9. 负载下的批处理
#
# 一个有很多客户端的服务端，可以逐个回答请求（批大小 1），也可以把几乎同时到达的请求攒成一批——**微批处理**：
# 等到排队的请求达到 `max_batch` 个，或者距第一个请求已过去 `max_wait_ms`，就跑一批，再分别回复。`load_test`
# 启动 8 个客户端线程；每个线程发一个请求、等回答、再发下一个（共 1000 个请求，最多 10 秒）。一个服务线程在一个核上
# 运行 ORT。这里不涉及网络：测的只是排队和批处理。
#
# **先预测**：哪种设置每秒处理的请求最多？哪种的 p99 最低？

# %%
examples = test_x.numpy()
settings = [(1, 0.0), (8, 1.0), (32, 2.0)]
loads = {s: load_test(ort_model.run_numpy, examples, clients=8, requests=1000, max_batch=s[0], max_wait_ms=s[1])
         for s in settings}
print(f"{'max_batch':>9s} {'max_wait':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>8s} {'mean batch':>11s}")
for (b, w), r in loads.items():
    print(f"{b:9d} {w:7.1f}ms {r.latency.p50_ms:8.2f} {r.latency.p99_ms:8.2f} {r.requests_per_s:8,.0f} {r.mean_batch:11.1f}")
speedup = loads[8, 1.0].requests_per_s / loads[1, 0.0].requests_per_s
print(f"micro-batching (8, 1 ms) served {speedup:.1f}× the requests per second of batch-1 serving on this run")

# %% [markdown]
# **观察并解释**：只有 8 个客户端时，排队的请求永远不会超过 8 个。那么 `max_batch=32` 会怎样？它让每个请求付出了
# 什么代价？（看平均批大小和 p50。）
#
# 有 8 个客户端时，逐个处理会让最多 7 个请求等着服务端回答其中一个；微批处理用一次调用回答全部 8 个，代价只比一个
# 多一点，所以吞吐量可能上升，*同时*排队时间下降。`max_batch` 比任何时候可能排队的请求数都大时，批永远攒不满：
# 服务端每次都要等满 `max_wait_ms`，这段时间直接加到延迟上（平均批大小仍是 8，而 p50 变大）。`max_batch` 按流量定，
# `max_wait_ms` 按延迟预算定——然后实测。这里模型调用非常便宜（几十微秒），Python 自身的排队和线程切换占了每个请求的
# 很大一部分；在繁忙的机器上，客户端线程还会和服务端争抢 CPU 核：把单元格运行两次，看看数字变动多大，再决定是否
# 相信两行之间的差别。
#
# ## 10. 部署包：不需要 torch 的模型
#
# 到目前为止，一切都在这个 notebook 的进程里运行，torch 已经加载。部署是一个可以复制到另一台机器的文件夹：一个
# ONNX 文件（权重在文件内）、一个只用 `onnxruntime` 和 `numpy` 回答请求的短脚本，以及它需要的版本。

# %%
artefact = write_artefact(student, work / "artefact", test_x[:8])
print(artefact)
print((artefact.folder / "requirements.txt").read_text())
print(artefact.script.read_text())

# %% [markdown]
# 像真实部署那样运行它：一个**独立的进程**，从部署包文件夹启动，以 `.npy` 文件的形式接收测试图片。外面包着的探针
# 会报告这个进程里是否导入过 `torch` 或 `coursekit`。

# %%
np.save(work / "requests.npy", test_x.numpy())
probe = ("import runpy, sys; script = sys.argv[1]; sys.argv = [script] + sys.argv[2:]; "
         "runpy.run_path(script, run_name='__main__'); print('torch' in sys.modules, 'coursekit' in sys.modules)")
done = subprocess.run([sys.executable, "-c", probe, str(artefact.script), str(work / "requests.npy"),
                       str(work / "answers.npy")], capture_output=True, text=True, cwd=artefact.folder, timeout=120)
torch_loaded, coursekit_loaded = (word == "True" for word in done.stdout.split())
served = np.load(work / "answers.npy")
with torch.inference_mode():
    reference = student(test_x).numpy()
print(f"torch imported: {torch_loaded}, coursekit imported: {coursekit_loaded}; "
      f"largest |logit difference| {np.abs(served - reference).max():.2e}; "
      f"identical predictions: {(served.argmax(1) == reference.argmax(1)).mean():.2%} of {len(served)}")
ok = claim(not torch_loaded and not coursekit_loaded and np.abs(served - reference).max() <= 1e-4
      and (served.argmax(1) == reference.argmax(1)).all(),
      "the artefact answers like the model on the whole test split, without torch or coursekit",
      "部署包在整个测试集上与模型给出相同答案，且不依赖 torch 或 coursekit")

# %% [markdown]
# 同一个脚本还能在 `127.0.0.1`（仅本机）上通过 HTTP 提供服务。启动它，用标准库发一个请求，再关掉它：

# %%
with socket.socket() as probe_socket:  # ask the OS for a free port on this machine
    probe_socket.bind(("127.0.0.1", 0))
    port = probe_socket.getsockname()[1]
server = subprocess.Popen([sys.executable, str(artefact.script), "--http", str(port)], cwd=artefact.folder,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    body = json.dumps({"inputs": test_x[:3].tolist()})
    for _ in range(300):  # the server needs a moment to import onnxruntime and load the model
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("POST", "/", body, {"Content-Type": "application/json"})
            reply = json.loads(connection.getresponse().read())
            connection.close()
            break
        except ConnectionRefusedError:
            time.sleep(0.1)
    print("labels from the HTTP server:", reply["labels"], "| the notebook's model:", reference[:3].argmax(1).tolist(),
          "| true labels:", [int(splits.test[i][1]) for i in range(3)])
finally:
    server.terminate()
    server.wait(timeout=10)

# %% [markdown]
# ## 11. 在 NVIDIA GPU 上
#
# 在 GPU 上，这么小的模型受**内核启动开销**限制（launch-bound）：每个运算都是一次几微秒的内核启动，比它的算术还久。
# `torch.compile(mode="reduce-overhead")` 把整个前向传播录制成一张 **CUDA graph**，回放时只需一次启动；bf16 让搬运的
# 字节数减半，但只在大批次时才划算。下面的单元格在有 CUDA 设备时测量这两者；记录下来的数字来自
# `benchmarks/deploy_speed.py`（docs/benchmarks/deployment.md），绝不手工填写。

# %%
if torch.cuda.is_available():
    gpu_model = pretrained("student", progress=False).eval().cuda()
    for dtype in (torch.float32, torch.bfloat16):
        for mode in ("default", "reduce-overhead"):
            model_c = torch.compile(gpu_model, mode=mode)
            xg = test_x[:64].cuda()
            with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
                for _ in range(5):
                    model_c(xg)  # compile and warm up
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(100):
                    model_c(xg)
                torch.cuda.synchronize()
            print(f"GPU {str(dtype):15s} {mode:16s} batch 64: {(time.perf_counter() - start) * 10:.3f} ms per call")
else:
    print("No CUDA GPU in this session: the GPU measurements are skipped (see docs/benchmarks/deployment.md).")

# %% [markdown]
# **TensorRT** 是 NVIDIA 的推理编译器，在 NVIDIA GPU 上通常能走得最远（融合内核，带校准的 fp16/int8）。通过
# `torch-tensorrt`，它只是 `torch.compile` 的又一个后端；它需要 NVIDIA GPU、CUDA，以及与你的 torch 版本匹配的
# `torch-tensorrt` 包。这个单元格只在安装了它的机器上运行：

# %%
try:
    import torch_tensorrt  # noqa: F401  (only on machines with an NVIDIA GPU and TensorRT)
except ImportError:
    print("torch-tensorrt is not installed here: the TensorRT example is shown, not run.")
else:
    if torch.cuda.is_available():
        trt_model = torch.compile(pretrained("student", progress=False).eval().cuda(), backend="tensorrt")
        with torch.inference_mode():
            print("TensorRT logits:", trt_model(test_x[:2].cuda()).float().cpu())

# %% [markdown]
# ## 12. 哪个目标平台用哪个运行时？
#
# | 目标平台 | 好的默认选择 | 需要什么 | 注意 |
# |---|---|---|---|
# | 笔记本 CPU（工具、演示） | ONNX Runtime，1–4 个线程 | `onnxruntime` + `numpy`（就是本课的部署包） | 冷启动：让进程常驻 |
# | 服务器 CPU（Web 服务） | ONNX Runtime（int8 见第 03 课）；若留在 torch 里则用 `torch.compile` | `torch.compile` 需要 C++ 编译器；每个 worker 的线程设置 | 线程数 × worker 数 ≤ 核数；负载下用微批处理 |
# | NVIDIA GPU | TensorRT（`torch-tensorrt`，或 ORT 的 TensorRT provider）；`torch.compile(mode="reduce-overhead")`（CUDA graphs） | CUDA，匹配的 TensorRT / torch-tensorrt 版本 | 小批次受启动开销限制：合并请求、用 CUDA graphs；固定形状 |
# | 手机 / 边缘设备 | **ExecuTorch**（从 `torch.export` 程序出发），或 ONNX Runtime Mobile；TFLite/LiteRT 和 Core ML 是其他路线 | 能导出的模型（第 2 节）、int8 模型、设备的工具链（Android NDK / Xcode） | 内存和电量：大小和 int8 比在服务器上更重要 |
#
# 每条路线都从一张能干净导出的图开始——`torch.export` 是共同的第一步——并以同样的两项测量结束：先在真实数据上
# 对齐，再在目标平台上测速度，并写明批大小、线程数和百分位数。

# %% [markdown]
# ## 小结
#
# - **导出**把模型从 Python 里拿出来：`torch.export`（`.pt2`，动态批大小）和 ONNX。根据张量数值做分支或写死形状的
#   代码无法导出；报错会指出是哪一行。
# - **先对齐，再谈速度**：在真实数据上同时看最大 logit 差*和*预测一致率。
# - 小模型在批大小 1 时的**延迟**主要是开销（ORT 大幅领先）；大批次时各运行时都回到算术本身。报告 p50/p90/p99、
#   批大小和线程数，并在交替的多轮中比较。
# - `torch.compile` 在 CPU 上需要 C++ 编译器；第一次调用要花几秒，遇到新形状会重新编译。
# - **冷启动**主要花在导入运行时上；torch 是最重的部分。
# - **负载下**，微批处理能提高吞吐量，也可能降低延迟——前提是 `max_batch` 与流量匹配。
# - 可部署的**部署包**只需要 `onnxruntime` 和 `numpy`，并已在独立进程中验证。
#
# 本课对应的能力清单条目：**E2**（掌握压缩模型的部署和优化）和 **T4**（公平地评估和对比）。下一步：
# `exercises/zh/05_deployment.py` 中的练习——对齐检查、百分位数报告、在检查自己测量的预算内导出你自己的学生模型，
# 以及根据测量结果选出更快的配置。
