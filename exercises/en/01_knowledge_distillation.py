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
# Six small pieces of a distillation framework, each checked against `coursekit` on inputs drawn at
# random every time you run the check (so only a correct formula passes, not a number copied from
# somewhere):
#
# 1. the softened softmax;
# 2. the distillation loss, with its three parts;
# 3. one distillation training step, with the teacher frozen;
# 4. the size of the soft gradient, by autograd;
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

from coursekit.distill import compare_seeds, kd_loss, soft_targets


def random_temperature() -> float:
    """A temperature clearly away from 1 (where several mistakes would go unnoticed), 0.3 to 30."""
    return random.choice([random.uniform(0.3, 0.7), random.uniform(2.0, 30.0)])


# %% [markdown]
# ## 1. Softmax with a temperature
#
# `softmax_t(logits, T)` divides the logits by `T` and applies softmax over the **last** dimension.
# Make it safe for large logits: subtract the largest logit of each row first (or use `torch.softmax`).

# %%
def softmax_t(logits: torch.Tensor, T: float) -> torch.Tensor:
    """softmax(logits / T) over the last dimension."""
    # Exercise 1: replace the next line with your code. Hint: lesson 01, section 1 "Softmax with a temperature"
    raise NotImplementedError('Exercise 1: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex01-soft-targets" checklist=["U1"]
for _ in range(20):
    shape = random.choice([(random.randint(2, 20),), (random.randint(1, 16), random.randint(2, 20))])
    logits, T = 5 * torch.randn(shape), random_temperature()
    got, expected = softmax_t(logits, T), soft_targets(logits, T)
    assert got.shape == expected.shape, f"shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    assert torch.allclose(got, expected, atol=1e-6), f"wrong probabilities for T = {T:.2f}"
big = 60 * torch.randn(4, 10)
assert torch.isfinite(softmax_t(big, 0.5)).all(), "large logits overflow: subtract the row maximum first"
print("✓ softmax_t matches coursekit.distill.soft_targets on 20 random inputs and large logits")

# %% [markdown]
# ## 2. The distillation loss
#
# `kd_loss_parts(student_logits, teacher_logits, targets, T, alpha)` returns `(total, hard, soft)`:
#
# - `hard` = cross-entropy of the student's logits (at temperature 1) with the true labels;
# - `soft` = $T^2 \cdot \mathrm{KL}(p \,\|\, q)$ with $p$ the teacher's and $q$ the student's softmax at
#   temperature `T`, summed over classes and averaged over the batch;
# - `total` = `alpha * hard + (1 - alpha) * soft`.
#
# Mind the direction of the KL, what `F.kl_div` expects as its first argument, and its `reduction`.

# %%
def kd_loss_parts(student_logits, teacher_logits, targets, T: float, alpha: float):
    """(total, hard, soft) of the distillation loss."""
    # Exercise 2: replace the next line with your code. Hint: lesson 01, section 2 "The distillation loss"
    raise NotImplementedError('Exercise 2: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex01-kd-loss" checklist=["T1", "U1"]
for _ in range(20):
    B, C = random.randint(2, 48), random.randint(2, 20)
    T, alpha = random_temperature(), random.choice([random.uniform(0.0, 0.4), random.uniform(0.6, 1.0)])
    zt, y = 4 * torch.randn(B, C), torch.randint(0, C, (B,))
    zs_mine, zs_ref = (torch.randn(B, C).requires_grad_(True) for _ in range(2))
    with torch.no_grad():
        zs_ref.copy_(zs_mine)
    mine = kd_loss_parts(zs_mine, zt, y, T, alpha)
    ref = kd_loss(zs_ref, zt, y, temperature=T, alpha=alpha)
    for name, a, b in zip(("total", "hard", "soft"), mine, ref):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), f"{name} = {float(a):.5f}, expected {float(b):.5f} (B={B}, C={C}, T={T:.2f}, alpha={alpha:.2f})"
    mine[0].backward()
    ref.total.backward()
    assert torch.allclose(zs_mine.grad, zs_ref.grad, rtol=1e-4, atol=1e-6), "the gradient of total differs"
print("✓ kd_loss_parts matches coursekit.distill.kd_loss (values and gradients) on 20 random batches")

# %% [markdown]
# ## 3. One distillation training step
#
# `distill_step(student, teacher, x, y, optimizer, T, alpha)` performs one optimiser step on the
# student with the loss of exercise 2 and returns the total loss as a float. The teacher is frozen:
# it must run in **eval mode** (its dropout off, its BatchNorm statistics untouched) and must not
# receive gradients. The student trains in train mode.

# %%
def distill_step(student: nn.Module, teacher: nn.Module, x, y, optimizer, T: float, alpha: float) -> float:
    """One optimiser step of distillation; returns the total loss."""
    # Exercise 3: replace the next line with your code. Hint: lesson 01, sections 4 and 7 (bug 4)
    raise NotImplementedError('Exercise 3: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex01-distill-step" checklist=["T1"]
def make_pair(d_in: int, classes: int):
    student = nn.Sequential(nn.Linear(d_in, 16), nn.ReLU(), nn.Linear(16, classes))
    teacher = nn.Sequential(nn.Linear(d_in, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, classes))
    with torch.no_grad():
        teacher[1].running_mean.normal_()  # trained-looking statistics that train mode would overwrite
        teacher[1].running_var.uniform_(0.5, 2.0)
    return student, teacher.train()  # the teacher arrives in train mode, as a trained model often does


d_in, classes, T, alpha = random.randint(4, 12), random.randint(3, 8), random_temperature(), random.uniform(0.1, 0.9)
student, teacher = make_pair(d_in, classes)
ref_student, ref_teacher = copy.deepcopy(student), copy.deepcopy(teacher).eval()
teacher_before = copy.deepcopy(teacher.state_dict())
opt, ref_opt = (torch.optim.SGD(m.parameters(), lr=0.1) for m in (student, ref_student))
for step in range(3):
    x, y = torch.randn(16, d_in), torch.randint(0, classes, (16,))
    loss = distill_step(student, teacher, x, y, opt, T, alpha)
    with torch.no_grad():
        target = ref_teacher(x)
    ref = kd_loss(ref_student(x), target, y, temperature=T, alpha=alpha).total
    ref_opt.zero_grad()
    ref.backward()
    ref_opt.step()
    assert isinstance(loss, float), f"return the total loss as a float (got {type(loss).__name__})"
    assert math.isclose(loss, ref.item(), rel_tol=1e-4, abs_tol=1e-5), \
        f"step {step}: loss {loss:.5f}, expected {ref.item():.5f} (is the teacher in eval mode?)"
    for p, q in zip(student.parameters(), ref_student.parameters()):
        assert torch.allclose(p, q, atol=1e-5), f"step {step}: the student's weights differ from a correct step"
assert all(p.grad is None for p in teacher.parameters()), "the teacher received gradients: compute it under no_grad"
assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in teacher_before.items()), \
    "the teacher changed (BatchNorm statistics?): run it in eval mode"
print("✓ distill_step matches a reference step three times in a row, with the teacher frozen")

# %% [markdown]
# ## 4. The size of the soft gradient
#
# Write `soft_gradient_norm(student_logits, teacher_logits, T, times_t2)`: the norm of the gradient,
# with respect to the student's logits, of the soft term ($T^2 \cdot \mathrm{KL}$ with
# `times_t2=True`, the plain $\mathrm{KL}$ without), using autograd.

# %%
def soft_gradient_norm(student_logits, teacher_logits, T: float, times_t2: bool = True) -> float:
    """‖∂ soft / ∂ student_logits‖ for the soft term with or without the T² factor."""
    # Exercise 4: replace the next line with your code. Hint: lesson 01, section 2 "Why T²" (torch.autograd.grad)
    raise NotImplementedError('Exercise 4: not written yet (see the comment above)')


# %% [markdown]
# ## 5. Why T²? Answer by computing
#
# **Without** the $T^2$ factor, the soft gradient shrinks like $T^k$ once $T$ is
# large. Find $k$ by computing: draw random logits, evaluate `soft_gradient_norm` at $T = 100$ and
# $T = 200$ (without $T^2$), and set `k` to the slope $\log(n_{200}/n_{100}) / \log 2$.

# %%
k = None  # your answer
# Exercise 5: replace the next line with your code. Hint: k = math.log(norm_at_200 / norm_at_100) / math.log(2)
raise NotImplementedError('Exercise 5: not written yet (see the comment above)')

# %% tags=["check"] check_id="ex01-t-squared" checklist=["U1"]
for _ in range(10):
    B, C, T = random.randint(2, 32), random.randint(2, 12), random_temperature()
    zs, zt, y = torch.randn(B, C), 4 * torch.randn(B, C), torch.randint(0, C, (B,))
    for times_t2 in (True, False):
        z = zs.clone().requires_grad_(True)
        soft = kd_loss(z, zt, y, temperature=T, alpha=0.0).soft
        (grad,) = torch.autograd.grad(soft if times_t2 else soft / T**2, z)
        got = soft_gradient_norm(zs, zt, T, times_t2)
        assert math.isclose(got, grad.norm().item(), rel_tol=1e-3), \
            f"soft_gradient_norm(T={T:.2f}, times_t2={times_t2}) = {got:.6f}, expected {grad.norm().item():.6f}"
zs, zt = torch.randn(64, 10), 3 * torch.randn(64, 10)
true_k = math.log(soft_gradient_norm(zs, zt, 400.0, False) / soft_gradient_norm(zs, zt, 200.0, False)) / math.log(2)
assert k is not None, "set k in the cell above"
assert abs(k - true_k) < 0.1, f"k = {k:.2f}, but the gradient scales like T^{true_k:.2f}"
flat = math.log(soft_gradient_norm(zs, zt, 400.0, True) / soft_gradient_norm(zs, zt, 200.0, True)) / math.log(2)
print(f"✓ without T² the soft gradient scales like T^{k:.2f}; with T² like T^{flat:.2f}: "
      f"multiplying by T² keeps its scale independent of T")

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
    raise NotImplementedError('Exercise 6: not written yet (see the comment above)')


# %% tags=["check"] check_id="ex01-compare-seeds" checklist=["T4"]
cases = 0
for _ in range(40):
    n = random.randint(3, 6)
    base = [random.gauss(0.9, random.uniform(0.002, 0.02)) for _ in range(n)]
    shift = random.choice([-0.05, -0.02, 0.0, 0.02, 0.05])
    treated = [random.gauss(0.9 + shift, random.uniform(0.002, 0.02)) for _ in range(n)]
    ref = compare_seeds(base, treated)
    difference, spread, exceeds = judge(base, treated)
    assert math.isclose(difference, ref.difference, abs_tol=1e-12), f"difference {difference}, expected {ref.difference}"
    assert math.isclose(spread, ref.spread, rel_tol=1e-9), f"spread {spread}, expected {ref.spread}"
    assert bool(exceeds) == ref.exceeds_spread, f"exceeds={exceeds} for a difference of {difference:+.4f} and a spread of {spread:.4f}"
    cases += ref.exceeds_spread and ref.difference < 0
assert cases > 0, "no case where the treated method was clearly worse came up: run the check again"
print("✓ judge agrees with coursekit.distill.compare_seeds on 40 random comparisons")
