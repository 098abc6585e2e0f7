"""Lesson 04's CPU numbers, measured in one run: activation memory with and without checkpointing,
the bf16-autocast / fp32 training-step time ratio, checkpointing's time cost, and the roofline peaks.

    python benchmarks/memory_hardware.py [--rounds 5] [--threads 1]

Activation bytes are exact (saved-tensor hooks, no timing). Times are taken in interleaved rounds and
reported as ratios with their range over rounds; compare ratios, never absolute times across runs.
Record the output in docs/benchmarks/memory.md with the date and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from coursekit.hardware import measure_peaks, time_interleaved  # noqa: E402
from coursekit.memory import activation_bytes, checkpointed  # noqa: E402
from coursekit.models import TeacherNet  # noqa: E402

MB = 1e6


def ratio(base, other):
    r = [o / b for b, o in zip(base, other)]
    return f"{statistics.median(r):.2f}× (rounds {min(r):.2f}–{max(r):.2f}×)"


def step_fn(model, x, y, dtype=None):
    opt = torch.optim.SGD(model.parameters(), lr=0.0)

    def step():
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    flags = set()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            flags = {w for line in f if line.startswith("flags") for w in line.split()}
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), capability {torch.backends.cpu.get_cpu_capability()}, "
          f"bf16 flags {sorted(flags & {'avx512_bf16', 'amx_bf16', 'amx_tile'}) or 'none'}")

    print("\nactivation memory of one training step (TeacherNet, saved-tensor hooks):")
    for channels, side, batch in ((1, 8, 64), (1, 8, 256), (3, 32, 64)):
        torch.manual_seed(0)
        model = TeacherNet(in_channels=channels)
        x = torch.randn(batch, channels, side, side)
        plain = activation_bytes(model, x).activations
        ckpt = activation_bytes(checkpointed(model, 3), x).activations
        print(f"  {channels}x{side}x{side}, batch {batch:3d}: plain {plain / MB:7.2f} MB, checkpointed (3 segments) "
              f"{ckpt / MB:6.2f} MB — {plain / ckpt:.1f}× less")

    torch.manual_seed(0)
    model = TeacherNet(in_channels=1).train()
    x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 10, (64,))
    times = time_interleaved({"fp32": step_fn(model, x, y), "bf16": step_fn(model, x, y, torch.bfloat16),
                              "ckpt": step_fn(checkpointed(model, 3).train(), x, y)}, rounds=args.rounds)
    print(f"\ntraining step, digits teacher, batch 64 (median fp32 {statistics.median(times['fp32']):.1f} ms):")
    print(f"  bf16 autocast / fp32: {ratio(times['fp32'], times['bf16'])}")
    print(f"  checkpointed / plain: {ratio(times['fp32'], times['ckpt'])}")

    peaks = measure_peaks()
    print(f"\nroofline: {peaks}")
    print(f"  matmul runs (GFLOP/s): {', '.join(f'{v:.0f}' for v in peaks.gflops_runs)}")
    print(f"  copy runs (GB/s): {', '.join(f'{v:.1f}' for v in peaks.gbps_runs)}")


if __name__ == "__main__":
    main()
