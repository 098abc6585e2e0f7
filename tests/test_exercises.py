"""Exercise tooling, and proof that every check can fail.

nbval's ``raises-exception`` tag passes even when nothing is raised, so the generated exercise
notebooks are executed here with nbclient (errors allowed) and every check cell must have failed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import pytest

from coursekit.course import exercises
from coursekit.course.exercises import ExerciseError, find_regions, make_exercise, replace_regions
from tests.nbrun import run_text

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = sorted((ROOT / "exercises").glob("*/*.py"))
# every English exercise is run on its stubs; one Chinese one proves the feedback comes in Chinese
# (the Chinese code cells are the English ones: tests/test_course_files.py)
STUB_RUNS = sorted((ROOT / "exercises" / "en").glob("*.py")) + [ROOT / "exercises" / "zh" / "00_measure_first.py"]
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.py"))

SOLUTION = '''# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %%
def f(x):
    """Doc."""
    ### BEGIN SOLUTION  hint: lesson 00, section "A"
    y = x + 1
    return y
    ### END SOLUTION

# %%
### BEGIN HIDDEN TESTS
assert f(1) == 2
### END HIDDEN TESTS
'''


def test_make_exercise_replaces_regions_at_their_indentation():
    out = make_exercise(SOLUTION, lang="en", name="x.py")
    assert "y = x + 1" not in out and "HIDDEN" not in out and "assert f(1)" not in out
    assert "    # Exercise 1: replace the next line with your code. Hint: lesson 00, section \"A\"\n" in out
    assert ("    raise NotImplementedError('Exercise 1: not written yet (see the comment above) | "
            "练习 1：还没写（见上方注释）')\n") in out
    assert out.startswith("# ---\n") and "Exercise notebook, generated from `solutions/en/x.py`" in out
    jupytext.reads(out, fmt="py:percent")  # still a valid notebook


def test_chinese_stub_comment():
    out = make_exercise(SOLUTION, lang="zh", name="x.py")
    assert "# 练习 1：把下一行换成你的代码。提示：lesson 00" in out


@pytest.mark.parametrize("text, match", [
    ("### BEGIN SOLUTION\nx\n", "never closed"),
    ("x\n### END SOLUTION\n", "without a matching"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside another region"),
    ("# %%\nx = 1\n", "not a solution notebook"),
])
def test_bad_markers_are_reported_with_the_line(text, match):
    with pytest.raises(ExerciseError, match=match):
        make_exercise(text, where="sol.py")


def test_replace_regions_plants_code_at_the_right_indentation():
    out = replace_regions(SOLUTION, {0: "return x - 1"})
    assert "    ### BEGIN SOLUTION" in out and "    return x - 1\n" in out and "y = x + 1" not in out
    with pytest.raises(ValueError, match="region number 3 does not exist"):
        replace_regions(SOLUTION, {3: "pass"})


def test_build_and_verify_detect_stale_missing_and_orphan_files(tmp_path):
    for lang in ("en", "zh"):
        (tmp_path / "solutions" / lang).mkdir(parents=True)
        (tmp_path / "solutions" / lang / "99_x.py").write_text(SOLUTION, encoding="utf-8")
    assert len(exercises.stale_files(tmp_path)) == 2  # missing
    assert len(exercises.build(tmp_path)) == 2
    assert exercises.stale_files(tmp_path) == []
    (tmp_path / "exercises" / "en" / "99_x.py").write_text("edited", encoding="utf-8")
    (tmp_path / "exercises" / "zh" / "98_orphan.py").write_text("", encoding="utf-8")
    problems = exercises.stale_files(tmp_path)
    assert any("differs" in p for p in problems) and any("no solution" in p for p in problems)


def test_every_solution_has_regions_and_tagged_checks():
    ids = {}
    for path in SOLUTIONS:
        text = path.read_text(encoding="utf-8")
        assert find_regions(text.splitlines(), where=str(path)), f"{path} has no solution region"
        checks = [c for c in jupytext.reads(text, fmt="py:percent").cells if "check" in c.metadata.get("tags", [])]
        assert checks, f"{path} has no check cell"
        for cell in checks:
            assert cell.metadata.get("check_id"), f"{path}: a check cell without check_id"
            assert cell.metadata.get("checklist"), f"{path}: check {cell.metadata['check_id']} names no checklist item"
            ids.setdefault(path.parent.name, []).append(cell.metadata["check_id"])
    for lang, found in ids.items():
        assert len(found) == len(set(found)), f"duplicate check ids in {lang}: {found}"


def test_checklist_file_and_check_cells_agree():
    data = json.loads((ROOT / "coursekit" / "course" / "checklist.json").read_text(encoding="utf-8"))
    items = {it["id"]: set(it["evidence"]) for it in data["items"]}
    assert list(items) == ["U1", "U2", "U3", "U4", "T1", "T2", "T3", "T4", "E1", "E2", "E3", "E4"]
    from_cells: dict[str, set] = {}
    for path in (ROOT / "solutions" / "en").glob("*.py"):
        for cell in jupytext.read(path).cells:
            for item in cell.metadata.get("checklist", []):
                assert item in items, f"{path.name}: check {cell.metadata.get('check_id')} names unknown item {item}"
                from_cells.setdefault(item, set()).add(cell.metadata["check_id"])
    for item, evidence in items.items():
        assert evidence == from_cells.get(item, set()), f"checklist.json and the check cells disagree on {item}"


@pytest.mark.notebook
@pytest.mark.usefixtures("pretrained_models")
@pytest.mark.parametrize("path", STUB_RUNS, ids=[f"{p.parent.name}/{p.name}" for p in STUB_RUNS])
def test_every_check_fails_in_the_untouched_exercise(path):
    lang = path.parent.name
    runs = run_text(path.read_text(encoding="utf-8"), cwd=str(ROOT), timeout=150, lang=lang)
    checks = [r for r in runs if r.is_check]
    assert checks, "no check cells"
    passed = [r.metadata.get("check_id") for r in checks if r.error is None]
    assert not passed, f"these checks passed on the stub, so they cannot tell right from wrong: {passed}"
    first_stub = next(i for i, r in enumerate(runs) if "raise NotImplementedError" in r.source)
    setup_errors = [(r.index, r.error) for r in runs[:first_stub] if r.error]
    assert not setup_errors, f"set-up cells before the first exercise failed: {setup_errors}"
    # checks that failed on their own bilingual assertion (not on the stub's NotImplementedError)
    translated = [r for r in checks if "tr(" in r.source and (r.error or "").startswith("AssertionError")]
    if lang == "zh" and translated:  # the kernel was told the learner's language: they answer in Chinese
        assert all(re.search(r"[\u4e00-\u9fff]", r.error or "") for r in translated), \
            f"checks of {path.name} failed with a message not in Chinese: {[r.error for r in translated]}"


def test_every_checklist_item_is_evidenced_by_some_check():
    """With lessons 05 and 06 every item of the completion checklist can be evidenced (issue 12): none is
    'not covered by the course yet'. The solutions pass every check (nbval) and the stubs fail every
    check (above), so `coursekit check` evidences all twelve on the solutions and none on the stubs."""
    data = json.loads((ROOT / "coursekit" / "course" / "checklist.json").read_text(encoding="utf-8"))
    uncovered = [it["id"] for it in data["items"] if not it["evidence"]]
    assert not uncovered, f"checklist items no check evidences: {uncovered}"
