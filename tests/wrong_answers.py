"""The tables of plausible wrong answers, and how to prove each one fails its check — one kernel per notebook.

Each solution notebook has its own table, ``tests/wrong/<stem>.py`` (a list ``WRONG_ANSWERS`` of
``(stem, region, wrong code, check_id that must fail, why)``), so lessons add entries without touching
each other's files. tests/test_wrong_answers.py finds every table and makes one test per notebook.

How one notebook's wrong answers run (:func:`run_wrong_answers`): the solution executes once, in one
kernel, up to the cell of a region; then, for each wrong answer, the wrong version of that cell and
the cells after it up to and including its check cell run, and the check must raise; then the correct
cells run again, up to that check cell, to restore the state (the correct check must pass again, or
the kernel is restarted and the solution replayed). When a wrong cell itself raised and the check
then passed (the check may have seen the correct definitions left from before), that entry is
decided again in a fresh kernel, as a learner's notebook would run from the top.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest

from coursekit.course.exercises import replace_regions
from coursekit.course.runner import Kernel
from tests.nbrun import TEST_ENV

ROOT = Path(__file__).resolve().parent.parent
TABLES = Path(__file__).resolve().parent / "wrong"
TIMEOUT = 150


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
STEMS = sorted({w[0] for w in WRONG_ANSWERS})


def _code(text: str) -> list[tuple[str, dict]]:
    nb = jupytext.reads(text, fmt="py:percent")
    return [(c.source, dict(c.metadata)) for c in nb.cells if c.cell_type == "code"]


@dataclass
class Plan:
    entry: tuple
    first: int  # the first code cell the wrong answer changes
    check: int  # the code cell of its check
    wrong: list[str]  # the wrong notebook's code cells


def _plan(path: Path, entries) -> tuple[list[tuple[str, bool]], list[Plan]]:
    stem = path.stem
    text = path.read_text(encoding="utf-8")
    correct = _code(text)
    plans = []
    for entry in entries:
        _, region, code, check_id, _why = entry
        wrong = _code(replace_regions(text, {region: code}, where=str(path)))
        assert len(wrong) == len(correct), f"{stem}: planting region {region} changed the cell count"
        first = next((i for i, (a, b) in enumerate(zip(correct, wrong)) if a[0] != b[0]), None)
        assert first is not None, f"{stem}: the wrong answer for region {region} changes nothing"
        checks = [i for i, (_, meta) in enumerate(correct) if meta.get("check_id") == check_id]
        assert checks, f"no check cell with check_id={check_id!r} in {path.name}"
        assert checks[0] >= first, f"{check_id} runs before region {region}'s cell"
        plans.append(Plan(entry, first, checks[0], [s for s, _ in wrong]))
    plans.sort(key=lambda p: (p.first, p.check))
    return [(s, bool(meta.get("check_id"))) for s, meta in correct], plans


def _run_correct(kernel: Kernel, correct, start: int, stop: int) -> bool:
    """Run the solution's cells [start, stop); True when they all passed. A cell that is not a check
    must pass; a check may fail now and then on a busy machine (e.g. a timing check)."""
    ok = True
    for i in range(start, stop):
        source, is_check = correct[i]
        run = kernel.run(source, timeout=TIMEOUT, index=i)
        assert run.status == "ok" or is_check, \
            f"the solution's code cell {i + 1} failed: {run.status} {run.error or ''}"
        ok = ok and run.status == "ok"
    return ok


def _fresh(correct, upto: int) -> Kernel:
    """A new kernel with the solution's cells [0, upto) run."""
    kernel = Kernel(cwd=ROOT, env=TEST_ENV)
    _run_correct(kernel, correct, 0, upto)
    return kernel


def _alone(plan: Plan) -> bool:
    """Does the wrong answer's check raise when the notebook runs from the top in a fresh kernel?"""
    with Kernel(cwd=ROOT, env=TEST_ENV) as kernel:
        runs = [kernel.run(src, timeout=TIMEOUT, index=i) for i, src in enumerate(plan.wrong[:plan.check + 1])]
    return runs[-1].status != "ok"


def run_wrong_answers(stem: str, *, entries=None, solution: Path | None = None) -> list[str]:
    """Run every wrong answer of ``solutions/en/<stem>.py`` (or ``entries`` planted in ``solution``);
    returns the ones whose check did NOT fail."""
    entries = [w for w in WRONG_ANSWERS if w[0] == stem] if entries is None else entries
    correct, plans = _plan(solution or ROOT / "solutions" / "en" / f"{stem}.py", entries)
    passed = []
    done = plans[0].first
    kernel = _fresh(correct, done)
    try:
        for plan in plans:
            if done < plan.first:  # bring the state up to the region's cell
                _run_correct(kernel, correct, done, plan.first)
                done = plan.first
            runs = [kernel.run(plan.wrong[i], timeout=TIMEOUT, index=i) for i in range(plan.first, plan.check + 1)]
            rejected = runs[-1].status != "ok"
            if not rejected and any(r.status != "ok" for r in runs[:-1]):
                rejected = _alone(plan)  # state left by the correct cells may have let it pass
            if not rejected:
                _, region, _code_, check_id, why = plan.entry
                passed.append(f"{check_id} (region {region}): {why}")
            # restore: the correct cells again, up to and including the check, which should pass again;
            # when it does not, start afresh rather than judge the next answer on a doubtful state
            if not _run_correct(kernel, correct, plan.first, plan.check + 1):
                kernel.close()
                kernel = _fresh(correct, plan.check + 1)
            done = max(done, plan.check + 1)
    finally:
        kernel.close()
    return passed


def cases(stem: str, part: int = 0, parts: int = 1):
    """Kept for test files written before tests/test_wrong_answers.py: those entries now run there,
    one kernel per notebook, so the old per-entry tests are skipped (delete such files)."""
    mine = [w for w in WRONG_ANSWERS if w[0] == stem][part::parts]
    skip = pytest.mark.skip(reason="run by tests/test_wrong_answers.py, one kernel per notebook")
    return pytest.mark.parametrize("stem, region, code, check_id, why",
                                   [pytest.param(*w, marks=skip) for w in mine],
                                   ids=[f"{w[3]}-{i}" for i, w in enumerate(mine)])


def run_wrong_answer(stem, region, code, check_id, why):  # pragma: no cover - see cases()
    raise AssertionError("use run_wrong_answers(stem): tests/test_wrong_answers.py runs every table")
