"""The accuracy results behind lesson 02 (pruning), over several seeds.

    python benchmarks/prune_results.py [--seeds 3]

Everything starts from the cached teacher (``pretrained("teacher")``) and prunes fresh copies, with
the lesson's settings: BatchNorm statistics re-estimated on two fixed training batches before every
evaluation of a model that was not fine-tuned; fine-tuning with ``finetuner`` (batch 128,
lr 1.5e-3). Prints one-shot accuracy vs sparsity per method, the three per-layer plans, fine-tuning
recovery at 90% and 95% global sparsity, gradual vs one-shot at the same budget, and structured
pruning, as mean ± std over seeds where training is involved. Record the output in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from coursekit.data import load_dataset, make_loaders  # noqa: E402
from coursekit.pretrained import pretrained  # noqa: E402
from coursekit.prune import (  # noqa: E402
    adaptive_plan,
    apply_plan,
    clone_model,
    finetuner,
    gradual_prune,
    magnitude_prune,
    recalibrate_batchnorm,
    sensitivity_scan,
    sparsity,
    sparsity_sweep,
)
from coursekit.train import evaluate  # noqa: E402


def mean_std(values) -> str:
    if len(values) == 1:
        return f"{values[0]:.2%}"
    return f"{statistics.fmean(values):.2%} ± {statistics.stdev(values):.2%}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="fine-tuning seeds 0..N-1")
    args = parser.parse_args(argv)
    seeds = range(args.seeds)

    torch.manual_seed(0)
    splits = load_dataset("digits", seed=0)
    loaders = make_loaders(splits, batch_size=64, seed=0)
    calibration = DataLoader(splits.train, batch_size=128)
    finetune_loader = make_loaders(splits, batch_size=128, seed=0).train
    teacher = pretrained("teacher", progress=False)

    def test(model):
        return evaluate(model, loaders.test).accuracy

    def recal(model):
        return recalibrate_batchnorm(model, calibration, batches=2)

    dense = test(teacher)
    print(f"torch {torch.__version__}; dense teacher test accuracy {dense:.2%} ({len(splits.test)} images); "
          f"seeds {list(seeds)}")

    print("\n## one-shot, BatchNorm re-estimated, no fine-tuning: test accuracy")
    print(sparsity_sweep(teacher, lambda m: test(recal(m)), [0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98]))
    print("  (without re-estimating BatchNorm statistics)")
    print(sparsity_sweep(teacher, test, [0.3, 0.5, 0.7, 0.9], methods=["magnitude (layer)", "magnitude (global)"]))

    print("\n## per-layer plans (scan: validation loss, one layer at a time), one-shot, no fine-tuning")
    scan = sensitivity_scan(teacher, lambda m: -evaluate(recal(m), loaders.val).loss, [0.5, 0.8, 0.9, 0.95, 0.98])
    for target in (0.9, 0.95):
        plans = {"uniform": magnitude_prune(clone_model(teacher), target),
                 "global": magnitude_prune(clone_model(teacher), target, scope="global"),
                 "adaptive": apply_plan(clone_model(teacher), adaptive_plan(scan, target))}
        print(f"  {target:.0%}: " + ", ".join(f"{k} {test(recal(m)):.2%}" for k, m in plans.items()))

    print("\n## one-shot global + fine-tuning (epochs), test accuracy; dense", f"{dense:.2%}")
    for target in (0.9, 0.95):
        for epochs in (1, 2):
            accs = []
            for seed in seeds:
                model = magnitude_prune(clone_model(teacher), target, scope="global")
                finetuner(finetune_loader, epochs=epochs, lr=1.5e-3, seed=seed)(model, 1)
                accs.append(test(model))
            print(f"  {target:.0%} sparse, {epochs} epoch(s): {mean_std(accs)}  (dense - min: {dense - min(accs):+.2%})")

    print("\n## gradual (cubic, `budget` steps x 1 epoch) vs one-shot (+ `budget` epochs) at 95% global")
    for budget in (2, 4):
        one, grad = [], []
        for seed in seeds:
            model = magnitude_prune(clone_model(teacher), 0.95, scope="global")
            finetuner(finetune_loader, epochs=budget, lr=1.5e-3, seed=seed)(model, 1)
            one.append(test(model))
            model = clone_model(teacher)
            gradual_prune(model, 0.95, steps=budget, scope="global",
                          finetune=finetuner(finetune_loader, epochs=1, lr=1.5e-3, seed=seed))
            grad.append(test(model))
        print(f"  budget {budget} epochs: one-shot {mean_std(one)}, gradual {mean_std(grad)}")

    print("\n## structured, 50% of channels, + 1 epoch")
    accs = []
    for seed in seeds:
        model = magnitude_prune(clone_model(teacher), 0.5, structured=True)
        before = test(recal(clone_model(model)))
        finetuner(finetune_loader, epochs=1, lr=1.5e-3, seed=seed)(model, 1)
        accs.append(test(model))
    print(f"  right after pruning {before:.2%}, after fine-tuning {mean_std(accs)}; weight sparsity {sparsity(model):.1%}")


if __name__ == "__main__":
    main()
