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
# > 练习笔记本，由 `python -m coursekit exercises build` 从 `solutions/zh/05_deployment.py` 生成。
# > 把每个 `raise NotImplementedError(...)` 换成你的代码，然后运行它下面的检查单元格。

# %% [markdown]
# # 练习 05 · 部署
#
# 四个任务，每个都用每次运行时随机抽取的输入来检查（所以写死的数字或抄来的答案无法通过）：
#
# 1. 两个运行时之间的**对齐检查**：最大 logit 差和预测一致率；
# 2. 由原始计时得出的**延迟百分位数报告**（p50、p90、p99）；
# 3. 在延迟预算下，根据负载测试的测量结果**选出更快的配置**；
# 4. 在检查代码自己于本机测量的大小和延迟预算内，**部署你压缩过的学生模型**。
#
# 在写着 `raise NotImplementedError` 的地方写代码，然后运行下面的检查单元格。检查会在内部导入参考实现：请自己写代码，
# 不要调用它们。全部检查通过后，在终端运行 `python -m coursekit check exercises/zh/05_deployment.py`，查看你已经
# 证明了哪些能力清单条目。

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import random
import tempfile
from pathlib import Path

import torch
from torch import nn

torch.set_num_threads(1)  # one thread for every timing in this notebook


# %% [markdown]
# ## 1. 两个运行时之间的对齐
#
# 第 05 课第 4 节：在相信速度数字之前，先证明导出的模型还是同一个模型。编写 `parity_check(a, b, batches)`：`a` 和
# `b` 是可调用对象，接收一个批次（torch 张量）并返回 logits——其中一个可能返回 torch 张量，另一个可能像 ONNX Runtime
# 那样返回 numpy 数组。`batches` 是输入批次的列表。返回 `(max_abs_diff, agreement)`：在**所有**批次上，`a` 的任一
# logit 与 `b` 的对应 logit 之间最大的绝对差；以及在**所有**样本中，预测类别（arg-max）相同的样本所占比例。

# %%
def parity_check(a, b, batches: list[torch.Tensor]) -> tuple[float, float]:
    """(largest |logit_a - logit_b|, fraction of examples with the same predicted class)."""
    # 练习 1：把下一行换成你的代码。提示：lesson 05, section 4 "Parity before speed" (torch.as_tensor turns numpy into torch)
    raise NotImplementedError('Exercise 1: not written yet (see the comment above) | 练习 1：还没写（见上方注释）')


# %% tags=["check"] check_id="ex05-parity" checklist=["T4", "E2"]
def check():
    from coursekit.export import parity  # the reference
    from coursekit.i18n import tr

    for trial in range(12):
        classes, features = random.randint(2, 20), random.randint(3, 12)
        model = nn.Sequential(nn.Linear(features, 16), nn.ReLU(), nn.Linear(16, classes)).eval()
        if trial == 0:  # a small batch with a wrong row, then a large one without: sizes and agreements differ
            batches = [torch.randn(random.randint(2, 5), features), torch.randn(random.randint(20, 40), features)]
            flipped = {0}
        else:
            batches = [torch.randn(random.randint(1, 40), features) for _ in range(random.randint(1, 4))]
            flipped = {i for i in range(len(batches)) if random.random() < 0.5}
        scale = 10 ** random.uniform(-7, 0)
        outputs = {}  # "another runtime": the same model plus noise, one row wrong in some batches
        for i, x in enumerate(batches):
            with torch.no_grad():
                out = model(x) + scale * torch.randn(len(x), classes)
                if i in flipped:
                    row = random.randrange(len(x))
                    out[row] = -out[row]
            outputs[id(x)] = out.numpy() if trial % 2 else out  # numpy half of the time, like ONNX Runtime

        def b(x, outputs=outputs):
            return outputs[id(x)]

        def a(x, model=model):
            with torch.no_grad():
                return model(x)

        expected = parity(a, lambda x: torch.as_tensor(b(x)), batches)
        got = parity_check(a, b, batches)
        assert isinstance(got, tuple) and len(got) == 2, tr(
            "return a tuple (max_abs_diff, agreement)", "请返回一个元组 (max_abs_diff, agreement)")
        diff, agreement = float(got[0]), float(got[1])
        assert abs(diff - expected.max_abs_diff) <= 1e-6 * max(1.0, expected.max_abs_diff), tr(
            "max_abs_diff = {got:.3g}, expected {want:.3g} ({n} batches of sizes {sizes}): the largest |difference| "
            "over every logit of every batch",
            "max_abs_diff = {got:.3g}，应为 {want:.3g}（{n} 个批次，大小 {sizes}）：应取所有批次所有 logit 的最大绝对差",
            got=diff, want=expected.max_abs_diff, n=len(batches), sizes=[len(x) for x in batches])
        assert abs(agreement - expected.agreement) <= 1e-9, tr(
            "agreement = {got:.4f}, expected {want:.4f} over {n} examples: the fraction of examples (not batches) "
            "whose arg-max is the same",
            "agreement = {got:.4f}，应为 {want:.4f}（共 {n} 个样本）：应是预测类别（arg-max）相同的样本（不是批次）所占比例",
            got=agreement, want=expected.agreement, n=expected.n)
    print("✓ parity_check matches coursekit.export.parity on 12 random pairs of runtimes (torch and numpy outputs)")


check()

# %% [markdown]
# ## 2. 百分位数延迟报告
#
# 第 05 课第 5 节：用户感受到的是慢尾巴，而不是平均值。编写 `percentile_report(times_ms)`，由一组原始计时（顺序任意）
# 返回字典 `{"p50": ..., "p90": ..., "p99": ...}`，在排序后最近的两个值之间**线性插值**：百分位数 `q` 在排好序的
# 列表中的位置是 `(n - 1) · q / 100`（与 `numpy.percentile` 的默认方式相同）。插值请自己写：不要用
# `numpy.percentile`、`numpy.quantile` 或 `statistics.quantiles`。

# %%
def percentile_report(times_ms: list[float]) -> dict[str, float]:
    """{"p50": ..., "p90": ..., "p99": ...} of raw timings, linearly interpolated."""
    # 练习 2：把下一行换成你的代码。提示：lesson 05, section 5 "Latency at batch 1: percentiles, not averages"
    raise NotImplementedError('Exercise 2: not written yet (see the comment above) | 练习 2：还没写（见上方注释）')


# %% tags=["check"] check_id="ex05-percentiles" checklist=["T4"]
def check():
    from unittest import mock

    from coursekit.i18n import tr
    from coursekit.serving import latency_report  # the reference

    for trial in range(25):
        n = [1, 2][trial] if trial < 2 else random.randint(3, 2000)
        base = random.uniform(0.02, 5.0)
        times = [base + random.expovariate(1 / (base * random.uniform(0.05, 2))) for _ in range(n)]
        if random.random() < 0.5:  # a few very slow calls, as on a busy machine
            for i in random.sample(range(n), k=min(n, random.randint(1, 5))):
                times[i] *= random.uniform(5, 50)
        random.shuffle(times)
        expected = latency_report(times)
        given = list(times)
        with mock.patch("numpy.percentile", side_effect=AssertionError("numpy.percentile")), \
                mock.patch("numpy.quantile", side_effect=AssertionError("numpy.quantile")), \
                mock.patch("statistics.quantiles", side_effect=AssertionError("statistics.quantiles")):
            try:
                got = percentile_report(given)
            except AssertionError as error:
                raise AssertionError(tr("write the interpolation yourself: {name} was called",
                                        "请自己写插值：调用了 {name}", name=error)) from None
        assert given == times, tr("percentile_report changed the list it was given (sort a copy)",
                                  "percentile_report 修改了传入的列表（请对副本排序）")
        assert isinstance(got, dict) and set(got) == {"p50", "p90", "p99"}, tr(
            'return a dict with the keys "p50", "p90", "p99"', '请返回包含键 "p50"、"p90"、"p99" 的字典')
        for key, want in (("p50", expected.p50_ms), ("p90", expected.p90_ms), ("p99", expected.p99_ms)):
            assert abs(float(got[key]) - want) <= 1e-9 * max(1.0, want), tr(
                "{key} = {got:.6f} ms, expected {want:.6f} ms for {n} timings (linear interpolation at (n - 1) · q / 100)",
                "{key} = {got:.6f} ms，应为 {want:.6f} ms（共 {n} 个计时；在 (n - 1) · q / 100 处线性插值）",
                key=key, got=float(got[key]), want=want, n=n)
    print("✓ percentile_report matches coursekit.serving.latency_report on 25 random sets of timings (1 to 2000)")


check()

# %% [markdown]
# ## 3. 根据测量结果选择配置
#
# 第 05 课第 9 节对几种服务端设置做了负载测试。编写 `choose(results, p99_budget_ms)`：`results` 把设置的名字映射到
# 它的 `LoadTest`（读取 `result.latency.p99_ms` 和 `result.requests_per_s`）。返回**在 p99 延迟满足预算（`<=`）的
# 设置中，每秒处理请求最多**的那个设置的名字；如果两个一样多，取 p99 更低的那个；没有任何设置满足预算时返回 `None`。
# 检查会给它一些编造的结果，以及在这里实际运行的一次学生模型负载测试。

# %%
def choose(results: dict, p99_budget_ms: float):
    """The name of the fastest setting (requests/s) whose p99 latency meets the budget, or None."""
    # 练习 3：把下一行换成你的代码。提示：lesson 05, section 9 "Batching under load"
    raise NotImplementedError('Exercise 3: not written yet (see the comment above) | 练习 3：还没写（见上方注释）')


# %% tags=["check"] check_id="ex05-choose-config" checklist=["E2", "T4"]
def check():
    from coursekit.data import load_dataset
    from coursekit.i18n import tr
    from coursekit.pretrained import pretrained
    from coursekit.serving import LatencyReport, LoadTest, choose_config, load_test  # the reference

    def made_up(p99, rps):
        report = LatencyReport(p50_ms=p99 / 3, p90_ms=p99 / 2, p99_ms=p99, mean_ms=p99 / 3, max_ms=p99 * 1.5, n=500)
        return LoadTest(clients=8, max_batch=1, max_wait_ms=0.0, requests=500, seconds=500 / rps, latency=report,
                        mean_batch=1.0)

    for trial in range(40):
        names = random.sample(["batch 1", "batch 4, 1 ms", "batch 8, 1 ms", "batch 8, 5 ms", "batch 32, 2 ms",
                               "batch 64, 10 ms", "2 workers"], k=random.randint(2, 6))
        results = {name: made_up(random.uniform(0.5, 20), random.uniform(500, 20000)) for name in names}
        p99s = sorted(r.latency.p99_ms for r in results.values())
        budget = random.choice([p99s[0] / 2, random.uniform(p99s[0], p99s[-1] * 1.2)])
        fastest = max(names, key=lambda n: results[n].requests_per_s)
        if trial % 4 == 1:  # a tie in requests/s at the top: the first listed has the longer tail
            top = max(r.requests_per_s for r in results.values()) + 1000
            results[names[0]], results[names[1]] = made_up(9.0, top), made_up(4.0, top)
            budget = max(r.latency.p99_ms for r in results.values())
        elif trial % 4 == 2:  # the budget is exactly the fastest setting's p99: it is within budget
            budget = results[fastest].latency.p99_ms
        elif trial % 4 == 3:  # the fastest is over budget, a slower one is within
            budget = (results[fastest].latency.p99_ms + p99s[0]) / 2 if results[fastest].latency.p99_ms > p99s[0] \
                else budget
        want, got = choose_config(results, p99_budget_ms=budget), choose(results, budget)
        assert got == want, tr(
            "budget {b:.2f} ms: you chose {got!r}, expected {want!r} for {rows}",
            "预算 {b:.2f} ms：你选了 {got!r}，应为 {want!r}；数据：{rows}", b=budget, got=got, want=want,
            rows={n: (round(r.latency.p99_ms, 2), round(r.requests_per_s)) for n, r in results.items()})

    model = pretrained("student", progress=False).eval()  # and a real load test, measured here
    test = load_dataset("digits", seed=0).test
    x = torch.stack([test[i][0] for i in range(len(test))])

    def served(batch):  # the student in torch, one server thread
        with torch.inference_mode():
            return model(torch.from_numpy(batch)).numpy()

    settings = random.sample([(1, 0.0), (4, 0.5), (8, 1.0), (16, 2.0)], k=3)
    measured = {f"batch {b}, {w} ms": load_test(served, x.numpy(), clients=random.randint(4, 8),
                                                requests=300, max_batch=b, max_wait_ms=w) for b, w in settings}
    budget = sorted(r.latency.p99_ms for r in measured.values())[1]  # the middle p99: at least one setting is over
    want, got = choose_config(measured, p99_budget_ms=budget), choose(measured, budget)
    assert got == want, tr("on the real load test (budget {b:.2f} ms) you chose {got!r}, expected {want!r}",
                           "在真实负载测试中（预算 {b:.2f} ms）你选了 {got!r}，应为 {want!r}", b=budget, got=got, want=want)
    print(f"✓ choose agrees with coursekit.serving.choose_config on 40 made-up results and a real load test "
          f"(within p99 ≤ {budget:.2f} ms: {got})")


check()

# %% [markdown]
# ## 4. 在预算内部署你压缩过的学生模型
#
# 产品团队给 CPU 服务器上的数字识别模型定的预算：
#
# - 一个 ONNX 文件（如有外部权重文件，一并计入），磁盘上**不超过 256 KiB**；
# - 能处理**任意批大小**（检查会随机选几个发过去）；
# - 在数字测试集上**测试准确率 ≥ 95%**；
# - 批大小 1、单线程时，中位延迟至少比同一个学生模型的 torch eager **低 2 倍**——在这里、以交替多轮的方式测量。
#
# 编写 `deploy_student(model, folder, calibration)`：把这样一个文件写进 `folder` 并返回它的路径。`model` 是课程中
# 训练好的学生模型（由检查传入；你可以进一步压缩它）；`calibration` 是一批训练图片，可以随意使用。第 05 课的 fp32
# 导出约 600 KiB：太大了。第 03 课通过 ONNX Runtime 把模型变成了 int8（`onnxruntime.quantization.quantize_static`，
# QDQ 格式，逐通道 int8 权重）——这里 fp32 那一步可以用 `coursekit.export.to_onnx`，其余部分可以用 ONNX Runtime 的
# 量化工具。

# %%
def deploy_student(model: nn.Module, folder: Path, calibration: torch.Tensor) -> Path:
    """Write an ONNX file for `model` into `folder` that meets the budget above; return its path."""
    # 练习 4：把下一行换成你的代码。提示：lesson 05, section 3 (to_onnx), then lesson 03's int8 ONNX model
    raise NotImplementedError('Exercise 4: not written yet (see the comment above) | 练习 4：还没写（见上方注释）')


# %% tags=["check"] check_id="ex05-deploy-budget" checklist=["E2"]
def check():
    import statistics

    from coursekit.data import load_dataset
    from coursekit.export import OnnxModel, onnx_size_bytes
    from coursekit.i18n import tr
    from coursekit.pretrained import pretrained
    from coursekit.serving import interleaved_medians

    splits = load_dataset("digits", seed=0)
    model = pretrained("student", progress=False).eval()
    train_idx = random.sample(range(len(splits.train)), k=random.randint(128, 512))  # fresh calibration set
    calibration = torch.stack([splits.train[i][0] for i in train_idx])
    test_x = torch.stack([splits.test[i][0] for i in range(len(splits.test))])
    test_y = torch.tensor([int(splits.test[i][1]) for i in range(len(splits.test))])
    folder = Path(tempfile.mkdtemp(prefix="ex05-"))
    path = deploy_student(model, folder, calibration)
    assert path is not None and Path(path).is_file() and Path(path).suffix == ".onnx", tr(
        "return the path of the .onnx file you wrote", "请返回你写出的 .onnx 文件的路径")
    size_kib = onnx_size_bytes(path) / 1024
    assert size_kib <= 256, tr("the file is {size:.0f} KiB on disk (with its weights): over the 256 KiB budget",
                               "文件（含权重）在磁盘上占 {size:.0f} KiB：超出 256 KiB 的预算", size=size_kib)
    deployed = OnnxModel(path, threads=1)  # measured here, by the check, with one thread
    for batch in random.sample([1, 2, 3, 5, 7, 16, 33, 64, 100, 200], k=4):
        start = random.randrange(len(test_x) - batch)
        try:
            out = deployed.run_numpy(test_x[start:start + batch].numpy())
        except Exception as error:
            raise AssertionError(tr("the file does not answer a batch of {b}: {e}", "该文件无法处理大小为 {b} 的批次：{e}",
                                    b=batch, e=str(error)[:200])) from None
        assert out.shape == (batch, 10), tr("a batch of {b} gave logits of shape {s}", "大小为 {b} 的批次得到形状为 {s} 的 logits",
                                            b=batch, s=out.shape)
    accuracy = float((torch.from_numpy(deployed.run_numpy(test_x.numpy())).argmax(1) == test_y).float().mean())
    assert accuracy >= 0.95, tr("test accuracy {acc:.2%}: below the 95% budget", "测试准确率 {acc:.2%}：低于 95% 的预算",
                                acc=accuracy)
    x1, x1_np = test_x[:1], test_x[:1].numpy()
    with torch.inference_mode():
        rounds = interleaved_medians({"torch eager": lambda: model(x1), "deployed": lambda: deployed.run_numpy(x1_np)},
                                     repeats=5, runs=60, warmup=10)
    speedup = statistics.median([e / d for e, d in zip(rounds["torch eager"], rounds["deployed"])])
    assert speedup >= 2, tr(
        "batch 1, 1 thread: the deployed file is only {s:.2f}× faster than torch eager (median of 5 rounds); "
        "the budget asks for 2×", "批大小 1、单线程：部署的文件只比 torch eager 快 {s:.2f}×（5 轮的中位数）；预算要求 2×",
        s=speedup)
    print(f"✓ deployed: {size_kib:.0f} KiB ≤ 256 KiB, test accuracy {accuracy:.2%} ≥ 95%, any batch size, "
          f"batch-1 latency {statistics.median(rounds['deployed']):.3f} ms = {speedup:.1f}× faster than torch eager "
          "(≥ 2×), measured here")


check()

# %% [markdown]
# ## 完成了吗？
#
# 运行 `python -m coursekit check exercises/zh/05_deployment.py`（或英文版），查看本练习证明的能力清单条目：
# **E2**（掌握压缩模型的部署和优化——你自己的学生模型，在你的机器上测得满足预算）和 **T4**（评估和对比：对齐、
# 百分位数，以及根据测量做出的选择）。
