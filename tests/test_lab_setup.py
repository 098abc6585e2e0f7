"""`make lab`'s promises, checked against a real JupyterLab server started like the Makefile does:
lesson .py files open with the Jupytext Notebook viewer, the python3 kernel is this environment's,
and nothing is written to the user's global Jupyter configuration."""

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
VENV_SHARE = Path(sys.prefix) / "share" / "jupyter"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")  # a fresh HOME: proves nothing global is needed or written
    token, port = secrets.token_hex(8), _free_port()
    env = {**os.environ, "HOME": str(home), "JUPYTER_PATH": str(VENV_SHARE), "OMP_WAIT_POLICY": "PASSIVE"}
    env.pop("JUPYTER_CONFIG_DIR", None)
    env.pop("JUPYTER_DATA_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                _get(f"{base}/api/status", token)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield base, token, home
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_lesson_files_open_with_the_jupytext_notebook_viewer(lab):
    base, token, _ = lab
    settings = _get(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin", token)
    default = settings["schema"]["properties"]["defaultViewers"]["default"]
    assert default.get("python") == "Jupytext Notebook"


def test_lessons_are_served_as_notebooks_with_the_python3_kernel(lab):
    base, token, _ = lab
    nb = _get(f"{base}/api/contents/notebooks/en/00_measure_first.py?type=notebook&content=1", token)
    assert nb["type"] == "notebook"
    assert nb["content"]["metadata"]["kernelspec"]["name"] == "python3"
    specs = _get(f"{base}/api/kernelspecs", token)
    assert "python3" in specs["kernelspecs"]


def test_widgets_extension_is_installed(lab):
    base, token, _ = lab
    # ipywidgets 8 ships its JupyterLab extension as a prebuilt (federated) extension
    assert (VENV_SHARE / "labextensions" / "@jupyter-widgets" / "jupyterlab-manager").is_dir()
    assert (VENV_SHARE / "labextensions" / "jupytext").exists() or any(
        (VENV_SHARE / "labextensions").glob("*jupytext*"))


def test_nothing_written_to_the_users_jupyter_config(lab):
    _, _, home = lab
    assert not (home / ".jupyter" / "lab" / "user-settings").exists()
    assert not (home / ".jupyter" / "labconfig").exists()
