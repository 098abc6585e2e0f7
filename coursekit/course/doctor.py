"""A set-up check to run before class: ``python -m coursekit doctor``.

Each check prints ✓ or ✗ with what it found, so an instructor can walk round a room and see at a
glance which machines are ready. Nothing here downloads anything.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"


def _python() -> Finding:
    ok = sys.version_info >= (3, 11)
    return Finding("Python", ok, f"{sys.version.split()[0]} at {sys.executable}")


def _torch() -> Finding:
    import torch

    ok = torch.__version__.startswith("2.13.0")
    cuda = "CUDA build" if torch.version.cuda else "CPU build"
    return Finding("PyTorch", ok, f"{torch.__version__} ({cuda}, {torch.get_num_threads()} threads)"
                   + ("" if ok else "; expected 2.13.0 — run `make lab` to rebuild .venv"))


def _data() -> Finding:
    from coursekit.data import load_dataset

    splits = load_dataset("digits")
    return Finding("Data", True, f"digits bundled with scikit-learn: {len(splits.train)} train / "
                   f"{len(splits.val)} val / {len(splits.test)} test images")


def _models() -> Finding:
    from coursekit.data import load_dataset, make_loaders
    from coursekit.pretrained import pretrained, pretrained_path
    from coursekit.train import evaluate

    start = time.perf_counter()
    cached = pretrained_path("teacher").exists()
    teacher = pretrained("teacher", progress=False)
    pretrained("student", progress=False)
    accuracy = evaluate(teacher, make_loaders(load_dataset()).test).accuracy
    how = "loaded from the cache" if cached else f"trained and cached in {time.perf_counter() - start:.0f} s"
    return Finding("Teacher", accuracy >= 0.98, f"{how}; test accuracy {accuracy:.2%} (needs >= 98%)")


def _lab() -> Finding:
    from coursekit.course.labsettings import lab_settings_path

    path = lab_settings_path()
    missing = [name for name in ("jupyterlab", "jupytext", "ipywidgets", "ipykernel")
               if importlib.util.find_spec(name) is None]
    if missing:
        return Finding("JupyterLab", False, f"missing packages {missing}: run `make lab`")
    if not path.exists():
        return Finding("JupyterLab", False, f"no course settings at {path}: run `python -m coursekit setup-lab`")
    return Finding("JupyterLab", True, f"jupytext, ipywidgets and course settings present ({path})")


def _kernel() -> Finding:
    from jupyter_client.manager import start_new_kernel

    start = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.execute_interactive("import coursekit, torch", timeout=60)
        ok = reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return Finding("Kernel", ok, f"python3 kernel started and imported coursekit in {time.perf_counter() - start:.1f} s")


CHECKS: list[Callable[[], Finding]] = [_python, _torch, _data, _models, _lab, _kernel]


def run(print_fn=print) -> list[Finding]:
    findings = []
    for check in CHECKS:
        try:
            finding = check()
        except Exception as exc:  # noqa: BLE001 - report every failure, keep checking
            finding = Finding(check.__name__.strip("_").capitalize(), False, f"{type(exc).__name__}: {exc}")
        findings.append(finding)
        print_fn(finding.line())
    return findings
