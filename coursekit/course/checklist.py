"""The completion checklist: its items, the results of checking notebooks, and each item's status.

Item statuses: ``evidenced`` (every check of the item in the checked notebooks passed), ``not_yet``
(one of them failed, timed out or did not run), ``not_checked`` (its checks are in notebooks that
were not checked) and ``not_covered`` (no check in the course evidences it yet).

The pipeline of ``coursekit check`` (each step in its own module)::

    items = load_checklist()                                   # this module
    results = [check_notebook("exercises/en/00_measure_first.py")]   # notebooks.py (runner + outcomes)
    statuses = evaluate(results, items)                        # this module
    print(render_text(results, statuses, items, lang="en"))    # render.py
    report = build_report(results, statuses, learner="ana")    # this module; report.py reads them back
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from coursekit._validate import check_choice, check_type
from coursekit.course.messages import LANGS

if TYPE_CHECKING:
    from coursekit.course.notebooks import CourseIndex

__all__ = ["FORMAT", "STATUSES", "NOTEBOOK_STATUSES", "CHECKLIST_PATH", "Item", "CheckResult", "CellError",
           "NotebookResult", "Evidence", "ItemStatus", "load_checklist", "evaluate", "exit_code",
           "build_report", "default_learner", "course_version"]

FORMAT = 1
STATUSES = ("evidenced", "not_yet", "not_checked", "not_covered")
NOTEBOOK_STATUSES = ("checked", "incomplete", "not_found", "unreadable", "no_checks")
CHECKLIST_PATH = Path(__file__).with_name("checklist.json")


def course_version() -> str:
    from coursekit import __version__

    return __version__



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
    """The checklist items, in order, from ``coursekit/course/checklist.json`` (or ``path``)."""
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
    check_choice("lang", lang, "build_report", LANGS)
    if learner is not None:
        check_type("learner", learner, "build_report", str)
        if not learner.strip():
            raise ValueError("The 'learner' parameter of build_report must be a non-empty name. Got '' instead.")
    return {
        "format": FORMAT,
        "course_version": course_version(),
        "learner": (learner or default_learner()).strip(),
        "date": date or datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "lang": lang,
        "notebooks": [nb.to_json() for nb in notebooks],
        "items": [s.to_json() for s in statuses],
    }
