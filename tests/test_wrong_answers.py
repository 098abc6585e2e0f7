"""The wrong-answer runner itself (tests/wrong_answers.py).

The tables tests/wrong/<stem>.py are collected as tests by the conftest: one test per notebook, each
running all of that notebook's wrong answers in one kernel and naming every one its check let through
(`pytest tests/wrong/02_pruning.py`). Here: the runner finds the wrong answers a check lets through.
"""

import pytest

from tests.wrong_answers import run_wrong_answers

TINY = """# %%
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

# %% tags=["check"] check_id="tiny-double"
import random
x = random.randint(1, 1000)
assert double(x) == 2 * x, "double is wrong"

# %%
def square(x):
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION

# %% tags=["check"] check_id="tiny-square"
assert [square(v) for v in (2, 3)] == [4, 9]
"""


@pytest.mark.notebook
def test_the_runner_names_the_wrong_answers_a_check_lets_through(tmp_path):
    solution = tmp_path / "tiny.py"
    solution.write_text(TINY, encoding="utf-8")
    entries = [
        ("tiny", 0, "return x + x + 1", "tiny-double", "off by one"),
        ("tiny", 0, "return x + x", "tiny-double", "the same answer, written differently"),
        ("tiny", 1, "return x ** 2", "tiny-square", "also right"),
        ("tiny", 1, "return x * 2", "tiny-square", "double, not square"),
        ("tiny", 0, "return (", "tiny-double", "a syntax error: the old double is still defined"),
    ]
    passed = run_wrong_answers("tiny", entries=entries, solution=solution)
    assert passed == ["tiny-double (region 0): the same answer, written differently",
                      "tiny-square (region 1): also right"]
