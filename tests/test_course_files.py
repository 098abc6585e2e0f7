"""The course's files keep their promises: both languages, identical code, current exercises,
no committed .ipynb, conda and pip agree, and the code passes the linter."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
import tomllib
from pathlib import Path

import jupytext
import pytest
import yaml

from coursekit.course import exercises

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIRS = ("notebooks", "solutions", "exercises")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _names(folder: str, lang: str) -> set[str]:
    return {p.name for p in (ROOT / folder / lang).glob("*.py")}


def _code_without_comments(source: str) -> str:
    """The code of a cell with comments and blank lines removed (comments may be translated)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    kept = [(t.type, t.string) for t in tokens if t.type not in (tokenize.COMMENT, tokenize.NL)]
    return tokenize.untokenize(kept)


def _pairs():
    for folder in NOTEBOOK_DIRS:
        for name in sorted(_names(folder, "en") | _names(folder, "zh")):
            yield pytest.param(folder, name, id=f"{folder}/{name}")


@pytest.mark.parametrize("folder", NOTEBOOK_DIRS)
def test_both_languages_have_the_same_files(folder):
    assert _names(folder, "en") == _names(folder, "zh")


@pytest.mark.parametrize("folder, name", list(_pairs()))
def test_language_parity(folder, name):
    en_path, zh_path = ROOT / folder / "en" / name, ROOT / folder / "zh" / name
    assert en_path.exists() and zh_path.exists(), f"{name} must exist in en/ and zh/"
    en, zh = jupytext.read(en_path), jupytext.read(zh_path)
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in zh.cells], "same sequence of cell types"
    for i, (a, b) in enumerate(zip(en.cells, zh.cells)):
        assert a.metadata == b.metadata, f"cell {i}: metadata differs"
        if a.cell_type == "code":
            assert _code_without_comments(a.source) == _code_without_comments(b.source), \
                f"cell {i}: code differs between en and zh (only comments may differ)\n{a.source[:200]}"
        else:
            assert CJK.search(b.source), f"cell {i}: zh markdown cell has no Chinese: {b.source[:120]!r}"


@pytest.mark.parametrize("folder, name", list(_pairs()))
def test_notebooks_preselect_the_kernel(folder, name):
    for lang in ("en", "zh"):
        nb = jupytext.read(ROOT / folder / lang / name)
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{lang}/{name}: no kernelspec header"


def test_lessons_and_solutions_exist_in_pairs():
    assert _names("notebooks", "en"), "no lessons"
    assert _names("solutions", "en") == _names("exercises", "en")


def test_exercises_are_up_to_date():
    problems = exercises.stale_files(ROOT)
    assert not problems, "run `python -m coursekit exercises build`:\n" + "\n".join(problems)


def test_no_ipynb_committed():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert tracked.stdout.strip() == "", f"committed .ipynb files: {tracked.stdout}"


def _requirement_names(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        name = re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].strip().lower()
        out[name] = req.replace(" ", "")
    return out


def test_environment_yml_agrees_with_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    deps = _requirement_names(pyproject["project"]["dependencies"])
    assert env["channels"] == ["conda-forge"] and "python=3.11" in conda and "pip" in conda
    assert "-e .[dev]" in pip, "environment.yml must install the package with its dev extra"
    # every other package comes from pyproject through `-e .[dev]`; the one named here is torch,
    # installed first and pinned exactly as pyproject pins it (a CPU build)
    named = _requirement_names([p for p in pip if p != "-e .[dev]"])
    assert named == {"torch": deps["torch"]}, f"environment.yml names {named}; pyproject pins {deps['torch']}"
    assert set(conda) <= {"python=3.11", "pip"}, f"conda packages not in pyproject: {conda}"
    assert deps["torch"] == "torch==2.13.0"


def test_makefile_installs_the_same_pinned_torch():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "TORCH  := torch==2.13.0" in makefile


def test_no_runtime_downloads_in_course_code():
    pattern = re.compile(r"urlretrieve|download=True|requests\.get|hf_hub_download|urlopen")
    for folder in ("coursekit", "notebooks", "solutions", "exercises"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not pattern.search(path.read_text(encoding="utf-8")), f"possible download in {path}"


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "coursekit", "tests", "conftest.py",
                             "notebooks", "solutions", "exercises", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*/*.py")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lessons_turn_on_inline_figures(path):
    # coursekit.plots returns bare matplotlib Figures; without the inline backend a notebook shows
    # "<Figure size ...>" instead of the picture
    first_code = next(c for c in jupytext.read(path).cells if c.cell_type == "code")
    assert "%matplotlib inline" in first_code.source, f"{path.name}: put `# %matplotlib inline` in the first code cell"
