"""Exercise notebooks are generated from solution notebooks.

A solution marks the learner's part with nbgrader's markers::

    def median_latency(times):
        ### BEGIN SOLUTION  hint: lesson 00, section "Why the median"
        return sorted(times)[len(times) // 2]
        ### END SOLUTION

and the generated exercise replaces everything between the markers (the markers included) with
``raise NotImplementedError(...)`` at the marker's indentation. ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS`` regions are removed. Files are processed as text, line by line, so the
jupytext percent format (and every comment the author wrote) survives unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BEGIN", "END", "Region", "ExerciseError", "build", "find_regions", "make_exercise",
    "replace_regions", "stale_files", "verify",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
LANGS = ("en", "zh")
GENERATED_NOTE = {
    "en": "# %% [markdown]\n"
          "# > Exercise notebook, generated from `solutions/{lang}/{name}` by `python -m coursekit exercises build`.\n"
          "# > Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.\n",
    "zh": "# %% [markdown]\n"
          "# > 练习笔记本，由 `python -m coursekit exercises build` 从 `solutions/{lang}/{name}` 生成。\n"
          "# > 把每个 `raise NotImplementedError(...)` 换成你的代码，然后运行它下面的检查单元格。\n",
}
STUB_COMMENT = {
    "en": "# Exercise {n}: replace the next line with your code.",
    "zh": "# 练习 {n}：把下一行换成你的代码。",
}
HINT = {"en": " Hint: ", "zh": "提示："}


class ExerciseError(ValueError):
    """A solution file whose markers don't pair up."""


@dataclass(frozen=True)
class Region:
    start: int  # line index of the BEGIN marker
    end: int  # line index of the END marker
    indent: str
    hint: str


def find_regions(lines: list[str], begin: str = BEGIN, end: str = END, where: str = "") -> list[Region]:
    """The solution regions of ``lines``, in order; raises ExerciseError on unpaired markers."""
    regions, open_at = [], None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(begin):
            if open_at is not None:
                raise ExerciseError(f"{where}:{i + 1}: '{begin}' inside another region (opened at line {open_at + 1})")
            open_at = i
        elif stripped.startswith(end):
            if open_at is None:
                raise ExerciseError(f"{where}:{i + 1}: '{end}' without a matching '{begin}'")
            opener = lines[open_at]
            indent = opener[: len(opener) - len(opener.lstrip())]
            hint = opener.strip()[len(begin):].strip()
            hint = re.sub(r"^hint:\s*", "", hint)
            regions.append(Region(open_at, i, indent, hint))
            open_at = None
    if open_at is not None:
        raise ExerciseError(f"{where}:{open_at + 1}: '{begin}' is never closed with '{end}'")
    return regions


def replace_regions(text: str, replacements: dict[int, str], *, where: str = "") -> str:
    """Replace the body of solution region ``n`` (0-based) with ``replacements[n]``.

    The replacement is re-indented to the region's indentation; the markers stay. Tests use this to
    plant a plausible wrong answer in a solution and prove that its check fails.
    """
    lines = text.splitlines(keepends=True)
    regions = find_regions(lines, where=where)
    for n in replacements:
        if not 0 <= n < len(regions):
            raise ValueError(f"The region number {n} does not exist in {where or 'the text'}: it has {len(regions)} regions.")
    for n in sorted(replacements, reverse=True):
        r = regions[n]
        body = [r.indent + ln if ln.strip() else ln for ln in _dedent(replacements[n]).splitlines(keepends=True)]
        if body and not body[-1].endswith("\n"):
            body[-1] += "\n"
        lines[r.start + 1:r.end] = body
    return "".join(lines)


def _dedent(code: str) -> str:
    import textwrap

    return textwrap.dedent(code.strip("\n")) + "\n"


def make_exercise(text: str, *, lang: str = "en", name: str = "", where: str = "") -> str:
    """The exercise version of a solution notebook's text."""
    lines = text.splitlines(keepends=True)
    for r in reversed(find_regions(lines, BEGIN_HIDDEN, END_HIDDEN, where)):
        del lines[r.start:r.end + 1]
    regions = find_regions(lines, where=where)
    for n, r in reversed(list(enumerate(regions, start=1))):
        # the instruction is a comment in the learner's language; the code stays identical in en and zh
        comment = STUB_COMMENT[lang].format(n=n) + (HINT[lang] + r.hint if r.hint else "")
        # the message is read in either language, and the code must be the same in en/ and zh/: both, always
        message = f"Exercise {n}: not written yet (see the comment above) | 练习 {n}：还没写（见上方注释）"
        lines[r.start:r.end + 1] = [f"{r.indent}{comment}\n", f"{r.indent}raise NotImplementedError({message!r})\n"]
    if not regions:
        raise ExerciseError(f"{where}: no '{BEGIN}' region: not a solution notebook")
    out = "".join(lines)
    note = GENERATED_NOTE[lang].format(lang=lang, name=name)
    # the note goes right after the jupytext header so the kernel metadata stays first
    if out.startswith("# ---\n"):
        head_end = out.index("# ---\n", 6) + len("# ---\n")
        return out[:head_end] + "\n" + note + out[head_end:]
    return note + out


def _pairs(root: Path):
    for lang in LANGS:
        for src in sorted((root / "solutions" / lang).glob("*.py")):
            yield src, root / "exercises" / lang / src.name, lang


def _expected(src: Path, lang: str, root: Path) -> str:
    return make_exercise(src.read_text(encoding="utf-8"), lang=lang, name=src.name,
                         where=str(src.relative_to(root)))


def build(root: Path) -> list[Path]:
    """(Re)generate every exercise from its solution; returns the files written."""
    written = []
    for src, dst, lang in _pairs(root):
        text = _expected(src, lang, root)
        if not dst.exists() or dst.read_text(encoding="utf-8") != text:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(text, encoding="utf-8")
            written.append(dst)
    return written


def stale_files(root: Path) -> list[str]:
    """Problems that make ``exercises/`` differ from what ``build`` would write."""
    problems = []
    expected = set()
    for src, dst, lang in _pairs(root):
        expected.add(dst)
        if not dst.exists():
            problems.append(f"{dst.relative_to(root)} is missing")
        elif dst.read_text(encoding="utf-8") != _expected(src, lang, root):
            problems.append(f"{dst.relative_to(root)} differs from what {src.relative_to(root)} generates")
    for lang in LANGS:
        for dst in sorted((root / "exercises" / lang).glob("*.py")):
            if dst not in expected:
                problems.append(f"{dst.relative_to(root)} has no solution in solutions/{lang}/")
    return problems


def verify(root: Path) -> list[str]:
    """Alias of :func:`stale_files` for the CLI."""
    return stale_files(root)
