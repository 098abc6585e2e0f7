"""Every check of every solution notebook fails on the plausible wrong answers in tests/wrong/<stem>.py.

One test per notebook (a new table tests/wrong/NN_name.py is picked up by itself); each runs all of
that notebook's wrong answers in one kernel (see tests/wrong_answers.py) and names every wrong
answer its check let through.
"""

import pytest

from tests.wrong_answers import STEMS, run_wrong_answers


@pytest.mark.notebook
@pytest.mark.usefixtures("pretrained_models")
@pytest.mark.parametrize("stem", STEMS)
def test_every_wrong_answer_fails_its_check(stem):
    passed = run_wrong_answers(stem)
    assert not passed, "these wrong answers passed their check:\n  " + "\n  ".join(passed)
