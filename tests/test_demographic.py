"""Census-seeded demographics: census parsing, IPF, fidelity of the synthetic output, CLI contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
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
    }
    assert max(comparison["marginals"].values()) <= 0.02, comparison["marginals"]
    assert len(comparison["crosstabs"]) == 5
    assert max(comparison["crosstabs"].values()) <= 0.04, comparison["crosstabs"]


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
    """Closed cells are flat; the open 85+ cell thins out, its tail lumped at the oldest age."""
    np.testing.assert_allclose(population.AGE_IN_CELL.sum(axis=1), 1)
    oldest = population.AGE_IN_CELL[-1]
    assert oldest[:85].sum() == 0 and oldest[85] > oldest[86] > oldest[98]
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
        assert len(sample.frame) == 200 and sample.frame["age"].min() >= 18


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
