"""Each exercise check fails on a plausible wrong answer, not only on the stub.

Every entry plants a wrong answer into one solution region (0-based, counted in file order) of a
solution notebook, executes the notebook in a real kernel, and requires the named check cell to fail.
Add an entry for each wrong answer a learner could plausibly write.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coursekit.exercises import replace_regions
from tests.nbrun import run_text

ROOT = Path(__file__).resolve().parent.parent

# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS: list[tuple[str, int, str, str, str]] = [
    # lesson 00
    ("00_measure_first", 0, "return c_out * c_in * k * k", "ex00-conv-params", "forgets the bias"),
    ("00_measure_first", 0, "return c_out * c_in * k * k + c_in", "ex00-conv-params", "one bias per input channel"),
    ("00_measure_first", 1, "return batch * c_out * c_in * k * k * h * w", "ex00-conv-flops",
     "counts multiply-adds, not FLOPs"),
    ("00_measure_first", 1, "return 2 * c_out * c_in * k * k * h * w", "ex00-conv-flops", "ignores the batch"),
    ("00_measure_first", 2, """
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        model.train()
        return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "no warm-up"),
    ("00_measure_first", 2, """
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
        return statistics.mean(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "reports the mean, which one slow run drags up"),
    ("00_measure_first", 2, """
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "leaves the model in eval mode"),
    ("00_measure_first", 2, """
        was_training = model.training
        model.eval()
        times = []
        for _ in range(warmup):
            model(x)
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000)
        model.train(was_training)
        return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "records autograd history (no inference_mode)"),
    ("00_measure_first", 2, """
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
        return min(times), max(times)
    """, "ex00-latency", "best and worst run instead of median and p90"),
    ("00_measure_first", 2, """
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
        model.train()
        return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]
    """, "ex00-latency", "always switches back to train mode, even if the model was in eval mode"),
    # lesson 01 (knowledge distillation)
    ("01_knowledge_distillation", 0, "return torch.softmax(logits, dim=-1)", "ex01-soft-targets",
     "forgets the temperature"),
    ("01_knowledge_distillation", 0, """
        e = (logits / T).exp()
        return e / e.sum(dim=-1, keepdim=True)
    """, "ex01-soft-targets", "overflows on large logits (no max subtracted)"),
    ("01_knowledge_distillation", 1, """
        hard = F.cross_entropy(student_logits, targets)
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="batchmean")
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "missing T²"),
    ("01_knowledge_distillation", 1, """
        hard = F.cross_entropy(student_logits, targets)
        soft = F.kl_div(F.log_softmax(teacher_logits / T, dim=1), F.softmax(student_logits / T, dim=1),
                        reduction="batchmean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "reversed KL: KL(student || teacher)"),
    ("01_knowledge_distillation", 1, """
        hard = F.cross_entropy(student_logits, targets)
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="mean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "reduction='mean' instead of 'batchmean' (divides by the classes too)"),
    ("01_knowledge_distillation", 1, """
        hard = F.cross_entropy(student_logits, targets)
        soft = F.kl_div(F.softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="batchmean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "probabilities instead of log-probabilities as kl_div's input"),
    ("01_knowledge_distillation", 1, """
        hard = F.cross_entropy(student_logits, targets)
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.log_softmax(teacher_logits / T, dim=1),
                        reduction="batchmean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "log-probabilities as kl_div's target without log_target=True"),
    ("01_knowledge_distillation", 1, """
        hard = F.cross_entropy(student_logits, targets)
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="batchmean") * T**2
        return (1 - alpha) * hard + alpha * soft, hard, soft
    """, "ex01-kd-loss", "alpha weighs the soft loss instead of the hard one"),
    ("01_knowledge_distillation", 2, """
        with torch.no_grad():
            teacher_logits = teacher(x)
        student.train()
        total, _, _ = kd_loss_parts(student(x), teacher_logits, y, T, alpha)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        return total.item()
    """, "ex01-distill-step", "teacher left in train mode (dropout on, BatchNorm statistics updated)"),
    ("01_knowledge_distillation", 2, """
        teacher.eval()
        teacher_logits = teacher(x)
        student.train()
        total, _, _ = kd_loss_parts(student(x), teacher_logits, y, T, alpha)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        return total.item()
    """, "ex01-distill-step", "the teacher receives gradients (no torch.no_grad)"),
    ("01_knowledge_distillation", 2, """
        teacher.eval()
        with torch.no_grad():
            teacher_logits = teacher(x)
        student.train()
        total, _, _ = kd_loss_parts(student(x), teacher_logits, y, T, alpha)
        total.backward()
        optimizer.step()
        return total.item()
    """, "ex01-distill-step", "forgets optimizer.zero_grad(): gradients accumulate across steps"),
    ("01_knowledge_distillation", 3, """
        z = student_logits.detach().clone().requires_grad_(True)
        soft = F.kl_div(F.log_softmax(z / T, dim=1), F.softmax(teacher_logits / T, dim=1), reduction="batchmean")
        (grad,) = torch.autograd.grad(soft * T**2, z)
        return grad.norm().item()
    """, "ex01-t-squared", "ignores times_t2"),
    ("01_knowledge_distillation", 4, "k = -1.0", "ex01-t-squared", "guesses 1/T instead of computing the slope"),
    ("01_knowledge_distillation", 5, """
        difference = statistics.fmean(treated) - statistics.fmean(baseline)
        spread = max(statistics.stdev(baseline), statistics.stdev(treated))
        return difference, spread, difference > spread
    """, "ex01-compare-seeds", "forgets that a method can also be clearly worse (no abs)"),
    # lesson 02 (pruning)
    ("02_pruning", 0, """
        k = round(sparsity * weight.numel())
        mask = torch.ones(weight.numel())
        if k > 0:
            mask[torch.topk(weight.abs().flatten(), k, largest=True).indices] = 0.0
        return mask.view(weight.shape)
    """, "ex02-magnitude-mask", "prunes the largest weights and keeps the smallest"),
    ("02_pruning", 0, """
        k = int(sparsity * weight.numel())
        mask = torch.ones(weight.numel())
        if k > 0:
            mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = 0.0
        return mask.view(weight.shape)
    """, "ex02-magnitude-mask", "off by one: rounds k down instead of to the nearest integer"),
    ("02_pruning", 0, """
        k = round(sparsity * weight.numel())
        if k == 0:
            return torch.ones_like(weight)
        threshold = weight.abs().flatten().kthvalue(k).values
        return (weight.abs() >= threshold).float()
    """, "ex02-magnitude-mask", "off by one: keeps the k-th smallest weight (>= instead of >)"),
    ("02_pruning", 0, """
        k = round(sparsity * weight.numel())
        mask = torch.ones(weight.numel())
        if k > 0:
            mask[torch.topk(weight.flatten(), k, largest=False).indices] = 0.0
        return mask.view(weight.shape)
    """, "ex02-magnitude-mask", "ranks signed values, not magnitudes: prunes the most negative weights"),
    ("02_pruning", 1, "return [magnitude_mask(w, sparsity) for w in weights]", "ex02-global-threshold",
     "a threshold per layer where one global threshold is asked for"),
    ("02_pruning", 2, "return [initial + (final - initial) * t / steps for t in range(1, steps + 1)]",
     "ex02-cubic-schedule", "a linear schedule instead of the cubic one"),
    ("02_pruning", 2, "return [final + (initial - final) * (1 - t / steps) ** 3 for t in range(steps)]",
     "ex02-cubic-schedule", "off by one: t runs 0..steps-1, so the schedule never reaches final"),
    ("02_pruning", 2, "return [initial + (final - initial) * (t / steps) ** 3 for t in range(1, steps + 1)]",
     "ex02-cubic-schedule", "the cubic turned around: tiny steps first, the big ones at the end"),
    ("02_pruning", 3, """
        params = list(model.parameters())
        return sum(int((p == 0).sum()) for p in params) / sum(p.numel() for p in params)
    """, "ex02-count-sparsity", "the seed's bug: model.parameters() yields weight_orig, not the masked weight"),
    ("02_pruning", 3, """
        zeros = total = 0
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                for t in (module.weight, module.bias):
                    zeros += int((t == 0).sum())
                    total += t.numel()
        return zeros / total
    """, "ex02-count-sparsity", "counts the (unpruned) biases too"),
    ("02_pruning", 4, """
        conv1, bn, relu, conv2 = block
        alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
        new1 = nn.Conv2d(conv1.in_channels, len(alive), conv1.kernel_size, conv1.stride, conv1.padding)
        new2 = nn.Conv2d(len(alive), conv2.out_channels, conv2.kernel_size, conv2.stride, conv2.padding)
        with torch.no_grad():
            new1.weight.copy_(conv1.weight[alive])
            new1.bias.copy_(conv1.bias[alive])
            new2.weight.copy_(conv2.weight[:, alive])
            new2.bias.copy_(conv2.bias)
        return nn.Sequential(new1, bn, relu, new2)
    """, "ex02-remove-channels", "forgets to slice the BatchNorm"),
    ("02_pruning", 4, """
        conv1, bn, relu, conv2 = block
        alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
        new1 = nn.Conv2d(conv1.in_channels, len(alive), conv1.kernel_size, conv1.stride, conv1.padding)
        new_bn = nn.BatchNorm2d(len(alive), eps=bn.eps, momentum=bn.momentum)
        with torch.no_grad():
            new1.weight.copy_(conv1.weight[alive])
            new1.bias.copy_(conv1.bias[alive])
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(new_bn, name).copy_(getattr(bn, name)[alive])
        return nn.Sequential(new1, new_bn, relu, conv2)
    """, "ex02-remove-channels", "forgets the next conv's input channels"),
    ("02_pruning", 4, """
        conv1, bn, relu, conv2 = block
        alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
        new1 = nn.Conv2d(conv1.in_channels, len(alive), conv1.kernel_size, conv1.stride, conv1.padding)
        new_bn = nn.BatchNorm2d(len(alive), eps=bn.eps, momentum=bn.momentum)
        new2 = nn.Conv2d(len(alive), conv2.out_channels, conv2.kernel_size, conv2.stride, conv2.padding)
        with torch.no_grad():
            new1.weight.copy_(conv1.weight[alive])
            new1.bias.copy_(conv1.bias[alive])
            for name in ("weight", "bias"):
                getattr(new_bn, name).copy_(getattr(bn, name)[alive])
            new2.weight.copy_(conv2.weight[:, alive])
            new2.bias.copy_(conv2.bias)
        return nn.Sequential(new1, new_bn, relu, new2)
    """, "ex02-remove-channels", "slices BatchNorm's weight and bias but not its running mean and variance"),
]


@pytest.mark.notebook
@pytest.mark.parametrize(
    "stem, region, code, check_id, why", WRONG_ANSWERS, ids=[f"{w[0]}-{w[3]}-{i}" for i, w in enumerate(WRONG_ANSWERS)]
)
def test_check_fails_on_wrong_answer(stem, region, code, check_id, why):
    path = ROOT / "solutions" / "en" / f"{stem}.py"
    text = replace_regions(path.read_text(encoding="utf-8"), {region: code}, where=str(path))
    runs = run_text(text, cwd=str(ROOT), stop_after=check_id)
    checks = {r.metadata.get("check_id"): r for r in runs if r.is_check}
    assert check_id in checks, f"no check cell with check_id={check_id!r} in {path.name}"
    assert checks[check_id].error is not None, f"check {check_id} passed a wrong answer ({why})"
