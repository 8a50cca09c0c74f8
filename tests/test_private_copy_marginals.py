"""utils/private_copy/marginals.py and mixture.py: marginals that keep their shape, and the mixture."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.metrics.fidelity import cramers_v, cramers_v_matrix, ks_statistic, tvd
from utils.private_copy.marginals import (
    CategoricalCodec,
    NumericCodec,
    TableCodec,
    level_orders,
    numeric_kind,
)
from utils.private_copy.mixture import fit_mixture, row_keys
from utils.private_copy.prepare import likely_target

values = st.lists(
    st.one_of(st.sampled_from([0.0, -1.0, 40.0]), st.floats(-1e4, 1e4, allow_nan=False), st.just(np.nan)),
    min_size=2,
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(values, st.integers(0, 2**16))
def test_numeric_codec_round_trips_every_training_value(column, seed):
    series = pd.Series(column, dtype=float)
    codec = NumericCodec.fit(series)
    z = codec.encode(series, np.random.default_rng(seed))
    assert np.isfinite(z).all()
    back = codec.decode(z)
    assert np.array_equal(np.isnan(back), series.isna().to_numpy())
    known = ~np.isnan(back)
    assert np.allclose(back[known], series.to_numpy()[known], rtol=0, atol=1e-6 * (1 + np.abs(back[known])))


@settings(max_examples=30, deadline=None)
@given(st.floats(0.3, 0.97), st.sampled_from([0.0, -1.0, 40.0]), st.booleans(), st.integers(0, 2**16))
def test_a_point_mass_comes_back_with_its_share_and_the_rest_keeps_its_range(share, atom, integer, seed):
    rng = np.random.default_rng(seed)
    n = 2000
    tail = np.exp(rng.normal(6, 1.5, n)) + 50
    x = np.where(rng.random(n) < share, atom, np.round(tail) if integer else tail)
    codec = NumericCodec.fit(pd.Series(x))
    sampled = codec.decode(np.random.default_rng(seed + 1).standard_normal(20_000))
    assert abs(np.mean(sampled == atom) - np.mean(x == atom)) < 0.02  # the atom's share, not smeared
    assert ks_statistic(pd.Series(x), pd.Series(sampled)) < 0.04
    assert sampled.min() >= x.min() and sampled.max() <= x.max()
    if integer:
        assert np.all(sampled == np.round(sampled))  # integers stay integers
    assert atom in codec.atoms()


def test_small_counts_keep_their_exact_values_and_frequencies():
    rng = np.random.default_rng(0)
    counts = np.clip(rng.geometric(0.4, 5000), 1, 63)
    codec = NumericCodec.fit(pd.Series(counts))
    assert codec.kind == "discrete" and numeric_kind(pd.Series(rng.normal(size=500))) == "continuous"
    sampled = codec.decode(np.random.default_rng(1).standard_normal(50_000))
    assert set(np.unique(sampled)) <= set(np.unique(counts))
    real = pd.Series(counts).value_counts(normalize=True)
    copy = pd.Series(sampled).value_counts(normalize=True)
    assert real.subtract(copy, fill_value=0).abs().max() < 0.01


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=2, max_size=60), st.integers(0, 2**16))
def test_categorical_codec_round_trips_and_keeps_frequencies(column, seed):
    series = pd.Series(column, dtype=object)
    codec = CategoricalCodec.fit(series)
    back = codec.decode(codec.encode(series, np.random.default_rng(seed)))
    assert [None if pd.isna(v) else v for v in back] == [None if pd.isna(v) else v for v in series]


def test_ties_are_placed_to_keep_the_dependence_of_two_rare_indicators():
    """Two 3 % indicators that mostly agree: placed at random inside their intervals, the latent
    correlation collapses (the copy's Cramér's V fell from 0.75 to 0.04); re-placed it holds."""
    rng = np.random.default_rng(0)
    n = 6000
    mother = rng.random(n) < 0.035
    father = np.where(rng.random(n) < 0.8, mother, rng.random(n) < 0.035)
    frame = pd.DataFrame(
        {
            "mother": np.where(mother, "yes", "no"),
            "father": np.where(father, "yes", "no"),
            "x": rng.normal(size=n),
        }
    )
    sdtypes = {"mother": "categorical", "father": "categorical", "x": "numerical"}
    codec = TableCodec(frame, sdtypes)
    placed = codec.encode(frame, np.random.default_rng(1))
    random = codec.encode(frame, np.random.default_rng(1), rounds=0)
    assert placed["mother"].corr(placed["father"]) > 0.6 > 0.3 > random["mother"].corr(random["father"])
    for column in ("mother", "father"):  # only ties moved: every row decodes to its own value
        assert (codec.codecs[column].decode(placed[column].to_numpy()) == frame[column]).all()
    mixture = fit_mixture(frame, sdtypes, seed=3, partition=False)
    copy = mixture.sample(n, seed=3)
    assert cramers_v(copy["mother"], copy["father"]) > 0.5 * cramers_v(frame["mother"], frame["father"])


@pytest.mark.parametrize("decimals", [4, 0])
def test_mixture_keeps_class_shares_exactly_and_redraws_copies_where_rows_are_unique(decimals):
    rng = np.random.default_rng(0)
    n = 900
    frame = pd.DataFrame(
        {
            "outcome": rng.choice(["yes", "no"], n, p=[0.3, 0.7]),
            "count": rng.integers(0, 4, n),
            "flag": rng.choice(["a", "b"], n),
        }
    )
    frame["amount"] = np.where(frame["outcome"] == "yes", rng.normal(10, 1, n).round(1), 0.0)
    frame["score"] = rng.normal(0, 1, n).round(decimals)  # 4 decimals: rows nearly unique
    sdtypes = {"outcome": "categorical", "count": "numerical", "flag": "categorical", "amount": "numerical"}
    sdtypes["score"] = "numerical"
    mixture = fit_mixture(frame, sdtypes, by=["outcome"], seed=1)
    copy = mixture.sample(1000, seed=2)
    expected = frame["outcome"].value_counts(normalize=True) * 1000
    assert (copy["outcome"].value_counts() - expected).abs().max() <= 1  # largest remainder
    assert (copy.loc[copy["outcome"] == "no", "amount"] == 0).all()  # class-conditional point mass
    copies = np.mean([key in set(row_keys(frame)) for key in row_keys(copy)])
    if decimals:  # rows nearly unique: copies redrawn, none left
        assert mixture.natural_copy_rate <= 0.01 and copies == 0
    else:  # a handful of codes: rows repeat, nothing redrawn, so the counts keep their frequencies
        assert mixture.natural_copy_rate > 0.5 and copies > 0.5
        assert tvd(frame["count"], copy["count"]) < 0.05
    again = fit_mixture(frame, sdtypes, by=["outcome"], seed=1).sample(1000, seed=2)
    pd.testing.assert_frame_equal(copy, again)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from("xy"), st.sampled_from("pqrs")),
        min_size=3,
        max_size=50,
    )
)
def test_cramers_v_matrix_equals_the_pairwise_figure(rows):
    frame = pd.DataFrame(rows, columns=["a", "b", "c"])
    matrix = cramers_v_matrix(frame, ["a", "b", "c"])
    for x, y in (("a", "b"), ("a", "c"), ("b", "c")):
        assert matrix.loc[x, y] == pytest.approx(cramers_v(frame[x], frame[y]), abs=1e-9)


def test_likely_target_prefers_an_outcome_name_then_the_last_binary_column():
    frame = pd.DataFrame({"sex": ["m", "f"] * 5, "y": ["no", "yes"] * 5, "default": ["no", "yes"] * 5})
    sdtypes = dict.fromkeys(frame, "categorical")
    assert likely_target(frame, sdtypes) == "y"
    assert (
        likely_target(frame.drop(columns="y"), {"sex": "categorical", "default": "categorical"}) == "default"
    )
    assert (
        likely_target(frame[["sex"]].assign(n=range(10)), {"sex": "categorical", "n": "numerical"}) == "sex"
    )
    assert likely_target(pd.DataFrame({"n": range(10)}), {"n": "numerical"}) is None
    assert tvd(frame["sex"], frame["y"]) == 1.0  # different labels: TVD sees them as different categories


def test_nominal_categories_are_ordered_by_the_number_they_set():
    """``education`` sets ``years`` non-monotonically in frequency order: ordered by the class means
    the map is monotone, so one copula latent can keep it."""
    rng = np.random.default_rng(0)
    levels = {"HS": 12, "Bachelors": 16, "Some-college": 13, "Doctorate": 20, "11th": 11}
    education = rng.choice(list(levels), 3000, p=[0.4, 0.25, 0.2, 0.05, 0.1])
    sex = rng.choice(["m", "f"], 3000)
    frame = pd.DataFrame(
        {
            "education": education,
            "years": [levels[e] for e in education],
            "relationship": np.where(
                sex == "m", rng.choice(["husband", "son"], 3000), rng.choice(["wife", "daughter"], 3000)
            ),
            "sex": sex,
        }
    )
    sdtypes = {
        "education": "categorical",
        "years": "numerical",
        "relationship": "categorical",
        "sex": "categorical",
    }
    orders = level_orders(frame, sdtypes)
    assert orders["education"] == sorted(levels, key=levels.get)
    assert {orders["relationship"][0], orders["relationship"][1]} in (
        {"husband", "son"},
        {"wife", "daughter"},
    )
    copy = fit_mixture(frame, sdtypes, seed=1, partition=False).sample(3000, seed=1)
    assert (copy["education"].map(levels) == copy["years"]).mean() > 0.9
