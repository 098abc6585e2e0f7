"""Distillation with the teacher's logits computed once vs a teacher forward pass on every batch.

    python benchmarks/distill_cache.py [--repeats 5] [--epochs 2] [--threads N]

The lesson's setting: the cached TeacherNet (``pretrained("teacher")``), a fresh StudentNet, the digits
training split in batches of 64 (not augmented), T = 4, alpha = 0.3, no validation pass (so that the
epoch time is distillation only). The two modes run in turns, ``--repeats`` times each, in one
process; each run reports fit's per-epoch times. Prints the median per-epoch time of each mode and
their ratio (the speed-up of caching), and the one-time cost of computing the cached logits, which
the per-epoch time leaves out. The acceptance criterion is a ratio of at least 1.5.
Record the output in docs/benchmarks.md with the date and the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from coursekit.data import load_dataset, make_loaders  # noqa: E402
from coursekit.distill import compute_logits, distill  # noqa: E402
from coursekit.models import StudentNet  # noqa: E402
from coursekit.pretrained import pretrained  # noqa: E402


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each mode, in turns")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    splits = load_dataset("digits", seed=0)
    train = make_loaders(splits, batch_size=64, seed=0).train
    teacher = pretrained("teacher", progress=False)
    epochs = {"cached": [], "per batch": []}
    calls = {"cached": [], "per batch": []}
    for repeat in range(args.repeats):
        for mode in ("cached", "per batch"):
            torch.manual_seed(repeat)
            student = StudentNet(num_classes=10, in_channels=1)
            start = time.perf_counter()
            history = distill(student, teacher, train, epochs=args.epochs, seed=repeat, progress=False,
                              cache_teacher=(mode == "cached"))
            calls[mode].append(time.perf_counter() - start)
            epochs[mode].extend(history.epoch_seconds)
    start = time.perf_counter()
    for _ in range(args.repeats):
        compute_logits(teacher, splits.train)
    once = (time.perf_counter() - start) / args.repeats

    median = {mode: statistics.median(times) for mode, times in epochs.items()}
    ratio = median["per batch"] / median["cached"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPU cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"StudentNet distilled from TeacherNet, {len(splits.train)} images, batch 64, {len(train)} batches "
          f"per epoch; {args.repeats} runs x {args.epochs} epochs per mode, in turns")
    for mode in epochs:
        print(f"  {mode:>9}: median epoch {median[mode] * 1000:7.1f} ms "
              f"(min {min(epochs[mode]) * 1000:.1f}, max {max(epochs[mode]) * 1000:.1f}); "
              f"median whole call ({args.epochs} epochs) {statistics.median(calls[mode]) * 1000:.1f} ms")
    print(f"  one-time teacher pass over the training set (cached mode only): {once * 1000:.1f} ms")
    print(f"speed-up of a cached epoch: {ratio:.2f}x (acceptance: >= 1.5x) -> {'PASS' if ratio >= 1.5 else 'FAIL'}")
    return ratio


if __name__ == "__main__":
    main()
