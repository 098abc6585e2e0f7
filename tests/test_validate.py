import pytest

from coursekit._validate import check_choice, check_float, check_int, check_type


def test_messages_name_parameter_function_range_and_value():
    with pytest.raises(ValueError) as info:
        check_float("sparsity", 1.5, "magnitude_prune", low=0.0, high=1.0, closed="left")
    assert str(info.value) == ("The 'sparsity' parameter of magnitude_prune must be a float in the range "
                               "[0, 1). Got 1.5 instead.")


def test_float_rejects_nan_bool_and_strings():
    with pytest.raises(ValueError):
        check_float("x", float("nan"), "f")
    with pytest.raises(TypeError):
        check_float("x", True, "f")
    with pytest.raises(TypeError, match="Got 'a' instead"):
        check_float("x", "a", "f")


def test_int_bounds_and_types():
    assert check_int("n", 3, "f", low=1, high=3) == 3
    with pytest.raises(ValueError, match=r"range \[1, 3\]"):
        check_int("n", 4, "f", low=1, high=3)
    with pytest.raises(TypeError):
        check_int("n", True, "f")


def test_choice_and_type():
    with pytest.raises(ValueError, match=r"one of \{'a', 'b'\}. Got 'c' instead."):
        check_choice("mode", "c", "f", ["a", "b"])
    with pytest.raises(TypeError, match=r"must be a int. Got 'x' \(type str\) instead."):
        check_type("n", "x", "f", int)
