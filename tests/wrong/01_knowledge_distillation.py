"""Plausible wrong answers for solutions/en/01_knowledge_distillation.py (see tests/wrong_answers.py)."""


# lesson 01, exercise 2: the right hard part (unknown labels are -1), for the entries whose mistake is elsewhere
HARD_01 = """
        known = targets >= 0
        hard = F.cross_entropy(student_logits[known], targets[known]) if known.any() else student_logits.sum() * 0.0
"""


# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS = [
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
    # audit (issue 13): wrong extents
    ("01_knowledge_distillation", 0, """
        z = logits / T
        z = z - z.amax(dim=dim, keepdim=True)
        e = z.exp()
        return e / e.sum()
    """, "ex01-soft-targets", "normalises over the whole tensor instead of along dim"),
    ("01_knowledge_distillation", 0, """
        z = logits / T
        z = z - z.max()
        e = z.exp()
        return e / e.sum(dim=dim, keepdim=True)
    """, "ex01-soft-targets", "subtracts one maximum over the whole tensor: low slices underflow to 0/0"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        log_q = F.log_softmax(student_logits / T, dim=1)
        p = F.softmax(teacher_logits / T, dim=1)
        soft = F.kl_div(log_q[known], p[known], reduction="batchmean") * T**2 if known.any() else hard * 0
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "averages the soft term over the labelled examples only"),
    ("01_knowledge_distillation", 1, """
        known = targets >= 0
        hard = F.cross_entropy(student_logits, targets.clamp(min=0), reduction="none").mul(known).sum() / len(targets)
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="batchmean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "averages the hard term over the whole batch (unknown labels counted as zero loss)"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                        reduction="sum") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "reduction='sum': the soft term grows with the batch size"),
    ("01_knowledge_distillation", 1, HARD_01 + """
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=0), F.softmax(teacher_logits / T, dim=0),
                        reduction="batchmean") * T**2
        return alpha * hard + (1 - alpha) * soft, hard, soft
    """, "ex01-kd-loss", "softmax over the batch dimension instead of the classes"),
    ("01_knowledge_distillation", 3, """
        z = logits.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_fn(z), z)
        return grad.norm(dim=1).mean().item()
    """, "ex01-grad-norm", "the mean of per-example gradient norms instead of the norm of the whole gradient"),
    ("01_knowledge_distillation", 5, """
        difference = statistics.fmean(treated) - statistics.fmean(baseline)
        spread = max(statistics.pstdev(baseline), statistics.pstdev(treated))
        return difference, spread, abs(difference) > spread
    """, "ex01-compare-seeds", "population standard deviation (divides by n) instead of the sample one"),
    ("01_knowledge_distillation", 5, """
        difference = statistics.fmean(treated) - statistics.fmean(baseline)
        spread = statistics.stdev(baseline + treated)
        return difference, spread, abs(difference) > spread
    """, "ex01-compare-seeds", "one standard deviation over both methods' results pooled together"),
]
