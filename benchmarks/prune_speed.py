"""Masks vs removed channels: latency ratios next to FLOPs ratios, measured in one run.

    python benchmarks/prune_speed.py [--runs 20] [--rounds 5]

For 25%, 50% and 75% of the teacher's channels pruned (structured, L2 norm, every layer but the
output), three models are timed in turns at batch 1 and 64 with 1 and 2 threads: the dense teacher,
the pruned model still held as masks (``torch.nn.utils.prune``), and the physically smaller model
from ``remove_channels``. Prints, for each, latency / dense latency and FLOPs / dense FLOPs.
Speed does not depend on the weights' values, so nothing is fine-tuned. Record the output in
docs/benchmarks.md with the date and the machine; compare ratios, never absolute times across runs.
"""

from __future__ import annotations

import argparse
import os
import platform

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from coursekit.data import load_dataset  # noqa: E402
from coursekit.pretrained import pretrained  # noqa: E402
from coursekit.prune import clone_model, compare_speed, magnitude_prune, remove_channels  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed calls per model per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of timing, models in turn")
    args = parser.parse_args(argv)

    teacher = pretrained("teacher", progress=False)
    x = load_dataset("digits").test[:64][0]  # (64, 1, 8, 8) real test images
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, runs={args.runs} x rounds={args.rounds}")
    print(f"{'channels pruned':>15s} {'batch':>5s} {'threads':>7s} {'model':>7s} {'ms':>8s} "
          f"{'latency/dense':>13s} {'FLOPs/dense':>11s} {'speed-up':>8s}")
    for fraction in (0.25, 0.5, 0.75):
        masked = magnitude_prune(clone_model(teacher), fraction, structured=True)
        shrunk = remove_channels(masked, example_input=x)
        result = compare_speed({"dense": teacher, "masked": masked, "shrunk": shrunk}, x,
                               batch_sizes=(1, 64), threads=(1, 2), runs=args.runs, rounds=args.rounds)
        for batch in (1, 64):
            for threads in (1, 2):
                dense = result.row("dense", batch, threads)
                for name in ("masked", "shrunk"):
                    r = result.row(name, batch, threads)
                    print(f"{fraction:>15.0%} {batch:>5d} {threads:>7d} {name:>7s} {r.median_ms:>8.3f} "
                          f"{r.median_ms / dense.median_ms:>13.3f} {r.flops / dense.flops:>11.3f} "
                          f"{r.speedup:>7.2f}×")


if __name__ == "__main__":
    main()
