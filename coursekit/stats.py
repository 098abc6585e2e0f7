"""Honest comparisons: claims a lesson makes about its own measurements, and results over seeds.

``claim(ok, en, zh)`` replaces ``assert`` in lesson cells: it prints a ✓ or ✗ line in the learner's
language, so a result that differs on another CPU or torch version is shown, not turned into a bare
``AssertionError`` that stops a class. The course's tests set ``COURSEKIT_STRICT_CLAIMS=1``, under
which a false claim raises, so a lesson whose claim stops being true still fails its test.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from coursekit._validate import check_float, check_type
from coursekit.i18n import tr

__all__ = ["ClaimFailed", "SeedComparison", "claim", "compare_seeds", "strict_claims"]


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


@dataclass(frozen=True)
class SeedComparison:
    """Two sets of results over the same seeds (e.g. accuracies): is the difference bigger than the noise?"""

    baseline_mean: float
    baseline_std: float  # sample standard deviation over seeds
    treated_mean: float
    treated_std: float
    difference: float  # treated_mean - baseline_mean
    spread: float  # the larger of the two standard deviations
    exceeds_spread: bool  # |difference| > spread
    seeds: int

    def __repr__(self) -> str:
        return (f"SeedComparison(baseline={self.baseline_mean:.4f}±{self.baseline_std:.4f}, "
                f"treated={self.treated_mean:.4f}±{self.treated_std:.4f}, difference={self.difference:+.4f}, "
                f"spread={self.spread:.4f}, exceeds_spread={self.exceeds_spread}, seeds={self.seeds})")


def compare_seeds(baseline: Sequence[float], treated: Sequence[float]) -> SeedComparison:
    """Mean ± std of two result lists (one value per seed) and whether their means differ by more
    than the larger standard deviation. A rule of thumb for a handful of seeds, not a significance test."""
    func = "compare_seeds"
    check_type("baseline", baseline, func, (list, tuple), "a list of numbers, one per seed")
    check_type("treated", treated, func, (list, tuple), "a list of numbers, one per seed")
    if len(baseline) < 2 or len(baseline) != len(treated):
        raise ValueError("The 'baseline' and 'treated' parameters of compare_seeds must hold the same number "
                         f"(at least 2) of results, one per seed. Got {len(baseline)} and {len(treated)} instead.")
    b = [check_float("baseline", v, func) for v in baseline]
    t = [check_float("treated", v, func) for v in treated]
    bm, tm, bs, ts = statistics.fmean(b), statistics.fmean(t), statistics.stdev(b), statistics.stdev(t)
    spread = max(bs, ts)
    return SeedComparison(bm, bs, tm, ts, tm - bm, spread, abs(tm - bm) > spread, len(b))
