"""Shared test set-up.

- Lessons and solutions are jupytext ``.py`` files; nbval collects only ``.ipynb``. The collector
  below lets nbval execute them in a real kernel by reading them through jupytext. Each code cell
  becomes one test item (marked ``notebook``); every cell must run without error (outputs are not
  compared: the lessons state what they claim with ``coursekit.stats.claim``).
- Only the English lessons and solutions are executed: the Chinese ones have the same code cells
  (tests/test_course_files.py proves it) and are checked for parity and valid syntax instead
  (tests/test_notebook_syntax.py).
- Kernels started by the tests get ``COURSEKIT_STRICT_CLAIMS=1``: a lesson's false claim raises.
- Each table of wrong answers, ``tests/wrong/<stem>.py``, is collected as one test (marked
  ``notebook``) that runs all of that notebook's wrong answers in one kernel (tests/wrong_answers.py).
  Being a file of its own, each table goes to its own xdist worker under ``--dist loadfile``; a new
  lesson's table is picked up by itself: ``pytest tests/wrong/03_quantization.py`` runs just that one.
- The pretrained teacher and student are loaded (trained and cached on a cold cache) once, by the
  ``pretrained_models`` session fixture or before the first notebook cell, never for unit tests.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from unittest import mock

import jupytext
import nbval.plugin
import pytest

ROOT = Path(__file__).resolve().parent
NOTEBOOK_DIRS = {"notebooks", "solutions"}
EXECUTED_LANGS = ("en",)

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ["COURSEKIT_STRICT_CLAIMS"] = "1"  # inherited by every kernel the tests start


@functools.cache
def _pretrained_ready() -> None:
    from coursekit.pretrained import pretrained

    for name in ("teacher", "student"):
        pretrained(name, progress=False)


@pytest.fixture(scope="session")
def pretrained_models() -> None:
    """The cached teacher and student exist (trained once on a cold cache) before a kernel needs them."""
    _pretrained_ready()


class _JupytextReader:
    """Stands in for nbval's ``nbformat`` module: reads percent-format .py files as notebooks."""

    @staticmethod
    def read(path, as_version=4):
        return jupytext.read(path)


class JupytextNotebook(nbval.plugin.IPyNbFile):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compare_outputs = False  # like --nbval-lax: run every cell, compare nothing

    def collect(self):
        with mock.patch.object(nbval.plugin, "nbformat", _JupytextReader):
            items = list(super().collect())
        for item in items:
            item.add_marker(pytest.mark.notebook)
        return items


def _notebook_lang(path: Path) -> str | None:
    """The language of notebooks/<lang>/*.py and solutions/<lang>/*.py (lessons, solved exercises)."""
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else None
    if (rel is not None and path.suffix == ".py" and len(rel.parts) == 3
            and rel.parts[0] in NOTEBOOK_DIRS and rel.parts[1] in ("en", "zh")):
        return rel.parts[1]
    return None


class WrongAnswersPassed(AssertionError):
    pass


class WrongAnswersItem(pytest.Item):
    """Every wrong answer in one table must fail its check."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_marker(pytest.mark.notebook)

    def runtest(self):
        from tests.wrong_answers import run_wrong_answers

        _pretrained_ready()
        passed = run_wrong_answers(self.path.stem)
        if passed:
            raise WrongAnswersPassed("these wrong answers passed their check:\n  " + "\n  ".join(passed))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, WrongAnswersPassed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, 0, f"wrong answers of solutions/en/{self.path.stem}.py"


class WrongAnswersFile(pytest.File):
    def collect(self):
        yield WrongAnswersItem.from_parent(self, name="every_wrong_answer_fails_its_check")


def _is_wrong_table(path: Path) -> bool:
    return (path.suffix == ".py" and path.parent == ROOT / "tests" / "wrong" and not path.name.startswith("_"))


def pytest_collect_file(file_path: Path, parent):
    if _notebook_lang(file_path) in EXECUTED_LANGS:
        return JupytextNotebook.from_parent(parent, path=file_path)
    if _is_wrong_table(file_path):
        return WrongAnswersFile.from_parent(parent, path=file_path)
    return None


def pytest_runtest_setup(item):
    if isinstance(item, nbval.plugin.IPyNbCell):
        _pretrained_ready()


class _NotAModule(pytest.File):
    def collect(self):
        return []


def pytest_pycollect_makemodule(module_path: Path, parent):
    """A notebook or a wrong-answer table named on the command line is not a Python test module."""
    if _notebook_lang(module_path) or _is_wrong_table(module_path):
        return _NotAModule.from_parent(parent, path=module_path)
    return None
