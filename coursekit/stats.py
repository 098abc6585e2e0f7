"""Honest comparisons: claims a lesson makes about its own measurements, and results over seeds.

``claim(ok, en, zh)`` replaces ``assert`` in lesson cells: it prints a ✓ or ✗ line in the learner's
language, so a result that differs on another CPU or torch version is shown, not turned into a bare
``AssertionError`` that stops a class. The course's tests set ``COURSEKIT_STRICT_CLAIMS=1``, under
which a false claim raises, so a lesson whose claim stops being true still fails its test.
"""

from __future__ import annotations

import os

from coursekit.i18n import tr

__all__ = ["ClaimFailed", "claim", "strict_claims"]


class ClaimFailed(AssertionError):
    """A lesson's claim about its own measurement was false (raised only under strict claims)."""


def strict_claims() -> bool:
    """True when false claims must raise (``COURSEKIT_STRICT_CLAIMS=1``, set by the test suite)."""
    return os.environ.get("COURSEKIT_STRICT_CLAIMS", "") not in ("", "0", "false", "no")


def claim(ok: bool, en: str, zh: str | None = None) -> bool:
    """Print ``✓ text`` when ``ok``, else ``✗ text`` (with a note that the result differs here).

    ``en``/``zh`` are the claim in each language (``zh`` defaults to ``en``). Returns ``bool(ok)``.
    """
    ok = bool(ok)
    text = tr(en, zh if zh is not None else en)
    if ok:
        print(f"✓ {text}")
        return True
    note = tr("not so on this run: read the numbers above and say why",
              "本次运行不成立：请看上面的数字，想想为什么")
    print(f"✗ {text}  ({note})")
    if strict_claims():
        raise ClaimFailed(f"claim failed: {en}")
    return False
