"""The ground truth is the truth of the released rows: groups, effects, lift, attribution, bias.

Most tests read the session's shared small build (``small_build``: NY and WA, 2,000 customers, seed
7); the purchase process is also checked on its own, by Monte Carlo against its closed form.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import build_dataset
from utils.chain import lifecycle, purchases
from utils.chain.bias import Bias, parse_bias
from utils.core import schema
from utils.core.datasets import load_dataset, load_demographics, load_truth

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _truth(folder: Path) -> dict:
    return json.loads((folder / "ground_truth.json").read_text())


def _outcomes(folder: Path, truth: dict) -> pd.DataFrame:
    """Each audience row with its realised outcome (a purchase in the window) and its effects."""
    audience = load_dataset(folder, "campaign_audience")
    campaigns = load_dataset(folder, "marketing_campaigns").set_index("campaign_id")
    sales = load_dataset(folder, "transactions")
    effects = load_truth(folder, purchases.EFFECTS_FILE)
    frame = audience.merge(effects, on=["campaign_id", "customer_id"], validate="one_to_one")
    first = pd.to_datetime(frame["campaign_id"].map(campaigns["start_date"])).dt.normalize()
    last = pd.to_datetime(frame["campaign_id"].map(campaigns["end_date"])).dt.normalize()
    last = last + pd.Timedelta(days=truth["outcome_window_days"] + 1)
    joined = frame[["audience_id", "customer_id"]].assign(first=first, last=last)
    joined = joined.merge(sales[["customer_id", "timestamp"]], on="customer_id")
    stamp = pd.to_datetime(joined["timestamp"])
    hit = joined.loc[(stamp >= joined["first"]) & (stamp < joined["last"]), "audience_id"]
    return frame.assign(outcome=frame["audience_id"].isin(set(hit)))


def test_every_audience_pair_has_its_effects_and_true_lift_is_their_mean(small_build):
    truth = _truth(small_build)
    audience = load_dataset(small_build, "campaign_audience")
    effects = load_truth(small_build, purchases.EFFECTS_FILE)
    assert len(effects) == len(audience) > 0
    assert (
        effects["p_outcome_treated"].between(0, 1).all() and effects["p_outcome_control"].between(0, 1).all()
    )
    assert (effects["p_outcome_treated"] >= effects["p_outcome_control"]).all()
    lift = (
        (effects["p_outcome_treated"] - effects["p_outcome_control"]).groupby(effects["campaign_id"]).mean()
    )
    for campaign_id, campaign in truth["campaigns"].items():
        assert abs(campaign["true_lift"] - lift[campaign_id]) < 1e-9
    assert truth["outcome_window_days"] == purchases.OUTCOME_WINDOW_DAYS
    assert set(audience["group"]) == set(schema.GROUPS)
    share = (audience["group"] == "control").mean()
    assert abs(share - truth["holdout_share"]) < 4 * math.sqrt(0.1 * 0.9 / len(audience))


def test_the_truth_predicts_the_released_outcomes(small_build):
    """Per campaign, the released outcomes sum to the sum of their probabilities (each customer's
    P(outcome | its group)) within sampling error: a truth computed elsewhere, on other windows or
    other draws would not."""
    truth = _truth(small_build)
    frame = _outcomes(small_build, truth)
    p = np.where(frame["group"] == "treatment", frame["p_outcome_treated"], frame["p_outcome_control"])
    frame = frame.assign(residual=frame["outcome"] - p, variance=p * (1 - p))
    by = frame.groupby("campaign_id")[["residual", "variance"]].sum()
    z = by["residual"] / np.sqrt(by["variance"])
    assert (z.abs() < 4.5).all(), z.sort_values()
    assert (z**2).sum() < stats.chi2.ppf(0.999, len(z))
    # The control customers' outcomes alone: the baseline of the truth is the released baseline.
    control = frame[frame["group"] == "control"]
    gap = control["outcome"].sum() - control["p_outcome_control"].sum()
    assert abs(gap) < 4 * math.sqrt((control["p_outcome_control"] * (1 - control["p_outcome_control"])).sum())


def test_attribution_truth_names_what_caused_each_purchase(small_build):
    sales = load_dataset(small_build, "transactions")
    causes = load_truth(small_build, purchases.ATTRIBUTION_FILE, dtype=str)
    assert list(causes["transaction_id"]) == list(sales["transaction_id"])
    caused = sales.merge(causes.dropna(), on="transaction_id")
    assert 0 < len(caused) < 0.5 * len(sales)
    audience = load_dataset(small_build, "campaign_audience")
    treated = audience[audience["group"] == "treatment"][["campaign_id", "customer_id"]]
    keys = treated.rename(columns={"campaign_id": "causal_campaign_id"}).assign(found=True)
    assert caused.merge(keys, on=["causal_campaign_id", "customer_id"], how="left")["found"].notna().all()
    campaigns = load_dataset(small_build, "marketing_campaigns").set_index("campaign_id")
    day = pd.to_datetime(caused["timestamp"]).dt.normalize()
    start = pd.to_datetime(caused["causal_campaign_id"].map(campaigns["start_date"]))
    end = pd.to_datetime(caused["causal_campaign_id"].map(campaigns["end_date"]))
    assert ((day >= start) & (day <= end + pd.Timedelta(days=purchases.TV_RESPONSE_TAIL_DAYS))).all()
    credited = sales["campaign_id"].notna()
    right = (sales["campaign_id"] == causes["causal_campaign_id"]) & credited
    assert right.any()  # last touch credits some caused purchases correctly ...
    assert (credited & causes["causal_campaign_id"].isna()).any()  # ... and some it would have had anyway
    tv = causes["causal_campaign_id"].map(campaigns["channel"]) == "tv"
    assert tv.any() and not credited[tv].any()  # TV sells, and last touch never sees it


def test_score_lift_example_runs_on_a_build(small_build, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("score_lift", EXAMPLES / "score_lift.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(small_build), "--json", str(tmp_path / "scores.json")]) == 0
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert len(scores["campaigns"]) >= 30
    assert scores["coverage"] >= 0.75  # 95 % intervals: about 0.95 expected
    pooled = scores["pooled"]
    assert abs(pooled["estimate"] - pooled["truth"]) < 3 * pooled["se_clustered"]
    assert "intervals covering the true lift" in capsys.readouterr().out


def test_holdout_share_and_bias_change_the_truth(tmp_path):
    folder = tmp_path / "b"
    small = {"states": ["NY"], "rows_per_state": 800, "seed_customers": 800, "demographic_seed_rows": 2_000}
    build_dataset.build_dataset(
        out_dir=str(folder),
        validate=False,
        seed=3,
        holdout_share=0.3,
        bias=parse_bias("gender=female", 0.8),
        **small,
    )
    truth = _truth(folder)
    audience = load_dataset(folder, "campaign_audience")
    assert truth["holdout_share"] == 0.3
    assert abs((audience["group"] == "control").mean() - 0.3) < 0.03
    bias = truth["bias"]
    assert bias["group"] == {"gender": "female"} and bias["strength"] == 0.8
    assert bias["true_lift_group"] < 0.5 * bias["true_lift_others"]  # the group's effects are damped
    women = set(load_demographics(folder).query("gender == 'female'")["customer_id"])
    assert bias["audience_share_group"] == pytest.approx(audience["customer_id"].isin(women).mean())
    assert bias["audience_share_group"] < 0.35  # ... and the group is mostly left out of audiences


def test_bad_holdout_share_is_one_clear_error(tmp_path, capsys):
    from utils.core.cli import run_main

    with pytest.raises(SystemExit) as exit_info:
        run_main(build_dataset.main, ["--holdout-share", "1.5", "--quiet", "--out-dir", str(tmp_path / "b")])
    assert exit_info.value.code == 2
    assert "--holdout-share" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()  # checked before any work


# --- The purchase process against its closed form ------------------------------------------------------


def _world(rng: np.random.Generator, customers: int, campaigns: int):
    ids = [f"C{i:03d}" for i in range(customers)]
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "age": rng.integers(18, 80, customers),
            "purchase_frequency": rng.uniform(0.05, 0.6, customers),
            "brand_loyalty": rng.uniform(0, 1, customers),
            "price_sensitivity": rng.uniform(0, 1, customers),
            "preferred_device": rng.choice(["mobile", "desktop"], customers),
            "preferred_channel": rng.choice(list(schema.CHANNELS), customers),
        }
    )
    start = rng.integers(0, 60, campaigns)
    table = pd.DataFrame(
        {
            "campaign_id": [f"K{i}" for i in range(campaigns)],
            "channel": rng.choice(list(schema.CHANNELS), campaigns),
            "objective": rng.choice(list(schema.OBJECTIVES), campaigns),
            "start_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(start, "D"),
            "end_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(start + rng.integers(3, 40, campaigns), "D"),
            "discount_pct": rng.uniform(0, 0.4, campaigns).round(2),
        }
    )
    return frame, table


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 6))
def test_outcome_probabilities_are_probabilities(seed, campaigns):
    rng = np.random.default_rng(seed)
    customers, table = _world(rng, 60, campaigns)
    period = purchases.Period.of("2024-01-01", "2024-03-31")
    life = lifecycle.simulate(customers, seed=seed, start="2024-01-01", end="2024-03-31")
    landing = purchases.landing_matrix(table, period)
    assert ((landing >= 0) & (landing <= 1 + 1e-12)).all()
    low, high = purchases.response_days(table, period)
    assert np.allclose(np.diag(landing)[high > low], 1.0)  # a campaign's caused purchases land in its window
    rows = np.repeat(np.arange(60), campaigns)
    cols = np.tile(np.arange(campaigns), 60)
    q = purchases.incremental_probability(customers, table, life, rows, cols, Bias(), period)
    audience = pd.DataFrame({"row": rows, "col": cols, "treated": rng.random(rows.size) < 0.5})
    treated, control = purchases.outcome_probabilities(audience, q, table, life, period)
    assert ((control >= 0) & (control <= treated) & (treated <= 1)).all()
    nothing = purchases.outcome_probabilities(audience, np.zeros_like(q), table, life, period)
    assert np.array_equal(nothing[0], nothing[1])  # no effect, no lift


def test_the_closed_form_matches_the_simulated_process():
    """Draw the purchase process many times (organic and caused, fixed groups) and compare each
    pair's outcome frequency with its closed-form probability."""
    rng = np.random.default_rng(11)
    customers, table = _world(rng, 40, 4)
    period = purchases.Period.of("2024-01-01", "2024-04-30")
    life = lifecycle.simulate(customers, seed=1, start="2024-01-01", end="2024-04-30")
    rows = np.repeat(np.arange(40), 4)
    cols = np.tile(np.arange(4), 40)
    audience = pd.DataFrame({"row": rows, "col": cols, "treated": rng.random(rows.size) < 0.6})
    q = np.clip(
        purchases.incremental_probability(customers, table, life, rows, cols, Bias(), period) * 40, 0, 0.5
    )
    treated_pairs = audience[audience["treated"]].reset_index(drop=True)
    p_treated, p_control = purchases.outcome_probabilities(audience, q, table, life, period)
    expected = np.where(audience["treated"], p_treated, p_control)
    low, high = purchases.outcome_window(table, period)
    draws = 300
    hits = np.zeros(len(audience))
    for seed in range(draws):
        organic = purchases.organic(life, period, seed)
        caused = purchases.caused(treated_pairs, q[audience["treated"].to_numpy()], table, life, period, seed)
        bought = pd.concat([organic[["row", "timestamp"]], caused[["row", "timestamp"]]])
        day = ((bought["timestamp"].to_numpy() // 86_400) - period.days[0].astype(np.int64)).astype(np.int64)
        days = pd.Series(day).groupby(bought["row"].to_numpy()).apply(np.array)
        for i, (row, col) in enumerate(zip(rows, cols, strict=True)):
            if row in days.index:
                hits[i] += ((days[row] >= low[col]) & (days[row] < high[col])).any()
    frequency = hits / draws
    z = (frequency - expected) / np.sqrt(np.maximum(expected * (1 - expected), 1e-4) / draws)
    assert np.abs(z).max() < 5, np.abs(z).max()
    assert abs(z.mean()) * math.sqrt(len(z)) < 6  # no shared offset either (pairs of a customer covary)
    assert expected.std() > 0.05  # the probabilities differ from pair to pair, so the test has teeth
