"""Measure the capstone's candidates on every scenario card; the cards' budgets were chosen from this.

    PYTHONPATH=. OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/capstone_budgets.py

Candidates: the fp32 teacher (torch), the cached student (torch), the student distilled from the
teacher for a few epochs, that student structured-pruned (half its channels removed) and fine-tuned,
and int8 ONNX copies of the teacher, the student and the pruned student. Latency budgets are ratios
to the teacher measured in the same run (speed-up), so they stay fair on a slower machine.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from coursekit.capstone import int8_onnx, report_card, report_table  # noqa: E402
from coursekit.data import load_dataset, make_loaders  # noqa: E402
from coursekit.distill import distill  # noqa: E402
from coursekit.pretrained import pretrained  # noqa: E402
from coursekit.prune import clone_model, finetuner, magnitude_prune, remove_channels  # noqa: E402
from coursekit.scenarios import SCENARIOS  # noqa: E402


def candidates(tmp: Path, sparsity: float):
    splits = load_dataset("digits", seed=0)
    loaders = make_loaders(splits, 64, seed=0)
    teacher, student = pretrained("teacher", progress=False), pretrained("student", progress=False)
    t0 = time.perf_counter()
    distilled = clone_model(student)
    distill(distilled, teacher, loaders.train, epochs=3, temperature=4.0, alpha=0.7, lr=3e-4, seed=0, progress=False)
    print(f"distillation (3 epochs from the cached student): {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    t0 = time.perf_counter()
    pruned = magnitude_prune(clone_model(distilled), sparsity, structured=True)
    finetuner(loaders.train, epochs=3, lr=1e-3)(pruned, 0)
    slim = remove_channels(pruned, example_input=splits.test.tensors[0][:2])
    print(f"prune {sparsity} + fine-tune 3 epochs: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    calib = splits.train.tensors[0][:256]
    models = {"teacher": teacher, "student": student, "distilled": distilled, "pruned": slim}
    files = {f"{k}-int8.onnx": int8_onnx(m, tmp / f"{k}-int8.onnx", calib)
             for k, m in models.items() if k != "student"}
    return splits, {**models, **{k: str(v) for k, v in files.items()}}


def main(sparsity: float = 0.5) -> None:
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        splits, cands = candidates(Path(tmp), sparsity)
        for card in SCENARIOS.values():
            print(f"\n== {card.describe()}")
            ref = report_card(cands["teacher"], card, data=splits, reference="self", name="teacher")
            cards = [ref] + [report_card(c, card, data=splits, reference=ref, name=n)
                             for n, c in cands.items() if n != "teacher"]
            print(report_table(cards))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.5)
