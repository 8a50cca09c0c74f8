"""The behaviour model's rules: the retail calendar, the customer lifecycle, media plans and the period.

Cheap and synthesizer-free: each rule is exercised on inputs hypothesis varies, and the properties a
user relies on (stores closed on Thanksgiving and Christmas, purchases inside a customer's life, the
same life for the same customer whatever the order of the table) are asserted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import marketing
from utils.chain import calendar, lifecycle, purchases
from utils.chain.config import ChainConfig
from utils.core import schema
from utils.core.cli import UserError

years = st.integers(2000, 2040)


@settings(max_examples=30, deadline=None)
@given(years)
def test_stores_close_on_thanksgiving_and_christmas_and_black_friday_leads(year):
    days = calendar.period_days(f"{year}-01-01", f"{year}-12-31")
    store = calendar.day_weights(days, "in_store")
    dates = calendar.key_dates(year)
    thanksgiving = dates["thanksgiving"]
    assert calendar.weekday(np.array([thanksgiving]))[0] == 3  # a Thursday ...
    assert 22 <= (thanksgiving - np.datetime64(f"{year}-11-01")).astype(int) + 1 <= 28  # ... the fourth
    assert store[days == thanksgiving][0] == 0 and store[days == dates["christmas_day"]][0] == 0
    assert calendar.closed_in_store(days).sum() == 2
    assert days[store.argmax()] == dates["black_friday"]
    remote = calendar.day_weights(days, "remote")
    november = (days >= np.datetime64(f"{year}-11-01")) & (days <= dates["cyber_monday"])
    assert remote[days == dates["cyber_monday"]][0] / remote[november].mean() > 2


@settings(max_examples=30, deadline=None)
@given(years, st.sampled_from(calendar.SALES_CHANNEL_PROFILES))
def test_every_month_keeps_its_seasonal_factor(year, profile):
    days = calendar.period_days(f"{year}-01-01", f"{year}-12-31")
    weights = calendar.day_weights(days, profile)
    by_month = pd.Series(weights).groupby(calendar.month(days)).sum() / calendar.AVERAGE_MONTH_DAYS
    np.testing.assert_allclose(by_month.to_numpy(), calendar.MONTH_FACTORS, rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(years, st.integers(1, 400), st.integers(0, 2**16))
def test_drawn_times_stay_in_their_interval_and_store_hours(year, size, seed):
    rng = np.random.default_rng(seed)
    days = calendar.period_days(f"{year}-01-01", f"{year}-12-31")
    cumulative = np.concatenate([[0.0], np.cumsum(calendar.day_weights(days, "in_store"))])
    low_day = rng.integers(0, len(days), size)
    high_day = np.minimum(low_day + rng.integers(1, 60, size), len(days))
    stamps = calendar.draw_times(
        rng, days, cumulative, cumulative[low_day], cumulative[high_day], calendar.HOUR_WEIGHTS["in_store"]
    )
    day = stamps.astype("datetime64[s]").astype("datetime64[D]")
    assert ((day >= days[low_day]) & (day < days[np.minimum(high_day, len(days) - 1)] + 1)).all()
    assert not calendar.closed_in_store(day).any()


def _customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"X{i:05d}" for i in rng.permutation(n)],
            "age": rng.integers(18, 90, n),
            "purchase_frequency": rng.gamma(2, 0.13, n),
            "brand_loyalty": rng.random(n),
            "preferred_device": rng.choice(schema.DEVICES, n),
        }
    )


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 300), st.integers(0, 2**16), st.integers(0, 10))
def test_a_customers_life_does_not_depend_on_the_table_order(n, seed, build_seed):
    customers = _customers(n, seed)
    life = lifecycle.simulate(customers, seed=build_seed, start="2024-01-01", end="2024-12-31")
    shuffled = customers.sample(frac=1, random_state=seed)
    again = lifecycle.simulate(shuffled, seed=build_seed, start="2024-01-01", end="2024-12-31")
    pd.testing.assert_frame_equal(
        life.set_index("customer_id").sort_index(), again.set_index("customer_id").sort_index()
    )
    churned = life["churned_on"].dropna()
    assert (churned >= life.loc[churned.index, "acquired_on"]).all()
    assert (life["acquired_on"] <= np.datetime64("2024-12-31")).all()
    assert life["remote_share"].between(0, 1).all() and (life["rate"] >= 0).all()


def test_organic_purchases_fall_inside_each_life():
    customers = _customers(3_000, 1)
    config = ChainConfig(states=["NY"], start="2023-01-01", end="2024-12-31", seed=3)
    life = lifecycle.simulate(customers, seed=3, start=config.start, end=config.end)
    slots = purchases.organic(life, purchases.Period.of(config.start, config.end), seed=3)
    slots["customer_id"] = life["customer_id"].to_numpy()[slots["row"].to_numpy()]
    joined = slots.merge(life, on="customer_id")
    day = joined["timestamp"].to_numpy().astype("datetime64[s]").astype("datetime64[D]")
    assert (day >= joined["acquired_on"].to_numpy("datetime64[D]")).all()
    churned = joined["churned_on"].to_numpy("datetime64[D]")
    assert (np.isnat(churned) | (day < churned)).all()
    assert ((day >= np.datetime64(config.start)) & (day <= np.datetime64(config.end))).all()
    store = ~slots["remote"]
    hours = (slots.loc[store, "timestamp"] % 86_400) // 3600
    assert (hours < 6).mean() <= 0.02  # stores are closed at night (a few open round the clock)
    assert not calendar.closed_in_store(day[store.to_numpy()]).any()
    years = pd.Series(day.astype("datetime64[Y]").astype(int) + 1970).value_counts()
    assert set(years.index) == {2023, 2024}  # a build spans every year of its period


def test_the_period_and_campaign_count_are_checked():
    assert ChainConfig(states=["NY"]).campaign_count == 40
    assert ChainConfig(states=["NY"], start="2023-01-01", end="2024-12-31").campaign_count == 80
    assert ChainConfig(states=["NY"], campaigns=7).campaign_count == 7
    for bad in (
        {"start": "2024-13-01"},
        {"end": "2023-01-01"},
        {"campaigns": 0},
        {"start": "2024-01-01 10:00"},
    ):
        with pytest.raises(UserError):
            ChainConfig(states=["NY"], **bad)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(schema.CHANNELS), st.integers(3, 90), st.floats(-1.5, 1.5), st.integers(1, 50_000))
def test_a_budget_buys_its_media_plan(channel, duration, weight, audience):
    campaigns = pd.DataFrame(
        {
            "channel": [channel],
            "duration_days": [duration],
            "weight": [weight],
            "target_segment": ["all_adults"],
        }
    )
    eligible = pd.DataFrame({c: [audience] for c in schema.CHANNELS}, index=["all_adults"])
    plan = marketing.media_plan(campaigns, eligible).iloc[0]
    media = marketing.MEDIA[channel]
    expected = audience * plan["reach"] * plan["frequency"] * media.unit_cost
    assert plan["budget"] == pytest.approx(max(expected, 1.0))
    assert 0 < plan["reach"] <= 1 and 1 <= plan["frequency"] <= marketing.FREQUENCY_CAP
    heavier = marketing.media_plan(campaigns.assign(weight=weight + 0.5), eligible).iloc[0]
    assert heavier["budget"] >= plan["budget"]  # more weight buys more media, never less
