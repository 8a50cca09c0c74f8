"""The purchase process: when customers buy, which purchases campaigns cause, and the exact truth.

Declared once and used by marketing.py (conversion events, ``ground_truth.json``,
``ground_truth/effects.csv``) and transaction.py (the purchases, ``ground_truth/attribution.csv``).
Both stages draw it from the same coordinates of the randomness scheme, so they see the same
purchases (a chain rule checks that every conversion event has its purchase).

Two independent sources of purchases:

- **organic** (:func:`organic`): while alive (:mod:`utils.chain.lifecycle`), a customer buys in
  store and remotely as Poisson processes whose day intensity is its rate x the retail calendar's
  day weights (:mod:`utils.chain.calendar`); a customer acquired inside the period buys on that day;
- **caused** (:func:`caused`): each customer of a campaign's treatment group makes one extra
  purchase with the probability :func:`incremental_probability` gives (the campaign's causal effect:
  by channel and objective, and by the customer), on a day drawn from the channel's day profile over
  the campaign's response days (:func:`response_days`). Control customers get nothing from it.

Because both sources are known in closed form, the probability that a customer of a campaign's
audience makes at least one purchase in the campaign's outcome window (``[start_date, end_date +
OUTCOME_WINDOW_DAYS]``) is known exactly under treatment and under control
(:func:`outcome_probabilities`), for the released rows themselves: organic purchases by their
Poisson intensity, the other campaigns' caused purchases by the customer's realised groups, and the
campaign's own effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import constants
from utils.chain import calendar
from utils.chain.bias import Bias
from utils.core import seeding
from utils.core.schema import CATEGORIES

STAGE = "purchases"  # the randomness coordinates both stages draw the purchases from
# Per-row truth files (ground_truth/{name}.csv, or a folder of Parquet parts):
EFFECTS_FILE = "effects"  # per audience pair: P(outcome | treated), P(outcome | control)
ATTRIBUTION_FILE = "attribution"  # per transaction: the campaign that caused it, or empty
OUTCOME_WINDOW_DAYS = constants.OUTCOME_WINDOW_DAYS
# Probability that a treated average customer makes one extra purchase because of a campaign of this
# channel (objective factor 1): email from Hillstrom's randomised e-mail test (conversion 0.57 %
# without e-mail, 0.88 % and 1.25 % with: +0.3 to +0.7 points in two weeks); the others set so that
# conversions per click and ROAS stay in their published bands (data/benchmarks/marketing.csv).
INCREMENTAL_PURCHASE = {
    "email": 0.004,
    "sms": 0.004,
    "direct_mail": 0.04,
    "search": 0.004,
    "display": 0.002,
    "social": 0.003,
    "tv": 0.0,  # TV: per exposure, below
}
TV_PURCHASES_PER_EXPOSURE = 0.0006  # Nielsen Catalina ROAS 2.55 x CPM $28 / 1000 over a $120 order
TV_EXPOSURES_PER_30_DAYS = 4.5  # a reached customer's exposures (marketing.MEDIA["tv"].frequency)
# Objective factors. Owned channels and TV: offers convert more than brand messages. Bought media
# aimed at people already buying (retargeting, brand keywords: objectives conversion and retention)
# cause little: eBay's brand-keyword experiments found about zero (Blake, Nosko and Tadelis 2015),
# retargeting lifts are small (Johnson, Lewis and Nubbemeyer 2017); prospecting causes more.
OBJECTIVE_FACTOR = {
    "owned": {"awareness": 0.6, "acquisition": 0.9, "conversion": 1.25, "retention": 1.1},
    "search": {"awareness": 1.0, "acquisition": 1.0, "conversion": 0.1, "retention": 0.05},
    "display": {"awareness": 1.0, "acquisition": 1.0, "conversion": 0.35, "retention": 0.25},
    "social": {"awareness": 1.0, "acquisition": 1.0, "conversion": 0.5, "retention": 0.4},
}
PREFERRED_CHANNEL_LIFT = 1.4  # also the lift of opens and clicks (marketing.pair_features)
LOYALTY_EFFECT = 0.4
DEAL_EFFECT = 1.5  # effect lift per unit of discount x price sensitivity
LAPSED_FACTOR = 0.3  # customers who have churned respond this much (win-back is hard)
PROSPECT_MAIL_FACTOR = 0.42  # mail to prospects vs the house list (DMA: 4.9 % vs 9 % response)
NEW_CUSTOMER_FACTOR = 2.0  # bought media move people who do not buy yet more (eBay: new users)
MAX_INCREMENTAL = 0.5
# Share of the purchases a digital campaign causes that follow a click of it; the others are
# view-through (the ad worked without a click) and happen in store or online by the customer's mix:
# Lewis and Reiley (2014) found 78 % of display's sales lift among people who never clicked and 93 %
# of it in stores.
CLICK_THROUGH = {"email": 0.85, "sms": 0.85, "search": 0.95, "display": 0.25, "social": 0.5}
MAIL_DELIVERY_DAYS = 3  # mail pieces arrive in the flight's first days; responses follow
TV_RESPONSE_TAIL_DAYS = 3  # TV-caused purchases up to this many days after the flight
# On a campaign's first day a caused purchase comes after the message (email sent 10:00-11:00,
# SMS 12:00-13:00) and the click it follows.
FIRST_DAY_EARLIEST_HOUR = {"email": 12, "sms": 14}
FIRST_DAY_DEFAULT_HOUR = 1


# What a purchase costs (transaction.py draws each purchase's category, quantity and basket multiplier
# from the synthesizer fitted on these rules). Mean order value by category (USD) for an average basket
# factor: remote orders from Dynamic Yield / Oberlo AOV by industry (fashion $126-196, home & furniture
# $217-256, beauty $71-75, food $86-114); an in-store grocery trip from FMI (weekly spend / trips:
# $109 / 2.2, $155 / 2.6). Electronics and sports have no published per-category figure here: set
# above and near apparel respectively.
PRICE_LEVEL = {
    "electronics": 320.0,
    "apparel": 140.0,
    "home": 225.0,
    "beauty": 70.0,
    "grocery": 95.0,
    "sports": 120.0,
}
IN_STORE_PRICE_FACTOR = {"grocery": 0.55}  # an in-store grocery trip is smaller than an online order
BASKET_REFERENCE = 60.0  # avg_basket_size of an average customer (basket factor 1)
BASKET_ELASTICITY = 1.0  # basket factor = (avg_basket_size / reference) ** this
# Category choice: affinity scores plus a channel shift (groceries are mostly bought in store).
AFFINITY_WEIGHT = 3.0
REMOTE_CATEGORY_SHIFT = {"grocery": -1.2, "electronics": 0.4, "apparel": 0.3}
EXTRA_ITEMS = {"grocery": 1.5}  # quantity = 1 + Poisson(this; 0.4 for other categories)
DEFAULT_EXTRA_ITEMS = 0.4
ITEM_PRICE_STEP = 0.1  # each extra item adds this share to the order's multiplier


def category_scores(affinity: np.ndarray, remote: np.ndarray) -> np.ndarray:
    """Logits of the category of a purchase (rows: purchases; columns: ``CATEGORIES``)."""
    shift = np.array([REMOTE_CATEGORY_SHIFT.get(c, 0.0) for c in CATEGORIES])
    return AFFINITY_WEIGHT * np.log(affinity + 0.01) + np.where(remote[:, None], shift, -shift / 2)


def expected_order_value(customers: pd.DataFrame, remote: np.ndarray) -> np.ndarray:
    """Expected amount (before discount) of a purchase of each ``customers`` row, remote with
    probability ``remote``: category choice x price level x items x the customer's basket factor."""
    affinity = customers[[f"affinity_{c}" for c in CATEGORIES]].to_numpy(float)
    items = np.array([1 + ITEM_PRICE_STEP * EXTRA_ITEMS.get(c, DEFAULT_EXTRA_ITEMS) for c in CATEGORIES])
    level = np.array([PRICE_LEVEL[c] for c in CATEGORIES]) * items
    store_level = level * np.array([IN_STORE_PRICE_FACTOR.get(c, 1.0) for c in CATEGORIES])
    values = []
    for is_remote, prices in ((True, level), (False, store_level)):
        scores = category_scores(affinity, np.full(len(affinity), is_remote))
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        values.append((weights / weights.sum(axis=1, keepdims=True)) @ prices)
    basket = (customers["avg_basket_size"].to_numpy(float) / BASKET_REFERENCE) ** BASKET_ELASTICITY
    return basket * (remote * values[0] + (1 - remote) * values[1])


@dataclass(frozen=True)
class Period:
    """The period's days and the cumulative day weights of each sales-channel profile (leading 0)."""

    days: np.ndarray
    cumulative: dict[str, np.ndarray]

    @classmethod
    def of(cls, start: str, end: str) -> Period:
        """The period from ``start`` to ``end`` (ISO dates, inclusive)."""
        days = calendar.period_days(start, end)
        cumulative = {
            profile: np.concatenate([[0.0], np.cumsum(calendar.day_weights(days, profile))])
            for profile in calendar.SALES_CHANNEL_PROFILES
        }
        return cls(days, cumulative)

    def index(self, dates) -> np.ndarray:
        """Day positions of ``dates`` in the period (not clipped)."""
        values = pd.to_datetime(pd.Series(dates)).to_numpy("datetime64[D]")
        return (values - self.days[0]).astype(np.int64)


def profile_of(channel: np.ndarray) -> np.ndarray:
    """The day profile of a channel's caused purchases: mail codes in store hours, others remote."""
    return np.where(np.asarray(channel) == "direct_mail", "in_store", "remote")


def customer_table(demographics: pd.DataFrame, preferences: pd.DataFrame) -> pd.DataFrame:
    """The customers both stages draw purchases for: demographics (the protected attributes included)
    joined to preferences, in customer id order whatever order the tables were read in (the purchase
    draws follow the rows)."""
    columns = list(dict.fromkeys(["customer_id", "age", "age_group", *constants.PROTECTED_ATTRIBUTES]))
    customers = demographics[columns].merge(preferences, on="customer_id", validate="one_to_one")
    return customers.sort_values("customer_id", kind="stable").reset_index(drop=True)


def audience_order(customer_ids: np.ndarray, campaign_ids: np.ndarray) -> np.ndarray:
    """The canonical order of audience pairs, by campaign id then customer id: the order the groups
    and the caused purchases are drawn in."""
    return np.lexsort((np.asarray(customer_ids).astype(str), np.asarray(campaign_ids).astype(str)))


# --- Organic purchases -----------------------------------------------------------------------------


def alive_interval(life: pd.DataFrame, period: Period) -> tuple[np.ndarray, np.ndarray]:
    """Per customer, the period's day positions ``[low, high)`` while alive."""
    first, last = period.days[0], period.days[-1]
    acquired = life["acquired_on"].to_numpy("datetime64[D]")
    churned = life["churned_on"].to_numpy("datetime64[D]")
    begin = np.maximum(acquired, first)
    stop = np.where(np.isnat(churned), last + 1, np.minimum(churned, last + 1))
    low = np.clip((begin - first).astype(np.int64), 0, len(period.days))
    high = np.clip((stop - first).astype(np.int64), 0, len(period.days))
    return low, np.maximum(high, low)


def acquisition_day(life: pd.DataFrame, period: Period) -> np.ndarray:
    """Day position of the first purchase of customers acquired inside the period (-1 for others)."""
    low, high = alive_interval(life, period)
    acquired = life["acquired_on"].to_numpy("datetime64[D]")
    position = (acquired - period.days[0]).astype(np.int64)
    inside = (position >= 0) & (position < len(period.days)) & (high > low)
    return np.where(inside, position, -1)


def purchases_on(
    rng: np.random.Generator, days: np.ndarray, remote_share: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A purchase on each of ``days`` and whether it is remote: remote with the customer's share, or
    when the store is closed that day; at an hour of its sales channel's rhythm. Local seconds."""
    days = np.asarray(days, dtype="datetime64[D]")
    remote = (rng.random(days.size) < remote_share) | calendar.closed_in_store(days)
    hours = np.where(
        remote,
        calendar.draw_hours(rng, calendar.HOUR_WEIGHTS["remote"], days.size),
        calendar.draw_hours(rng, calendar.HOUR_WEIGHTS["in_store"], days.size),
    )
    stamps = days.astype("datetime64[s]").astype(np.int64) + hours * 3600 + rng.integers(0, 3600, days.size)
    return stamps, remote


def organic(life: pd.DataFrame, period: Period, seed: int, partition: str = "") -> pd.DataFrame:
    """Organic purchases: ``row`` (position in ``life``), ``timestamp`` (local seconds), ``remote``."""
    rng = seeding.generator(seed, STAGE, partition=partition, purpose="organic")
    low, high = alive_interval(life, period)
    frames = []
    for profile, share in (("in_store", 1 - life["remote_share"]), ("remote", life["remote_share"])):
        cumulative = period.cumulative[profile]
        start, stop = cumulative[low], cumulative[high]
        rate = life["rate"].to_numpy() * share.to_numpy() / 365.25
        who = np.repeat(np.arange(len(life)), rng.poisson(rate * (stop - start)))
        stamps = calendar.draw_times(
            rng, period.days, cumulative, start[who], stop[who], calendar.HOUR_WEIGHTS[profile]
        )
        frames.append(pd.DataFrame({"row": who, "timestamp": stamps, "remote": profile == "remote"}))
    new = np.flatnonzero(acquisition_day(life, period) >= 0)
    stamps, remote = purchases_on(
        rng, life["acquired_on"].to_numpy("datetime64[D]")[new], life["remote_share"].to_numpy()[new]
    )
    frames.append(pd.DataFrame({"row": new, "timestamp": stamps, "remote": remote}))
    return pd.concat(frames, ignore_index=True)


def organic_expected(life: pd.DataFrame, period: Period, rows: np.ndarray, low, high) -> np.ndarray:
    """Expected organic purchases (Poisson means) of customers ``rows`` over day positions ``[low,
    high)``, acquisition-day purchases aside."""
    alive_low, alive_high = alive_interval(life, period)
    lo = np.maximum(low, alive_low[rows])
    hi = np.maximum(lo, np.minimum(high, alive_high[rows]))
    share = life["remote_share"].to_numpy()[rows]
    weight = (1 - share) * (period.cumulative["in_store"][hi] - period.cumulative["in_store"][lo])
    weight += share * (period.cumulative["remote"][hi] - period.cumulative["remote"][lo])
    return life["rate"].to_numpy()[rows] / 365.25 * weight


# --- Caused purchases --------------------------------------------------------------------------------


def outcome_window(campaigns: pd.DataFrame, period: Period) -> tuple[np.ndarray, np.ndarray]:
    """Each campaign's outcome window as day positions ``[low, high)`` inside the period."""
    n = len(period.days)
    low = np.clip(period.index(campaigns["start_date"]), 0, n)
    high = np.clip(period.index(campaigns["end_date"]) + 1 + OUTCOME_WINDOW_DAYS, 0, n)
    return low, np.maximum(high, low)


def response_days(campaigns: pd.DataFrame, period: Period) -> tuple[np.ndarray, np.ndarray]:
    """The days ``[low, high)`` a campaign's caused purchases fall on: its flight (mail from the
    delivery on; TV a few days beyond). Always inside the outcome window."""
    n = len(period.days)
    channel = campaigns["channel"].to_numpy()
    start, end = period.index(campaigns["start_date"]), period.index(campaigns["end_date"])
    low = start + np.where(channel == "direct_mail", MAIL_DELIVERY_DAYS, 0)
    high = end + 1 + np.where(channel == "tv", TV_RESPONSE_TAIL_DAYS, 0)
    low, high = np.clip(low, 0, n), np.clip(high, 0, n)
    return np.minimum(low, high), high


def _mass(period: Period, profiles: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Day-weight mass of ``[low, high)`` under each row's profile."""
    out = np.zeros(len(profiles))
    for profile in calendar.SALES_CHANNEL_PROFILES:
        rows = profiles == profile
        cumulative = period.cumulative[profile]
        out[rows] = cumulative[high[rows]] - cumulative[low[rows]]
    return out


def landing_matrix(campaigns: pd.DataFrame, period: Period) -> np.ndarray:
    """``F[b, a]``: probability that a purchase caused by campaign ``b`` falls in ``a``'s outcome window."""
    low, high = response_days(campaigns, period)
    window_low, window_high = outcome_window(campaigns, period)
    profiles = profile_of(campaigns["channel"].to_numpy())
    total = _mass(period, profiles, low, high)
    k = len(campaigns)
    b = np.repeat(np.arange(k), k)
    a = np.tile(np.arange(k), k)
    lo = np.maximum(low[b], window_low[a])
    hi = np.maximum(lo, np.minimum(high[b], window_high[a]))
    inside = _mass(period, profiles[b], lo, hi)
    return np.where(total[b] > 0, inside / np.where(total[b] > 0, total[b], 1), 0.0).reshape(k, k)


def incremental_probability(
    customers: pd.DataFrame,
    campaigns: pd.DataFrame,
    life: pd.DataFrame,
    rows: np.ndarray,
    cols: np.ndarray,
    bias: Bias,
    period: Period,
) -> np.ndarray:
    """Probability that campaign ``cols`` causes one extra purchase by customer ``rows`` if treated.

    The channel's base (:data:`INCREMENTAL_PURCHASE`; TV per expected exposure) x the objective factor
    x the customer: preferred channel, loyalty, discount x price sensitivity, lapsed (churned before
    the start), new to the brand (bought media) or a prospect (mail), and the bias knob. Uses only
    released columns, so both stages compute the same number.
    """
    c = customers.iloc[rows]
    k = campaigns.iloc[cols]
    channel = k["channel"].to_numpy()
    objective = k["objective"].to_numpy()
    start = pd.to_datetime(k["start_date"]).to_numpy("datetime64[D]")
    duration = (pd.to_datetime(k["end_date"]) - pd.to_datetime(k["start_date"])).dt.days.to_numpy() + 1
    base = pd.Series(channel).map(INCREMENTAL_PURCHASE).to_numpy(float)
    exposures = TV_EXPOSURES_PER_30_DAYS * duration / 30
    base = np.where(channel == "tv", 1 - (1 - TV_PURCHASES_PER_EXPOSURE) ** exposures, base)
    family = np.where(np.isin(channel, ("search", "display", "social")), channel, "owned")
    factor = np.array([OBJECTIVE_FACTOR[f][o] for f, o in zip(family, objective, strict=True)])
    preferred = np.where(c["preferred_channel"].to_numpy() == channel, PREFERRED_CHANNEL_LIFT, 1.0)
    loyalty = 1 + LOYALTY_EFFECT * (c["brand_loyalty"].to_numpy(float) - 0.5)
    deal = 1 + DEAL_EFFECT * k["discount_pct"].to_numpy(float) * c["price_sensitivity"].to_numpy(float)
    acquired = life["acquired_on"].to_numpy("datetime64[D]")[rows]
    churned = life["churned_on"].to_numpy("datetime64[D]")[rows]
    lapsed = ~np.isnat(churned) & (churned < start)
    new = acquired >= start
    standing = np.where(lapsed, LAPSED_FACTOR, 1.0)
    standing *= np.where(new & (channel == "direct_mail"), PROSPECT_MAIL_FACTOR, 1.0)
    standing *= np.where(new & (family != "owned"), NEW_CUSTOMER_FACTOR, 1.0)
    damp = np.where(bias.members(c), 1 - bias.strength, 1.0)
    q = base * factor * preferred * loyalty * deal * standing * damp
    low, high = response_days(k, period)
    return np.where(high > low, np.clip(q, 0.0, MAX_INCREMENTAL), 0.0)


def caused(
    treated: pd.DataFrame,
    q: np.ndarray,
    campaigns: pd.DataFrame,
    life: pd.DataFrame,
    period: Period,
    seed: int,
    partition: str = "",
) -> pd.DataFrame:
    """The purchases campaigns cause among ``treated`` pairs (``row``, ``col``: positions in the
    customers / campaigns, in :func:`audience_order`): ``pair`` (the pair's position in
    ``treated``), ``row``, ``col``, ``timestamp``, ``remote``, ``through`` (it follows a click: remote).

    Each pair causes one purchase with probability ``q``, on a day drawn from its channel's day
    weights over the campaign's response days; ``CLICK_THROUGH`` of a digital channel's purchases
    follow a click and are made online, the others (view-through, TV, mail) by the customer's mix of
    store and remote (mail codes in store hours)."""
    rng = seeding.generator(seed, STAGE, partition=partition, purpose="caused")
    happened = rng.random(len(treated)) < q
    pairs = pd.DataFrame({"pair": np.flatnonzero(happened)}).join(
        treated[["row", "col"]].reset_index(drop=True), on="pair"
    )
    k = campaigns.iloc[pairs["col"].to_numpy()]
    channel = k["channel"].to_numpy()
    low, high = response_days(k, period)
    profiles = profile_of(channel)
    day_index = np.zeros(len(pairs), dtype=np.int64)
    for profile in calendar.SALES_CHANNEL_PROFILES:
        rows = np.flatnonzero(profiles == profile)
        cumulative = period.cumulative[profile]
        u = cumulative[low[rows]] + rng.random(rows.size) * (cumulative[high[rows]] - cumulative[low[rows]])
        day_index[rows] = np.clip(np.searchsorted(cumulative, u, side="right") - 1, low[rows], high[rows] - 1)
    days = period.days[day_index]
    share = life["remote_share"].to_numpy()[pairs["row"].to_numpy()]
    through = rng.random(len(pairs)) < pd.Series(channel).map(CLICK_THROUGH).fillna(0.0).to_numpy()
    stamps, remote = purchases_on(rng, days, np.where(through, 1.0, share))
    # On the flight's first day the purchase follows the message.
    earliest = pd.Series(channel).map(FIRST_DAY_EARLIEST_HOUR).fillna(FIRST_DAY_DEFAULT_HOUR).to_numpy(int)
    first_day = day_index == period.index(k["start_date"])
    hour = (stamps % 86_400) // 3600
    late = first_day & (hour < earliest)
    later_hour = earliest + rng.integers(0, 24 - earliest)
    stamps = np.where(late, stamps - hour * 3600 + later_hour * 3600, stamps)
    return pairs.assign(timestamp=stamps, remote=remote, through=through)


def realised_outcomes(
    pair_customer: np.ndarray,
    first_day: np.ndarray,
    last_day: np.ndarray,
    purchase_customer: np.ndarray,
    purchase_day: np.ndarray,
) -> np.ndarray:
    """Whether each pair's customer (an integer code) made a purchase on a day (integer) in
    ``[first_day, last_day]``: the outcome of a campaign for a customer of its audience, measured on
    released purchases (``last_day`` = end date + ``OUTCOME_WINDOW_DAYS``)."""
    span = int(max(np.max(last_day, initial=0), np.max(purchase_day, initial=0))) + 2
    offset = int(min(np.min(first_day, initial=0), np.min(purchase_day, initial=0)))
    keys = np.sort((purchase_customer.astype(np.int64) * span) + (purchase_day - offset))
    low = pair_customer.astype(np.int64) * span + (first_day - offset)
    high = pair_customer.astype(np.int64) * span + (last_day - offset)
    return np.searchsorted(keys, high, side="right") > np.searchsorted(keys, low, side="left")


# --- The exact truth -------------------------------------------------------------------------------------


def outcome_probabilities(
    audience: pd.DataFrame,
    q: np.ndarray,
    campaigns: pd.DataFrame,
    life: pd.DataFrame,
    period: Period,
) -> tuple[np.ndarray, np.ndarray]:
    """P(outcome | treated) and P(outcome | control) of each ``audience`` pair (``row``, ``col``,
    ``treated``; ``q`` its incremental probability): at least one purchase in the campaign's outcome
    window, given the customer's life and its realised groups in the other campaigns."""
    rows, cols = audience["row"].to_numpy(), audience["col"].to_numpy()
    treated = audience["treated"].to_numpy(bool)
    window_low, window_high = outcome_window(campaigns, period)
    expected = organic_expected(life, period, rows, window_low[cols], window_high[cols])
    first = acquisition_day(life, period)[rows]
    certain = (first >= window_low[cols]) & (first < window_high[cols])
    landing = landing_matrix(campaigns, period)
    # Other campaigns' caused purchases: log P(none lands in the window), by the realised groups.
    customers, local_rows = np.unique(rows, return_inverse=True)
    realised = np.zeros((customers.size, len(campaigns)))
    realised[local_rows[treated], cols[treated]] = q[treated]
    log_none_other = np.zeros(len(audience))
    for a in np.unique(cols):
        members = np.flatnonzero(cols == a)
        terms = np.log1p(-realised[local_rows[members]] * landing[:, a][None, :])
        terms[:, a] = 0.0  # the campaign's own effect is the treatment, not the baseline
        log_none_other[members] = terms.sum(axis=1)
    none_control = np.where(certain, 0.0, np.exp(-expected + log_none_other))
    own = q * landing[cols, cols]
    return 1 - none_control * (1 - own), 1 - none_control
