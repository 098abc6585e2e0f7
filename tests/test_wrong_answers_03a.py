"""Each check of solutions/en/03_quantization.py fails on plausible wrong answers (see tests/wrong_answers.py)."""

import pytest

from tests.wrong_answers import cases, run_wrong_answer


@pytest.mark.notebook
@cases("03_quantization", part=0, parts=2)
def test_check_fails_on_wrong_answer(stem, region, code, check_id, why):
    run_wrong_answer(stem, region, code, check_id, why)
