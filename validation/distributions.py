"""Distribution matching: synthetic against seed per column, and demographics against the census.

Per column, :mod:`utils.fidelity` gives the Kolmogorov–Smirnov statistic (numbers, dates) or the
total variation distance (categories); per state, :func:`utils.population.census_comparison` gives
the TVD of each census marginal and cross-tab. A column passes when its distance is within
``distribution_tolerance`` (or within sampling noise, see :mod:`validation.checks`); a census
cross-tab, which spreads the same rows over up to 128 cells, is held to ``correlation_tolerance``.
"""

from __future__ import annotations

import pandas as pd

import constants
from utils.census import population
from utils.census import tables as census
from utils.metrics import fidelity
from validation.checks import Check, ks_allowance, tvd_allowance, verdict
from validation.loading import is_identifier

DISTRIBUTION_TOLERANCE = constants.VALIDATION_THRESHOLDS["distribution_tolerance"]
CROSSTAB_TOLERANCE = constants.VALIDATION_THRESHOLDS["correlation_tolerance"]

# Cells of each census comparison (for its noise allowance).
CENSUS_CELLS = {
    "age_group": len(census.AGE_GROUPS),
    "gender": len(census.GENDERS),
    "race_ethnicity": len(census.RACES),
    "education": len(census.EDUCATION),
    "marital_status": len(census.MARITAL),
    "household_income": len(census.INCOME_BRACKETS),
    "household_size": len(census.HOUSEHOLD_SIZES),
    "urban_rural": len(census.URBAN_RURAL),
    "income_by_householder_age": len(census.HOUSEHOLDER_BANDS) * len(census.INCOME_BRACKETS),
    "income_by_race": len(census.RACES) * len(census.INCOME_BRACKETS),
    "education_by_sex": len(census.GENDERS) * len(census.EDUCATION),
    "marital_by_sex_age": len(census.GENDERS) * len(census.MARITAL) * len(census.AGE_GROUPS),
    "age_by_sex_race": len(census.RACES) * len(census.GENDERS) * len(census.AGE_GROUPS),
    "home_ownership": len(census.HOME_OWNERSHIP),
    "employment_status": len(census.EMPLOYMENT_STATUS),
    "children_in_household": len(census.CHILDREN_IN_HOUSEHOLD),
    "household_language": len(census.HOUSEHOLD_LANGUAGE),
    "education_by_sex_age": len(census.EDUCATION_AGE_BANDS) * len(census.GENDERS) * len(census.EDUCATION),
    "employment_by_sex_age": len(census.EMPLOYMENT_AGE_BANDS)
    * len(census.GENDERS)
    * len(census.EMPLOYMENT_STATUS),
    "tenure_by_householder_age": len(census.TENURE_AGE_BANDS) * len(census.HOME_OWNERSHIP),
    "children_by_sex_marital": len(census.GENDERS) * 2 * len(census.CHILDREN_IN_HOUSEHOLD),
}


def comparable_columns(seed: pd.DataFrame, synthetic: pd.DataFrame) -> list[str]:
    """Columns both tables have, keys and free text (more than the category cap) left out."""
    columns = []
    for column in seed.columns:
        if column not in synthetic.columns or is_identifier(column):
            continue
        if not fidelity.is_numeric(seed[column]) and (
            seed[column].nunique() > constants.VALIDATION_MAX_CATEGORIES
        ):
            continue
        columns.append(column)
    return columns


def _worst(frame: pd.DataFrame) -> pd.Series:
    """The row furthest beyond (or closest to) its allowed distance."""
    return frame.loc[(frame["distance"] / frame["allowed"]).idxmax()]


def seed_distances(seed: pd.DataFrame, synthetic: pd.DataFrame, table: str) -> tuple[Check, pd.DataFrame]:
    """Per comparable column: metric, distance, allowed distance, passed; and the table's check."""
    columns = comparable_columns(seed, synthetic)
    frame = fidelity.column_distances(seed[columns], synthetic[columns])
    allowed = []
    for column, metric in zip(frame["column"], frame["metric"], strict=True):
        noise = (
            ks_allowance(len(seed), len(synthetic))
            if metric == "ks"
            else tvd_allowance(max(seed[column].nunique(dropna=False), 2), len(seed), len(synthetic))
        )
        allowed.append(round(max(DISTRIBUTION_TOLERANCE, noise), 6))
    frame["allowed"] = allowed
    frame["passed"] = frame["distance"] <= frame["allowed"]
    frame.insert(0, "table", table)
    if frame.empty:
        return Check("distribution", table, "skip", detail="no comparable columns"), frame
    worst = _worst(frame)
    failed = frame.loc[~frame["passed"], "column"].tolist()
    detail = (
        f"worst {worst['column']} {worst['metric']}={worst['distance']:.3f} (allowed {worst['allowed']:.3f})"
    )
    if failed:
        detail = f"{len(failed)} column(s) off: {', '.join(failed)}; " + detail
    check = Check("distribution", table, verdict(not failed), worst["distance"], worst["allowed"], detail)
    return check, frame


def census_distances(frame: pd.DataFrame, state: str) -> tuple[Check, pd.DataFrame]:
    """TVD of one state's demographics to its census marginals and cross-tabs, with the check."""
    comparison = population.census_comparison(frame, state)
    rows = []
    for kind, tolerance in (("marginals", DISTRIBUTION_TOLERANCE), ("crosstabs", CROSSTAB_TOLERANCE)):
        for item, distance in comparison[kind].items():
            allowed = max(tolerance, tvd_allowance(CENSUS_CELLS.get(item, 2), len(frame)))
            rows.append(
                {
                    "state": state,
                    "kind": kind.rstrip("s"),
                    "item": item,
                    "tvd": round(float(distance), 6),
                    "allowed": round(allowed, 6),
                }
            )
    table = pd.DataFrame(rows)
    table["passed"] = table["tvd"] <= table["allowed"]
    worst = table.loc[(table["tvd"] / table["allowed"]).idxmax()]
    failed = table.loc[~table["passed"], "item"].tolist()
    detail = f"worst {worst['item']} tvd={worst['tvd']:.3f} (allowed {worst['allowed']:.3f})"
    if failed:
        detail = f"{state} demographics off the {state} census in {', '.join(failed)}; " + detail
    check = Check("census", f"census {state}", verdict(not failed), worst["tvd"], worst["allowed"], detail)
    return check, table


def census_shares(frame: pd.DataFrame, state: str) -> dict[str, pd.DataFrame]:
    """Census vs synthetic shares of the person-level marginals, for the plots (``census``, ``synthetic``)."""
    tables = census.state_tables(state)
    grouped = pd.Series(tables.age_sex.sum(axis=1)).groupby(census.group_of_cell()).sum().to_numpy()
    expected = {
        "age_group": (census.AGE_GROUPS, grouped),
        "gender": (census.GENDERS, tables.age_sex.sum(axis=0)),
        "race_ethnicity": (census.RACES, tables.race_sex_age.sum(axis=(1, 2))),
        "education": (census.EDUCATION, tables.education_sex.sum(axis=0)),
        "marital_status": (census.MARITAL, tables.marital_sex_age.sum(axis=(0, 2))),
        "urban_rural": (census.URBAN_RURAL, [tables.urban_share, 1 - tables.urban_share]),
        "children_in_household": (census.CHILDREN_IN_HOUSEHOLD, tables.children_sex_married.sum(axis=(0, 1))),
    }
    out = {}
    for column, (labels, counts) in expected.items():
        if column not in frame:  # a table written before the column existed
            continue
        rows = frame[frame["age"] >= 25] if column == "education" else frame
        observed = rows[column].astype(str).value_counts(normalize=True).reindex(list(labels), fill_value=0)
        reference = pd.Series(counts, index=list(labels), dtype=float)
        out[column] = pd.DataFrame({"census": reference / reference.sum(), "synthetic": observed})
    return out
