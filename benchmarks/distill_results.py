"""The accuracy results behind lesson 01 (knowledge distillation), over several seeds.

    python benchmarks/distill_results.py [--cnn-seeds 3] [--mlp-seeds 5] [--first-seed 0]

The lesson's settings, so that its numbers can be reproduced (and checked on more seeds):

- StudentNet from scratch vs distilled (T = 4, alpha = 0.3), same initial weights per seed,
  8 epochs, lr 3e-3, batch 64;
- MLPStudent (64-300-100-10) from scratch vs distilled, all labels (30 epochs, lr 1e-2, batch 256);
- few labels: 10% of the training labels (stratified), labels only (same number of optimiser steps)
  vs distilled with the hard loss on the labelled images and the soft loss on all;
- the omitted class: MLPStudent distilled (T = 8, alpha = 0.3) with every 3 removed, test 3s correct
  before and after raising the class-3 bias by the amount that maximises validation accuracy.

Prints mean ± std over seeds and whether each difference exceeds the spread.
Record the output in docs/benchmarks.md with the date and the machine. With ``--record``, also
writes the per-seed results to benchmarks/results/distill_results.json, which lesson 01 reads to
print "on our machine: …" next to its own verdicts (reference numbers are never typed in by hand).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch.utils.data import BatchSampler, DataLoader, RandomSampler  # noqa: E402

from coursekit.data import load_dataset, make_loaders  # noqa: E402
from coursekit.distill import (  # noqa: E402
    MLPStudent,
    add_class_bias,
    best_class_bias,
    class_accuracy,
    compare_seeds,
    compute_logits,
    distill,
    split_labels,
    without_class,
)
from coursekit.models import StudentNet  # noqa: E402
from coursekit.pretrained import pretrained  # noqa: E402
from coursekit.train import evaluate, fit  # noqa: E402

MLP = dict(batch_size=256, epochs=30, lr=1e-2)
PAPER_3S = 0.986  # Hinton et al. (2015), MNIST


def line(name: str, comparison, baseline: str, treated: str) -> str:
    c = comparison
    verdict = "exceeds the spread" if c.exceeds_spread else "within the spread"
    return (f"{name:<28} {baseline} {100 * c.baseline_mean:6.2f} ± {100 * c.baseline_std:4.2f} %   "
            f"{treated} {100 * c.treated_mean:6.2f} ± {100 * c.treated_std:4.2f} %   "
            f"difference {100 * c.difference:+5.2f} points, spread {100 * c.spread:4.2f}: {verdict}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cnn-seeds", type=int, default=3, help="seeds of the StudentNet comparison")
    parser.add_argument("--mlp-seeds", type=int, default=5, help="seeds of the MLPStudent experiments")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from here upwards")
    parser.add_argument("--record", action="store_true",
                        help="write the per-seed results to benchmarks/results/distill_results.json")
    args = parser.parse_args(argv)
    recorded = {}

    def record(key, comparison, baseline_values, treated_values, seeds, baseline_name, treated_name):
        recorded[key] = {"baseline": list(baseline_values), "treated": list(treated_values),
                         "seeds": list(seeds), "baseline_name": baseline_name, "treated_name": treated_name,
                         "verdict": "exceeds the spread" if comparison.exceeds_spread else "within the spread",
                         "difference": comparison.difference, "spread": comparison.spread}

    cnn_seeds = range(args.first_seed, args.first_seed + args.cnn_seeds)
    mlp_seeds = range(args.first_seed, args.first_seed + args.mlp_seeds)
    start = time.perf_counter()

    splits = load_dataset("digits", seed=0)
    loaders = make_loaders(splits, batch_size=64, seed=0)
    teacher = pretrained("teacher", progress=False)
    train_logits = compute_logits(teacher, splits.train)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; teacher test accuracy "
          f"{evaluate(teacher, loaders.test).accuracy:.2%}")

    def test(model) -> float:
        return evaluate(model, loaders.test).accuracy

    # StudentNet, all labels
    cnn = {"scratch": [], "distilled": []}
    if args.cnn_seeds:
        for seed in cnn_seeds:
            torch.manual_seed(seed)
            start_weights = StudentNet(num_classes=10, in_channels=1)
            scratch, distilled = copy.deepcopy(start_weights), copy.deepcopy(start_weights)
            fit(scratch, make_loaders(splits, 64, seed=seed).train, epochs=8, lr=3e-3, seed=seed, progress=False)
            distill(distilled, teacher, make_loaders(splits, 64, seed=seed).train, epochs=8, lr=3e-3,
                    temperature=4.0, alpha=0.3, seed=seed, teacher_logits=train_logits, progress=False)
            cnn["scratch"].append(test(scratch))
            cnn["distilled"].append(test(distilled))
        print(f"StudentNet per seed {list(cnn_seeds)}: scratch {[f'{a:.2%}' for a in cnn['scratch']]}, "
              f"distilled {[f'{a:.2%}' for a in cnn['distilled']]}")
        if args.cnn_seeds > 1:
            cmp = compare_seeds(cnn["scratch"], cnn["distilled"])
            print(line("StudentNet, all labels", cmp, "scratch", "distilled"))
            record("studentnet_all_labels", cmp, cnn["scratch"], cnn["distilled"], cnn_seeds, "scratch", "distilled")

    # MLPStudent experiments
    def mlp_loader(dataset, seed):
        generator = torch.Generator().manual_seed(seed)
        batches = BatchSampler(RandomSampler(dataset, generator=generator), MLP["batch_size"], drop_last=False)
        return DataLoader(dataset, batch_size=None, sampler=batches, generator=generator)

    def train_mlp(dataset, seed, *, teacher_logits=None, epochs=MLP["epochs"], **kd):
        torch.manual_seed(seed)
        model = MLPStudent()
        if teacher_logits is None:
            fit(model, mlp_loader(dataset, seed), epochs=epochs, lr=MLP["lr"], seed=seed, progress=False)
        else:
            distill(model, teacher, mlp_loader(dataset, seed), epochs=epochs, lr=MLP["lr"], seed=seed,
                    teacher_logits=teacher_logits, progress=False, **kd)
        return model

    if args.mlp_seeds < 2:
        return
    small = {"scratch": [test(train_mlp(splits.train, s)) for s in mlp_seeds],
             "distilled": [test(train_mlp(splits.train, s, teacher_logits=train_logits)) for s in mlp_seeds]}
    cmp = compare_seeds(small["scratch"], small["distilled"])
    print(line("MLPStudent, all labels", cmp, "scratch", "distilled"))
    record("mlp_all_labels", cmp, small["scratch"], small["distilled"], mlp_seeds, "scratch", "distilled")

    few = split_labels(splits.train, 0.10, seed=0)
    ratio = len(mlp_loader(few.mixed, 0)) // len(mlp_loader(few.labelled, 0))
    alone = [test(train_mlp(few.labelled, s, epochs=MLP["epochs"] * ratio)) for s in mlp_seeds]
    taught = [test(train_mlp(few.mixed, s, teacher_logits=train_logits)) for s in mlp_seeds]
    cmp = compare_seeds(alone, taught)
    print(line(f"MLPStudent, {len(few.labelled)} labels", cmp, "labels only", "distilled"))
    record("mlp_few_labels", cmp, alone, taught, mlp_seeds, "labels only", "distilled")

    transfer = without_class(splits.train, 3)
    transfer_logits = compute_logits(teacher, transfer)
    before, after, biases, overall = [], [], [], []
    for seed in mlp_seeds:
        student = train_mlp(transfer, seed, teacher_logits=transfer_logits, temperature=8.0, alpha=0.3)
        before.append(class_accuracy(student, loaders.test, 3))
        bias, _ = best_class_bias(student, loaders.val, 3, [0.25 * i for i in range(81)])
        add_class_bias(student, 3, bias)
        after.append(class_accuracy(student, loaders.test, 3))
        biases.append(bias)
        overall.append(test(student))
    fix = compare_seeds(before, after)
    print(f"omitted class (no 3 in {len(transfer)} transfer images), test 3s correct: before the bias fix "
          f"{fix.baseline_mean:.1%} ± {fix.baseline_std:.1%}, after {fix.treated_mean:.1%} ± {fix.treated_std:.1%} "
          f"(bias +{min(biases):g} to +{max(biases):g}, chosen on validation; overall test accuracy after "
          f"{sum(overall) / len(overall):.2%}); paper, MNIST: {PAPER_3S:.1%}")
    record("omitted_class_3s", fix, before, after, mlp_seeds, "before the bias fix", "after")
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.record:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "distill_results.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = {"benchmark": "benchmarks/distill_results.py", "command": "python benchmarks/distill_results.py "
                + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
                "date": datetime.date.today().isoformat(), "machine": f"{platform.machine()}, "
                f"{os.cpu_count()} cores, torch {torch.__version__}", "results": recorded}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        print(f"recorded in {path}")


if __name__ == "__main__":
    main()
