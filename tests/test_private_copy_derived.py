"""Categories tied to other columns: looked up where another column determines them
(utils.private_copy.derived), conditioned on where two categories are tied (structural_categories).

Property-based: a column built as a function of another is found whatever the function and the
sizes; independent columns and rare classes are not; the mixture's copy keeps the function exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.metrics.fidelity import cramers_v
from utils.private_copy.derived import find_derived
from utils.private_copy.mixture import fit_mixture
from utils.private_copy.prepare import structural_categories


@settings(max_examples=30, deadline=None)
@given(
    levels=st.integers(2, 30),
    groups=st.integers(2, 6),
    rows=st.integers(400, 3000),
    seed=st.integers(0, 2**16),
    numeric_source=st.booleans(),
)
def test_a_function_of_another_column_is_found_and_looked_up(levels, groups, rows, seed, numeric_source):
    rng = np.random.default_rng(seed)
    groups = min(groups, levels)
    mapping = {level: f"group {rng.integers(groups)}" for level in range(levels)}
    mapping[0], mapping[levels - 1] = "group 0", f"group {groups - 1}"  # at least two groups
    source = rng.integers(levels, size=rows)
    frame = pd.DataFrame(
        {
            "noise": rng.choice(["a", "b", "c"], rows),
            "source": source if numeric_source else [f"level {v}" for v in source],
            "derived": [mapping[v] for v in source],
        }
    )
    sdtypes = {"noise": "categorical", "source": "numerical" if numeric_source else "categorical"}
    sdtypes["derived"] = "categorical"
    found = find_derived(frame, sdtypes)
    names = [(d.column, d.source) for d in found]
    if frame["derived"].nunique() < 2 or levels * 10 > rows:  # nothing to derive, or too few rows per value
        assert ("derived", "source") not in names
        return
    assert ("derived", "source") in names
    lookup = next(d for d in found if d.column == "derived")
    assert lookup.share == 1.0
    assert (lookup.fill(frame) == frame["derived"]).all()
    assert all(d.column != "noise" for d in found)  # independent of everything


def test_independent_columns_and_rare_classes_are_not_looked_up():
    rng = np.random.default_rng(0)
    rows = 20_000
    source = rng.integers(20, size=rows)
    frame = pd.DataFrame(
        {
            "source": source,
            "coin": rng.choice(["heads", "tails"], rows),
            # 0.3 % rare class: the most common class per source value covers 99.7 % of the rows, over
            # the share bar, yet a lookup would erase the rare class: it must stay modelled
            "rare": np.where(rng.random(rows) < 0.003, "rare", "common"),
        }
    )
    sdtypes = {"source": "numerical", "coin": "categorical", "rare": "categorical"}
    assert find_derived(frame, sdtypes) == []
    frame["parity"] = np.where(source % 2 == 0, "even", "odd")
    sdtypes["parity"] = "categorical"
    found = find_derived(frame, sdtypes, keep=("parity",))
    assert found == []  # a column to keep (the target, a conditioning column) is never looked up
    assert [(d.column, d.source) for d in find_derived(frame, sdtypes)] == [("parity", "source")]


def test_one_to_one_columns_keep_the_first_and_the_copy_keeps_the_function():
    rng = np.random.default_rng(1)
    rows = 3_000
    years = rng.choice([9, 12, 13, 16, 18], rows, p=[0.1, 0.4, 0.2, 0.2, 0.1])
    labels = {9: "some school", 12: "high school", 13: "some college", 16: "bachelor", 18: "master"}
    frame = pd.DataFrame(
        {
            "years": years,
            "education": [labels[y] for y in years],
            "hours": np.where(rng.random(rows) < 0.4, 40.0, rng.normal(38, 9, rows).round()),
            "region": rng.choice(["north", "south", "east", "west"], rows),
        }
    )
    frame["area"] = frame["region"].map({"north": "N+E", "east": "N+E", "south": "S+W", "west": "S+W"})
    sdtypes = {"years": "numerical", "education": "categorical", "hours": "numerical"}
    sdtypes |= {"region": "categorical", "area": "categorical"}
    found = {d.column: d.source for d in find_derived(frame, sdtypes)}
    assert found == {"education": "years", "area": "region"}  # years and region stay modelled
    label_first = frame[["education", "years", "hours", "area", "region"]]
    found = {d.column: d.source for d in find_derived(label_first, sdtypes)}
    assert found == {"education": "years", "area": "region"}  # a number is never derived: its label is
    model = fit_mixture(frame, sdtypes, seed=3)
    assert [d.column for d in model.derived] == ["education", "area"]
    copy = model.sample(5_000, seed=4)
    assert list(copy.columns) == list(frame.columns)
    assert (copy["education"] == copy["years"].map(labels)).all()
    assert (copy["area"] == copy["region"].map(dict(zip(frame["region"], frame["area"], strict=True)))).all()
    shares = copy["education"].value_counts(normalize=True)
    real = frame["education"].value_counts(normalize=True)
    assert (shares - real).abs().max() < 0.03  # the label's marginal follows the source's


def test_categories_tied_to_each_other_get_a_copula_per_class_and_keep_their_tie():
    """Two categories tied by a non-monotone pattern (each class of one mostly one class of the
    other, 15 % noise): one of them is conditioned on, and the copy keeps the tie; the classes stop
    where they would leave fewer than about SYNTH_PARTITION_ROWS rows a class."""
    rng = np.random.default_rng(2)
    rows = 6_000
    first = rng.choice(["p", "q", "r", "s", "t"], rows)
    pattern = {"p": "c3", "q": "c1", "r": "c5", "s": "c2", "t": "c4"}
    noise = rng.random(rows) < 0.15
    second = np.where(noise, rng.choice(["c1", "c2", "c3", "c4", "c5"], rows), pd.Series(first).map(pattern))
    frame = pd.DataFrame(
        {
            "first": first,
            "spend": rng.gamma(2.0, 40.0, rows).round(2),
            "second": second,
            "visits": rng.poisson(2, rows),
            "flag": rng.choice(["yes", "no"], rows),
        }
    )
    metadata = {"first": "categorical", "spend": "numerical", "second": "categorical"}
    metadata |= {"visits": "numerical", "flag": "categorical"}
    columns = {c: {"sdtype": sdtype} for c, sdtype in metadata.items()}
    assert structural_categories(frame, columns, exclude=("flag",), rows_per_class=500) == ["first"]
    too_few = structural_categories(frame, columns, exclude=("flag",), rows_per_class=1_000)
    assert too_few == []  # 2 x 5 classes x 1,000 rows > 6,000 rows
    assert structural_categories(frame, columns, exclude=("flag",), rows_per_class=500, tie=0.9) == []
    by = ["flag", "first"]
    shared = fit_mixture(frame, metadata, by=["flag"], seed=1, partition=False).sample(rows, seed=2)
    per_class = fit_mixture(frame, metadata, by=by, seed=1, partition=False).sample(rows, seed=2)
    real_v = cramers_v(frame["first"], frame["second"])
    assert abs(cramers_v(per_class["first"], per_class["second"]) - real_v) < 0.05
    assert cramers_v(shared["first"], shared["second"]) < real_v - 0.2  # one copula smears the pattern
