"""Census-seeded demographics: census parsing, IPF, fidelity of the synthetic output, CLI contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import demographic
from utils.census import population
from utils.census import tables as census
from utils.census.ipf import Constraint, integerise, ipf
from utils.core.cli import UserError
from utils.metrics import fidelity

ROOT = Path(__file__).resolve().parent.parent
# 20,000 synthetic rows from a 20,000-row seed: the bar's size; smaller samples are too noisy for
# 0.02 on a 16-bracket, household-weighted income marginal. Fitting + sampling takes seconds.
ROWS = 20_000
SEED_ROWS = 20_000
# Kolmogorov–Smirnov critical value factor at alpha = 0.001: c * sqrt((n + m) / (n m)).
KS_FACTOR_001 = 1.95


def ks_critical(n: int, m: int) -> float:
    """The KS distance two samples of ``n`` and ``m`` rows from one distribution exceed once in 1,000."""
    return KS_FACTOR_001 * np.sqrt((n + m) / (n * m))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    out = tmp_path_factory.mktemp("demo")
    frames = demographic.generate_demographics(
        ["NY", "TX"], ROWS, "gaussian_copula", 7, out_dir=str(out), seed_rows_per_state=SEED_ROWS
    )
    return out, frames


@pytest.mark.parametrize("state", ["NY", "TX"])
def test_synthetic_output_matches_census(generated, state):
    comparison = population.census_comparison(generated[1][state], state)
    assert set(comparison["marginals"]) == {
        "age_group",
        "gender",
        "race_ethnicity",
        "education",
        "marital_status",
        "household_income",
        "household_size",
        "urban_rural",
        "home_ownership",
        "employment_status",
        "children_in_household",
        "household_language",
    }
    assert max(comparison["marginals"].values()) <= 0.02, comparison["marginals"]
    assert set(comparison["crosstabs"]) == {
        "income_by_householder_age",
        "income_by_race",
        "education_by_sex",
        "marital_by_sex_age",
        "age_by_sex_race",
        "education_by_sex_age",
        "employment_by_sex_age",
        "tenure_by_householder_age",
        "children_by_sex_marital",
    }
    assert max(comparison["crosstabs"].values()) <= 0.04, comparison["crosstabs"]


def _pooled(generated) -> pd.DataFrame:
    return pd.concat(generated[1].values(), ignore_index=True)


def test_no_degree_before_its_age(generated):
    """Bachelor's or higher: about 0 at 18–20 (ACS: ~0; 10.8 % when B15002's 25+ table set it), 9–14 %
    at 18–24 (B15001: ~11 % in NY and TX)."""
    both = _pooled(generated)
    degree = both["education"].isin(["bachelors", "graduate_or_professional"])
    assert degree[both["age"] <= 20].mean() <= 0.03
    assert 0.09 <= degree[both["age"] <= 24].mean() <= 0.14
    youngest = population.youngest_age(pd.Categorical(both["education"], categories=census.EDUCATION).codes)
    assert (both["age"] >= youngest).all()


def test_married_by_single_age_groups(generated):
    """Married (spouse present or absent) at 18–19 and 20–24 as in B12002 (1.7 % / ~9 %; 5.9 % at 18–19
    when the profile carried the 18–24 group only)."""
    both = _pooled(generated)
    married = both["marital_status"] == "married_not_separated"
    assert 0.01 <= married[both["age"] <= 19].mean() <= 0.03
    assert 0.07 <= married[both["age"].between(20, 24)].mean() <= 0.12


def test_no_spike_at_the_top_age(generated):
    """The 85+ tail thins out to the oldest age (it once lumped its tail there: 70 people at 99, 17 at 98)."""
    counts = (
        _pooled(generated)["age"].value_counts().reindex(range(18, population.OLDEST_AGE + 1), fill_value=0)
    )
    assert counts.index.max() == population.OLDEST_AGE
    top = counts[population.OLDEST_AGE]
    before = counts.loc[population.OLDEST_AGE - 3 : population.OLDEST_AGE - 1].mean()
    assert top <= 2 * before + 5, counts.tail(8)
    assert counts.loc[85:89].sum() > counts.loc[90:94].sum() > counts.loc[95:].sum()


@pytest.fixture(scope="module")
def florida() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Florida (the largest 75+ share of the default states): a 10,000-row seed and 10,000 synthetic rows."""
    seed_frame = demographic.build_seed("FL", 10_000, 11)
    state_seed = demographic._state_seed(11, "FL")
    model = demographic.fit_state(seed_frame, "gaussian_copula", state_seed)
    return seed_frame, demographic.sample_state(model, "FL", 10_000, state_seed)


def test_numeric_columns_follow_the_seed(florida):
    """Every numeric column within KS noise of the seed (a uniform age inside 75+ gave age KS 0.05)."""
    seed_frame, synthetic = florida
    allowed = ks_critical(len(seed_frame), len(synthetic))  # 0.028 at 10,000 / 10,000
    for column in ("age", "household_income", "household_size"):
        distance = fidelity.ks_statistic(seed_frame[column], synthetic[column])
        assert distance <= allowed, (column, distance, allowed)


@pytest.mark.parametrize("group", census.AGE_GROUPS)
def test_ages_inside_each_group_follow_the_seed(florida, group):
    """The shape of the ages inside a group: the 75+ group thins out with age (KS 0.42 when flat)."""
    seed_ages, synthetic_ages = (frame.loc[frame["age_group"] == group, "age"] for frame in florida)
    distance = fidelity.ks_statistic(seed_ages, synthetic_ages)
    assert distance <= ks_critical(len(seed_ages), len(synthetic_ages)), distance


@settings(max_examples=30, deadline=None)
@given(
    shares=st.lists(
        st.lists(st.sampled_from([0.0, 0.01, 0.3, 1.0, 7.0]), min_size=6, max_size=6).filter(any),
        min_size=1,
        max_size=3,
    ),
    seed=st.integers(0, 2**16),
)
def test_age_quantiles_round_trip_and_are_uniform(shares, seed):
    """Ages -> quantiles -> the same ages; ages drawn from a row's shares give uniform quantiles."""
    table = np.array(shares) / np.array(shares).sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(table), 4000)
    ages = population.ages_from_quantiles(rng.random(len(rows)), rows, table)
    assert (table[rows, ages] > 0).all()
    quantiles = population.age_quantiles(ages, rows, table, rng)
    assert ((quantiles >= 0) & (quantiles < 1)).all()
    np.testing.assert_array_equal(population.ages_from_quantiles(quantiles, rows, table), ages)
    assert fidelity.ks_statistic(pd.Series(quantiles), pd.Series(rng.random(4000))) <= ks_critical(4000, 4000)


def test_ages_inside_a_cell():
    """Closed cells are flat; the open 85+ cell thins out every year up to the oldest age (no lump)."""
    np.testing.assert_allclose(population.AGE_IN_CELL.sum(axis=1), 1)
    np.testing.assert_allclose(population.AGE_ROWS.sum(axis=1), 1)
    oldest = population.AGE_IN_CELL[-1]
    assert oldest[:85].sum() == 0 and (np.diff(oldest[85:]) < 0).all()
    assert population.age_given_group("FL")[-1, 85:].sum() < 0.5  # FL: fewer 85+ than 75–84


def test_schema_and_consistency(generated):
    frames = generated[1]
    both = pd.concat(frames.values())
    assert list(both.columns) == list(demographic.COLUMNS)
    assert both["customer_id"].is_unique
    assert (both["age"] >= 18).all() and (both["household_size"] >= 1).all()
    assert set(both["age_group"]) <= set(census.AGE_GROUPS)
    assert set(both["income_bracket"]) <= set(census.INCOME_BRACKETS)
    assert set(both["race_ethnicity"]) <= set(census.RACES)
    assert (both["age_group"] == population.age_group(both["age"])).all()
    assert (both["income_bracket"] == population.income_bracket(both["household_income"])).all()
    assert list(frames["TX"]["state"].unique()) == ["TX"]


def test_files_seed_and_model_written_and_resampled(generated):
    out, frames = generated
    written = pd.read_csv(out / "NY_demographics.csv")
    assert len(written) == ROWS and written["customer_id"].iloc[0] == "NY-0000001"
    assert len(pd.read_csv(out / "seed" / "TX_demographics.csv")) == SEED_ROWS
    again = demographic.generate_demographics(
        ["NY"], 500, seed=7, out_dir=None, from_model=False, seed_rows_per_state=2000
    )
    assert len(again["NY"]) == 500
    resampled = demographic.generate_demographics(["TX"], ROWS, seed=7, out_dir=str(out), from_model=True)
    pd.testing.assert_frame_equal(resampled["TX"], frames["TX"])  # same model, same seed, same rows


def test_same_seed_gives_identical_bytes(tmp_path):
    args = ["--states", "WY", "--rows-per-state", "300", "--seed-rows-per-state", "2000", "--quiet"]
    for name in ("a", "b"):
        assert demographic.main([*args, "--out-dir", str(tmp_path / name)]) == 0
    for relative in ("WY_demographics.csv", "seed/WY_demographics.csv"):
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()
    other = tmp_path / "c"
    demographic.main([*args, "--seed", "8", "--out-dir", str(other)])
    assert (other / "WY_demographics.csv").read_bytes() != (
        tmp_path / "a" / "WY_demographics.csv"
    ).read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--states", "NY,ZZ"], "unknown state"),
        (["--rows-per-state", "0"], "positive"),
        (["--synthesizer", "magic"], "invalid choice"),
    ],
)
def test_cli_errors(tmp_path, args, message):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "demographic.py", "--states", "NY", *args, "--out-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]  # argparse's usage lines may come first
    assert message in last and "Traceback" not in result.stderr
    assert not out.exists() or not any(out.rglob("*demographics*"))


def test_unwritable_folder_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match="not writable"):
        demographic.generate_demographics(["NY"], 10, out_dir=str(blocker / "out"))


def test_every_state_builds_a_seed_sample():
    assert len(census.all_states()) == 51 and "PR" not in census.all_states()
    for state in census.all_states():
        sample = population.seed_sample(state, 200, seed=1)
        assert sample.fit.max_error < 0.01, (state, sample.fit.errors)
        for name, attribute in sample.attributes.items():
            assert attribute.fit.max_error < 1e-4, (state, name, attribute.fit.errors)
            np.testing.assert_allclose(attribute.conditional.sum(axis=-1), 1)
        assert len(sample.frame) == 200 and sample.frame["age"].min() >= 18
        assert set(population.ATTRIBUTE_COLUMNS) <= set(sample.frame.columns)


def test_census_tables_are_consistent():
    ny = census.state_tables("NY")
    assert ny.race_sex_age.sum() == pytest.approx(ny.age_sex.sum())
    assert ny.marital_sex_age.sum() == pytest.approx(ny.age_sex.sum())
    assert ny.income_band.sum() == pytest.approx(ny.income.sum())
    assert ((ny.headship > 0) & (ny.headship < 1)).all()
    assert census.parse_income("$200,000 or more") == "200000+"
    assert census.parse_age("85 years and over") == (85, None)
    with pytest.raises(UserError):
        census.check_state("PR")


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(st.floats(1, 100), min_size=2, max_size=4),
    cols=st.lists(st.floats(1, 100), min_size=2, max_size=5),
    seed=st.integers(0, 2**16),
)
def test_ipf_reaches_random_margins(rows, cols, seed):
    rng = np.random.default_rng(seed)
    prior = rng.uniform(0.1, 1, (len(rows), len(cols)))
    result = ipf(prior, [Constraint("rows", (0,), np.array(rows)), Constraint("cols", (1,), np.array(cols))])
    assert result.max_error < 1e-6
    np.testing.assert_allclose(result.joint.sum(axis=1), np.array(rows) / sum(rows), atol=1e-6)
    counts = integerise(result.joint, 1000, rng)
    assert counts.sum() == 1000 and np.all(np.abs(counts - result.joint * 1000) < 1 + 1e-9)


@settings(max_examples=15, deadline=None)
@given(
    weights=st.lists(st.floats(0.1, 1), min_size=3, max_size=3),
    target=st.lists(st.floats(1, 50), min_size=2, max_size=2),
)
def test_weighted_ipf_matches_the_weighted_margin(weights, target):
    weight = np.array(weights).reshape(3, 1)
    result = ipf(np.ones((3, 2)), [Constraint("w", (1,), np.array(target), weight=weight)])
    weighted = (result.joint * weight).sum(axis=0)
    np.testing.assert_allclose(weighted / weighted.sum(), np.array(target) / sum(target), atol=1e-6)


@pytest.mark.parametrize("kind", ["tvae"])  # ctgan takes ~25 s even at 1 epoch: checked by hand
def test_neural_synthesizers_produce_consistent_rows(kind):
    frames = demographic.generate_demographics(["WY"], 100, kind, 3, epochs=1, seed_rows_per_state=300)
    frame = frames["WY"]
    assert len(frame) == 100 and list(frame.columns) == list(demographic.COLUMNS)
    assert (frame["age"] >= 18).all()
    assert (frame["income_bracket"] == population.income_bracket(frame["household_income"])).all()
    education = pd.Categorical(frame["education"], categories=census.EDUCATION).codes
    assert (frame["age"] >= population.youngest_age(education)).all()  # structural rule kept


# --- Attributes fitted on top of the joint, and their census tables -------------------------------------


@settings(max_examples=4, deadline=None)
@given(state=st.sampled_from(census.all_states()), seed=st.integers(0, 2**16))
def test_new_attributes_match_their_census_tables_in_any_state(state, seed):
    """A 20,000-row seed sample of any state is well within the bars of B25007, B23001, B09002 and
    C16002, marginals and cross-tabs with age (the synthesizer's noise comes on top: see the NY/TX
    test). Tenure is fitted within each householder age band, so its marginal keeps the difference
    between B25007's and the headship-weighted age mix: up to 0.007 (DC) before sampling noise."""
    comparison = population.census_comparison(population.seed_sample(state, 20_000, seed).frame, state)
    for name in population.ATTRIBUTE_COLUMNS:
        assert comparison["marginals"][name] <= 0.015, (state, name, comparison["marginals"])
    for name in ("education_by_sex_age", "employment_by_sex_age", "tenure_by_householder_age"):
        assert comparison["crosstabs"][name] <= 0.03, (state, name, comparison["crosstabs"])
    assert comparison["crosstabs"]["children_by_sex_marital"] <= 0.015, (state, comparison["crosstabs"])


@settings(max_examples=25, deadline=None)
@given(
    cells=st.lists(
        st.lists(st.sampled_from([0.0, 0.05, 0.3, 1.0, 4.0]), min_size=3, max_size=3).filter(any),
        min_size=1,
        max_size=6,
    ),
    rows=st.integers(1, 3000),
    seed=st.integers(0, 2**16),
)
def test_attribute_draws_are_stratified_in_every_cell(cells, rows, seed):
    """Inside each link cell the drawn values are within one of rows × P(value | cell), and never a
    value with P = 0; the same generator state gives the same draws."""
    conditional = np.array(cells) / np.array(cells).sum(axis=1, keepdims=True)
    attribute = population.Attribute("x", ("a", "b", "c"), (0,), conditional, fit=None)
    index = (np.random.default_rng(seed).integers(0, len(cells), rows),)
    drawn = population.draw_attribute(attribute, index, np.random.default_rng(seed))
    again = population.draw_attribute(attribute, index, np.random.default_rng(seed))
    np.testing.assert_array_equal(drawn, again)
    for cell in range(len(cells)):
        mine = drawn[index[0] == cell]
        counts = np.array([(mine == value).sum() for value in attribute.values])
        assert (np.abs(counts - len(mine) * conditional[cell]) < 1 + 1e-9).all(), (cell, counts)
        assert counts[conditional[cell] == 0].sum() == 0


@settings(max_examples=30, deadline=None)
@given(
    cell=st.integers(0, len(census.AGE_CELLS) - 1),
    level=st.integers(0, len(census.EDUCATION) - 1),
    state=st.sampled_from([None, "NY", "TX"]),
    seed=st.integers(0, 2**16),
)
def test_ages_inside_a_cell_respect_the_degree_ages(cell, level, state, seed):
    """Ages drawn for any (cell, education) stay in the cell, at or above the degree's youngest age
    when the cell reaches it (18–19 has no bachelor's: a structural zero of the joint), and their
    positions map back to the same ages."""
    last = census.AGE_CELLS[cell][1]
    assume(last is None or population.youngest_age(np.array([level]))[0] <= last)
    rng = np.random.default_rng(seed)
    cells, levels = np.full(500, cell), np.full(500, level)
    table, _ = population.age_table(state)
    np.testing.assert_allclose(table.sum(axis=1), 1)
    rows = population.age_rows(cells, levels, state)
    ages = population.ages_from_quantiles(rng.random(500), rows, table)
    assert (census.age_cell_of(ages) == cell).all()
    assert (ages >= population.youngest_age(levels)).all()
    quantiles = population.age_quantiles(ages, rows, table, rng)
    np.testing.assert_array_equal(population.ages_from_quantiles(quantiles, rows, table), ages)


def test_single_ages_stay_flat_inside_the_youngest_cells(generated):
    """Degree holders are older inside 20–24; the other levels are offset so that each age 20–24 keeps
    about a fifth of the cell (without the offset NY had 15 % at 20 and 24 % at 24), and 18 and 19 half."""
    ages = _pooled(generated)["age"]
    young = ages[ages.between(20, 24)].value_counts(normalize=True)
    assert young.between(0.17, 0.23).all() and len(young) == 5, young
    teen = ages[ages <= 19].value_counts(normalize=True)
    assert teen.between(0.45, 0.55).all(), teen


def test_new_census_tables_are_consistent():
    """B15001 covers exactly B01001's adults and B15002's 25+; B25007 and B19037 count the same
    households; the B09002-derived parents are a plausible share of adults; every state has them."""
    for state in ("NY", "TX", "WY", "DC"):
        tables = census.state_tables(state)
        assert tables.education_sex_age.sum() == pytest.approx(tables.age_sex.sum())
        assert tables.education_sex_age[1:].sum() == pytest.approx(tables.education_sex.sum())
        assert tables.tenure_age.sum() == pytest.approx(tables.income.sum(), rel=0.01)
        assert tables.language.sum() == pytest.approx(tables.income.sum(), rel=0.01)
        parents = tables.children_sex_married[..., 1].sum() / tables.age_sex.sum()
        assert 0.12 < parents < 0.35, (state, parents)
        # B23001's 18+ bands hold B01001's adults up to the 16-17 year-olds of its first band.
        assert tables.employment_sex_age[1:].sum() == pytest.approx(tables.age_sex[1:].sum(), rel=0.01)
    assert (census.bands_of_cells(census.TENURE_AGE_BANDS) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8]).all()


def test_internet_by_age():
    """B28005 per state and age bracket: shares in [0, 1], broadband within any subscription, fewer
    subscriptions at 65+ than at 18–64 in every state."""
    table = census.internet_by_age()
    assert len(table) == 51 * 3 and list(table["age_bracket"].unique()) == ["0-17", "18-64", "65+"]
    shares = table[["broadband_share", "any_internet_share", "computer_share", "no_internet_share"]]
    assert ((shares >= 0) & (shares <= 1)).all().all()
    assert (table["broadband_share"] <= table["any_internet_share"]).all()
    wide = table.pivot(index="state", columns="age_bracket", values="any_internet_share")
    assert (wide["65+"] < wide["18-64"]).all()
    assert census.internet_by_age(["ny"])["state"].tolist() == ["NY"] * 3


def test_census_files_match_md5sums():
    """Every file listed in data/census/MD5SUMS is there with that MD5 (raw copies byte-identical)."""
    import hashlib

    folder = ROOT / "data" / "census"
    listed = [
        line.split(maxsplit=1) for line in (folder / "MD5SUMS").read_text().splitlines() if line.strip()
    ]
    names = {name.strip().removeprefix("./") for _, name in listed}
    assert {"raw/acs1_2018_state_extra/acs1_2018_B15001_state.csv", "state_internet_age_acs2018.csv"} <= names
    for digest, name in listed:
        path = folder / name.strip().removeprefix("./")
        if name.strip() == "./PROVENANCE.md":
            continue  # edited with the project; its MD5 is informative only
        assert hashlib.md5(path.read_bytes()).hexdigest() == digest, name
