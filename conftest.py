"""Shared test set-up.

- Lessons and solutions are jupytext ``.py`` files; nbval collects only ``.ipynb``. The collector
  below lets nbval (pinned to 0.11.0) execute them in a real kernel by reading them through jupytext.
  Each code cell becomes one test item; every cell must run without error (outputs are not compared:
  the lessons assert what they claim).
- The pretrained teacher and student are cached once per test run, before any notebook starts
  (``make test`` does it explicitly too), so parallel notebooks load them instead of training.
"""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import jupytext
import nbval.plugin
import pytest

ROOT = Path(__file__).resolve().parent
NOTEBOOK_DIRS = {"notebooks", "solutions"}

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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


def _is_notebook(path: Path) -> bool:
    """notebooks/<lang>/*.py and solutions/<lang>/*.py are lessons and solved exercises."""
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else None
    return (rel is not None and path.suffix == ".py" and len(rel.parts) == 3
            and rel.parts[0] in NOTEBOOK_DIRS and rel.parts[1] in ("en", "zh"))


def pytest_collect_file(file_path: Path, parent):
    if _is_notebook(file_path):
        return JupytextNotebook.from_parent(parent, path=file_path)
    return None


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # an xdist worker: the controller already did this
        return
    if config.getoption("collectonly", False):
        return
    from coursekit.pretrained import pretrained

    for name in ("teacher", "student"):
        pretrained(name, progress=False)


class _NotAModule(pytest.File):
    def collect(self):
        return []


def pytest_pycollect_makemodule(module_path: Path, parent):
    """A notebook named on the command line is a notebook, not a Python test module."""
    if _is_notebook(module_path):
        return _NotAModule.from_parent(parent, path=module_path)
    return None
