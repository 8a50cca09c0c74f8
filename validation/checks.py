"""The unit of a validation verdict (:class:`Check`) and the sampling-noise allowances behind it.

A check *fails* when its figure is beyond what the data can be blamed for: the larger of the
configured tolerance (``constants.VALIDATION_THRESHOLDS``) and the distance that sampling noise alone
could produce with this many rows (``constants.VALIDATION_NOISE_FACTOR`` times its expected size).
So a 12-row campaign table is not failed for being a small sample, and a million-row table is held
to the tolerance itself.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import constants

PASS, FAIL, WARN, SKIP, INFO = "pass", "fail", "warn", "skip", "info"
# Expected |N(0, s)| is s * sqrt(2 / pi); a TVD is half the sum of such deviations over the categories.
_MEAN_ABS = math.sqrt(2 / math.pi)
# Two-sided normal quantile for the Pearson allowance (alpha = 0.001).
_Z = 3.29


@dataclass
class Check:
    """One verdict: what was checked, pass/fail/warn/skip/info, the figure and the bar it was held to."""

    category: str
    name: str
    status: str
    figure: float | None = None
    threshold: float | None = None
    detail: str = ""

    def to_dict(self) -> dict:
        """JSON-ready."""
        out = asdict(self)
        for key in ("figure", "threshold"):
            out[key] = None if out[key] is None else round(float(out[key]), 6)
        return out


def _noise(expected: float) -> float:
    return constants.VALIDATION_NOISE_FACTOR * expected


def effective_n(n1: int, n2: int | None = None) -> float:
    """Effective sample size of a two-sample comparison (``n1`` alone for a fixed reference)."""
    if n2 is None:
        return float(max(n1, 1))
    return max(n1 * n2 / max(n1 + n2, 1), 1.0)


def ks_allowance(n1: int, n2: int) -> float:
    """KS distance sampling noise can produce between samples of ``n1`` and ``n2`` rows.

    The expected two-sample KS statistic under the null is about 0.87 / sqrt(n_eff).
    """
    return _noise(0.87 / math.sqrt(effective_n(n1, n2)))


def tvd_allowance(categories: int, n1: int, n2: int | None = None) -> float:
    """TVD sampling noise can produce over ``categories`` cells (worst case: equal shares)."""
    spread = math.sqrt(max(categories - 1, 0))  # max of sum sqrt(p(1-p)) over k cells
    return _noise(0.5 * _MEAN_ABS * spread / math.sqrt(effective_n(n1, n2)))


def pearson_allowance(n1: int, n2: int) -> float:
    """Difference of two Pearson correlations that noise can produce (alpha 0.001, r near 0)."""
    return _Z * math.sqrt(1 / max(n1 - 3, 1) + 1 / max(n2 - 3, 1))


def cramers_allowance(levels_1: int, levels_2: int, n: int) -> float:
    """Cramér's V that independent columns reach by chance in ``n`` rows (chi2 at its mean + 3.29 sd)."""
    df = max(levels_1 - 1, 0) * max(levels_2 - 1, 0)
    smaller = max(min(levels_1, levels_2) - 1, 1)
    return math.sqrt((df + _Z * math.sqrt(2 * df)) / (max(n, 1) * smaller))


def verdict(passed: bool) -> str:
    """``pass`` or ``fail``."""
    return PASS if passed else FAIL


def summary(checks: list[Check]) -> dict:
    """Counts per status and the overall status (``fail`` when any check fails)."""
    counts = {status: sum(c.status == status for c in checks) for status in (PASS, FAIL, WARN, SKIP, INFO)}
    return {"status": FAIL if counts[FAIL] else PASS, "checks": len(checks), **counts}
