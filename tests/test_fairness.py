"""fairness.py: aif360 parity and equalized odds, bias detection, mitigation, CLI errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import constants
import fairness
from utils import fairness_metrics as fm
from utils import storage

RACES = ["hispanic_any_race", "white_nh", "black_nh", "asian_nh", "two_or_more_nh", "aian_nh", "nhpi_nh"]
RACE_SHARES = [0.18, 0.6, 0.12, 0.06, 0.025, 0.01, 0.005]
AGE_GROUPS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]


def contract_tables(n: int, seed: int, bias: tuple[str, str, float] | None = None) -> dict[str, pd.DataFrame]:
    """Contract-shaped demographics, preferences, engagements and transactions.

    Conversion depends on brand loyalty only; ``bias=(attribute, group, strength)`` scales the group's
    targeting and conversion by ``1 - strength`` (the chain's bias knob semantics).
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"NY-{i:07d}" for i in range(n)])
    demographics = pd.DataFrame(
        {
            "customer_id": ids,
            "state": "NY",
            "age": rng.integers(18, 90, n),
            "gender": rng.choice(["male", "female"], n),
            "race_ethnicity": rng.choice(RACES, n, p=np.array(RACE_SHARES) / sum(RACE_SHARES)),
            "education": rng.choice(["high_school_or_ged", "bachelors", "graduate_or_professional"], n),
            "household_income": rng.lognormal(11, 0.6, n).astype(int),
            "household_size": rng.integers(1, 6, n),
            "urban_rural": rng.choice(["urban", "rural"], n, p=[0.8, 0.2]),
        }
    )
    demographics["age_group"] = pd.cut(
        demographics["age"], [17, 24, 34, 44, 54, 64, 74, 200], labels=AGE_GROUPS
    ).astype(str)
    preferences = pd.DataFrame(
        {
            "customer_id": ids,
            "preferred_channel": rng.choice(["email", "social", "search"], n),
            "brand_loyalty": rng.random(n),
            "price_sensitivity": rng.random(n),
            "email_opt_in": rng.random(n) < 0.6,
        }
    )
    target, convert = np.full(n, 0.9), 0.1 + 0.5 * preferences["brand_loyalty"].to_numpy()
    if bias:
        attribute, group, strength = bias
        hit = demographics[attribute].to_numpy() == group
        target, convert = (
            np.where(hit, target * (1 - strength), target),
            np.where(hit, convert * (1 - strength), convert),
        )
    targeted = rng.random(n) < target
    converted = targeted & (rng.random(n) < convert)
    engagements = pd.DataFrame(
        {
            "customer_id": np.concatenate([ids[targeted], ids[converted], ids[converted]]),
            "event_type": ["impression"] * targeted.sum() + ["click"] * converted.sum()
            + ["conversion"] * converted.sum(),
        }
    )  # fmt: skip
    buyers = rng.choice(ids, 3 * n)
    transactions = pd.DataFrame({"customer_id": buyers, "amount": rng.gamma(2, 30, 3 * n).round(2) + 0.01})
    return {
        "demographics": demographics,
        "consumer_preferences": preferences,
        "engagements": engagements,
        "transactions": transactions,
    }


def write_tables(tables: dict[str, pd.DataFrame], folder) -> str:
    """Write ``tables`` with the output-folder naming contract; return the folder."""
    storage.write_table(tables["demographics"], folder / "NY_demographics.csv")
    for name in ("consumer_preferences", "engagements", "transactions"):
        storage.write_table(tables[name], folder / f"{name}.csv")
    return str(folder)


N = 6_000
BIAS = ("race_ethnicity", "black_nh", 0.5)


@pytest.fixture(scope="module")
def unbiased_dir(tmp_path_factory):
    return write_tables(contract_tables(N, seed=1), tmp_path_factory.mktemp("unbiased"))


@pytest.fixture(scope="module")
def biased_dir(tmp_path_factory):
    return write_tables(contract_tables(N, seed=1, bias=BIAS), tmp_path_factory.mktemp("biased"))


@pytest.fixture(scope="module")
def unbiased_report(unbiased_dir, tmp_path_factory):
    return fairness.fairness_report(unbiased_dir, report_dir=tmp_path_factory.mktemp("fair_off"))


@pytest.fixture(scope="module")
def biased_report(biased_dir, tmp_path_factory):
    return fairness.fairness_report(biased_dir, mitigate=True, report_dir=tmp_path_factory.mktemp("fair_on"))


# --- the bars -----------------------------------------------------------------------------------
def test_no_bias_keeps_every_attribute_inside_four_fifths(unbiased_report):
    report, groups = unbiased_report
    low, high = constants.FOUR_FIFTHS_RANGE
    for attribute in constants.PROTECTED_ATTRIBUTES:
        summary = report["attributes"][attribute]
        assert low <= summary["pooled"]["disparate_impact"] <= high, attribute
        assert summary["flagged_groups"] == [], attribute
    scored = groups["disparate_impact"].dropna()
    assert len(scored) >= 10 and scored.between(low, high).all()
    assert report["verdict"] == "pass" and report["flagged"] == []


def test_bias_flags_the_group_and_mitigation_restores_parity(biased_report):
    report, groups = biased_report
    attribute, group, _ = BIAS
    assert {"attribute": attribute, "group": group} in report["flagged"]
    assert report["verdict"] == "fail"
    summary = report["attributes"][attribute]
    assert summary["verdict"] == "fail" and summary["privileged"] != group
    row = groups[(groups["attribute"] == attribute) & (groups["group"] == group)].iloc[0]
    assert (
        row["disparate_impact"] < constants.FOUR_FIFTHS_RANGE[0] and row["p_value"] < constants.FAIRNESS_ALPHA
    )
    low, high = constants.FOUR_FIFTHS_RANGE
    assert low <= row["reweighed_disparate_impact"] <= high
    assert low <= summary["mitigation"]["reweighing"]["disparate_impact"] <= high
    assert groups["reweighed_disparate_impact"].dropna().between(low, high).all()
    assert report["attributes"]["gender"]["flagged_groups"] == []


def test_report_files_and_verdicts(biased_report):
    report, groups = biased_report
    files = report["files"]
    written = json.loads(Path(files["report"]).read_text())
    assert written["flagged"] == report["flagged"]
    assert Path(files["chart"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    weights = pd.read_csv(files["reweighing_weights"])
    assert list(weights.columns) == ["customer_id", *(f"weight_{a}" for a in constants.PROTECTED_ATTRIBUTES)]
    assert len(weights) == N and (weights.drop(columns="customer_id") > 0).all().all()
    assert set(pd.read_csv(files["groups"])["group"]) == set(groups["group"])
    race = report["attributes"]["race_ethnicity"]
    for key in ("true_positive_rate_difference", "average_odds_difference", "equal_opportunity_difference"):
        assert key in race["pooled"] and race["pooled"]["verdicts"][key] in {"pass", "fail"}
    assert set(race["mitigation"]) == {"reweighing", "eq_odds_postprocessing"}
    assert "four-fifths" in report["rules"]["disparate_impact"]
    every_group = groups[groups["attribute"] == "race_ethnicity"]
    assert len(every_group) == len(RACES) and every_group["privileged"].sum() == 1


def test_same_seed_same_report_bytes(unbiased_dir, tmp_path):
    paths = []
    for name in ("a", "b"):
        report, _ = fairness.fairness_report(
            unbiased_dir, ["gender"], "high_value", report_dir=tmp_path / name, seed=3
        )
        paths.append(report["files"])
    for key in ("groups", "chart"):
        assert Path(paths[0][key]).read_bytes() == Path(paths[1][key]).read_bytes()
    first, second = (json.loads(Path(p["report"]).read_text()) for p in paths)
    first.pop("files"), second.pop("files")
    assert first == second


# --- the aif360 glue ----------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.booleans()), min_size=8, max_size=80).filter(
        lambda rows: len({g for g, _ in rows}) > 1 and len({y for _, y in rows}) > 1
    )
)
def test_reweighing_equalises_every_group_rate(rows):
    groups = pd.Series([g for g, _ in rows])
    labels = pd.Series([y for _, y in rows])
    weights = fm.reweighing_weights(labels, groups)
    overall = labels.mean()
    for group in groups.unique():
        member = groups == group
        if labels[member].nunique() == 2:  # a group with one label value cannot be reweighed to any rate
            rate = (weights * labels)[member].sum() / weights[member].sum()
            assert rate == pytest.approx(overall)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 50), st.integers(1, 50), st.integers(0, 50), st.integers(0, 50))
def test_parity_matches_the_definition(n_priv, n_unpriv, pos_priv, pos_unpriv):
    pos_priv, pos_unpriv = min(pos_priv, n_priv), min(pos_unpriv, n_unpriv)
    labels = pd.Series([True] * pos_priv + [False] * (n_priv - pos_priv) + [True] * pos_unpriv
                       + [False] * (n_unpriv - pos_unpriv))  # fmt: skip
    privileged = pd.Series([True] * n_priv + [False] * n_unpriv)
    metrics = fm.parity(labels, privileged)
    assert metrics["statistical_parity_difference"] == pytest.approx(
        pos_unpriv / n_unpriv - pos_priv / n_priv, abs=1e-6
    )
    if pos_priv:
        assert metrics["disparate_impact"] == pytest.approx(
            (pos_unpriv / n_unpriv) / (pos_priv / n_priv), abs=1e-5
        )


def test_equalized_odds_matches_the_definition():
    labels = pd.Series([1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    predicted = pd.Series([1, 1, 1, 0, 1, 0, 0, 0], dtype=bool)
    privileged = pd.Series([True] * 4 + [False] * 4)
    metrics = fm.equalized_odds(labels, predicted, privileged)
    # privileged: TPR 1, FPR 0.5; unprivileged: TPR 0.5, FPR 0
    assert metrics["true_positive_rate_difference"] == pytest.approx(-0.5)
    assert metrics["false_positive_rate_difference"] == pytest.approx(-0.5)
    assert metrics["average_odds_difference"] == pytest.approx(-0.5)
    assert metrics["equal_opportunity_difference"] == pytest.approx(-0.5)


def test_privileged_group_ignores_a_tiny_lucky_group():
    groups = pd.Series(["big"] * 500 + ["mid"] * 300 + ["tiny"] * 5)
    labels = pd.Series([True] * 200 + [False] * 300 + [True] * 60 + [False] * 240 + [True] * 5)
    privileged, reason = fairness.choose_privileged(labels, groups)
    assert privileged == "big" and "Wilson" in reason


def test_verdict_rules():
    assert fairness.di_verdict(0.85) == "pass" and fairness.di_verdict(1.3, 0.001) == "fail"
    assert (
        fairness.di_verdict(0.5, 0.2) == "inconclusive" and fairness.di_verdict(None) == "insufficient_data"
    )
    assert fairness.difference_verdict(-0.05) == "pass" and fairness.difference_verdict(0.2) == "fail"


# --- the command line ---------------------------------------------------------------------------
def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "fairness.py", *args], capture_output=True, text=True, check=False)


def test_cli_missing_folder_is_one_line_exit_2(tmp_path):
    result = _run("--data-dir", str(tmp_path / "nope"), "--quiet")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


def test_cli_absent_protected_attribute_is_one_line_exit_2(unbiased_dir, tmp_path):
    tables = contract_tables(200, seed=2)
    tables["demographics"] = tables["demographics"].drop(columns=["race_ethnicity"])
    folder = write_tables(tables, tmp_path)
    result = _run("--data-dir", folder, "--protected", "race_ethnicity", "--quiet")
    assert result.returncode == 2 and "race_ethnicity" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    result = _run("--data-dir", unbiased_dir, "--outcome", "revenue", "--quiet")
    assert result.returncode == 2 and "unknown outcome" in result.stderr
