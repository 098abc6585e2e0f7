"""Plausible wrong answers for solutions/en/02_pruning.py (see tests/wrong_answers.py)."""

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
