"""Realism: every metric of the calibration table, computed from a dataset's output tables, held to its band.

    from validation import realism
    lifecycle, why = realism.load_lifecycle("data")              # ground_truth/lifecycle.csv, or None and why
    result = realism.evaluate(tables, lifecycle, why)            # tables: {name: DataFrame} as loaded
    result.checks      # one Check per metric (category "realism"): pass / fail / skip
    result.table       # metric, value, band, published range, support, interval, verdict, detail
    result.profiles    # hour of day, day of week, month: the shares the report draws

The calibration table is :data:`BENCHMARKS_CSV` (``data/benchmarks/marketing.csv``, its README says where
every figure comes from). Each metric is computed exactly as its ``definition`` column says by
:mod:`validation.realism_metrics` (one small function per family; ``METRICS`` maps each metric to its
family), and a metric of the table without a function is an error (:func:`evaluate` raises, a test checks it).

Statistical honesty on small builds (:func:`judge`):

- a *share* (a count over a count) fails only when its whole 95 % Wilson interval lies outside the band;
- an *estimate* with a standard error (``roas_tv``) fails only when the whole ±1.96 SE interval does;
- any other figure (a mean, a ratio of sums, a median, a profile's max/min, a rank) is *skipped*
  ("too few rows: n") when its support is below the minimum its family declares (the ``MIN_*`` constants of
  :mod:`validation.realism_metrics`, measured by ``bench/realism_noise.py``), and otherwise its point value is
  compared with the band;
- structural counts that must be zero (TV clicks, SMS to customers not opted in, in-store purchases on
  Thanksgiving or Christmas) are exact and always judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

import constants
from utils.core import datasets
from utils.core.cli import UserError
from validation.checks import FAIL, PASS, SKIP, Check
from validation.realism_metrics import METRICS, Data, Measure, NeedsTable, measure_all, profiles

BENCHMARKS_CSV = constants.PROJECT_ROOT / "data" / "benchmarks" / "marketing.csv"
BENCHMARK_COLUMNS = (
    "metric",
    "definition",
    "unit",
    "published_low",
    "published_high",
    "band_low",
    "band_high",
    "sources",
    "notes",
)
LIFECYCLE_TRUTH = "lifecycle"  # ground_truth/lifecycle.csv, or its folder of parts
CATEGORY = "realism"
Z95 = 1.959963984540054  # two-sided 95 % normal quantile (Wilson interval, ±SE interval)


# --- the calibration table ------------------------------------------------------------------------------
def load_benchmarks(path=BENCHMARKS_CSV) -> pd.DataFrame:
    """The calibration table, one row per metric (a UserError if it lacks a column or repeats a metric)."""
    table = pd.read_csv(path)
    missing = [column for column in BENCHMARK_COLUMNS if column not in table.columns]
    if missing:
        raise UserError(f"{path} lacks the column(s) {', '.join(missing)}")
    repeated = table["metric"][table["metric"].duplicated()]
    if len(repeated):
        raise UserError(f"{path} repeats the metric {repeated.iloc[0]!r}")
    return table


def load_lifecycle(data_dir) -> tuple[pd.DataFrame | None, str]:
    """``ground_truth/lifecycle`` of a build (local or ``az://``) and a note; None and why if absent."""
    path = datasets.truth_location(data_dir, LIFECYCLE_TRUTH)
    if path is None:
        return (
            None,
            f"no ground_truth/{LIFECYCLE_TRUTH}.csv in the build (an older build): churn cannot be measured",
        )
    try:
        frame = datasets.load_truth(data_dir, LIFECYCLE_TRUTH)
    except (ValueError, OSError) as error:  # empty, not CSV/Parquet (pandas' errors are ValueErrors)
        raise UserError(f"cannot read {path}: {' '.join(str(error).split())[:200]}") from None
    missing = {"customer_id", "acquired_on", "churned_on"} - set(frame.columns)
    if missing:
        raise UserError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
    return frame, f"ground_truth/{LIFECYCLE_TRUTH}"


# --- verdicts ---------------------------------------------------------------------------------------------
def wilson(successes: float, total: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``total`` (``total`` > 0)."""
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(min(centre - half, p), 0.0), min(max(centre + half, p), 1.0)  # rounding never excludes p


@dataclass(frozen=True)
class Verdict:
    """A measure held to a band: status, the interval the verdict used and a one-line reason."""

    status: str
    low: float | None
    high: float | None
    detail: str


def judge(measure: Measure, band_low: float, band_high: float) -> Verdict:
    """PASS / FAIL / SKIP of ``measure`` against the closed band (see the module docstring)."""
    if measure.value is None:
        return Verdict(SKIP, None, None, measure.note or "no rows")
    if measure.successes is None and measure.support < measure.minimum:
        return Verdict(SKIP, None, None, f"too few rows: {measure.support:,.0f} (< {measure.minimum:,.0f})")
    if measure.successes is not None:
        low, high = wilson(measure.successes, measure.support)
        how = f"95% Wilson [{low:.4g}, {high:.4g}] of {measure.successes:,.0f}/{measure.support:,.0f}"
    elif measure.se is not None:
        low, high = measure.value - Z95 * measure.se, measure.value + Z95 * measure.se
        how = f"±1.96 SE [{low:.4g}, {high:.4g}]"
    else:
        low = high = measure.value
        how = f"support {measure.support:,.0f}"
    outside = high < band_low or low > band_high
    inside = band_low <= measure.value <= band_high
    if outside:
        status, word = FAIL, "out of band"
    elif inside:
        status, word = PASS, "in band"
    else:
        status, word = PASS, "point out of band, interval overlaps it"
    failed = [name for name, part in measure.parts if judge(part, band_low, band_high).status == FAIL]
    if failed:
        status = FAIL
    parts = ", ".join(f"{name} {_fmt(part.value)}" for name, part in measure.parts)
    parts = parts and f"each: {parts}" + (f" (out of band: {', '.join(failed)})" if failed else "")
    detail = "; ".join(x for x in (f"{word} [{band_low:g}, {band_high:g}]", how, parts, measure.note) if x)
    return Verdict(status, low, high, detail)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


# --- the check family -------------------------------------------------------------------------------------
@dataclass
class Result:
    """The realism verdicts: one check per metric, the table the reports show, profiles, the window."""

    checks: list[Check] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    profiles: dict[str, pd.DataFrame] = field(default_factory=dict)
    window: str = ""
    calendar_year: int | None = None


def evaluate(
    tables: dict[str, pd.DataFrame],
    lifecycle_frame: pd.DataFrame | None = None,
    lifecycle_why: str = "",
    benchmarks: pd.DataFrame | None = None,
    *,
    spend_share: float = 1.0,
) -> Result:
    """Every metric of the calibration table computed on ``tables`` and judged against its band;
    ``spend_share``: the share of the campaigns' budgets spent on these customers (a sample's)."""
    benchmarks = load_benchmarks() if benchmarks is None else benchmarks
    data = Data(tables, lifecycle_frame, lifecycle_why, spend_share)
    measures = measure_all(data, benchmarks["metric"])
    checks, rows = [], []
    for row in benchmarks.itertuples(index=False):
        measure = measures[row.metric]
        verdict = judge(measure, float(row.band_low), float(row.band_high))
        value = measure.value
        finite = value is not None and math.isfinite(value)
        detail = verdict.detail if finite or value is None else f"infinite (an empty bin); {verdict.detail}"
        checks.append(Check(CATEGORY, row.metric, verdict.status, value if finite else None, None, detail))
        rows.append(
            {
                "metric": row.metric,
                "family": METRICS[row.metric].__name__,
                "unit": row.unit,
                "value": value if finite else None,
                "band_low": float(row.band_low),
                "band_high": float(row.band_high),
                "published_low": float(row.published_low),
                "published_high": float(row.published_high),
                "support": measure.support,
                "interval_low": verdict.low if verdict.low is None or math.isfinite(verdict.low) else None,
                "interval_high": verdict.high
                if verdict.high is None or math.isfinite(verdict.high)
                else None,
                "verdict": verdict.status,
                "detail": detail,
            }
        )
    try:
        window = data.window
        year = data.year
    except NeedsTable:
        window, year = None, None
    return Result(
        checks,
        pd.DataFrame(rows),
        profiles(data),
        window.label if window is not None else "no transactions",
        year,
    )
