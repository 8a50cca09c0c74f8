"""The linked chain: rules hold, same seed same bytes, CTGAN end to end, --seed-data, fidelity, bias.

Small sizes throughout (2 states x 1,000 customers, census seed of 3,000 rows per state); the
module-scoped builds are shared by the tests.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import build_dataset
import constants
import consumer
import marketing
import transaction
from tests.conftest import SMALL_BUILD
from utils.chain import stage
from utils.chain.bias import Bias, parse_bias
from utils.chain.config import ChainConfig
from utils.chain.outcomes import customer_outcomes
from utils.chain.rules import RULES, check_rules
from utils.core import schema, seeding
from utils.core.cli import UserError
from utils.core.datasets import load_dataset, load_demographics, seed_dir
from validation import realism

STATES = ["NY", "WA"]
SMALL = {"rows_per_state": 1_000, "seed_customers": 1_000, "demographic_seed_rows": 3_000, "validate": False}
TOLERANCE = constants.VALIDATION_THRESHOLDS["correlation_tolerance"]


@pytest.fixture(scope="module")
def built(small_build) -> Path:
    """The session's shared small build (tests/conftest.py: NY and WA, seed 7)."""
    return small_build


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    tables = {name: load_dataset(folder, name) for name in schema.TABLE_NAMES if name != "demographics"}
    return {"demographics": load_demographics(folder), **tables}


def test_rules_hold_and_scale_links(built):
    tables = _tables(built)
    results = check_rules(tables)
    assert len(results) == len(RULES)  # every rule applied ...
    assert {r.name: r.violations for r in results if r.violations} == {}  # ... and none broken
    assert len(tables["consumer_preferences"]) == len(tables["demographics"]) == 2_000
    assert tables["transactions"]["campaign_id"].notna().any()  # attributed purchases exist ...
    assert tables["transactions"]["campaign_id"].isna().mean() > 0.5  # ... beside organic ones
    manifest = json.loads((built / "manifest.json").read_text())
    assert [s["stage"] for s in manifest["stages"]][:4] == [
        "demographics",
        "consumer_preferences",
        "marketing",
        "transactions",
    ]
    assert manifest["rows"]["engagements"] == len(tables["engagements"])
    assert all(s["cpu_s"] > 0 and s["wall_s"] > 0 and s["peak_rss_mib"] > 0 for s in manifest["stages"])
    truth = json.loads((built / "ground_truth.json").read_text())
    assert set(truth["campaigns"]) == set(tables["marketing_campaigns"]["campaign_id"])
    channel = tables["marketing_campaigns"].set_index("campaign_id")["channel"]
    audience = tables["campaign_audience"]
    sizes = audience.groupby("campaign_id")["group"].value_counts().unstack(fill_value=0)
    for cid, campaign in truth["campaigns"].items():
        assert campaign["channel"] == channel[cid]
        treatment = int(sizes["treatment"].get(cid, 0))
        control = int(sizes["control"].get(cid, 0))
        assert (campaign["treatment"], campaign["control"]) == (treatment, control)
        assert campaign["true_lift"] is None or campaign["true_lift"] > 0  # every channel causes sales
    # TV works through purchases: it has impressions and no conversion to claim.
    tv = tables["engagements"]["channel"].isin(schema.IMPRESSION_ONLY_CHANNELS)
    assert set(tables["engagements"].loc[tv, "event_type"]) == {"impression"}
    lifecycle_truth = pd.read_csv(built / "ground_truth" / "lifecycle.csv")
    assert set(lifecycle_truth["customer_id"]) == set(tables["demographics"]["customer_id"])


def test_same_seed_same_bytes(built, tmp_path):
    again = tmp_path / "b"
    build_dataset.build_dataset(out_dir=str(again), validate=False, **SMALL_BUILD)
    names = [p.relative_to(built) for p in built.rglob("*") if p.suffix in (".csv", ".pkl", ".json")]
    names = [name for name in names if name.name != "manifest.json"]  # times and the run id differ
    assert len(names) > 18 and any(name.suffix == ".pkl" for name in names)
    _, mismatch, errors = filecmp.cmpfiles(built, again, [str(n) for n in names], shallow=False)
    assert mismatch == [] and errors == []


def _eta(values: pd.Series, groups: pd.Series) -> float:
    """Correlation ratio of a numeric column on a categorical one (0 = no link, 1 = determined)."""
    mean = values.mean()
    by = values.groupby(groups)
    between = (by.count() * (by.mean() - mean) ** 2).sum()
    return float(np.sqrt(between / ((values - mean) ** 2).sum()))


def _age_channel(preferences: pd.DataFrame, demographics: pd.DataFrame) -> float:
    joined = preferences.merge(demographics[["customer_id", "age"]], on="customer_id")
    return _eta(joined["age"].astype(float), joined["preferred_channel"])


def _income_amount(transactions: pd.DataFrame, demographics: pd.DataFrame) -> float:
    spend = transactions.groupby("customer_id")["amount"].mean().rename("mean_amount")
    joined = demographics.set_index("customer_id")[["household_income"]].join(spend, how="inner")
    return float(joined.corr(method="spearman").iloc[0, 1])


def test_correlations_survive_the_synthesizer(built):
    demographics = load_demographics(built)
    seeds = seed_dir(built)
    seed_eta = _age_channel(load_dataset(seeds, "consumer_preferences"), demographics)
    out_eta = _age_channel(load_dataset(built, "consumer_preferences"), demographics)
    assert seed_eta > 0.2  # the rule links age and channel ...
    assert abs(out_eta - seed_eta) <= TOLERANCE  # ... and the synthetic output keeps the link
    seed_rho = _income_amount(load_dataset(seeds, "transactions"), demographics)
    out_rho = _income_amount(load_dataset(built, "transactions"), demographics)
    assert seed_rho > 0.2
    assert abs(out_rho - seed_rho) <= TOLERANCE


def _age_links(preferences: pd.DataFrame, demographics: pd.DataFrame) -> pd.Series:
    """Pearson correlation of age with each preference score (the rules move most of them with age)."""
    joined = preferences.merge(demographics[["customer_id", "age"]], on="customer_id")
    scores = ["brand_loyalty", *consumer.AFFINITIES]
    return joined[scores].astype(float).corrwith(joined["age"].astype(float))


def test_preferences_keep_their_dependence_on_age(built):
    demographics = load_demographics(built)
    seed = _age_links(load_dataset(seed_dir(built), "consumer_preferences"), demographics)
    out = _age_links(load_dataset(built, "consumer_preferences"), demographics)
    assert seed.abs().max() > 0.3  # the rules tie loyalty and affinities to age ...
    assert (out - seed).abs().max() <= TOLERANCE, (out - seed).round(3).to_dict()  # ... so does the output


def _ks(left: pd.Series, right: pd.Series) -> float:
    grid = np.union1d(left, right)
    cdf = [np.searchsorted(np.sort(side), grid, side="right") / len(side) for side in (left, right)]
    return float(np.abs(cdf[0] - cdf[1]).max())


def test_quantity_keeps_its_counts(built):
    seed = load_dataset(seed_dir(built), "transactions")
    out = load_dataset(built, "transactions")
    assert _ks(seed["quantity"].to_numpy(), out["quantity"].to_numpy()) <= 0.05
    grocery = out.groupby(out["category"] == "grocery")["quantity"].mean()
    assert grocery[True] > grocery[False] + 0.5  # the joint with the category survives too


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 500), st.integers(0, 2**16))
def test_the_plan_books_channels_and_their_segments_in_shares(count, seed):
    channels = marketing.plan(count, marketing.CHANNEL_WEIGHTS, schema.CHANNELS)
    booked = pd.Series(channels).value_counts().reindex(schema.CHANNELS, fill_value=0)
    assert booked.sum() == count
    assert (booked - pd.Series(marketing.CHANNEL_WEIGHTS, index=schema.CHANNELS) * count).abs().max() < 1
    segments = marketing.book_segments(channels, np.random.default_rng(seed))
    for channel in schema.CHANNELS:
        mine = pd.Series(segments[channels == channel]).value_counts()
        allowed = marketing.CHANNEL_SEGMENTS[channel]
        assert set(mine.index) <= set(allowed)  # owned channels by behaviour, bought media by age
        weights = pd.Series(marketing.SEGMENT_WEIGHTS, index=schema.SEGMENTS)[list(allowed)]
        expected = weights / weights.sum() * booked[channel]
        assert (mine.reindex(allowed, fill_value=0) - expected).abs().max() < 1


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["x", "y|z"]), st.floats(-1e6, 1e6)),
             min_size=1, max_size=30),
    st.sampled_from(["gaussian_copula", "ctgan"]),
    st.sampled_from([(), ("g",)]),
)  # fmt: skip
def test_encode_decode_round_trip(rows, kind, by):
    frame = pd.DataFrame(rows, columns=["g", "h", "v"]).assign(h=lambda f: f["h"].str.replace("|", "-"))
    model, sdtypes = stage.encode(frame, ["g", "h"], ["v"], kind, by)
    assert set(sdtypes) == set(model.columns)
    assert (stage.PROFILE in model) == (kind == "gaussian_copula")
    pd.testing.assert_frame_equal(stage.decode(model, ["g", "h"], ["v"], by), frame)


def test_bias_knob_moves_the_group_rates(built):
    tables = _tables(built)
    bias = parse_bias("gender=female", 0.6)
    config = ChainConfig(states=STATES, seed=7, bias=bias, seed_customers=1_000)
    result = marketing.generate(tables, config)
    empty = pd.DataFrame(columns=["customer_id", "amount"])

    def rates(events: pd.DataFrame) -> pd.DataFrame:
        outcomes = customer_outcomes(tables["demographics"], events, empty)
        return outcomes.groupby("gender")[["targeted", "converted"]].mean()

    fair, biased = rates(tables["engagements"]), rates(result.tables["engagements"])
    assert fair.loc["female", "targeted"] / fair.loc["male", "targeted"] > 0.9
    assert biased.loc["female", "targeted"] / biased.loc["male", "targeted"] < 0.6
    assert biased.loc["female", "converted"] / biased.loc["male", "converted"] < 0.6
    assert result.ground_truth["bias"]["group"] == {"gender": "female"}
    assert check_rules({**tables, "engagements": result.tables["engagements"]})[0].violations == 0


def test_seed_data_fits_on_a_users_table(built, tmp_path):
    out = tmp_path / "own"
    shutil.copytree(built, out)
    own = tmp_path / "my_preferences.csv"
    seed_prefs = load_dataset(seed_dir(built), "consumer_preferences")
    seed_prefs.assign(preferred_channel="email").to_csv(own, index=False)  # a table unlike the simulation
    consumer.main(["--data-dir", str(out), "--seed-data", str(own), "--seed", "3", "--quiet"])
    preferences = load_dataset(out, "consumer_preferences")
    assert list(preferences.columns) == list(consumer.COLUMNS)
    assert set(preferences["preferred_channel"]) == {"email"}  # learned from the user's table
    assert set(preferences["customer_id"]) == set(load_demographics(out)["customer_id"])
    own_sales = tmp_path / "my_transactions.csv"
    load_dataset(seed_dir(built), "transactions").assign(payment_method="cash").to_csv(own_sales, index=False)
    # Engagements made for the old preferences no longer match the purchases: one clear error ...
    with pytest.raises(UserError, match="same --seed"):
        transaction.main(["--data-dir", str(out), "--seed-data", str(own_sales), "--seed", "3", "--quiet"])
    # ... until marketing runs again on them, with the same seed.
    marketing.main(["--data-dir", str(out), "--seed", "3", "--quiet"])
    transaction.main(["--data-dir", str(out), "--seed-data", str(own_sales), "--seed", "3", "--quiet"])
    sales = load_dataset(out, "transactions")
    in_store = sales["channel"] == "in_store"
    assert set(sales.loc[in_store, "payment_method"]) == {"cash"}  # learned from the user's table ...
    assert "cash" not in set(sales.loc[~in_store, "payment_method"])  # ... but cash is paid in person
    assert list(sales.columns) == list(transaction.COLUMNS)


def test_ctgan_end_to_end(tmp_path):
    small = SMALL | {"rows_per_state": 300, "seed_customers": 300, "demographic_seed_rows": 1_000}
    rows = build_dataset.build_dataset(
        states=["NY"], synthesizer="ctgan", epochs=2, seed=1, out_dir=str(tmp_path), **small
    )
    tables = _tables(tmp_path)
    assert rows == {name: len(frame) for name, frame in tables.items()}
    assert len(tables["transactions"]) > 0 and len(tables["engagements"]) > 0
    assert all(r.violations == 0 for r in check_rules(tables))
    assert (tmp_path / "models" / "engagements.pkl").exists()
    # The realism check family runs on what CTGAN makes. What the structural rules enforce holds
    # exactly whatever the synthesizer learned (2 epochs learn little of the funnel rates, which the
    # check reports): no TV clicks, no SMS to customers not opted in, stores closed on holidays, no
    # cash online, the send hours and the calendar's rhythm.
    life, why = realism.load_lifecycle(tmp_path)
    table = realism.evaluate(tables, life, why).table.set_index("metric")
    structural = [
        "tv_click_events",
        "sms_to_non_opted_in",
        "in_store_transactions_thanksgiving",
        "in_store_transactions_christmas",
        "cash_share_remote",
        "in_store_purchases_0000_0600_share",
        "email_opt_in_rate",
    ]
    assert (table.loc[structural, "verdict"] == "pass").all(), table.loc[structural, ["value", "verdict"]]
    assert table["value"].notna().sum() > len(table) * 0.8  # nearly every metric is computed


def test_bad_input_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(UserError, match="bias-group"):
        parse_bias("gender", 0.5)
    with pytest.raises(UserError, match="bias-strength"):
        parse_bias("gender=female", 1.5)
    with pytest.raises(SystemExit) as exit_info:
        from utils.core.cli import run_main

        run_main(consumer.main, ["--data-dir", str(tmp_path / "missing"), "--quiet"])
    assert exit_info.value.code == 2 and "does not exist" in capsys.readouterr().err


# --- The rules catch what they should (cheap, no synthesizer) ----------------------------------------------


def _tiny() -> dict[str, pd.DataFrame]:
    demographics = pd.DataFrame({"customer_id": ["A", "B"], "age": [30, 70]})
    campaigns = pd.DataFrame(
        {
            "campaign_id": ["C1"],
            "start_date": ["2024-03-01"],
            "end_date": ["2024-03-10"],
            "budget": [100.0],
            "discount_pct": [0.1],
        }
    )
    events = pd.DataFrame(
        {
            "engagement_id": ["E1", "E2", "E3"],
            "customer_id": ["A", "A", "A"],
            "campaign_id": ["C1"] * 3,
            "timestamp": ["2024-03-02 10:00:00", "2024-03-02 10:05:00", "2024-03-10 23:59:59"],
            "event_type": ["impression", "click", "conversion"],
            "channel": ["search"] * 3,
        }
    )
    sales = pd.DataFrame(
        {
            "transaction_id": ["T1", "T2"],
            "customer_id": ["A", "B"],
            "campaign_id": ["C1", None],
            "timestamp": ["2024-03-10 23:59:59", "2024-05-01 00:00:00"],
            "amount": [10.0, 5.5],
            "quantity": [1, 2],
        }
    )
    audience = pd.DataFrame(
        {
            "audience_id": ["A1", "A2"],
            "campaign_id": ["C1", "C1"],
            "customer_id": ["A", "B"],
            "group": ["treatment", "control"],
            "assigned_at": ["2024-03-01 00:00:00"] * 2,
        }
    )
    return {
        "demographics": demographics,
        "marketing_campaigns": campaigns,
        "engagements": events,
        "campaign_audience": audience,
        "transactions": sales,
    }


def _broken(tables: dict[str, pd.DataFrame]) -> set[str]:
    return {r.name for r in check_rules(tables) if r.violations}


def test_rules_pass_on_valid_tables_and_catch_each_break():
    tables = _tiny()
    assert _broken(tables) == set()
    cases = {
        "funnel monotonic": ("engagements", "event_type", 1, "conversion"),
        "engagements inside campaign window": ("engagements", "timestamp", 0, "2024-03-11 00:00:00"),
        "engagements.customer_id -> demographics": ("engagements", "customer_id", 0, "Z"),
        "attributed after conversion": ("transactions", "timestamp", 0, "2024-03-18 00:00:00"),
        "transactions.amount > 0": ("transactions", "amount", 1, 0.0),
        "demographics.age range": ("demographics", "age", 0, 17),
        "campaign dates ordered": ("marketing_campaigns", "end_date", 0, "2024-02-01"),
        "transactions.transaction_id unique": ("transactions", "transaction_id", 1, "T1"),
        "conversion has its purchase": ("engagements", "timestamp", 2, "2024-03-10 23:00:00"),
        "only the treatment group engaged": ("campaign_audience", "group", 0, "control"),
        "campaign_audience.customer_id -> demographics": ("campaign_audience", "customer_id", 1, "Z"),
    }
    for rule, (table, column, row, value) in cases.items():
        changed = {name: frame.copy() for name, frame in tables.items()}
        changed[table].loc[row, column] = value
        assert rule in _broken(changed), rule


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(schema.CHANNELS),
    st.lists(st.integers(0, 3), min_size=3, max_size=3),
    st.floats(0, 1),
    st.integers(0, 2**16),
)
def test_expanded_funnels_keep_their_counts_and_order(channel, counts, position, seed):
    impressions = 1 + counts[0]
    repaired = marketing.repair_funnels(
        pd.DataFrame(
            {
                "n_impressions": [impressions],
                "n_opens": [counts[1]],
                "n_clicks": [counts[2]],
                "window_position": [position],
                "open_delay_h": [30.0],
                "click_delay_h": [0.5],
            }
        ),
        np.array([channel]),
    )
    campaigns = pd.DataFrame(
        {"campaign_id": ["C1"], "start_date": ["2024-01-05"], "end_date": ["2024-01-08"]}
    )
    pairs = pd.concat(
        [pd.DataFrame({"customer_id": ["A"], "campaign_id": ["C1"], "channel": [channel]}), repaired], axis=1
    )
    events = marketing.expand_events(pairs, campaigns, pd.Series(["mobile"]), seeding.generator(seed, "t"))
    expected = [*repaired[["n_impressions", "n_opens", "n_clicks"]].iloc[0].tolist(), 0]
    assert (
        events["event_type"].value_counts().reindex(list(schema.EVENT_TYPES), fill_value=0).tolist()
        == expected
    )  # conversions are purchases (marketing.respond), not funnel steps
    if channel in (*schema.IMPRESSION_ONLY_CHANNELS, *schema.CODE_RESPONSE_CHANNELS):
        assert expected[1:] == [0, 0, 0]
    if channel in schema.IMPRESSION_ONLY_CHANNELS:
        assert set(events["device"]) == {"tv"}
    tables = {"engagements": events, "marketing_campaigns": campaigns}
    tables |= {"demographics": pd.DataFrame({"customer_id": ["A"], "age": [40]})}
    assert {r.name for r in check_rules(tables, touching=["engagements"]) if r.violations} == set()


def test_match_rows_keeps_strata_and_order():
    rng = np.random.default_rng(0)
    pool = pd.DataFrame({"g": rng.choice(["a", "b"], 500), "x": rng.normal(size=500)})
    targets = pd.DataFrame({"g": rng.choice(["a", "b", "c"], 300), "x": rng.normal(size=300)})
    chosen = stage.match_rows(targets, pool, ["g"], rng, order="x")
    known = targets["g"] != "c"
    assert (pool["g"].to_numpy()[chosen][known] == targets["g"][known]).all()  # same stratum where possible
    assert np.corrcoef(pool["x"].to_numpy()[chosen], targets["x"])[0, 1] > 0.9  # paired by rank inside it
    assert Bias().members(targets).sum() == 0
