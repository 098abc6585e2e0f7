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
# # 练习 01 · 知识蒸馏 (Knowledge distillation)
#
# 一共六个小部分，合起来就是一个蒸馏框架的骨架。每个检查单元格都会把你的代码与 `coursekit` 的参考实现对照，输入在每次运行检查时随机重新生成，所以抄来的数字是过不了的（参考实现只在检查单元格里导入：请自己写代码，不要直接调用它）：
#
# 1. 带温度的 softmax，可作用于任意维度；
# 2. 蒸馏损失及其三个组成部分，允许部分标签缺失；
# 3. 一个蒸馏训练步，教师模型保持冻结；
# 4. 用自动求导算出梯度的大小；
# 5. 用计算来回答：为什么要乘 T²；
# 6. 判断一次跨种子的比较是否说明了问题。
#
# 在出现 `raise NotImplementedError` 的地方写下你的代码，然后运行它下面的检查单元格。全部检查通过后，在终端运行 `python -m coursekit check exercises/zh/01_knowledge_distillation.py`，看看你已经为哪些清单项提供了证据。

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import copy
import math
import random
import statistics  # noqa: F401 - 练习 6 的答案会用到

import torch
import torch.nn.functional as F  # noqa: F401 - 你的答案会用到
from torch import nn

from coursekit.i18n import tr


def random_temperature() -> float:
    """A temperature clearly away from 1 (where several mistakes would go unnoticed), 0.3 to 30."""
    return random.choice([random.uniform(0.3, 0.7), random.uniform(2.0, 30.0)])


def same(got, expected, *, rtol=1e-4, atol=1e-5) -> bool:
    """Whether two tensors hold the same values, whatever their dtypes (float32 or float64)."""
    return torch.allclose(torch.as_tensor(got).double(), torch.as_tensor(expected).double(), rtol=rtol, atol=atol)


# %% [markdown]
# ## 1. 带温度的 softmax，作用于任意维度
#
# `softmax_t(logits, T, dim)` 先把 logits 除以 `T`，再在维度 `dim` 上做 softmax（`dim` 可以是负数，比如 `-1` 表示最后一维）。请自己写出数值稳定的版本，不要用 `torch.softmax` 或 `F.softmax`：在取 `exp` 之前，先沿 `dim` 减去最大的 logit。

# %%
def softmax_t(logits: torch.Tensor, T: float, dim: int = -1) -> torch.Tensor:
    """softmax(logits / T) over the dimension ``dim``."""
    ### BEGIN SOLUTION  hint: 第 01 课，第 1 节“带温度的 softmax”
    z = logits / T
    z = z - z.amax(dim=dim, keepdim=True)
    e = z.exp()
    return e / e.sum(dim=dim, keepdim=True)
    ### END SOLUTION


# %% tags=["check"] check_id="ex01-soft-targets" checklist=["U1"]
from coursekit.distill import soft_targets as _reference_soft_targets


def reference_softmax(logits, T, dim):
    return _reference_soft_targets(logits.movedim(dim, -1), T).movedim(-1, dim)


# 六个三维输入，每个 dim 一个（包括负数），这样在错误范围上做的 softmax（只沿最后一维、或对整个张量）每次运行都会失败；然后是随机形状
cases = [(tuple(random.randint(2, 6) for _ in range(3)), dim) for dim in (-3, -2, -1, 0, 1, 2)]
for _ in range(14):
    shape = tuple(random.randint(2, 9) for _ in range(random.randint(1, 3)))
    cases.append((shape, random.randrange(-len(shape), len(shape))))
for shape, dim in cases:
    logits, T = 5 * torch.randn(shape), random_temperature()
    got = softmax_t(logits, T, dim)
    expected = reference_softmax(logits, T, dim)
    assert got.shape == expected.shape, tr(f"shape {tuple(got.shape)}, expected {tuple(expected.shape)}",
                                           f"形状是 {tuple(got.shape)}，应为 {tuple(expected.shape)}")
    assert same(got, expected, atol=1e-6), tr(f"wrong probabilities for T = {T:.2f}, dim = {dim} (shape {shape})",
                                              f"T = {T:.2f}、dim = {dim}（形状 {shape}）时概率不对")
# 很大的 logits，沿 `dim` 的各个切片处在相差悬殊的水平上（±1000）：不减最大值，exp 会上溢；减去整个张量的同一个最大值，低的切片会下溢成 0/0
shape, dim = (3, 4, 5), random.choice([0, 1, 2, -1])
level = torch.tensor([-1000.0, 0.0, 1000.0])[torch.randint(0, 3, shape)].amax(dim=dim, keepdim=True)
level.view(-1)[:3] = torch.tensor([-1000.0, 0.0, 1000.0])  # 每个水平都出现
big = level + 5 * torch.randn(shape)
got = softmax_t(big, 0.5, dim)
assert torch.isfinite(got).all(), tr(
    "large logits give inf or nan: subtract the maximum along dim (not over the whole tensor) before exp",
    "logits 很大时出现了 inf 或 nan：在 exp 之前减去沿 dim 的最大值（而不是整个张量的最大值）")
assert same(got, reference_softmax(big, 0.5, dim), atol=1e-6), tr(
    f"wrong probabilities for large logits (dim = {dim})", f"logits 很大时（dim = {dim}）概率不对")
print("✓ softmax_t matches coursekit.distill.soft_targets on 20 inputs (every dim of a 3-d tensor, then random) "
      "and on large logits")

# %% [markdown]
# ## 2. 蒸馏损失：部分标签缺失时
#
# `kd_loss_parts(student_logits, teacher_logits, targets, T, alpha)` 返回 `(total, hard, soft)`，三者都是 **0 维张量**（仍保留梯度的标量）。和第 01 课“标签很少”的实验一样，未知的标签记为 `-1`：
#
# - `hard`（硬损失）= 学生 logits（温度为 1）与真实标签的交叉熵，只在标签已知的样本（`targets >= 0`）上求平均；一个标签都不知道时为 `0`（仍然是张量）；
# - `soft`（软损失）= $T^2 \cdot \mathrm{KL}(p \,\|\, q)$，其中 $p$ 和 $q$ 分别是教师和学生在温度 `T` 下的 softmax，对类别求和，再对批次中的**所有**样本求平均；
# - `total` = `alpha * hard + (1 - alpha) * soft`。
#
# 注意 KL 的方向、`F.kl_div` 的第一个参数应该是什么，以及它的 `reduction`。

# %%
def kd_loss_parts(student_logits, teacher_logits, targets, T: float, alpha: float):
    """(total, hard, soft) of the distillation loss; targets of -1 are unknown labels."""
    ### BEGIN SOLUTION  hint: 第 01 课，第 2 节“蒸馏损失”和第 5 节“标签很少的时候”
    known = targets >= 0
    hard = F.cross_entropy(student_logits[known], targets[known]) if known.any() else student_logits.sum() * 0.0
    log_q = F.log_softmax(student_logits / T, dim=1)
    p = F.softmax(teacher_logits / T, dim=1)
    soft = F.kl_div(log_q, p, reduction="batchmean") * T**2
    return alpha * hard + (1 - alpha) * soft, hard, soft
    ### END SOLUTION


# %% tags=["check"] check_id="ex01-kd-loss" checklist=["T1", "U1"]
from coursekit.distill import kd_loss as _reference_kd_loss

for case in range(20):
    B, C = random.randint(2, 48), random.randint(2, 20)
    T, alpha = random_temperature(), random.choice([random.uniform(0.0, 0.4), random.uniform(0.6, 1.0)])
    zt, y = 4 * torch.randn(B, C), torch.randint(0, C, (B,))
    y[torch.rand(B) < (0.5 if case % 4 else 1.0)] = -1  # 未知的标签；每四批中有一批一个标签都没有
    if case % 4:  # 其余批次两种标签都有，在错误的样本上取平均就会露馅
        y[0], y[1] = random.randrange(C), -1
    zs_mine, zs_ref = (torch.randn(B, C).requires_grad_(True) for _ in range(2))
    with torch.no_grad():
        zs_ref.copy_(zs_mine)
    mine = kd_loss_parts(zs_mine, zt, y, T, alpha)
    ref = _reference_kd_loss(zs_ref, zt, y, temperature=T, alpha=alpha, labelled=y >= 0)
    assert len(mine) == 3, tr("return the three parts (total, hard, soft)", "请返回三个部分 (total, hard, soft)")
    for name, a, b in zip(("total", "hard", "soft"), mine, ref):
        assert isinstance(a, torch.Tensor) and a.dim() == 0, tr(
            f"{name} must be a 0-d tensor (a scalar), got {type(a).__name__} of shape {tuple(getattr(a, 'shape', ()))}",
            f"{name} 必须是 0 维张量（标量），你的是形状为 {tuple(getattr(a, 'shape', ()))} 的 {type(a).__name__}")
        where = f"B={B}, C={C}, T={T:.2f}, alpha={alpha:.2f}, {int((y >= 0).sum())} known labels"
        assert same(a, b), tr(f"{name} = {float(a):.5f}, expected {float(b):.5f} ({where})",
                              f"{name} = {float(a):.5f}，应为 {float(b):.5f}（{where}）")
    mine[0].backward()
    ref.total.backward()
    assert same(zs_mine.grad, zs_ref.grad, atol=1e-6), tr("the gradient of total differs", "total 的梯度不对")
print("✓ kd_loss_parts matches coursekit.distill.kd_loss (values, shapes and gradients) on 20 random batches")

# %% [markdown]
# ## 3. 一个蒸馏训练步
#
# `distill_step(student, teacher, x, y, optimizer, T, alpha)` 用练习 2 的损失对学生做一次优化器更新，并以 Python float 返回总损失。教师是冻结的：它必须在**评估模式 (eval mode)** 下运行（dropout 关闭，BatchNorm 的统计量不被改动），并且不能接收梯度。无论学生交到你手上时处于什么模式，这一步中它都必须在**训练模式 (train mode)** 下运行。

# %%
def distill_step(student: nn.Module, teacher: nn.Module, x, y, optimizer, T: float, alpha: float) -> float:
    """One optimiser step of distillation; returns the total loss."""
    ### BEGIN SOLUTION  hint: 第 01 课，第 4 节和第 7 节（bug 5）
    teacher.eval()
    with torch.no_grad():
        teacher_logits = teacher(x)
    student.train()
    total, _, _ = kd_loss_parts(student(x), teacher_logits, y, T, alpha)
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    return total.item()
    ### END SOLUTION


# %% tags=["check"] check_id="ex01-distill-step" checklist=["T1"]
from coursekit.distill import kd_loss as _reference_kd_loss


def make_pair(d_in: int, classes: int):
    student = nn.Sequential(nn.Linear(d_in, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, classes))
    teacher = nn.Sequential(nn.Linear(d_in, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, classes))
    with torch.no_grad():
        for bn in (student[1], teacher[1]):
            bn.running_mean.normal_()  # 看起来像训练过的统计量：训练模式和评估模式的输出因此不同
            bn.running_var.uniform_(0.5, 2.0)
    return student.eval(), teacher.train()  # 两者都以错误的模式交到你手上，实际中常常如此


d_in, classes, T, alpha = random.randint(4, 12), random.randint(3, 8), random_temperature(), random.uniform(0.1, 0.9)
student, teacher = make_pair(d_in, classes)
ref_student, ref_teacher = copy.deepcopy(student).train(), copy.deepcopy(teacher).eval()
teacher_before = copy.deepcopy(teacher.state_dict())
student_modes = []
student.register_forward_pre_hook(lambda module, args: student_modes.append(module.training))
opt, ref_opt = (torch.optim.SGD(m.parameters(), lr=0.1) for m in (student, ref_student))
for step in range(3):
    x, y = torch.randn(16, d_in), torch.randint(0, classes, (16,))
    loss = distill_step(student, teacher, x, y, opt, T, alpha)
    with torch.no_grad():
        target = ref_teacher(x)
    ref = _reference_kd_loss(ref_student(x), target, y, temperature=T, alpha=alpha).total
    ref_opt.zero_grad()
    ref.backward()
    ref_opt.step()
    assert isinstance(loss, float), tr(f"return the total loss as a float (got {type(loss).__name__})",
                                       f"请以 float 返回总损失（你返回的是 {type(loss).__name__}）")
    assert student_modes and all(student_modes), tr("the student ran in eval mode: call student.train() in the step",
                                                    "学生模型在 eval 模式下运行了：请在这一步里调用 student.train()")
    assert math.isclose(loss, ref.item(), rel_tol=1e-4, abs_tol=1e-5), tr(
        f"step {step}: loss {loss:.5f}, expected {ref.item():.5f} (teacher in eval mode, student in train mode?)",
        f"第 {step} 步：损失 {loss:.5f}，应为 {ref.item():.5f}（教师是否在 eval 模式、学生是否在 train 模式？）")
    for p, q in zip(student.parameters(), ref_student.parameters()):
        assert torch.allclose(p, q, atol=1e-5), tr(f"step {step}: the student's weights differ from a correct step",
                                                   f"第 {step} 步：学生的权重与正确的一步不同")
assert all(p.grad is None for p in teacher.parameters()), tr(
    "the teacher received gradients: compute it under no_grad", "教师模型收到了梯度：请在 no_grad 下计算它")
assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in teacher_before.items()), tr(
    "the teacher changed (BatchNorm statistics?): run it in eval mode",
    "教师模型被改动了（BatchNorm 统计量？）：请在 eval 模式下运行它")
print("✓ distill_step matches a reference step three times in a row, teacher frozen, student in train mode")

# %% [markdown]
# ## 4. 用自动求导算出梯度的大小
#
# 写出 `grad_norm(loss_fn, logits)`：标量 `loss_fn(logits)` 对 `logits` 的梯度的范数。要用**自动求导**（`torch.autograd.grad`）计算，对*任意*可微的 `loss_fn` 都成立，并以 Python `float` 返回。不要改动调用者传入的 `logits`（在一份 detach 出来、设置了 requires_grad 的副本上计算）。

# %%
def grad_norm(loss_fn, logits: torch.Tensor) -> float:
    """‖∂ loss_fn(logits) / ∂ logits‖, by autograd, as a float."""
    ### BEGIN SOLUTION  hint: 第 01 课，第 2 节“为什么要乘 T²”（torch.autograd.grad）
    z = logits.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_fn(z), z)
    return grad.norm().item()
    ### END SOLUTION


# %% tags=["check"] check_id="ex01-grad-norm" checklist=["U1"]
from coursekit.distill import kd_loss as _reference_kd_loss

for _ in range(10):
    B, C, T = random.randint(2, 32), random.randint(2, 12), random_temperature()
    zs, zt, y, w = torch.randn(B, C), 4 * torch.randn(B, C), torch.randint(0, C, (B,)), torch.randn(B, C)
    losses = {
        "soft term with T²": lambda z, zt=zt, y=y, T=T: _reference_kd_loss(z, zt, y, temperature=T, alpha=0.0).soft,
        "soft term without T²": lambda z, zt=zt, y=y, T=T: _reference_kd_loss(z, zt, y, temperature=T, alpha=0.0).soft
        / T**2,
        "a quadratic": lambda z, w=w: (w * z).pow(2).sum(),
    }
    for name, loss_fn in losses.items():
        z = zs.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_fn(z), z)
        got = grad_norm(loss_fn, zs)
        assert type(got) is float, tr(f"return a Python float (got {type(got).__name__}): use .item()",
                                      f"请返回 Python float（你返回的是 {type(got).__name__}）：用 .item()")
        assert math.isclose(got, grad.norm().item(), rel_tol=1e-4, abs_tol=1e-9), tr(
            f"grad_norm of the {name} (T={T:.2f}) = {got:.6f}, expected {grad.norm().item():.6f} "
            "(the norm of the whole gradient)",
            f"{name}（T={T:.2f}）的 grad_norm = {got:.6f}，应为 {grad.norm().item():.6f}（整个梯度的范数）")
        assert not zs.requires_grad and zs.grad is None, tr(
            "grad_norm changed the caller's logits: work on a detached copy",
            "grad_norm 改动了调用者的 logits：请在 detach 出来的副本上计算")
print("✓ grad_norm matches autograd on the soft term (with and without T²) and on other losses")

# %% [markdown]
# ## 5. 为什么要乘 T²？用计算来回答
#
# **不乘** $T^2$ 时，$T$ 增大，软损失的梯度缩小得有多快？写出 `slope(student_logits, teacher_logits, T)`：在 $T$ 与 $2T$ 之间测出的 $\|\nabla\| \propto T^k$ 中的指数 $k$，即 $k = \log_2(n_{2T} / n_T)$，其中 $n_T$ 是**不乘** $T^2$ 的软损失项（温度 $T$ 下的 $\mathrm{KL}(p\|q)$，按 `batchmean` 取每个样本的平均）的 `grad_norm`。梯度在缩小，所以 $k$ 是负数。检查单元格会在新随机生成的 logits 上、在随机抽取的温度（有小有大）下测量它，所以直接填一个数是过不了的。

# %%
def slope(student_logits, teacher_logits, T: float) -> float:
    """k = log2(n(2T) / n(T)) for the soft term without T² (negative: the gradient shrinks)."""
    ### BEGIN SOLUTION  hint: 调用两次 grad_norm，再用 math.log2
    def norm_at(t):
        return grad_norm(lambda z: F.kl_div(F.log_softmax(z / t, dim=1), F.softmax(teacher_logits / t, dim=1),
                                            reduction="batchmean"), student_logits)

    return math.log2(norm_at(2 * T) / norm_at(T))
    ### END SOLUTION


# %% tags=["check"] check_id="ex01-t-squared" checklist=["U1"]
from coursekit.distill import kd_loss as _reference_kd_loss


def _reference_slope(zs, zt, T):
    y, norms = torch.zeros(len(zs), dtype=torch.long), []
    for t in (T, 2 * T):
        z = zs.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(_reference_kd_loss(z, zt, y, temperature=t, alpha=0.0).soft / t**2, z)
        norms.append(grad.norm().item())
    return math.log2(norms[1] / norms[0])


far_from_large_t = 0
for T in [random.uniform(0.2, 1.0) for _ in range(3)] + [random.uniform(50, 400) for _ in range(3)]:
    B = random.randint(8, 64)
    zs, zt = torch.randn(B, 10), 8 * torch.randn(B, 10)  # 一个很自信的教师
    got, expected = slope(zs, zt, T), _reference_slope(zs, zt, T)
    assert math.isclose(got, expected, abs_tol=0.02), tr(f"slope at T = {T:.1f}: {got:.3f}, expected {expected:.3f}",
                                                         f"T = {T:.1f} 时斜率为 {got:.3f}，应为 {expected:.3f}")
    far_from_large_t += abs(expected + 2) > 0.3
large = _reference_slope(torch.randn(64, 10), 8 * torch.randn(64, 10), 200.0)
assert far_from_large_t > 0, tr("no small-T case far from the large-T slope came up: run the check again",
                               "这次没有抽到与大 T 斜率相差较远的小 T 情形：请再运行一次检查")
print(f"✓ slope matches on random logits; at T = 200 the soft gradient without T² scales like T^{large:.2f}, "
      f"so multiplying the soft term by T² keeps its gradient the same size at every T")

# %% [markdown]
# ## 6. 差别比噪声大吗？
#
# 第 01 课在多个随机种子上比较不同方法。写出 `judge(baseline, treated)`：给定两种方法在每个种子上的一个结果，返回 `(difference, spread, exceeds)`，其中 `difference` 是 `treated` 的均值减去 `baseline` 的均值，`spread` 是两者**样本**标准差（`statistics.stdev`）中较大的那个，`exceeds` 表示差别（无论正负）是否大于 spread。

# %%
def judge(baseline: list[float], treated: list[float]) -> tuple[float, float, bool]:
    """(difference of means, spread over seeds, whether |difference| > spread)."""
    ### BEGIN SOLUTION  hint: 第 01 课，第 4 节（打印出的结论）
    difference = statistics.fmean(treated) - statistics.fmean(baseline)
    spread = max(statistics.stdev(baseline), statistics.stdev(treated))
    return difference, spread, abs(difference) > spread
    ### END SOLUTION


# %% tags=["check"] check_id="ex01-compare-seeds" checklist=["T4"]
from coursekit.stats import compare_seeds as _reference_compare_seeds

cases = 0
for trial in range(40):
    n = random.randint(3, 6)
    base = [random.gauss(0.9, random.uniform(0.002, 0.02)) for _ in range(n)]
    shift = [-0.05, -0.02, 0.0, 0.02, 0.05][trial % 5]  # 每种偏移各八次
    treated = [random.gauss(0.9 + shift, random.uniform(0.002, 0.02)) for _ in range(n)]
    if trial == 0:  # 明显更差、两边离散程度不同：一个方法也可能以超出噪声的幅度输掉
        base = [0.90 + 0.004 * i for i in range(n)]
        treated = [0.84 + 0.01 * i for i in range(n)]
    ref = _reference_compare_seeds(base, treated)
    difference, spread, exceeds = judge(base, treated)
    difference, spread = float(difference), float(spread)  # 普通 float、float32 张量或 numpy 数都一样处理
    # 在 0.9 左右的准确率上，float32 的误差约为 1e-7：远小于任何有意义的差别
    assert math.isclose(difference, ref.difference, rel_tol=1e-4, abs_tol=1e-6), tr(
        f"difference {difference:+.6f}, expected {ref.difference:+.6f} (mean of treated minus mean of baseline)",
        f"差值为 {difference:+.6f}，应为 {ref.difference:+.6f}（treated 的均值减去 baseline 的均值）")
    assert math.isclose(spread, ref.spread, rel_tol=1e-4, abs_tol=1e-6), tr(
        f"spread {spread:.6f}, expected {ref.spread:.6f} (the larger of the two sample standard deviations)",
        f"spread 为 {spread:.6f}，应为 {ref.spread:.6f}（两个样本标准差中较大的那个）")
    if abs(abs(ref.difference) - ref.spread) > 1e-5:  # 在 float32 精度下难分胜负的情况不算数
        assert bool(exceeds) == ref.exceeds_spread, tr(
            f"exceeds={exceeds} for a difference of {difference:+.4f} and a spread of {spread:.4f}",
            f"差值 {difference:+.4f}、spread {spread:.4f} 时，exceeds 不应为 {exceeds}")
    cases += ref.exceeds_spread and ref.difference < 0
assert cases > 0, tr("the check itself is broken: its clearly-worse case did not come out worse",
                      "检查本身出了问题：它那个明显更差的情形没有显示为更差")
print("✓ judge agrees with coursekit.stats.compare_seeds on 40 random comparisons")
