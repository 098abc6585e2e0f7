"""One voice for argument errors, after scikit-learn.

Every public function in coursekit checks its arguments with these helpers, so a bad value
always produces the same kind of message::

    The 'sparsity' parameter of magnitude_prune must be a float in the range [0, 1). Got 1.5 instead.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable


def _fmt(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a bound of 0.0 reads "0", as the user would write it
    return str(value)


def _range_text(low: float | None, high: float | None, closed: str) -> str:
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    lo = "-inf" if low is None else _fmt(low)
    hi = "inf" if high is None else _fmt(high)
    if low is None:
        left = "("
    if high is None:
        right = ")"
    return f"{left}{lo}, {hi}{right}"


def _fail(name: str, func: str, expected: str, value: object, exc=ValueError, hint: str = "",
          got: str | None = None):
    got = _fmt(value) if got is None else got
    msg = f"The '{name}' parameter of {func} must be {expected}. Got {got} instead."
    if hint:
        msg += f" {hint}"
    raise exc(msg)


def check_int(name: str, value, func: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` if it is an int within [low, high], else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        _fail(name, func, f"an int in the range {_range_text(low, high, 'both')}", value, TypeError)
    if (low is not None and value < low) or (high is not None and value > high):
        _fail(name, func, f"an int in the range {_range_text(low, high, 'both')}", value)
    return int(value)


def check_float(
    name: str, value, func: str, *, low: float | None = None, high: float | None = None,
    closed: str = "both",
) -> float:
    """Return ``float(value)`` if it is a real number in the interval, else raise.

    ``closed`` says which ends belong to the interval: "both", "left", "right" or "neither".
    """
    expected = f"a float in the range {_range_text(low, high, closed)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(name, func, expected, value, TypeError)
    number = float(value)
    if math.isnan(number):
        _fail(name, func, expected, value)
    lo_ok = low is None or (number >= low if closed in ("both", "left") else number > low)
    hi_ok = high is None or (number <= high if closed in ("both", "right") else number < high)
    if not (lo_ok and hi_ok):
        _fail(name, func, expected, value, got=repr(value))  # the value exactly as it was passed
    return number


def check_choice(name: str, value, func: str, choices: Iterable) -> object:
    """Return ``value`` if it is one of ``choices``, else raise listing them."""
    choices = list(choices)
    if value not in choices:
        listed = ", ".join(_fmt(c) for c in choices)
        _fail(name, func, f"one of {{{listed}}}", value)
    return value


def check_type(name: str, value, func: str, types, description: str | None = None):
    """Return ``value`` if it is an instance of ``types``, else raise TypeError."""
    if not isinstance(value, types):
        if description is None:
            names = types if isinstance(types, tuple) else (types,)
            description = "a " + " or ".join(t.__name__ for t in names)
        _fail(name, func, description, value, TypeError, got=f"{_short(value)} (type {type(value).__name__})")
    return value


def check_callable(name: str, value, func: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if not callable(value):
        _fail(name, func, "a callable" + (" or None" if allow_none else ""), value, TypeError)
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
