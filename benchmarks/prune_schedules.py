"""Lesson 02's second-edition experiments over more seeds: gradual vs one-shot at equal optimizer steps,
and structured channel criteria at equal parameter budgets.

    python benchmarks/prune_schedules.py [--seeds 5] [--steps 20] [--finals 0.95 0.98]

Gradual vs one-shot (lesson 02, section 8): global magnitude pruning of the cached teacher to each
final sparsity; one-shot = one cut, then ``--steps`` optimizer steps (batch 128, lr 1.5e-3); gradual =
five cuts along the cubic schedule, two steps after each of the first four and the rest after the last;
BatchNorm statistics re-estimated on the lesson's two calibration batches before every evaluation.
Prints test accuracy and loss, mean ± std over seeds, with ``coursekit.stats.compare_means`` verdicts.

Structured criteria (section 9): filter L2 norm, BatchNorm |γ| (network slimming) and random (every
seed), one-shot, BatchNorm re-estimated, validation accuracy, at the same share of channels removed in
every conv and hidden linear layer (equal parameters and FLOPs remaining). Record the output in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils import prune  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from coursekit.data import batch_loader, load_dataset, make_loaders  # noqa: E402
from coursekit.models import count_parameters  # noqa: E402
from coursekit.pretrained import pretrained  # noqa: E402
from coursekit.prune import (  # noqa: E402
    CALIBRATION_BATCHES,
    clone_model,
    finetuner,
    magnitude_prune,
    polynomial_schedule,
    recalibrate_batchnorm,
    remove_channels,
)
from coursekit.stats import compare_means  # noqa: E402
from coursekit.train import evaluate  # noqa: E402


def prune_channels(model, fraction, score):
    """The lesson's structured pruning with any per-channel score (lowest go)."""
    leaves = [m for m in model.modules() if not list(m.children())]
    bn_after = {a: b for a, b in zip(leaves, leaves[1:]) if isinstance(b, nn.BatchNorm2d)}
    for layer in [m for m in leaves if isinstance(m, (nn.Conv2d, nn.Linear))][:-1]:
        bn = bn_after.get(layer)
        with torch.no_grad():
            scores = score(layer, bn)
        keep = torch.ones_like(scores)
        keep[scores.argsort()[:round(fraction * len(scores))]] = 0
        prune.custom_from_mask(layer, "weight", keep.view(-1, *[1] * (layer.weight.dim() - 1)).expand_as(layer.weight))
        prune.custom_from_mask(layer, "bias", keep)
        if bn is not None:
            prune.custom_from_mask(bn, "weight", keep)
            prune.custom_from_mask(bn, "bias", keep)
    return model


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per schedule")
    parser.add_argument("--finals", type=float, nargs="+", default=[0.95, 0.98])
    args = parser.parse_args(argv)
    start = time.perf_counter()
    torch.manual_seed(0)
    splits = load_dataset("digits", seed=0)
    loaders = make_loaders(splits, batch_size=64, seed=0)
    calibration = DataLoader(splits.train, batch_size=128)
    teacher = pretrained("teacher", progress=False)

    def recalibrated(model):
        return recalibrate_batchnorm(model, calibration, batches=CALIBRATION_BATCHES)

    def train_steps(model, steps, seed):
        finetuner(batch_loader(splits.train, 128, seed=seed, steps=steps), epochs=1, lr=1.5e-3, seed=seed,
                  recalibrate=False)(model, 0)
        recalibrated(model)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; teacher test accuracy "
          f"{evaluate(teacher, loaders.test).accuracy:.2%}; seeds 0–{args.seeds - 1}")
    one_image = 1 / len(splits.test)
    for final in args.finals:
        schedule = polynomial_schedule(0.0, final, 5)
        steps_after = [2] * 4 + [args.steps - 8]
        runs = {"one-shot": [], "gradual": []}
        for seed in range(args.seeds):
            model = magnitude_prune(clone_model(teacher), final, scope="global")
            train_steps(model, args.steps, 100 * seed)
            runs["one-shot"].append(evaluate(model, loaders.test))
            model = clone_model(teacher)
            for t, (target, steps) in enumerate(zip(schedule, steps_after), start=1):
                magnitude_prune(model, target, scope="global")
                train_steps(model, steps, 100 * seed + t)
            runs["gradual"].append(evaluate(model, loaders.test))
        acc = compare_means([r.accuracy for r in runs["one-shot"]], [r.accuracy for r in runs["gradual"]],
                            floor=one_image)
        loss = compare_means([r.loss for r in runs["one-shot"]], [r.loss for r in runs["gradual"]],
                             higher_is_better=False)
        print(f"\n{final:.0%} sparsity, {args.steps} optimizer steps each:")
        print("  " + acc.line("test accuracy (%)", "one-shot", "gradual", fmt=".2f", scale=100))
        print("  " + loss.line("test loss", "one-shot", "gradual"))

    x = splits.test[:64][0]
    dense_params = count_parameters(teacher)

    def filter_norm(layer, bn):
        return layer.weight.flatten(1).norm(dim=1)

    def bn_gamma(layer, bn):
        return bn.weight.abs() if bn is not None else filter_norm(layer, bn)

    def random_score(seed):
        generator = torch.Generator().manual_seed(seed)
        return lambda layer, bn: torch.rand(layer.weight.shape[0], generator=generator)

    print(f"\nstructured criteria, validation accuracy (random: mean ± std over {args.seeds} seeds):")
    print(f"{'channels removed':>17s} {'params left':>12s} {'filter L2 norm':>15s} {'BatchNorm γ':>12s} {'random':>16s}")
    for fraction in (0.25, 0.5, 0.625, 0.75):
        def val(score, fraction=fraction):
            return evaluate(recalibrated(prune_channels(clone_model(teacher), fraction, score)), loaders.val).accuracy
        left = count_parameters(remove_channels(prune_channels(clone_model(teacher), fraction, filter_norm),
                                                example_input=x)) / dense_params
        rand = [val(random_score(s)) for s in range(args.seeds)]
        print(f"{fraction:>17.1%} {left:>12.1%} {val(filter_norm):>15.2%} {val(bn_gamma):>12.2%} "
              f"{statistics.fmean(rand):>8.2%} ± {statistics.stdev(rand) if len(rand) > 1 else 0:.2%}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
