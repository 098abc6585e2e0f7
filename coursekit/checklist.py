"""The completion checklist: check a learner's exercise notebooks, and collect learners' reports.

``python -m coursekit check`` and ``python -m coursekit report`` are thin wrappers around the
functions here::

    items = load_checklist()
    results = [run_notebook("exercises/en/00_measure_first.py", timeout=120, lang="en")]
    statuses = evaluate(results, items)
    print(render_text(results, statuses, items, lang="en"))
    report = build_report(results, statuses, learner="ana", lang="en")

A notebook is executed by nbval in a real kernel, in a separate ``pytest`` process, on a temporary
``.ipynb`` copy: the learner's file is only read, never written. Each code cell is one nbval test; a
small pytest plugin (:data:`PLUGIN_SOURCE`, written next to the copy) records every cell's outcome
as it happens, so a kernel that dies or a notebook that has to be stopped still leaves the results
of the cells that ran. Check cells are mapped back to their ``check_id`` by their position among the
code cells (nbval numbers code cells only, from 0).

Item statuses: ``evidenced`` (every check of the item in the checked notebooks passed), ``not_yet``
(one of them failed, timed out or did not run), ``not_checked`` (its checks are in notebooks that
were not checked) and ``not_covered`` (no check in the course evidences it yet).
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from coursekit._validate import check_choice, check_float, check_type

__all__ = [
    "FORMAT", "STATUSES", "Item", "CheckResult", "CellError", "NotebookResult", "Evidence",
    "ItemStatus", "CourseIndex", "ReportError", "ClassTable", "load_checklist", "course_index",
    "read_notebook", "run_notebook", "evaluate", "exit_code", "build_report", "render_text",
    "load_report", "combine_reports", "display_path", "class_table_text", "class_table_csv", "class_table_markdown",
]

FORMAT = 1
LANGS = ("en", "zh")
STATUSES = ("evidenced", "not_yet", "not_checked", "not_covered")
NOTEBOOK_STATUSES = ("checked", "incomplete", "not_found", "unreadable", "no_checks")
CHECKLIST_PATH = Path(__file__).with_name("checklist.json")
DEFAULT_TIMEOUT = 120.0

# ----------------------------------------------------------------------------------------------
# words and messages, in both languages

STATUS_WORDS = {
    "en": {"evidenced": "evidenced", "not_yet": "not yet", "not_checked": "not checked",
           "not_covered": "not covered by the course yet"},
    "zh": {"evidenced": "已达成", "not_yet": "尚未达成", "not_checked": "未检查",
           "not_covered": "课程尚未覆盖"},
}
STATUS_MARKS = {"evidenced": "✓", "not_yet": "✗", "not_checked": "?", "not_covered": "–"}
TABLE_MARKS = {"evidenced": "✓", "not_yet": "✗", "not_checked": "–", "not_covered": "–"}

MESSAGES = {
    "en": {
        "title": "Lighter & Faster — completion checklist (course {version})",
        "learner": "learner: {learner}",
        "not_found": "not found: {path}",
        "unreadable": "could not read it: {error}",
        "not_a_notebook": "not a notebook: expected a jupytext .py or an .ipynb file",
        "no_checks": "no check cells (code cells tagged \"check\" with a check_id): this is not an exercise "
                     "notebook. The exercise notebooks are in {where}.",
        "checks_summary": "{n} checks: {passed} passed, {failed} not yet",
        "timed_out": "timed out after {seconds:g} s (--timeout)",
        "timed_out_stopped": "timed out after {seconds:g} s and did not stop when interrupted, so the kernel "
                             "was shut down",
        "kernel_died": "the kernel died while running this cell{code}",
        "kernel_died_nb": "the kernel died in code cell {cell}{code}; the cells after it did not run",
        "kernel_stopped_nb": "code cell {cell} timed out and the kernel was shut down; the cells after it "
                             "did not run",
        "not_run_died": "not run: the kernel died in code cell {cell}",
        "not_run_stopped": "not run: the kernel was shut down after code cell {cell} timed out",
        "not_run_guard": "not run: the notebook was stopped after {seconds:g} s (--notebook-timeout)",
        "guard_running": "still running when the notebook was stopped after {seconds:g} s (--notebook-timeout)",
        "guard_nb": "stopped after {seconds:g} s (the whole-notebook limit, --notebook-timeout); the checks "
                    "that had not run yet count as not yet",
        "not_run": "not run",
        "kernel_start": "the kernel could not start: {error}",
        "runner_failed": "could not run the notebook: {error}",
        "exit_code": " (exit code {code})",
        "missing_check": "this check cell is missing from the notebook (the course's {where} has it); "
                         "restore it to get credit",
        "modified_check": "this check cell differs from the course's ({where}); restore the original to "
                          "get credit",
        "earlier_error": "; an earlier cell failed first: code cell {cell}: {error}",
        "cell_errors": "cells outside the checks that failed:",
        "other_checks": "checks that evidence no checklist item:",
        "cell": "code cell {cell}",
        "evidenced_by": "evidenced: {checks}",
        "not_checked_run": "not checked: run `coursekit check {notebooks}`",
        "not_checked_none": "not checked: its checks ({checks}) are in none of the given notebooks",
        "partly": "(its checks in {notebooks} were not checked)",
        "summary": "Evidenced {evidenced} of the {covered} items these notebooks cover; {not_yet} not yet.",
        "summary_none": "The given notebooks evidence none of the checklist items.",
        "summary_uncovered": "{not_covered} items are not covered by the course yet; {not_checked} are "
                             "checked by other notebooks.",
        "next_fail": "Fix what a ✗ line says, run the check cell in JupyterLab, then run this command again.",
        "next_ok": "Every item these notebooks cover is evidenced. Well done!",
        "json_written": "report written to {path}",
        "checking": "checking {path} ...",
    },
    "zh": {
        "title": "更轻·更快 —— 结业清单（课程版本 {version}）",
        "learner": "学员：{learner}",
        "not_found": "找不到文件：{path}",
        "unreadable": "无法读取：{error}",
        "not_a_notebook": "不是笔记本：需要 jupytext 的 .py 文件或 .ipynb 文件",
        "no_checks": "没有检查单元格（带 \"check\" 标签和 check_id 的代码单元格）：这不是练习笔记本。"
                     "练习笔记本在 {where}。",
        "checks_summary": "共 {n} 项检查：{passed} 项通过，{failed} 项尚未通过",
        "timed_out": "超时：{seconds:g} 秒后仍未结束（--timeout）",
        "timed_out_stopped": "超时：{seconds:g} 秒后仍未结束，且无法中断，内核已被关闭",
        "kernel_died": "运行这个单元格时内核崩溃了{code}",
        "kernel_died_nb": "内核在第 {cell} 个代码单元格崩溃{code}；之后的单元格都没有运行",
        "kernel_stopped_nb": "第 {cell} 个代码单元格超时，内核已被关闭；之后的单元格都没有运行",
        "not_run_died": "未运行：内核在第 {cell} 个代码单元格崩溃",
        "not_run_stopped": "未运行：第 {cell} 个代码单元格超时后内核被关闭",
        "not_run_guard": "未运行：整个笔记本在 {seconds:g} 秒后被停止（--notebook-timeout）",
        "guard_running": "整个笔记本在 {seconds:g} 秒后被停止时，这个单元格仍在运行（--notebook-timeout）",
        "guard_nb": "{seconds:g} 秒后被停止（整个笔记本的时限，--notebook-timeout）；尚未运行的检查记为尚未达成",
        "not_run": "未运行",
        "kernel_start": "内核无法启动：{error}",
        "runner_failed": "无法运行这个笔记本：{error}",
        "exit_code": "（退出码 {code}）",
        "missing_check": "笔记本里缺少这个检查单元格（课程的 {where} 里有）；恢复它才能得到认可",
        "modified_check": "这个检查单元格和课程里的不一样（{where}）；恢复原样才能得到认可",
        "earlier_error": "；在此之前已有单元格出错：第 {cell} 个代码单元格：{error}",
        "cell_errors": "检查之外出错的单元格：",
        "other_checks": "不对应清单条目的检查：",
        "cell": "第 {cell} 个代码单元格",
        "evidenced_by": "已达成：{checks}",
        "not_checked_run": "未检查：请运行 `coursekit check {notebooks}`",
        "not_checked_none": "未检查：它的检查（{checks}）不在所给的笔记本里",
        "partly": "（{notebooks} 中的检查尚未运行）",
        "summary": "这些笔记本覆盖的 {covered} 项中，已达成 {evidenced} 项，尚未达成 {not_yet} 项。",
        "summary_none": "所给的笔记本不涉及清单中的任何一项。",
        "summary_uncovered": "另有 {not_covered} 项课程尚未覆盖，{not_checked} 项由其他笔记本检查。",
        "next_fail": "按 ✗ 行的提示修改，在 JupyterLab 里运行对应的检查单元格，然后再运行一次这个命令。",
        "next_ok": "这些笔记本覆盖的每一项都已达成。做得好！",
        "json_written": "报告已写入 {path}",
        "checking": "正在检查 {path} ……",
    },
}


def _msg(lang: str, key: str, **kwargs) -> str:
    return MESSAGES[lang][key].format(**kwargs)


# ----------------------------------------------------------------------------------------------
# the checklist


@dataclass(frozen=True)
class Item:
    """One item of the completion checklist."""

    id: str
    en: str
    zh: str
    evidence: tuple[str, ...] = ()

    def text(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en


def load_checklist(path: str | os.PathLike | None = None) -> list[Item]:
    """The checklist items, in order, from ``coursekit/checklist.json`` (or ``path``)."""
    path = Path(path) if path is not None else CHECKLIST_PATH
    data = json.loads(path.read_text(encoding="utf-8"))
    items = []
    for raw in data["items"]:
        items.append(Item(raw["id"], raw["en"], raw["zh"], tuple(raw.get("evidence", ()))))
    return items


# ----------------------------------------------------------------------------------------------
# results


@dataclass
class CheckResult:
    """The outcome of one check cell.

    ``outcome`` is one of ``passed``, ``failed``, ``timed_out``, ``kernel_died``, ``not_run``,
    ``missing`` (the cell is not in the notebook) or ``modified`` (it differs from the course's).
    """

    check_id: str
    passed: bool
    outcome: str
    message: str = ""
    seconds: float | None = None
    cell: int | None = None  # 0-based index among the notebook's code cells

    def to_json(self) -> dict:
        out = {"check_id": self.check_id, "passed": self.passed, "outcome": self.outcome,
               "message": self.message}
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 3)
        return out


@dataclass
class CellError:
    """A cell outside the checks that raised (its 1-based number among the code cells)."""

    cell: int
    message: str


@dataclass
class NotebookResult:
    """What checking one notebook found. ``status`` is one of :data:`NOTEBOOK_STATUSES`."""

    path: str
    status: str
    message: str = ""
    sha256: str | None = None
    checks: list[CheckResult] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    seconds: float | None = None

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)

    def to_json(self) -> dict:
        out = {"path": self.path, "sha256": self.sha256, "status": self.status, "message": self.message,
               "checks": [c.to_json() for c in self.checks]}
        if self.errors:
            out["errors"] = [{"cell": e.cell, "message": e.message} for e in self.errors]
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 1)
        return out


@dataclass
class Evidence:
    check_id: str
    notebook: str
    passed: bool
    message: str


@dataclass
class ItemStatus:
    """An item's status for one learner, with the checks behind it."""

    id: str
    status: str
    evidence: list[Evidence] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict:
        out = {"id": self.id, "status": self.status,
               "evidence": [{"check_id": e.check_id, "notebook": e.notebook, "passed": e.passed,
                             "message": e.message} for e in self.evidence]}
        if self.note:
            out["note"] = self.note
        return out


# ----------------------------------------------------------------------------------------------
# reading notebooks


class NotebookReadError(ValueError):
    """A file that can't be read as a notebook."""


def read_notebook(path: str | os.PathLike):
    """The notebook in ``path`` (a jupytext percent ``.py`` or an ``.ipynb``), as an nbformat node."""
    import jupytext
    import nbformat

    path = Path(path)
    if path.suffix not in (".py", ".ipynb"):
        raise NotebookReadError("not_a_notebook")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookReadError(f"it is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        if path.suffix == ".py":
            return jupytext.reads(text, fmt="py:percent")
        return nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat and jupytext raise many kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise NotebookReadError(f"{type(exc).__name__}: {first}"[:300]) from None


def _code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def _check_cells(nb) -> list[tuple[int, str, str]]:
    """(code-cell index, check_id, source) of every check cell, in order."""
    out = []
    for i, cell in enumerate(_code_cells(nb)):
        check_id = cell.metadata.get("check_id")
        if isinstance(check_id, str) and check_id:
            out.append((i, check_id, cell.source))
    return out


def _code_tokens(source: str) -> tuple | None:
    """The source's tokens without comments and blank lines (None when it doesn't tokenize)."""
    from coursekit.exercises import BEGIN_HIDDEN, END_HIDDEN, find_regions

    lines = source.splitlines(keepends=True)
    try:
        for r in reversed(find_regions(lines, BEGIN_HIDDEN, END_HIDDEN)):
            del lines[r.start:r.end + 1]
    except ValueError:
        pass
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    try:
        toks = tokenize.generate_tokens(io.StringIO("".join(lines) + "\n").readline)
        return tuple((t.type, t.string) for t in toks if t.type not in skip)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None


@dataclass
class CourseIndex:
    """Where the course's check cells live: which notebook holds each ``check_id``, and its code."""

    root: Path
    lang: str = "en"
    notebook_of: dict[str, str] = field(default_factory=dict)  # check_id -> exercises/<lang>/NAME
    checks_of: dict[str, list[str]] = field(default_factory=dict)  # exercises/<lang>/NAME -> ids
    tokens: dict[str, set] = field(default_factory=dict)  # check_id -> accepted token streams


def course_index(root: str | os.PathLike | None = None, lang: str = "en") -> CourseIndex:
    """Index the check cells of the course's exercise and solution notebooks (both languages)."""
    if root is None:
        root = Path(__file__).resolve().parent.parent
    root = Path(root)
    index = CourseIndex(root, lang)
    for kind in ("exercises", "solutions"):
        for lg in (lang,) + tuple(x for x in LANGS if x != lang):
            for path in sorted((root / kind / lg).glob("*.py")):
                try:
                    nb = read_notebook(path)
                except (NotebookReadError, OSError):
                    continue
                where = f"exercises/{lang}/{path.name}"
                for _, check_id, source in _check_cells(nb):
                    index.notebook_of.setdefault(check_id, where)
                    ids = index.checks_of.setdefault(index.notebook_of[check_id], [])
                    if check_id not in ids:
                        ids.append(check_id)
                    toks = _code_tokens(source)
                    if toks is not None:
                        index.tokens.setdefault(check_id, set()).add(toks)
    return index


# ----------------------------------------------------------------------------------------------
# running one notebook under nbval

PLUGIN_NAME = "_coursekit_nbcheck"
PLUGIN_SOURCE = r'''
"""Records each nbval cell's outcome as one JSON line, as it happens (written by coursekit.checklist)."""
import json
import os
import re
import time
from collections import defaultdict
from queue import Empty

import nbval.kernel
import nbval.plugin
import pytest

_OUT = os.environ.pop("COURSEKIT_CHECK_RESULTS")
_CWD = os.environ.pop("COURSEKIT_CHECK_CWD", None)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ARROW = re.compile(r"^\s*-*>\s*(\d+)\s(.*)$")


def _emit(**record):
    with open(_OUT, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


class KernelDied(RuntimeError):
    pass


def _exit_code(kernel):
    try:
        return kernel.km.provisioner.process.poll()
    except Exception:
        return None


_init = nbval.kernel.RunningKernel.__init__


def _patched_init(self, kernel_name, cwd=None, startup_timeout=60):
    # the kernel runs in the learner's folder, as it does in JupyterLab
    _init(self, kernel_name, cwd=_CWD or cwd, startup_timeout=startup_timeout)
    try:
        pid = self.km.provisioner.process.pid
    except Exception:
        pid = None
    _emit(event="kernel", pid=pid)


_await_reply = nbval.kernel.RunningKernel.await_reply


def _patched_await_reply(self, msg_id, timeout=None):
    # nbval waits the whole cell timeout for a kernel that has died; look every half second
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    while True:
        step = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
        try:
            return _await_reply(self, msg_id, timeout=step)
        except Empty:
            if not self.is_alive():
                code = _exit_code(self)
                try:
                    self.kc.stop_channels()
                except Exception:
                    pass
                raise KernelDied(code)
            if deadline is not None and time.monotonic() >= deadline:
                raise


nbval.kernel.RunningKernel.__init__ = _patched_init
nbval.kernel.RunningKernel.await_reply = _patched_await_reply


def pytest_collection_modifyitems(session, config, items):
    # markers in the learner's notebook (NBVAL_SKIP, raises-exception, ...) must not excuse a check
    for item in items:
        if isinstance(item, nbval.plugin.IPyNbCell):
            item.options = defaultdict(bool, check=False)


def pytest_collectreport(report):
    if report.failed:
        text = _ANSI.sub("", str(report.longrepr)).strip().splitlines()
        _emit(event="collect_error", message=text[-1] if text else "collection failed")


def _describe(item, exc):
    if isinstance(exc, KernelDied):
        return {"kind": "kernel_died", "exit_code": exc.args[0] if exc.args else None}
    if isinstance(exc, nbval.plugin.NbCellError):
        text = str(exc)
        if text.startswith("Timeout of"):
            return {"kind": "timeout", "stopped": "Failed to interrupt" in text or "waiting for output" in text}
        for out in item.test_outputs or []:
            if out.get("output_type") == "error":
                line = ""
                for tb in out.get("traceback", []):
                    for ln in _ANSI.sub("", tb).splitlines():
                        m = _ARROW.match(ln)
                        if m:
                            line = m.group(2).strip()
                return {"kind": "error", "ename": out.get("ename", ""), "evalue": out.get("evalue", ""),
                        "line": line}
        return {"kind": "error", "ename": "", "evalue": text, "line": ""}
    if isinstance(exc, RuntimeError) and "Kernel dead" in str(exc):
        return {"kind": "kernel_dead"}
    if isinstance(exc, pytest.skip.Exception):
        return {"kind": "skipped"}
    return {"kind": "internal", "ename": type(exc).__name__, "evalue": str(exc), "line": ""}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    yield
    if not isinstance(item, nbval.plugin.IPyNbCell) or call.when == "teardown":
        return
    if call.when == "setup":
        if call.excinfo is None:
            return
        exc = call.excinfo.value
        _emit(event="cell", cell=item.cell_num, when="setup", kind="setup_error",
              ename=type(exc).__name__, evalue=_ANSI.sub("", str(exc)))
        return
    record = {"event": "cell", "cell": item.cell_num, "when": "call", "seconds": call.duration}
    if call.excinfo is None:
        record["kind"] = "passed"
        lines = [ln for out in item.test_outputs or [] if out.get("output_type") == "stream"
                 and out.get("name") == "stdout" for ln in out.get("text", "").splitlines() if ln.strip()]
        record["stdout"] = lines[-1].strip()[:300] if lines else ""
    else:
        record.update(_describe(item, call.excinfo.value))
    _emit(**record)
'''


def display_path(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it (as a learner typed it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _first_code_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            line = line.strip()
            return line if len(line) <= 50 else line[:47] + "..."
    return ""


def _error_text(rec: dict) -> str:
    """One line: 'EName: first line of the message' (the failing line when the message is empty)."""
    ename, evalue = rec.get("ename", ""), (rec.get("evalue") or "").strip()
    # IPython names a cell's code after a temporary file: "(3253119044.py, line 2)"
    evalue = re.sub(r"\((?:\d+|<[^>]+>)\.py, line (\d+)\)", r"(line \1 of the cell)", evalue)
    evalue = re.sub(r"\(<ipython-input-[^>]*>, line (\d+)\)", r"(line \1 of the cell)", evalue)
    first = evalue.splitlines()[0] if evalue else ""
    text = f"{ename}: {first}" if ename and first else (ename or first or "the cell raised an error")
    if not first and rec.get("line"):
        text += f" at `{rec['line']}`"
    return text if len(text) <= 300 else text[:297] + "..."


def _kill(pid: int | None, group: bool = False) -> None:
    if not pid:
        return
    try:
        if group and hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
    except (OSError, ProcessLookupError):
        pass


def _execute(nb, cwd: Path, timeout: float, notebook_timeout: float) -> tuple[list[dict], str, bool]:
    """Run ``nb`` under nbval in a pytest subprocess: (records, pytest's output tail, stopped by the guard)."""
    import nbformat

    with tempfile.TemporaryDirectory(prefix="coursekit-check-") as tmp:
        tmp = Path(tmp)
        copy = nbformat.from_dict(json.loads(nbformat.writes(nb)))
        for cell in copy.cells:  # a clean, unexecuted copy
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbdir = tmp / "nb"
        nbdir.mkdir()
        target = nbdir / "notebook.ipynb"
        nbformat.write(copy, str(target))
        (tmp / f"{PLUGIN_NAME}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
        ini = tmp / "pytest.ini"
        ini.write_text("[pytest]\npythonpath = .\n", encoding="utf-8")
        results = tmp / "results.jsonl"
        results.touch()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", COURSEKIT_CHECK_RESULTS=str(results),
                   COURSEKIT_CHECK_CWD=str(cwd), PYTHONDONTWRITEBYTECODE="1")
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        cmd = [sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(tmp), "--noconftest",
               "-p", "no:cacheprovider", "-p", "nbval.plugin", "-p", PLUGIN_NAME, "--nbval-lax",
               "--nbval-current-env", f"--nbval-cell-timeout={timeout:g}", "-q", "-rN",
               "--color=no", "-W", "ignore", str(target)]
        stopped = False
        proc = subprocess.Popen(cmd, cwd=str(tmp), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=(os.name == "posix"))
        try:
            output, _ = proc.communicate(timeout=notebook_timeout)
        except subprocess.TimeoutExpired:
            stopped = True
            _kill(proc.pid, group=os.name == "posix")
            proc.kill()
            output, _ = proc.communicate()
        except BaseException:  # Ctrl-C: leave no kernel behind
            _kill(proc.pid, group=os.name == "posix")
            proc.kill()
            _kill_kernels(results)
            raise
        records = []
        for line in results.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                pass  # a line cut short by the guard
        if stopped:
            _kill_kernels(results, records)
        tail = output.decode("utf-8", "replace").strip().splitlines()
        return records, "\n".join(tail[-20:]), stopped


def _kill_kernels(results: Path, records: list[dict] | None = None) -> None:
    if records is None:
        try:
            records = [json.loads(ln) for ln in results.read_text(encoding="utf-8").splitlines()]
        except (OSError, ValueError):
            records = []
    for rec in records:
        if rec.get("event") == "kernel":
            _kill(rec.get("pid"))


def run_notebook(path: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT,
                 notebook_timeout: float | None = None, lang: str = "en",
                 index: CourseIndex | None = None) -> NotebookResult:
    """Execute one exercise notebook in a real kernel and report each check cell.

    ``timeout`` limits each cell (seconds); ``notebook_timeout`` the whole run (default
    ``max(600, 4 * timeout)``). ``index`` (from :func:`course_index`) lets missing or modified check
    cells be spotted. The file at ``path`` is only read.
    """
    func = "run_notebook"
    timeout = check_float("timeout", timeout, func, low=0, closed="neither")
    if notebook_timeout is None:
        notebook_timeout = max(600.0, 4 * timeout)
    notebook_timeout = check_float("notebook_timeout", notebook_timeout, func, low=0, closed="neither")
    check_choice("lang", lang, func, LANGS)
    path = Path(path)
    shown = display_path(path)
    where = f"exercises/{lang}/"
    if not path.exists():
        return NotebookResult(shown, "not_found", _msg(lang, "not_found", path=shown))
    try:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        nb = read_notebook(path)
    except IsADirectoryError:
        return NotebookResult(shown, "unreadable", _msg(lang, "unreadable", error="it is a folder"))
    except OSError as exc:
        return NotebookResult(shown, "unreadable", _msg(lang, "unreadable", error=exc.strerror or str(exc)))
    except NotebookReadError as exc:
        error = _msg(lang, "not_a_notebook") if str(exc) == "not_a_notebook" else str(exc)
        return NotebookResult(shown, "unreadable", _msg(lang, "unreadable", error=error))
    result = NotebookResult(shown, "checked", sha256=digest)
    checks = _check_cells(nb)
    if not checks:
        result.status, result.message = "no_checks", _msg(lang, "no_checks", where=where)
        return result

    start = time.monotonic()
    records, tail, stopped = _execute(nb, path.resolve().parent, timeout, notebook_timeout)
    result.seconds = time.monotonic() - start
    cells: dict[int, dict] = {}
    kernel_started = False
    for rec in records:
        if rec.get("event") == "cell":
            cells[rec["cell"]] = rec
        elif rec.get("event") == "kernel":
            kernel_started = True

    sources = [c.source for c in _code_cells(nb)]
    check_cells = {i for i, _, _ in checks}
    fatal = None  # (kind, cell index, record) of what stopped the kernel
    for i in sorted(cells):
        rec = cells[i]
        if rec.get("kind") == "kernel_died" or (rec.get("kind") == "timeout" and rec.get("stopped")):
            fatal = (rec["kind"], i, rec)
            break

    # the cell that was running when the guard stopped the notebook
    running = (max(cells) + 1 if cells else 0) if kernel_started else None

    def describe(i: int, rec: dict | None) -> tuple[str, str]:
        """(outcome, message) of code cell i."""
        if rec is None:
            if stopped and i == running:
                return "timed_out", _msg(lang, "guard_running", seconds=notebook_timeout)
            if stopped:
                return "not_run", _msg(lang, "not_run_guard", seconds=notebook_timeout)
            if fatal is not None and i > fatal[1]:
                key = "not_run_died" if fatal[0] == "kernel_died" else "not_run_stopped"
                return "not_run", _msg(lang, key, cell=fatal[1] + 1)
            return "not_run", _msg(lang, "not_run")
        kind = rec.get("kind")
        if kind == "passed":
            return "passed", rec.get("stdout", "")
        if kind == "timeout":
            return "timed_out", _msg(lang, "timed_out_stopped" if rec.get("stopped") else "timed_out",
                                     seconds=timeout)
        if kind == "kernel_died":
            code = rec.get("exit_code")
            return "kernel_died", _msg(lang, "kernel_died",
                                       code=_msg(lang, "exit_code", code=code) if code is not None else "")
        if kind == "kernel_dead":
            if fatal is not None:
                key = "not_run_died" if fatal[0] == "kernel_died" else "not_run_stopped"
                return "not_run", _msg(lang, key, cell=fatal[1] + 1)
            return "not_run", _msg(lang, "not_run")
        if kind == "setup_error":
            return "not_run", _msg(lang, "kernel_start", error=_error_text(rec))
        if kind == "skipped":
            return "not_run", _msg(lang, "not_run")
        return "failed", _error_text(rec)

    for i, source in enumerate(sources):
        if i in check_cells:
            continue
        outcome, message = describe(i, cells.get(i))
        if outcome in ("failed", "timed_out", "kernel_died"):
            result.errors.append(CellError(i + 1, f"{message} (`{_first_code_line(source)}`)"))

    for i, check_id, _source in checks:
        rec = cells.get(i)
        outcome, message = describe(i, rec)
        if outcome == "failed":
            earlier = [e for e in result.errors if e.cell <= i]
            if earlier:
                message += _msg(lang, "earlier_error", cell=earlier[0].cell, error=earlier[0].message)
        seconds = rec.get("seconds") if rec else None
        result.checks.append(CheckResult(check_id, outcome == "passed", outcome, message, seconds, i))

    # what happened to the notebook as a whole
    if stopped:
        result.status, result.message = "incomplete", _msg(lang, "guard_nb", seconds=notebook_timeout)
    elif fatal is not None:
        code = fatal[2].get("exit_code")
        if fatal[0] == "kernel_died":
            result.message = _msg(lang, "kernel_died_nb", cell=fatal[1] + 1,
                                  code=_msg(lang, "exit_code", code=code) if code is not None else "")
        else:
            result.message = _msg(lang, "kernel_stopped_nb", cell=fatal[1] + 1)
        result.status = "incomplete" if any(c.outcome == "not_run" for c in result.checks) else "checked"
    elif not kernel_started or any(r.get("kind") == "setup_error" for r in cells.values()):
        setup = next((r for r in cells.values() if r.get("kind") == "setup_error"), None)
        error = _error_text(setup) if setup else (tail.splitlines()[-1] if tail else "pytest gave no output")
        collect = next((r for r in records if r.get("event") == "collect_error"), None)
        if collect and not setup:
            error = collect["message"]
        result.status = "incomplete"
        result.message = _msg(lang, "kernel_start" if setup else "runner_failed", error=error)
    elif any(c.outcome == "not_run" for c in result.checks if c.check_id):
        result.status = "incomplete"
        result.message = _msg(lang, "runner_failed", error=tail.splitlines()[-1] if tail else "?")
    if index is not None:
        _apply_course_checks(result, checks, index, lang)
    if not result.message:
        n = len(result.checks)
        result.message = _msg(lang, "checks_summary", n=n, passed=result.passed, failed=n - result.passed)
    return result


def _apply_course_checks(result: NotebookResult, checks, index: CourseIndex, lang: str) -> None:
    """Fail check cells that differ from the course's, and add the course's missing check cells."""
    by_id = {c.check_id: c for c in result.checks}
    for (_, check_id, source), c in zip(checks, result.checks):  # result.checks starts with these cells
        accepted = index.tokens.get(check_id)
        if accepted and _code_tokens(source) not in accepted:
            c.passed, c.outcome = False, "modified"
            c.message = _msg(lang, "modified_check", where=index.notebook_of[check_id])
    present = [cid for _, cid, _ in checks]
    course_notebooks = {index.notebook_of[cid] for cid in present if cid in index.notebook_of}
    for where in sorted(course_notebooks):
        for check_id in index.checks_of.get(where, []):
            if check_id not in by_id:
                result.checks.append(CheckResult(check_id, False, "missing",
                                                 _msg(lang, "missing_check", where=where)))


# ----------------------------------------------------------------------------------------------
# from check results to item statuses


def evaluate(notebooks: list[NotebookResult], items: list[Item],
             index: CourseIndex | None = None) -> list[ItemStatus]:
    """Each item's status given the checked notebooks (see the module docstring for the rules)."""
    found: dict[str, list[tuple[str, CheckResult]]] = {}
    for nb in notebooks:
        for c in nb.checks:
            found.setdefault(c.check_id, []).append((nb.path, c))
    statuses = []
    for item in items:
        if not item.evidence:
            statuses.append(ItemStatus(item.id, "not_covered"))
            continue
        evidence = [Evidence(cid, path, c.passed, c.message)
                    for cid in item.evidence for path, c in found.get(cid, [])]
        unchecked = [cid for cid in item.evidence if cid not in found]
        where = sorted({index.notebook_of[cid] for cid in unchecked if index and cid in index.notebook_of})
        if not evidence:
            statuses.append(ItemStatus(item.id, "not_checked", [], " ".join(where)))
            continue
        status = "evidenced" if all(e.passed for e in evidence) else "not_yet"
        statuses.append(ItemStatus(item.id, status, evidence, " ".join(where)))
    return statuses


def exit_code(notebooks: list[NotebookResult], statuses: list[ItemStatus]) -> int:
    """0 when every notebook ran, every check passed and every item they cover is evidenced; else 1."""
    ok = all(nb.status == "checked" for nb in notebooks) and all(c.passed for nb in notebooks for c in nb.checks)
    ok = ok and not any(s.status == "not_yet" for s in statuses)
    return 0 if ok and notebooks else 1


def default_learner() -> str:
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # no user name in this environment
        return "unknown"


def build_report(notebooks: list[NotebookResult], statuses: list[ItemStatus], *, learner: str | None = None,
                 lang: str = "en", date: str | None = None) -> dict:
    """The machine-readable report (``--json``), format :data:`FORMAT`."""
    from coursekit import __version__

    check_choice("lang", lang, "build_report", LANGS)
    if learner is not None:
        check_type("learner", learner, "build_report", str)
        if not learner.strip():
            raise ValueError("The 'learner' parameter of build_report must be a non-empty name. Got '' instead.")
    return {
        "format": FORMAT,
        "course_version": __version__,
        "learner": (learner or default_learner()).strip(),
        "date": date or datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "lang": lang,
        "notebooks": [nb.to_json() for nb in notebooks],
        "items": [s.to_json() for s in statuses],
    }


# ----------------------------------------------------------------------------------------------
# text output


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def render_text(notebooks: list[NotebookResult], statuses: list[ItemStatus], items: list[Item], *,
                lang: str = "en", learner: str | None = None) -> str:
    """The checklist as a learner reads it, in English or Chinese."""
    from coursekit import __version__

    check_choice("lang", lang, "render_text", LANGS)
    words = STATUS_WORDS[lang]
    colon = "：" if lang == "zh" else ": "
    sep = "，" if lang == "zh" else ", "
    lines = [_msg(lang, "title", version=__version__)]
    if learner:
        lines.append(_msg(lang, "learner", learner=learner))
    lines.append("")
    mapped = {cid for item in items for cid in item.evidence}
    several = len({nb.path for nb in notebooks if nb.checks}) > 1

    def label(e: Evidence) -> str:
        return f"{e.check_id} ({Path(e.notebook).name})" if several else e.check_id

    for nb in notebooks:
        mark = "✓" if nb.status == "checked" and nb.checks and all(c.passed for c in nb.checks) else "✗"
        lines.append(f"{mark} {nb.path}{colon}{nb.message}")
        other = [c for c in nb.checks if c.check_id not in mapped]
        if other:
            lines.append("    " + _msg(lang, "other_checks"))
            lines += [f"      ✓ {c.check_id}" if c.passed else f"      ✗ {c.check_id}{colon}{c.message}"
                      for c in other]
        if nb.errors:
            lines.append("    " + _msg(lang, "cell_errors"))
            lines += [f"      {_msg(lang, 'cell', cell=e.cell)}{colon}{e.message}" for e in nb.errors]
    lines.append("")
    by_id = {s.id: s for s in statuses}
    for item in items:
        s = by_id.get(item.id)
        if s is None:
            continue
        lines.append(f"{STATUS_MARKS[s.status]} {_pad(item.id, 3)} {item.text(lang)}")
        indent = " " * 6
        if s.status == "evidenced":
            checks = sep.join(f"{label(e)} ✓" for e in s.evidence)
            line = _msg(lang, "evidenced_by", checks=checks)
            if s.note:
                line += " " + _msg(lang, "partly", notebooks=", ".join(s.note.split()))
            lines.append(indent + line)
        elif s.status == "not_yet":
            lines.append(indent + words["not_yet"] + colon.rstrip())
            for e in s.evidence:
                if e.passed:
                    lines.append(f"{indent}  ✓ {label(e)}")
                else:
                    lines.append(f"{indent}  ✗ {label(e)}{colon}{e.message}")
            if s.note:
                lines.append(indent + _msg(lang, "partly", notebooks=", ".join(s.note.split())))
        elif s.status == "not_checked":
            if s.note:
                lines.append(indent + _msg(lang, "not_checked_run", notebooks=" ".join(s.note.split())))
            else:
                item_checks = sep.join(item.evidence)
                lines.append(indent + _msg(lang, "not_checked_none", checks=item_checks))
        else:
            lines.append(indent + words["not_covered"])
    counts = Counter(s.status for s in statuses)
    covered = counts["evidenced"] + counts["not_yet"]
    lines.append("")
    if covered:
        lines.append(_msg(lang, "summary", evidenced=counts["evidenced"], covered=covered,
                          not_yet=counts["not_yet"]))
    else:
        lines.append(_msg(lang, "summary_none"))
    lines.append(_msg(lang, "summary_uncovered", not_covered=counts["not_covered"],
                      not_checked=counts["not_checked"]))
    lines.append(_msg(lang, "next_ok" if exit_code(notebooks, statuses) == 0 else "next_fail"))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# collecting learners' reports into a class table


class ReportError(ValueError):
    """A report file that can't be used (the message names the file)."""


def _parse_date(value: str) -> datetime:
    d = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def load_report(path: str | os.PathLike) -> dict:
    """A learner's JSON report, validated; raises :class:`ReportError` naming the file and the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReportError(f"{path}: could not read it ({reason})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ReportError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path}: not a coursekit report (a JSON object was expected)")
    if data.get("format") != FORMAT:
        raise ReportError(f"{path}: unsupported report format {data.get('format')!r} (expected {FORMAT}); "
                          "was it written by `coursekit check --json`?")
    for key, kind in (("course_version", str), ("learner", str), ("date", str), ("items", list),
                      ("notebooks", list)):
        if not isinstance(data.get(key), kind):
            raise ReportError(f"{path}: the field '{key}' is missing or not a {kind.__name__}")
    if not data["learner"].strip():
        raise ReportError(f"{path}: the field 'learner' is empty")
    try:
        _parse_date(data["date"])
    except ValueError:
        raise ReportError(f"{path}: the field 'date' is not an ISO-8601 date: {data['date']!r}") from None
    for item in data["items"]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or item.get("status") not in STATUSES:
            raise ReportError(f"{path}: an entry of 'items' has no id or an unknown status: {item!r:.80}")
    return data


@dataclass
class ClassRow:
    learner: str
    date: str
    file: str
    statuses: dict[str, str]

    @property
    def evidenced(self) -> int:
        return sum(s == "evidenced" for s in self.statuses.values())


@dataclass
class ClassTable:
    """Learners × checklist items, from the valid reports; ``rejected`` lists (file, reason)."""

    item_ids: list[str]
    rows: list[ClassRow]
    course_version: str | None
    rejected: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many learners evidenced each item."""
        return {i: sum(r.statuses.get(i) == "evidenced" for r in self.rows) for i in self.item_ids}


def combine_reports(paths: list[str | os.PathLike], items: list[Item] | None = None, *,
                    course_version: str | None = None) -> ClassTable:
    """Combine learners' reports. Bad files are rejected (with the reason), never fatal.

    A report whose ``course_version`` differs from ``course_version`` (default: the version most
    reports have; on a tie, this coursekit's) is rejected. When a learner appears twice, the newest
    report (by its date) is kept and a note says so.
    """
    from coursekit import __version__

    items = load_checklist() if items is None else items
    loaded, rejected, notes = [], [], []
    for p in paths:
        try:
            loaded.append((str(p), load_report(p)))
        except ReportError as exc:
            rejected.append((str(p), str(exc)))
    if course_version is None and loaded:
        votes = Counter(data["course_version"] for _, data in loaded)
        top = max(votes.values())
        tied = sorted(v for v, n in votes.items() if n == top)
        course_version = __version__ if __version__ in tied else tied[-1]
    kept: dict[str, tuple[str, dict]] = {}
    for p, data in loaded:
        if data["course_version"] != course_version:
            rejected.append((p, f"{p}: written by course version {data['course_version']}, but this class "
                                f"table is for version {course_version}; ask the learner to update and "
                                "run `coursekit check --json` again"))
            continue
        name = data["learner"].strip()
        if name in kept:
            old_p, old = kept[name]
            newer = _parse_date(data["date"]) >= _parse_date(old["date"])
            keep_p, drop_p = (p, old_p) if newer else (old_p, p)
            keep = data if newer else old
            notes.append(f"learner '{name}' has two reports: kept {keep_p} ({keep['date']}), "
                         f"dropped the older {drop_p}")
            kept[name] = (keep_p, keep)
        else:
            kept[name] = (p, data)
    item_ids = [i.id for i in items]
    for _, data in kept.values():
        for it in data["items"]:
            if it["id"] not in item_ids:
                item_ids.append(it["id"])
    rows = []
    for name in sorted(kept, key=str.casefold):
        p, data = kept[name]
        statuses = {it["id"]: it["status"] for it in data["items"]}
        rows.append(ClassRow(name, data["date"], p, statuses))
    return ClassTable(item_ids, rows, course_version, rejected, notes)


LEGEND = {
    "en": "✓ evidenced · ✗ not yet · – not checked, or not covered by the course yet",
    "zh": "✓ 已达成 · ✗ 尚未达成 · – 未检查，或课程尚未覆盖",
}
HEAD = {
    "en": {"learner": "learner", "total": "evidenced", "counts": "evidenced by",
           "title": "Class checklist (course {version}, {n} learners)", "rejected": "Not included:",
           "notes": "Notes:"},
    "zh": {"learner": "学员", "total": "已达成", "counts": "达成人数",
           "title": "全班结业清单（课程版本 {version}，{n} 名学员）", "rejected": "未计入：",
           "notes": "说明："},
}


def _cells(table: ClassTable, row: ClassRow) -> list[str]:
    return [TABLE_MARKS.get(row.statuses.get(i, "not_checked"), "–") for i in table.item_ids]


def _grid(table: ClassTable, lang: str) -> list[list[str]]:
    head = HEAD[lang]
    n = len(table.rows)
    grid = [[head["learner"], *table.item_ids, head["total"]]]
    for row in table.rows:
        grid.append([row.learner, *_cells(table, row), f"{row.evidenced}/{len(table.item_ids)}"])
    counts = table.counts()
    grid.append([head["counts"], *(f"{counts[i]}/{n}" for i in table.item_ids), ""])
    return grid


def class_table_text(table: ClassTable, lang: str = "en") -> str:
    """The class table for a terminal."""
    check_choice("lang", lang, "class_table_text", LANGS)
    grid = _grid(table, lang)
    widths = [max(_width(r[c]) for r in grid) for c in range(len(grid[0]))]
    lines = [HEAD[lang]["title"].format(version=table.course_version, n=len(table.rows)), ""]
    for k, r in enumerate(grid):
        lines.append("  ".join(_pad(cell, w) for cell, w in zip(r, widths)).rstrip())
        if k == 0 or k == len(grid) - 2:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", LEGEND[lang]]
    return "\n".join(lines)


def class_table_csv(table: ClassTable, lang: str = "en") -> str:
    """The class table as CSV (one row per learner, then the per-item counts)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for r in _grid(table, lang):
        writer.writerow(r)
    return out.getvalue()


def class_table_markdown(table: ClassTable, lang: str = "en") -> str:
    """The class table as a Markdown document (title, table, legend, files not included)."""
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|")

    grid = _grid(table, lang)
    lines = [f"# {HEAD[lang]['title'].format(version=table.course_version, n=len(table.rows))}", ""]
    lines.append("| " + " | ".join(esc(c) for c in grid[0]) + " |")
    lines.append("|" + "|".join([":---"] + [":-:"] * (len(grid[0]) - 2) + ["--:"]) + "|")
    for r in grid[1:-1]:
        lines.append("| " + " | ".join(esc(c) for c in r) + " |")
    last = grid[-1]
    lines.append("| " + " | ".join([f"**{esc(last[0])}**", *last[1:]]) + " |")
    lines += ["", LEGEND[lang]]
    if table.rejected:
        lines += ["", f"**{HEAD[lang]['rejected']}**", ""]
        lines += [f"- {esc(reason)}" for _, reason in table.rejected]
    if table.notes:
        lines += ["", f"**{HEAD[lang]['notes']}**", ""]
        lines += [f"- {esc(note)}" for note in table.notes]
    return "\n".join(lines) + "\n"
