"""How the course's JupyterLab runs: the environment it starts in and the settings ``setup-lab`` writes
into ``.venv`` (never into the learner's own Jupyter or IPython configuration).

- :func:`lab_environment` / :func:`lab_command`: ``.venv`` first on ``PATH`` (the lab's Terminal, ``!pip``
  and ``!python`` find the course's Python and ``coursekit``), ``--allow-root`` when run as root.
- :func:`server_config`, :data:`KERNEL_CONFIG`, :func:`terminal_rc`: the Terminal's start-up file, quiet
  kernels and websockets, hidden build artefacts, lessons that open unmodified. docs/setup.md says why.

Standard library only; nothing here imports torch or Jupyter.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from pathlib import Path

__all__ = [
    "HIDE_GLOBS", "KERNEL_CONFIG", "lab_command", "lab_environment", "server_config", "terminal_rc",
    "terminal_rc_path", "venv_bin", "venv_python", "write_server_config",
]


def system_name(system: str) -> str:
    s = system.lower()
    return "Windows" if s.startswith(("win", "cygwin", "msys")) else "Darwin" if s in ("darwin", "macos") else \
        "Linux" if s == "linux" else system


def venv_bin(venv: Path, system: str | None = None) -> Path:
    return venv / ("Scripts" if system_name(system or platform.system()) == "Windows" else "bin")


def venv_python(venv: Path, system: str | None = None) -> Path:
    windows = system_name(system or platform.system()) == "Windows"
    return venv_bin(venv, system) / ("python.exe" if windows else "python")


def lab_environment(root: Path, base_env: dict[str, str], system: str | None = None) -> dict[str, str]:
    """The environment JupyterLab starts with: the course's .venv first on PATH (what the venv's
    ``activate`` does), so its Terminal, ``!pip`` and ``!python`` find the course's Python and
    ``coursekit``; the course's Jupyter data first; idle OpenMP threads that sleep."""
    venv = root / ".venv"
    env = dict(base_env)
    env.pop("PYTHONHOME", None)
    path = [str(venv_bin(venv, system))] + [p for p in env.get("PATH", "").split(os.pathsep)
                                            if p and p != str(venv_bin(venv, system))]
    env["PATH"] = os.pathsep.join(path)
    env["VIRTUAL_ENV"] = str(venv)
    env["JUPYTER_PATH"] = str(venv / "share" / "jupyter")
    # idle OpenMP threads spin on a busy machine and make 2-thread timings tens of times slower
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


def lab_command(root: Path, extra: list[str], *, as_root: bool, system: str | None = None) -> list[str]:
    """``jupyter lab`` in the course folder; ``--allow-root`` when running as root (Docker, cloud
    machines, WSL): Jupyter refuses to start as root without it."""
    windows = system_name(system or platform.system()) == "Windows"
    jupyter = venv_bin(root / ".venv", system) / ("jupyter.exe" if windows else "jupyter")
    cmd = [str(jupyter), "lab", f"--ServerApp.root_dir={root}"]
    if as_root and "--allow-root" not in extra:
        cmd.append("--allow-root")
    return cmd + list(extra)


# JupyterLab's default list, plus the build artefacts an editable install leaves at the top of the folder
HIDE_GLOBS = ["__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*~", "*.so", "*.dylib", "*.egg-info",
              ".ipynb_checkpoints"]


def terminal_rc(prefix: Path) -> str:
    """bash start-up file for the lab's Terminal: the learner's own ~/.bashrc first (it may put pyenv,
    conda or ~/.local/bin first on PATH), then the course's environment on top, as ``activate`` does."""
    activate = shlex.quote(str(prefix / "bin" / "activate"))
    bindir = shlex.quote(str(prefix / "bin"))
    return ("# Written by `python -m coursekit setup-lab`: JupyterLab's Terminal in this course.\n"
            "[ -f \"$HOME/.bashrc\" ] && . \"$HOME/.bashrc\"\n"
            f"if [ -f {activate} ]; then . {activate}; else export PATH={bindir}:\"$PATH\"; fi\n")


def server_config(prefix: Path, system: str | None = None, bash: str | None = None,
                  rc_path: Path | None = None) -> dict:
    """Jupyter Server settings for the course's lab, written into the environment by ``setup-lab``.

    - Terminals run bash with :func:`terminal_rc` (where bash exists), so ``python`` and ``coursekit``
      there are the course's even when ~/.bashrc changes PATH.
    - No websocket keep-alive pings: jupyter_server 2.x hands its millisecond defaults (30000/90000)
      to tornado >= 6.5, which reads seconds and warns "websocket_ping_timeout (90000) cannot be longer
      than the websocket_ping_interval (30000)" (jupyter_server#1612). The lab runs on this machine; no
      proxy sits between browser and server to keep alive.
    - The file browser hides ``coursekit.egg-info`` (and Jupyter's usual build artefacts).
    - Lessons open unmodified: see :mod:`coursekit.course.labcontents`.
    """
    posix = system_name(system or platform.system()) != "Windows"
    config: dict = {
        # jupytext's contents manager, serving lessons with the kernel's language_info: no
        # unsaved-changes dot on a lesson nobody edited (coursekit/course/labcontents.py)
        "ServerApp": {"tornado_settings": {"ws_ping_interval": 0},
                      "contents_manager_class": "coursekit.course.labcontents.CourseContentsManager"},
        "ContentsManager": {"hide_globs": HIDE_GLOBS},
    }
    if posix and bash:
        config["ServerApp"]["terminado_settings"] = {
            "shell_command": [bash, "--rcfile", str(rc_path or terminal_rc_path(prefix)), "-i"]}
    return config


# The kernel's own log (printed in the terminal that runs the lab, not in notebooks) at ERROR: ipykernel 7
# warns "Kernel is running over TCP without encryption" at every kernel start, although the kernel
# listens on 127.0.0.1 only. (IPC sockets would avoid it, but their path under ~/.local/share/jupyter
# overflows the 107-byte socket-path limit for long home folders: tried, kernels failed to start.)
KERNEL_CONFIG = {"IPKernelApp": {"log_level": "ERROR"}}
SERVER_CONFIG_NAME = "coursekit.json"


def terminal_rc_path(prefix: Path) -> Path:
    return Path(prefix) / "etc" / "coursekit" / "terminal-rc"


def write_server_config(prefix: str | os.PathLike | None = None) -> list[Path]:
    """Write :func:`server_config`, :data:`KERNEL_CONFIG` and the Terminal's start-up file into the
    environment ``prefix`` (never the learner's own Jupyter or IPython configuration)."""
    import shutil

    prefix = Path(prefix or sys.prefix)
    bash = shutil.which("bash")
    config = server_config(prefix, bash=bash)
    path = prefix / "etc" / "jupyter" / "jupyter_server_config.d" / SERVER_CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    kernel = prefix / "etc" / "ipython" / "ipython_kernel_config.json"  # read by this environment's kernels
    kernel.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(kernel.read_text(encoding="utf-8")) if kernel.exists() else {}
    for section, values in KERNEL_CONFIG.items():
        current.setdefault(section, {}).update(values)
    kernel.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    written = [path, kernel]
    if bash:
        rc = terminal_rc_path(prefix)
        rc.parent.mkdir(parents=True, exist_ok=True)
        rc.write_text(terminal_rc(prefix), encoding="utf-8")
        written.append(rc)
    return written
