import json
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.course.cli import main
from coursekit.course.labsettings import LAB_SETTINGS, lab_settings_path

ROOT = Path(__file__).resolve().parent.parent


def test_exercises_verify_passes_on_the_course(capsys):
    assert main(["exercises", "verify"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_exercises_verify_fails_on_a_stale_tree(tmp_path, capsys):
    (tmp_path / "solutions" / "en").mkdir(parents=True)
    (tmp_path / "solutions" / "en" / "01_x.py").write_text("# %%\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n")
    assert main(["exercises", "verify", "--root", str(tmp_path)]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(["exercises", "build", "--root", str(tmp_path)]) == 0
    assert main(["exercises", "verify", "--root", str(tmp_path)]) == 0


def test_setup_lab_writes_settings_into_the_given_prefix_only(tmp_path):
    path = lab_settings_path(str(tmp_path))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"other": {"keep": True}}))
    assert main(["setup-lab", "--prefix", str(tmp_path)]) == 0
    written = json.loads(path.read_text())
    assert written["other"] == {"keep": True}
    plugin = "@jupyterlab/docmanager-extension:plugin"
    assert written[plugin]["defaultViewers"]["python"] == "Jupytext Notebook" == LAB_SETTINGS[plugin]["defaultViewers"]["python"]


def test_bad_argument_gives_a_message_not_a_traceback():
    result = subprocess.run([sys.executable, "-m", "coursekit", "pretrain", "giant"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "The 'name' parameter of pretrained must be one of" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "coursekit"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "exercises" in result.stdout


@pytest.mark.notebook  # starts a kernel and loads the pretrained teacher
def test_doctor_reports_every_check(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for name in ("Python", "PyTorch", "Data", "Teacher", "JupyterLab", "Kernel"):
        assert f"✓ {name}:" in out
    assert "ready for class" in out


def test_doctor_says_what_is_wrong(monkeypatch, capsys):
    from coursekit.course import doctor

    def broken():
        raise RuntimeError("no kernel here")

    monkeypatch.setattr(doctor, "CHECKS", [doctor._python, broken])
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "✗ Broken: RuntimeError: no kernel here" in out and "not ready: fix Broken" in out
