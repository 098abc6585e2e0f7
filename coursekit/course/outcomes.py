"""What a notebook's run means for its checks: a pure function of the runner's results.

:func:`interpret` turns an :class:`~coursekit.course.runner.Execution` (what happened to each code
cell) into a :class:`~coursekit.course.checklist.NotebookResult` (each check's outcome and the
message a learner reads, in their language). It starts nothing and reads nothing, so the tests cover
every case (timeouts, dead kernels, stopped notebooks) without a kernel.

Check outcomes: ``passed``, ``failed``, ``timed_out``, ``kernel_died``, ``not_run`` (and, added later
by :func:`coursekit.course.notebooks.apply_course_checks`, ``missing`` and ``modified``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from coursekit.course.checklist import CellError, CheckResult, NotebookResult
from coursekit.course.messages import msg
from coursekit.course.runner import CellRun, Execution

__all__ = ["interpret", "error_text", "first_code_line"]


def first_code_line(source: str) -> str:
    """The first line of code (not a comment), cut to 50 characters."""
    for line in source.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            line = line.strip()
            return line if len(line) <= 50 else line[:47] + "..."
    return ""


def error_text(run: CellRun) -> str:
    """One line: 'EName: first line of the message' (the failing line when the message is empty)."""
    ename, evalue = run.ename, (run.evalue or "").strip()
    # IPython names a cell's code after a temporary file: "(3253119044.py, line 2)"
    evalue = re.sub(r"\((?:\d+|<[^>]+>)\.py, line (\d+)\)", r"(line \1 of the cell)", evalue)
    evalue = re.sub(r"\(<ipython-input-[^>]*>, line (\d+)\)", r"(line \1 of the cell)", evalue)
    first = evalue.splitlines()[0] if evalue else ""
    text = f"{ename}: {first}" if ename and first else (ename or first or "the cell raised an error")
    if not first and run.line:
        text += f" at `{run.line}`"
    return text if len(text) <= 300 else text[:297] + "..."


def interpret(run: Execution, sources: Sequence[str], checks: Sequence[tuple[int, str]], *, lang: str,
              timeout: float, notebook_timeout: float) -> NotebookResult:
    """The notebook's result: ``sources`` are its code cells, ``checks`` (code-cell index, check_id).

    ``timeout``/``notebook_timeout`` are the limits the run had (they appear in messages). The
    result's ``path`` and ``sha256`` are left for the caller; its message is set only when the run
    as a whole went wrong.
    """
    result = NotebookResult("", "checked", seconds=run.seconds)
    cells = list(run.cells) + [CellRun(i, "not_run") for i in range(len(run.cells), len(sources))]
    fatal = next((c for c in cells if c.status == "kernel_died" or (c.status == "timed_out" and c.stopped)),
                 None)
    guard = None  # the cell that was running when the whole-notebook limit stopped the run
    if run.stopped:
        guard = next((c for c in reversed(cells) if c.status != "not_run"), None)
        guard = guard if guard is not None and guard.status == "timed_out" else None

    def not_run() -> str:
        if run.kernel_error is not None:
            return msg(lang, "kernel_start", error=run.kernel_error)
        if run.stopped:
            return msg(lang, "not_run_guard", seconds=notebook_timeout)
        if fatal is not None:
            key = "not_run_died" if fatal.status == "kernel_died" else "not_run_stopped"
            return msg(lang, key, cell=fatal.index + 1)
        return msg(lang, "not_run")

    def describe(c: CellRun) -> tuple[str, str]:
        """(outcome, message) of one code cell."""
        if c.status == "ok":
            return "passed", c.last_line[:300]
        if c.status == "error":
            return "failed", error_text(c)
        if c.status == "timed_out":
            if c is guard:
                return "timed_out", msg(lang, "guard_running", seconds=notebook_timeout)
            return "timed_out", msg(lang, "timed_out_stopped" if c.stopped else "timed_out", seconds=timeout)
        if c.status == "kernel_died":
            code = msg(lang, "exit_code", code=c.exit_code) if c.exit_code is not None else ""
            return "kernel_died", msg(lang, "kernel_died", code=code)
        return "not_run", not_run()

    check_ids = dict(checks)
    for c, source in zip(cells, sources):
        if c.index in check_ids:
            continue
        outcome, message = describe(c)
        if outcome in ("failed", "timed_out", "kernel_died"):
            result.errors.append(CellError(c.index + 1, f"{message} (`{first_code_line(source)}`)"))
    for i, check_id in checks:
        c = cells[i]
        outcome, message = describe(c)
        if outcome == "failed":
            earlier = [e for e in result.errors if e.cell <= i]
            if earlier:
                message += msg(lang, "earlier_error", cell=earlier[0].cell, error=earlier[0].message)
        result.checks.append(CheckResult(check_id, outcome == "passed", outcome, message, c.seconds, i))

    # what happened to the notebook as a whole
    if run.kernel_error is not None:
        result.status, result.message = "incomplete", msg(lang, "kernel_start", error=run.kernel_error)
    elif run.stopped:
        result.status, result.message = "incomplete", msg(lang, "guard_nb", seconds=notebook_timeout)
    elif fatal is not None:
        if fatal.status == "kernel_died":
            code = msg(lang, "exit_code", code=fatal.exit_code) if fatal.exit_code is not None else ""
            result.message = msg(lang, "kernel_died_nb", cell=fatal.index + 1, code=code)
        else:
            result.message = msg(lang, "kernel_stopped_nb", cell=fatal.index + 1)
        result.status = "incomplete" if any(c.outcome == "not_run" for c in result.checks) else "checked"
    elif any(c.outcome == "not_run" for c in result.checks):
        result.status, result.message = "incomplete", msg(lang, "runner_failed", error="?")
    return result
