"""The real ACS 2018 state tables under ``data/census/``: marginals and cross-tabs per state.

Every table is returned in *counts* on fixed category axes (the contract's codes), so the IPF in
:mod:`utils.ipf` and the comparison in :func:`census_tvd` read the same numbers. Geography: the 50
states and DC (51). Puerto Rico is in the raw files but dropped: the project is about US states.

Universes (each census table keeps its own; a comparison only looks at the synthetic rows in it):

- persons 18+: sex × age (B01001), sex × age × race/ethnicity (B01001B–I), marital status × sex × age
  (B12002, restricted to 18+);
- persons 25+: education × sex (B15002);
- households: income (B19001), income × age of householder (B19037), income × race of householder
  (B19001B–I), household size (S2501, top-coded at 4+). A synthetic adult carries the income and size of
  the household that a householder of their age would head; a household table is compared on the
  adults weighted by the *headship rate* of their age band (householders / adults, from B19037 and
  B01001), which turns the person sample into a household sample (see :func:`household_weights`).
- urban/rural: 2010 Census population share, applied to adults.

Race/ethnicity: B01001H (white alone, not Hispanic) and B01001I (Hispanic, any race) are used as they
are; the other race-alone tables (B…G) include Hispanic members, so each is scaled by the state's
non-Hispanic share of that race (B03002), assuming that share does not vary with age or sex. The
same scaling turns B19001B–G into non-Hispanic householder tables. The eight groups are then raked to
the B01001 sex × age totals.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

import constants
from utils.core.cli import UserError
from utils.core.schema import (  # noqa: F401  (re-exported: the census contract's codes)
    AGE_GROUPS,
    CHILDREN_IN_HOUSEHOLD,
    EDUCATION,
    EMPLOYMENT_STATUS,
    GENDERS,
    HOME_OWNERSHIP,
    HOUSEHOLD_LANGUAGE,
    HOUSEHOLD_SIZES,
    INCOME_BRACKETS,
    MARITAL,
    RACES,
    URBAN_RURAL,
)

CENSUS_DIR = constants.CENSUS_DIR
RAW_STATE = CENSUS_DIR / "raw" / "acs1_2018_state"
RAW_CROSSTABS = CENSUS_DIR / "raw" / "acs1_2018_state_crosstabs"

# The contract's category codes live in the schema.
INCOME_LOWER = tuple(int(label.split("-")[0].rstrip("+")) for label in INCOME_BRACKETS)
# Age of householder in B19037.
HOUSEHOLDER_BANDS = ("under 25", "25-44", "45-64", "65+")

# The finest age cells every age table can be aggregated from: (first age, last age or None).
AGE_CELLS = (
    (18, 19),
    (20, 24),
    (25, 29),
    (30, 34),
    (35, 39),
    (40, 44),
    (45, 49),
    (50, 54),
    (55, 59),
    (60, 64),
    (65, 74),
    (75, 84),
    (85, None),
)
# Age brackets of B01001B–I for adults (35–64 come in ten-year brackets there).
RACE_AGE_CELLS = (
    (18, 19),
    (20, 24),
    (25, 29),
    (30, 34),
    (35, 44),
    (45, 54),
    (55, 64),
    (65, 74),
    (75, 84),
    (85, None),
)

# Age brackets of the tables fitted on top of the 13 cells (each a union of whole cells).
EDUCATION_AGE_BANDS = ((18, 24), (25, 34), (35, 44), (45, 64), (65, None))  # B15001
# B23001 publishes 16-19 (18-19 take its rates), 20-21 and 22-24 (summed), 60-61 and 62-64, 65-69 and 70-74.
EMPLOYMENT_AGE_BANDS = (
    (16, 19),
    (20, 24),
    (25, 29),
    (30, 34),
    (35, 44),
    (45, 54),
    (55, 59),
    (60, 64),
    (65, 74),
    (75, None),
)
TENURE_AGE_BANDS = (  # B25007, age of householder (15-24: householders under 18 are negligible)
    (15, 24),
    (25, 34),
    (35, 44),
    (45, 54),
    (55, 59),
    (60, 64),
    (65, 74),
    (75, 84),
    (85, None),
)
# B09002 counts children, not adults. Children per family that has own children under 18 turn it into
# parents (assumption, about the national ACS/CPS 2018 averages; the level of ``with_children``
# scales inversely with them): a married-couple family has two parents, a single-parent family one.
CHILDREN_PER_MARRIED_FAMILY = 1.9
CHILDREN_PER_SINGLE_PARENT_FAMILY = 1.7
INTERNET_AGE_BANDS = ((0, 17), (18, 64), (65, None))  # B28005

# Race letters of the B01001x / B19001x iterations, and B03002 rows used to scale them to non-Hispanic.
RACE_LETTERS = {
    "I": "hispanic_any_race",
    "H": "white_nh",
    "B": "black_nh",
    "C": "aian_nh",
    "D": "asian_nh",
    "E": "nhpi_nh",
    "F": "other_nh",
    "G": "two_or_more_nh",
}
B03002_RACE = {
    "black_nh": "Black or African American alone",
    "aian_nh": "American Indian and Alaska Native alone",
    "asian_nh": "Asian alone",
    "nhpi_nh": "Native Hawaiian and Other Pacific Islander alone",
    "other_nh": "Some other race alone",
    "two_or_more_nh": "Two or more races",
}
EDUCATION_LABELS = {
    "No schooling completed": "less_than_high_school",
    "Nursery to 4th grade": "less_than_high_school",
    "5th and 6th grade": "less_than_high_school",
    "7th and 8th grade": "less_than_high_school",
    "9th grade": "less_than_high_school",
    "10th grade": "less_than_high_school",
    "11th grade": "less_than_high_school",
    "12th grade, no diploma": "less_than_high_school",
    "High school graduate (includes equivalency)": "high_school_or_ged",
    "Some college, less than 1 year": "some_college_no_degree",
    "Some college, 1 or more years, no degree": "some_college_no_degree",
    "Associate's degree": "associates",
    "Bachelor's degree": "bachelors",
    "Master's degree": "graduate_or_professional",
    "Professional school degree": "graduate_or_professional",
    "Doctorate degree": "graduate_or_professional",
}
MARITAL_LABELS = {
    ("Never married",): "never_married",
    ("Now married", "Married, spouse present"): "married_not_separated",
    ("Now married", "Married, spouse absent", "Other"): "married_not_separated",
    ("Now married", "Married, spouse absent", "Separated"): "separated",
    ("Widowed",): "widowed",
    ("Divorced",): "divorced",
}


# --- Reading the Census API files ---------------------------------------------------------------


@cache
def state_codes() -> pd.DataFrame:
    """The 50 states and DC: ``state_fips`` (2 digits), ``state_abbr``, ``state_name``."""
    frame = pd.read_csv(CENSUS_DIR / "states.csv", dtype=str)
    return frame[frame["state_abbr"] != "PR"].reset_index(drop=True)


def all_states() -> list[str]:
    """The 51 supported state abbreviations (50 states and DC), in FIPS order."""
    return state_codes()["state_abbr"].tolist()


def check_state(state: str) -> str:
    """Return the upper-cased abbreviation if ``state`` is one of the 51, else raise UserError."""
    code = str(state).strip().upper()
    if code not in set(all_states()):
        raise UserError(f"unknown state {state!r}: use a 2-letter code of the 50 states or DC")
    return code


def _legend(path) -> dict[str, tuple[str, ...]]:
    """Variable -> label path below ``Total`` for the estimate rows of a LEGEND file."""
    labels = {}
    with open(path, newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            parts = row["LABEL"].split("!!")
            if row["VARIABLE"].endswith("E") and parts[0] == "Estimate" and parts[1] == "Total":
                labels[row["VARIABLE"]] = tuple(parts[2:])
    return labels


@cache
def acs_table(table: str) -> pd.DataFrame:
    """One ACS table in long form: ``state`` (abbr), ``path`` (label path below Total), ``estimate``.

    ``table`` is e.g. ``B19037`` (cross-tab folder) or ``B03002`` (state folder).
    """
    folder = RAW_CROSSTABS if (RAW_CROSSTABS / f"acs1_2018_{table}_state.csv").exists() else RAW_STATE
    labels = _legend(folder / f"acs1_2018_{table}_LEGEND.csv")
    data = pd.read_csv(folder / f"acs1_2018_{table}_state.csv", dtype={"state": str})
    abbr = dict(zip(state_codes()["state_fips"], state_codes()["state_abbr"], strict=True))
    data = data[data["state"].isin(abbr)]
    long = data.melt(id_vars="state", value_vars=list(labels), var_name="variable", value_name="estimate")
    long["state"] = long["state"].map(abbr)
    long["path"] = long["variable"].map(labels)
    long["estimate"] = long["estimate"].astype(float)
    return long[["state", "path", "estimate"]]


@cache
def _by_state(table: str) -> dict[str, pd.Series]:
    """``acs_table`` split into one Series (estimate by label path) per state."""
    return {state: rows.set_index("path")["estimate"] for state, rows in acs_table(table).groupby("state")}


@cache
def _national(table: str) -> pd.Series:
    """Sum of ``table`` over the states that publish it (ACS 1-year suppresses small groups)."""
    published = [rows for rows in _by_state(table).values() if not rows.isna().any()]
    return pd.concat(published, axis=1).sum(axis=1)


def _table(table: str, state: str, fallback_total: float | None = None) -> pd.Series:
    """A state's estimates by label path; if suppressed, national shares scaled to ``fallback_total``."""
    rows = _by_state(table)[state]
    if not rows.isna().any():
        return rows
    national = _national(table)
    return national / national[()] * fallback_total


def _leaves(table: str, state: str, depth: int, fallback_total: float | None = None):
    """(label path, estimate) pairs of ``table`` at ``depth`` levels below Total."""
    rows = _table(table, state, fallback_total)
    return [(path, value) for path, value in rows.items() if len(path) == depth]


def parse_age(label: str) -> tuple[int, int | None]:
    """An ACS age label (``18 and 19 years``, ``85 years and over``, ``Under 5 years``) as (first, last)."""
    text = label.replace("Householder ", "")
    if match := re.fullmatch(r"[Uu]nder (\d+) years", text):
        return 0, int(match[1]) - 1
    if match := re.fullmatch(r"(\d+) (?:and|to) (\d+) years", text):
        return int(match[1]), int(match[2])
    if match := re.fullmatch(r"(\d+) years and over", text):
        return int(match[1]), None
    if match := re.fullmatch(r"(\d+) years", text):
        return int(match[1]), int(match[1])
    raise ValueError(f"unrecognised age label {label!r}")


def parse_income(label: str) -> str:
    """An ACS income label (``$10,000 to $14,999``, ``Less than $10,000``, ``$200,000 or more``)."""
    numbers = [int(n.replace(",", "")) for n in re.findall(r"\$([\d,]+)", label)]
    if label.startswith("Less than"):
        return f"0-{numbers[0] - 1}"
    if label.endswith("or more"):
        return f"{numbers[0]}+"
    return f"{numbers[0]}-{numbers[1]}"


def _cell_index(age: tuple[int, int | None], cells) -> int:
    """Index of the cell in ``cells`` that contains the age bracket ``age``."""
    first, last = age
    for index, (low, high) in enumerate(cells):
        if low <= first and (high is None or (last is not None and last <= high)):
            return index
    raise ValueError(f"age bracket {age} does not fit the cells")


def age_cell_of(ages: np.ndarray) -> np.ndarray:
    """Index into :data:`AGE_CELLS` for each age (ages below 18 are not allowed)."""
    bounds = np.array([low for low, _ in AGE_CELLS[1:]])
    return np.searchsorted(bounds, np.asarray(ages), side="right")


# --- One state's tables ------------------------------------------------------------------------


@dataclass(frozen=True)
class StateTables:
    """One state's census tables as count arrays on the contract's category axes.

    Axis orders: ages :data:`AGE_CELLS`, sexes :data:`GENDERS`, races :data:`RACES`, and so on.
    """

    state: str
    age_sex: np.ndarray  # (13 age cells, 2 sexes), persons 18+ (B01001)
    race_sex_age: np.ndarray  # (8 races, 2 sexes, 13 age cells), persons 18+ (B01001B–I, raked to age_sex)
    education_sex: np.ndarray  # (2 sexes, 6 levels), persons 25+ (B15002)
    marital_sex_age: np.ndarray  # (2 sexes, 5 statuses, 13 age cells), persons 18+ (B12002)
    income_band: np.ndarray  # (4 householder bands, 16 brackets), households (B19037)
    income_race: np.ndarray  # (8 races, 16 brackets), households (B19001B–I, non-Hispanic scaled)
    income: np.ndarray  # (16,), households (B19001)
    household_size: np.ndarray  # (4,), households (S2501)
    urban_share: float  # 2010 Census
    education_sex_age: np.ndarray  # (5 EDUCATION_AGE_BANDS, 2 sexes, 6 levels), persons 18+ (B15001)
    employment_sex_age: np.ndarray  # (10 EMPLOYMENT_AGE_BANDS, 2 sexes, 3 statuses), persons 16+ (B23001)
    tenure_age: np.ndarray  # (9 TENURE_AGE_BANDS, 2 tenures), households (B25007)
    children_sex_married: np.ndarray  # (2 sexes, 2: not married / married, 2), adults (B09002, derived)
    language: np.ndarray  # (5 languages,), households (C16002)

    @property
    def headship(self) -> np.ndarray:
        """Householders per adult in each householder band (B19037 households / B01001 adults)."""
        adults = np.zeros(len(HOUSEHOLDER_BANDS))
        np.add.at(adults, band_of_cell(), self.age_sex.sum(axis=1))
        return self.income_band.sum(axis=1) / adults


def band_of_cell() -> np.ndarray:
    """Householder band (B19037) of each age cell."""
    return np.array([0 if low < 25 else 1 if low < 45 else 2 if low < 65 else 3 for low, _ in AGE_CELLS])


def group_of_cell() -> np.ndarray:
    """Contract age group (:data:`AGE_GROUPS`) of each age cell."""
    edges = [25, 35, 45, 55, 65, 75]
    return np.array([sum(low >= edge for edge in edges) for low, _ in AGE_CELLS])


def bands_of_cells(bands) -> np.ndarray:
    """Index of the band (``(first, last or None)`` tuples) that contains each of :data:`AGE_CELLS`.

    A band may start below 18 (B23001's 16-19, B25007's 15-24): the cells hold its adult part.
    """
    out = []
    for low, high in AGE_CELLS:
        for index, (first, last) in enumerate(bands):
            if first <= low and (last is None or (high is not None and high <= last)):
                out.append(index)
                break
        else:
            raise ValueError(f"age cell {(low, high)} is not inside one band of {bands}")
    return np.array(out)


def _band_index(row, bands) -> int:
    last = None if pd.isna(row.age_max) else int(row.age_max)
    found = [
        i
        for i, (first, high) in enumerate(bands)
        if first <= int(row.age_min) and (high is None or (last is not None and last <= high))
    ]
    return found[0]


def _age_sex(state: str) -> np.ndarray:
    frame = _state_rows("state_age_sex_acs2018.csv", state)
    frame = frame[frame["age_min"] >= 18]
    counts = np.zeros((len(AGE_CELLS), 2))
    for row in frame.itertuples():
        last = None if pd.isna(row.age_max) else int(row.age_max)
        counts[_cell_index((int(row.age_min), last), AGE_CELLS), GENDERS.index(row.sex)] += row.count
    return counts


@cache
def _race_alone(state: str) -> dict[str, float]:
    """Population of each race-alone group, Hispanic or not (B03002), by contract race code."""
    rows = _table("B03002", state)
    alone = {
        race: rows[("Not Hispanic or Latino", label)] + rows[("Hispanic or Latino", label)]
        for race, label in B03002_RACE.items()
    }
    return {
        **alone,
        "white_nh": rows[("Not Hispanic or Latino", "White alone")],
        "hispanic_any_race": rows[("Hispanic or Latino",)],
    }


def _race_scale(state: str, race: str) -> float:
    """Share of a race-alone group that is not Hispanic (B03002); 1 for white_nh and Hispanic."""
    if race not in B03002_RACE:
        return 1.0
    label = B03002_RACE[race]
    rows = _table("B03002", state)
    return rows[("Not Hispanic or Latino", label)] / _race_alone(state)[race]


@cache
def _households_per_person(race: str) -> float:
    """National householders per person of a race-alone group: scales a suppressed B19001 table."""
    letter = {code: letter for letter, code in RACE_LETTERS.items()}[race]
    people = sum(
        _race_alone(state)[race]
        for state in all_states()
        if not _by_state(f"B19001{letter}")[state].isna().any()
    )
    return _national(f"B19001{letter}")[()] / people


def _race_sex_age(state: str, age_sex: np.ndarray) -> np.ndarray:
    coarse = np.zeros((len(RACES), 2, len(RACE_AGE_CELLS)))
    for letter, race in RACE_LETTERS.items():
        people = _race_alone(state)[race]
        for (sex, age), value in _leaves(f"B01001{letter}", state, 2, people):
            first, last = parse_age(age)
            if first >= 18:
                cell = _cell_index((first, last), RACE_AGE_CELLS)
                coarse[RACES.index(race), GENDERS.index(sex.lower()), cell] += value * _race_scale(
                    state, race
                )
    # Split each coarse race bracket over the fine age cells in proportion to B01001, then rake every
    # (sex, age cell) column to the B01001 total so that the race table and age_sex agree exactly.
    fine_to_coarse = np.array([_cell_index(cell, RACE_AGE_CELLS) for cell in AGE_CELLS])
    coarse_total = np.zeros((2, len(RACE_AGE_CELLS)))
    np.add.at(coarse_total.T, fine_to_coarse, age_sex)
    fine = coarse[:, :, fine_to_coarse] * (age_sex.T / coarse_total[:, fine_to_coarse])[None]
    return fine * (age_sex.T / fine.sum(axis=0))[None]


def _education_sex(state: str) -> np.ndarray:
    counts = np.zeros((2, len(EDUCATION)))
    for (sex, level), value in _leaves("B15002", state, 2):
        counts[GENDERS.index(sex.lower()), EDUCATION.index(EDUCATION_LABELS[level])] += value
    return counts


def _marital_sex_age(state: str) -> np.ndarray:
    counts = np.zeros((2, len(MARITAL), len(AGE_CELLS)))
    for depth in (3, 4, 5):
        for path, value in _leaves("B12002", state, depth):
            status = MARITAL_LABELS.get(path[1:-1])
            if status is None or "year" not in path[-1]:
                continue
            first, last = parse_age(path[-1])
            if first < 18:
                continue
            counts[
                GENDERS.index(path[0].lower()), MARITAL.index(status), _cell_index((first, last), AGE_CELLS)
            ] += value
    return counts


def _income_band(state: str) -> np.ndarray:
    counts = np.zeros((len(HOUSEHOLDER_BANDS), len(INCOME_BRACKETS)))
    for (band, bracket), value in _leaves("B19037", state, 2):
        first, _ = parse_age(band)
        index = 0 if first < 25 else 1 if first < 45 else 2 if first < 65 else 3
        counts[index, INCOME_BRACKETS.index(parse_income(bracket))] += value
    return counts


def _income_race(state: str) -> np.ndarray:
    counts = np.zeros((len(RACES), len(INCOME_BRACKETS)))
    for letter, race in RACE_LETTERS.items():
        households = _race_alone(state)[race] * _households_per_person(race)
        for (bracket,), value in _leaves(f"B19001{letter}", state, 1, households):
            counts[RACES.index(race), INCOME_BRACKETS.index(parse_income(bracket))] += value * _race_scale(
                state, race
            )
    return counts


@cache
def _derived(name: str) -> dict[str, pd.DataFrame]:
    """A derived census CSV (``data/census/*.csv``) split by state abbreviation."""
    frame = pd.read_csv(CENSUS_DIR / name, dtype={"state_fips": str})
    return dict(tuple(frame.groupby("state_abbr")))


def _state_rows(name: str, state: str) -> pd.DataFrame:
    return _derived(name)[state]


def _education_sex_age(state: str) -> np.ndarray:
    counts = np.zeros((len(EDUCATION_AGE_BANDS), 2, len(EDUCATION)))
    for row in _state_rows("state_education_sex_age_acs2018.csv", state).itertuples():
        band = _band_index(row, EDUCATION_AGE_BANDS)
        counts[band, GENDERS.index(row.sex), EDUCATION.index(row.education)] += row.persons_18plus
    return counts


def _employment_sex_age(state: str) -> np.ndarray:
    counts = np.zeros((len(EMPLOYMENT_AGE_BANDS), 2, len(EMPLOYMENT_STATUS)))
    for row in _state_rows("state_employment_sex_age_acs2018.csv", state).itertuples():
        band = _band_index(row, EMPLOYMENT_AGE_BANDS)
        status = EMPLOYMENT_STATUS.index(row.employment_status)
        counts[band, GENDERS.index(row.sex), status] += row.persons_16plus
    return counts


def _tenure_age(state: str) -> np.ndarray:
    counts = np.zeros((len(TENURE_AGE_BANDS), len(HOME_OWNERSHIP)))
    for row in _state_rows("state_tenure_householder_age_acs2018.csv", state).itertuples():
        counts[_band_index(row, TENURE_AGE_BANDS), HOME_OWNERSHIP.index(row.tenure)] += row.households
    return counts


def parents_with_children(state: str) -> np.ndarray:
    """Adults living with own children under 18, by sex and married (spouse present) or not.

    B09002 counts own children under 18 by family type. Families with own children =
    children / children per such family (:data:`CHILDREN_PER_MARRIED_FAMILY`,
    :data:`CHILDREN_PER_SINGLE_PARENT_FAMILY`); a married-couple family counts one father and one
    mother, both married; a male (female) householder with no spouse present counts one unmarried father
    (mother). Shape (2 sexes, 2: not married / married). Parents who are not the householder or spouse
    (a young mother in her parents' home) are not counted: B09002 sees their children as grandchildren.
    """
    children = _state_rows("state_own_children_acs2018.csv", state)
    by_type = children.groupby("family_type")["own_children_under_18"].sum()
    couples = by_type["married_couple"] / CHILDREN_PER_MARRIED_FAMILY
    fathers = by_type["male_householder_no_spouse"] / CHILDREN_PER_SINGLE_PARENT_FAMILY
    mothers = by_type["female_householder_no_spouse"] / CHILDREN_PER_SINGLE_PARENT_FAMILY
    return np.array([[fathers, couples], [mothers, couples]])


def _children_sex_married(state: str, marital_sex_age: np.ndarray) -> np.ndarray:
    """(2 sexes, 2: not married / married, 2: no_children / with_children) adults 18+ (see
    :func:`parents_with_children`); the adults per sex and marital status are B12002's."""
    married = MARITAL.index("married_not_separated")
    adults = marital_sex_age.sum(axis=2)
    totals = np.stack([adults.sum(axis=1) - adults[:, married], adults[:, married]], axis=1)
    parents = np.minimum(parents_with_children(state), totals)
    return np.stack([totals - parents, parents], axis=2)


def _language(state: str) -> np.ndarray:
    rows = _state_rows("state_household_language_acs2018.csv", state).set_index("household_language")
    return rows.loc[list(HOUSEHOLD_LANGUAGE), "households"].to_numpy(float)


def internet_by_age(states=None) -> pd.DataFrame:
    """Internet subscriptions by age (B28005, population in households), per state and age bracket.

    One row per state and age bracket (``0-17``, ``18-64``, ``65+``): ``persons``, ``broadband_share``
    (has a computer and a broadband subscription of any type: cable, fiber, DSL, cellular data plan,
    satellite...), ``any_internet_share`` (broadband or dial-up alone), ``computer_share`` (has a
    computer), ``no_internet_share`` (1 - any_internet_share). B28005 does not split broadband by type,
    so there is no smartphone-only / cellular-only share in it (that would need B28002/B28008, which
    are not in the data). ``states``: abbreviations (default: the 51).
    """
    frame = pd.read_csv(CENSUS_DIR / "state_internet_age_acs2018.csv", dtype={"state_fips": str})
    wanted = all_states() if states is None else [check_state(state) for state in states]
    frame = frame[frame["state_abbr"].isin(wanted)]
    wide = frame.pivot_table(
        index=["state_abbr", "age_bracket", "age_min"],
        columns="computer_internet",
        values="persons_in_households",
        aggfunc="sum",
    )
    persons = wide.sum(axis=1)
    out = pd.DataFrame(
        {
            "persons": persons,
            "broadband_share": wide["computer_broadband"] / persons,
            "any_internet_share": (wide["computer_broadband"] + wide["computer_dialup_only"]) / persons,
            "computer_share": (persons - wide["no_computer"]) / persons,
        }
    )
    out["no_internet_share"] = 1 - out["any_internet_share"]
    out = out.reset_index().rename(columns={"state_abbr": "state"})
    order = {state: index for index, state in enumerate(wanted)}
    out = out.sort_values(["state", "age_min"], key=lambda c: c.map(order) if c.name == "state" else c)
    return out.drop(columns="age_min").reset_index(drop=True)


@cache
def state_tables(state: str) -> StateTables:
    """All census tables of ``state`` (checked: unknown -> UserError)."""
    state = check_state(state)
    age_sex = _age_sex(state)
    marital_sex_age = _marital_sex_age(state)
    income = _state_rows("state_household_income_acs2018.csv", state)
    size = _state_rows("state_household_size_acs2018.csv", state)
    urban = _state_rows("state_urban_rural_census2010.csv", state)
    return StateTables(
        state=state,
        age_sex=age_sex,
        race_sex_age=_race_sex_age(state, age_sex),
        education_sex=_education_sex(state),
        marital_sex_age=marital_sex_age,
        income_band=_income_band(state),
        income_race=_income_race(state),
        income=income.set_index("income_bracket_usd2018")
        .loc[list(INCOME_BRACKETS), "households"]
        .to_numpy(float),
        household_size=size.set_index(size["household_size"].astype(str))
        .loc[list(HOUSEHOLD_SIZES), "households"]
        .to_numpy(float),
        urban_share=float(urban["urban_share"].iloc[0]),
        education_sex_age=_education_sex_age(state),
        employment_sex_age=_employment_sex_age(state),
        tenure_age=_tenure_age(state),
        children_sex_married=_children_sex_married(state, marital_sex_age),
        language=_language(state),
    )
