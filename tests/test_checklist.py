"""`coursekit check` and `coursekit report`: the completion checklist, per learner and per class.

The commands that execute notebooks run once per test session, all at the same time (they mostly
wait on kernels and timeouts, so they overlap well), when the first test needs them; the tests then
look at their output, exit code and JSON report from several sides.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

import coursekit
from coursekit.course import checklist, notebooks, render
from coursekit.course import report as reports
from coursekit.course.checklist import CheckResult, Item, NotebookResult
from coursekit.course.cli import main

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "en" / "00_measure_first.py"
EXERCISE_ZH = ROOT / "exercises" / "zh" / "00_measure_first.py"
CHECKS_00 = [c for _, c, _ in notebooks.check_cells(notebooks.read_notebook(SOLUTION))]
ITEMS_00 = {i.id for i in checklist.load_checklist() if set(i.evidence) & set(CHECKS_00)}  # T4, E3
UNCOVERED = [i for i in checklist.load_checklist() if not i.evidence]

pytestmark = pytest.mark.xdist_group("checklist")

# Tiny notebooks, one per failure mode. Their check ids are not the course's, so they evidence no item.
SYNTAX = '''# %%
x = 1

# %% tags=["check"] check_id="tiny-a"
assert x == 1
print("✓ a")

# %%
def f(:
    return 2

# %% tags=["check"] check_id="tiny-b"
assert f() == 2

# %% tags=["check", "raises-exception"] check_id="tiny-c"
# NBVAL_SKIP
assert x == 2, f"x = {x}, expected 2"
'''
LOOP = '''# %%
import time

# %% tags=["check"] check_id="tiny-loop"
while True:
    time.sleep(0.05)

# %% tags=["check"] check_id="tiny-after-loop"
print("✓ still runs")
'''
DIES = '''# %% tags=["check"] check_id="tiny-before"
print("✓ before")

# %%
import os
os._exit(1)

# %% tags=["check"] check_id="tiny-after"
print("✓ after")
'''
SLOW = '''# %% tags=["check"] check_id="tiny-quick"
print("✓ quick")

# %% tags=["check"] check_id="tiny-slow"
import time
time.sleep(120)
'''
PLAIN = '''# %%
print("a lesson, not an exercise")
'''


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Run:
    """The outcome of one `python -m coursekit check ...`: exit code, output and JSON report."""

    def __init__(self, data: dict):
        self.rc, self.out, self.err = data["rc"], data["out"], data["err"]
        self.seconds, self.report, self.report_path = data["seconds"], data["report"], Path(data["report_path"])

    def notebook(self, name: str) -> dict:
        return next(nb for nb in self.report["notebooks"] if Path(nb["path"]).name == name)

    def check(self, name: str, check_id: str) -> dict:
        return next(c for c in self.notebook(name)["checks"] if c["check_id"] == check_id)


def _run_all(base: Path) -> dict:
    """Start every kernel-running scenario at once (they mostly wait), wait for all, keep what they did."""
    learner = base / "learner"  # a learner's own folder, with their copies
    broken = base / "broken"
    out = base / "reports"
    for d in (learner, broken, out):
        d.mkdir()
    shutil.copy(SOLUTION, learner / "solved.py")
    shutil.copy(EXERCISE_ZH, learner / "untouched.py")
    for name, text in {"syntax.py": SYNTAX, "loop.py": LOOP, "dies.py": DIES, "plain.py": PLAIN,
                       "slow.py": SLOW}.items():
        (broken / name).write_text(text, encoding="utf-8")
    (broken / "truncated.ipynb").write_text('{"cells": [', encoding="utf-8")

    def files() -> dict:
        return {f"{d.name}/{p.name}": _sha(p) for d in (learner, broken) for p in sorted(d.iterdir())}

    scenarios = {
        "solution": (learner, ["solved.py", "--learner", "ana"]),
        "exercise": (learner, ["untouched.py", "--lang", "zh"]),
        "failures": (broken, ["syntax.py", "loop.py", "dies.py", "plain.py", "truncated.ipynb", "missing.py",
                              "--timeout", "5"]),
        "guard": (broken, ["slow.py", "--notebook-timeout", "12"]),
    }
    before = files()
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", PYTHONIOENCODING="utf-8")
    procs = {}
    for name, (cwd, args) in scenarios.items():
        report = out / f"{name}.json"
        cmd = [sys.executable, "-m", "coursekit", "check", *args, "--json", str(report)]
        procs[name] = (time.monotonic(), report, subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"))
    done = {}
    for name, (started, report, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        done[name] = {"rc": proc.returncode, "out": stdout, "err": stderr, "seconds": time.monotonic() - started,
                      "report": json.loads(report.read_text(encoding="utf-8")) if report.exists() else None,
                      "report_path": str(report)}
    return {"runs": done, "before": before, "after": files()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, pretrained_models):
    """Every kernel-running scenario, run once per test session even when xdist splits this module
    over several workers (pytest-xdist's ``loadgroup`` does not group with pytest 9.2)."""
    from filelock import FileLock  # installed with torch

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this session
    shared = base / "coursekit-check-scenarios"
    with FileLock(str(shared) + ".lock"):
        results = shared / "results.json"
        if not results.exists():
            shared.mkdir(exist_ok=True)
            data = _run_all(shared)
            results.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        data = json.loads(results.read_text(encoding="utf-8"))
    out = {name: Run(run) for name, run in data["runs"].items()}
    out["before"], out["after"] = data["before"], data["after"]
    return out


# ---------------------------------------------------------------------------------------------
# check on lesson 00's exercise


@pytest.mark.notebook
def test_check_on_a_solution_evidences_its_items_and_exits_0(runs):
    run = runs["solution"]
    assert run.rc == 0, run.out + run.err
    for item in ITEMS_00:
        assert f"✓ {item} " in run.out
    assert "Well done" in run.out
    assert ("not covered by the course yet" in run.out) == bool(UNCOVERED)
    statuses = {it["id"]: it["status"] for it in run.report["items"]}
    assert all(statuses[i] == "evidenced" for i in ITEMS_00)
    nb = run.notebook("solved.py")
    assert nb["status"] == "checked" and all(c["passed"] for c in nb["checks"])
    assert all(c["message"].startswith("✓") for c in nb["checks"])  # the check's own "✓ ..." line


@pytest.mark.notebook
def test_check_on_the_untouched_exercise_says_not_yet_in_chinese(runs):
    run = runs["exercise"]
    assert run.rc == 1
    items = {i.id: i for i in checklist.load_checklist()}
    for item in ITEMS_00:
        assert f"✗ {item} " in run.out and items[item].zh in run.out
    assert "尚未达成" in run.out and all(i.zh in run.out for i in items.values())
    assert ("课程尚未覆盖" in run.out) == bool(UNCOVERED)
    assert "结业清单" in run.out
    assert "NotImplementedError: Exercise 1: not written yet" in run.out
    report = run.report
    assert report["lang"] == "zh"
    assert all(it["status"] == "not_yet" for it in report["items"] if it["id"] in ITEMS_00)
    assert not any(c["passed"] for c in run.notebook("untouched.py")["checks"])


@pytest.mark.notebook
def test_check_leaves_the_learners_files_byte_identical(runs):
    # every notebook given to `check` is unchanged, and nothing appeared next to them (no .ipynb, no outputs)
    assert runs["after"] == runs["before"]
    assert runs["solution"].notebook("solved.py")["sha256"] == _sha(SOLUTION)
    assert runs["exercise"].notebook("untouched.py")["sha256"] == runs["before"]["learner/untouched.py"]


@pytest.mark.notebook
def test_json_report_schema(runs):
    report = runs["solution"].report
    assert report["format"] == checklist.FORMAT == 1
    assert report["course_version"] == coursekit.__version__
    assert report["learner"] == "ana" and report["lang"] == "en"
    assert datetime.fromisoformat(report["date"]).tzinfo is not None
    (nb,) = report["notebooks"]
    assert set(nb) >= {"path", "sha256", "status", "message", "checks"} and len(nb["sha256"]) == 64
    for c in nb["checks"]:
        assert set(c) >= {"check_id", "passed", "message", "seconds"}
        assert isinstance(c["passed"], bool) and c["seconds"] >= 0
    assert [it["id"] for it in report["items"]] == [i.id for i in checklist.load_checklist()]
    for it in report["items"]:
        assert it["status"] in checklist.STATUSES
        for e in it["evidence"]:
            assert set(e) == {"check_id", "notebook", "passed", "message"}
    # the reports `check` writes are exactly what `report` accepts
    assert reports.load_report(runs["solution"].report_path)["learner"] == "ana"


# ---------------------------------------------------------------------------------------------
# failure modes: each reported clearly, the other notebooks and checks still reported


@pytest.mark.notebook
def test_a_syntax_error_fails_its_cell_and_the_other_checks_still_run(runs):
    run = runs["failures"]
    assert run.rc == 1
    nb = run.notebook("syntax.py")
    assert nb["status"] == "checked"
    assert run.check("syntax.py", "tiny-a")["passed"]
    b = run.check("syntax.py", "tiny-b")
    assert not b["passed"] and "NameError" in b["message"] and "SyntaxError" in b["message"]
    assert nb["errors"][0]["cell"] == 3 and "SyntaxError" in nb["errors"][0]["message"]
    # nbval markers in the learner's notebook (raises-exception, NBVAL_SKIP) do not excuse a check
    c = run.check("syntax.py", "tiny-c")
    assert not c["passed"] and c["message"].startswith("AssertionError: x = 1, expected 2")
    assert "SyntaxError: invalid syntax" in run.out and "AssertionError: x = 1, expected 2" in run.out


@pytest.mark.notebook
def test_a_cell_that_never_finishes_times_out_and_the_rest_still_runs(runs):
    run = runs["failures"]
    loop = run.check("loop.py", "tiny-loop")
    assert not loop["passed"] and loop["outcome"] == "timed_out"
    assert loop["message"].startswith("timed out after 5 s")
    assert run.check("loop.py", "tiny-after-loop")["passed"]
    assert "✗ tiny-loop: timed out after 5 s" in run.out


@pytest.mark.notebook
def test_a_dying_kernel_is_reported_and_the_rest_marked_not_run(runs):
    run = runs["failures"]
    nb = run.notebook("dies.py")
    assert nb["status"] == "incomplete" and "kernel died in code cell 2" in nb["message"]
    assert run.check("dies.py", "tiny-before")["passed"]
    after = run.check("dies.py", "tiny-after")
    assert not after["passed"] and after["outcome"] == "not_run" and "kernel died" in after["message"]
    notebook_seconds = nb["seconds"]
    assert notebook_seconds < 60  # noticed at once, not after the 5 s x N cell timeouts nbval would wait


@pytest.mark.notebook
def test_missing_unreadable_and_non_exercise_notebooks_are_named(runs):
    run = runs["failures"]
    assert run.notebook("missing.py")["status"] == "not_found"
    assert "not found: missing.py" in run.out
    assert run.notebook("truncated.ipynb")["status"] == "unreadable"
    assert "truncated.ipynb: could not read it" in run.out
    plain = run.notebook("plain.py")
    assert plain["status"] == "no_checks" and "not an exercise notebook" in plain["message"]
    assert "not an exercise notebook" in run.out


@pytest.mark.notebook
def test_the_whole_notebook_limit_stops_a_hanging_notebook(runs):
    run = runs["guard"]
    nb = run.notebook("slow.py")
    # the limit bounds the notebook's run (kernel start included), not Python's start-up before it
    assert run.rc == 1 and nb["seconds"] < 45
    assert nb["status"] == "incomplete" and "stopped after 12 s" in nb["message"]
    slow = run.check("slow.py", "tiny-slow")
    assert not slow["passed"] and "stopped after 12 s" in slow["message"]


# ---------------------------------------------------------------------------------------------
# the logic, without kernels

ITEMS = [
    Item("A", "Item A", "条目 A", ("c1", "c2")),
    Item("B", "Item B", "条目 B", ("c3",)),
    Item("C", "Item C", "条目 C", ()),
    Item("D", "Item D", "条目 D", ("c9",)),
]


def _nb(path: str, *checks: tuple[str, bool]) -> NotebookResult:
    return NotebookResult(path, "checked", "ok", "0" * 64,
                          [CheckResult(cid, ok, "passed" if ok else "failed", "" if ok else f"{cid} is wrong")
                           for cid, ok in checks])


def test_evaluate_rules():
    index = notebooks.CourseIndex(ROOT, "en", notebook_of={"c9": "exercises/en/09_x.py",
                                                           "c2": "exercises/en/02_y.py"})
    nbs = [_nb("one.py", ("c1", True), ("c3", False))]
    st = {s.id: s for s in checklist.evaluate(nbs, ITEMS, index)}
    assert st["A"].status == "evidenced" and st["A"].note == "exercises/en/02_y.py"  # c2 not checked
    assert st["B"].status == "not_yet" and st["B"].evidence[0].message == "c3 is wrong"
    assert st["C"].status == "not_covered"
    assert st["D"].status == "not_checked" and st["D"].note == "exercises/en/09_x.py"
    assert checklist.exit_code(nbs, list(st.values())) == 1
    good = [_nb("one.py", ("c1", True), ("c3", True))]
    assert checklist.exit_code(good, checklist.evaluate(good, ITEMS, index)) == 0
    # a check that fails in any of the checked notebooks keeps its item "not yet"
    two = [_nb("en.py", ("c3", True)), _nb("zh.py", ("c3", False))]
    assert {s.id: s.status for s in checklist.evaluate(two, ITEMS)}["B"] == "not_yet"
    # a notebook that could not be checked makes the exit code non-zero
    missing = NotebookResult("gone.py", "not_found", "not found")
    assert checklist.exit_code(good + [missing], checklist.evaluate(good, ITEMS)) == 1


def test_render_text_in_both_languages():
    nbs = [_nb("one.py", ("c1", True), ("c2", True), ("c3", False))]
    index = notebooks.CourseIndex(ROOT, "zh", notebook_of={"c9": "exercises/zh/09_x.py"})
    st = checklist.evaluate(nbs, ITEMS, index)
    en = render.render_text(nbs, st, ITEMS, lang="en")
    assert "✓ A   Item A" in en and "evidenced: c1 ✓, c2 ✓" in en
    assert "✗ B   Item B" in en and "✗ c3: c3 is wrong" in en
    assert "not covered by the course yet" in en and "run `coursekit check exercises/zh/09_x.py`" in en
    zh = render.render_text(nbs, st, ITEMS, lang="zh")
    assert "条目 A" in zh and "已达成" in zh and "尚未达成" in zh and "课程尚未覆盖" in zh and "未检查" in zh
    assert "Item A" not in zh


def test_modified_and_missing_check_cells_do_not_count(tmp_path):
    course = tmp_path / "course"
    (course / "exercises" / "en").mkdir(parents=True)
    (course / "exercises" / "en" / "05_z.py").write_text(
        '# %% tags=["check"] check_id="z1"\nassert f(2) == 4  # the check\n\n'
        '# %% tags=["check"] check_id="z2"\nassert f(3) == 9\n', encoding="utf-8")
    index = notebooks.course_index(course, "en")
    assert index.checks_of == {"exercises/en/05_z.py": ["z1", "z2"]}
    cells = [(0, "z1", "# comments may change\nassert f(2) == 4   # fine\n")]
    result = _nb("mine.py", ("z1", True))
    notebooks.apply_course_checks(result, cells, index, "en")
    assert [(c.check_id, c.passed, c.outcome) for c in result.checks] == [("z1", True, "passed"),
                                                                         ("z2", False, "missing")]
    result = _nb("mine.py", ("z1", True))
    notebooks.apply_course_checks(result, [(0, "z1", "assert True\n")], index, "en")
    assert result.checks[0].outcome == "modified" and "differs from the course's" in result.checks[0].message
    # a second, trivial copy of a check cell under the same id is caught too, and fails its item
    result = _nb("mine.py", ("z1", True), ("z1", True), ("z2", True))
    cells = [(0, "z1", "assert f(2) == 4\n"), (1, "z1", "pass\n"), (2, "z2", "assert f(3) == 9\n")]
    notebooks.apply_course_checks(result, cells, index, "en")
    assert [c.outcome for c in result.checks] == ["passed", "modified", "passed"]
    items = [Item("Z", "z", "z", ("z1", "z2"))]
    assert checklist.evaluate([result], items)[0].status == "not_yet"


def test_the_course_solutions_match_their_exercise_check_cells(tmp_path):
    # hidden tests and comments aside, a solution's check cells are the exercise's: solutions pass as-is
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    index = notebooks.course_index(tmp_path, "en")
    assert index.tokens
    for path in sorted((ROOT / "solutions").glob("*/*.py")):
        result = NotebookResult(str(path), "checked")
        cells = notebooks.check_cells(notebooks.read_notebook(path))
        result.checks = [CheckResult(cid, True, "passed") for _, cid, _ in cells]
        notebooks.apply_course_checks(result, cells, index, "en")
        assert all(c.passed for c in result.checks), f"{path}: {[c for c in result.checks if not c.passed]}"


def test_check_defaults_to_every_exercise_of_the_language(monkeypatch, capsys):
    seen = []

    def fake_run(path, **kwargs):
        seen.append((Path(path), kwargs["lang"], kwargs["timeout"]))
        return NotebookResult(str(path), "checked", "ok", "0" * 64, [])

    monkeypatch.setattr(notebooks, "check_notebook", fake_run)
    assert main(["check", "--lang", "zh", "--timeout", "7"]) == 0
    folder = ROOT / "exercises" / "zh"
    assert [p for p, _, _ in seen] == sorted(folder.glob("*.py")) + sorted(folder.glob("*.ipynb"))
    assert {(lang, t) for _, lang, t in seen} == {("zh", 7.0)}
    out = capsys.readouterr().out
    assert "结业清单" in out
    # the commands it prints keep the flag the learner typed
    assert "`coursekit check exercises/zh/01_knowledge_distillation.py --lang zh`" in out


def test_check_answers_in_the_notebooks_language_without_lang(monkeypatch, capsys):
    seen = []

    def fake_run(path, **kwargs):
        seen.append(kwargs["lang"])
        return NotebookResult(str(path), "checked", "ok", "0" * 64, [])

    monkeypatch.setattr(notebooks, "check_notebook", fake_run)
    main(["check", str(EXERCISE_ZH)])
    out = capsys.readouterr().out
    assert seen == ["zh"] and "结业清单" in out and "Lighter & Faster" not in out
    assert "`coursekit check exercises/zh/01_knowledge_distillation.py`" in out  # no flag was typed


def test_the_kernel_gets_the_notebooks_language(monkeypatch, tmp_path):
    from coursekit.course import runner

    seen = {}

    def fake_execute(sources, **kwargs):
        seen.update(kwargs)
        return runner.Execution([runner.CellRun(i, "error", "AssertionError", "错了") for i in range(len(sources))])

    monkeypatch.setattr(runner, "execute", fake_execute)
    (tmp_path / "zh").mkdir()
    nb = tmp_path / "zh" / "mine.py"
    nb.write_text('# %% tags=["check"] check_id="tiny-zh"\nassert False, tr("wrong", "错了")\n', encoding="utf-8")
    result = notebooks.check_notebook(nb)
    assert seen["lang"] == "zh" and seen["cwd"] == nb.parent.resolve()
    assert result.message == "共 1 项检查：0 项通过，1 项尚未通过"
    assert result.checks[0].message == "AssertionError: 错了"
    notebooks.check_notebook(nb, lang="en")  # English messages, but the kernel still gets the notebook's language
    assert seen["lang"] == "zh"


@pytest.mark.parametrize("args, message", [
    (["--timeout", "-1"], "The 'timeout' parameter of coursekit --timeout must be a float in the range (0, inf). "
                          "Got -1.0 instead."),
    (["--timeout", "soon"], "--timeout must be a number of seconds, got 'soon'"),
    (["--lang", "fr"], "invalid choice: 'fr'"),
])
def test_bad_check_arguments_give_a_clear_message(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "x.py", *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_an_empty_learner_name_is_refused_before_anything_runs(capsys):
    assert main(["check", "x.py", "--learner", " "]) == 2
    assert "The 'learner' parameter of coursekit check must be a non-empty name" in capsys.readouterr().err


def test_check_notebook_validates_its_arguments():
    with pytest.raises(ValueError, match=r"The 'timeout' parameter of check_notebook must be a float in the range \(0, inf\)"):
        notebooks.check_notebook("x.py", timeout=0)
    with pytest.raises(ValueError, match="The 'lang' parameter of check_notebook must be one of"):
        notebooks.check_notebook("x.py", lang="fr")


# ---------------------------------------------------------------------------------------------
# report: the class table


def _report(tmp_path: Path, name: str, learner: str, passes: dict[str, bool], *, date: str, **changes) -> Path:
    nbs = [_nb("00.py", *passes.items())]
    items = checklist.load_checklist()
    data = checklist.build_report(nbs, checklist.evaluate(nbs, items), learner=learner, date=date)
    data.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_report_builds_the_class_table_and_names_the_rejected_files(tmp_path, capsys):
    ok = {"ex00-conv-params": True, "ex00-conv-flops": True, "ex00-latency": True}
    half = {"ex00-conv-params": True, "ex00-conv-flops": True, "ex00-latency": False}
    files = [
        _report(tmp_path, "ana.json", "ana", ok, date="2025-03-01T10:00:00+08:00"),
        _report(tmp_path, "bo.json", "bo", half, date="2025-03-01T10:05:00+08:00"),
        _report(tmp_path, "chen.json", "陈晨", ok, date="2025-03-01T10:06:00+08:00"),
        _report(tmp_path, "ana-old.json", "ana", {}, date="2025-02-20T09:00:00+08:00"),
        _report(tmp_path, "old-version.json", "dee", ok, date="2025-03-01T10:07:00+08:00", course_version="0.0.1"),
    ]
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": 1, "learner": "eve", ', encoding="utf-8")
    wrong_format = tmp_path / "format2.json"
    wrong_format.write_text(json.dumps({"format": 2, "learner": "fay"}), encoding="utf-8")
    out_csv, out_md = tmp_path / "out" / "class.csv", tmp_path / "out" / "class.md"
    rc = main(["report", *map(str, files), str(bad), str(wrong_format), "--csv", str(out_csv),
               "--markdown", str(out_md)])
    out, err = capsys.readouterr()
    assert rc == 1  # some reports were rejected ...
    assert f"{bad}: not valid JSON" in err and f"{wrong_format}: unsupported report format 2" in err
    assert "old-version.json: written by course version 0.0.1" in err
    assert "learner 'ana' has two reports: kept" in err and "ana-old.json" in err
    assert "3 of 7 report(s) rejected" in err

    # ... but the table of the valid ones is complete
    rows = list(csv.reader(out_csv.read_text(encoding="utf-8-sig").splitlines()))
    header = rows[0]
    assert header[0] == "learner" and header[1:13] == [i.id for i in checklist.load_checklist()]
    table = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert list(table) == ["ana", "bo", "陈晨", "evidenced by"]
    assert table["ana"]["T4"] == "✓" and table["ana"]["E3"] == "✓" and table["ana"]["U1"] == "–"
    assert table["bo"]["T4"] == "✓" and table["bo"]["E3"] == "✗"
    assert table["ana"]["evidenced"] == "2/12" and table["bo"]["evidenced"] == "1/12"
    assert table["evidenced by"]["T4"] == "3/3" and table["evidenced by"]["E3"] == "2/3"
    assert table["evidenced by"]["U1"] == "0/3"

    md = out_md.read_text(encoding="utf-8")
    assert "| learner | U1 | U2 |" in md and "| bo | – |" in md and "| 陈晨 |" in md
    assert "| **evidenced by** |" in md and "3/3" in md
    assert "broken.json" in md and "old-version.json" in md  # listed as not included
    assert "ana " in out and "陈晨" in out and "evidenced by" in out


def test_report_with_only_valid_files_exits_0_and_speaks_chinese(tmp_path, capsys):
    ok = {"ex00-conv-params": True, "ex00-conv-flops": True, "ex00-latency": True}
    files = [_report(tmp_path, f"{n}.json", n, ok, date="2025-03-01T10:00:00Z") for n in ("a", "b", "c")]
    assert main(["report", *map(str, files), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "全班结业清单" in out and "达成人数" in out and "3/3" in out


def test_report_rejects_files_that_are_not_reports(tmp_path):
    cases = {
        "list.json": "[1, 2]",
        "nolearner.json": json.dumps({"format": 1, "course_version": "0.1.0", "date": "2025-01-01",
                                      "items": [], "notebooks": []}),
        "baddate.json": json.dumps({"format": 1, "course_version": "0.1.0", "learner": "x", "date": "yesterday",
                                    "items": [], "notebooks": []}),
        "badstatus.json": json.dumps({"format": 1, "course_version": "0.1.0", "learner": "x",
                                      "date": "2025-01-01", "notebooks": [],
                                      "items": [{"id": "U1", "status": "great"}]}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    table = reports.combine_reports([tmp_path / n for n in cases] + [tmp_path / "absent.json"])
    reasons = dict(table.rejected)
    assert table.rows == [] and len(reasons) == 5
    assert "a JSON object was expected" in reasons[str(tmp_path / "list.json")]
    assert "'learner' is missing" in reasons[str(tmp_path / "nolearner.json")]
    assert "not an ISO-8601 date" in reasons[str(tmp_path / "baddate.json")]
    assert "unknown status" in reasons[str(tmp_path / "badstatus.json")]
    assert "could not read it" in reasons[str(tmp_path / "absent.json")]
