"""Lesson 04 on a GPU: the same tricks timed on a CUDA device, and the recorded reference table.

``cuda_tricks()`` times the teacher with each trick of the lesson (fp32, TF32, bf16/fp16 autocast,
channels-last, CUDA graphs, checkpointing) and measures peak training memory; it needs CUDA.
``benchmarks/gpu_reference.py`` runs it and records the rows, with the GPU, torch and date, in
``benchmarks/results/gpu_reference.json``; ``gpu_reference()`` reads that file back (``None`` when no
GPU reference has been recorded yet), so learners without a GPU see measured numbers, never typed ones.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import torch
from torch import nn

from coursekit.hardware import time_interleaved

__all__ = ["GPU_REFERENCE", "cuda_tricks", "gpu_reference"]

GPU_REFERENCE = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "gpu_reference.json"


def gpu_reference(path=None) -> dict | None:
    """The recorded GPU reference table (written by ``benchmarks/gpu_reference.py``), or ``None`` if
    none has been recorded yet."""
    path = Path(path) if path is not None else GPU_REFERENCE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _ms(fn, repeats: int, device: torch.device) -> float:
    """Median milliseconds of ``fn()`` after 3 warm-up calls: CUDA events on a GPU, a wall clock elsewhere."""
    for _ in range(3):
        fn()
    if device.type != "cuda":
        return statistics.median(time_interleaved({"fn": fn}, rounds=repeats)["fn"])
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def cuda_tricks(*, in_channels: int = 3, image_size: int = 32, repeats: int = 30, graphs: bool = True,
                infer_batches=(1, 1024), train_batch: int = 256, memory_batch: int = 2048, device=None) -> list[dict]:
    """Time the teacher (random weights: timing does not need trained ones) on the CUDA device with each
    trick: fp32, TF32, bf16/fp16 autocast, channels-last, CUDA graphs (``torch.compile(mode=
    "reduce-overhead")``), and peak training memory with bf16 and checkpointing. Rows are dicts
    ``{"case", "batch", "value", "unit"}``; a trick that fails here is recorded with its error.
    ``device`` defaults to CUDA (required); the tests pass ``"cpu"`` with tiny sizes as a smoke run."""
    import copy

    from coursekit.memory import checkpointed, peak_cuda_bytes
    from coursekit.models import TeacherNet

    if device is None and not torch.cuda.is_available():
        raise RuntimeError("cuda_tricks needs a CUDA device; torch.cuda.is_available() is False here.")
    dev = torch.device("cuda" if device is None else device)
    rows: list[dict] = []

    def add(case, batch, fn, unit="ms"):
        try:
            value = fn()
        except Exception as error:  # record why a trick did not run, keep the rest of the table
            rows.append({"case": case, "batch": batch, "value": None, "unit": unit,
                         "error": f"{type(error).__name__}: {str(error)[:200]}"})
            return
        rows.append({"case": case, "batch": batch, "value": value, "unit": unit})

    def call(model, x, dtype=None):
        with torch.autocast(dev.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            return model(x)

    torch.manual_seed(0)
    model = TeacherNet(in_channels=in_channels).to(dev).eval()
    model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    for batch in infer_batches:  # add() calls each lambda at once: the loop variables are bound in time
        x = torch.randn(batch, in_channels, image_size, image_size, device=dev)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            add("inference fp32", batch, lambda: _ms(lambda: call(model, x), repeats, dev))  # noqa: B023
            add("inference bf16 autocast", batch, lambda: _ms(lambda: call(model, x, torch.bfloat16), repeats, dev))  # noqa: B023
            add("inference bf16 + channels-last", batch,
                lambda: _ms(lambda: call(model_cl, x_cl, torch.bfloat16), repeats, dev))  # noqa: B023
    if graphs:
        compiled = torch.compile(copy.deepcopy(model), mode="reduce-overhead")
        x = torch.randn(infer_batches[0], in_channels, image_size, image_size, device=dev)
        with torch.inference_mode():
            add("inference fp32 CUDA graphs", infer_batches[0], lambda: _ms(lambda: compiled(x), repeats, dev))

    def train_step_ms(dtype=None, channels_last=False, tf32=False, scaler=False, batch=train_batch, ckpt=False,
                      peak=False):
        net = TeacherNet(in_channels=in_channels).to(dev).train()
        if ckpt:
            net = checkpointed(net, 3)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        net = net.to(memory_format=fmt)
        opt = torch.optim.Adam(net.parameters())
        grad_scaler = torch.amp.GradScaler(dev.type) if scaler else None
        x = torch.randn(batch, in_channels, image_size, image_size, device=dev).contiguous(memory_format=fmt)
        y = torch.randint(0, 10, (batch,), device=dev)
        old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32

        def step():
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(call(net, x, dtype), y)
            if grad_scaler is not None:
                grad_scaler.scale(loss).backward()
                grad_scaler.step(opt)
                grad_scaler.update()
            else:
                loss.backward()
                opt.step()

        try:
            if peak:
                step()  # the optimizer state exists from here on, as in any later step
                if dev.type != "cuda":
                    raise RuntimeError("peak memory is measured on CUDA devices only")
                return peak_cuda_bytes(step, dev) / 1e9
            return _ms(step, repeats, dev)
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old

    add("training step fp32", train_batch, lambda: train_step_ms())
    add("training step TF32", train_batch, lambda: train_step_ms(tf32=True))
    add("training step bf16 autocast", train_batch, lambda: train_step_ms(torch.bfloat16))
    if dev.type == "cuda":  # fp16 + GradScaler is the GPU recipe (on a CPU it is very slow and not used)
        add("training step fp16 autocast + GradScaler", train_batch, lambda: train_step_ms(torch.float16, scaler=True))
    add("training step bf16 + channels-last", train_batch, lambda: train_step_ms(torch.bfloat16, channels_last=True))
    add("peak training memory fp32", memory_batch, lambda: train_step_ms(batch=memory_batch, peak=True), "GB")
    add("peak training memory bf16", memory_batch, lambda: train_step_ms(torch.bfloat16, batch=memory_batch,
                                                                        peak=True), "GB")
    add("peak training memory bf16 + checkpointing", memory_batch,
        lambda: train_step_ms(torch.bfloat16, batch=memory_batch, ckpt=True, peak=True), "GB")
    small = TeacherNet(in_channels=1).eval()
    one = torch.randn(1, 1, 8, 8)
    with torch.inference_mode():
        add("digits teacher batch 1 on the CPU", 1,
            lambda: statistics.median(time_interleaved({"cpu": lambda: small(one)}, rounds=repeats)["cpu"]))
        small_gpu, one_gpu = copy.deepcopy(small).to(dev), one.to(dev)
        add("digits teacher batch 1 on the " + ("GPU" if dev.type == "cuda" else f"device ({dev.type})"), 1, lambda: _ms(lambda: small_gpu(one_gpu), repeats, dev))
    return rows
