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


# ---------------------------------------------------------------------------------------------
# Lesson helpers (issue 13, "teach"): the statistics the lessons used to write inline, as one-line
# calls. Kept in one block at the end of the file so that other additions merge cleanly.

import json as _json  # noqa: E402
import statistics as _statistics  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

from coursekit._validate import check_choice as _check_choice  # noqa: E402
from coursekit._validate import check_float as _check_float  # noqa: E402

__all__ += ["MeanComparison", "compare_means", "ratio_range", "reference", "reference_path", "seed_verdict",
            "speed_verdict"]


def _values(name: str, values, func: str) -> list[float]:
    try:
        out = [float(v) for v in values]
    except TypeError:
        raise TypeError(f"The '{name}' parameter of {func} must be a list of numbers. "
                        f"Got {type(values).__name__} instead.") from None
    if not out:
        raise ValueError(f"The '{name}' parameter of {func} must hold at least one number. Got [] instead.")
    return out


def ratio_range(a, b) -> tuple[float, float]:
    """The lowest and highest ratio ``a / b`` that repeated measurements of each allow.

    ``a`` and ``b`` are repeated measurements (e.g. three medians of the same latency): the ratio can be
    as low as ``min(a) / max(b)`` and as high as ``max(a) / min(b)``. A predicted ratio outside that
    range is contradicted by the measurements; inside it, the noise cannot tell.
    """
    a, b = _values("a", a, "ratio_range"), _values("b", b, "ratio_range")
    if min(b) <= 0:
        raise ValueError(f"The 'b' parameter of ratio_range must hold positive numbers. Got {min(b)} instead.")
    return min(a) / max(b), max(a) / min(b)


@_dataclass(frozen=True)
class MeanComparison:
    """Two sets of results over seeds, and who is ahead by more than the noise (see :func:`compare_means`)."""

    baseline_mean: float
    baseline_std: float
    treated_mean: float
    treated_std: float
    difference: float  # treated_mean - baseline_mean
    noise: float  # the larger std over seeds, raised to ``floor``
    ahead: str  # "treated", "baseline" or "within noise"

    def line(self, label: str, baseline: str = "baseline", treated: str = "treated", *, fmt: str = ".4f",
             scale: float = 1.0) -> str:
        """One printed line: both means ± std, the difference, the noise, and the verdict."""
        s = scale
        winner = {"treated": treated, "baseline": baseline}.get(self.ahead, "within noise")
        return (f"{label}: {baseline} {s * self.baseline_mean:{fmt}} ± {s * self.baseline_std:{fmt}}   "
                f"{treated} {s * self.treated_mean:{fmt}} ± {s * self.treated_std:{fmt}}   "
                f"difference {s * self.difference:+{fmt}} (noise {s * self.noise:{fmt}}) → {winner}")


def compare_means(baseline, treated, *, higher_is_better: bool = True, floor: float = 0.0) -> MeanComparison:
    """Compare results over seeds: ahead only if the difference of the means exceeds the noise.

    The noise is the larger sample standard deviation of the two (0 for a single value), but never
    less than ``floor`` (for an accuracy: one test image, the smallest change it can show). A rule
    of thumb for a handful of seeds, not a significance test.
    """
    func = "compare_means"
    a, b = _values("baseline", baseline, func), _values("treated", treated, func)
    floor = _check_float("floor", floor, func, low=0)

    def std(v):
        return _statistics.stdev(v) if len(v) > 1 else 0.0

    diff = _statistics.fmean(b) - _statistics.fmean(a)
    noise = max(std(a), std(b), floor)
    if abs(diff) <= noise:
        ahead = "within noise"
    else:
        ahead = "treated" if (diff > 0) == bool(higher_is_better) else "baseline"
    return MeanComparison(_statistics.fmean(a), std(a), _statistics.fmean(b), std(b), diff, noise, ahead)


def seed_verdict(comparison, baseline: str, treated: str) -> str:
    """An honest sentence about a comparison of accuracies over seeds (a ``SeedComparison``).

    Needs the attributes ``baseline_mean``, ``baseline_std``, ``treated_mean``, ``treated_std``,
    ``difference``, ``spread``, ``seeds`` and ``exceeds_spread``.
    """
    c = comparison
    diff, spread = 100 * c.difference, 100 * c.spread
    text = (f"{treated}: {100 * c.treated_mean:.2f} ± {100 * c.treated_std:.2f} %, "
            f"{baseline}: {100 * c.baseline_mean:.2f} ± {100 * c.baseline_std:.2f} % "
            f"(mean ± std over {c.seeds} seeds). ")
    if c.exceeds_spread:
        return text + (f"The difference, {diff:+.2f} points, is larger than the spread over seeds "
                       f"({spread:.2f} points): {treated} {'wins' if diff > 0 else 'loses'}.")
    return text + (f"The difference, {diff:+.2f} points, is within the spread over seeds ({spread:.2f} "
                   f"points): with these seeds we cannot tell the two apart.")


def speed_verdict(row, control=None, baseline: str = "dense") -> str:
    """"faster than …", "slower than …" or "same speed as …, within the noise" for a timed row.

    ``row`` (and the ``control`` row of a model identical to the baseline) need a
    ``judge(ratio, control)`` method returning "above", "below" or "within noise", as
    ``coursekit`` speed comparisons have.
    """
    judged = row.judge(1.0, control)
    _check_choice("judge()", judged, "speed_verdict", ["above", "below", "within noise"])
    return {"above": f"faster than {baseline}", "below": f"slower than {baseline}",
            "within noise": f"same speed as {baseline}, within the noise"}[judged]


def reference_path(name: str) -> _Path:
    """Where the benchmark ``name`` records its results: ``benchmarks/results/<name>.json``."""
    return _Path(__file__).resolve().parents[1] / "benchmarks" / "results" / f"{name}.json"


def reference(name: str, key: str | None = None):
    """Results the benchmark ``name`` recorded on the course's machine (``None`` when not recorded).

    The lessons print these next to their own run-time verdicts ("on our machine: …"), so a learner
    has an anchor; they are written by the benchmark scripts (e.g. ``benchmarks/distill_results.py
    --record``), never typed in by hand. ``key`` picks one entry of the recorded dict.
    """
    path = reference_path(name)
    if not path.is_file():
        return None
    data = _json.loads(path.read_text(encoding="utf-8"))
    return data if key is None else data.get("results", {}).get(key)


def describe_reference(entry, *, scale: float = 100.0, unit: str = " %") -> str:
    """``entry`` recorded by a benchmark (``{"baseline": [...], "treated": [...], "seeds": [...], ...}``)
    as one short phrase: the range of each arm over the recorded seeds."""
    if not entry:
        return tr("no reference recorded (run the benchmark)", "尚未记录参考结果（请运行基准脚本）")
    parts = []
    for arm in ("baseline", "treated"):
        values = entry.get(arm) or []
        if values:
            label = entry.get(f"{arm}_name", arm)
            parts.append(f"{label} {scale * min(values):.2f}–{scale * max(values):.2f}{unit}")
    seeds = entry.get("seeds") or []
    text = ", ".join(parts)
    if seeds:
        text += f" over seeds {seeds[0]}–{seeds[-1]}"
    if entry.get("verdict"):
        text += f", {entry['verdict']}"
    return text


__all__ += ["describe_reference"]
