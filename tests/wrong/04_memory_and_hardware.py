"""Plausible wrong answers for solutions/en/04_memory_and_hardware.py (see tests/wrong_answers.py)."""

# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS = [
    ("04_memory_and_hardware", 0, """
        optimizer.zero_grad()
        for x, y in micro_batches:
            (nn.functional.cross_entropy(model(x), y) / len(micro_batches)).backward()
        optimizer.step()
    """, "ex04-accumulation", "averages per micro-batch: the shorter last micro-batch weighs too much"),
    ("04_memory_and_hardware", 0, """
        optimizer.zero_grad()
        for x, y in micro_batches:
            nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    """, "ex04-accumulation", "adds the micro-batch means: a gradient several times too large"),
    ("04_memory_and_hardware", 0, """
        total = sum(len(y) for _, y in micro_batches)
        for x, y in micro_batches:
            (nn.functional.cross_entropy(model(x), y, reduction="sum") / total).backward()
        optimizer.step()
    """, "ex04-accumulation", "forgets zero_grad: stale gradients are added in"),
    ("04_memory_and_hardware", 0, """
        total = sum(len(y) for _, y in micro_batches)
        for x, y in micro_batches:
            optimizer.zero_grad()
            (nn.functional.cross_entropy(model(x), y, reduction="sum") / total).backward()
            optimizer.step()
    """, "ex04-accumulation", "steps after every micro-batch instead of once"),
    ("04_memory_and_hardware", 1, """
        n = sum(p.numel() for p in model.parameters())
        copies = 2 if isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW) else (1 if optimizer.param_groups[0]["momentum"] else 0)
        return {"parameters": 4 * n, "gradients": 4 * n, "optimizer_state": 4 * copies * n, "activations": activations}
    """, "ex04-training-memory", "assumes 4 bytes per number and that every parameter trains"),
    ("04_memory_and_hardware", 1, """
        params = sum(p.numel() * p.element_size() for p in model.parameters())
        copies = 2 if isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW) else (1 if optimizer.param_groups[0]["momentum"] else 0)
        return {"parameters": params, "gradients": params, "optimizer_state": copies * params, "activations": activations}
    """, "ex04-training-memory", "gives frozen parameters gradients and optimizer state"),
    ("04_memory_and_hardware", 1, """
        params = sum(p.numel() * p.element_size() for p in model.parameters())
        trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
        copies = 1 if isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW) else 0
        return {"parameters": params, "gradients": trainable, "optimizer_state": copies * trainable, "activations": activations}
    """, "ex04-training-memory", "one state tensor for Adam (it keeps two) and none for SGD with momentum"),
    ("04_memory_and_hardware", 1, """
        params = sum(p.numel() * p.element_size() for p in model.parameters())
        trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
        copies = 2 if isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW) else 1
        return {"parameters": params, "gradients": trainable, "optimizer_state": copies * trainable, "activations": activations}
    """, "ex04-training-memory", "gives plain SGD a momentum buffer"),
    ("04_memory_and_hardware", 2, """
        side = size + 2 * padding - kernel + 1
        outputs = batch * out_channels * side * side
        flops = 2 * outputs * in_channels * kernel * kernel + outputs
        elements = batch * in_channels * size * size + outputs + out_channels * in_channels * kernel * kernel + out_channels
        return flops, elements * bytes_per_element, flops / (elements * bytes_per_element)
    """, "ex04-conv-intensity", "ignores the stride"),
    ("04_memory_and_hardware", 2, """
        side = (size - kernel) // stride + 1
        outputs = batch * out_channels * side * side
        flops = 2 * outputs * in_channels * kernel * kernel + outputs
        elements = batch * in_channels * size * size + outputs + out_channels * in_channels * kernel * kernel + out_channels
        return flops, elements * bytes_per_element, flops / (elements * bytes_per_element)
    """, "ex04-conv-intensity", "ignores the padding"),
    ("04_memory_and_hardware", 2, """
        side = (size + 2 * padding - kernel) // stride + 1
        outputs = batch * out_channels * side * side
        flops = outputs * in_channels * kernel * kernel + outputs
        elements = batch * in_channels * size * size + outputs + out_channels * in_channels * kernel * kernel + out_channels
        return flops, elements * bytes_per_element, flops / (elements * bytes_per_element)
    """, "ex04-conv-intensity", "counts multiply-adds, not FLOPs (a multiply-add is 2)"),
    ("04_memory_and_hardware", 2, """
        side = (size + 2 * padding - kernel) // stride + 1
        outputs = batch * out_channels * side * side
        flops = 2 * outputs * in_channels * kernel * kernel
        elements = batch * in_channels * size * size + outputs + out_channels * in_channels * kernel * kernel
        return flops, elements * bytes_per_element, flops / (elements * bytes_per_element)
    """, "ex04-conv-intensity", "leaves out the bias"),
    ("04_memory_and_hardware", 2, """
        side = (size + 2 * padding - kernel) // stride + 1
        outputs = batch * out_channels * side * side
        flops = 2 * outputs * in_channels * kernel * kernel + outputs
        elements = batch * in_channels * size * size + outputs
        return flops, elements * bytes_per_element, flops / (elements * bytes_per_element)
    """, "ex04-conv-intensity", "forgets that the weights must be read too"),
    ("04_memory_and_hardware", 2, """
        side = (size + 2 * padding - kernel) // stride + 1
        outputs = batch * out_channels * side * side
        flops = 2 * outputs * in_channels * kernel * kernel + outputs
        elements = batch * in_channels * size * size + outputs + out_channels * in_channels * kernel * kernel + out_channels
        return flops, elements * 4, flops / (elements * 4)
    """, "ex04-conv-intensity", "assumes 4 bytes per number"),
    ("04_memory_and_hardware", 3, """
        memory_roof = intensity * peak_gbps
        return min(peak_gflops, memory_roof), ("memory" if memory_roof <= peak_gflops else "compute")
    """, "ex04-roofline-bound", "calls the ridge point itself memory-bound"),
    ("04_memory_and_hardware", 3, """
        return peak_gflops, ("memory" if intensity < peak_gflops / peak_gbps else "compute")
    """, "ex04-roofline-bound", "says the peak is attainable below the ridge too"),
    ("04_memory_and_hardware", 3, """
        memory_roof = intensity * peak_gbps
        return min(peak_gflops, memory_roof), ("memory" if intensity < peak_gbps / peak_gflops else "compute")
    """, "ex04-roofline-bound", "the ridge point upside down (bandwidth / compute)"),
    ("04_memory_and_hardware", 4, """
        return (grads != 0) & ((grads * scale).abs() < torch.finfo(torch.float16).tiny)
    """, "ex04-loss-scaling", "counts subnormals as lost: fp16 keeps them (down to ~6e-8)"),
    ("04_memory_and_hardware", 4, """
        return (grads * scale).to(torch.float16) == 0
    """, "ex04-loss-scaling", "counts gradients that were zero to begin with"),
    ("04_memory_and_hardware", 4, """
        return (grads != 0) & (grads.to(torch.float16) * scale == 0)
    """, "ex04-loss-scaling", "casts before scaling: the scale saves nothing"),
    ("04_memory_and_hardware", 4, """
        return (grads != 0) & ((grads * scale).to(torch.bfloat16) == 0)
    """, "ex04-loss-scaling", "casts to bf16, whose range is fp32's"),
    ("04_memory_and_hardware", 4, """
        return (grads != 0) & ((grads * scale).abs() < 5.96e-8)
    """, "ex04-loss-scaling", "a threshold at the smallest subnormal: values above half of it round up, not to zero"),
]
