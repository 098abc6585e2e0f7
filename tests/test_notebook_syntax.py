"""Every code cell of every lesson, solution and exercise compiles (IPython syntax included).

The Chinese notebooks are not executed by the suite (their code cells are the English ones:
tests/test_course_files.py); this is what proves that nothing in them is broken Python.
"""

from pathlib import Path

import jupytext
import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for kind in ("notebooks", "solutions", "exercises") for p in (ROOT / kind).glob("*/*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_every_code_cell_compiles(path):
    transform = TransformerManager().transform_cell
    code = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    for k, cell in enumerate(code, 1):
        try:
            compile(transform(cell.source), f"{path.name}, code cell {k}", "exec")
        except SyntaxError as exc:
            pytest.fail(f"{path.relative_to(ROOT)}: code cell {k} does not compile: {exc}")


def test_a_broken_cell_is_caught():
    with pytest.raises(SyntaxError):
        compile(TransformerManager().transform_cell("def f(:\n    pass\n"), "cell", "exec")
