"""Each customer's life with the retailer: acquisition, purchase rate, sales channel mix and dropout.

A Pareto/NBD ("buy till you die") process, the standard model of non-contractual customer bases
(Schmittlein, Morrison and Colombo 1987; Fader, Hardie and Lee 2005):

- a customer is acquired on a date spread uniformly over ``ACQUISITION_LOOKBACK_YEARS`` before the
  period and through it (so most are existing customers on the first day, and new ones keep coming);
- while alive, a customer buys at a heterogeneous rate: the stated ``purchase_frequency`` of the
  preferences (times 12 a year) times a Gamma(``RATE_SHAPE``) draw with mean 1 (so the stated
  frequency predicts, but does not fix, what a customer does);
- the lifetime is exponential with a heterogeneous dropout rate (Gamma across customers, lower for
  loyal customers); the churn date is the end of it;
- each purchase is remote (online or app) with a customer's own probability, which follows age and
  the preferred device around ``REMOTE_SHARE``.

One rule, used by marketing.py (who is still a customer, who is on the house list) and by
transaction.py (when purchases happen); its outcome per customer is the lifecycle ground truth
(``ground_truth/lifecycle``). Draws are keyed by the sorted customer ids, the build seed and the
customer partition, so both stages get the same life for the same customer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from utils.chain import calendar
from utils.core import seeding

ACQUISITION_LOOKBACK_YEARS = 3
ACQUISITION_IN_STORE_SHARE = 0.8  # new customers' first purchases follow the in-store calendar this much
RATE_SHAPE = 3.0  # Gamma shape of the purchase-rate heterogeneity (smaller = more concentrated spend)
PURCHASES_PER_FREQUENCY_UNIT = 12  # purchase_frequency is purchases a month
DROPOUT_RATE_MEAN = 0.6  # mean dropout hazard a year (annual churn about 1 - E[exp(-rate)])
DROPOUT_RATE_SHAPE = 2.0
DROPOUT_LOYALTY_SLOPE = -1.5  # log-hazard change per unit of brand loyalty above 0.5
REMOTE_SHARE = 0.18  # mean probability that a purchase is remote (Atlanta Fed: ~17-22 % of purchases)
REMOTE_CONCENTRATION = 16.0  # Beta concentration of the per-customer remote share
COLUMNS = ("customer_id", "acquired_on", "churned_on")
TRUTH_FILE = "lifecycle"  # ground_truth/lifecycle.csv (or a folder of parts), by the transactions stage


def simulate(
    customers: pd.DataFrame, *, seed: int, start: str, end: str, partition: str = ""
) -> pd.DataFrame:
    """Per customer (same order as ``customers``): acquisition and churn dates, rate, remote share.

    ``customers`` needs customer_id, age, purchase_frequency, brand_loyalty, preferred_device.
    Returns customer_id, acquired_on, churned_on (NaT while alive at ``end``), rate (purchases a
    year while alive) and remote_share.
    """
    order = np.argsort(customers["customer_id"].to_numpy().astype(str), kind="stable")
    ordered = customers.iloc[order]
    rng = seeding.generator(seed, "lifecycle", partition=partition)
    n = len(customers)
    first, last = np.datetime64(start, "D"), np.datetime64(end, "D")
    lookback = round(ACQUISITION_LOOKBACK_YEARS * 365.25)
    span = int((last - first).astype(np.int64)) + 1 + lookback
    acquired = first - lookback + rng.integers(0, span, n)
    # Customers acquired inside the period arrive as people shop: on days drawn from the retail
    # calendar (weekday, month and holiday rhythm), since the first purchase is on that day.
    days = calendar.period_days(start, end)
    inside = acquired >= first
    weights = ACQUISITION_IN_STORE_SHARE * calendar.day_weights(days, "in_store")
    weights += (1 - ACQUISITION_IN_STORE_SHARE) * calendar.day_weights(days, "remote")
    cumulative = np.cumsum(weights) / weights.sum()
    acquired[inside] = days[
        np.searchsorted(cumulative, rng.random(int(inside.sum())), side="right").clip(0, len(days) - 1)
    ]

    loyalty = ordered["brand_loyalty"].to_numpy(float)
    hazard = rng.gamma(DROPOUT_RATE_SHAPE, DROPOUT_RATE_MEAN / DROPOUT_RATE_SHAPE, n)
    hazard = hazard * np.exp(DROPOUT_LOYALTY_SLOPE * (loyalty - 0.5))
    lifetime_days = rng.exponential(365.25, n) / np.maximum(hazard, 1e-6)
    churned = acquired + np.floor(np.minimum(lifetime_days, 365.25 * 200)).astype(np.int64)

    heterogeneity = rng.gamma(RATE_SHAPE, 1 / RATE_SHAPE, n)
    rate = ordered["purchase_frequency"].to_numpy(float) * PURCHASES_PER_FREQUENCY_UNIT * heterogeneity

    young = (60 - np.clip(ordered["age"].to_numpy(float), 18, 78)) / 42  # 1 at 18, 0 at 60+
    mobile = (ordered["preferred_device"].to_numpy() == "mobile").astype(float)
    logit = np.log(REMOTE_SHARE / (1 - REMOTE_SHARE)) - 0.45 + 0.7 * young + 0.35 * mobile
    mean = 1 / (1 + np.exp(-logit))
    remote = rng.beta(mean * REMOTE_CONCENTRATION, (1 - mean) * REMOTE_CONCENTRATION)
    out = pd.DataFrame(
        {
            "customer_id": ordered["customer_id"].to_numpy(),
            "acquired_on": acquired.astype("datetime64[D]"),
            "churned_on": np.where(churned <= last, churned, np.datetime64("NaT")).astype("datetime64[D]"),
            "rate": rate,
            "remote_share": remote,
        }
    )
    back = np.empty(n, dtype=np.int64)
    back[order] = np.arange(n)
    return out.iloc[back].reset_index(drop=True)


def alive_on(life: pd.DataFrame, day) -> np.ndarray:
    """True for customers acquired on or before ``day`` and not churned by then."""
    day = np.datetime64(day, "D")
    churned = life["churned_on"].to_numpy("datetime64[D]")
    acquired = life["acquired_on"].to_numpy("datetime64[D]")
    return (acquired <= day) & (np.isnat(churned) | (churned > day))


def truth_table(life: pd.DataFrame) -> pd.DataFrame:
    """The lifecycle ground truth as written beside the data (dates as ISO text, empty = alive)."""
    frame = life[list(COLUMNS)].copy()
    for column in ("acquired_on", "churned_on"):
        frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
    return frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
