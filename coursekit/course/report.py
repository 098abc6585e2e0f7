"""Learners' JSON reports (written by ``coursekit check --json``): load, validate, combine into a class table."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from coursekit.course.checklist import FORMAT, STATUSES, Item, load_checklist
from coursekit.course.checklist import course_version as _course_version

__all__ = ["ReportError", "ClassRow", "ClassTable", "load_report", "combine_reports"]


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
    __version__ = _course_version()
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
