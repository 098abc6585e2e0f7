"""Lesson 03's claims, measured in one run: real int8 with ONNX Runtime, and 2-bit QAT vs PTQ.

    OMP_WAIT_POLICY=PASSIVE PYTHONPATH=. .venv/bin/python benchmarks/quantize_speed.py [--rounds 9] [--skip-qat]

Part 1 — the pretrained teacher at batch 64, 1 thread: torch fp32 eager, the fp32 ONNX file in ONNX
Runtime, and its int8 copy (static QDQ, per-channel int8 weights, uint8 activations calibrated on 512
training digits). The three are timed in turns, round after round (interleaved, so a slow spell of the
machine hits all three); each round's median per model gives one speed-up per round, and we print the
median speed-up with the range over rounds. Sizes come from the files; accuracy from the test split.

Part 2 — the pretrained student, 2-bit weights (symmetric, per output channel): post-training
quantization vs quantization-aware training (3 epochs, straight-through), over seeds. Recovery =
(QAT − PTQ) / (fp32 − PTQ).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from coursekit.data import load_dataset, make_loaders  # noqa: E402
from coursekit.export import OnnxModel, onnx_size_bytes, to_onnx  # noqa: E402
from coursekit.pretrained import pretrained  # noqa: E402
from coursekit.quantize import prepare_qat, quantize_onnx, quantize_weights  # noqa: E402
from coursekit.train import evaluate, fit  # noqa: E402


def accuracy(model, loader) -> float:
    """Test accuracy of an nn.Module or any callable batch -> logits (e.g. an OnnxModel)."""
    correct = n = 0
    with torch.inference_mode():
        for x, y in loader:
            correct += (model(x).argmax(dim=1) == y).sum().item()
            n += len(y)
    return correct / n


def time_rounds(models: dict, x: torch.Tensor, rounds: int, calls: int) -> dict[str, list[float]]:
    """Per model, the median ms of `calls` calls in each round; models take turns within a round."""
    per_round = {name: [] for name in models}
    with torch.inference_mode():
        for fn in models.values():  # warm-up
            for _ in range(5):
                fn(x)
        for _ in range(rounds):
            for name, fn in models.items():
                times = []
                for _ in range(calls):
                    start = time.perf_counter()
                    fn(x)
                    times.append((time.perf_counter() - start) * 1000)
                per_round[name].append(statistics.median(times))
    return per_round


def speed_part(rounds: int, calls: int, workdir: Path) -> bool:
    torch.set_num_threads(1)
    splits = load_dataset("digits", seed=0)
    test = make_loaders(splits, batch_size=256, seed=0).test
    teacher = pretrained("teacher", progress=False).eval()
    x = splits.test[:64][0]  # (64, 1, 8, 8)
    start = time.perf_counter()
    fp32_path = to_onnx(teacher, workdir / "teacher_fp32.onnx", x)
    export_s = time.perf_counter() - start
    start = time.perf_counter()
    int8_path = quantize_onnx(fp32_path, workdir / "teacher_int8.onnx", splits.train[:512][0])
    quant_s = time.perf_counter() - start
    models = {"torch fp32 eager": teacher, "ONNX fp32": OnnxModel(fp32_path, threads=1),
              "ONNX int8": OnnxModel(int8_path, threads=1)}
    print(f"teacher, batch 64, 1 thread (torch {torch.__version__}, torch threads {torch.get_num_threads()}); "
          f"export {export_s:.1f} s, quantize_onnx {quant_s:.2f} s; {rounds} rounds × {calls} calls per model")
    per_round = time_rounds(models, x, rounds, calls)
    for name, ms in per_round.items():
        print(f"  {name:17s} median {statistics.median(ms):7.2f} ms  (rounds {min(ms):.2f}–{max(ms):.2f} ms)")

    def ratio(slow: str, fast: str) -> tuple[float, float, float]:
        r = [s / f for s, f in zip(per_round[slow], per_round[fast])]
        return statistics.median(r), min(r), max(r)

    vs_torch, vs_onnx = ratio("torch fp32 eager", "ONNX int8"), ratio("ONNX fp32", "ONNX int8")
    fp32_onnx_vs_torch = ratio("torch fp32 eager", "ONNX fp32")
    sizes = {"fp32": onnx_size_bytes(fp32_path), "int8": onnx_size_bytes(int8_path)}
    acc = {name: accuracy(m, test) for name, m in models.items()}
    print(f"  speed-up int8 vs torch fp32: {vs_torch[0]:.2f}× (rounds {vs_torch[1]:.2f}–{vs_torch[2]:.2f}×)")
    print(f"  speed-up int8 vs ONNX fp32:  {vs_onnx[0]:.2f}× (rounds {vs_onnx[1]:.2f}–{vs_onnx[2]:.2f}×)")
    print(f"  (ONNX fp32 vs torch fp32:    {fp32_onnx_vs_torch[0]:.2f}×, rounds "
          f"{fp32_onnx_vs_torch[1]:.2f}–{fp32_onnx_vs_torch[2]:.2f}×)")
    print(f"  files: fp32 {sizes['fp32'] / 1024:.0f} KiB, int8 {sizes['int8'] / 1024:.0f} KiB → "
          f"{sizes['fp32'] / sizes['int8']:.2f}× smaller")
    print("  test accuracy: " + ", ".join(f"{k} {v:.2%}" for k, v in acc.items()))
    drop = acc["torch fp32 eager"] - acc["ONNX int8"]
    verdicts = {
        f"int8 ≥ 2.5× faster than torch fp32 eager (worst round {vs_torch[1]:.2f}×)": vs_torch[0] >= 2.5,
        f"int8 ≥ 2× faster than ONNX fp32 (worst round {vs_onnx[1]:.2f}×)": vs_onnx[0] >= 2.0,
        "int8 files ≥ 3.5× smaller than fp32": sizes["fp32"] / sizes["int8"] >= 3.5,
        f"int8 accuracy within 1 point of fp32 (drop {100 * drop:+.2f} points)": abs(drop) <= 0.01,
    }
    for text, ok in verdicts.items():
        print(f"  {'PASS' if ok else 'FAIL'}: {text}")
    return all(verdicts.values())


def qat_part(seeds: tuple[int, ...], epochs: int) -> bool:
    torch.set_num_threads(1)
    splits = load_dataset("digits", seed=0)
    loaders = make_loaders(splits, batch_size=64, seed=0)
    student = pretrained("student", progress=False)
    fp32 = evaluate(student, loaders.test).accuracy
    ptq = evaluate(quantize_weights(student, 2), loaders.test).accuracy
    print(f"\nstudent, 2-bit weights (symmetric, per channel): fp32 {fp32:.2%}, PTQ {ptq:.2%}")
    recoveries = []
    for seed in seeds:
        model = prepare_qat(student, weight_bits=2)
        start = time.perf_counter()
        fit(model, loaders.train, epochs=epochs, lr=1e-3, seed=seed, progress=False)
        seconds = time.perf_counter() - start
        qat = evaluate(model, loaders.test).accuracy
        recoveries.append((qat - ptq) / (fp32 - ptq))
        print(f"  seed {seed}: QAT {epochs} epochs ({seconds:.1f} s) → {qat:.2%}, recovers {recoveries[-1]:.1%} of the loss")
    ok = min(recoveries) >= 0.9
    print(f"  {'PASS' if ok else 'FAIL'}: QAT recovers ≥ 90% of what 2-bit PTQ lost on every seed "
          f"(mean {statistics.mean(recoveries):.1%}, worst {min(recoveries):.1%}, {len(seeds)} seeds)")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--skip-qat", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ok = speed_part(args.rounds, args.calls, Path(tmp))
    if not args.skip_qat:
        ok = qat_part(tuple(range(args.seeds)), args.epochs) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
