"""The Python-only set-up, end to end, in a clean clone: `python -m coursekit setup` with a Python that has
none of the course's packages (no make, no torch), then `python -m coursekit lab` answers.

Slow (a whole .venv is built: ~2-6 min on 2 cores, more on a cold pip cache), so it runs only when asked:
`make test-setup` (or COURSEKIT_TEST_SETUP=1 pytest tests/test_setup_clean_clone.py). `make test` on a
clean clone exercises the same code anyway: its install step *is* `python3 -m coursekit setup`.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(os.environ.get("COURSEKIT_TEST_SETUP") != "1",
                                reason="slow: builds a whole .venv (run with make test-setup)")


def _bare_python() -> str:
    """The interpreter this venv was made from: it has none of the course's packages."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env["JUPYTER_RUNTIME_DIR"] = str(home / "runtime")
    return env


def test_python_only_setup_then_lab_in_a_clean_clone(tmp_path):
    python = _bare_python()
    probe = subprocess.run([python, "-c", "import torch"], capture_output=True)
    assert probe.returncode != 0, f"{python} already has torch: not a bare Python"
    clone = tmp_path / "course"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = _clean_env(tmp_path)

    start = time.monotonic()
    first = subprocess.run([python, "-m", "coursekit", "setup"], cwd=clone, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "About to download" in first.stdout and "MB" in first.stdout, first.stdout[:2000]
    venv = clone / ".venv"
    check = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import torch, coursekit.course.setup as s; print(torch.__version__, torch.version.cuda)"],
                           cwd=clone, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.startswith("2.13.0"), check.stdout + check.stderr
    overrides = json.loads((venv / "share/jupyter/lab/settings/overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false"}
    server = json.loads((venv / "etc/jupyter/jupyter_server_config.d/coursekit.json").read_text())
    assert "*.egg-info" in server["ContentsManager"]["hide_globs"]
    assert (venv / "etc/ipython/ipython_kernel_config.json").exists()

    again = subprocess.run([python, "-m", "coursekit", "setup"], cwd=clone, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "About to download" not in again.stdout  # nothing new to download

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(8)
    lab = subprocess.Popen([python, "-m", "coursekit", "lab", "--", "--no-browser", "--ip=127.0.0.1",
                            f"--port={port}", f"--IdentityProvider.token={token}"],
                           cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    try:
        for _ in range(120):
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                             headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=5):
                    break
            except OSError:
                assert lab.poll() is None, lab.stdout.read()[-3000:]
                time.sleep(0.5)
        else:
            pytest.fail("python -m coursekit lab did not answer within 60 s")
    finally:
        lab.terminate()
        lab.wait(timeout=30)
    print(f"python -m coursekit setup in a clean clone: {took:.0f} s; torch {check.stdout.strip()}")
