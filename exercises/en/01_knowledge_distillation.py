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
# > Exercise notebook, generated from `solutions/en/01_knowledge_distillation.py` by `python -m coursekit exercises build`.
# > Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.

# %% [markdown]
# # Exercise 01 · Knowledge distillation
#
# Six small pieces of a distillation framework. Each check cell compares your code with `coursekit`'s
# reference on inputs drawn at random every time you run it, so a number copied from somewhere cannot
# pass (the reference is imported inside the check cells only: write the code yourself, don't call it):
#
# 1. the softened softmax, over any dimension;
# 2. the distillation loss, with its three parts, when some labels are missing;
# 3. one distillation training step, with the teacher frozen;
# 4. the size of a gradient, by autograd;
# 5. the gradient-scale argument for T², answered by computing;
# 6. judging a comparison over seeds.
#
# Write your code where it says `raise NotImplementedError`, then run the check cell below it.
# When every check passes, run `python -m coursekit check exercises/en/01_knowledge_distillation.py`
# in a terminal to see which checklist items you have evidenced.

# %%
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import copy
import math
import random
import statistics  # noqa: F401 - for your answer to exercise 6

import torch
import torch.nn.functional as F  # noqa: F401 - for your answers
from torch import nn

from coursekit.i18n import tr


def random_temperature() -> float:
    """A temperature clearly away from 1 (where several mistakes would go unnoticed), 0.3 to 30."""
    return random.choice([random.uniform(0.3, 0.7), random.uniform(2.0, 30.0)])


def same(got, expected, *, rtol=1e-4, atol=1e-5) -> bool:
    """Whether two tensors hold the same values, whatever their dtypes (float32 or float64)."""
    return torch.allclose(torch.as_tensor(got).double(), torch.as_tensor(expected).double(), rtol=rtol, atol=atol)


# %% [markdown]
# ## 1. Softmax with a temperature, over any dimension
#
# `softmax_t(logits, T, dim)` divides the logits by `T` and applies softmax over the dimension `dim`
# (which may be negative, like `-1` for the last one). Write the numerically stable version yourself,
# without `torch.softmax` or `F.softmax`: subtract the largest logit along `dim` before `exp`.

# %%
def softmax_t(logits: torch.Tensor, T: float, dim: int = -1) -> torch.Tensor:
    """softmax(logits / T) over the dimension ``dim``."""
    # Exercise 1: replace the next line with your code. Hint: lesson 01, section 1 "Softmax with a temperature"
    raise NotImplementedError('Exercise 1: not written yet (see the comment above) | 练习 1：还没写（见上方注释）')


# %% tags=["check"] check_id="ex01-soft-targets" checklist=["U1"]
from coursekit.distill import soft_targets as _reference_soft_targets


def reference_softmax(logits, T, dim):
    return _reference_soft_targets(logits.movedim(dim, -1), T).movedim(-1, dim)


# six 3-d inputs, one per dim (negative ones too), so that a softmax over the wrong extent (the last dim
# only, the whole tensor) fails on every run; then random shapes
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
# large logits whose slices along `dim` sit at very different levels (±1000): without subtracting the
# maximum exp overflows; subtracting one maximum over the whole tensor underflows the low slices to 0/0
shape, dim = (3, 4, 5), random.choice([0, 1, 2, -1])
level = torch.tensor([-1000.0, 0.0, 1000.0])[torch.randint(0, 3, shape)].amax(dim=dim, keepdim=True)
level.view(-1)[:3] = torch.tensor([-1000.0, 0.0, 1000.0])  # every level present
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
# ## 2. The distillation loss, when some labels are missing
#
# `kd_loss_parts(student_logits, teacher_logits, targets, T, alpha)` returns `(total, hard, soft)`,
# three **0-d tensors** (scalars that keep their gradient). As in lesson 01's few-labels experiment,
# an unknown label is written `-1`:
#
# - `hard` = cross-entropy of the student's logits (at temperature 1) with the true labels, averaged
#   over the examples whose label is known (`targets >= 0`); `0` (still a tensor) when none is known;
# - `soft` = $T^2 \cdot \mathrm{KL}(p \,\|\, q)$ with $p$ the teacher's and $q$ the student's softmax at
#   temperature `T`, summed over classes and averaged over **every** example of the batch;
# - `total` = `alpha * hard + (1 - alpha) * soft`.
#
# Mind the direction of the KL, what `F.kl_div` expects as its first argument, and its `reduction`.

# %%
def kd_loss_parts(student_logits, teacher_logits, targets, T: float, alpha: float):
    """(total, hard, soft) of the distillation loss; targets of -1 are unknown labels."""
    # Exercise 2: replace the next line with your code. Hint: lesson 01, section 2 "The distillation loss" and section 5 "Few labels"
    raise NotImplementedError('Exercise 2: not written yet (see the comment above) | 练习 2：还没写（见上方注释）')


# %% tags=["check"] check_id="ex01-kd-loss" checklist=["T1", "U1"]
from coursekit.distill import kd_loss as _reference_kd_loss

for case in range(20):
    B, C = random.randint(2, 48), random.randint(2, 20)
    T, alpha = random_temperature(), random.choice([random.uniform(0.0, 0.4), random.uniform(0.6, 1.0)])
    zt, y = 4 * torch.randn(B, C), torch.randint(0, C, (B,))
    y[torch.rand(B) < (0.5 if case % 4 else 1.0)] = -1  # unknown labels; every fourth batch has none at all
    if case % 4:  # the other batches have both kinds, so averaging over the wrong examples shows
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
# ## 3. One distillation training step
#
# `distill_step(student, teacher, x, y, optimizer, T, alpha)` performs one optimiser step on the
# student with the loss of exercise 2 and returns the total loss as a Python float. The teacher is
# frozen: it must run in **eval mode** (its dropout off, its BatchNorm statistics untouched) and must
# not receive gradients. The student must run in **train mode** during the step, whatever mode it
# arrives in.

# %%
def distill_step(student: nn.Module, teacher: nn.Module, x, y, optimizer, T: float, alpha: float) -> float:
    """One optimiser step of distillation; returns the total loss."""
    # Exercise 3: replace the next line with your code. Hint: lesson 01, sections 4 and 7 (bug 5)
    raise NotImplementedError('Exercise 3: not written yet (see the comment above) | 练习 3：还没写（见上方注释）')


# %% tags=["check"] check_id="ex01-distill-step" checklist=["T1"]
from coursekit.distill import kd_loss as _reference_kd_loss


def make_pair(d_in: int, classes: int):
    student = nn.Sequential(nn.Linear(d_in, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, classes))
    teacher = nn.Sequential(nn.Linear(d_in, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, classes))
    with torch.no_grad():
        for bn in (student[1], teacher[1]):
            bn.running_mean.normal_()  # trained-looking statistics: train and eval mode give different outputs
            bn.running_var.uniform_(0.5, 2.0)
    return student.eval(), teacher.train()  # both arrive in the wrong mode, as models often do


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
# ## 4. The size of a gradient, by autograd
#
# Write `grad_norm(loss_fn, logits)`: the norm of the gradient of the scalar `loss_fn(logits)` with
# respect to `logits`, computed by **autograd** (`torch.autograd.grad`) for *any* differentiable
# `loss_fn`, and returned as a Python `float`. Leave the caller's `logits` as they were (work on a
# detached copy that requires grad).

# %%
def grad_norm(loss_fn, logits: torch.Tensor) -> float:
    """‖∂ loss_fn(logits) / ∂ logits‖, by autograd, as a float."""
    # Exercise 4: replace the next line with your code. Hint: lesson 01, section 2 "Why T²" (torch.autograd.grad)
    raise NotImplementedError('Exercise 4: not written yet (see the comment above) | 练习 4：还没写（见上方注释）')


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
# ## 5. Why T²? Answer by computing
#
# **Without** the $T^2$ factor, how fast does the soft gradient shrink when $T$ grows? Write
# `slope(student_logits, teacher_logits, T)`: the exponent $k$ of $\|\nabla\| \propto T^k$ measured
# between $T$ and $2T$, that is $k = \log_2(n_{2T} / n_T)$, where $n_T$ is `grad_norm` of the soft term
# **without** $T^2$, $\mathrm{KL}(p\|q)$ at temperature $T$ (per example, as `batchmean` gives it).
# The gradient shrinks, so $k$ is negative. The check measures it on fresh random logits at random
# temperatures, small and large, so a typed-in number fails.

# %%
def slope(student_logits, teacher_logits, T: float) -> float:
    """k = log2(n(2T) / n(T)) for the soft term without T² (negative: the gradient shrinks)."""
    # Exercise 5: replace the next line with your code. Hint: use grad_norm twice, then math.log2
    raise NotImplementedError('Exercise 5: not written yet (see the comment above) | 练习 5：还没写（见上方注释）')


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
    zs, zt = torch.randn(B, 10), 8 * torch.randn(B, 10)  # a confident teacher
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
# ## 6. Is the difference larger than the noise?
#
# Lesson 01 compares methods over several seeds. Write `judge(baseline, treated)`: given one result per
# seed for each method, return `(difference, spread, exceeds)` where `difference` is the mean of
# `treated` minus the mean of `baseline`, `spread` is the larger of the two **sample** standard deviations
# (`statistics.stdev`), and `exceeds` says whether the difference, in either direction, is larger than
# the spread.

# %%
def judge(baseline: list[float], treated: list[float]) -> tuple[float, float, bool]:
    """(difference of means, spread over seeds, whether |difference| > spread)."""
    # Exercise 6: replace the next line with your code. Hint: lesson 01, section 4 (the printed verdict)
    raise NotImplementedError('Exercise 6: not written yet (see the comment above) | 练习 6：还没写（见上方注释）')


# %% tags=["check"] check_id="ex01-compare-seeds" checklist=["T4"]
from coursekit.stats import compare_seeds as _reference_compare_seeds

cases = 0
for trial in range(40):
    n = random.randint(3, 6)
    base = [random.gauss(0.9, random.uniform(0.002, 0.02)) for _ in range(n)]
    shift = [-0.05, -0.02, 0.0, 0.02, 0.05][trial % 5]  # each shift eight times
    treated = [random.gauss(0.9 + shift, random.uniform(0.002, 0.02)) for _ in range(n)]
    if trial == 0:  # clearly worse, with unequal spreads: a method can lose by more than the noise
        base = [0.90 + 0.004 * i for i in range(n)]
        treated = [0.84 + 0.01 * i for i in range(n)]
    ref = _reference_compare_seeds(base, treated)
    difference, spread, exceeds = judge(base, treated)
    difference, spread = float(difference), float(spread)  # plain floats, float32 tensors or numpy numbers alike
    # float32 arithmetic is exact to about 1e-7 on accuracies near 0.9: far below any meaningful difference
    assert math.isclose(difference, ref.difference, rel_tol=1e-4, abs_tol=1e-6), tr(
        f"difference {difference:+.6f}, expected {ref.difference:+.6f} (mean of treated minus mean of baseline)",
        f"差值为 {difference:+.6f}，应为 {ref.difference:+.6f}（treated 的均值减去 baseline 的均值）")
    assert math.isclose(spread, ref.spread, rel_tol=1e-4, abs_tol=1e-6), tr(
        f"spread {spread:.6f}, expected {ref.spread:.6f} (the larger of the two sample standard deviations)",
        f"spread 为 {spread:.6f}，应为 {ref.spread:.6f}（两个样本标准差中较大的那个）")
    if abs(abs(ref.difference) - ref.spread) > 1e-5:  # too close to call in float32: not a fair test
        assert bool(exceeds) == ref.exceeds_spread, tr(
            f"exceeds={exceeds} for a difference of {difference:+.4f} and a spread of {spread:.4f}",
            f"差值 {difference:+.4f}、spread {spread:.4f} 时，exceeds 不应为 {exceeds}")
    cases += ref.exceeds_spread and ref.difference < 0
assert cases > 0, tr("the check itself is broken: its clearly-worse case did not come out worse",
                      "检查本身出了问题：它那个明显更差的情形没有显示为更差")
print("✓ judge agrees with coursekit.stats.compare_seeds on 40 random comparisons")
