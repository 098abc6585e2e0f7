"""The table of plausible wrong answers, and how to prove each one fails its check.

Each solution notebook has its own table, ``tests/wrong/<stem>.py`` (a list ``WRONG_ANSWERS`` of
``(stem, region, wrong code, check_id that must fail, why)``), so lessons add entries without touching
each other's files. The tests live in test_wrong_answers_*.py.

Every entry plants a wrong answer into one solution region (0-based, counted in file order) of a
solution notebook, executes the notebook in a real kernel, and requires the named check cell to fail.
Add an entry for each wrong answer a learner could plausibly write.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from coursekit.course.exercises import replace_regions

from tests.nbrun import run_text

ROOT = Path(__file__).resolve().parent.parent
TABLES = Path(__file__).resolve().parent / "wrong"


def _load_tables() -> list[tuple[str, int, str, str, str]]:
    entries = []
    for path in sorted(TABLES.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"_wrong_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for entry in module.WRONG_ANSWERS:
            if entry[0] != path.stem:
                raise ValueError(f"{path.name}: entry for {entry[0]!r} belongs in tests/wrong/{entry[0]}.py")
            entries.append(entry)
    return entries


WRONG_ANSWERS: list[tuple[str, int, str, str, str]] = _load_tables()


def run_wrong_answer(stem, region, code, check_id, why):
    path = ROOT / "solutions" / "en" / f"{stem}.py"
    text = replace_regions(path.read_text(encoding="utf-8"), {region: code}, where=str(path))
    runs = run_text(text, cwd=str(ROOT), stop_after=check_id)
    checks = {r.metadata.get("check_id"): r for r in runs if r.is_check}
    assert check_id in checks, f"no check cell with check_id={check_id!r} in {path.name}"
    assert checks[check_id].error is not None, f"check {check_id} passed a wrong answer ({why})"


def cases(stem: str, part: int, parts: int):
    """The wrong answers for one solution notebook, split into `parts` files so that pytest-xdist
    (which keeps a file on one worker) can spread them over both workers."""
    mine = [w for w in WRONG_ANSWERS if w[0] == stem][part::parts]
    return pytest.mark.parametrize("stem, region, code, check_id, why", mine,
                                   ids=[f"{w[3]}-{i}" for i, w in enumerate(mine)])
