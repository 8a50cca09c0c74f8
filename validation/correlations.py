"""Correlation preservation: Spearman (numbers) and Cramér's V (categories) of seed vs synthetic.

Numbers are compared by rank correlation: income, basket size and amounts are heavy-tailed, and a
Pearson correlation on them follows a handful of extreme rows (two seeds of one FL build gave the
seed's income x basket size 0.49 and 0.56, Spearman 0.67 both times).

Compared per *view*: a table on its own, or joined with the customer's demographics, so links
across tables count too (age shifts the preferred channel, income the price sensitivity and the
spend). Both sides are seeded samples of at most ``constants.VALIDATION_SAMPLE_ROWS`` rows. A pair
fails when the absolute difference exceeds ``correlation_tolerance`` and what chance gives at this
sample size (:func:`validation.checks.pearson_allowance`, :func:`validation.checks.cramers_allowance`).
"""

from __future__ import annotations

import warnings

import pandas as pd

import constants
from utils.metrics import fidelity
from validation.checks import Check, cramers_allowance, pearson_allowance, verdict
from validation.distributions import comparable_columns
from validation.loading import sample

TOLERANCE = constants.VALIDATION_THRESHOLDS["correlation_tolerance"]
DEMOGRAPHIC_LINKS = ("age", "age_group", "gender", "household_income", "education")
# view name -> (base table, demographic columns joined on customer_id)
VIEWS = {
    "demographics": ("demographics", ()),
    "customers": ("consumer_preferences", DEMOGRAPHIC_LINKS),
    "marketing_campaigns": ("marketing_campaigns", ()),
    "engagements": ("engagements", ()),
    "transactions": ("transactions", ("age_group", "household_income")),
}


def view(table: pd.DataFrame, demographics: pd.DataFrame | None, links: tuple[str, ...]) -> pd.DataFrame:
    """``table`` with the customer's ``links`` columns joined (inner) from ``demographics``."""
    if not links or demographics is None:
        return table
    right = demographics.loc[:, ["customer_id", *links]].drop_duplicates("customer_id")
    return table.merge(right, on="customer_id", how="inner", validate="many_to_one")


def _ranked(frame: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
    """``frame`` with its numeric columns replaced by their ranks (ties averaged)."""
    ranks = {c: pd.Series(fidelity.as_float(frame[c]), index=frame.index).rank() for c in numeric}
    return frame.assign(**ranks)


def pair_differences(seed: pd.DataFrame, synthetic: pd.DataFrame) -> pd.DataFrame:
    """Per same-kind column pair: seed and synthetic value, difference, allowed difference, passed."""
    columns = comparable_columns(seed, synthetic)
    numeric = [c for c in columns if fidelity.is_numeric(seed[c])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        left, right = _ranked(seed[columns], numeric), _ranked(synthetic[columns], numeric)
        frame = fidelity.correlation_difference(left, right)
    frame["kind"] = frame["kind"].replace("pearson", "spearman")  # Pearson of ranks
    levels = {c: max(seed[c].nunique(), 2) for c in columns if not fidelity.is_numeric(seed[c])}
    n = min(len(seed), len(synthetic))
    allowed = [
        pearson_allowance(len(seed), len(synthetic))
        if kind == "spearman"
        else cramers_allowance(levels[a], levels[b], n)
        for a, b, kind in zip(frame["column_1"], frame["column_2"], frame["kind"], strict=True)
    ]
    frame["allowed"] = [round(max(TOLERANCE, value), 6) for value in allowed]
    frame["passed"] = frame["difference"] <= frame["allowed"]
    return frame


def correlation_check(seed: pd.DataFrame, synthetic: pd.DataFrame, name: str) -> tuple[Check, pd.DataFrame]:
    """The view's check (worst pair named) and its pair table."""
    frame = pair_differences(seed, synthetic)
    if frame.empty:
        return Check("correlation", name, "skip", detail="fewer than two comparable columns"), frame
    frame.insert(0, "view", name)
    worst = frame.loc[(frame["difference"] / frame["allowed"]).idxmax()]
    pair = f"{worst['column_1']} x {worst['column_2']}"
    failed = frame.loc[~frame["passed"]]
    detail = (
        f"worst {pair} ({worst['kind']}): seed {worst['real']:.3f}, synthetic {worst['synthetic']:.3f}, "
        f"|diff| {worst['difference']:.3f} (allowed {worst['allowed']:.3f})"
    )
    if len(failed):
        detail = f"{len(failed)} pair(s) lost or distorted; " + detail
    check = Check("correlation", name, verdict(failed.empty), worst["difference"], worst["allowed"], detail)
    return check, frame


def correlation_checks(
    seed_tables: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame], rows: int, seed: int
) -> tuple[list[Check], dict[str, pd.DataFrame]]:
    """One check per view that both folders have; pair tables by view name.

    Seed chain tables hold customers of the synthetic demographics (the chain's seed customers are
    drawn from them), so both sides of a joined view take their demographic columns from there.
    """
    checks, pairs = [], {}
    demographics = tables.get("demographics")
    for name, (base, links) in VIEWS.items():
        if base not in seed_tables or base not in tables:
            continue
        left = view(sample(seed_tables[base], rows, seed), demographics, links)
        right = view(sample(tables[base], rows, seed), demographics, links)
        if len(left) < 3 or len(right) < 3:
            checks.append(Check("correlation", name, "skip", detail="seed rows do not link to the customers"))
            continue
        check, frame = correlation_check(left, right, name)
        checks.append(check)
        pairs[name] = frame
    return checks, pairs
