"""The set-up's decisions, without a network and without installing anything: which PyTorch build and
index for Linux, macOS and Windows, the pip commands in order, the environment the lab starts in, the
Jupyter Server settings, the failure message, and doctor's note on a CUDA build without a GPU."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from coursekit.course import setup as cs

ROOT = Path(__file__).resolve().parent.parent
PY = "/venv/bin/python"


def _torch_step(steps):
    (step,) = [s for s in steps if cs.TORCH_REQUIREMENT in s.argv]
    return step


def _steps(system, machine="x86_64", env=None, reachable=True):
    choice = cs.choose_torch(system, machine, env or {})
    return choice, cs.install_steps(PY, choice, index_reachable=reachable,
                                    dependencies=cs.project_dependencies(ROOT))


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_linux_takes_the_cpu_build_from_pytorchs_cpu_index(machine):
    choice, steps = _steps("Linux", machine)
    assert choice.build == "cpu"
    assert _torch_step(steps).argv == [PY, "-m", "pip", "install", "--index-url",
                                       "https://download.pytorch.org/whl/cpu", "torch==2.13.0"]


def test_linux_falls_back_to_the_configured_index_when_pytorchs_cannot_be_reached():
    _, steps = _steps("Linux", reachable=False)
    assert _torch_step(steps).argv == [PY, "-m", "pip", "install", "torch==2.13.0"]


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_macos_and_windows_use_the_default_index(system):
    choice, steps = _steps(system, "arm64" if system == "Darwin" else "AMD64")
    assert choice.build == "cpu" and choice.index_url is None
    assert _torch_step(steps).argv == [PY, "-m", "pip", "install", "torch==2.13.0"]


def test_cuda_is_one_variable_away():
    _, linux = _steps("Linux", env={"COURSEKIT_TORCH": "cuda"})
    assert _torch_step(linux).argv == [PY, "-m", "pip", "install", "torch==2.13.0"]  # PyPI's Linux build is CUDA's
    _, windows = _steps("Windows", "AMD64", env={"COURSEKIT_TORCH": "CUDA"})
    assert _torch_step(windows).argv[-3:] == ["--index-url", cs.CUDA_INDEX_URL, "torch==2.13.0"]
    mac, _ = _steps("Darwin", "arm64", env={"COURSEKIT_TORCH": "cuda"})
    assert mac.build == "cpu"  # there is no CUDA on macOS: it says so and installs the default build


def test_a_mirror_of_pytorchs_index_replaces_it():
    mirror = "https://mirror.example/pytorch/whl/cpu"
    _, steps = _steps("Linux", env={"COURSEKIT_TORCH_INDEX": mirror})
    assert _torch_step(steps).argv[-3:] == ["--index-url", mirror, "torch==2.13.0"]


def test_an_unknown_build_names_the_variable():
    with pytest.raises(ValueError, match="COURSEKIT_TORCH.*'cpu' or 'cuda'.*'rocm'"):
        cs.choose_torch("Linux", "x86_64", {"COURSEKIT_TORCH": "rocm"})


def test_steps_in_order_large_downloads_show_progress_and_the_banner_is_quiet():
    _, steps = _steps("Linux")
    argvs = [s.argv for s in steps]
    assert argvs[0][-3:] == ["--quiet", "--upgrade", "pip"]
    assert cs.TORCH_REQUIREMENT in argvs[1]
    others = argvs[2][4:]
    assert "jupyterlab" in " ".join(others) and not any(a.startswith("torch") for a in others)
    assert argvs[3][-4:] == ["-qq", "--no-deps", "-e", "."]  # setuptools' editable-install banner
    assert argvs[4] == [PY, "-m", "coursekit", "setup-lab"]
    for step in steps:
        if step.large:
            assert not {"-q", "-qq", "--quiet"} & set(step.argv), f"{step.what}: progress must be visible"


def test_the_pin_is_pyprojects():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert cs.TORCH_REQUIREMENT in [d.replace(" ", "") for d in deps]


def test_the_probe_gives_up_quickly_on_an_unreachable_index():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    ok, why = cs.index_reachable(f"http://127.0.0.1:{port}/whl/cpu", timeout=2)
    assert not ok and why and time.monotonic() - start < 3


def test_the_lab_starts_with_the_course_environment_first_on_path(tmp_path):
    env = cs.lab_environment(tmp_path, {"PATH": "/usr/bin:/bin", "PYTHONHOME": "/x"}, system="Linux")
    assert env["PATH"].split(":")[0] == str(tmp_path / ".venv" / "bin")
    assert env["VIRTUAL_ENV"] == str(tmp_path / ".venv")
    assert env["JUPYTER_PATH"] == str(tmp_path / ".venv" / "share" / "jupyter")
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and "PYTHONHOME" not in env
    windows = cs.lab_environment(tmp_path, {"PATH": "C:\\Windows"}, system="Windows")
    assert windows["PATH"].startswith(str(tmp_path / ".venv" / "Scripts"))


def test_the_lab_allows_root_only_when_run_as_root(tmp_path):
    assert "--allow-root" in cs.lab_command(tmp_path, [], as_root=True, system="Linux")
    assert "--allow-root" not in cs.lab_command(tmp_path, ["--port", "8890"], as_root=False, system="Linux")
    assert cs.lab_command(tmp_path, ["--port", "8890"], as_root=False, system="Linux")[-2:] == ["--port", "8890"]
    assert cs.lab_command(tmp_path, [], as_root=False, system="Windows")[0].endswith("Scripts\\jupyter.exe".replace("\\", os.sep))


def test_server_config_hides_build_artefacts_and_keeps_jupyters_own_hidden_files(tmp_path):
    from jupyter_server.services.contents.manager import ContentsManager

    config = cs.server_config(tmp_path, system="Linux", bash="/bin/bash")
    hidden = config["ContentsManager"]["hide_globs"]
    assert "*.egg-info" in hidden and set(ContentsManager().hide_globs) <= set(hidden)
    assert config["ServerApp"]["tornado_settings"]["ws_ping_interval"] == 0
    shell = config["ServerApp"]["terminado_settings"]["shell_command"]
    assert shell[0] == "/bin/bash" and shell[1] == "--rcfile"
    windows = cs.server_config(tmp_path, system="Windows", bash=None)
    assert "terminado_settings" not in windows["ServerApp"]


def test_the_terminal_puts_the_course_environment_after_the_learners_bashrc(tmp_path):
    rc = cs.terminal_rc(tmp_path / ".venv")
    assert rc.index(".bashrc") < rc.index("activate")


def test_a_failed_step_shows_the_error_not_a_traceback(capsys):
    step = cs.Step("a download", [sys.executable, "-c",
                                  "def f():\n    raise OSError('connection reset')\nf()"])
    code, error = cs._run(step, ROOT)
    err = capsys.readouterr().err
    assert code != 0 and error == "OSError: connection reset"
    assert "Traceback" not in err and 'File "<string>"' not in err
    help_text = cs._failure_help(step, error)
    for hint in ("again", "PIP_INDEX_URL", "pip config set global.index-url", "COURSEKIT_TORCH_INDEX"):
        assert hint in help_text


def _fake_torch(cuda_version, available):
    return SimpleNamespace(version=SimpleNamespace(cuda=cuda_version),
                           cuda=SimpleNamespace(is_available=lambda: available))


def test_doctor_notes_a_cuda_build_without_a_gpu():
    assert "CPU build is enough" in cs.torch_build_note(_fake_torch("13.0", False))
    assert cs.torch_build_note(_fake_torch("13.0", True)) is None
    assert cs.torch_build_note(_fake_torch(None, False)) is None


def test_the_command_line_runs_without_torch():
    code = ("import sys, runpy; sys.modules['torch'] = None; sys.argv = ['coursekit', 'setup', '--help'];"
            "runpy.run_module('coursekit', run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "usage: coursekit setup" in result.stdout


def test_lab_sets_up_again_when_the_dependencies_or_the_setup_change(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    assert cs._needs_setup(tmp_path)  # never set up
    stamp = tmp_path / ".venv" / ".install-stamp"
    stamp.parent.mkdir()
    stamp.touch()
    future = time.time() + 10
    os.utime(stamp, (future, future))
    assert not cs._needs_setup(tmp_path)
    os.utime(tmp_path / "pyproject.toml", (future + 5, future + 5))
    assert cs._needs_setup(tmp_path)
