"""Deployment runtimes side by side: torch eager vs ONNX Runtime, torch.compile, cold start (and a GPU).

    python benchmarks/deploy_speed.py [--rounds 5] [--runs 40] [--skip-compile]

For the course's teacher and compressed student on real digits, with 1 thread: torch eager, ONNX
Runtime fp32 and (when ``coursekit.quantize.quantize_onnx`` exists) ONNX Runtime int8, timed in
interleaved rounds at batch 1 and 64; each round's median, the ratios to eager, and their range over
rounds. Then ``torch.compile`` (when a C++ compiler exists): the first call, the recompilation on a new
batch size, and the speed-up. Then cold start (a fresh process answering one request) for .onnx and
.pt2. The GPU section (``torch.compile`` default and ``reduce-overhead``, fp32 and bf16) runs only
with CUDA; otherwise it says so. Compare ratios within one run, never absolute times across runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from coursekit.artefact import cold_start  # noqa: E402
from coursekit.data import load_dataset  # noqa: E402
from coursekit.export import OnnxModel, compile_available, export_program, parity, to_onnx  # noqa: E402
from coursekit.pretrained import pretrained  # noqa: E402
from coursekit.serving import interleaved_medians  # noqa: E402


def spread(values) -> str:
    return f"{statistics.median(values):.2f}× ({min(values):.2f}–{max(values):.2f})"


def runtimes(name: str, model, x, folder: Path, args) -> None:
    onnx_path = to_onnx(model, folder / f"{name}.onnx", x[:8])
    models = {"ORT fp32": OnnxModel(onnx_path, threads=1)}
    try:
        from coursekit.quantize import quantize_onnx
    except ImportError:
        print("  (int8 skipped: coursekit.quantize.quantize_onnx is not available on this branch)")
    else:
        models["ORT int8"] = OnnxModel(quantize_onnx(onnx_path, folder / f"{name}-int8.onnx", x), threads=1)
    for label, m in models.items():
        print(f"  parity torch vs {label}: {parity(model, m, x)}")
    for batch in (1, 64):
        xb = x[:batch]
        xn = xb.numpy()
        calls = {"torch eager": lambda xb=xb: model(xb)}
        calls.update({label: (lambda m=m, xn=xn: m.run_numpy(xn)) for label, m in models.items()})
        with torch.inference_mode():
            rounds = interleaved_medians(calls, repeats=args.rounds, runs=args.runs, warmup=5)
        eager = rounds["torch eager"]
        for label, medians in rounds.items():
            ratio = [e / m for e, m in zip(eager, medians)]
            print(f"  {name:8s} batch {batch:2d} {label:12s} {statistics.median(medians):8.3f} ms  "
                  f"speed-up vs eager {spread(ratio)}")


def compiled(name: str, model, x, args) -> None:
    support = compile_available()
    if args.skip_compile or not support.ok:
        print(f"  torch.compile skipped: {'--skip-compile' if args.skip_compile else support.reason}")
        return
    torch._dynamo.reset()
    fast = torch.compile(model)
    with torch.inference_mode():
        for label, xb in (("first call, batch 1", x[:1]), ("first call, batch 64 (recompiles)", x[:64])):
            start = time.perf_counter()
            fast(xb)
            print(f"  {name:8s} {label:34s} {time.perf_counter() - start:7.2f} s")
        for batch in (1, 64):
            xb = x[:batch]
            rounds = interleaved_medians({"eager": lambda xb=xb: model(xb), "compiled": lambda xb=xb: fast(xb)},
                                         repeats=args.rounds, runs=args.runs, warmup=5)
            ratio = [e / c for e, c in zip(rounds["eager"], rounds["compiled"])]
            print(f"  {name:8s} batch {batch:2d} eager {statistics.median(rounds['eager']):8.3f} ms, compiled "
                  f"{statistics.median(rounds['compiled']):8.3f} ms  speed-up vs eager {spread(ratio)}")


def gpu(model, x, args) -> None:
    if not torch.cuda.is_available():
        print("  not run: no CUDA GPU here")
        return
    print(f"  {torch.cuda.get_device_name()}")
    model = model.cuda()
    for batch in (1, 64, 1024):
        xb = x[:batch].cuda() if batch <= len(x) else x.repeat(batch // len(x) + 1, 1, 1, 1)[:batch].cuda()
        for dtype in (torch.float32, torch.bfloat16):
            for mode in ("eager", "default", "reduce-overhead"):
                torch._dynamo.reset()
                fn = model if mode == "eager" else torch.compile(model, mode=mode)
                with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
                    for _ in range(10):
                        fn(xb)
                    times = []
                    for _ in range(args.rounds):
                        torch.cuda.synchronize()
                        start = time.perf_counter()
                        for _ in range(args.runs):
                            fn(xb)
                        torch.cuda.synchronize()
                        times.append((time.perf_counter() - start) / args.runs * 1e3)
                print(f"  batch {batch:4d} {str(dtype)[6:]:8s} {mode:16s} {statistics.median(times):8.3f} ms "
                      f"(range {min(times):.3f}–{max(times):.3f})")
    try:
        import torch_tensorrt  # noqa: F401
    except ImportError:
        print("  TensorRT: torch-tensorrt is not installed here")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--runs", type=int, default=40, help="timed calls per runtime per round")
    parser.add_argument("--skip-compile", action="store_true", help="skip the torch.compile section")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    test = load_dataset("digits").test
    x = torch.stack([test[i][0] for i in range(len(test))])  # (359, 1, 8, 8) real test images
    print(f"torch {torch.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPU cores, "
          f"{platform.processor() or platform.machine()}, 1 thread, rounds={args.rounds} x runs={args.runs}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        models = {name: pretrained(name, progress=False).eval() for name in ("teacher", "student")}
        print("\n== CPU: torch eager vs ONNX Runtime (median ms of the rounds; speed-up: median (min–max))")
        for name, model in models.items():
            runtimes(name, model, x, folder, args)
        print("\n== CPU: torch.compile")
        for name, model in models.items():
            compiled(name, model, x, args)
        print("\n== cold start: a fresh process imports, loads and answers one batch-1 request")
        student = models["student"]
        for path in (to_onnx(student, folder / "cold.onnx", x[:8]), export_program(student, folder / "cold.pt2", x[:8])):
            results = [cold_start(path, x[:1]) for _ in range(3)]
            ready = [r.ready_s for r in results]
            print(f"  {results[0]!r}\n    ready (import + load + first answer) over 3 processes: "
                  f"{statistics.median(ready):.2f} s (range {min(ready):.2f}–{max(ready):.2f})")
        print("\n== GPU: torch.compile default / reduce-overhead (CUDA graphs), fp32 / bf16, student")
        gpu(pretrained("student", progress=False).eval(), x, args)


if __name__ == "__main__":
    main()
