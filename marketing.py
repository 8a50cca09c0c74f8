"""Marketing campaigns and their engagements: ``marketing_campaigns.csv`` and ``engagements.csv``.

Reads demographics and consumer preferences from ``--data-dir``, then:

1. **Campaigns**: simulates a seed of campaigns (channel, objective, segment, creative, dates, media
   weight, discount), fits the synthesizer and books ``--campaigns`` of them (default
   ``constants.CAMPAIGNS_PER_YEAR`` a year) by a plan of channels and segments, more in the fourth
   quarter. A campaign's budget is its media plan (:data:`MEDIA`): the audience it can reach
   (segment, opt-ins) x reach x frequency x the channel's unit cost (CPM, cost per click, per email,
   per SMS, per mail piece), times the campaign's weight. Awareness campaigns carry no discount.
2. **Targeting** (a rule, :func:`target`): email and SMS go to every opted-in member of the segment,
   direct mail to a mailing list of it, paid media (search, display, social) and TV reach a share of
   it. The bias knob leaves a protected group out.
3. **Funnels**: simulates, for a sample of seed customers, each targeted pair's events as the channel
   works (:func:`simulate_funnels`): email sends are delivered, opened and clicked; SMS delivered and
   clicked; search, display and social impressions clicked at their channel's rate; TV only exposes;
   a mail piece is answered with a code (a conversion, sometimes after a visit to its URL). Rates
   follow the channel's published benchmarks (``data/benchmarks/marketing.csv``) and the customer
   (preferred channel, age, loyalty, price sensitivity x discount, house list or prospect, churned).
   The synthesizer learns these per-pair summaries; every real pair gets one of its stratum.
4. **Events**: expands the summaries into one row per event (structural rules, :func:`expand_events`):
   emails go out at the send hour, opens follow over hours and days, ads are served along the
   day's online rhythm, TV in prime time, mail is delivered and answered in store hours; the
   funnel's order holds by construction. Timestamps are the customer's local time.

Usage::

    python marketing.py --data-dir data --seed 42 --campaigns 60
    python marketing.py --data-dir data --seed-data my_engagements.csv --seed-campaigns my_campaigns.csv
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

import constants
from utils.chain import calendar, lifecycle, partitioned, partitions, purchases, stage
from utils.chain.bias import Bias, add_bias_arguments, parse_bias
from utils.chain.config import ChainConfig
from utils.chain.partitions import Partition
from utils.chain.segments import segment_mask
from utils.core import cluster, schema, seeding
from utils.core.cli import UserError, run_main
from utils.core.schema import CHANNELS, CREATIVES, DEVICES, EVENT_TYPES, OBJECTIVES, SEGMENTS

log = logging.getLogger("marketing")

CAMPAIGNS = schema.CAMPAIGNS
ENGAGEMENTS = schema.ENGAGEMENTS
CAMPAIGN_COLUMNS = schema.TABLES[CAMPAIGNS].column_names
EVENT_COLUMNS = schema.TABLES[ENGAGEMENTS].column_names
SEGMENT_WEIGHTS = (0.4, 0.12, 0.12, 0.12, 0.12, 0.12)
CHANNEL_WEIGHTS = (0.3, 0.14, 0.14, 0.12, 0.1, 0.1, 0.1)  # in CHANNELS order: email, social, search, ...
# Campaign starts by month (January first): more in the fourth quarter, as retail plans are.
START_MONTH_WEIGHTS = np.array([0.07, 0.07, 0.08, 0.08, 0.08, 0.07, 0.07, 0.08, 0.08, 0.09, 0.11, 0.12])
OBJECTIVE_MIX = {  # objective shares by channel, in OBJECTIVES order (awareness, acquisition, ...)
    "email": (0.0, 0.0, 0.5, 0.5),
    "sms": (0.0, 0.0, 0.6, 0.4),
    "search": (0.0, 0.4, 0.6, 0.0),
    "display": (0.4, 0.3, 0.3, 0.0),
    "social": (0.3, 0.3, 0.3, 0.1),
    "tv": (0.7, 0.3, 0.0, 0.0),
    "direct_mail": (0.0, 0.4, 0.3, 0.3),
}
# Which segments a channel's campaigns target: owned channels (email, SMS, mail) address the customer
# file by behaviour (everyone, value seekers, loyal customers); bought media buy audiences by age.
BEHAVIOURAL_SEGMENTS = ("all_adults", "value_seekers", "loyal_customers")
AGE_SEGMENTS = ("all_adults", "young_adults", "middle_aged", "seniors")
CHANNEL_SEGMENTS = {
    channel: BEHAVIOURAL_SEGMENTS if channel in ("email", "sms", "direct_mail") else AGE_SEGMENTS
    for channel in CHANNELS
}
DURATION_DAYS = {  # campaign length range by channel (inclusive)
    "email": (5, 14),
    "sms": (3, 7),
    "direct_mail": (21, 45),
    "search": (14, 60),
    "display": (14, 45),
    "social": (14, 45),
    "tv": (14, 42),
}
MIN_DURATION, MAX_DURATION = 3, 90


@dataclass(frozen=True)
class Media:
    """How a channel is bought and how people respond to it.

    ``reach``: share of the eligible segment a campaign reaches; ``frequency``: impressions per
    reached customer per 30 days (paid media, TV) or sends per campaign (email, SMS, mail);
    ``unit_cost``: cost of one impression (CPM / 1000; for search the cost per click x CTR);
    ``ctr``: clicks per impression (email: per open; SMS: per delivered; mail: URL visits per
    answer). What campaigns cause is ``utils.chain.purchases.incremental_probability``.
    """

    reach: float
    frequency: float
    unit_cost: float
    ctr: float
    paid: bool  # frequency grows with the flight's length


# Calibrated on the published figures of data/benchmarks/marketing.csv (search CTR 1.7-6.6 %, CPC
# $1.2-5.4; display CTR 0.35-0.46 %, CPM $2-5; social CTR 0.9-2.5 %, CPM $6-11; TV CPM $20-37, reach
# 51-80 %, 3+ exposures; email open 12-23 %, click-to-open 6-14 %; SMS click 6-15 %; mail response
# 9 % house / 4.9 % prospect). Email, SMS and mail unit costs (ESP sends, messages, print and
# postage) are not benchmarks: they only set those campaigns' budgets.
MEDIA = {
    "email": Media(reach=1.0, frequency=1, unit_cost=0.004, ctr=0.13, paid=False),
    "sms": Media(reach=1.0, frequency=1, unit_cost=0.012, ctr=0.085, paid=False),
    "direct_mail": Media(reach=0.5, frequency=1, unit_cost=0.65, ctr=0.35, paid=False),
    "search": Media(reach=0.18, frequency=3, unit_cost=2.6 * 0.035, ctr=0.035, paid=True),
    "display": Media(reach=0.45, frequency=6, unit_cost=3.5 / 1000, ctr=0.0045, paid=True),
    "social": Media(reach=0.4, frequency=4, unit_cost=12.0 / 1000, ctr=0.011, paid=True),
    "tv": Media(reach=0.65, frequency=4.5, unit_cost=28.0 / 1000, ctr=0.0, paid=True),
}
EMAIL_OPEN_RATE = 0.21  # opens per delivered email
EMAIL_RESEND_INDEX = 0.3  # a campaign weight (log) above this sends a reminder 3 days later
FREQUENCY_CAP = 40  # impressions of one campaign per customer
CTR_AGE_SLOPE = -0.3
SEND_HOUR = {"email": 10, "sms": 12}
RESEND_AFTER_DAYS = 3
# Device of a digital event: the customer's preferred device with this probability, else the
# channel's mix (mobile, desktop, tablet): Salesforce Shopping Index mobile 60-78 % of traffic.
PREFERRED_DEVICE_SHARE = 0.5
DEVICE_MIX = {
    "email": (0.6, 0.33, 0.07),
    "search": (0.62, 0.31, 0.07),
    "display": (0.68, 0.25, 0.07),
    "social": (0.85, 0.1, 0.05),
    "sms": (1.0, 0.0, 0.0),
    "direct_mail": (0.6, 0.33, 0.07),
}
CROSS_DEVICE_ORDER_SHARE = 0.25  # orders finished on a desktop after a click elsewhere
PAIR_STRATA = ("bias_group", "channel", "weight_band", "propensity_band", "gender", "age_group")
FUNNEL = ("n_impressions", "n_opens", "n_clicks")
TIMING = ("window_position", "open_delay_h", "click_delay_h")
# A mail piece's caused purchase carries its code this often.
MAIL_CODE_SHARE = 0.9
# A mail recipient who buys during the flight anyway uses the piece's code this often (the
# over-crediting of response rates: Datamann, 60-70 % of catalog sales come in anyway).
MAIL_BASELINE_REDEMPTION = 0.25
PROPENSITY_BANDS = 4
LOG_OFFSET = 1e-4  # the synthesizer sees log(value + offset) of the skewed pair columns
CAMPAIGN_POOL_FACTOR = 5  # synthetic campaigns sampled per campaign booked, so every quota fills
CAMPAIGN_NUMERIC = ("start_day", "duration_days", "weight", "discount_pct")
THEMES = (  # campaign themes by start month, as a retail calendar names them
    "New Year", "Winter Clearance", "Spring Preview", "Spring Sale", "Mother's Day", "Summer Kickoff",
    "Summer Sale", "Back to School", "Fall Refresh", "Fall Sale", "Black Friday", "Holiday Gifts",
)  # fmt: skip
OBJECTIVE_NAMES = {
    "awareness": "Brand",
    "acquisition": "New Customer",
    "conversion": "Offer",
    "retention": "Loyalty",
}


# --- Campaigns ---------------------------------------------------------------------------------------


def plan(count: int, weights: Sequence[float], names: Sequence[str]) -> np.ndarray:
    """``count`` labels in the shares ``weights`` by largest remainder (a booking plan, not a draw).

    Drawn at random, 40 campaigns once gave the middle-aged seven segment campaigns and the young one.
    """
    exact = np.asarray(weights) * count
    counts = np.floor(exact).astype(int)
    remainder_order = np.argsort(-(exact - counts), kind="stable")
    counts[remainder_order[: count - counts.sum()]] += 1
    return np.repeat(np.array(names, dtype=object), counts)


def simulate_campaigns(count: int, days: int, rng: np.random.Generator) -> pd.DataFrame:
    """Seed campaigns from rules, as the synthesizer sees them (channel, dates as days, weight)."""
    channel = rng.choice(CHANNELS, count, p=CHANNEL_WEIGHTS)
    mix = np.array([OBJECTIVE_MIX[c] for c in channel])
    objective = np.array(OBJECTIVES, dtype=object)[(mix.cumsum(1) > rng.random((count, 1))).argmax(1)]
    video = np.isin(channel, ("tv", "social", "display"))
    creative = np.where(
        video & (rng.random(count) < 0.6), "video", rng.choice(CREATIVES[1:], count, p=(0.4, 0.25, 0.2, 0.15))
    )
    creative = np.where(channel == "tv", "video", creative)
    low = np.array([DURATION_DAYS[c][0] for c in channel])
    high = np.array([DURATION_DAYS[c][1] for c in channel])
    duration = low + np.floor(rng.random(count) * (high - low + 1)).astype(int)
    month_of_year = rng.choice(12, count, p=START_MONTH_WEIGHTS / START_MONTH_WEIGHTS.sum())
    years = max(1, round(days / 365.25))
    start = rng.integers(0, years, count) * 365.25 + month_of_year * 30.44 + rng.random(count) * 30.44
    start = np.minimum(start.astype(int), np.maximum(days - duration, 0))
    discount = np.where(objective == "conversion", rng.uniform(0.1, 0.4, count), rng.uniform(0, 0.2, count))
    return pd.DataFrame(
        {
            "channel": channel,
            "objective": objective,
            "target_segment": [_draw_segment(rng, c) for c in channel],
            "creative_type": creative,
            "start_day": start,
            "duration_days": duration,
            "weight": rng.normal(0, 0.35, count),
            "discount_pct": np.where(objective == "awareness", 0.0, discount),
        }
    )


def _segment_weights(channel: str) -> np.ndarray:
    weights = pd.Series(SEGMENT_WEIGHTS, index=SEGMENTS)[list(CHANNEL_SEGMENTS[channel])].to_numpy()
    return weights / weights.sum()


def _draw_segment(rng: np.random.Generator, channel: str) -> str:
    return str(rng.choice(CHANNEL_SEGMENTS[channel], p=_segment_weights(channel)))


def book_segments(channels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The target segment of each booked campaign: per channel, its segments in their weights' shares
    (largest remainder), in random order."""
    segments = np.empty(len(channels), dtype=object)
    for channel in CHANNELS:
        chosen = np.flatnonzero(channels == channel)
        labels = plan(chosen.size, _segment_weights(channel), CHANNEL_SEGMENTS[channel])
        segments[chosen] = rng.permutation(labels)
    return segments


def plan_start_days(sampled_days: np.ndarray, config: ChainConfig, rng: np.random.Generator) -> np.ndarray:
    """Start days (from the period's start) of the booked campaigns: the months come from the plan
    (``START_MONTH_WEIGHTS`` over every month of the period, largest remainder, in random order), the
    day inside the month from the synthetic campaign. Drawn freely, 40 campaigns once put five in July
    and none in December, and the year's revenue followed them."""
    first = np.datetime64(config.start, "D")
    months = np.arange(
        first.astype("datetime64[M]"), np.datetime64(config.end, "D").astype("datetime64[M]") + 1
    )
    weights = START_MONTH_WEIGHTS[months.astype(np.int64) % 12]
    chosen = rng.permutation(plan(len(sampled_days), weights / weights.sum(), np.arange(len(months))))
    month_start = (months[chosen.astype(int)].astype("datetime64[D]") - first).astype(np.int64)
    offset = np.mod(np.round(sampled_days), 28)
    return np.maximum(month_start + offset, 0)


def eligible_counts(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers each (segment, channel) can reach: the segment, opted in for email and SMS."""
    out = {}
    for segment in SEGMENTS:
        member = segment_mask(customers, segment)
        out[segment] = {channel: int((member & _opted_in(customers, channel)).sum()) for channel in CHANNELS}
    return pd.DataFrame(out).T


def _opted_in(customers: pd.DataFrame, channel: str) -> np.ndarray:
    if channel in ("email", "sms"):
        return customers[f"{channel}_opt_in"].to_numpy(bool)
    return np.ones(len(customers), dtype=bool)


def media_plan(campaigns: pd.DataFrame, eligible: pd.DataFrame) -> pd.DataFrame:
    """Reach, frequency and budget of each campaign from its channel, length, segment and weight."""
    channel = campaigns["channel"].to_numpy()
    media = [MEDIA[c] for c in channel]
    weight = campaigns["weight"].to_numpy(float)
    duration = campaigns["duration_days"].to_numpy(float)
    paid = np.array([m.paid for m in media])
    base_reach = np.array([m.reach for m in media])
    reach = np.where(base_reach >= 1, 1.0, np.minimum(base_reach * np.exp(0.5 * weight), 0.95))
    frequency = np.array([m.frequency for m in media]) * np.where(paid, duration / 30, 1.0)
    frequency = np.where(paid, frequency * np.exp(0.5 * weight), frequency)
    frequency = np.where(channel == "email", 1 + (weight > EMAIL_RESEND_INDEX), frequency)
    frequency = np.clip(frequency, 1, FREQUENCY_CAP)
    audience = np.array(
        [eligible.loc[s, c] for s, c in zip(campaigns["target_segment"], channel, strict=True)], dtype=float
    )
    cost = np.array([m.unit_cost for m in media])
    return pd.DataFrame(
        {
            "reach": reach,
            "frequency": frequency,
            "budget": np.maximum(audience * reach * frequency * cost, 1.0),
        }
    )


def finish_campaigns(frame: pd.DataFrame, config: ChainConfig, eligible: pd.DataFrame) -> pd.DataFrame:
    """Number, name, date and budget synthetic campaigns; windows inside the period; no discount on
    awareness campaigns. Keeps the media plan columns (reach, frequency, weight) for targeting."""
    frame = frame.reset_index(drop=True)
    days = config.period_days
    # A channel's flights keep their channel's length (a mail response curve needs weeks, an SMS days).
    low = frame["channel"].map({c: r[0] for c, r in DURATION_DAYS.items()}).to_numpy()
    high = frame["channel"].map({c: r[1] for c, r in DURATION_DAYS.items()}).to_numpy()
    duration = pd.Series(np.clip(frame["duration_days"].round().to_numpy(), low, high), index=frame.index)
    duration = duration.clip(MIN_DURATION, min(MAX_DURATION, days)).astype(int)
    start = frame["start_day"].round().clip(0, None).astype(int).to_numpy()
    start = np.minimum(start, days - duration.to_numpy())
    day0 = np.datetime64(config.start, "D")
    first = day0 + start
    ids = stage.number_ids("C", len(frame), 4)
    out = pd.DataFrame({"campaign_id": ids})
    month_index = calendar.month(first)
    year = first.astype("datetime64[Y]").astype(int) + 1970
    theme = np.array(THEMES, dtype=object)[month_index]
    objective = frame["objective"].to_numpy()
    channel = frame["channel"].to_numpy()
    label = pd.Series(channel).str.replace("_", " ").str.title().replace({"Sms": "SMS", "Tv": "TV"})
    out["campaign_name"] = (
        pd.Series(theme) + " " + pd.Series(year.astype(str)) + " - "
        + pd.Series(objective).map(OBJECTIVE_NAMES) + " - " + label
    ).to_numpy()  # fmt: skip
    out["channel"] = channel
    out["objective"] = objective
    out["target_segment"] = frame["target_segment"].to_numpy()
    out["start_date"] = pd.to_datetime(first).date
    out["end_date"] = pd.to_datetime(first + duration.to_numpy() - 1).date
    frame = frame.assign(duration_days=duration)
    media = media_plan(frame, eligible)
    out["budget"] = media["budget"].round(2).to_numpy()
    discount = frame["discount_pct"].astype(float).clip(0, 0.5).round(2).to_numpy()
    out["discount_pct"] = np.where(objective == "awareness", 0.0, discount)
    out["creative_type"] = np.where(channel == "tv", "video", frame["creative_type"].to_numpy())
    plan_columns = pd.DataFrame(
        {"weight": frame["weight"].to_numpy(float), "reach": media["reach"], "frequency": media["frequency"]}
    )
    return pd.concat([out[list(CAMPAIGN_COLUMNS)], plan_columns], axis=1)


def campaign_model_table(
    campaigns: pd.DataFrame, config: ChainConfig, eligible: pd.DataFrame
) -> pd.DataFrame:
    """A (user's) campaigns table as the synthesizer sees it: start day, length and media weight
    (the log ratio of its budget to the budget its media plan would have at weight 0)."""
    start = pd.to_datetime(campaigns["start_date"])
    day0 = pd.Timestamp(config.start)
    duration = (pd.to_datetime(campaigns["end_date"]) - start).dt.days + 1
    frame = campaigns.assign(
        start_day=(start - day0).dt.days.clip(0, None), duration_days=duration, weight=0.0
    )
    typical = media_plan(frame, eligible)["budget"].to_numpy()
    weight = np.log(campaigns["budget"].astype(float).clip(1, None).to_numpy() / typical)
    return frame.assign(weight=weight)[
        ["channel", "objective", "target_segment", "creative_type", *CAMPAIGN_NUMERIC]
    ]


def generate_campaigns(
    config: ChainConfig, eligible: pd.DataFrame, models: dict | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(campaigns, seed)``: the booked synthetic campaigns (with their media plan columns) and the
    campaign seed the synthesizer was fitted on.

    The plan books channels and segments in fixed shares; each booking takes the pool campaign of its
    channel and segment at an evenly spaced quantile of the discount, so a few dozen campaigns follow
    the pool's discounts instead of a lucky draw.
    """
    rng = seeding.generator(config.seed, CAMPAIGNS)
    count = config.campaign_count
    if config.seed_campaigns is None:
        seed_model = simulate_campaigns(constants.CAMPAIGN_SEED_ROWS, config.period_days, rng)
    else:
        seed_model = campaign_model_table(config.seed_campaigns, config, eligible)
    kind = config.synthesizer
    categorical = ["channel", "objective", "target_segment", "creative_type"]
    model = stage.fit_model(
        seed_model,
        name=CAMPAIGNS,
        categorical=categorical,
        numerical=list(CAMPAIGN_NUMERIC),
        kind=kind,
        seed=seeding.child_seed(config.seed, CAMPAIGNS, purpose="synthesizer"),
        epochs=config.epochs,
        device=config.device,
        distribution=constants.CAMPAIGN_MARGINALS,
    )
    if models is not None:
        models[CAMPAIGNS] = model
    sampled = stage.sample_pool(
        model,
        count * CAMPAIGN_POOL_FACTOR,
        seed=seeding.child_seed(config.seed, CAMPAIGNS, purpose="synthesizer"),
        kind=kind,
        categorical=categorical,
        numerical=list(CAMPAIGN_NUMERIC),
    )
    channels = plan(count, CHANNEL_WEIGHTS, CHANNELS)
    booking = pd.DataFrame(
        {
            "channel": channels,
            "target_segment": book_segments(channels, rng),
            "discount_pct": rng.random(count),
        }
    )
    chosen = stage.match_rows(booking, sampled, ["channel", "target_segment"], rng, order="discount_pct")
    booked = sampled.iloc[chosen].reset_index(drop=True)
    booked["start_day"] = plan_start_days(booked["start_day"].to_numpy(float), config, rng)
    booked = booked.sort_values(["start_day", "channel"], kind="stable")
    seed_frame = finish_campaigns(seed_model, config, eligible)[list(CAMPAIGN_COLUMNS)]
    return finish_campaigns(booked, config, eligible), seed_frame


# --- Targeting and response rules ---------------------------------------------------------------------


def target(
    customers: pd.DataFrame, campaigns: pd.DataFrame, rng: np.random.Generator, bias: Bias
) -> tuple[np.ndarray, np.ndarray]:
    """Targeted (customer position, campaign position) pairs: segment, opt-in, reach and bias."""
    segments = {s: segment_mask(customers, s) for s in SEGMENTS}
    eligible = np.stack([segments[s] for s in campaigns["target_segment"]], axis=1)
    channel = campaigns["channel"].to_numpy()
    for name in ("email", "sms"):
        eligible[:, channel == name] &= _opted_in(customers, name)[:, None]
    reached = eligible & (rng.random(eligible.shape) < campaigns["reach"].to_numpy()[None, :])
    excluded = bias.members(customers) & (rng.random(len(customers)) < bias.strength)
    reached[excluded] = False
    return np.nonzero(reached)


def pair_features(
    customers: pd.DataFrame, campaigns: pd.DataFrame, rows: np.ndarray, cols: np.ndarray, bias: Bias
) -> pd.DataFrame:
    """Per treated pair: keys, stratum columns, the campaign's frequency and the response rates."""
    c = customers.iloc[rows].reset_index(drop=True)
    k = campaigns.iloc[cols].reset_index(drop=True)
    channel = k["channel"].to_numpy()
    ctr = pd.Series(channel).map({name: media.ctr for name, media in MEDIA.items()}).to_numpy(float)
    age = (c["age"].to_numpy(float) - 18) / 60
    preferred = np.where(c["preferred_channel"].to_numpy() == channel, purchases.PREFERRED_CHANNEL_LIFT, 1.0)
    interest = preferred * (1 + CTR_AGE_SLOPE * (age - 0.5))
    click = ctr * interest
    opens = np.where(channel == "email", EMAIL_OPEN_RATE * interest, 0.0)
    return pd.DataFrame(
        {
            "customer_id": c["customer_id"].to_numpy(),
            "campaign_id": k["campaign_id"].to_numpy(),
            "channel": channel,
            "age_group": c["age_group"].to_numpy(),
            "gender": c["gender"].to_numpy(),
            "bias_group": bias.members(c).astype(str),
            "weight_band": np.clip(np.round(np.log2(k["frequency"].to_numpy())), 0, 5)
            .astype(int)
            .astype(str),
            "frequency": k["frequency"].to_numpy(),
            "propensity": np.maximum(click, 1e-6) * np.maximum(opens, 1.0),
            "p_open": np.minimum(opens, 0.9),
            "p_click": np.minimum(click, 0.9),
        }
    )


def band(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Bands (as text) of ``values`` cut at ``edges``."""
    return np.searchsorted(edges, values.to_numpy(), side="right").astype(str)


def simulate_funnels(pairs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Seed funnels per treated pair by how each channel works: sends, opens, clicks and timing.

    Mail and TV have impressions only here: a mail piece's URL visit comes with its answer, which
    is a purchase (:func:`respond`)."""
    n = len(pairs)
    channel = pairs["channel"].to_numpy()
    frequency = pairs["frequency"].to_numpy()
    sends = np.isin(channel, ("email", "sms", "direct_mail"))
    extra = rng.poisson(np.maximum(frequency - 1, 0))
    impressions = np.where(sends, np.round(frequency), np.minimum(1 + extra, FREQUENCY_CAP)).astype(int)
    p_open, p_click = pairs["p_open"].to_numpy(), pairs["p_click"].to_numpy()
    email = channel == "email"
    opens = np.where(email, rng.binomial(impressions, p_open), 0)
    clicks = np.where(email, rng.binomial(opens, p_click), rng.binomial(impressions, p_click))
    clicks = np.where(np.isin(channel, ("tv", "direct_mail")), 0, clicks)
    return pairs.assign(
        n_impressions=impressions,
        n_opens=opens,
        n_clicks=clicks,
        window_position=rng.beta(1.2, 2.5, n),
        open_delay_h=rng.lognormal(np.log(3.5), 1.8, n),
        click_delay_h=rng.exponential(0.15, n),
    )


# --- Audience, groups and the truth ---------------------------------------------------------------------


def assign_groups(
    customers: pd.DataFrame,
    campaigns: pd.DataFrame,
    rows: np.ndarray,
    cols: np.ndarray,
    config: ChainConfig,
    partition: str = "",
) -> pd.DataFrame:
    """Each campaign's eligible audience (``rows``, ``cols``) in canonical order (campaign id, customer
    id) with its random group: control with probability ``config.holdout_share``, else treatment.

    Columns ``row``, ``col`` (positions), ``treated``. The draw has its own coordinates, so the groups
    depend only on the seed and the audience."""
    order = purchases.audience_order(
        customers["customer_id"].to_numpy()[rows], campaigns["campaign_id"].to_numpy()[cols]
    )
    rows, cols = rows[order], cols[order]
    rng = seeding.generator(config.seed, schema.AUDIENCE, partition=partition, purpose="groups")
    control = rng.random(rows.size) < config.holdout_share
    return pd.DataFrame({"row": rows, "col": cols, "treated": ~control})


def audience_table(
    audience: pd.DataFrame, customers: pd.DataFrame, campaigns: pd.DataFrame, prefix: str = "A"
) -> pd.DataFrame:
    """The released ``campaign_audience`` table: assigned at the start of the campaign's first day."""
    k = campaigns.iloc[audience["col"].to_numpy()]
    return pd.DataFrame(
        {
            "audience_id": stage.number_ids(prefix, len(audience), 9),
            "campaign_id": k["campaign_id"].to_numpy(),
            "customer_id": customers["customer_id"].to_numpy()[audience["row"].to_numpy()],
            "group": np.where(audience["treated"], "treatment", "control").astype(object),
            "assigned_at": pd.to_datetime(k["start_date"]).to_numpy("datetime64[s]"),
        }
    )


def truth_sums(
    audience: pd.DataFrame,
    effects: pd.DataFrame,
    revenue: np.ndarray,
    customers: pd.DataFrame,
    campaign_count: int,
    bias: Bias,
) -> pd.DataFrame:
    """A partition's share of the truth, per campaign position (rows ``0..campaign_count-1``) and in
    a last row for the bias knob's group: audience and treatment sizes, sums of the lift, of
    P(outcome | control) and of the treated pairs' expected incremental revenue. Sums add up over
    partitions (:func:`ground_truth` takes their total)."""
    lift = effects["p_outcome_treated"].to_numpy() - effects["p_outcome_control"].to_numpy()
    treated = audience["treated"].to_numpy()
    frame = pd.DataFrame(
        {
            "col": audience["col"].to_numpy(),
            "audience": 1.0,
            "treatment": treated.astype(float),
            "lift": lift,
            "p_control": effects["p_outcome_control"].to_numpy(),
            "revenue": np.where(treated, revenue, 0.0),
        }
    )
    sums = frame.groupby("col").sum().reindex(np.arange(campaign_count), fill_value=0.0)
    member = bias.members(customers.iloc[audience["row"].to_numpy()])
    knob = pd.DataFrame(
        {
            "audience": [float(member.sum()), float((~member).sum())],
            "lift": [float(lift[member].sum()), float(lift[~member].sum())],
        },
        index=["group", "others"],
    )
    return pd.concat([sums, knob]).fillna(0.0)


def ground_truth(sums: pd.DataFrame, campaigns: pd.DataFrame, config: ChainConfig) -> dict:
    """``ground_truth.json`` from the build's :func:`truth_sums`: per campaign the true lift of its
    released audience and the expected incremental revenue of its treatment group; the outcome's
    definition; the bias knob."""
    campaigns_truth = {}
    for col in range(len(campaigns)):
        row, campaign = sums.loc[col], campaigns.iloc[col]
        audience_size, treated = int(row["audience"]), int(row["treatment"])
        campaigns_truth[str(campaign["campaign_id"])] = {
            "channel": str(campaign["channel"]),
            "objective": str(campaign["objective"]),
            "audience": audience_size,
            "treatment": treated,
            "control": audience_size - treated,
            "true_lift": float(row["lift"] / audience_size) if audience_size else None,
            "baseline_rate": float(row["p_control"] / audience_size) if audience_size else None,
            "true_incremental_revenue": round(float(row["revenue"]), 2),
        }
    group, others = sums.loc["group"], sums.loc["others"]
    everyone = group["audience"] + others["audience"]
    return {
        "description": "per campaign: true_lift = mean over its released audience (campaign_audience) of "
        "P(outcome | treatment) - P(outcome | control), the probabilities of the process that generated "
        "the released rows (ground_truth/effects per customer); the outcome is at least one "
        "purchase (transactions) with timestamp in [start_date, end_date + outcome_window_days]; "
        "true_incremental_revenue = expected revenue of the purchases the campaign causes in its "
        "treatment group; baseline_rate = mean P(outcome | control)",
        "outcome_window_days": purchases.OUTCOME_WINDOW_DAYS,
        "holdout_share": config.holdout_share,
        "attribution_window_days": constants.ATTRIBUTION_WINDOW_DAYS,
        "files": {
            name: f"{schema.TRUTH_FOLDER}/{name}.csv, or {schema.TRUTH_FOLDER}/{name}/part-*.parquet"
            for name in (purchases.EFFECTS_FILE, purchases.ATTRIBUTION_FILE, lifecycle.TRUTH_FILE)
        },
        "campaigns": campaigns_truth,
        "bias": config.bias.describe()
        | {
            "true_lift_group": float(group["lift"] / group["audience"]) if group["audience"] else None,
            "true_lift_others": float(others["lift"] / others["audience"]) if others["audience"] else None,
            "audience_share_group": float(group["audience"] / everyone) if everyone else None,
        },
    }


# --- Events ----------------------------------------------------------------------------------------------


def _window_seconds(campaigns: pd.DataFrame, campaign_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    dates = campaigns.set_index("campaign_id")
    start = pd.to_datetime(campaign_ids.map(dates["start_date"])).to_numpy("datetime64[s]").astype(np.int64)
    end = pd.to_datetime(campaign_ids.map(dates["end_date"])).to_numpy("datetime64[s]").astype(np.int64)
    return start, end + 86_399


def _at_hour(day_seconds: np.ndarray, hours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The local time ``hours`` (plus a random second of that hour) on the day of ``day_seconds``."""
    day = day_seconds - day_seconds % 86_400
    return day + hours * 3600 + rng.integers(0, 3600, len(day))


def _devices(channel: np.ndarray, preferred: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Device of digital events: the preferred one half the time, else the channel's mix."""
    mix = np.array([DEVICE_MIX.get(c, DEVICE_MIX["email"]) for c in channel])
    drawn = np.array(DEVICES, dtype=object)[(mix.cumsum(1) > rng.random((len(channel), 1))).argmax(1)]
    keep = (rng.random(len(channel)) < PREFERRED_DEVICE_SHARE) & (channel != "sms")
    return np.where(keep, preferred, drawn)


def expand_events(
    pairs: pd.DataFrame,
    campaigns: pd.DataFrame,
    devices: pd.Series,
    rng: np.random.Generator,
    prefix: str = "E",
) -> pd.DataFrame:
    """One row per impression, open and click from per-pair funnel summaries (vectorised), sorted by
    time, ids assigned; ``pair`` is the row of ``pairs`` each event belongs to.

    Structural rules: sends at the channel's send hour (a reminder ``RESEND_AFTER_DAYS`` later);
    opens ``open_delay_h`` after the send they open; paid impressions on days from the first one to
    the window's end at the online hour profile, TV at the TV hour profile; mail delivered in the
    first ``purchases.MAIL_DELIVERY_DAYS`` days; clicks follow what they click; nothing after the
    window's end. Conversions are purchases (:func:`respond`).
    """
    start, end = _window_seconds(campaigns, pairs["campaign_id"])
    channel = pairs["channel"].to_numpy()
    counts = {name: pairs[f"n_{name}s"].to_numpy(np.int64) for name in ("impression", "open", "click")}
    pair = np.repeat(np.arange(len(pairs)), counts["impression"])
    rank = np.arange(pair.size) - np.repeat(
        np.cumsum(counts["impression"]) - counts["impression"], counts["impression"]
    )
    kind_of = channel[pair]
    sends = np.isin(kind_of, ("email", "sms"))
    # Impressions.
    first_day = start + np.floor(pairs["window_position"].to_numpy() * (end - start) / 86_400) * 86_400
    send_time = _at_hour(start[pair] + rank * RESEND_AFTER_DAYS * 86_400,
                         np.where(kind_of == "sms", SEND_HOUR["sms"], SEND_HOUR["email"]), rng)  # fmt: skip
    spread_day = (
        first_day[pair] + np.floor(rng.random(pair.size) * (end[pair] - first_day[pair]) / 86_400) * 86_400
    )
    shown_day = np.where(rank == 0, first_day[pair], spread_day)
    online_hour = calendar.draw_hours(rng, calendar.HOUR_WEIGHTS["remote"], pair.size)
    tv_hour = calendar.draw_hours(rng, calendar.TV_HOUR_WEIGHTS, pair.size)
    paid_time = _at_hour(shown_day, np.where(kind_of == "tv", tv_hour, online_hour), rng)
    mail_time = _at_hour(
        start[pair] + rng.integers(0, purchases.MAIL_DELIVERY_DAYS, pair.size) * 86_400,
        rng.integers(10, 17, pair.size),
        rng,
    )
    shown = np.where(sends, send_time, np.where(kind_of == "direct_mail", mail_time, paid_time))
    # Opens: the first n_opens sends of a pair are opened, open_delay_h after the send.
    opened = rank < counts["open"][pair]
    open_pair, open_base = pair[opened], shown[opened]
    jitter = rng.lognormal(0, 0.5, open_pair.size)
    open_time = open_base + pairs["open_delay_h"].to_numpy()[open_pair] * 3600 * jitter
    # Clicks: on the first n_clicks opens (email) or impressions (others).
    open_rank = np.arange(open_pair.size) - np.repeat(
        np.cumsum(counts["open"]) - counts["open"], counts["open"]
    )
    click_from_open = open_rank < counts["click"][open_pair]
    other = (kind_of != "email") & (rank < counts["click"][pair])
    click_pair = np.concatenate([open_pair[click_from_open], pair[other]])
    click_base = np.concatenate([open_time[click_from_open], shown[other]])
    click_delay = (
        pairs["click_delay_h"].to_numpy()[click_pair] * 3600 * rng.uniform(0.2, 1.8, click_pair.size)
    )
    pair_of = np.concatenate([pair, open_pair, click_pair])
    stamp = np.concatenate([shown, open_time, click_base + click_delay])
    stamp = np.clip(np.floor(stamp), start[pair_of], end[pair_of]).astype(np.int64)
    kind = np.repeat([0, 1, 2], [pair.size, open_pair.size, click_pair.size])
    event_channel = channel[pair_of]
    device = _devices(event_channel, devices.to_numpy()[pair_of], rng)
    device = np.where(event_channel == "tv", "tv", device)
    device = np.where((event_channel == "direct_mail") & (kind != 2), "print", device)
    device = np.where((kind == 0) & (event_channel == "sms"), "mobile", device)
    events = pd.DataFrame(
        {
            "pair": pair_of,
            "customer_id": pairs["customer_id"].to_numpy()[pair_of],
            "campaign_id": pairs["campaign_id"].to_numpy()[pair_of],
            "timestamp": stamp,
            "event_type": np.array(EVENT_TYPES, dtype=object)[kind],
            "device": device.astype(object),
            "channel": event_channel,
        }
    )
    return finish_events(events, prefix)


def finish_events(events: pd.DataFrame, prefix: str = "E") -> pd.DataFrame:
    """Events sorted by time, customer, campaign and funnel step, with their ids ``{prefix}...``
    (timestamps as seconds or datetimes)."""
    stamp = pd.Series(events["timestamp"]).to_numpy()
    if np.issubdtype(stamp.dtype, np.datetime64):
        stamp = stamp.astype("datetime64[s]").astype(np.int64)
    step = pd.Categorical(events["event_type"], categories=EVENT_TYPES).codes
    order = np.lexsort((step, events["campaign_id"].to_numpy().astype(str),
                        events["customer_id"].to_numpy().astype(str), stamp))  # fmt: skip
    out = events.iloc[order].reset_index(drop=True)
    out["timestamp"] = stamp[order].astype("datetime64[s]")
    out.insert(0, "engagement_id", stage.number_ids(prefix, len(out), 9))
    return out


def _click_before(
    events: pd.DataFrame, stamp: np.ndarray, moved: pd.DataFrame, rng: np.random.Generator
) -> np.ndarray:
    """Timestamps (seconds) with, for each pair of ``moved`` (``pair``, purchase ``timestamp``), its last
    click 2-45 minutes before the purchase, its last email open (if later) minutes before that click
    and its first ad impression (if later) seconds before it."""
    stamp = stamp.copy()
    pair = events["pair"].to_numpy()
    kind = events["event_type"].to_numpy()
    purchase = pd.Series(moved["timestamp"].to_numpy(), index=moved["pair"].to_numpy())
    chosen = np.isin(pair, purchase.index.to_numpy())
    clicks = np.flatnonzero(chosen & (kind == "click"))
    last = pd.Series(clicks).groupby(pair[clicks]).max().to_numpy()
    stamp[last] = purchase.reindex(pair[last]).to_numpy() - rng.integers(120, 2700, last.size)
    click_at = pd.Series(stamp[last], index=pair[last])
    paid = np.isin(events["channel"].to_numpy(), ("search", "display", "social"))
    for step, which, gap, among in (("open", "max", (60, 600), True), ("impression", "min", (5, 120), paid)):
        rows = np.flatnonzero(chosen & (kind == step) & among)
        if rows.size == 0:
            continue
        picked = pd.Series(rows).groupby(pair[rows]).agg(which).to_numpy()
        limit = click_at.reindex(pair[picked]).to_numpy() - rng.integers(*gap, picked.size)
        late = stamp[picked] > limit
        stamp[picked[late]] = limit[late]
    return stamp


def respond(
    events: pd.DataFrame,
    pairs: pd.DataFrame,
    bought: pd.DataFrame,
    campaigns: pd.DataFrame,
    rng: np.random.Generator,
    prefix: str = "E",
) -> pd.DataFrame:
    """The events purchases make, given the treated pairs' funnel ``events`` and all purchases
    (``bought``: customer_id, timestamp in seconds, ``pair``: the treated pair that caused it or -1,
    ``remote``, ``through``: it follows a click of its campaign).

    - a purchase that follows a click (``purchases.CLICK_THROUGH`` of the digital ones; the others
      are view-through): the pair's last click (and email open, or first ad impression) is moved
      just before it (the pair was given a click when it had none, :func:`generate`);
    - a mail piece is answered with its code (a conversion, after a URL visit for some): by the
      purchase it caused (``MAIL_CODE_SHARE``) or by a purchase the customer made anyway during the
      flight (``MAIL_BASELINE_REDEMPTION`` each); one answer per piece;
    - every other remote purchase is credited to the customer's last click within the attribution
      window whose campaign is still running (each click once): a conversion event at the purchase,
      as an analytics tool records it. Baseline purchases after a click are credited too.
    """
    events = events.copy()
    stamp = events["timestamp"].to_numpy("datetime64[s]").astype(np.int64)
    channel_of_pair = pairs["channel"].to_numpy()
    moved = bought[(bought["pair"] >= 0) & bought["through"]]
    stamp = _click_before(events, stamp, moved, rng)
    events["timestamp"] = stamp
    # Mail answers: the caused purchase (with its code) or one made anyway during the flight.
    start, end = _window_seconds(campaigns, pairs["campaign_id"])
    mail_pairs = np.flatnonzero(channel_of_pair == "direct_mail")
    by_customer = pd.DataFrame(
        {"customer_id": pairs["customer_id"].to_numpy()[mail_pairs], "mail": mail_pairs}
    )
    candidates = bought.reset_index().merge(by_customer, on="customer_id")
    own = candidates["pair"].to_numpy() == candidates["mail"].to_numpy()
    when = candidates["timestamp"].to_numpy()
    mail = candidates["mail"].to_numpy()
    opens_at = start[mail] + purchases.MAIL_DELIVERY_DAYS * 86_400
    during = (when >= opens_at) & (when <= end[mail])
    chance = np.where(own, MAIL_CODE_SHARE, MAIL_BASELINE_REDEMPTION)
    answered = candidates[during & (rng.random(len(candidates)) < chance)]
    # One answer per piece, and a purchase answers one piece (the code of the campaign that caused it
    # first).
    answered = answered.assign(own=own[answered.index.to_numpy()])
    answered = answered.sort_values(["mail", "timestamp"], kind="stable").drop_duplicates("mail")
    answered = answered.sort_values(["own", "mail"], ascending=[False, True], kind="stable")
    answered = answered.drop_duplicates("index").sort_values("mail", kind="stable")
    answer_pair = answered["mail"].to_numpy()
    answer_time = answered["timestamp"].to_numpy()
    visit = rng.random(answer_pair.size) < MEDIA["direct_mail"].ctr
    visit_time = answer_time[visit] - rng.integers(300, 1800, int(visit.sum()))
    visit_device = _devices(
        np.full(int(visit.sum()), "direct_mail", dtype=object),
        pairs["preferred_device"].to_numpy()[answer_pair[visit]],
        rng,
    )
    # Last click: every remote purchase not answering a mail piece (a click is a visit to the site or
    # app: a purchase in store afterwards is not tracked to it).
    clicks = events[(events["event_type"] == "click") & (events["channel"] != "direct_mail")]
    clicks = clicks.assign(timestamp=stamp[clicks.index.to_numpy()]).sort_values("timestamp", kind="stable")
    open_purchases = bought.drop(index=answered["index"].to_numpy())
    open_purchases = open_purchases[open_purchases["remote"]].sort_values("timestamp", kind="stable")
    matched = pd.merge_asof(
        open_purchases[["customer_id", "timestamp"]].reset_index(),
        clicks[["customer_id", "timestamp", "pair", "device", "channel", "campaign_id"]].rename(
            columns={"timestamp": "click_time"}
        ),
        left_on="timestamp",
        right_on="click_time",
        by="customer_id",
        direction="backward",
        tolerance=constants.ATTRIBUTION_WINDOW_DAYS * 86_400,
    )
    matched = matched[matched["pair"].notna()]
    matched_pair = matched["pair"].to_numpy(np.int64)
    matched = matched[matched["timestamp"].to_numpy() <= end[matched_pair]]
    matched = matched.sort_values(["click_time", "timestamp"], kind="stable")
    matched = matched.drop_duplicates(["pair", "click_time"])
    cross = rng.random(len(matched)) < CROSS_DEVICE_ORDER_SHARE
    conversions = pd.DataFrame(
        {
            "pair": np.concatenate([answer_pair, matched["pair"].to_numpy(np.int64)]),
            "timestamp": np.concatenate([answer_time, matched["timestamp"].to_numpy()]),
            "event_type": "conversion",
            "device": np.concatenate(
                [
                    np.full(answer_pair.size, "print", dtype=object),
                    np.where(cross, "desktop", matched["device"].to_numpy(object)),
                ]
            ),
        }
    )
    visits = pd.DataFrame(
        {"pair": answer_pair[visit], "timestamp": visit_time, "event_type": "click", "device": visit_device}
    )
    added = pd.concat([visits, conversions], ignore_index=True)
    added_pair = added["pair"].to_numpy()
    added = added.assign(
        customer_id=pairs["customer_id"].to_numpy()[added_pair],
        campaign_id=pairs["campaign_id"].to_numpy()[added_pair],
        channel=channel_of_pair[added_pair],
    )
    columns = ["pair", "customer_id", "campaign_id", "timestamp", "event_type", "device", "channel"]
    return finish_events(pd.concat([events[columns], added[columns]], ignore_index=True), prefix)


def summarise_events(events: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """Per-pair funnel summaries of a (user's) engagements table: counts and timing."""
    events = events.assign(timestamp=pd.to_datetime(events["timestamp"]))
    keys = ["customer_id", "campaign_id"]
    counts = pd.crosstab([events["customer_id"], events["campaign_id"]], events["event_type"])
    counts = counts.reindex(columns=list(EVENT_TYPES), fill_value=0)
    first = (
        events.groupby([*keys, "event_type"])["timestamp"].min().unstack().reindex(columns=list(EVENT_TYPES))
    )
    out = pd.DataFrame({"channel": events.groupby(keys)["channel"].first()})
    out["n_impressions"] = counts["impression"].clip(lower=1)
    out["n_opens"] = np.minimum(counts["open"], out["n_impressions"])
    out["n_clicks"] = np.minimum(counts["click"], out["n_impressions"])
    window = events.groupby("campaign_id")["timestamp"].agg(["min", "max"])
    cid = out.index.get_level_values("campaign_id")
    low, high = window["min"].reindex(cid).to_numpy(), window["max"].reindex(cid).to_numpy()
    span = (high - low) / np.timedelta64(1, "s")
    shown = (first["impression"].to_numpy() - low) / np.timedelta64(1, "s")
    out["window_position"] = np.clip(np.nan_to_num(shown / np.maximum(span, 1)), 0, 1)
    hours = np.timedelta64(1, "h")
    out["open_delay_h"] = np.nan_to_num((first["open"] - first["impression"]).to_numpy() / hours).clip(0)
    out["click_delay_h"] = np.nan_to_num((first["click"] - first["impression"]).to_numpy() / hours).clip(0)
    return out.reset_index()


STAGE = "marketing"
PARENTS = (schema.DEMOGRAPHICS, schema.PREFERENCES)
SHARED: tuple[str, ...] = ()
PARTITIONED = (schema.AUDIENCE, ENGAGEMENTS)
FUNNEL_SKEWED = ("propensity", "open_delay_h", "click_delay_h")  # fitted as logarithms
FUNNEL_CATEGORICAL = [*PAIR_STRATA, *FUNNEL]
FUNNEL_NUMERICAL = ["propensity", *TIMING]


@dataclass
class Plan:
    """What every partition task needs: the campaigns (with their media plan), the propensity band
    edges of the seed and the fitted funnel synthesizer."""

    campaigns: pd.DataFrame
    edges: np.ndarray
    funnels: object


# --- The stage -----------------------------------------------------------------------------------------


def survey(
    parents: Mapping[str, pd.DataFrame], shared: Mapping, config: ChainConfig, partition: Partition
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A partition's reachable customers by segment and channel (for the budgets), and its customers
    of the funnel seed sample (and those the user's seed table names)."""
    customers = purchases.customer_table(parents[schema.DEMOGRAPHICS], parents[schema.PREFERENCES])
    wanted = config.seed_customers * constants.CHAIN_FUNNEL_SEED_FACTOR
    ids = customers["customer_id"]
    chosen = partitions.seed_mask(
        ids, seed=config.seed, purpose=ENGAGEMENTS, rate=partitions.seed_rate(wanted, partition)
    )
    if config.seed_data is not None:
        chosen |= ids.isin(config.seed_data["customer_id"]).to_numpy()
    return eligible_counts(customers), customers[chosen]


def _seed_events(item: tuple) -> pd.DataFrame:
    """The seed funnels' events (a task of :func:`fit`)."""
    exposed, campaigns, devices, rng = item
    return expand_events(exposed, campaigns, devices, rng).drop(columns="pair")


def fit(
    surveys: Sequence[tuple[pd.DataFrame, pd.DataFrame]], shared: Mapping, config: ChainConfig
) -> partitioned.Fitted:
    """The campaigns (budgets from the reachable customers of every partition), the seed funnels of
    the seed customers (or the user's engagements), and the funnel synthesizer fitted on them.

    ``config.seed_data`` (an engagements table whose customers are in the demographics) replaces the
    simulated funnels; ``config.seed_campaigns`` replaces the simulated campaigns."""
    eligible = sum((counts for counts, _ in surveys[1:]), surveys[0][0].copy())
    customers = pd.concat([sample for _, sample in surveys], ignore_index=True)
    models: dict = {}
    campaigns, campaign_seed = generate_campaigns(config, eligible, models)
    rng = seeding.generator(config.seed, ENGAGEMENTS, purpose="seed")
    bias = config.bias
    if config.seed_data is None:
        rows, cols = target(customers, campaigns, rng, bias)
        exposed = simulate_funnels(pair_features(customers, campaigns, rows, cols, bias), rng)
        devices = exposed["customer_id"].map(customers.set_index("customer_id")["preferred_device"])
        # The seed's events are written, not fitted on: on a Dask engine they are expanded on a
        # worker while the funnel synthesizer is fitted here.
        seed_events = cluster.submit(
            _seed_events, (exposed, campaigns, devices, rng), name="seed", stage=f"{STAGE} (seed events)"
        )
    else:
        exposed = _user_funnels(config.seed_data, customers, campaigns, bias)
        seed_events = config.seed_data
    log.info(
        "%d campaigns; %s seed funnels; fitting the funnel synthesizer", len(campaigns), f"{len(exposed):,}"
    )
    edges = np.quantile(exposed["propensity"], np.linspace(0, 1, PROPENSITY_BANDS + 1)[1:-1])
    exposed["propensity_band"] = band(exposed["propensity"], edges)
    # Delays and propensity are right-skewed: the copula fits their logarithms with truncated-normal
    # marginals (beta fits on 200,000 pairs took 30 s and follow a log-normal delay no better).
    table = exposed.assign(**{column: exposed[column].astype(int).astype(str) for column in FUNNEL})
    table = table.assign(
        **{column: np.log(table[column].astype(float) + LOG_OFFSET) for column in FUNNEL_SKEWED}
    )
    models[ENGAGEMENTS] = stage.fit_model(
        table,
        name=ENGAGEMENTS,
        categorical=FUNNEL_CATEGORICAL,
        numerical=FUNNEL_NUMERICAL,
        kind=config.synthesizer,
        seed=seeding.child_seed(config.seed, ENGAGEMENTS, purpose="synthesizer"),
        epochs=config.epochs,
        device=config.device,
        fit_rows=constants.CHAIN_FUNNEL_FIT_ROWS,
        distribution=constants.CHAIN_MARGINALS,
    )
    return partitioned.Fitted(
        models=models,
        seeds={CAMPAIGNS: campaign_seed, ENGAGEMENTS: seed_events},
        tables={CAMPAIGNS: campaigns[list(CAMPAIGN_COLUMNS)]},
        state=Plan(campaigns, edges, models[ENGAGEMENTS]),
    )


def make(
    fitted: partitioned.Fitted,
    parents: Mapping[str, pd.DataFrame],
    shared: Mapping,
    config: ChainConfig,
    partition: Partition,
) -> partitioned.Part:
    """One partition's audiences and groups, funnels, purchases, engagement events and truth."""
    plan, seed, bias, label = fitted.state, config.seed, config.bias, partition.label
    campaigns = plan.campaigns
    customers = purchases.customer_table(parents[schema.DEMOGRAPHICS], parents[schema.PREFERENCES])
    life = lifecycle.simulate(customers, seed=seed, start=config.start, end=config.end, partition=label)
    period = purchases.Period.of(config.start, config.end)
    rng = seeding.generator(seed, ENGAGEMENTS, partition=label)
    rows, cols = target(customers, campaigns, rng, bias)
    audience = assign_groups(customers, campaigns, rows, cols, config, partition=label)
    q = purchases.incremental_probability(
        customers, campaigns, life, audience["row"].to_numpy(), audience["col"].to_numpy(), bias, period
    )
    treated = audience[audience["treated"]].reset_index(drop=True)
    real = pair_features(customers, campaigns, treated["row"].to_numpy(), treated["col"].to_numpy(), bias)
    real["propensity_band"] = band(real["propensity"], plan.edges)
    pool = stage.sample_pool(
        plan.funnels,
        max(1, min(len(real), constants.CHAIN_POOL_ROWS)),
        seed=seeding.child_seed(seed, ENGAGEMENTS, partition=label, purpose="pool"),
        kind=config.synthesizer,
        categorical=FUNNEL_CATEGORICAL,
        numerical=FUNNEL_NUMERICAL,
    )
    pool = pool.assign(**{column: np.exp(pool[column]) - LOG_OFFSET for column in FUNNEL_SKEWED})
    chosen = stage.match_rows(real, pool, PAIR_STRATA, rng, order="propensity")
    summary = repair_funnels(pool.iloc[chosen].reset_index(drop=True), real["channel"].to_numpy())
    pairs = pd.concat([real[["customer_id", "campaign_id", "channel"]], summary], axis=1)
    pairs["preferred_device"] = pairs["customer_id"].map(
        customers.set_index("customer_id")["preferred_device"]
    )

    # Purchases: organic ones and those the campaigns cause (the same draws transaction.py makes).
    organic = purchases.organic(life, period, seed, partition=label)
    caused = purchases.caused(
        treated, q[audience["treated"].to_numpy()], campaigns, life, period, seed, partition=label
    )
    caused_pair = caused["pair"].to_numpy()
    bought = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[
                np.concatenate([organic["row"], caused["row"]])
            ],
            "timestamp": np.concatenate([organic["timestamp"], caused["timestamp"]]),
            "pair": np.concatenate([np.full(len(organic), -1), caused_pair]),
            "remote": np.concatenate([organic["remote"], caused["remote"]]),
            "through": np.concatenate([np.zeros(len(organic), dtype=bool), caused["through"]]),
        }
    )
    # A caused purchase that follows a click needs a click (and an email open) to follow.
    needs = np.zeros(len(pairs), dtype=bool)
    needs[caused_pair[caused["through"].to_numpy()]] = True
    pairs.loc[needs, "n_clicks"] = pairs.loc[needs, "n_clicks"].clip(lower=1)
    email = needs & (pairs["channel"] == "email").to_numpy()
    pairs.loc[email, "n_opens"] = pairs.loc[email, "n_opens"].clip(lower=1)
    events = expand_events(
        pairs, campaigns, pairs["preferred_device"], rng, stage.part_prefix("E", partition)
    )
    events = respond(events, pairs, bought, campaigns, rng, stage.part_prefix("E", partition)).drop(
        columns="pair"
    )

    p_treated, p_control = purchases.outcome_probabilities(audience, q, campaigns, life, period)
    released = audience_table(audience, customers, campaigns, stage.part_prefix("A", partition))
    effects = pd.DataFrame(
        {
            "campaign_id": released["campaign_id"],
            "customer_id": released["customer_id"],
            "p_outcome_treated": p_treated,
            "p_outcome_control": p_control,
        }
    )
    revenue = expected_revenue(audience, q, customers, campaigns, life)
    sums = truth_sums(audience, effects, revenue, customers, len(campaigns), bias)
    return partitioned.Part(
        {schema.AUDIENCE: released, ENGAGEMENTS: events}, {purchases.EFFECTS_FILE: effects}, sums
    )


def conclude(fitted: partitioned.Fitted, summaries: Sequence[pd.DataFrame], config: ChainConfig) -> dict:
    """``ground_truth.json`` from every partition's sums."""
    total = summaries[0].copy()
    for sums in summaries[1:]:
        total += sums
    return ground_truth(total, fitted.state.campaigns, config)


def generate(parents: Mapping[str, pd.DataFrame], config: ChainConfig) -> stage.StageResult:
    """Campaigns, their audiences and groups, engagements, their seeds, models and the ground truth,
    partition by partition (:mod:`utils.chain.partitioned`)."""
    return partitioned.generate(sys.modules[__name__], parents, config)


def expected_revenue(
    audience: pd.DataFrame,
    q: np.ndarray,
    customers: pd.DataFrame,
    campaigns: pd.DataFrame,
    life: pd.DataFrame,
) -> np.ndarray:
    """Expected revenue each audience pair's campaign causes if treated: ``q`` x the expected order
    value (remote for digital channels, by the customer's mix for TV and mail), less the discount
    on the purchases that follow a click (they are credited to the campaign, which pays it)."""
    rows, cols = audience["row"].to_numpy(), audience["col"].to_numpy()
    channel = campaigns["channel"].to_numpy()[cols]
    digital = ~np.isin(channel, ("tv", "direct_mail"))
    remote = np.where(digital, 1.0, life["remote_share"].to_numpy()[rows])
    value = purchases.expected_order_value(customers.iloc[rows], remote)
    credited = pd.Series(channel).map(purchases.CLICK_THROUGH).fillna(0).to_numpy()
    credited = np.where(channel == "direct_mail", MAIL_CODE_SHARE, credited)
    discount = campaigns["discount_pct"].to_numpy(float)[cols]
    return q * value * (1 - credited * discount)


def repair_funnels(summary: pd.DataFrame, channel: np.ndarray) -> pd.DataFrame:
    """Integer counts in the funnel's order for each pair's channel; timing >= 0 (structural rules)."""

    def count(column: str, low: int = 0) -> pd.Series:
        codes, uniques = pd.factorize(summary[column])  # a few distinct counts: parse those once
        numbers = pd.to_numeric(pd.Series(uniques), errors="coerce").to_numpy(float)
        values = np.where(codes >= 0, numbers[np.maximum(codes, 0)], np.nan)
        return pd.Series(values, index=summary.index).fillna(low).round().clip(low, None).astype(int)

    impressions = np.minimum(count("n_impressions", 1), FREQUENCY_CAP)
    email = channel == "email"
    opens = np.where(email, np.minimum(count("n_opens"), impressions), 0)
    clicks = np.minimum(count("n_clicks"), np.where(email, opens, impressions))
    no_clicks = np.isin(channel, (*schema.IMPRESSION_ONLY_CHANNELS, *schema.CODE_RESPONSE_CHANNELS))
    return pd.DataFrame(
        {
            "n_impressions": impressions,
            "n_opens": opens,
            "n_clicks": np.where(no_clicks, 0, clicks),
            "window_position": summary["window_position"].clip(0, 1),
            "open_delay_h": summary["open_delay_h"].clip(0, 24 * 14),
            "click_delay_h": summary["click_delay_h"].clip(0, 24),
        }
    )


def _user_funnels(
    events: pd.DataFrame, customers: pd.DataFrame, campaigns: pd.DataFrame, bias: Bias
) -> pd.DataFrame:
    """A user's engagements as per-pair funnels with the stratum columns (their customers must resolve)."""
    summary = summarise_events(events, campaigns)
    summary = summary[summary["customer_id"].isin(customers["customer_id"])]
    if summary.empty:
        raise UserError("--seed-data: no engagement's customer_id is among the customers in --data-dir")
    position = pd.Series(np.arange(len(customers)), index=customers["customer_id"])
    rows = position.loc[summary["customer_id"]].to_numpy()
    known = summary["campaign_id"].isin(campaigns["campaign_id"])
    # Response features need a campaign: a pair of an unknown campaign borrows one of its channel.
    stand_in = campaigns.drop_duplicates("channel").set_index("channel")
    fallback = summary["channel"].map(stand_in["campaign_id"]).fillna(campaigns["campaign_id"].iloc[0])
    campaign_ids = summary["campaign_id"].where(known, fallback)
    cols = pd.Series(np.arange(len(campaigns)), index=campaigns["campaign_id"]).loc[campaign_ids].to_numpy()
    features = pair_features(customers, campaigns, rows, cols, bias).drop(columns=["channel"])
    funnel = summary.drop(columns=["customer_id", "campaign_id"]).reset_index(drop=True)
    return pd.concat([features, funnel], axis=1)


def main(argv: Sequence[str] | None = None) -> int:
    """``python marketing.py --help``."""
    parser = stage.stage_parser(
        __doc__.split("\n\n")[0], "a real engagements table to fit the funnels on (customers in --data-dir)"
    )
    parser.add_argument(
        "--seed-campaigns", default=None, metavar="PATH", help="a real campaigns table to fit on"
    )
    stage.add_campaigns_argument(parser)
    stage.add_holdout_argument(parser)
    add_bias_arguments(parser)
    args = stage.parse_stage_args(parser, argv)
    bias = parse_bias(args.bias_group, args.bias_strength)
    seed_data = seed_campaigns = None
    if args.seed_data:
        required = ["customer_id", "campaign_id", "timestamp", "event_type", "channel"]
        seed_data = stage.read_seed_data(args.seed_data, required, ENGAGEMENTS)
    if args.seed_campaigns:
        seed_campaigns = stage.read_seed_data(args.seed_campaigns, CAMPAIGN_COLUMNS[2:], CAMPAIGNS)
    config = stage.config_from_args(
        args,
        seed_data=seed_data,
        seed_campaigns=seed_campaigns,
        bias=bias,
        campaigns=args.campaigns,
        holdout_share=args.holdout_share,
    )
    stage.run_stage(
        generate,
        parents=PARENTS,
        data_dir=args.data_dir,
        out_dir=args.out_dir or args.data_dir,
        fmt=args.format,
        config=config,
    )
    return 0


if __name__ == "__main__":
    run_main(main)
