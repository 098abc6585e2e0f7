"""Re-checking a class on the instructor's side: ``coursekit grade LEARNER_FOLDER... --jobs N``.

Each learner's folder (their exercise notebooks as saved by JupyterLab, ``.py`` or ``.ipynb``, English
or Chinese, or a hub home folder) is copied to its own temporary folder and checked there by a
separate ``python -m coursekit check --json`` process, up to ``jobs`` at a time. A notebook that hangs,
kills its kernel or deletes files therefore costs only its own learner's row, and the learner's folder
is only read. The rows form the same :class:`~coursekit.course.report.ClassTable` as ``coursekit
report``; each says where it came from (``rechecked`` here, ``handed_in`` for a JSON file)::

    from coursekit.course.grade import grade
    table = grade(["class/ana", "class/bo"], jobs=2)
    [(r.learner, r.source, r.statuses["T4"]) for r in table.rows]

Executing a learner's notebook runs their code with YOUR rights: see docs/instructors.md for how to
isolate it. Nothing here imports torch (the checks run in the child processes).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from coursekit._validate import check_float, check_int
from coursekit.course.notebooks import COURSE_ROOT, DEFAULT_TIMEOUT
from coursekit.course.report import ClassRow, ClassTable, ReportError, combine_reports, load_report

__all__ = ["LearnerRun", "find_notebooks", "notebook_lang", "recheck_learner", "grade"]

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SKIP = {"__pycache__", "node_modules"}  # and every hidden folder (.ipynb_checkpoints, .cache, .git, ...)
MAX_COPY_BYTES = 50 * 2**20  # a learner's folder bigger than this is not copied (a mistake, or data)


@dataclass
class LearnerRun:
    """One learner's re-check: the report it wrote (None when it failed) and how long it took."""

    learner: str
    folder: str
    notebooks: list[str]
    lang: str
    report: dict | None = None
    problem: str = ""  # why there is no report
    seconds: float = 0.0
    stderr: str = field(default="", repr=False)


def course_exercise_stems(root: Path = COURSE_ROOT) -> set[str]:
    """The names (without suffix) of the course's exercise notebooks, e.g. ``00_measure_first``."""
    return {p.stem for lang in ("en", "zh") for p in (root / "exercises" / lang).glob("*.py")}


def find_notebooks(folder: str | os.PathLike, stems: set[str] | None = None) -> list[Path]:
    """The course's exercise notebooks in a learner's folder (any depth, hidden folders skipped).

    Only files named like a course exercise count (``00_measure_first.py`` / ``.ipynb``); when a
    notebook exists as both (a paired ``.ipynb``), or in several places, the newest file is taken.
    """
    stems = course_exercise_stems() if stems is None else stems
    best: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix in (".py", ".ipynb") and path.stem in stems:
                old = best.get(path.stem)
                if old is None or path.stat().st_mtime > old.stat().st_mtime:
                    best[path.stem] = path
    return [best[s] for s in sorted(best)]


def notebook_lang(path: str | os.PathLike) -> str:
    """``zh`` for a notebook in a ``zh`` folder or whose text is mostly Chinese prose, else ``en``."""
    path = Path(path)
    if "zh" in path.parts[:-1]:
        return "zh"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "en"
    return "zh" if len(_CJK.findall(_prose(path, text))) >= 50 else "en"


def _prose(path: Path, text: str) -> str:
    """Markdown and comments only: code cells carry both languages (``tr("…", "中文")``) in every edition."""
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            return ""
        return "".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown")
    return "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))


def _folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _SKIP]
        total += sum((Path(dirpath) / f).lstat().st_size for f in filenames)
    return total


def _ignore(_dir, names):
    return [n for n in names if n.startswith(".") or n in _SKIP]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def recheck_learner(folder: str | os.PathLike, *, learner: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                    notebook_timeout: float | None = None, python: str | None = None) -> LearnerRun:
    """Check one learner's notebooks in a child process, on a temporary copy of their folder."""
    folder = Path(folder)
    name = learner or folder.resolve().name
    notebooks = find_notebooks(folder)
    langs = [notebook_lang(p) for p in notebooks]
    lang = max(("en", "zh"), key=langs.count) if langs else "en"
    run = LearnerRun(name, str(folder), [str(p) for p in notebooks], lang)
    if not notebooks:
        run.problem = "no exercise notebooks found in this folder"
        return run
    if _folder_bytes(folder) > MAX_COPY_BYTES:
        run.problem = f"the folder holds more than {MAX_COPY_BYTES // 2**20} MiB; copy only the notebooks"
        return run
    per_notebook = notebook_timeout if notebook_timeout is not None else max(600.0, 4 * timeout)
    limit = len(notebooks) * (per_notebook + 60.0)  # the child's own limits come first; this is a backstop
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="coursekit-grade-") as tmp:
        work = Path(tmp) / "learner"
        shutil.copytree(folder, work, ignore=_ignore, symlinks=True)
        out = Path(tmp) / "report.json"
        cmd = [python or sys.executable, "-m", "coursekit", "check", "--json", str(out), "--learner", name,
               "--lang", lang, "--timeout", str(timeout), "--notebook-timeout", str(per_notebook),
               *(str(p.relative_to(folder)) for p in notebooks)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(COURSE_ROOT), env.get("PYTHONPATH")]))
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            _, err = proc.communicate()
            run.problem = f"stopped after {limit:.0f} s (the re-check as a whole took too long)"
        finally:
            _kill_group(proc)  # nothing the check started outlives it
        run.stderr = err.decode("utf-8", "replace")
        run.seconds = time.perf_counter() - start
        if not run.problem:
            try:
                run.report = load_report(out)
            except ReportError as exc:
                last = run.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
                run.problem = f"the check wrote no report ({exc}; {last[0][:200]})"
    return run


def _row(run: LearnerRun) -> ClassRow:
    if run.report is None:
        return ClassRow(run.learner, "", run.folder, {}, source="rechecked", flag=run.problem)
    statuses = {it["id"]: it["status"] for it in run.report["items"]}
    return ClassRow(run.learner, run.report["date"], run.folder, statuses, source="rechecked")


def grade(sources: list[str | os.PathLike], *, jobs: int = 1, timeout: float = DEFAULT_TIMEOUT,
          notebook_timeout: float | None = None, progress=None) -> tuple[ClassTable, list[LearnerRun]]:
    """Re-check every learner folder in ``sources`` (``.json`` files are taken as handed in) and
    combine them into one class table. ``progress(run)`` is called as each learner finishes.

    Returns the table and the :class:`LearnerRun` of each re-checked folder (in ``sources`` order).
    """
    func = "grade"
    jobs = check_int("jobs", jobs, func, low=1)
    timeout = check_float("timeout", timeout, func, low=0, closed="neither")
    if notebook_timeout is not None:
        notebook_timeout = check_float("notebook_timeout", notebook_timeout, func, low=0, closed="neither")
    folders = [Path(s) for s in sources if Path(s).is_dir()]
    reports = [Path(s) for s in sources if not Path(s).is_dir()]
    names = [f.resolve().name for f in folders]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"The learner folders of grade must have different names; {', '.join(twice)} "
                         "appears more than once.")

    def one(folder: Path) -> LearnerRun:
        run = recheck_learner(folder, timeout=timeout, notebook_timeout=notebook_timeout)
        if progress is not None:
            progress(run)
        return run

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(one, folders))
    table = combine_reports(reports) if reports else combine_reports([])
    rechecked = {r.learner: r.folder for r in runs}
    kept = []
    for row in table.rows:
        if row.learner in rechecked:
            table.notes.append(f"learner '{row.learner}': re-checked from {rechecked[row.learner]}; "
                               f"the handed-in {row.file} was not used")
        else:
            kept.append(row)
    rows = kept + [_row(r) for r in runs]
    table.rows = sorted(rows, key=lambda r: r.learner.casefold())
    for r in runs:
        if r.problem:
            table.notes.append(f"learner '{r.learner}' ({r.folder}): {r.problem}")
    versions = {r.report["course_version"] for r in runs if r.report}
    if table.course_version is None and versions:
        table.course_version = versions.pop()
    for rep in (r.report for r in runs if r.report):
        for it in rep["items"]:
            if it["id"] not in table.item_ids:
                table.item_ids.append(it["id"])
    return table, runs


def save_reports(runs: list[LearnerRun], folder: str | os.PathLike) -> list[Path]:
    """Write each re-check's JSON report into ``folder`` (``<learner>.json``), for the record."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for run in runs:
        if run.report is not None:
            path = folder / f"{run.learner}.json"
            path.write_text(json.dumps(run.report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            written.append(path)
    return written
