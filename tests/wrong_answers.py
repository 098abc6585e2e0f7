"""The table of plausible wrong answers, and how to prove each one fails its check.

The tests live in test_wrong_answers_*.py (one file per notebook and part, so they run in parallel).

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

# lesson 01, exercise 2: the right hard part (unknown labels are -1), for the entries whose mistake is elsewhere
HARD_01 = """
        known = targets >= 0
        hard = F.cross_entropy(student_logits[known], targets[known]) if known.any() else student_logits.sum() * 0.0
"""

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
    ("01_knowledge_distillation", 0, "return torch.softmax(logits, dim=dim)", "ex01-soft-targets",
     "forgets the temperature"),
    ("01_knowledge_distillation", 0, """
        e = (logits / T).exp()
        return e / e.sum(dim=dim, keepdim=True)
    """, "ex01-soft-targets", "overflows on large logits (no max subtracted)"),
    ("01_knowledge_distillation", 0, """
        z = logits / T
        z = z - z.max(dim=-1, keepdim=True).values
        e = z.exp()
        return e / e.sum(dim=-1, keepdim=True)
    """, "ex01-soft-targets", "copies the lesson's version: always the last dimension, ignores dim"),
    ("01_knowledge_distillation", 0, "return soft_targets(logits, T)", "ex01-soft-targets",
     "calls coursekit's soft_targets instead of writing it (the library is not in scope)"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="batchmean")
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "missing T²"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        soft = F.kl_div(F.log_softmax(teacher_logits / T, dim=1), F.softmax(student_logits / T, dim=1),
                        reduction="batchmean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "reversed KL: KL(student || teacher)"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="mean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "reduction='mean' instead of 'batchmean' (divides by the classes too)"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        soft = F.kl_div(F.softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="batchmean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "probabilities instead of log-probabilities as kl_div's input"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.log_softmax(teacher_logits / T, dim=1),
                        reduction="batchmean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "log-probabilities as kl_div's target without log_target=True"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="batchmean") * T**2
        return (1 - alpha) * hard + alpha * soft, hard, soft
    """, "ex01-kd-loss", "alpha weighs the soft loss instead of the hard one"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="none").sum(1, keepdim=True).mean(0, keepdim=True) * T**2
        hard = hard.reshape(1, 1)
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "(1, 1)-shaped losses instead of 0-d scalars (allclose would broadcast them)"),
    ("01_knowledge_distillation", 1, """
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="batchmean") * T**2
        hard = F.cross_entropy(student_logits, targets, ignore_index=-1)
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "ignore_index=-1 alone: hard is nan on a batch without any label"),
    ("01_knowledge_distillation", 1,
     "return tuple(kd_loss(student_logits, teacher_logits, targets, temperature=T, alpha=alpha, labelled=targets >= 0))",
     "ex01-kd-loss", "calls coursekit's kd_loss instead of writing it (the library is not in scope)"),
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
    ("01_knowledge_distillation", 2, """
        teacher.eval()
        student.eval()
        with torch.no_grad():
            teacher_logits = teacher(x)
        total, _, _ = kd_loss_parts(student(x), teacher_logits, y, T, alpha)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        return total.item()
    """, "ex01-distill-step", "puts the student in eval mode too (its BatchNorm then uses running statistics)"),
    ("01_knowledge_distillation", 3, """
        z = logits.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_fn(z), z)
        return grad.norm()
    """, "ex01-grad-norm", "returns a 0-d tensor instead of a Python float"),
    ("01_knowledge_distillation", 3, """
        logits.requires_grad_(True)
        loss_fn(logits).backward()
        return logits.grad.norm().item()
    """, "ex01-grad-norm", "marks the caller's logits as requiring grad and leaves .grad on them"),
    ("01_knowledge_distillation", 4, "return -2.0", "ex01-t-squared",
     "types in the large-T answer instead of measuring the slope"),
    ("01_knowledge_distillation", 4, """
        def norm_at(t):
            return grad_norm(lambda z: F.kl_div(F.log_softmax(z / t, dim=1), F.softmax(teacher_logits / t, dim=1),
                                                reduction="batchmean") * t**2, student_logits)

        return math.log2(norm_at(2 * T) / norm_at(T))
    """, "ex01-t-squared", "measures the soft term with T², which is the one that does not shrink"),
    ("01_knowledge_distillation", 5, """
        difference = statistics.fmean(treated) - statistics.fmean(baseline)
        spread = max(statistics.stdev(baseline), statistics.stdev(treated))
        return difference, spread, difference > spread
    """, "ex01-compare-seeds", "forgets that a method can also be clearly worse (no abs)"),
    ("01_knowledge_distillation", 5, """
        comparison = compare_seeds(baseline, treated)
        return comparison.difference, comparison.spread, comparison.exceeds_spread
    """, "ex01-compare-seeds", "calls coursekit's compare_seeds instead of writing it (the library is not in scope)"),
    # lesson 02 (pruning)
    ("02_pruning", 0, """
        k = round(keep * weight.numel())
        mask = torch.zeros(weight.numel())
        mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = 1.0
        return mask.view(weight.shape)
    """, "ex02-magnitude-mask", "keeps the smallest weights and prunes the largest"),
    ("02_pruning", 0, """
        k = int(keep * weight.numel())
        mask = torch.zeros(weight.numel())
        mask[torch.topk(weight.abs().flatten(), k).indices] = 1.0
        return mask.view(weight.shape)
    """, "ex02-magnitude-mask", "off by one: rounds k down instead of to the nearest integer"),
    ("02_pruning", 0, """
        k = round(keep * weight.numel())
        if k == 0:
            return torch.zeros_like(weight)
        threshold = torch.topk(weight.abs().flatten(), k).values[-1]
        return (weight.abs() > threshold).float()
    """, "ex02-magnitude-mask", "off by one: drops the k-th largest weight (> instead of >=)"),
    ("02_pruning", 0, """
        k = round(keep * weight.numel())
        mask = torch.zeros(weight.numel())
        mask[torch.topk(weight.flatten(), k).indices] = 1.0
        return mask.view(weight.shape)
    """, "ex02-magnitude-mask", "ranks signed values, not magnitudes: keeps the most positive weights"),
    ("02_pruning", 0, """
        k = round(keep * weight.numel())
        mask = torch.zeros(weight.numel(), dtype=torch.bool)
        mask[torch.topk(weight.abs().flatten(), k).indices] = True
        return mask.view(weight.shape)
    """, "ex02-magnitude-mask", "a bool mask where a float32 mask is asked for"),
    ("02_pruning", 0, """
        k = round(keep * weight.numel())
        mask = torch.ones(weight.numel())
        mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = 0.0
        return mask.view(weight.shape)
    """, "ex02-magnitude-mask", "copies the lesson's section 2: treats the fraction to keep as the sparsity"),
    ("02_pruning", 0, 'return prune.l1_unstructured(holder(weight), "weight", amount=1 - keep).weight_mask',
     "ex02-magnitude-mask", "calls the library instead of writing the mask (torch's prune is not in scope)"),
    ("02_pruning", 1, "return [keep_mask(w, 1 - sparsity) for w in weights]", "ex02-global-threshold",
     "a threshold per layer where one global threshold is asked for"),
    ("02_pruning", 2, "return [initial + (final - initial) * t / steps for t in range(1, steps + 1)]",
     "ex02-cubic-schedule", "a linear schedule instead of the cubic one"),
    ("02_pruning", 2, "return [final + (initial - final) * (1 - t / steps) ** 3 for t in range(steps)]",
     "ex02-cubic-schedule", "off by one: t runs 0..steps-1, so the schedule never reaches final"),
    ("02_pruning", 2, "return [initial + (final - initial) * (t / steps) ** 3 for t in range(1, steps + 1)]",
     "ex02-cubic-schedule", "the cubic turned around: tiny steps first, the big ones at the end"),
    ("02_pruning", 2, "return list(ckprune.polynomial_schedule(initial, final, steps))", "ex02-cubic-schedule",
     "calls coursekit's schedule instead of writing it (the library is not in scope)"),
    ("02_pruning", 3, """
        params = list(model.parameters())
        return sum(int((p == 0).sum()) for p in params) / sum(p.numel() for p in params)
    """, "ex02-count-sparsity", "the seed code's bug: model.parameters() yields weight_orig, not the masked weight"),
    ("02_pruning", 3, """
        zeros = total = 0
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                for t in (module.weight, module.bias):
                    zeros += int((t == 0).sum())
                    total += t.numel()
        return zeros / total
    """, "ex02-count-sparsity", "counts the (unpruned) biases too"),
    ("02_pruning", 3, """
        zeros = total = 0
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                zeros += int((module.weight_mask == 0).sum())
                total += module.weight_mask.numel()
        return zeros / total
    """, "ex02-count-sparsity", "reads weight_mask: fails on a layer that was never pruned"),
    ("02_pruning", 3, """
        zeros = total = 0
        for module in model.modules():
            if hasattr(module, "weight_mask"):
                zeros += int((module.weight_mask == 0).sum())
                total += module.weight_mask.numel()
        return zeros / total
    """, "ex02-count-sparsity", "counts only the pruned layers' masks: skips unpruned layers and zeros saved as weights"),
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
    ("02_pruning", 4, """
        conv1, bn, relu, conv2 = block
        alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
        with torch.no_grad():
            conv1.weight = nn.Parameter(conv1.weight[alive].clone())
            conv1.bias = nn.Parameter(conv1.bias[alive].clone())
            conv1.out_channels = len(alive)
            bn.weight = nn.Parameter(bn.weight[alive].clone())
            bn.bias = nn.Parameter(bn.bias[alive].clone())
            bn.running_mean = bn.running_mean[alive].clone()
            bn.running_var = bn.running_var[alive].clone()
            bn.num_features = len(alive)
            conv2.weight = nn.Parameter(conv2.weight[:, alive].clone())
            conv2.in_channels = len(alive)
        return block
    """, "ex02-remove-channels", "shrinks the caller's block in place and returns it"),
    ("02_pruning", 4, """
        conv1, bn, relu, conv2 = block
        alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
        with torch.no_grad():
            conv1.weight = nn.Parameter(conv1.weight[alive].clone())
            conv1.bias = nn.Parameter(conv1.bias[alive].clone())
            conv1.out_channels = len(alive)
            bn.weight = nn.Parameter(bn.weight[alive].clone())
            bn.bias = nn.Parameter(bn.bias[alive].clone())
            bn.running_mean = bn.running_mean[alive].clone()
            bn.running_var = bn.running_var[alive].clone()
            bn.num_features = len(alive)
            conv2.weight = nn.Parameter(conv2.weight[:, alive].clone())
            conv2.in_channels = len(alive)
        return nn.Sequential(conv1, bn, relu, conv2)
    """, "ex02-remove-channels", "a new Sequential, but built from the caller's layers, shrunk in place"),
    ("02_pruning", 4, "return ckprune.remove_channels(block)", "ex02-remove-channels",
     "calls coursekit's remove_channels instead of writing it (the library is not in scope)"),
    # lesson 02, exercise 6: the trade-off on the real teacher
    ("02_pruning", 5, """
        from coursekit.prune import magnitude_prune

        return [evaluate_fn(magnitude_prune(model, s, scope="global")) for s in sparsities]
    """, "ex02-tradeoff", "prunes the caller's model itself, so each sparsity builds on the last"),
    ("02_pruning", 5, """
        from coursekit.prune import clone_model, magnitude_prune

        return [evaluate_fn(magnitude_prune(clone_model(model), s, scope="layer")) for s in sparsities]
    """, "ex02-tradeoff", "layer-wise thresholds where one global threshold is asked"),
    ("02_pruning", 6, """
        ok = [s for s, a in zip(sparsities, accuracies) if a >= dense_accuracy - max_drop]
        return max(ok, default=0.0)
    """, "ex02-tradeoff", "takes any later sparsity that scores well again, past a costly dip"),
    ("02_pruning", 6, """
        safe = 0.0
        for s, accuracy in sorted(zip(sparsities, accuracies)):
            if accuracy < dense_accuracy * (1 - max_drop):
                break
            safe = s
        return safe
    """, "ex02-tradeoff", "a relative drop where max_drop is in accuracy points"),
    ("02_pruning", 6, """
        safe = 0.0
        for s, accuracy in zip(sparsities, accuracies):
            if accuracy < dense_accuracy - max_drop:
                break
            safe = s
        return safe
    """, "ex02-tradeoff", "walks the pairs in the order given instead of by increasing sparsity"),
]


def run_wrong_answer(stem, region, code, check_id, why):
    path = ROOT / "solutions" / "en" / f"{stem}.py"
    text = replace_regions(path.read_text(encoding="utf-8"), {region: code}, where=str(path))
    runs = run_text(text, cwd=str(ROOT), stop_after=check_id)
    checks = {r.metadata.get("check_id"): r for r in runs if r.is_check}
    assert check_id in checks, f"no check cell with check_id={check_id!r} in {path.name}"
    assert checks[check_id].error is not None, f"check {check_id} passed a wrong answer ({why})"


def cases(stem: str, part: int, parts: int):
    """The wrong answers for one solution notebook, split into `parts` files so that pytest-xdist
    (which keeps a file on one worker) can spread them over both workers."""
    mine = [w for w in WRONG_ANSWERS if w[0] == stem][part::parts]
    return pytest.mark.parametrize("stem, region, code, check_id, why", mine,
                                   ids=[f"{w[3]}-{i}" for i, w in enumerate(mine)])
