"""Wall time of every lesson and (solved) exercise notebook, with a cold and a warm teacher cache.

    python benchmarks/notebook_runtime.py [--only PATTERN] [--warm-only]

"cold": an empty cache folder, so the first `pretrained(...)` call trains the model (what a learner
sees the very first time); "warm": the project's cache, filled beforehand. Each notebook runs in a
fresh kernel, as in JupyterLab. Exercises are timed in their solved form (solutions/): an untouched
exercise stops at the first `NotImplementedError`. Also prints each notebook's slowest cell.
Record the output in docs/benchmarks.md with the date and the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import jupytext  # noqa: E402

from coursekit.course.runner import execute  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run(path: Path, cache_dir: str | None) -> tuple[float, float, int]:
    """(wall seconds, slowest cell seconds, slowest cell index), run by the course's one executor."""
    code = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
    env = {"COURSEKIT_CACHE_DIR": cache_dir} if cache_dir else None
    start = time.perf_counter()
    result = execute(code, cwd=path.parent, timeout=600, env=env, stop_on_error=True)
    wall = time.perf_counter() - start
    failed = [c for c in result.cells if c.status not in ("ok", "not_run")]
    if failed or result.kernel_error:
        raise RuntimeError(f"{path.name}: code cell {failed[0].index + 1 if failed else '?'} "
                           f"{failed[0].status if failed else result.kernel_error} {failed[0].error or '' if failed else ''}")
    times = [c.seconds or 0.0 for c in result.cells]
    slowest = max(range(len(times)), key=times.__getitem__)
    return wall, times[slowest], slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run only notebooks whose path contains this text")
    parser.add_argument("--warm-only", action="store_true", help="skip the cold-cache runs")
    args = parser.parse_args()

    from coursekit.pretrained import pretrained

    pretrained("teacher", progress=False)  # fill the warm cache
    pretrained("student", progress=False)
    paths = [p for folder in ("notebooks", "solutions") for lang in ("en", "zh")
             for p in sorted((ROOT / folder / lang).glob("*.py")) if args.only in str(p)]
    print(f"{'notebook':45s} {'cold s':>7s} {'warm s':>7s} {'slowest cell (warm)':>20s}")
    for path in paths:
        cold = "-"
        if not args.warm_only:
            with tempfile.TemporaryDirectory() as empty:
                cold = f"{run(path, empty)[0]:7.1f}"
        wall, slow, idx = run(path, None)
        print(f"{str(path.relative_to(ROOT)):45s} {cold:>7s} {wall:7.1f} {slow:12.1f} (cell {idx})", flush=True)
    print(f"\n{os.cpu_count()} CPU cores, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"{dt.date.today().isoformat()}")


if __name__ == "__main__":
    main()
