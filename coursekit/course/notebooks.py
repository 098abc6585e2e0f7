"""Reading exercise notebooks, finding their check cells, and checking one notebook end to end.

:func:`check_notebook` reads a learner's notebook (only reads it: the file is never written), runs its
code cells with :func:`coursekit.course.runner.execute`, and turns what happened into a
:class:`~coursekit.course.checklist.NotebookResult` with :func:`coursekit.course.outcomes.interpret`.
A :class:`CourseIndex` of the course's own check cells spots check cells a learner removed or changed.
"""

from __future__ import annotations

import hashlib
import io
import os
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from coursekit._validate import check_choice, check_float
from coursekit.course.checklist import CheckResult, NotebookResult
from coursekit.course.messages import LANGS, lang_of_path, msg

__all__ = ["DEFAULT_TIMEOUT", "NotebookReadError", "CourseIndex", "read_notebook", "code_cells", "check_cells",
           "course_index", "display_path", "apply_course_checks", "check_notebook"]

DEFAULT_TIMEOUT = 120.0
COURSE_ROOT = Path(__file__).resolve().parents[2]


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


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def check_cells(nb) -> list[tuple[int, str, str]]:
    """(code-cell index, check_id, source) of every check cell, in order."""
    out = []
    for i, cell in enumerate(code_cells(nb)):
        check_id = cell.metadata.get("check_id")
        if isinstance(check_id, str) and check_id:
            out.append((i, check_id, cell.source))
    return out


def _code_tokens(source: str) -> tuple | None:
    """The source's tokens without comments and blank lines (None when it doesn't tokenize)."""
    from coursekit.course.exercises import BEGIN_HIDDEN, END_HIDDEN, find_regions

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
        root = COURSE_ROOT
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
                for _, check_id, source in check_cells(nb):
                    index.notebook_of.setdefault(check_id, where)
                    ids = index.checks_of.setdefault(index.notebook_of[check_id], [])
                    if check_id not in ids:
                        ids.append(check_id)
                    toks = _code_tokens(source)
                    if toks is not None:
                        index.tokens.setdefault(check_id, set()).add(toks)
    return index



def display_path(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it (as a learner typed it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)



def check_notebook(path: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT,
                   notebook_timeout: float | None = None, lang: str | None = None,
                   index: CourseIndex | None = None, kernel_lang: str | None = None) -> NotebookResult:
    """Execute one exercise notebook in a real kernel and report each check cell.

    ``timeout`` limits each cell (seconds); ``notebook_timeout`` the whole run (default
    ``max(600, 4 * timeout)``). ``lang`` is the language of the messages and the kernel's
    ``COURSEKIT_LANG`` (default: the notebook's, from a ``zh``/``en`` folder on its path, else English).
    ``kernel_lang`` is the kernel's ``COURSEKIT_LANG`` (default: the notebook's language, else ``lang``).
    ``index`` (from :func:`course_index`) lets missing or modified check cells be spotted. The file at
    ``path`` is only read.
    """
    from coursekit.course.outcomes import interpret
    from coursekit.course.runner import execute

    func = "check_notebook"
    timeout = check_float("timeout", timeout, func, low=0, closed="neither")
    if notebook_timeout is None:
        notebook_timeout = max(600.0, 4 * timeout)
    notebook_timeout = check_float("notebook_timeout", notebook_timeout, func, low=0, closed="neither")
    if lang is None:
        lang = lang_of_path(path)
    check_choice("lang", lang, func, LANGS)
    path = Path(path)
    shown = display_path(path)
    if not path.exists():
        return NotebookResult(shown, "not_found", msg(lang, "not_found", path=shown))
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        nb = read_notebook(path)
    except IsADirectoryError:
        return NotebookResult(shown, "unreadable", msg(lang, "unreadable", error="it is a folder"))
    except OSError as exc:
        return NotebookResult(shown, "unreadable", msg(lang, "unreadable", error=exc.strerror or str(exc)))
    except NotebookReadError as exc:
        error = msg(lang, "not_a_notebook") if str(exc) == "not_a_notebook" else str(exc)
        return NotebookResult(shown, "unreadable", msg(lang, "unreadable", error=error))
    checks = check_cells(nb)
    if not checks:
        return NotebookResult(shown, "no_checks", msg(lang, "no_checks", where=f"exercises/{lang}/"), digest)
    sources = [c.source for c in code_cells(nb)]
    # the kernel runs in the learner's folder, as it does in JupyterLab
    run = execute(sources, cwd=path.resolve().parent, timeout=timeout, notebook_timeout=notebook_timeout,
                  lang=kernel_lang or lang_of_path(path, default=lang))
    result = interpret(run, sources, [(i, cid) for i, cid, _ in checks], lang=lang, timeout=timeout,
                       notebook_timeout=notebook_timeout)
    result.path, result.sha256 = shown, digest
    if index is not None:
        apply_course_checks(result, checks, index, lang)
    if not result.message:
        n = len(result.checks)
        result.message = msg(lang, "checks_summary", n=n, passed=result.passed, failed=n - result.passed)
    return result


run_notebook = check_notebook  # the name coursekit check used before


def apply_course_checks(result: NotebookResult, checks, index: CourseIndex, lang: str) -> None:
    """Fail check cells that differ from the course's, and add the course's missing check cells."""
    by_id = {c.check_id: c for c in result.checks}
    for (_, check_id, source), c in zip(checks, result.checks):  # result.checks starts with these cells
        accepted = index.tokens.get(check_id)
        if accepted and _code_tokens(source) not in accepted:
            c.passed, c.outcome = False, "modified"
            c.message = msg(lang, "modified_check", where=index.notebook_of[check_id])
    present = [cid for _, cid, _ in checks]
    course_notebooks = {index.notebook_of[cid] for cid in present if cid in index.notebook_of}
    for where in sorted(course_notebooks):
        for check_id in index.checks_of.get(where, []):
            if check_id not in by_id:
                result.checks.append(CheckResult(check_id, False, "missing",
                                                 msg(lang, "missing_check", where=where)))

