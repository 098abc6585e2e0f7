"""Record the GPU reference table that lesson 04 shows to learners without a GPU.

    python benchmarks/gpu_reference.py            # on a machine with CUDA: writes benchmarks/results/gpu_reference.json
    python benchmarks/gpu_reference.py --quick    # fewer repeats, no CUDA graphs (a smoke run)

It times the course's teacher (3×32×32 inputs, random weights) with each trick of the lesson —
fp32, TF32, bf16/fp16 autocast, channels-last, CUDA graphs, checkpointing — and records which GPU,
which torch and which date. Without CUDA it says so and exits cleanly without writing anything: GPU
numbers are never typed in by hand.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from coursekit.gpu import GPU_REFERENCE, cuda_tricks  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and no CUDA graphs")
    parser.add_argument("--out", type=Path, default=GPU_REFERENCE, help="where to write the JSON table")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device here (torch.cuda.is_available() is False): nothing measured, nothing written. "
              "Run this script on a machine with an NVIDIA GPU to record the reference table.")
        return 0
    rows = cuda_tricks(repeats=5 if args.quick else 30, graphs=not args.quick)
    record = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu": platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "date": datetime.date.today().isoformat(),
        "inputs": "TeacherNet, 3x32x32, random weights (digits 1x8x8 for the CPU-vs-GPU rows)",
        "command": "python benchmarks/gpu_reference.py" + (" --quick" if args.quick else ""),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    for row in rows:
        value = "—" if row["value"] is None else f"{row['value']:.3f} {row['unit']}"
        print(f"{row['case']:45s} batch {row['batch']:5d}  {value}  {row.get('error', '')}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
