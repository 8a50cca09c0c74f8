"""The fast Gaussian-copula sampler draws what SDV's own sampler draws: per column and jointly."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from utils.synth import fast_sampler
from utils.synth import models as synth

ROWS = 20_000
# Two independent samples of 20,000 rows: the two-sample KS statistic exceeds 0.0136 with probability
# 5 %, 0.0163 with 1 %; categories' TVD is smaller still. 0.025 leaves room for the table's error.
MAX_DISTANCE = 0.025


def _table(rng: np.random.Generator, rows: int, categories: int, numbers: int) -> pd.DataFrame:
    columns = {}
    base = rng.normal(size=rows)
    for i in range(categories):
        levels = [f"v{j}" for j in range(2 + 7 * i)]
        weights = rng.dirichlet(np.ones(len(levels)))
        columns[f"c{i}"] = rng.choice(levels, rows, p=weights)
    for i in range(numbers):
        shape = rng.uniform(0.5, 6)
        value = rng.gamma(shape, 3, rows) + (i + 1) * base  # correlated, skewed
        columns[f"x{i}"] = value.round(i % 3)
    columns["k"] = rng.integers(0, 4, rows)  # a small integer: SDV sees it as an ordered category
    return pd.DataFrame(columns)


def _distance(left: pd.Series, right: pd.Series) -> float:
    if left.dtype == object:
        a, b = left.value_counts(normalize=True), right.value_counts(normalize=True)
        return 0.5 * float(a.sub(b, fill_value=0).abs().sum())
    return float(stats.ks_2samp(left, right).statistic)


@settings(max_examples=6, deadline=None)
@given(
    st.integers(0, 2**31 - 1), st.integers(1, 3), st.integers(1, 4), st.sampled_from(["beta", "truncnorm"])
)
def test_fast_samples_follow_sdvs_sampler(seed, categories, numbers, distribution):
    rng = np.random.default_rng(seed)
    table = _table(rng, 600, categories, numbers)
    model = synth.fit_synthesizer(
        table, "gaussian_copula", seed=seed % 1000, table_name="t", default_distribution=distribution
    )
    fast = synth.sample_synthesizer(model, ROWS, seed=1)
    slow = synth.sample_synthesizer(model, ROWS, seed=1, fast=False)
    assert list(fast.columns) == list(slow.columns) and (fast.dtypes == slow.dtypes).all()
    for column in table.columns:
        assert _distance(fast[column], slow[column]) < MAX_DISTANCE, column
    numeric = [c for c in table.columns if c.startswith("x")]
    if len(numeric) > 1:  # the copula's dependence too
        gap = fast[numeric].corr(method="spearman") - slow[numeric].corr(method="spearman")
        assert np.abs(gap.to_numpy()).max() < 0.05
    for column in numeric:  # fitted range and rounding kept
        assert fast[column].between(table[column].min(), table[column].max()).all()
    assert fast.equals(synth.sample_synthesizer(model, ROWS, seed=1))  # same seed, same rows
    assert not fast.equals(synth.sample_synthesizer(model, ROWS, seed=2))


def test_what_cannot_be_compiled_falls_back_to_sdv():
    rng = np.random.default_rng(3)
    table = _table(rng, 300, 1, 2)
    table.loc[::7, "x0"] = np.nan  # SDV draws missing values again at random: not compiled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = synth.fit_synthesizer(table, "gaussian_copula", seed=1, table_name="t")
    assert fast_sampler.compile_sampler(model) is None
    sampled = synth.sample_synthesizer(model, 2_000, seed=1)
    assert sampled["x0"].isna().any()  # SDV's sampler kept them
    with pytest.raises(fast_sampler.CannotCompile):
        fast_sampler.FastCopulaSampler(object())
