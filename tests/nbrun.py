"""Execute notebook text in a real kernel and report, per cell, whether it raised.

Used by the exercise tests: nbval's ``raises-exception`` tag passes even when nothing is raised, so
it cannot prove that a check fails. Here the course's one executor (coursekit.course.runner) runs
every cell, errors allowed, and we look.
"""

from __future__ import annotations

from dataclasses import dataclass

import jupytext

from coursekit.course.runner import execute

# kernels the tests start: a lesson's false claim raises (coursekit.stats.claim)
TEST_ENV = {"COURSEKIT_STRICT_CLAIMS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


@dataclass
class CellRun:
    index: int  # position among all the notebook's cells
    source: str
    metadata: dict
    error: str | None  # "EName: message" or None

    @property
    def is_check(self) -> bool:
        return "check" in self.metadata.get("tags", [])


def run_text(text: str, *, timeout: int = 120, cwd: str | None = None, stop_after: str | None = None,
             lang: str | None = None) -> list[CellRun]:
    """Execute every code cell (or, with ``stop_after=check_id``, every one up to that check cell)."""
    nb = jupytext.reads(text, fmt="py:percent")
    if stop_after is not None:
        ends = [i for i, c in enumerate(nb.cells) if c.metadata.get("check_id") == stop_after]
        if ends:
            nb.cells = nb.cells[: ends[0] + 1]
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    run = execute([c.source for _, c in code], cwd=cwd, timeout=timeout, lang=lang, env=TEST_ENV)
    runs = []
    for (i, cell), r in zip(code, run.cells):
        err = r.error if r.status == "error" else (None if r.status == "ok" else r.status)
        runs.append(CellRun(i, cell.source, dict(cell.metadata), err))
    return runs


def read_text(path) -> str:
    return open(path, encoding="utf-8").read()
