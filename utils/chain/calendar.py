"""The retail calendar: when purchases and marketing events happen, in the customer's local time.

Declared once here and used by the generators (marketing.py, transaction.py); the realism check
family measures the same profiles on the output against ``data/benchmarks/marketing.csv``.

    from utils.chain import calendar
    days = calendar.period_days("2024-01-01", "2024-12-31")       # datetime64[D] array
    weights = calendar.day_weights(days, "in_store")             # 0 on Thanksgiving and Christmas Day
    seconds = calendar.draw_times(rng, days, weights, calendar.HOUR_WEIGHTS["in_store"], size=10)

Timestamps are naive local times of the customer's state (stores open in local hours). US holidays
come from the ``holidays`` package (Thanksgiving: fourth Thursday of November); Black Friday is the
day after Thanksgiving, Cyber Monday the Monday after.

Where each factor comes from (sources in data/benchmarks/README.md):
- months: U.S. Census Bureau combined seasonal factors for retail sales (Nov 1.020, Jan 0.917, Feb
  0.878; December 1.15, between the Census factor 1.113 and ESA's +17 % from November to December);
  the months the table does not cite share 0.95, so November + December hold about 19 % of the
  year as in the Census totals;
- in-store weekdays: Snipp's 2.5 M grocery receipts (Saturday 17 %, Sunday 16 %, Thursday 12 %; the
  other four days share the remaining 55 % equally); online weekdays flat (sources disagree on the peak);
- in-store hours: ShopperTrak / Zenreach (peaks noon-2 p.m. and 5-7 p.m.; stores open about 8 a.m. to
  10 p.m., a few around the clock); online hours: Oberlo's activity index by hour (1 p.m. 151,
  5 a.m. 22, average 100) with SaleCycle's evening purchase peak;
- holidays: stores closed on Thanksgiving and Christmas Day; Black Friday the busiest in-store day
  (ShopperTrak); Cyber Monday 2.83 x an average November online day (Adobe 2021).
"""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np

SALES_CHANNEL_PROFILES = ("in_store", "remote")
AVERAGE_MONTH_DAYS = 365.25 / 12
# Retail month factors (index 0 = January). December 1.15: between the Census factors' December /
# November 1.09 and the Economics and Statistics Administration's +17 % from November to December.
# The months the cited Census excerpt does not give share 0.95, so that November + December hold
# about 19 % of the year's sales, as the Census totals do (19.1-20 %, nov_dec_revenue_share).
UNCITED_MONTH_FACTOR = 0.95
MONTH_FACTORS = np.array([0.917, 0.878, *[UNCITED_MONTH_FACTOR] * 8, 1.020, 1.15])
# Weekday factors, Monday first (numpy's datetime64 weekday: 1970-01-01 was a Thursday).
WEEKDAY_FACTORS = {
    "in_store": np.array([0.1375, 0.1375, 0.1375, 0.12, 0.1375, 0.17, 0.16]) * 7,
    "remote": np.ones(7),
}
# Purchases by local hour, 0-23 (relative weights).
HOUR_WEIGHTS = {
    "in_store": np.array(
        [
            0.1,
            0.06,
            0.04,
            0.04,
            0.06,
            0.12,
            0.6,
            1.6,
            3.2,
            5.0,
            6.6,
            8.0,
            9.4,
            9.4,
            8.4,
            7.9,
            8.3,
            8.9,
            8.5,
            7.0,
            5.0,
            3.0,
            1.2,
            0.4,
        ]
    ),
    "remote": np.array(
        [
            60,
            40,
            28,
            24,
            22,
            25,
            35,
            50,
            70,
            95,
            115,
            130,
            140,
            151,
            149,
            140,
            130,
            125,
            130,
            140,
            145,
            130,
            110,
            85,
        ],
        dtype=float,
    ),
}
# Marketing events by local hour: TV exposures mostly in prime time; digital ads follow online activity.
TV_HOUR_WEIGHTS = np.array(
    [4, 2, 1, 1, 1, 2, 5, 8, 8, 6, 5, 5, 5, 5, 5, 6, 8, 10, 14, 20, 24, 24, 18, 9], dtype=float
)
# Days with their own multiplier (relative to the day's month and weekday); 0 = stores closed.
IN_STORE_DAYS = {
    "thanksgiving": 0.0,
    "black_friday": 3.2,
    "christmas_day": 0.0,
    "christmas_eve": 1.3,
    "last_saturday_before_christmas": 1.45,
    "december_saturday": 1.3,
    "days_21_23_december": 1.3,
    "december_26": 1.4,
}
REMOTE_DAYS = {"thanksgiving": 1.6, "black_friday": 2.2, "cyber_monday": 2.9, "christmas_day": 0.7}


@lru_cache(maxsize=64)
def key_dates(year: int) -> dict[str, np.datetime64]:
    """Thanksgiving, Black Friday, Cyber Monday, Christmas Eve and Day of ``year``."""
    us = holidays.US(years=year)
    thanksgiving = next(day for day, name in us.items() if name.startswith("Thanksgiving"))
    thanksgiving = np.datetime64(thanksgiving, "D")
    return {
        "thanksgiving": thanksgiving,
        "black_friday": thanksgiving + 1,
        "cyber_monday": thanksgiving + 4,
        "christmas_eve": np.datetime64(f"{year}-12-24", "D"),
        "christmas_day": np.datetime64(f"{year}-12-25", "D"),
    }


def period_days(start: str, end: str) -> np.ndarray:
    """Every day of the period, both ends included, as ``datetime64[D]``."""
    return np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6."""
    return (days.astype(np.int64) + 3) % 7


def month(days: np.ndarray) -> np.ndarray:
    """Month index 0-11."""
    return days.astype("datetime64[M]").astype(np.int64) % 12


def day_weights(days: np.ndarray, profile: str) -> np.ndarray:
    """Relative purchase intensity of each day for ``in_store`` or ``remote`` purchases.

    Weekday factor x the day's holiday multiplier, scaled so that each whole month's days sum to its
    month factor times an average month's length (holidays move purchases inside their month; a
    partial month keeps its days' level); a full year averages about 1 per day. In-store intensity
    is 0 on Thanksgiving and Christmas Day.
    """
    if profile not in SALES_CHANNEL_PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    days = np.asarray(days, dtype="datetime64[D]")
    out = np.empty(days.shape, dtype=float)
    month_key = days.astype("datetime64[M]")
    for key in np.unique(month_key):
        whole = np.arange(key.astype("datetime64[D]"), (key + 1).astype("datetime64[D]"))
        raw = _unscaled(whole, profile)
        # The factor is the month's total against an average month (Census factors include trading
        # days: February's 0.878 already has its 28 or 29 days), so scale to factor x 365.25 / 12.
        scaled = raw * MONTH_FACTORS[int(key.astype(np.int64) % 12)] * AVERAGE_MONTH_DAYS / raw.sum()
        inside = month_key == key
        out[inside] = scaled[(days[inside] - whole[0]).astype(np.int64)]
    return out


def _unscaled(days: np.ndarray, profile: str) -> np.ndarray:
    """Weekday x holiday weights of the days of one whole month."""
    raw = WEEKDAY_FACTORS[profile][weekday(days)].astype(float)
    special = IN_STORE_DAYS if profile == "in_store" else REMOTE_DAYS
    dom = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    dates = key_dates(int(days[0].astype("datetime64[Y]").astype(np.int64)) + 1970)
    if profile == "in_store" and month(days[:1])[0] == 11:
        saturday = (weekday(days) == 5) & (dom < 25)
        raw[saturday] *= special["december_saturday"]
        raw[saturday & (dom == dom[saturday].max())] *= (
            special["last_saturday_before_christmas"] / special["december_saturday"]
        )
        raw[(dom >= 21) & (dom <= 23)] *= special["days_21_23_december"]
        raw[dom == 26] *= special["december_26"]
    for name, factor in special.items():
        if name in dates:
            raw[days == dates[name]] *= factor
    return raw


def draw_times(
    rng: np.random.Generator,
    days: np.ndarray,
    cumulative: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    hour_weights: np.ndarray,
) -> np.ndarray:
    """Local timestamps (seconds since 1970, naive local time), one per row of ``low`` / ``high``.

    ``cumulative`` is ``np.cumsum`` of a day-weight array over ``days`` with a leading 0; each draw
    falls on a day between cumulative positions ``low`` and ``high`` (so with probability proportional
    to the day weights inside the customer's interval), at an hour drawn from ``hour_weights`` and a
    uniform second inside that hour.
    """
    u = low + rng.random(len(low)) * (high - low)
    index = np.clip(np.searchsorted(cumulative, u, side="right") - 1, 0, len(days) - 1)
    hour = draw_hours(rng, hour_weights, len(low))
    second = rng.integers(0, 3600, len(low))
    return days[index].astype("datetime64[s]").astype(np.int64) + hour * 3600 + second


def draw_hours(rng: np.random.Generator, hour_weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` local hours drawn from the 24 ``hour_weights``."""
    cumulative = np.cumsum(hour_weights) / hour_weights.sum()
    return np.minimum(np.searchsorted(cumulative, rng.random(size), side="right"), 23)


def closed_in_store(days: np.ndarray) -> np.ndarray:
    """True on the days stores are closed (Thanksgiving, Christmas Day)."""
    days = np.asarray(days, dtype="datetime64[D]")
    closed = np.zeros(days.shape, dtype=bool)
    for year in np.unique(days.astype("datetime64[Y]").astype(np.int64) + 1970):
        dates = key_dates(int(year))
        closed |= (days == dates["thanksgiving"]) | (days == dates["christmas_day"])
    return closed
