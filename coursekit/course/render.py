"""Text, Markdown and CSV renderings of a learner's checklist and of a class table."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter
from pathlib import Path

from coursekit._validate import check_choice
from coursekit.course.checklist import Evidence, Item, ItemStatus, NotebookResult, course_version, exit_code
from coursekit.course.messages import HEAD, LANGS, LEGEND, STATUS_MARKS, STATUS_WORDS, TABLE_MARKS, msg
from coursekit.course.report import ClassRow, ClassTable

__all__ = ["render_text", "class_table_text", "class_table_csv", "class_table_markdown"]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def render_text(notebooks: list[NotebookResult], statuses: list[ItemStatus], items: list[Item], *,
                lang: str = "en", learner: str | None = None, flags: str = "") -> str:
    """The checklist as a learner reads it, in English or Chinese; ``flags`` (e.g. ``" --lang zh"``)
    are added to every command it tells the learner to run."""
    check_choice("lang", lang, "render_text", LANGS)
    words = STATUS_WORDS[lang]
    colon = "：" if lang == "zh" else ": "
    sep = "，" if lang == "zh" else ", "
    lines = [msg(lang, "title", version=course_version())]
    if learner:
        lines.append(msg(lang, "learner", learner=learner))
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
            lines.append("    " + msg(lang, "other_checks"))
            lines += [f"      ✓ {c.check_id}" if c.passed else f"      ✗ {c.check_id}{colon}{c.message}"
                      for c in other]
        if nb.errors:
            lines.append("    " + msg(lang, "cell_errors"))
            lines += [f"      {msg(lang, 'cell', cell=e.cell)}{colon}{e.message}" for e in nb.errors]
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
            line = msg(lang, "evidenced_by", checks=checks)
            if s.note:
                line += " " + msg(lang, "partly", notebooks=", ".join(s.note.split()))
            lines.append(indent + line)
        elif s.status == "not_yet":
            lines.append(indent + words["not_yet"] + colon.rstrip())
            for e in s.evidence:
                if e.passed:
                    lines.append(f"{indent}  ✓ {label(e)}")
                else:
                    lines.append(f"{indent}  ✗ {label(e)}{colon}{e.message}")
            if s.note:
                lines.append(indent + msg(lang, "partly", notebooks=", ".join(s.note.split())))
        elif s.status == "not_checked":
            if s.note:
                lines.append(indent + msg(lang, "not_checked_run", notebooks=" ".join(s.note.split()) + flags))
            else:
                item_checks = sep.join(item.evidence)
                lines.append(indent + msg(lang, "not_checked_none", checks=item_checks))
        else:
            lines.append(indent + words["not_covered"])
    counts = Counter(s.status for s in statuses)
    covered = counts["evidenced"] + counts["not_yet"]
    lines.append("")
    if covered:
        lines.append(msg(lang, "summary", evidenced=counts["evidenced"], covered=covered,
                          not_yet=counts["not_yet"]))
    else:
        lines.append(msg(lang, "summary_none"))
    if counts["not_covered"]:
        lines.append(msg(lang, "summary_uncovered", not_covered=counts["not_covered"],
                          not_checked=counts["not_checked"]))
    elif counts["not_checked"]:
        lines.append(msg(lang, "summary_others", not_checked=counts["not_checked"]))
    lines.append(msg(lang, "next_ok" if exit_code(notebooks, statuses) == 0 else "next_fail"))
    return "\n".join(lines)



def _cells(table: ClassTable, row: ClassRow) -> list[str]:
    return [TABLE_MARKS.get(row.statuses.get(i, "not_checked"), "–") for i in table.item_ids]


def _source(row: ClassRow, lang: str) -> str:
    word = HEAD[lang]["rechecked" if row.source == "rechecked" else "handed_in"]
    return f"{word} ⚠" if row.flag else word


def _grid(table: ClassTable, lang: str) -> list[list[str]]:
    head = HEAD[lang]
    n = len(table.rows)
    # the "from" column appears once a row was re-checked or flagged (coursekit grade, or a bad report)
    sourced = any(r.source != "handed_in" or r.flag for r in table.rows)
    extra = [head["source"]] if sourced else []
    grid = [[head["learner"], *table.item_ids, head["total"], *extra]]
    for row in table.rows:
        grid.append([row.learner, *_cells(table, row), f"{row.evidenced}/{len(table.item_ids)}",
                     *([_source(row, lang)] if sourced else [])])
    counts = table.counts()
    grid.append([head["counts"], *(f"{counts[i]}/{n}" for i in table.item_ids), "", *([""] if sourced else [])])
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
    if any(r.flag for r in table.rows):
        lines.append(HEAD[lang]["flag_legend"])
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
    align = [":---"] + [":-:"] * len(table.item_ids) + ["--:"] + [":---"] * (len(grid[0]) - len(table.item_ids) - 2)
    lines.append("|" + "|".join(align) + "|")
    for r in grid[1:-1]:
        lines.append("| " + " | ".join(esc(c) for c in r) + " |")
    last = grid[-1]
    lines.append("| " + " | ".join([f"**{esc(last[0])}**", *last[1:]]) + " |")
    lines += ["", LEGEND[lang]]
    if any(r.flag for r in table.rows):
        lines += ["", HEAD[lang]["flag_legend"]]
    if table.rejected:
        lines += ["", f"**{HEAD[lang]['rejected']}**", ""]
        lines += [f"- {esc(reason)}" for _, reason in table.rejected]
    if table.notes:
        lines += ["", f"**{HEAD[lang]['notes']}**", ""]
        lines += [f"- {esc(note)}" for note in table.notes]
    return "\n".join(lines) + "\n"
