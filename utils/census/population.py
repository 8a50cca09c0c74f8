"""A state's census-seeded adult population: the IPF-fitted joint, seed rows, and the census check.

The joint has seven axes, one per attribute that a census table speaks about:
age cell (13, :data:`census.AGE_CELLS`) × sex (2) × race/ethnicity (8) × education (6) ×
marital status (5) × household income bracket (16) × household size (4, top-coded 4+).
:func:`fit_joint` rakes it to every table of :mod:`utils.census` at once, each in its own universe:

====================================  =========================  ==========================
target                                axes                       universe (cell weight)
====================================  =========================  ==========================
B01001B–I sex × age × race            age, sex, race             adults 18+
B12002 marital status × sex × age     age, sex, marital          adults 18+
B15001 education × sex × age          age→5 bands, sex, educ.    adults 18+, within age × sex
B19037 income × age of householder   age→4 bands, income        households (headship)
B19001B–I income × race               race, income               households, within race
S2501 household size                  size                       households (headship)
====================================  =========================  ==========================

The household weight of an adult is the headship rate of their age band (householders per adult);
B19001's income marginal follows from B19037 (same households). Income by race is a conditional
target: householders' race mix differs from that of adults weighted by an age-only headship rate, so
the race mix is left to B01001 and only the income distribution within each race is fitted.
Where no table links two attributes, the prior carries a documented assumption (:func:`prior`):
married people rarely live alone, income rises with education and household size, and the split of
B15001's 18–24 bracket between 18–19 and 20–24 follows national ACS 2018 shares (no bachelor's degree
at 18–19). Urban/rural has a state share only and is drawn independently of everything else.

Four more attributes are each fitted by their own small IPF on top of the joint
(:func:`fit_attributes`): a joint of the attribute with the axes it depends on, raked to the main
joint's margin on those axes and to the attribute's table; every seed row then draws it from
P(attribute | those axes), stratified inside each cell (:func:`draw_attribute`):

=========================  ============================  =======================  =========================
attribute                  census target                 depends on (prior)       universe
=========================  ============================  =======================  =========================
employment_status          B23001 sex × age (10 bands)   age, sex, educ., income  persons, within age × sex
home_ownership             B25007 tenure × age of h.     age, marital, income     households, within age
children_in_household      B09002 → parents by sex and   age, sex, marital, size  adults, within sex ×
                           married (:func:`census.                                married
                           parents_with_children`)
household_language         C16002 language               age, race/ethnicity      households
=========================  ============================  =======================  =========================

Ages inside an age cell (:func:`age_table`): flat in a closed cell, a truncated geometric tail in 85+,
and degree holders of the youngest cells only at the ages a degree can be held
(:data:`EDUCATION_AGE_WEIGHTS`: a bachelor's from 21), the other levels of those cells offset so that
the cell as a whole stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils.census import tables as census
from utils.census.ipf import Constraint, IPFResult, integerise, ipf
from utils.census.tables import AGE_CELLS
from utils.core import seeding
from utils.core.schema import (
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
)

AXES = ("age_cell", "gender", "race_ethnicity", "education", "marital_status", "income_bracket", "size")
AGE, SEX, RACE, EDU, MARITAL_AXIS, INCOME, SIZE = range(len(AXES))
SHAPE = (len(AGE_CELLS), len(GENDERS), len(RACES), len(EDUCATION), len(MARITAL), len(INCOME_BRACKETS), 4)

# Education of 18–19 against 20–24 year-olds (B15001 has one 18–24 bracket): approximate national
# ACS 2018 shares, used as the prior's ratio between the two cells. Structural: no bachelor's or
# graduate degree at 18–19 (nor at 20, see EDUCATION_AGE_WEIGHTS).
YOUNG_EDUCATION = {
    (18, 19): (0.22, 0.40, 0.35, 0.03, 0.0, 0.0),
    (20, 24): (0.10, 0.27, 0.39, 0.07, 0.16, 0.01),
}
# Structural rule for the ages inside a cell: a degree holder of a young cell is spread over these
# ages only, with these weights (an associate's degree from 19, a bachelor's from 21 rising to 24, a
# graduate degree from 22). Every other (cell, education) spreads as AGE_IN_CELL.
EDUCATION_AGE_WEIGHTS = {
    ((18, 19), "associates"): {19: 1.0},
    ((20, 24), "bachelors"): {21: 1.0, 22: 2.0, 23: 3.0, 24: 4.0},
    ((20, 24), "graduate_or_professional"): {22: 1.0, 23: 2.0, 24: 3.0},
}
# Among households of 4 or more persons, the shares of 4, 5, 6 and 7 persons (ACS 2018, US).
LARGE_HOUSEHOLD_SHARES = {4: 0.576, 5: 0.26, 6: 0.1, 7: 0.064}
TOP_INCOME_PARETO_ALPHA = 2.2  # tail of the open 200000+ bracket
TOP_INCOME_CAP = 5_000_000
OLDEST_AGE = 99
OLDEST_CELL_STAY = 0.8  # the open 85+ cell thins out with age: each year holds 0.8 of the one before
ATTRIBUTE_COLUMNS = ("home_ownership", "employment_status", "children_in_household", "household_language")
AGE_CELL_LABELS = tuple(f"{low}-{high}" if high is not None else f"{low}+" for low, high in AGE_CELLS)


def _axis_shape(axis: int, values) -> np.ndarray:
    shape = [1] * len(SHAPE)
    shape[axis] = len(values)
    return np.asarray(values, dtype=float).reshape(shape)


def prior() -> np.ndarray:
    """The prior joint: ones, times the structural assumptions where no census table applies.

    - a married person (spouse present in almost all cases) lives alone with weight 0.05;
    - income and education, and income and household size, are mildly associated
      (``exp(0.05 · income step · education step)`` and ``exp(0.06 · income step · size step)``,
      steps centred): the census tables fix the margins, these only tilt the joint;
    - 18–19 and 20–24 year-olds get the national education shares of :data:`YOUNG_EDUCATION` (B15001
      fixes their 18–24 total; no degree above an associate's at 18–19).
    """
    joint = np.ones(SHAPE)
    married_alone = np.ones((len(MARITAL), 4))
    married_alone[MARITAL.index("married_not_separated"), 0] = 0.05
    joint *= married_alone.reshape(1, 1, 1, 1, len(MARITAL), 1, 4)
    income_step = np.arange(len(INCOME_BRACKETS)) - (len(INCOME_BRACKETS) - 1) / 2
    education_step = np.arange(len(EDUCATION)) - (len(EDUCATION) - 1) / 2
    size_step = np.arange(4) - 1.5
    joint *= np.exp(0.05 * np.outer(education_step, income_step)).reshape(1, 1, 1, len(EDUCATION), 1, -1, 1)
    joint *= np.exp(0.06 * np.outer(income_step, size_step)).reshape(1, 1, 1, 1, 1, -1, 4)
    young = np.ones((len(AGE_CELLS), len(EDUCATION)))
    for cell, shares in YOUNG_EDUCATION.items():
        young[AGE_CELLS.index(cell)] = shares
    return joint * young.reshape(len(AGE_CELLS), 1, 1, len(EDUCATION), 1, 1, 1)


def constraints(tables: census.StateTables) -> list[Constraint]:
    """The IPF targets of one state (see the module table)."""
    headship = _axis_shape(AGE, tables.headship[census.band_of_cell()])
    return [
        Constraint("age_sex_race", (AGE, SEX, RACE), tables.race_sex_age.transpose(2, 1, 0)),
        Constraint("marital_sex_age", (AGE, SEX, MARITAL_AXIS), tables.marital_sex_age.transpose(2, 0, 1)),
        Constraint(
            "education_sex_age",
            (AGE, SEX, EDU),
            tables.education_sex_age,
            groups={AGE: census.bands_of_cells(census.EDUCATION_AGE_BANDS)},
            given=(0, 1),
        ),
        Constraint(
            "income_by_householder_age",
            (AGE, INCOME),
            tables.income_band,
            weight=headship,
            groups={AGE: census.band_of_cell()},
        ),
        Constraint("income_by_race", (RACE, INCOME), tables.income_race, weight=headship, given=(0,)),
        Constraint("household_size", (SIZE,), tables.household_size, weight=headship),
    ]


def fit_joint(state: str, *, max_iter: int = 300, tol: float = 1e-6) -> IPFResult:
    """The IPF-fitted joint of ``state``'s adults (a probability table of shape :data:`SHAPE`)."""
    return ipf(prior(), constraints(census.state_tables(state)), max_iter=max_iter, tol=tol)


@dataclass(frozen=True)
class SeedSample:
    """A state's seed rows and the IPF fit they were drawn from."""

    frame: pd.DataFrame
    fit: IPFResult
    attributes: dict[str, Attribute]


def _age_in_cell() -> np.ndarray:
    """P(age | age cell), shape (cells, :data:`OLDEST_AGE` + 1).

    Uniform inside a closed cell; the open 85+ cell thins out geometrically (:data:`OLDEST_CELL_STAY`)
    up to :data:`OLDEST_AGE`, renormalised (a truncated geometric: no lump at the oldest age).
    """
    shares = np.zeros((len(AGE_CELLS), OLDEST_AGE + 1))
    for index, (low, high) in enumerate(AGE_CELLS):
        if high is not None:
            shares[index, low : high + 1] = 1 / (high - low + 1)
            continue
        tail = OLDEST_CELL_STAY ** np.arange(OLDEST_AGE - low + 1)
        shares[index, low:] = tail / tail.sum()
    return shares


AGE_IN_CELL = _age_in_cell()


def _age_rows(education_in_cell: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """P(age | age cell, education): the rows of :data:`AGE_IN_CELL`, then one row per
    :data:`EDUCATION_AGE_WEIGHTS` entry; and the row of each (cell, education), shape (cells, levels).

    With ``education_in_cell`` (P(education | cell), shape (cells, levels)) the other levels of a cell
    with degree rows get one more row that offsets them, so that the cell as a whole keeps the ages of
    :data:`AGE_IN_CELL` (flat 20–24: bachelor's holders are older, so the others are a little younger).
    """
    rows = [*AGE_IN_CELL]
    row_of = np.repeat(np.arange(len(AGE_CELLS))[:, None], len(EDUCATION), axis=1)
    for (cell, level), weights in EDUCATION_AGE_WEIGHTS.items():
        row = np.zeros(OLDEST_AGE + 1)
        row[list(weights)] = list(weights.values())
        row_of[AGE_CELLS.index(cell), EDUCATION.index(level)] = len(rows)
        rows.append(row / row.sum())
    if education_in_cell is None:
        return np.array(rows), row_of
    for cell in dict.fromkeys(cell for cell, _ in EDUCATION_AGE_WEIGHTS):
        index = AGE_CELLS.index(cell)
        held = [EDUCATION.index(level) for where, level in EDUCATION_AGE_WEIGHTS if where == cell]
        others = [level for level in range(len(EDUCATION)) if level not in held]
        shares = education_in_cell[index]
        if shares[others].sum() <= 0:
            continue
        rest = AGE_IN_CELL[index] - sum(shares[level] * rows[row_of[index, level]] for level in held)
        rest = np.clip(rest, 0, None)
        row_of[index, others] = len(rows)
        rows.append(rest / rest.sum())
    return np.array(rows), row_of


AGE_ROWS, _AGE_ROW_OF = _age_rows()  # without a state's offset rows
_STATE_AGE_ROWS: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def education_in_cell(joint: np.ndarray) -> np.ndarray:
    """P(education | age cell) of a fitted joint, shape (cells, levels)."""
    margin = joint.sum(axis=(SEX, RACE, MARITAL_AXIS, INCOME, SIZE))
    return margin / margin.sum(axis=1, keepdims=True)


def age_table(state: str | None = None, joint: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rows P(age | cell, education) and the row of each (cell, education) (:func:`_age_rows`).

    ``state=None``: :data:`AGE_ROWS`. With a state, the offset rows from its fitted joint (``joint``, or
    :func:`fit_joint` of the state), computed once per state: the seed and the synthesizer's age
    positions use the same table.
    """
    if state is None:
        return AGE_ROWS, _AGE_ROW_OF
    if state not in _STATE_AGE_ROWS:
        _STATE_AGE_ROWS[state] = _age_rows(
            education_in_cell(fit_joint(state).joint if joint is None else joint)
        )
    return _STATE_AGE_ROWS[state]


def age_rows(cells: np.ndarray, education: np.ndarray, state: str | None = None) -> np.ndarray:
    """The row of :func:`age_table` (ages inside the cell) of each (age cell index, education index)."""
    return age_table(state)[1][np.asarray(cells), np.asarray(education)]


def youngest_age(education: np.ndarray) -> np.ndarray:
    """The youngest age at which each education level (index) is held (structural rule)."""
    youngest = np.full(len(EDUCATION), 18)
    for (_, level), weights in EDUCATION_AGE_WEIGHTS.items():
        youngest[EDUCATION.index(level)] = max(youngest[EDUCATION.index(level)], min(weights))
    return youngest[np.asarray(education)]


def ages_from_quantiles(quantiles: np.ndarray, rows: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Inverse CDF: for each quantile in [0, 1) the age at it under ``shares[row]`` (rows over ages)."""
    cumulative = np.cumsum(shares, axis=1)
    ages = np.empty(len(quantiles), dtype=int)
    for row in np.unique(rows):
        chosen = rows == row
        # Scaled by the row's total, so that rounding never lands past its last age with a share.
        scaled = np.asarray(quantiles)[chosen] * cumulative[row, -1]
        ages[chosen] = np.searchsorted(cumulative[row], scaled, side="right")
    return ages


def age_quantiles(ages: np.ndarray, rows: np.ndarray, shares: np.ndarray, rng: np.random.Generator):
    """Randomised probability integral transform, the inverse of :func:`ages_from_quantiles`.

    Each age goes to a uniform draw inside its step of the CDF ``shares[row]``: ages distributed as
    ``shares[row]`` give quantiles uniform on [0, 1) whatever the shape of ``shares[row]``.
    """
    cumulative = np.cumsum(shares, axis=1)
    rows, ages = np.asarray(rows), np.asarray(ages)
    share = shares[rows, ages]
    quantiles = (cumulative[rows, ages] - share + rng.random(len(ages)) * share) / cumulative[rows, -1]
    return np.clip(quantiles, 0, np.nextafter(1, 0))


def _ages(cells: np.ndarray, education: np.ndarray, state: str, rng: np.random.Generator) -> np.ndarray:
    """An age inside each age cell index, drawn from the state's :func:`age_table` (by cell and education)."""
    table = age_table(state)[0]
    return ages_from_quantiles(rng.random(len(cells)), age_rows(cells, education, state), table)


def age_given_group(state: str) -> np.ndarray:
    """P(age | contract age group) of ``state``'s adults, shape (groups, :data:`OLDEST_AGE` + 1).

    The census (B01001) adults of each age cell, spread over its ages by :data:`AGE_IN_CELL` (as the
    seed sample spreads them), summed per :data:`census.AGE_GROUPS` and normalised per group.
    """
    adults = census.state_tables(state).age_sex.sum(axis=1)
    by_group = np.zeros((len(census.AGE_GROUPS), OLDEST_AGE + 1))
    np.add.at(by_group, census.group_of_cell(), adults[:, None] * AGE_IN_CELL)
    return by_group / by_group.sum(axis=1, keepdims=True)


def _bracket_bounds(brackets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower bound and width of each bracket index (width 1 for the open top bracket)."""
    return np.array(census.INCOME_LOWER)[brackets], np.array([*np.diff(census.INCOME_LOWER), 1])[brackets]


def income_position(income: np.ndarray, brackets: np.ndarray) -> np.ndarray:
    """Where each income lies in its bracket, in [0, 1): uniform inside a bracket, the Pareto CDF in
    the open 200000+ one. The inverse of :func:`income_from_position`."""
    low, width = _bracket_bounds(brackets)
    income = np.asarray(income, dtype=float)
    position = (income - low) / width
    top = brackets == len(INCOME_BRACKETS) - 1
    position[top] = 1 - (low[top] / income[top]) ** TOP_INCOME_PARETO_ALPHA
    return np.clip(position, 0, 0.999999)


def income_from_position(position: np.ndarray, brackets: np.ndarray) -> np.ndarray:
    """The dollar income at each position of its bracket (see :func:`income_position`)."""
    low, width = _bracket_bounds(brackets)
    position = np.clip(np.asarray(position, dtype=float), 0, 0.999999)
    income = low + np.floor(position * width)
    top = brackets == len(INCOME_BRACKETS) - 1
    tail = low[top] * (1 - position[top]) ** (-1 / TOP_INCOME_PARETO_ALPHA)
    income[top] = np.minimum(tail, TOP_INCOME_CAP)
    return income.astype(np.int64)


def incomes(brackets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dollar income inside each bracket index: uniform, with a Pareto tail for 200000+."""
    return income_from_position(rng.random(len(brackets)), brackets)


def bracket_index(bracket: pd.Series) -> np.ndarray:
    """The position of each bracket label in :data:`INCOME_BRACKETS`."""
    return pd.Categorical(bracket, categories=census.INCOME_BRACKETS).codes


def household_sizes(size_index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Persons in the household: 1, 2, 3 as they are; the 4+ category spread over 4–7."""
    sizes = size_index + 1
    large = size_index == 3
    options = list(LARGE_HOUSEHOLD_SHARES)
    sizes[large] = rng.choice(options, size=large.sum(), p=list(LARGE_HOUSEHOLD_SHARES.values()))
    return sizes


# --- Attributes fitted on top of the joint -----------------------------------------------------------
#
# Four more attributes would multiply the joint's 400,000 cells by 60. Each is fitted instead as its
# own small IPF: a joint of the attribute with the main joint's axes it depends on (its *links*),
# raked to the main joint's margin on those links (kept exactly) and to the attribute's census table,
# from a prior that carries the documented assumptions where no table links them. Each seed row then
# draws the attribute from P(attribute | its links), stratified inside each link cell.

# Share of adults living with own children under 18 by age cell (prior shape only, approximate: the
# B09002-derived table fixes the level by sex and marital status).
PARENT_BY_AGE = (0.03, 0.12, 0.3, 0.5, 0.6, 0.58, 0.45, 0.25, 0.1, 0.04, 0.015, 0.005, 0.002)
PARENT_BY_SIZE = (0.0, 0.5, 1.0, 2.0)  # odds factor by household size 1, 2, 3, 4+ (a parent is not alone)
# Household language by race/ethnicity (prior only, approximate national shares; C16002 fixes the
# state's margin): rows RACES, columns HOUSEHOLD_LANGUAGE.
LANGUAGE_BY_RACE = {
    "hispanic_any_race": (0.27, 0.70, 0.01, 0.005, 0.015),
    "white_nh": (0.93, 0.01, 0.05, 0.002, 0.008),
    "black_nh": (0.92, 0.01, 0.02, 0.002, 0.048),
    "aian_nh": (0.85, 0.02, 0.01, 0.005, 0.115),
    "asian_nh": (0.25, 0.005, 0.15, 0.58, 0.015),
    "nhpi_nh": (0.55, 0.01, 0.01, 0.42, 0.01),
    "other_nh": (0.60, 0.15, 0.10, 0.05, 0.10),
    "two_or_more_nh": (0.85, 0.05, 0.04, 0.03, 0.03),
}


@dataclass(frozen=True)
class Attribute:
    """An attribute fitted on top of the joint: P(value | links) and the small IPF it came from."""

    name: str
    values: tuple[str, ...]
    links: tuple[int, ...]  # axes of the main joint it depends on, in this order
    conditional: np.ndarray  # shape (*link sizes, len(values)), sums to 1 over the last axis
    fit: IPFResult


def _link_shape(links, *last) -> list[int]:
    return [SHAPE[axis] for axis in links] + list(last)


def _on(position: int, ndim: int, values) -> np.ndarray:
    """``values`` laid along axis ``position`` of an ``ndim``-dimensional array."""
    shape = [1] * ndim
    shape[position] = len(values)
    return np.asarray(values, dtype=float).reshape(shape)


def _attribute(name, values, links, joint, prior, targets, tol=1e-8) -> Attribute:
    others = tuple(axis for axis in range(joint.ndim) if axis not in links)
    base = np.transpose(joint.sum(axis=others), np.argsort(np.argsort(links)))
    fit = ipf(
        prior * base[..., None], [Constraint("links", tuple(range(len(links))), base), *targets], tol=tol
    )
    total = fit.joint.sum(axis=-1, keepdims=True)
    fallback = prior / prior.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        conditional = np.where(total > 0, fit.joint / total, fallback)
    return Attribute(name, values, tuple(links), conditional, fit)


def fit_attributes(tables: census.StateTables, joint: np.ndarray) -> dict[str, Attribute]:
    """The four attributes of a state given its fitted joint (each its own IPF; see the module table)."""
    headship = tables.headship[census.band_of_cell()]
    income_step = np.arange(len(INCOME_BRACKETS)) - (len(INCOME_BRACKETS) - 1) / 2
    education_step = np.arange(len(EDUCATION)) - (len(EDUCATION) - 1) / 2
    married = np.array([status == "married_not_separated" for status in MARITAL], dtype=float)
    out = {}

    # Employment (B23001 sex × age): within each age band and sex; employment rises with education
    # and household income, unemployment falls with them (prior tilts, in odds against not in the
    # labour force).
    links = (AGE, SEX, EDU, INCOME)
    prior = np.ones(_link_shape(links, len(EMPLOYMENT_STATUS)))
    prior[..., 0] *= np.exp(0.15 * _on(2, 4, education_step) + 0.05 * _on(3, 4, income_step))
    prior[..., 1] *= np.exp(-0.1 * _on(2, 4, education_step) - 0.05 * _on(3, 4, income_step))
    target = Constraint(
        "employment_sex_age",
        (0, 1, 4),
        tables.employment_sex_age,
        groups={0: census.bands_of_cells(census.EMPLOYMENT_AGE_BANDS)},
        given=(0, 1),
    )
    out["employment_status"] = _attribute(
        "employment_status", EMPLOYMENT_STATUS, links, joint, prior, [target]
    )

    # Home ownership (B25007 tenure by age of householder, households): within each householder age
    # band; owners' odds rise with income (exp(0.12) a bracket) and are twice as high when married.
    links = (AGE, MARITAL_AXIS, INCOME)
    prior = np.ones(_link_shape(links, len(HOME_OWNERSHIP)))
    prior[..., 0] *= np.exp(0.12 * _on(2, 3, income_step)) * (1 + _on(1, 3, married))
    target = Constraint(
        "tenure_by_householder_age",
        (0, 3),
        tables.tenure_age,
        weight=_on(0, 4, headship),
        groups={0: census.bands_of_cells(census.TENURE_AGE_BANDS)},
        given=(0,),
    )
    out["home_ownership"] = _attribute("home_ownership", HOME_OWNERSHIP, links, joint, prior, [target])

    # Own children under 18 (B09002-derived parents by sex and marital status, adults): the age
    # shape of parenthood and household size only through the prior (PARENT_BY_AGE, PARENT_BY_SIZE;
    # a married parent in a household of two is rare: 0.1).
    links = (AGE, SEX, MARITAL_AXIS, SIZE)
    prior = np.ones(_link_shape(links, len(CHILDREN_IN_HOUSEHOLD)))
    odds = np.array(PARENT_BY_AGE) / (1 - np.array(PARENT_BY_AGE))
    married_pair = 1 - 0.9 * _on(2, 4, married) * _on(3, 4, [0, 1, 0, 0])
    prior[..., 1] = _on(0, 4, odds) * _on(3, 4, PARENT_BY_SIZE) * married_pair
    target = Constraint(
        "children_by_sex_marital",
        (1, 2, 4),
        tables.children_sex_married,
        groups={2: married.astype(int)},
        given=(0, 1),
    )
    out["children_in_household"] = _attribute(
        "children_in_household", CHILDREN_IN_HOUSEHOLD, links, joint, prior, [target]
    )

    # Household language (C16002, households): by race/ethnicity through the prior (LANGUAGE_BY_RACE).
    links = (AGE, RACE)
    by_race = np.array([LANGUAGE_BY_RACE[race] for race in RACES])
    prior = np.ones(_link_shape(links, len(HOUSEHOLD_LANGUAGE))) * by_race[None]
    target = Constraint("household_language", (2,), tables.language, weight=_on(0, 3, headship))
    out["household_language"] = _attribute(
        "household_language", HOUSEHOLD_LANGUAGE, links, joint, prior, [target]
    )
    return out


def draw_attribute(attribute: Attribute, index: tuple[np.ndarray, ...], rng: np.random.Generator):
    """A value of ``attribute`` for each row whose joint cell indices are ``index``, drawn from
    P(value | links), stratified: inside each link cell, systematic sampling (one random start)."""
    flat = np.ravel_multi_index([index[axis] for axis in attribute.links], attribute.conditional.shape[:-1])
    cumulative = np.cumsum(attribute.conditional.reshape(-1, len(attribute.values)), axis=1)
    rows = len(flat)
    order = np.lexsort((rng.random(rows), flat))
    ordered = flat[order]
    rank = np.arange(rows) - np.searchsorted(ordered, ordered, side="left")
    size = np.bincount(flat, minlength=cumulative.shape[0])[ordered]
    start = rng.random(cumulative.shape[0])[ordered]
    points = np.empty(rows)
    points[order] = (rank + start) / size
    chosen = (cumulative[flat] * (1 + 1e-12) <= points[:, None]).sum(axis=1)
    return np.array(attribute.values)[np.minimum(chosen, len(attribute.values) - 1)]


def seed_sample(state: str, rows: int, seed: int) -> SeedSample:
    """``rows`` adults of ``state`` drawn from its IPF joint (same state, rows, seed: same rows).

    Columns: the demographics schema without ``customer_id``/``state``-free derivations, i.e.
    age, gender, race_ethnicity, education, marital_status, household_income, household_size,
    urban_rural, plus the derived age_group and income_bracket.
    """
    fit = fit_joint(state)
    age_table(state, fit.joint)
    tables = census.state_tables(state)
    attributes = fit_attributes(tables, fit.joint)
    rng = seeding.generator(seed, "demographics", partition=state, purpose="census_seed")
    counts = integerise(fit.joint, rows, rng)
    cells = np.repeat(np.arange(counts.size), counts.ravel())
    rng.shuffle(cells)
    index = np.unravel_index(cells, SHAPE)
    frame = pd.DataFrame(
        {
            "age": _ages(index[AGE], index[EDU], state, rng),
            "gender": np.array(GENDERS)[index[SEX]],
            "race_ethnicity": np.array(RACES)[index[RACE]],
            "education": np.array(EDUCATION)[index[EDU]],
            "marital_status": np.array(MARITAL)[index[MARITAL_AXIS]],
            "household_income": incomes(index[INCOME], rng),
            "household_size": household_sizes(index[SIZE], rng),
            "urban_rural": np.where(rng.random(rows) < tables.urban_share, "urban", "rural"),
        }
    )
    attribute_rng = seeding.generator(seed, "demographics", partition=state, purpose="census_attributes")
    for name, attribute in attributes.items():
        frame[name] = draw_attribute(attribute, index, attribute_rng)
    return SeedSample(frame=add_derived_columns(frame), fit=fit, attributes=attributes)


def age_group(ages: pd.Series) -> pd.Series:
    """The contract's age group of each age."""
    return pd.Series(
        np.array(census.AGE_GROUPS)[census.group_of_cell()[census.age_cell_of(ages)]], ages.index
    )


def income_bracket(income: pd.Series) -> pd.Series:
    """The B19001 bracket label of each household income."""
    index = np.searchsorted(np.array(census.INCOME_LOWER), income.to_numpy(), side="right") - 1
    return pd.Series(np.array(INCOME_BRACKETS)[np.clip(index, 0, None)], income.index)


def add_derived_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Add (or recompute) ``age_group`` from ``age`` and ``income_bracket`` from ``household_income``."""
    frame = frame.copy()
    frame["age_group"] = age_group(frame["age"])
    frame["income_bracket"] = income_bracket(frame["household_income"])
    return frame


# --- How close a demographics table is to the census -------------------------------------------


def household_weight(frame: pd.DataFrame, state: str) -> np.ndarray:
    """Each adult's headship rate (householders per adult of their age band) in ``state``.

    Weighting adults by it turns person rows into household rows: the household tables (income,
    income by age or race of householder, household size) are compared on these weights.
    """
    cells = census.age_cell_of(frame["age"].to_numpy())
    return census.state_tables(state).headship[census.band_of_cell()[cells]]


def _share(frame: pd.DataFrame, columns: dict[str, tuple], weight: np.ndarray | None = None) -> np.ndarray:
    """Weighted joint shares of ``columns`` (each with its ordered categories) as an array."""
    codes = [pd.Categorical(frame[name], categories=list(cats)).codes for name, cats in columns.items()]
    valid = np.all([code >= 0 for code in codes], axis=0)
    weights = np.ones(len(frame)) if weight is None else np.asarray(weight, float)
    table = np.zeros([len(cats) for cats in columns.values()])
    np.add.at(table, tuple(code[valid] for code in codes), weights[valid])
    return table / table.sum()


def _group_ages(table: np.ndarray, axis: int) -> np.ndarray:
    """Aggregate an axis over :data:`census.AGE_CELLS` into the contract's age groups."""
    moved = np.moveaxis(table, axis, 0)
    grouped = np.zeros((len(census.AGE_GROUPS), *moved.shape[1:]))
    np.add.at(grouped, census.group_of_cell(), moved)
    return np.moveaxis(grouped, 0, axis)


def _tvd(observed: np.ndarray, expected: np.ndarray) -> float:
    return 0.5 * float(np.abs(observed / observed.sum() - expected / expected.sum()).sum())


def census_comparison(frame: pd.DataFrame, state: str) -> dict[str, dict[str, float]]:
    """TVD between ``frame`` (one state's demographics) and the census, per marginal and cross-tab.

    Returns ``{"marginals": {column: tvd}, "crosstabs": {name: tvd}}``. Each census table is compared
    in its own universe: persons 18+, persons 25+ for education (B15002), households (adults weighted
    by :func:`household_weight`, household size top-coded at 4+) for income, household size, home
    ownership and household language. Income by race compares the income distribution within each
    race (the race mix is the race marginal's job); likewise employment within each sex and B23001 age
    band (its 16–19 band stands for 18–19) and tenure within each householder age band (B25007): the
    age mix is the age marginal's job. The employment marginal is the census rates of each sex and
    band on the census (B01001) adults.
    """
    tables = census.state_tables(state)
    cells = census.age_cell_of(frame["age"].to_numpy())
    frame = frame.assign(
        education_band=census.bands_of_cells(census.EDUCATION_AGE_BANDS)[cells],
        employment_band=census.bands_of_cells(census.EMPLOYMENT_AGE_BANDS)[cells],
        tenure_band=census.bands_of_cells(census.TENURE_AGE_BANDS)[cells],
        married=np.where(frame["marital_status"] == "married_not_separated", "married", "not_married"),
        age_group=age_group(frame["age"]),
        income_bracket=income_bracket(frame["household_income"]),
        size=np.where(frame["household_size"] >= 4, "4+", frame["household_size"].astype(str)),
        householder_band=np.array(census.HOUSEHOLDER_BANDS)[
            census.band_of_cell()[census.age_cell_of(frame["age"].to_numpy())]
        ],
    )
    households = household_weight(frame, state)
    adults_25 = frame[frame["age"] >= 25]
    age_sex_race = _group_ages(tables.race_sex_age, 2)  # race, sex, age group
    marital = _group_ages(tables.marital_sex_age, 2)  # sex, status, age group
    col = {
        "age_group": census.AGE_GROUPS,
        "gender": GENDERS,
        "race_ethnicity": RACES,
        "education": EDUCATION,
        "marital_status": MARITAL,
        "income_bracket": INCOME_BRACKETS,
        "size": HOUSEHOLD_SIZES,
        "urban_rural": census.URBAN_RURAL,
        "householder_band": census.HOUSEHOLDER_BANDS,
        "education_band": range(len(census.EDUCATION_AGE_BANDS)),
        "employment_band": range(len(census.EMPLOYMENT_AGE_BANDS)),
        "tenure_band": range(len(census.TENURE_AGE_BANDS)),
        "married": ("not_married", "married"),
        "home_ownership": HOME_OWNERSHIP,
        "employment_status": EMPLOYMENT_STATUS,
        "children_in_household": CHILDREN_IN_HOUSEHOLD,
        "household_language": HOUSEHOLD_LANGUAGE,
    }

    def pick(*names: str) -> dict[str, tuple]:
        return {name: col[name] for name in names}

    marginals = {
        "age_group": _tvd(_share(frame, pick("age_group")), age_sex_race.sum(axis=(0, 1))),
        "gender": _tvd(_share(frame, pick("gender")), tables.age_sex.sum(axis=0)),
        "race_ethnicity": _tvd(_share(frame, pick("race_ethnicity")), tables.race_sex_age.sum(axis=(1, 2))),
        "education": _tvd(_share(adults_25, pick("education")), tables.education_sex.sum(axis=0)),
        "marital_status": _tvd(
            _share(frame, pick("marital_status")), tables.marital_sex_age.sum(axis=(0, 2))
        ),
        "household_income": _tvd(_share(frame, pick("income_bracket"), households), tables.income),
        "household_size": _tvd(_share(frame, pick("size"), households), tables.household_size),
        "urban_rural": _tvd(
            _share(frame, pick("urban_rural")), np.array([tables.urban_share, 1 - tables.urban_share])
        ),
    }
    employment_rates = tables.employment_sex_age / tables.employment_sex_age.sum(axis=2, keepdims=True)
    adults_by_band = np.zeros((len(census.EMPLOYMENT_AGE_BANDS), 2))
    np.add.at(adults_by_band, census.bands_of_cells(census.EMPLOYMENT_AGE_BANDS), tables.age_sex)
    if set(ATTRIBUTE_COLUMNS) <= set(frame.columns):
        marginals |= {
            "home_ownership": _tvd(
                _share(frame, pick("home_ownership"), households), tables.tenure_age.sum(0)
            ),
            "employment_status": _tvd(
                _share(frame, pick("employment_status")),
                (employment_rates * adults_by_band[..., None]).sum((0, 1)),
            ),
            "children_in_household": _tvd(
                _share(frame, pick("children_in_household")), tables.children_sex_married.sum(axis=(0, 1))
            ),
            "household_language": _tvd(
                _share(frame, pick("household_language"), households), tables.language
            ),
        }
    # Income by race: the census income distribution within each race, on the synthetic race mix.
    by_race = _share(frame, pick("race_ethnicity", "income_bracket"), households)
    within_race = tables.income_race / tables.income_race.sum(axis=1, keepdims=True)
    crosstabs = {
        "income_by_householder_age": _tvd(
            _share(frame, pick("householder_band", "income_bracket"), households), tables.income_band
        ),
        "income_by_race": _tvd(by_race, within_race * by_race.sum(axis=1, keepdims=True)),
        "education_by_sex": _tvd(_share(adults_25, pick("gender", "education")), tables.education_sex),
        "marital_by_sex_age": _tvd(_share(frame, pick("gender", "marital_status", "age_group")), marital),
        "age_by_sex_race": _tvd(_share(frame, pick("race_ethnicity", "gender", "age_group")), age_sex_race),
        "education_by_sex_age": _tvd(
            _share(frame, pick("education_band", "gender", "education")), tables.education_sex_age
        ),
    }
    if set(ATTRIBUTE_COLUMNS) <= set(frame.columns):
        by_band = _share(frame, pick("employment_band", "gender", "employment_status"))
        by_tenure_band = _share(frame, pick("tenure_band", "home_ownership"), households)
        tenure_rates = tables.tenure_age / tables.tenure_age.sum(axis=1, keepdims=True)
        crosstabs |= {
            "employment_by_sex_age": _tvd(by_band, employment_rates * by_band.sum(axis=2, keepdims=True)),
            "tenure_by_householder_age": _tvd(
                by_tenure_band, tenure_rates * by_tenure_band.sum(axis=1, keepdims=True)
            ),
            "children_by_sex_marital": _tvd(
                _share(frame, pick("gender", "married", "children_in_household")), tables.children_sex_married
            ),
        }
    return {"marginals": marginals, "crosstabs": crosstabs}
