"""Plausible wrong answers for solutions/en/02_pruning.py (see tests/wrong_answers.py)."""


# the solution's gradual loop with one line changed (see the entries below)
GRADUAL = """
        from torch.nn.utils import prune

        layers = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        reached = 0.0
        for t, target in enumerate(cubic_schedule(0.0, final, steps), start=1):
            amount = (target - reached) / (1 - reached)
            prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=amount)
            reached = target
            finetune(model, t)
        return model
"""

# the solution's shrink_block with the layers built differently (see the entries below)
SHRINK = """
        conv1, bn, relu, conv2 = block
        alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
        NEW1
        NEW_BN
        NEW2
        with torch.no_grad():
            new1.weight.copy_(conv1.weight[alive])
            if conv1.bias is not None:
                new1.bias.copy_(conv1.bias[alive])
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(new_bn, name).copy_(getattr(bn, name)[alive])
            new2.weight.copy_(conv2.weight[:, alive])
            if conv2.bias is not None:
                new2.bias.copy_(conv2.bias)
        return nn.Sequential(new1, new_bn, relu, new2)
"""
RIGHT = {
    "NEW1": "new1 = nn.Conv2d(conv1.in_channels, len(alive), conv1.kernel_size, conv1.stride, conv1.padding, "
            "bias=conv1.bias is not None)",
    "NEW_BN": "new_bn = nn.BatchNorm2d(len(alive), eps=bn.eps, momentum=bn.momentum)",
    "NEW2": "new2 = nn.Conv2d(len(alive), conv2.out_channels, conv2.kernel_size, conv2.stride, conv2.padding, "
            "bias=conv2.bias is not None)",
}


def shrink(**wrong):
    code = SHRINK
    for key, line in {**RIGHT, **wrong}.items():
        code = code.replace(key if key != "NEW1" else "NEW1\n", line + "\n" if key == "NEW1" else line)
    return code


# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS = [
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
        new1 = nn.Conv2d(conv1.in_channels, len(alive), conv1.kernel_size, conv1.stride, conv1.padding,
                         bias=conv1.bias is not None)
        new2 = nn.Conv2d(len(alive), conv2.out_channels, conv2.kernel_size, conv2.stride, conv2.padding,
                         bias=conv2.bias is not None)
        with torch.no_grad():
            new1.weight.copy_(conv1.weight[alive])
            if conv1.bias is not None:
                new1.bias.copy_(conv1.bias[alive])
            new2.weight.copy_(conv2.weight[:, alive])
            if conv2.bias is not None:
                new2.bias.copy_(conv2.bias)
        return nn.Sequential(new1, bn, relu, new2)
    """, "ex02-remove-channels", "forgets to slice the BatchNorm"),
    ("02_pruning", 4, """
        conv1, bn, relu, conv2 = block
        alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
        new1 = nn.Conv2d(conv1.in_channels, len(alive), conv1.kernel_size, conv1.stride, conv1.padding,
                         bias=conv1.bias is not None)
        new_bn = nn.BatchNorm2d(len(alive), eps=bn.eps, momentum=bn.momentum)
        with torch.no_grad():
            new1.weight.copy_(conv1.weight[alive])
            if conv1.bias is not None:
                new1.bias.copy_(conv1.bias[alive])
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(new_bn, name).copy_(getattr(bn, name)[alive])
        return nn.Sequential(new1, new_bn, relu, conv2)
    """, "ex02-remove-channels", "forgets the next conv's input channels"),
    ("02_pruning", 4, """
        conv1, bn, relu, conv2 = block
        alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
        new1 = nn.Conv2d(conv1.in_channels, len(alive), conv1.kernel_size, conv1.stride, conv1.padding,
                         bias=conv1.bias is not None)
        new_bn = nn.BatchNorm2d(len(alive), eps=bn.eps, momentum=bn.momentum)
        new2 = nn.Conv2d(len(alive), conv2.out_channels, conv2.kernel_size, conv2.stride, conv2.padding,
                         bias=conv2.bias is not None)
        with torch.no_grad():
            new1.weight.copy_(conv1.weight[alive])
            if conv1.bias is not None:
                new1.bias.copy_(conv1.bias[alive])
            for name in ("weight", "bias"):
                getattr(new_bn, name).copy_(getattr(bn, name)[alive])
            new2.weight.copy_(conv2.weight[:, alive])
            if conv2.bias is not None:
                new2.bias.copy_(conv2.bias)
        return nn.Sequential(new1, new_bn, relu, new2)
    """, "ex02-remove-channels", "slices BatchNorm's weight and bias but not its running mean and variance"),
    ("02_pruning", 4, """
        conv1, bn, relu, conv2 = block
        alive = torch.nonzero((bn.weight != 0) | (bn.bias != 0)).flatten()
        with torch.no_grad():
            conv1.weight = nn.Parameter(conv1.weight[alive].clone())
            if conv1.bias is not None:
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
            if conv1.bias is not None:
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

        return [evaluate_fn(recalibrate_batchnorm(magnitude_prune(model, s, scope="global"), calibration))
                for s in sparsities]
    """, "ex02-tradeoff", "prunes the caller's model itself, so each sparsity builds on the last"),
    ("02_pruning", 5, """
        from coursekit.prune import clone_model, magnitude_prune

        return [evaluate_fn(recalibrate_batchnorm(magnitude_prune(clone_model(model), s, scope="layer"), calibration))
                for s in sparsities]
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
    # audit (issue 13): wrong extents and hard-coded settings
    ("02_pruning", 0, """
        k = round(keep * weight.shape[-1])
        mask = torch.zeros_like(weight)
        return mask.scatter_(-1, torch.topk(weight.abs(), k, dim=-1).indices, 1.0)
    """, "ex02-magnitude-mask", "ranks each row (last dimension) on its own instead of the whole tensor"),
    ("02_pruning", 1, """
        flat = torch.cat([(w.abs() / w.abs().max()).flatten() for w in weights])
        mask = torch.ones(flat.numel())
        mask[torch.topk(flat, round(sparsity * flat.numel()), largest=False).indices] = 0.0
        return [m.view(w.shape) for m, w in zip(torch.split(mask, [w.numel() for w in weights]), weights)]
    """, "ex02-global-threshold", "normalises each layer by its own largest weight before the global ranking"),
    ("02_pruning", 2, "return [final * (1 - (1 - t / steps) ** 3) for t in range(1, steps + 1)]",
     "ex02-cubic-schedule", "hard-codes initial = 0"),
    ("02_pruning", 3, """
        fractions = [float((m.weight == 0).float().mean()) for m in model.modules()
                     if isinstance(m, (nn.Conv2d, nn.Linear))]
        return sum(fractions) / len(fractions)
    """, "ex02-count-sparsity", "averages the layers' sparsities instead of counting zeros over all weights"),
    ("02_pruning", 4, shrink(NEW1="new1 = nn.Conv2d(conv1.in_channels, len(alive), 3, padding=1)"),
     "ex02-remove-channels", "hard-codes a 3x3 kernel, stride 1 and padding 1 for the new conv1"),
    ("02_pruning", 4, shrink(NEW2="new2 = nn.Conv2d(len(alive), conv2.out_channels, conv2.kernel_size, "
                              "bias=conv2.bias is not None)"),
     "ex02-remove-channels", "copies conv2's kernel size but not its stride and padding"),
    ("02_pruning", 4, shrink(NEW_BN="new_bn = nn.BatchNorm2d(len(alive))"),
     "ex02-remove-channels", "a new BatchNorm with the default eps and momentum"),
    ("02_pruning", 4, shrink(NEW_BN="new_bn = nn.BatchNorm2d(len(alive), eps=bn.eps)"),
     "ex02-remove-channels", "keeps BatchNorm's eps but not its momentum"),
    ("02_pruning", 5, """
        from coursekit.prune import clone_model, magnitude_prune

        return [evaluate_fn(magnitude_prune(clone_model(model), s, scope="global")) for s in sparsities]
    """, "ex02-tradeoff", "no fresh BatchNorm statistics: judges pruned copies with the stale ones"),
    ("02_pruning", 5, """
        from coursekit.prune import clone_model, magnitude_prune

        return [evaluate_fn(magnitude_prune(recalibrate_batchnorm(clone_model(model), calibration), s,
                                            scope="global")) for s in sparsities]
    """, "ex02-tradeoff", "recalibrates before pruning instead of after"),
    ("02_pruning", 7, """
        curve = tradeoff(teacher, lambda m: evaluate(m, loaders.test).accuracy, GRID, calibration)
        return curve, largest_safe_sparsity(GRID, curve, dense_val, MAX_DROP)
    """, "ex02-read-curve", "reads the curve on the test split instead of the validation split"),
    ("02_pruning", 7, """
        curve = tradeoff(teacher, val_accuracy, GRID, calibration)
        return curve, largest_safe_sparsity(GRID, curve, 1.0, MAX_DROP)
    """, "ex02-read-curve", "measures the drop from 100% instead of from the dense accuracy"),
    ("02_pruning", 8, GRADUAL.replace("amount = (target - reached) / (1 - reached)", "amount = target"),
     "ex02-gradual-loop", "the seed code's bug: the absolute target passed as torch's relative amount"),
    ("02_pruning", 8, GRADUAL.replace("amount = (target - reached) / (1 - reached)", "amount = target - reached"),
     "ex02-gradual-loop", "the step's increase passed as a fraction of the remaining weights (too little)"),
    ("02_pruning", 8, GRADUAL.replace("cubic_schedule(0.0, final, steps)",
                                      "[final * t / steps for t in range(1, steps + 1)]"),
     "ex02-gradual-loop", "a linear schedule (the seed code's np.linspace)"),
    ("02_pruning", 8, GRADUAL.replace(
        "prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=amount)",
        "for m, name in layers:\n                prune.l1_unstructured(m, name, amount=amount)"),
     "ex02-gradual-loop", "one threshold per layer instead of one global threshold"),
    ("02_pruning", 8, GRADUAL.replace("            finetune(model, t)\n", "").replace(
        "            amount = (target - reached)", "            finetune(model, t)\n            amount = (target - reached)"),
     "ex02-gradual-loop", "fine-tunes before each cut instead of after"),
    ("02_pruning", 8, """
        from torch.nn.utils import prune

        layers = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=final)
        for t in range(1, steps + 1):
            finetune(model, t)
        return model
    """, "ex02-gradual-loop", "one-shot: prunes to the final sparsity at once, then fine-tunes steps times"),
    ("02_pruning", 9, "return {name: TARGET for name in scan.layers}", "ex02-adaptive-plan",
     "the uniform plan written by hand"),
    ("02_pruning", 9, """
        return {
            "features.0": 0.98, "features.3": 0.95, "features.7": 0.95, "features.10": 0.95, "features.14": 0.95,
            "features.17": 0.95, "classifier.2": 0.95, "classifier.5": 0.95, "classifier.8": 0.98,
        }
    """, "ex02-adaptive-plan", "prunes the small, sensitive layers hardest: the scan read upside down"),
    ("02_pruning", 9, """
        return {
            "features.0": 0.5, "features.3": 0.8, "features.7": 0.9, "features.10": 0.9, "features.14": 0.9,
            "features.17": 0.9, "classifier.2": 0.9, "classifier.5": 0.9, "classifier.8": 0.5,
        }
    """, "ex02-adaptive-plan", "a sensible shape that stops short of the target (about 90%)"),
]
