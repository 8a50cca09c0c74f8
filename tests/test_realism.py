"""The realism check family (validation/realism.py): every calibration metric has a function, each
function gives the value its definition gives on frames built by hand, verdicts respect the band, the
Wilson interval and the minimum supports, and the validation report carries the section.

Frames are built by hand with values known by construction; property-based tests (hypothesis) vary the
inputs. One integration test validates the session's small build (``small_build`` in conftest.py).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utils.core.cli import UserError
from validation import realism
from validation import realism_metrics as metrics
from validation.checks import FAIL, PASS, SKIP
from validation.realism import judge
from validation.realism_metrics import Data, measure_all, point, share

T0 = pd.Timestamp("2024-03-04 10:00")  # a Monday


# --- frames built by hand -----------------------------------------------------------------------------------
def people(n: int, **columns) -> dict[str, pd.DataFrame]:
    """``n`` customers C0..C{n-1}: demographics and preferences (every column overridable)."""
    ids = [f"C{i}" for i in range(n)]
    demographics = pd.DataFrame(
        {
            "customer_id": ids,
            "age": columns.pop("age", [40] * n),
            "education": columns.pop("education", ["high_school_or_ged"] * n),
            "marital_status": columns.pop("marital_status", ["never_married"] * n),
            "household_income": columns.pop("household_income", np.arange(n, dtype=float) * 1000 + 1000),
        }
    )
    preferences = pd.DataFrame(
        {
            "customer_id": ids,
            "price_sensitivity": [0.5] * n,
            "brand_loyalty": [0.5] * n,
            "email_opt_in": columns.pop("email_opt_in", [True] * n),
            "sms_opt_in": columns.pop("sms_opt_in", [True] * n),
            "push_opt_in": columns.pop("push_opt_in", [True] * n),
        }
    )
    assert not columns, columns
    return {"demographics": demographics, "consumer_preferences": preferences}


def campaigns(*rows: tuple) -> pd.DataFrame:
    """(campaign_id, channel, budget[, start, end, segment]) rows."""
    out = []
    for row in rows:
        cid, channel, budget, *rest = row
        defaults = ["2024-01-01", "2024-12-31", "all_adults"]
        start, end, segment = [*rest, *defaults[len(rest) :]]
        out.append(
            {
                "campaign_id": cid,
                "campaign_name": cid,
                "channel": channel,
                "objective": "conversion",
                "target_segment": segment,
                "start_date": start,
                "end_date": end,
                "budget": budget,
                "discount_pct": 0.0,
                "creative_type": "text",
            }
        )
    return pd.DataFrame(out)


def events(*rows: tuple) -> pd.DataFrame:
    """(customer_id, campaign_id, event_type, channel[, timestamp, device]) rows."""
    out = []
    for i, row in enumerate(rows):
        customer, campaign, event, channel, *rest = row
        timestamp = rest[0] if rest else T0
        device = rest[1] if len(rest) > 1 else "mobile"
        out.append(
            {
                "engagement_id": f"E{i}",
                "customer_id": customer,
                "campaign_id": campaign,
                "timestamp": pd.Timestamp(timestamp),
                "event_type": event,
                "device": device,
                "channel": channel,
            }
        )
    columns = ["engagement_id", "customer_id", "campaign_id", "timestamp", "event_type", "device", "channel"]
    return pd.DataFrame(out, columns=columns)


def purchases(*rows: tuple) -> pd.DataFrame:
    """(customer_id, timestamp, amount[, channel, category, payment_method, campaign_id]) rows."""
    out = []
    for i, row in enumerate(rows):
        customer, timestamp, amount, *rest = row
        defaults = ["in_store", "grocery", "credit_card", None]
        channel, category, payment, campaign = [*rest, *defaults[len(rest) :]]
        out.append(
            {
                "transaction_id": f"T{i}",
                "customer_id": customer,
                "campaign_id": campaign,
                "timestamp": pd.Timestamp(timestamp),
                "amount": float(amount),
                "quantity": 1,
                "category": category,
                "payment_method": payment,
                "channel": channel,
            }
        )
    columns = [
        "transaction_id",
        "customer_id",
        "campaign_id",
        "timestamp",
        "amount",
        "quantity",
        "category",
        "payment_method",
        "channel",
    ]
    return pd.DataFrame(out, columns=columns)


def audience(*rows: tuple) -> pd.DataFrame:
    """(customer_id, campaign_id, group) rows of campaign_audience."""
    return pd.DataFrame(
        {
            "audience_id": [f"A{i}" for i in range(len(rows))],
            "campaign_id": [row[1] for row in rows],
            "customer_id": [row[0] for row in rows],
            "group": [row[2] for row in rows],
            "assigned_at": [pd.Timestamp("2024-01-01")] * len(rows),
        }
    )


def dataset(
    n=4, engagements=None, transactions=None, marketing=None, lifecycle=None, groups=None, **people_columns
) -> Data:
    tables = people(n, **people_columns)
    tables["marketing_campaigns"] = marketing if marketing is not None else campaigns(("K1", "email", 100.0))
    tables["engagements"] = engagements if engagements is not None else events()
    tables["transactions"] = transactions if transactions is not None else purchases()
    tables["campaign_audience"] = groups if groups is not None else audience(("C0", "K1", "treatment"))
    return Data(tables, lifecycle, "no lifecycle file")


def measured(data: Data, metric: str) -> metrics.Measure:
    return measure_all(data, [metric])[metric]


# --- the registry -------------------------------------------------------------------------------------------
def test_every_calibration_metric_has_a_function():
    table = realism.load_benchmarks()
    assert len(table) >= 75
    assert set(table["metric"]) == set(metrics.METRICS)
    assert all(table[column].notna().all() for column in ("definition", "unit", "band_low", "band_high"))
    assert (table["band_low"] <= table["band_high"]).all()


def test_each_family_returns_exactly_its_metrics():
    data = dataset(
        engagements=events(("C0", "K1", "impression", "email")),
        transactions=purchases(("C0", T0, 10.0), ("C1", T0 + pd.Timedelta(days=3), 20.0, "online")),
    )
    for family, names in metrics.FAMILIES.items():
        assert set(family(data)) == set(names), family.__name__


def test_a_metric_without_a_function_is_an_error():
    table = realism.load_benchmarks()
    extra = pd.concat([table, table.iloc[:1].assign(metric="made_up_metric")], ignore_index=True)
    with pytest.raises(ValueError, match="made_up_metric"):
        realism.evaluate(dataset().tables, benchmarks=extra)


def test_missing_tables_skip_their_families_with_the_reason():
    tables = people(3)
    result = realism.evaluate({"demographics": tables["demographics"]})
    verdicts = result.table.set_index("metric")
    assert verdicts.loc["search_ctr", "verdict"] == SKIP
    assert "needs the" in verdicts.loc["search_ctr", "detail"]
    assert "needs the" not in verdicts.loc["married_share_age_20_24", "detail"]  # demographics are there
    assert len(result.checks) == len(realism.load_benchmarks())


# --- values known by construction ---------------------------------------------------------------------------
def test_ctr_is_clicks_over_impressions():
    rows = [("C0", "K1", "impression", "search")] * 100 + [("C0", "K1", "click", "search")] * 2
    data = dataset(engagements=events(*rows), marketing=campaigns(("K1", "search", 10.0)))
    ctr = measured(data, "search_ctr")
    assert ctr.value == pytest.approx(0.02) and ctr.support == 100 and ctr.successes == 2
    assert measured(data, "search_cpc_usd").value == pytest.approx(5.0)  # $10 over 2 clicks
    conversion = measured(data, "search_conversion_per_click")
    assert conversion.value == 0 and conversion.support == 2


def test_cpm_and_cost_support():
    rows = [("C0", "K1", "impression", "display")] * 400 + [("C1", "K1", "click", "display")] * 4
    data = dataset(
        engagements=events(*rows), marketing=campaigns(("K1", "display", 2.0), ("K2", "search", 5.0))
    )
    cpm = measured(data, "display_cpm_usd")
    assert cpm.value == pytest.approx(5.0) and cpm.support == 400
    cpc = measured(data, "display_cpc_usd")
    assert cpc.value == pytest.approx(0.5) and judge(cpc, 0.1, 1.5).status == SKIP  # 4 clicks < MIN_EVENTS
    assert measured(data, "social_cpm_usd").value is None  # no social campaign


def test_email_funnel_counts_pairs_and_open_delays():
    delivered = [(f"C{i}", "K1", "impression", "email", T0) for i in range(10)]
    opens = [
        ("C0", "K1", "open", "email", T0 + pd.Timedelta(minutes=30)),
        ("C1", "K1", "open", "email", T0 + pd.Timedelta(hours=3)),
        ("C2", "K1", "open", "email", T0 + pd.Timedelta(hours=12)),
        ("C3", "K1", "open", "email", T0 + pd.Timedelta(hours=30)),
        ("C3", "K1", "open", "email", T0 + pd.Timedelta(hours=31)),  # a second open: same pair
    ]
    later = [("C0", "K1", "click", "email", T0 + pd.Timedelta(hours=1))] * 2 + [
        ("C0", "K1", "conversion", "email", T0 + pd.Timedelta(hours=2))
    ]
    data = dataset(n=10, engagements=events(*delivered, *opens, *later))
    values = measure_all(data, metrics.FAMILIES[metrics.email_funnel])
    assert values["email_open_rate"].value == pytest.approx(0.4)
    assert values["email_click_rate"].value == pytest.approx(0.1)
    assert values["email_click_to_open_rate"].value == pytest.approx(0.25)
    assert values["email_conversion_per_delivered"].value == pytest.approx(0.1)
    # open rows (5): within 1 h 1, within 6 h 2, within 24 h 3
    assert values["email_opens_within_1h_share"].value == pytest.approx(1 / 5)
    assert values["email_opens_within_6h_share"].value == pytest.approx(2 / 5)
    assert values["email_opens_within_24h_share"].value == pytest.approx(3 / 5)


def test_sms_to_customers_not_opted_in_is_counted():
    rows = [
        ("C0", "K1", "impression", "sms"),
        ("C1", "K1", "impression", "sms"),
        ("C1", "K1", "click", "sms"),
    ]
    data = dataset(n=2, engagements=events(*rows), sms_opt_in=[True, False])
    values = measure_all(data, metrics.FAMILIES[metrics.sms])
    assert values["sms_to_non_opted_in"].value == 2
    assert values["sms_click_rate"].value == pytest.approx(0.5)


def test_direct_mail_house_list_is_an_earlier_purchase():
    mail = T0 + pd.Timedelta(days=10)
    rows = [
        ("C0", "K1", "impression", "direct_mail", mail),
        ("C0", "K1", "conversion", "direct_mail", mail + pd.Timedelta(days=2)),
        ("C1", "K1", "impression", "direct_mail", mail),
        ("C2", "K1", "impression", "direct_mail", mail),
    ]
    bought = purchases(("C0", T0, 50.0), ("C2", mail + pd.Timedelta(days=1), 50.0))  # C2 buys after the piece
    data = dataset(n=3, engagements=events(*rows), transactions=bought)
    values = measure_all(data, metrics.FAMILIES[metrics.direct_mail])
    assert (
        values["direct_mail_response_rate_house"].successes,
        values["direct_mail_response_rate_house"].support,
    ) == (1, 1)
    assert (
        values["direct_mail_response_rate_prospect"].successes,
        values["direct_mail_response_rate_prospect"].support,
    ) == (
        0,
        2,
    )


def test_tv_reach_frequency_and_lift():
    rows = (
        [("C0", "K1", "impression", "tv")] * 3
        + [("C1", "K1", "impression", "tv")]
        + [("C1", "K1", "click", "tv")]
    )
    flight = ("2024-03-01", "2024-03-31", "all_adults")
    bought = purchases(
        ("C0", "2024-03-10 12:00", 100.0),
        ("C1", "2024-03-10 12:00", 300.0),
        ("C2", "2024-03-10 12:00", 50.0),
        ("C3", "2024-03-10 12:00", 50.0),
        ("C3", "2024-05-10 12:00", 999.0),  # after the flight: not counted
    )
    data = dataset(
        n=4, engagements=events(*rows), transactions=bought, marketing=campaigns(("K1", "tv", 100.0, *flight))
    )
    values = measure_all(data, metrics.FAMILIES[metrics.tv])
    assert values["tv_click_events"].value == 1
    assert values["tv_reach"].value == pytest.approx(0.5)  # 2 of 4 in the segment
    assert values["tv_average_frequency"].value == pytest.approx(2.0)  # 4 impressions / 2 reached
    assert values["tv_cpm_usd"].value == pytest.approx(1000 * 100 / 4)
    roas = values["roas_tv"]
    # exposed mean 200, unexposed mean 50: lift (200 - 50) x 2 exposed = 300 over a $100 budget
    assert roas.value == pytest.approx(3.0)
    # SE: 2 exposed x sqrt(20,000 / 2 + 0 / 2) = 200 (exposed variance 20,000, unexposed 0), over $100
    assert roas.se == pytest.approx(2.0)


def test_incrementality_reads_the_holdout_as_a_lift_study():
    flight = ("2024-03-01", "2024-03-10")
    marketing = campaigns(("K1", "email", 10.0, *flight), ("K2", "direct_mail", 10.0, *flight))
    groups = audience(
        *[(customer, campaign, "treatment") for campaign in ("K1", "K2") for customer in ("C0", "C1")],
        *[(customer, campaign, "control") for campaign in ("K1", "K2") for customer in ("C2", "C3")],
    )
    bought = purchases(
        ("C0", "2024-03-05 12:00", 10.0, "online", "apparel", "credit_card", "K1"),  # in both windows
        ("C1", "2024-03-24 12:00", 10.0),  # end + 14 days: still in the windows
        ("C2", "2024-03-25 12:00", 10.0),  # a day later: outside
        ("C3", "2024-03-05 12:00", 10.0, "online", "apparel", "credit_card", "K1"),  # credited to a control
    )
    answers = events(("C0", "K2", "conversion", "direct_mail", "2024-03-05 12:00", "print"))
    data = dataset(n=4, engagements=answers, transactions=bought, marketing=marketing, groups=groups)
    values = measure_all(data, metrics.FAMILIES[metrics.incrementality])
    # email: treatment 2/2 bought, control 1/2: lift 0.5; standard error clustered by customer
    lift = values["email_absolute_lift_purchase"]
    assert lift.value == pytest.approx(0.5) and lift.se == pytest.approx(math.sqrt(2 * (0.5 / 2) ** 2))
    # mail: lift 0.5 x 2 treated pieces / 1 answer = 1.0
    assert values["direct_mail_incremental_share_of_responses"].value == pytest.approx(1.0)
    assert values["control_group_attributed_transactions"].value == 1  # C3 held out of K1, credited to it
    assert values["display_relative_lift_purchase"].value is None  # no display campaign


def test_sales_mix_order_values_and_opt_ins():
    bought = purchases(
        ("C0", T0, 100.0, "online", "apparel", "credit_card"),
        ("C1", T0, 300.0, "mobile_app", "home", "digital_wallet"),
        ("C2", T0, 40.0, "in_store", "grocery", "cash"),
        ("C3", T0, 60.0, "in_store", "grocery", "debit_card"),
    )
    data = dataset(n=4, transactions=bought, push_opt_in=[False, True, True, True])
    values = measure_all(data, metrics.FAMILIES[metrics.sales_mix] + metrics.FAMILIES[metrics.order_values])
    assert values["remote_share_of_purchases"].value == pytest.approx(0.5)
    assert values["remote_share_of_revenue"].value == pytest.approx(0.8)
    assert values["cash_share_in_store"].value == pytest.approx(0.5)
    assert values["digital_wallet_share_remote"].value == pytest.approx(0.5)
    assert values["cash_share_remote"].value == 0
    assert values["aov_apparel_usd"].value == 100 and values["aov_grocery_usd"].value == 50
    assert values["aov_beauty_usd"].value is None
    push = measured(data, "push_opt_in_rate")
    assert (push.successes, push.support) == (1, 1)  # C1 is the only mobile-app buyer


def test_repeat_buying_concentration_and_gaps():
    bought = purchases(
        ("C0", "2024-01-01 12:00", 100.0, "online"),
        ("C0", "2024-01-11 12:00", 100.0, "online"),
        ("C0", "2024-01-31 12:00", 100.0, "online"),
        ("C1", "2024-02-01 12:00", 1.0, "online"),
        ("C1", "2024-03-12 12:00", 1.0),
        ("C2", "2024-12-31 12:00", 1.0, "online"),
    )
    data = dataset(n=5, transactions=bought)
    values = measure_all(data, metrics.FAMILIES[metrics.repeat_buying])
    assert (
        values["repeat_purchase_rate_remote"].successes,
        values["repeat_purchase_rate_remote"].support,
    ) == (1, 3)
    assert values["purchases_per_year_repeat_buyers_remote"].value == pytest.approx(5 / 1)
    assert values["revenue_share_repeat_customers_remote"].value == pytest.approx(300 / 302)
    assert values["inter_purchase_days_median"].value == pytest.approx(20)  # gaps 10, 20, 40
    assert values["top20_customer_revenue_share"].value == pytest.approx(300 / 303)  # top 1 of 3 buyers


def test_income_quintile_spend_ratio_counts_zero_spenders():
    bought = [("C9", T0, 100.0), ("C8", T0, 100.0), ("C0", T0, 50.0)]  # C1 (bottom quintile) spends nothing
    data = dataset(n=10, transactions=purchases(*bought))
    assert measured(data, "spend_ratio_top_bottom_income_quintile").value == pytest.approx(100 / 25)


def test_window_is_the_last_twelve_months_or_the_whole_range():
    long = dataset(transactions=purchases(("C0", "2023-01-05 12:00", 1.0), ("C0", "2024-12-31 12:00", 1.0)))
    assert long.window.full and long.window.start == pd.Timestamp("2024-01-01")
    short = dataset(transactions=purchases(("C0", "2024-03-01 12:00", 1.0), ("C0", "2024-06-30 12:00", 1.0)))
    assert not short.window.full and short.window.days == 122 and "whole" in short.window.label
    assert short.year is None and long.year == 2024


def test_churn_from_the_lifecycle_ground_truth():
    truth = pd.DataFrame(
        {
            "customer_id": ["C0", "C1", "C2", "C3", "C4"],
            "acquired_on": ["2023-01-01", "2023-06-01", "2023-06-01", "2023-12-01", "2024-05-01"],
            "churned_on": ["2024-04-01", "", None, "2023-12-20", "2024-06-01"],
        }
    )
    bought = purchases(("C0", "2024-01-01 12:00", 1.0), ("C1", "2024-12-31 12:00", 1.0))
    data = dataset(n=5, transactions=bought, lifecycle=truth)
    churn = measured(data, "annual_churn_rate")
    # alive on 2024-01-01: C0, C1, C2 (C3 churned before, C4 acquired after); churned inside: C0
    assert (churn.successes, churn.support) == (1, 3)
    skipped = measured(dataset(transactions=bought), "annual_churn_rate")
    assert skipped.value is None and judge(skipped, 0.25, 0.8) == realism.Verdict(
        SKIP, None, None, "no lifecycle file"
    )


def test_hour_weekday_and_month_profiles():
    day = pd.Timestamp("2024-03-04")  # Monday
    rows = [("C0", day + pd.Timedelta(hours=h), 1.0) for h in range(24) for _ in range(1 + (h == 13) * 5)]
    rows += [("C0", day + pd.Timedelta(days=5, hours=13), 1.0)]  # a Saturday
    data = dataset(transactions=purchases(*rows))
    values = measure_all(data, metrics.FAMILIES[metrics.hours] + metrics.FAMILIES[metrics.weekdays])
    assert values["purchases_hour_of_day_max_min_ratio"].value == pytest.approx(7.0)
    assert values["in_store_purchases_0000_0600_share"].successes == 6
    assert values["in_store_max_hour_share"].value == pytest.approx(7 / 30)
    assert values["in_store_weekend_share"].value == pytest.approx(1 / 30)
    assert values["in_store_day_of_week_max_min_ratio"].value == float("inf")  # empty weekdays
    assert values["remote_purchases_hour_of_day_max_min_ratio"].value == float("inf")  # no remote purchase


def test_holidays_follow_the_calendar():
    assert metrics.holidays(2024)["thanksgiving"] == pd.Timestamp("2024-11-28")
    assert metrics.holidays(2023)["thanksgiving"] == pd.Timestamp("2023-11-23")
    assert metrics.holidays(2025)["thanksgiving"] == pd.Timestamp("2025-11-27")
    days = metrics.holidays(2024)
    assert days["black_friday"] == pd.Timestamp("2024-11-29") and days["cyber_monday"] == pd.Timestamp(
        "2024-12-02"
    )


def test_months_and_holiday_peaks():
    rows = [("C0", f"2024-{m:02d}-10 12:00", 100.0) for m in range(1, 13)]
    rows += [
        ("C0", "2024-12-24 12:00", 500.0),  # the top day: Dec 24 is day 358 in non-leap numbering
        ("C1", "2024-11-28 12:00", 10.0),  # in store on Thanksgiving
        ("C1", "2024-11-28 12:00", 10.0, "online"),  # online on Thanksgiving is fine
        ("C1", "2023-12-25 12:00", 10.0),  # Christmas of an earlier year counts too
        ("C1", "2024-12-02 12:00", 30.0, "online"),  # Cyber Monday
    ]
    data = dataset(transactions=purchases(*rows))
    values = measure_all(data, metrics.FAMILIES[metrics.months] + metrics.FAMILIES[metrics.holiday_peaks])
    assert values["top_revenue_day_of_year"].value == 358
    assert values["december_over_november_revenue"].value == pytest.approx(630 / 120)
    assert values["in_store_transactions_thanksgiving"].value == 1
    assert values["in_store_transactions_christmas"].value == 1
    # remote revenue Nov 1 .. Dec 2 (32 days): 10 + 30; Cyber Monday 30
    assert values["cyber_monday_online_ratio"].value == pytest.approx(30 / (40 / 32))


def test_demographic_shares_by_age():
    data = dataset(
        n=4,
        age=[18, 20, 21, 30],
        education=["bachelors", "high_school_or_ged", "graduate_or_professional", "bachelors"],
        marital_status=["married_not_separated", "never_married", "married_not_separated", "never_married"],
    )
    values = measure_all(data, metrics.FAMILIES[metrics.demographics])
    assert values["bachelor_plus_share_age_18_20"].value == pytest.approx(1 / 2)
    assert values["bachelor_plus_share_age_18_24"].value == pytest.approx(2 / 3)
    assert values["married_share_age_18_19"].value == pytest.approx(1)
    assert values["married_share_age_20_24"].value == pytest.approx(1 / 2)


# --- verdicts -----------------------------------------------------------------------------------------------
def test_out_of_band_fails_and_in_band_passes():
    assert judge(share(300, 1000), 0.1, 0.35).status == PASS
    assert judge(share(500, 1000), 0.1, 0.35).status == FAIL
    assert judge(point(3.0, 1000, 100), 1.0, 5.0).status == PASS
    assert judge(point(9.0, 1000, 100), 1.0, 5.0).status == FAIL
    assert judge(point(float("inf"), 1000, 100), 3.0, 1000.0).status == FAIL


def test_a_small_share_fails_only_when_its_whole_wilson_interval_is_outside():
    # 0 opens out of 10 delivered: Wilson [0, 0.28] overlaps [0.1, 0.35]: not failed for being small
    verdict = judge(share(0, 10), 0.1, 0.35)
    assert verdict.status == PASS and "interval overlaps" in verdict.detail
    assert judge(share(0, 1000), 0.1, 0.35).status == FAIL


def test_a_point_figure_below_its_minimum_support_is_skipped():
    verdict = judge(point(99.0, 50, metrics.MIN_ORDERS), 1.0, 5.0)
    assert verdict.status == SKIP and verdict.detail.startswith("too few rows: 50")
    assert judge(point(99.0, metrics.MIN_ORDERS, metrics.MIN_ORDERS), 1.0, 5.0).status == FAIL
    assert judge(metrics.missing("no tv campaign"), 1.0, 4.0).detail == "no tv campaign"


def test_an_estimate_fails_only_beyond_its_standard_error():
    assert judge(metrics.Measure(0.5, 0.3, se=0.3), 1.0, 4.0).status == PASS  # 0.5 + 1.96 x 0.3 > 1
    assert judge(metrics.Measure(0.5, 0.1, se=0.1), 1.0, 4.0).status == FAIL


def test_a_pooled_rate_fails_when_one_channel_is_out_of_band():
    ok, bad = share(50, 1000), share(600, 1000)
    assert judge(share(650, 2000, parts=[("a", ok), ("b", bad)]), 0.01, 0.12).status == FAIL
    assert judge(share(100, 2000, parts=[("a", ok), ("b", ok)]), 0.01, 0.12).status == PASS


def test_evaluate_returns_a_check_per_metric():
    result = realism.evaluate(dataset().tables)
    table = realism.load_benchmarks()
    assert [c.name for c in result.checks] == list(table["metric"])
    assert {c.category for c in result.checks} == {"realism"}
    assert set(result.table["verdict"]) <= {PASS, FAIL, SKIP}
    json.dumps([c.to_dict() for c in result.checks], allow_nan=False)  # inf and NaN never reach the JSON


# --- properties ---------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_shares_and_their_interval_stay_in_the_unit_interval(k, n):
    k = min(k, n)
    measure = share(k, n)
    low, high = realism.wilson(measure.successes, measure.support)
    assert 0 <= low <= measure.value <= high <= 1


hours_lists = st.lists(st.integers(0, 23), min_size=1, max_size=200)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hours_lists, st.lists(st.sampled_from(("in_store", "online", "mobile_app")), min_size=200, max_size=200)
)
def test_profiles_are_invariant_to_duplicating_every_row(hours, channels):
    rows = [
        ("C0", T0.normalize() + pd.Timedelta(hours=h), 10.0, c) for h, c in zip(hours, channels, strict=False)
    ]
    names = (
        metrics.FAMILIES[metrics.hours]
        + metrics.FAMILIES[metrics.weekdays]
        + metrics.FAMILIES[metrics.sales_mix]
    )
    once = measure_all(dataset(transactions=purchases(*rows)), names)
    twice = measure_all(dataset(transactions=purchases(*rows, *rows)), names)
    for name in names:
        a, b = once[name].value, twice[name].value
        assert (a is None and b is None) or a == pytest.approx(b), name
        if once[name].successes is not None:
            assert 0 <= a <= 1


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(("impression", "open", "click", "conversion"))),
        max_size=60,
    )
)
def test_email_pair_rates_are_shares_and_ignore_repeated_events(rows):
    built = [(f"C{c}", "K1", event, "email") for c, event in rows]
    names = metrics.FAMILIES[metrics.email_funnel]
    once = measure_all(dataset(n=6, engagements=events(*built)), names)
    twice = measure_all(dataset(n=6, engagements=events(*built, *built)), names)
    for name in names[:4]:
        assert once[name].value == twice[name].value
        if once[name].value is not None:
            assert 0 <= once[name].value <= 1


# --- the validation report ----------------------------------------------------------------------------------
def test_validation_report_has_the_realism_section(small_build, tmp_path):
    from validation.validate_data import validate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = validate(small_build, report_dir=tmp_path, sample_rows=2_000, sdmetrics=False)
    metrics = list(realism.load_benchmarks()["metric"])
    written = json.loads((tmp_path / "validation_report.json").read_text())
    section = written["realism"]
    assert [row["metric"] for row in section["metrics"]] == metrics
    assert {"metric", "value", "band_low", "band_high", "published_low", "support", "verdict"} <= set(
        section["metrics"][0]
    )
    assert section["window"] and set(section["profiles"]) == {"hour", "weekday", "month"}
    realism_checks = [c for c in report["checks"] if c["category"] == "realism"]
    assert [c["name"] for c in realism_checks] == metrics
    assert report["timings"]["realism"]["cpu_s"] < 30
    page = (tmp_path / "validation_report.html").read_text()
    assert "Realism (calibration table)" in page
    for name in (
        "funnel by channel",
        "purchases by hour of day",
        "purchases by day of week",
        "revenue by month",
    ):
        assert f"<h3>{name}</h3><img" in page


def test_lifecycle_is_read_from_the_build_folder(tmp_path):
    frame, why = realism.load_lifecycle(tmp_path)
    assert frame is None and "ground_truth/lifecycle.csv" in why
    (tmp_path / "ground_truth").mkdir()
    (tmp_path / "ground_truth" / "lifecycle.csv").write_text(
        "customer_id,acquired_on,churned_on\nC0,2024-01-01,\n"
    )
    frame, _ = realism.load_lifecycle(tmp_path)
    assert list(frame["customer_id"]) == ["C0"] and frame["churned_on"].isna().all()
    (tmp_path / "ground_truth" / "lifecycle.csv").write_text("")
    with pytest.raises(UserError, match="cannot read"):
        realism.load_lifecycle(tmp_path)


def test_an_unknown_campaign_never_joins_another_pair():
    rows = [("C0", "K1", "impression", "email"), ("C1", "K_unknown", "open", "email")]
    data = dataset(n=2, engagements=events(*rows))
    assert measured(data, "email_open_rate").value == 0


def test_evaluate_fails_out_of_band_passes_in_band_and_skips_thin_figures():
    table = realism.load_benchmarks().set_index("metric")
    rows = table.loc[["email_opt_in_rate", "sms_opt_in_rate", "aov_grocery_usd"]].reset_index()
    rows.loc[0, ["band_low", "band_high"]] = [0.9, 1.0]  # 500 of 1,000 opted in: Wilson [0.47, 0.53]
    rows.loc[1, ["band_low", "band_high"]] = [0.4, 0.6]
    bought = purchases(*[(f"C{i}", T0, 50.0) for i in range(10)])
    half = [i % 2 == 0 for i in range(1000)]
    data = dataset(n=1000, transactions=bought, email_opt_in=half, sms_opt_in=half)
    result = realism.evaluate(data.tables, benchmarks=rows)
    verdicts = {c.name: c for c in result.checks}
    assert verdicts["email_opt_in_rate"].status == FAIL and verdicts["email_opt_in_rate"].figure == 0.5
    assert verdicts["sms_opt_in_rate"].status == PASS
    grocery = verdicts["aov_grocery_usd"]
    assert grocery.status == SKIP and "too few rows: 10" in grocery.detail
