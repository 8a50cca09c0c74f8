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
B15002 education × sex                sex, education             adults 25+ (0/1 weight)
B19037 income × age of householder   age→4 bands, income        households (headship)
B19001B–I income × race               race, income               households, within race
S2501 household size                  size                       households (headship)
====================================  =========================  ==========================

The household weight of an adult is the headship rate of their age band (householders per adult);
B19001's income marginal follows from B19037 (same households). Income by race is a conditional
target: householders' race mix differs from that of adults weighted by an age-only headship rate, so
the race mix is left to B01001 and only the income distribution within each race is fitted.
Where no table links two attributes, the prior carries a documented assumption (:func:`prior`):
married people rarely live alone, income rises with education and household size, and the
education of 18–24 year-olds (no state table) follows national ACS 2018 shares. Urban/rural has a
state share only and is drawn independently of everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils.census import tables as census
from utils.census.ipf import Constraint, IPFResult, integerise, ipf
from utils.census.tables import AGE_CELLS
from utils.core import seeding
from utils.core.schema import EDUCATION, GENDERS, HOUSEHOLD_SIZES, INCOME_BRACKETS, MARITAL, RACES

AXES = ("age_cell", "gender", "race_ethnicity", "education", "marital_status", "income_bracket", "size")
AGE, SEX, RACE, EDU, MARITAL_AXIS, INCOME, SIZE = range(len(AXES))
SHAPE = (len(AGE_CELLS), len(GENDERS), len(RACES), len(EDUCATION), len(MARITAL), len(INCOME_BRACKETS), 4)

# Education of 18–19 and 20–24 year-olds (no state table): approximate national ACS 2018 shares.
YOUNG_EDUCATION = {
    (18, 19): (0.22, 0.40, 0.35, 0.02, 0.01, 0.0),
    (20, 24): (0.10, 0.27, 0.39, 0.07, 0.16, 0.01),
}
# Among households of 4 or more persons, the shares of 4, 5, 6 and 7 persons (ACS 2018, US).
LARGE_HOUSEHOLD_SHARES = {4: 0.576, 5: 0.26, 6: 0.1, 7: 0.064}
TOP_INCOME_PARETO_ALPHA = 2.2  # tail of the open 200000+ bracket
TOP_INCOME_CAP = 5_000_000
OLDEST_AGE = 99
OLDEST_CELL_STAY = 0.8  # the open 85+ cell thins out with age: each year holds 0.8 of the one before


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
    - 18–24 year-olds get the national education shares of :data:`YOUNG_EDUCATION`.
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
    over_25 = _axis_shape(AGE, [1.0 if low >= 25 else 0.0 for low, _ in AGE_CELLS])
    return [
        Constraint("age_sex_race", (AGE, SEX, RACE), tables.race_sex_age.transpose(2, 1, 0)),
        Constraint("marital_sex_age", (AGE, SEX, MARITAL_AXIS), tables.marital_sex_age.transpose(2, 0, 1)),
        Constraint("education_sex", (SEX, EDU), tables.education_sex, weight=over_25),
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


def _age_in_cell() -> np.ndarray:
    """P(age | age cell), shape (cells, :data:`OLDEST_AGE` + 1).

    Uniform inside a closed cell; the open 85+ cell thins out geometrically (:data:`OLDEST_CELL_STAY`),
    the rest of its tail lumped at :data:`OLDEST_AGE`.
    """
    shares = np.zeros((len(AGE_CELLS), OLDEST_AGE + 1))
    for index, (low, high) in enumerate(AGE_CELLS):
        if high is not None:
            shares[index, low : high + 1] = 1 / (high - low + 1)
            continue
        years = np.arange(OLDEST_AGE - low)
        shares[index, low:OLDEST_AGE] = (1 - OLDEST_CELL_STAY) * OLDEST_CELL_STAY**years
        shares[index, OLDEST_AGE] = OLDEST_CELL_STAY ** (OLDEST_AGE - low)
    return shares


AGE_IN_CELL = _age_in_cell()


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


def _ages(cells: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An age inside each age cell index, drawn from :data:`AGE_IN_CELL`."""
    return ages_from_quantiles(rng.random(len(cells)), cells, AGE_IN_CELL)


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


def seed_sample(state: str, rows: int, seed: int) -> SeedSample:
    """``rows`` adults of ``state`` drawn from its IPF joint (same state, rows, seed: same rows).

    Columns: the demographics schema without ``customer_id``/``state``-free derivations, i.e.
    age, gender, race_ethnicity, education, marital_status, household_income, household_size,
    urban_rural, plus the derived age_group and income_bracket.
    """
    fit = fit_joint(state)
    rng = seeding.generator(seed, "demographics", partition=state, purpose="census_seed")
    counts = integerise(fit.joint, rows, rng)
    cells = np.repeat(np.arange(counts.size), counts.ravel())
    rng.shuffle(cells)
    index = np.unravel_index(cells, SHAPE)
    frame = pd.DataFrame(
        {
            "age": _ages(index[AGE], rng),
            "gender": np.array(GENDERS)[index[SEX]],
            "race_ethnicity": np.array(RACES)[index[RACE]],
            "education": np.array(EDUCATION)[index[EDU]],
            "marital_status": np.array(MARITAL)[index[MARITAL_AXIS]],
            "household_income": incomes(index[INCOME], rng),
            "household_size": household_sizes(index[SIZE], rng),
            "urban_rural": np.where(
                rng.random(rows) < census.state_tables(state).urban_share, "urban", "rural"
            ),
        }
    )
    return SeedSample(frame=add_derived_columns(frame), fit=fit)


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
    in its own universe: persons 18+, persons 25+ for education, households (adults weighted by
    :func:`household_weight`, household size top-coded at 4+) for income and household size. Income by
    race compares the income distribution within each race (the race mix is the race marginal's job).
    """
    tables = census.state_tables(state)
    frame = frame.assign(
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
    }
    return {"marginals": marginals, "crosstabs": crosstabs}
