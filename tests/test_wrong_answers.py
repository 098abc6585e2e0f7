"""Each exercise check fails on a plausible wrong answer, not only on the stub.

Every entry plants a wrong answer into one solution region (0-based, counted in file order) of a
solution notebook, executes the notebook in a real kernel, and requires the named check cell to fail.
Add an entry for each wrong answer a learner could plausibly write.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coursekit.exercises import replace_regions
from tests.nbrun import run_text

ROOT = Path(__file__).resolve().parent.parent

# (solution file stem, region number, wrong code, check_id that must fail, why it is wrong)
WRONG_ANSWERS: list[tuple[str, int, str, str, str]] = [
]


@pytest.mark.notebook
@pytest.mark.parametrize(
    "stem, region, code, check_id, why", WRONG_ANSWERS, ids=[f"{w[0]}-{w[3]}-{i}" for i, w in enumerate(WRONG_ANSWERS)]
)
def test_check_fails_on_wrong_answer(stem, region, code, check_id, why):
    path = ROOT / "solutions" / "en" / f"{stem}.py"
    text = replace_regions(path.read_text(encoding="utf-8"), {region: code}, where=str(path))
    runs = run_text(text, cwd=str(ROOT), stop_after=check_id)
    checks = {r.metadata.get("check_id"): r for r in runs if r.is_check}
    assert check_id in checks, f"no check cell with check_id={check_id!r} in {path.name}"
    assert checks[check_id].error is not None, f"check {check_id} passed a wrong answer ({why})"
