"""The notebook runner and the interpretation of its outcomes; the machinery's import hygiene.

The interpretation (coursekit.course.outcomes.interpret) is a pure function: every case below is
built by hand, without a kernel. One test marked ``notebook`` runs the real executor once.
"""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.course.messages import lang_of_path
from coursekit.course.outcomes import error_text, interpret
from coursekit.course.runner import CellRun, Execution, execute

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["x = 1", "# the check\nassert x == 1", "y = 2", "assert y == 2"]
CHECKS = [(1, "c-a"), (3, "c-b")]


def _interpret(cells, lang="en", **run):
    return interpret(Execution(cells, **run), SOURCES, CHECKS, lang=lang, timeout=5, notebook_timeout=60)


def _outcomes(result):
    return [(c.check_id, c.outcome) for c in result.checks]


def test_all_cells_ok_passes_every_check_with_its_printed_line():
    cells = [CellRun(0, "ok"), CellRun(1, "ok", stdout="x\n✓ a\n\n"), CellRun(2, "ok"), CellRun(3, "ok")]
    result = _interpret(cells)
    assert _outcomes(result) == [("c-a", "passed"), ("c-b", "passed")]
    assert result.checks[0].message == "✓ a" and result.status == "checked" and not result.errors


def test_a_failing_setup_cell_is_named_in_the_later_failing_check():
    cells = [CellRun(0, "error", "NameError", "name 'z' is not defined"), CellRun(1, "ok"),
             CellRun(2, "ok"), CellRun(3, "error", "AssertionError", "")]
    result = _interpret(cells)
    assert [e.cell for e in result.errors] == [1] and "NameError" in result.errors[0].message
    assert result.checks[1].outcome == "failed"
    assert result.checks[1].message.startswith("AssertionError; an earlier cell failed first: code cell 1")


def test_a_dead_kernel_marks_the_rest_not_run_and_the_notebook_incomplete():
    cells = [CellRun(0, "ok"), CellRun(1, "ok"), CellRun(2, "kernel_died", exit_code=1)]
    result = _interpret(cells)
    assert _outcomes(result) == [("c-a", "passed"), ("c-b", "not_run")]
    assert result.status == "incomplete" and "kernel died in code cell 3 (exit code 1)" in result.message
    assert "kernel died in code cell 3" in result.checks[1].message


def test_a_timed_out_check_fails_and_the_rest_still_count():
    cells = [CellRun(0, "ok"), CellRun(1, "timed_out"), CellRun(2, "ok"), CellRun(3, "ok")]
    result = _interpret(cells)
    assert _outcomes(result) == [("c-a", "timed_out"), ("c-b", "passed")]
    assert result.checks[0].message == "timed out after 5 s (--timeout)" and result.status == "checked"


def test_a_kernel_that_could_not_be_interrupted_stops_the_notebook():
    cells = [CellRun(0, "ok"), CellRun(1, "timed_out", stopped=True)]
    result = _interpret(cells, lang="zh")
    assert _outcomes(result) == [("c-a", "timed_out"), ("c-b", "not_run")]
    assert "内核已被关闭" in result.checks[0].message and "超时后内核被关闭" in result.checks[1].message


def test_the_whole_notebook_limit_names_the_running_cell_and_the_rest():
    cells = [CellRun(0, "ok"), CellRun(1, "timed_out")]
    result = _interpret(cells, stopped=True)
    assert result.status == "incomplete" and result.message.startswith("stopped after 60 s")
    assert "still running when the notebook was stopped" in result.checks[0].message
    assert result.checks[1].message == "not run: the notebook was stopped after 60 s (--notebook-timeout)"


def test_a_kernel_that_never_started_is_reported_once_for_every_check():
    result = _interpret([CellRun(i, "not_run") for i in range(4)], kernel_error="RuntimeError: no kernel")
    assert result.status == "incomplete" and "the kernel could not start: RuntimeError: no kernel" == result.message
    assert all(c.outcome == "not_run" and "could not start" in c.message for c in result.checks)


def test_error_text_names_the_cell_line_not_ipythons_file():
    run = CellRun(0, "error", "SyntaxError", "invalid syntax (3253119044.py, line 2)")
    assert error_text(run) == "SyntaxError: invalid syntax (line 2 of the cell)"
    assert error_text(CellRun(0, "error", "AssertionError", "", line="assert f() == 2")) == \
        "AssertionError at `assert f() == 2`"


@pytest.mark.parametrize("path, lang", [("exercises/zh/00_x.py", "zh"), ("exercises/en/00_x.py", "en"),
                                        ("/tmp/zh/work/en/x.py", "en"), ("x.py", "en")])
def test_the_language_of_a_notebook_is_its_nearest_language_folder(path, lang, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lang_of_path(path) == lang


# ---------------------------------------------------------------------------------------------
# import hygiene


def test_the_cli_imports_without_torch():
    code = "import coursekit, coursekit.course.cli, sys; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _modules() -> list[str]:
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                  for p in (ROOT / "coursekit").rglob("*.py") if p.name != "__main__.py")


def _imports(module: str) -> set[str]:
    """The coursekit modules ``module`` imports, at module level or inside functions (a lazy import
    cycle is still a cycle: each module needs the other), except under ``if TYPE_CHECKING:``."""
    path = ROOT / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n.startswith("coursekit") and n in set(_modules()) and n != module}
    return found


def test_no_import_cycle_in_the_package():
    graph = {m: _imports(m) for m in _modules()}
    state: dict[str, int] = {}

    def visit(m, path):
        if state.get(m) == 1:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            visit(n, path + [m])
        state[m] = 2

    for m in graph:
        visit(m, [])


def test_every_machinery_module_imports_alone_in_any_order():
    mods = [m for m in _modules() if m.startswith("coursekit.course")]
    random.Random(0).shuffle(mods)
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n" \
           "assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code, *mods], check=True, cwd=ROOT)
    subprocess.run([sys.executable, "-c", code, *reversed(mods)], check=True, cwd=ROOT)


# ---------------------------------------------------------------------------------------------
# the real executor, once


@pytest.mark.notebook
def test_execute_reports_each_cell_and_survives_timeouts_and_a_dying_kernel(tmp_path):
    run = execute(["x = 1\nprint('hello')", "assert x == 2, 'nope'", "import time\nwhile True: time.sleep(0.05)",
                   "import os\nprint(os.environ['COURSEKIT_LANG'], os.getcwd())", "os._exit(3)", "print('never')"],
                  cwd=tmp_path, timeout=3, lang="zh")
    assert [c.status for c in run.cells] == ["ok", "error", "timed_out", "ok", "kernel_died", "not_run"]
    assert run.cells[0].last_line == "hello" and run.cells[1].error == "AssertionError: nope"
    assert run.cells[3].last_line == f"zh {tmp_path}"  # the notebook's language and folder
    assert run.cells[4].exit_code == 3 and not run.stopped
    guard = execute(["import time\ntime.sleep(60)", "print(1)"], timeout=60, notebook_timeout=4)
    assert guard.stopped and [c.status for c in guard.cells] == ["timed_out", "not_run"] and guard.seconds < 20
