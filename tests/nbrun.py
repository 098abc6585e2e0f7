"""Execute notebook text in a real kernel and report, per cell, whether it raised.

Used by the exercise tests: nbval's ``raises-exception`` tag passes even when nothing is raised, so
it cannot prove that a check fails. Here we execute with nbclient (errors allowed) and look.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import jupytext
from nbclient import NotebookClient


@dataclass
class CellRun:
    index: int
    source: str
    metadata: dict
    error: str | None  # "EName: message" or None

    @property
    def is_check(self) -> bool:
        return "check" in self.metadata.get("tags", [])


def run_text(text: str, *, timeout: int = 120, cwd: str | None = None,
             stop_after: str | None = None) -> list[CellRun]:
    """Execute every cell (or, with ``stop_after=check_id``, every cell up to that check cell)."""
    nb = jupytext.reads(text, fmt="py:percent")
    if stop_after is not None:
        ends = [i for i, c in enumerate(nb.cells) if c.metadata.get("check_id") == stop_after]
        if ends:
            nb.cells = nb.cells[: ends[0] + 1]
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": cwd or os.getcwd()}})
    client.execute()
    runs = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        err = None
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                err = f"{out['ename']}: {out['evalue']}"
        runs.append(CellRun(i, cell.source, dict(cell.metadata), err))
    return runs


def read_text(path) -> str:
    return open(path, encoding="utf-8").read()


