"""Setting the course up on a learner's machine: ``python -m coursekit setup`` and ``python -m coursekit lab``.

``make lab`` / ``make test`` call the same code, so there is one place that decides

- which PyTorch build to install and from where (:func:`choose_torch`, a pure function of the
  operating system, the machine and the environment variables, unit-tested without a network):
  on Linux the CPU-only build from PyTorch's own CPU wheel index (the default index has only the
  CUDA build there: ~2.7 GB instead of ~0.19 GB), falling back to pip's configured index when that
  index cannot be reached; on macOS and Windows the default index (its builds are CPU builds already);
  ``COURSEKIT_TORCH=cuda`` opts in to a CUDA build;
- which pip commands run, in which order (:func:`install_steps`), with pip's progress visible for the
  large downloads and a message saying what to try when a download fails (not a pip traceback);
- the environment JupyterLab starts in and its settings (in :mod:`coursekit.course.labenv`): the
  course's ``.venv`` first on ``PATH``, so that the lab's Terminal finds ``python -m coursekit`` and
  ``coursekit``.

Standard library only, and nothing here imports torch: it runs before anything is installed, from a
fresh clone, under whatever Python the learner has (``python -m coursekit setup``).
Measured sizes and times: docs/setup.md.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.course.labenv import (  # noqa: F401 - part of this module's interface too
    KERNEL_CONFIG,
    lab_command,
    lab_environment,
    server_config,
    terminal_rc,
    venv_bin,
    venv_python,
    write_server_config,
)
from coursekit.course.labenv import (
    system_name as _system,
)
from coursekit.i18n import tr

__all__ = [
    "CPU_INDEX_URL", "TORCH_REQUIREMENT", "TorchChoice", "Step", "choose_torch", "install_steps",
    "index_reachable", "lab_command", "lab_environment", "server_config", "terminal_rc",
    "torch_build_note", "venv_python", "venv_bin", "setup", "lab", "add_commands",
]

TORCH_VERSION = "2.13.0"
TORCH_REQUIREMENT = f"torch=={TORCH_VERSION}"
CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"
# PyPI's Linux torch 2.13.0 is built against CUDA 13.0 (its nvidia-* requirements say so); Windows has
# no CUDA build on PyPI, so a CUDA opt-in there uses PyTorch's own index for the same CUDA version.
CUDA_INDEX_URL = "https://download.pytorch.org/whl/cu130"
BUILD_VAR = "COURSEKIT_TORCH"         # cpu (default) or cuda
INDEX_VAR = "COURSEKIT_TORCH_INDEX"   # another index holding PyTorch's wheels (e.g. a mirror of the CPU index)
PROBE_TIMEOUT_S = 5.0

# Download sizes measured on 2026-11-29 for Linux x86_64, CPython 3.11 (docs/setup.md says how).
SIZES_MB = {
    ("Linux", "cpu"): 192,      # torch-2.13.0+cpu, manylinux_2_28_x86_64
    ("Linux", "cuda"): 2741,    # torch 2.13.0 from PyPI (527 MB) + its NVIDIA, CUDA and triton wheels
    ("Windows", "cpu"): 122,    # torch 2.13.0, win_amd64, from PyPI
    ("Darwin", "cpu"): 111,     # torch 2.13.0, macosx_14_0_arm64, from PyPI
}
OTHER_PACKAGES_MB = 252         # everything else in pyproject.toml with the dev extra (Linux x86_64)


# --- what to install, from where (pure) ------------------------------------------------------------

@dataclass(frozen=True)
class TorchChoice:
    """Which PyTorch build to install and from where."""

    build: str                  # "cpu" or "cuda"
    index_url: str | None       # the index to use; None: pip's configured (default) index
    fallback: bool              # when index_url cannot be reached, use pip's configured index instead
    reason: str                 # one sentence for the learner


def choose_torch(system: str, machine: str, env: dict[str, str]) -> TorchChoice:
    """The PyTorch build for ``system`` (``platform.system()``), ``machine`` and environment ``env``.

    ``COURSEKIT_TORCH``: ``cpu`` (default) or ``cuda``. ``COURSEKIT_TORCH_INDEX``: an index to take
    torch from instead of PyTorch's (a mirror of it), for either build.
    """
    build = (env.get(BUILD_VAR) or "cpu").strip().lower()
    if build not in ("cpu", "cuda"):
        raise ValueError(f"The {BUILD_VAR} environment variable must be 'cpu' or 'cuda'. Got {build!r} instead.")
    system = _system(system)
    custom = (env.get(INDEX_VAR) or "").strip() or None
    if build == "cuda":
        if system == "Darwin":
            return TorchChoice("cpu", None, False, tr(
                "macOS has no CUDA build of PyTorch; installing the default build (it uses Apple's GPU "
                "through MPS where there is one)",
                "macOS 没有 CUDA 版 PyTorch；安装默认版本（有 Apple GPU 时通过 MPS 使用）"))
        if system == "Windows":
            return TorchChoice("cuda", custom or CUDA_INDEX_URL, False, tr(
                "CUDA build requested ({var}=cuda); on Windows it comes from PyTorch's CUDA index",
                "已选择 CUDA 版（{var}=cuda）；Windows 上它来自 PyTorch 的 CUDA 索引", var=BUILD_VAR))
        return TorchChoice("cuda", custom, False, tr(
            "CUDA build requested ({var}=cuda); on Linux it is the default index's build",
            "已选择 CUDA 版（{var}=cuda）；Linux 上默认索引里的就是 CUDA 版", var=BUILD_VAR))
    if system == "Linux":
        return TorchChoice("cpu", custom or CPU_INDEX_URL, True, tr(
            "the CPU-only build: the course runs on a CPU, and the default index's Linux build is the "
            "CUDA one (about {cuda} MB more to download)",
            "只装 CPU 版：本课程在 CPU 上运行，而默认索引里的 Linux 版是 CUDA 版（要多下载约 {cuda} MB）",
            cuda=SIZES_MB[("Linux", "cuda")] - SIZES_MB[("Linux", "cpu")]))
    return TorchChoice("cpu", custom, custom is not None, tr(
        "the default index's build, a CPU build on this system", "默认索引里的版本，在这个系统上就是 CPU 版"))


@dataclass(frozen=True)
class Step:
    """One command of the set-up, with what it does in words."""

    what: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # added to the environment for this command
    large: bool = False                                   # a large download: never quiet


def project_dependencies(root: Path) -> list[str]:
    """The requirements of pyproject.toml, with the ``dev`` extra (read with the standard library)."""
    import tomllib

    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["dependencies"]) + list(project.get("optional-dependencies", {}).get("dev", []))


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;@]", requirement.strip(), maxsplit=1)[0].lower()


def install_steps(python: str, choice: TorchChoice, *, index_reachable: bool = True,
                  dependencies: list[str] | None = None) -> list[Step]:
    """The commands that install the course into the environment whose interpreter is ``python``.

    ``index_reachable``: whether ``choice.index_url`` answered (see :func:`index_reachable`); when it
    did not and ``choice.fallback``, torch comes from pip's configured index instead.
    ``dependencies``: the other requirements (default: none listed; :func:`setup` passes pyproject's).
    """
    pip = [python, "-m", "pip", "install"]
    if choice.index_url and (index_reachable or not choice.fallback):
        torch = Step(tr("PyTorch {v} ({build} build) from {url}", "PyTorch {v}（{build} 版），来源 {url}",
                        v=TORCH_VERSION, build=choice.build.upper(), url=choice.index_url),
                     pip + ["--index-url", choice.index_url, TORCH_REQUIREMENT], large=True)
    else:
        torch = Step(tr("PyTorch {v} from pip's configured index", "PyTorch {v}，来自 pip 配置的索引",
                        v=TORCH_VERSION), pip + [TORCH_REQUIREMENT], large=True)
    others = [d for d in (dependencies or []) if _name(d) != "torch"]
    steps = [
        Step(tr("an up-to-date pip", "升级 pip"), pip + ["--quiet", "--upgrade", "pip"]),
        torch,
    ]
    if others:
        steps.append(Step(tr("JupyterLab, numpy, scikit-learn, onnxruntime and the other packages",
                             "JupyterLab、numpy、scikit-learn、onnxruntime 等其余依赖"),
                          pip + others, large=True))
    # -qq: setuptools prints a banner about editable installs that a learner need not read
    steps.append(Step(tr("the course's own package (coursekit, editable)", "课程自己的包 coursekit（可编辑安装）"),
                      pip + ["-qq", "--no-deps", "-e", "."]))
    steps.append(Step(tr("the course's JupyterLab settings", "课程的 JupyterLab 设置"),
                      [python, "-m", "coursekit", "setup-lab"]))
    return steps


def index_reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """Whether ``url``'s torch page answers within ``timeout`` seconds (one try); and why not."""
    probe = url.rstrip("/") + "/torch/"
    request = urllib.request.Request(probe, method="HEAD", headers={"User-Agent": "coursekit-setup"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status < 400, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, str(getattr(exc, "reason", exc))


# --- doctor: the build that is installed ---------------------------------------------------------------

def torch_build_note(torch_module=None) -> str | None:
    """A note when the CUDA build of PyTorch is installed on a machine without a usable GPU, else None."""
    if torch_module is None:
        import torch as torch_module
    if not getattr(torch_module.version, "cuda", None):
        return None
    try:
        if torch_module.cuda.is_available():
            return None
    except Exception:  # noqa: BLE001 - a broken CUDA set-up is also "no usable GPU"
        pass
    return tr("you downloaded the CUDA build; the CPU build is enough here (no usable GPU). To save "
              "~2.5 GB: `{cmd}`",
              "你下载的是 CUDA 版；这台机器没有可用的 GPU，CPU 版就够了。想省下约 2.5 GB："
              "`{cmd}`",
              cmd=f"python -m pip install --force-reinstall --no-deps --index-url {CPU_INDEX_URL} {TORCH_REQUIREMENT}")


# --- running it ------------------------------------------------------------------------------------------

def _say(text: str = "") -> None:
    print(text, flush=True)


def _run(step: Step, root: Path) -> tuple[int, str]:
    """Run one step; pip's progress (stdout) goes straight to the terminal. stderr is passed through
    line by line, except a Python traceback, of which only the last line is kept."""
    env = {**os.environ, **step.env}
    proc = subprocess.Popen(step.argv, cwd=root, env=env, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", errors="replace")
    last_error, in_traceback = "", False
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith(("Traceback (most recent call last)", "During handling of the above exception",
                            "The above exception was the direct cause")):
            in_traceback = True
        if in_traceback:
            if line.strip() and not line.startswith((" ", "Traceback", "During handling", "The above")):
                last_error = line.strip()  # the exception line ends the traceback
                in_traceback = False
                sys.stderr.write(line)
                sys.stderr.flush()
            continue
        if line.startswith("ERROR:"):
            last_error = line.strip()
        sys.stderr.write(line)
        sys.stderr.flush()
    return proc.wait(), last_error


def _failure_help(step: Step, error: str) -> str:
    cmd = " ".join(shlex.quote(a) for a in step.argv)
    return tr(
        "\nThe set-up stopped while installing {what}.\n"
        "  {error}\n"
        "What to try:\n"
        "  1. Run the same command again (make lab, or python -m coursekit setup): downloads that\n"
        "     finished are in pip's cache and are not downloaded again.\n"
        "  2. A slow or filtered connection: use a package-index mirror through pip's own settings,\n"
        "       PIP_INDEX_URL=https://<mirror>/simple make lab        (this time only)\n"
        "       python -m pip config set global.index-url https://<mirror>/simple   (always)\n"
        "     and, for PyTorch's CPU wheels, {index_var}=<a mirror of {cpu}>.\n"
        "  3. Time-outs on a slow link: PIP_DEFAULT_TIMEOUT=120 make lab\n"
        "The command that failed: {cmd}\n"
        "More in docs/setup.md.",
        "\n安装 {what} 时中断了。\n"
        "  {error}\n"
        "可以尝试：\n"
        "  1. 再运行一次同样的命令（make lab 或 python -m coursekit setup）：已下载完的文件在 pip 的缓存里，\n"
        "     不会重新下载。\n"
        "  2. 网络慢或受限：通过 pip 自己的设置使用软件包索引的镜像，\n"
        "       PIP_INDEX_URL=https://<镜像>/simple make lab        （仅这一次）\n"
        "       python -m pip config set global.index-url https://<镜像>/simple   （一直有效）\n"
        "     PyTorch 的 CPU 版则设置 {index_var}=<{cpu} 的镜像>。\n"
        "  3. 慢速网络超时：PIP_DEFAULT_TIMEOUT=120 make lab\n"
        "失败的命令：{cmd}\n"
        "详见 docs/setup.md。",
        what=step.what, error=error or tr("(pip's message is above)", "（pip 的信息见上方）"),
        index_var=INDEX_VAR, cpu=CPU_INDEX_URL, cmd=cmd)


def _installed_torch(python: Path) -> str | None:
    out = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('torch'))"],
                         capture_output=True, text=True)
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _plan_text(choice: TorchChoice, system: str, first_time: bool) -> str:
    torch_mb = SIZES_MB.get((_system(system), choice.build))
    lines = [tr("PyTorch: {reason}.", "PyTorch：{reason}。", reason=choice.reason)]
    if first_time:
        total = (torch_mb or 0) + OTHER_PACKAGES_MB
        size = f"≈ {torch_mb} MB" if torch_mb else tr("size not measured for this system",
                                                        "这个系统上的大小没有实测")
        lines += [
            tr("About to download (sizes measured with Python 3.11; see docs/setup.md):",
               "即将下载（大小按 Python 3.11 实测，见 docs/setup.md）："),
            tr("  PyTorch {v} ({build} build)  {size}", "  PyTorch {v}（{build} 版）  {size}",
               v=TORCH_VERSION, build=choice.build.upper(), size=size),
            tr("  JupyterLab, numpy, scikit-learn, matplotlib, onnxruntime and the rest  ≈ {mb} MB",
               "  JupyterLab、numpy、scikit-learn、matplotlib、onnxruntime 等其余依赖  ≈ {mb} MB",
               mb=OTHER_PACKAGES_MB),
            tr("  In all ≈ {total} MB (less when pip's cache already holds some). pip shows each download's "
               "progress below.", "  合计 ≈ {total} MB（pip 缓存里已有的不再下载）。下面会显示每个下载的进度。",
               total=total),
        ]
    return "\n".join(lines)


def setup(root: Path | None = None, *, python: str | None = None, env: dict[str, str] | None = None,
          probe=index_reachable) -> int:
    """Create ``root/.venv`` if needed and install the course into it; 0 on success."""
    root = Path(root or Path(__file__).resolve().parents[2])
    env = dict(os.environ if env is None else env)
    venv = root / ".venv"
    py = venv_python(venv)
    start = time.monotonic()
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever Python the learner has
        _say(tr("The course needs Python 3.11 or newer; this is {v}.", "本课程需要 Python 3.11 或更新版本；当前是 {v}。",
                v=platform.python_version()))
        return 1
    if not py.exists():
        _say(tr("Creating {venv} with {py} ...", "用 {py} 创建 {venv} ...", venv=venv, py=sys.executable))
        made = subprocess.run([python or sys.executable, "-m", "venv", str(venv)])
        if made.returncode != 0 or not py.exists():
            _say(tr("Could not create the virtual environment. On Debian/Ubuntu: sudo apt install python3-venv",
                    "无法创建虚拟环境。Debian/Ubuntu 上请先运行：sudo apt install python3-venv"))
            return 1
    choice = choose_torch(platform.system(), platform.machine(), env)
    first_time = _installed_torch(py) is None
    _say(_plan_text(choice, platform.system(), first_time))
    reachable = True
    if choice.index_url and choice.fallback and first_time:
        reachable, why = probe(choice.index_url)
        if not reachable:
            _say(tr("{url} could not be reached ({why}); installing PyTorch from pip's configured index "
                    "instead. Where pip has a CPU wheel (a local wheel folder, a mirror) it takes it; on Linux "
                    "the public default index has only the CUDA build (≈ {cuda} MB). See docs/setup.md.",
                    "无法连接 {url}（{why}）；改从 pip 配置的索引安装 PyTorch。pip 能找到 CPU 版（本地 wheel 目录、"
                    "镜像）时就用它；Linux 上公共默认索引只有 CUDA 版（≈ {cuda} MB）。见 docs/setup.md。",
                    url=choice.index_url, why=why, cuda=SIZES_MB[("Linux", "cuda")]))
    steps = install_steps(str(py), choice, index_reachable=reachable, dependencies=project_dependencies(root))
    if not first_time:  # torch is there: pip would only say "already satisfied"
        steps = [s for s in steps if TORCH_REQUIREMENT not in s.argv]
    for i, step in enumerate(steps, 1):
        _say(f"[{i}/{len(steps)}] {step.what}")
        code, error = _run(step, root)
        sys.stdout.flush()
        if code != 0:
            _say(_failure_help(step, error))
            return code
    installed = _installed_torch(py) or "?"
    build = "CUDA" if "+cu" in installed or (choice.build == "cuda" and "+cpu" not in installed) else "CPU"
    stamp = venv / ".install-stamp"
    stamp.touch()
    _say(tr("Ready in {s:.0f} s: torch {v} ({build} build) in {venv}.",
            "完成，用时 {s:.0f} 秒：torch {v}（{build} 版）装在 {venv}。",
            s=time.monotonic() - start, v=installed, build=build, venv=venv))
    return 0


def _needs_setup(root: Path) -> bool:
    stamp = root / ".venv" / ".install-stamp"
    # the same prerequisites as the Makefile's
    sources = [root / "pyproject.toml", Path(__file__), Path(__file__).with_name("labenv.py")]
    return not stamp.exists() or any(stamp.stat().st_mtime < p.stat().st_mtime for p in sources if p.exists())


def lab(root: Path | None = None, extra: list[str] | None = None) -> int:
    """Set up if needed (as ``make lab`` does), then run JupyterLab in the course's environment."""
    root = Path(root or Path(__file__).resolve().parents[2])
    if _needs_setup(root):
        code = setup(root)
        if code != 0:
            return code
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    cmd = lab_command(root, list(extra or []), as_root=as_root)
    env = lab_environment(root, dict(os.environ))
    if os.name == "posix":  # become the lab: Ctrl+C and signals reach the server itself
        os.chdir(root)
        os.execve(cmd[0], cmd, env)
    try:
        return subprocess.call(cmd, cwd=root, env=env)
    except KeyboardInterrupt:
        return 130


def add_commands(sub) -> None:
    """Add ``setup`` and ``lab`` to the ``coursekit`` command line (argparse sub-parsers)."""
    s = sub.add_parser("setup", help="create .venv and install the course into it (what `make install` does)",
                       description="Create .venv in the course folder and install everything into it: "
                                   "PyTorch's CPU build on Linux (COURSEKIT_TORCH=cuda for a CUDA build), "
                                   "then the course's packages. Run it from the course folder.")
    s.set_defaults(run=lambda args: setup())
    lab_p = sub.add_parser("lab", help="set up if needed, then open the course in JupyterLab (what `make lab` does)",
                           description="Open JupyterLab in the course folder with the course's environment; "
                                       "arguments after -- go to jupyter lab (e.g. -- --port 8890).")
    lab_p.add_argument("jupyter_args", nargs="*", metavar="ARG", help="passed to jupyter lab (after --)")
    lab_p.set_defaults(run=lambda args: lab(extra=[a for a in args.jupyter_args if a != "--"]))

