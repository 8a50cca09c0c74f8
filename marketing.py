"""Marketing campaigns and their engagements: ``marketing_campaigns.csv`` and ``engagements.csv``.

Reads demographics and consumer preferences from ``--data-dir``, then:

1. **Campaigns**: simulates a seed of campaigns (channel, objective, segment, creative, dates, budget,
   discount with plausible links), fits the synthesizer, samples ``customers // CUSTOMERS_PER_CAMPAIGN``
   campaigns, numbers them and enforces ``start_date <= end_date`` inside the year.
2. **Targeting** (a rule, :func:`target`): each campaign reaches a budget-driven share of its
   segment (email and SMS only opted-in customers). The bias knob leaves a protected group out.
3. **Funnels**: simulates, for a sample of seed customers, each targeted pair's impressions, clicks
   and conversions (rates depend on channel, channel preference, age, loyalty, price sensitivity
   and discount), with a holdout that gives each campaign's true incremental lift
   (``ground_truth.json``); fits the synthesizer on these per-pair funnel summaries, and gives every
   real targeted pair a synthetic summary of its stratum (bias group, response propensity band,
   channel, gender, age group).
4. **Events**: expands the summaries into one row per event with numpy (clicks follow impressions,
   conversions follow clicks, all inside the campaign window).

Usage::

    python marketing.py --data-dir data --seed 42
    python marketing.py --data-dir data --seed-data my_engagements.csv --seed-campaigns my_campaigns.csv
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

import constants
from utils.chain import stage
from utils.chain.bias import Bias, add_bias_arguments, parse_bias
from utils.chain.config import ChainConfig
from utils.core import schema, seeding
from utils.core.cli import UserError, run_main
from utils.core.schema import CHANNELS, CREATIVES, DEVICES, EVENT_TYPES, OBJECTIVES, SEGMENTS

log = logging.getLogger("marketing")

CAMPAIGNS = schema.CAMPAIGNS
ENGAGEMENTS = schema.ENGAGEMENTS
SEGMENT_WEIGHTS = (0.4, 0.12, 0.12, 0.12, 0.12, 0.12)
CAMPAIGN_COLUMNS = schema.TABLES[CAMPAIGNS].column_names
EVENT_COLUMNS = schema.TABLES[ENGAGEMENTS].column_names
# Mean extra impressions per targeted pair (each pair sees 1 + Poisson(mean), at most MAX_IMPRESSIONS).
EXTRA_IMPRESSIONS = {
    "email": 1.0,
    "social": 2.0,
    "search": 1.2,
    "display": 2.2,
    "tv": 1.6,
    "direct_mail": 0.3,
}
EXTRA_IMPRESSIONS |= {"sms": 0.6}
MAX_IMPRESSIONS = 8
BASE_CTR = {"email": 0.06, "social": 0.05, "search": 0.09, "display": 0.03, "tv": 0.02, "direct_mail": 0.05}
BASE_CTR |= {"sms": 0.07}
BASE_CVR = {"awareness": 0.12, "acquisition": 0.2, "conversion": 0.3, "retention": 0.25}
# Age effects of the response model, mild on purpose: click-through falls by CTR_AGE_SLOPE over the
# 60 years from 18 to 78 (relative to mid-life), conversion per click rises with brand loyalty (which
# rises with age) by LOYALTY_EFFECT per unit of loyalty. Together they keep every age group's
# conversion rate within the four-fifths range of the others when no bias is injected.
PREFERRED_CHANNEL_LIFT = 2.0
CTR_AGE_SLOPE = -0.3
LOYALTY_EFFECT = 0.4
BASELINE_CONVERSION = 0.01  # an unexposed customer's chance to convert anyway (times 0.5 + loyalty)
PAIR_STRATA = ("bias_group", "propensity_band", "channel", "gender", "age_group")
FUNNEL = ("n_impressions", "n_clicks", "n_conversions")
TIMING = ("window_position", "click_delay_h", "conversion_delay_h")
PROPENSITY_BANDS = 5
# A business rule: the typical budget of a 30-day campaign by channel (the seed draws log-normal
# budgets around it; the synthesizer learns the ratio, see campaign_model_table).
CHANNEL_MONTHLY_BUDGET = {"tv": 250_000, "direct_mail": 60_000}
DEFAULT_MONTHLY_BUDGET = 30_000
CAMPAIGN_POOL_FACTOR = 5  # synthetic campaigns sampled per campaign kept, so every segment's quota fills


# --- Campaigns ---------------------------------------------------------------------------------------


def campaign_count(customers: int) -> int:
    """How many campaigns a population of ``customers`` gets."""
    return int(
        np.clip(
            customers // constants.CUSTOMERS_PER_CAMPAIGN, constants.MIN_CAMPAIGNS, constants.MAX_CAMPAIGNS
        )
    )


def simulate_campaigns(count: int, rng: np.random.Generator) -> pd.DataFrame:
    """Seed campaigns from rules (the campaign columns, ids and names included)."""
    channel = rng.choice(CHANNELS, count)
    objective = rng.choice(OBJECTIVES, count, p=(0.25, 0.25, 0.3, 0.2))
    video = np.isin(channel, ("tv", "social", "display"))
    creative = np.where(
        video & (rng.random(count) < 0.6),
        "video",
        rng.choice(CREATIVES[1:], count, p=(0.4, 0.25, 0.2, 0.15)),
    )
    duration = np.where(objective == "awareness", rng.integers(28, 91, count), rng.integers(7, 46, count))
    start = rng.integers(0, constants.CHAIN_DAYS - duration, count)
    budget = _budget_scale(channel, duration) * np.exp(rng.normal(0, 0.6, count))
    discount = np.where(objective == "conversion", rng.uniform(0.1, 0.4, count), rng.uniform(0, 0.2, count))
    frame = pd.DataFrame(
        {
            "channel": channel,
            "objective": objective,
            "target_segment": rng.choice(SEGMENTS, count, p=SEGMENT_WEIGHTS),
            "creative_type": creative,
            "start_day": start,
            "duration_days": duration,
            "budget": budget,
            "discount_pct": discount,
        }
    )
    return finish_campaigns(frame)


def finish_campaigns(frame: pd.DataFrame) -> pd.DataFrame:
    """Number, name and date synthetic campaigns; enforce 7..90-day windows inside the year."""
    frame = frame.reset_index(drop=True)
    duration = frame["duration_days"].round().clip(7, 90).astype(int).to_numpy()
    start = frame["start_day"].round().clip(0, None).astype(int).to_numpy()
    start = np.minimum(start, constants.CHAIN_DAYS - duration)
    day0 = pd.Timestamp(constants.CHAIN_START_DATE)
    ids = stage.number_ids("C", len(frame), 4)
    out = pd.DataFrame({"campaign_id": ids})
    out["campaign_name"] = (
        frame["channel"].str.replace("_", " ").str.title()
        + " "
        + frame["objective"]
        + " for "
        + frame["target_segment"].str.replace("_", " ")
        + " #"
        + pd.Series(ids).str[1:]
    )
    for column in ("channel", "objective", "target_segment"):
        out[column] = frame[column].to_numpy()
    out["start_date"] = (day0 + pd.to_timedelta(start, unit="D")).date
    out["end_date"] = (day0 + pd.to_timedelta(start + duration - 1, unit="D")).date
    out["budget"] = frame["budget"].astype(float).clip(1_000, None).round(2).to_numpy()
    out["discount_pct"] = frame["discount_pct"].astype(float).clip(0, 0.5).round(2).to_numpy()
    out["creative_type"] = frame["creative_type"].to_numpy()
    return out[list(CAMPAIGN_COLUMNS)]


def _budget_scale(channel, duration) -> np.ndarray:
    """The typical budget of a campaign of this channel and length (``CHANNEL_MONTHLY_BUDGET`` x months)."""
    monthly = pd.Series(np.asarray(channel)).map(CHANNEL_MONTHLY_BUDGET).fillna(DEFAULT_MONTHLY_BUDGET)
    return monthly.to_numpy(float) * np.asarray(duration, dtype=float) / 30


def campaign_model_table(campaigns: pd.DataFrame) -> pd.DataFrame:
    """Campaigns as the synthesizer sees them: start day and duration instead of dates, and the
    budget as its log ratio to the channel's typical budget for that length (``budget_index``).

    The budget is a mixture over channels (TV's are 8x an email's) scaled by duration; one copula
    cannot carry that through its correlations (pool budget KS 0.20-0.41 against the seed), while
    the index is one near-normal number the rule turns back into a budget (:func:`from_model_table`).
    """
    start = pd.to_datetime(campaigns["start_date"])
    day0 = pd.Timestamp(constants.CHAIN_START_DATE)
    duration = (pd.to_datetime(campaigns["end_date"]) - start).dt.days + 1
    scale = _budget_scale(campaigns["channel"], duration)
    return campaigns.assign(
        start_day=(start - day0).dt.days.clip(0, None),
        duration_days=duration,
        budget_index=np.log(campaigns["budget"].astype(float).clip(1, None) / scale),
    ).drop(columns=["budget"])


def from_model_table(sampled: pd.DataFrame) -> pd.DataFrame:
    """Sampled campaign rows with the budget back from its index, channel and (rounded) duration."""
    duration = sampled["duration_days"].round().clip(7, 90)
    scale = _budget_scale(sampled["channel"], duration)
    return sampled.assign(budget=scale * np.exp(sampled["budget_index"].astype(float)))


def segment_plan(count: int) -> np.ndarray:
    """The target segment of each of ``count`` campaigns: ``SEGMENT_WEIGHTS`` by largest remainder.

    A campaign plan books its segments in fixed shares: drawn at random, 40 campaigns once gave the
    middle-aged seven segment campaigns and the young one, a conversion gap between age groups that
    came from the draw (disparate impact 0.72), not from how people respond.
    """
    exact = np.asarray(SEGMENT_WEIGHTS) * count
    counts = np.floor(exact).astype(int)
    remainder_order = np.argsort(-(exact - counts), kind="stable")
    counts[remainder_order[: count - counts.sum()]] += 1
    return np.repeat(np.array(SEGMENTS, dtype=object), counts)


def generate_campaigns(
    count: int, config: ChainConfig, models: dict | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(campaigns, seed)``: ``count`` synthetic campaigns fitted on a simulated (or given) seed.

    The campaigns booked for each segment of the plan are a systematic sample of that segment's
    synthetic pool over ``discount_pct`` (evenly spaced quantiles), so even 40 campaigns follow the
    discount distribution of the pool instead of a lucky or unlucky draw; the copula's marginals are
    kernel densities (``constants.CAMPAIGN_MARGINALS``), which follow the seed's two-humped discounts.
    """
    rng = seeding.generator(config.seed, CAMPAIGNS)
    seed_data = config.seed_campaigns
    seed_frame = simulate_campaigns(constants.CAMPAIGN_SEED_ROWS, rng) if seed_data is None else seed_data
    sampled = stage.fit_and_sample(
        campaign_model_table(seed_frame),
        name=CAMPAIGNS,
        categorical=["channel", "objective", "target_segment", "creative_type"],
        numerical=["start_day", "duration_days", "budget_index", "discount_pct"],
        kind=config.synthesizer,
        seed=seeding.child_seed(config.seed, CAMPAIGNS, purpose="synthesizer"),
        rows=count * CAMPAIGN_POOL_FACTOR,
        epochs=config.epochs,
        models=models,
        distribution=constants.CAMPAIGN_MARGINALS,
    )
    pool = from_model_table(sampled)
    plan = pd.DataFrame({"target_segment": segment_plan(count), "discount_pct": rng.random(count)})
    chosen = np.sort(stage.match_rows(plan, pool, ["target_segment"], rng, order="discount_pct"))
    return finish_campaigns(pool.iloc[chosen]), seed_frame


# --- Targeting and response rules ---------------------------------------------------------------------


def customer_features(demographics: pd.DataFrame, preferences: pd.DataFrame) -> pd.DataFrame:
    """What targeting and response look at, one row per customer (demographics joined to preferences)."""
    columns = ["customer_id", "age", "age_group", "gender", "race_ethnicity"]
    return demographics[columns].merge(preferences, on="customer_id", validate="one_to_one")


def _segment_mask(customers: pd.DataFrame, segment: str) -> np.ndarray:
    age = customers["age"].to_numpy()
    masks = {
        "all_adults": np.ones(len(customers), dtype=bool),
        "young_adults": age < 35,
        "middle_aged": (age >= 35) & (age < 55),
        "seniors": age >= 55,
        "value_seekers": customers["price_sensitivity"].to_numpy() >= 0.5,
        "loyal_customers": customers["brand_loyalty"].to_numpy() >= 0.45,
    }
    return masks.get(segment, masks["all_adults"])


def target(
    customers: pd.DataFrame, campaigns: pd.DataFrame, rng: np.random.Generator, bias: Bias
) -> tuple[np.ndarray, np.ndarray]:
    """Targeted (customer position, campaign position) pairs, by segment, opt-in, reach and bias."""
    eligible = np.stack([_segment_mask(customers, s) for s in campaigns["target_segment"]], axis=1)
    channel = campaigns["channel"].to_numpy()
    eligible[:, channel == "email"] &= customers["email_opt_in"].to_numpy(bool)[:, None]
    eligible[:, channel == "sms"] &= customers["sms_opt_in"].to_numpy(bool)[:, None]
    reach = 0.2 + 0.35 * campaigns["budget"].rank(pct=True).to_numpy()
    reached = eligible & (rng.random(eligible.shape) < reach[None, :])
    excluded = bias.members(customers) & (rng.random(len(customers)) < bias.strength)
    reached[excluded] = False
    return np.nonzero(reached)


def pair_features(
    customers: pd.DataFrame, campaigns: pd.DataFrame, rows: np.ndarray, cols: np.ndarray, bias: Bias
) -> pd.DataFrame:
    """Per targeted pair: keys, the stratum columns and the response rates the rules give it."""
    c = customers.iloc[rows].reset_index(drop=True)
    k = campaigns.iloc[cols].reset_index(drop=True)
    age = (c["age"].to_numpy(float) - 18) / 60
    match = (c["preferred_channel"] == k["channel"]).to_numpy()
    ctr = k["channel"].map(BASE_CTR).to_numpy() * np.where(match, PREFERRED_CHANNEL_LIFT, 1.0)
    ctr = ctr * (1 + CTR_AGE_SLOPE * (age - 0.5))
    loyalty = 1 + LOYALTY_EFFECT * (c["brand_loyalty"].to_numpy() - 0.5)
    deal = 1 + 2 * k["discount_pct"].to_numpy() * c["price_sensitivity"].to_numpy()
    member = bias.members(c)
    damp = np.where(member, 1 - bias.strength, 1.0)
    return pd.DataFrame(
        {
            "customer_id": c["customer_id"].to_numpy(),
            "campaign_id": k["campaign_id"].to_numpy(),
            "channel": k["channel"].to_numpy(),
            "age_group": c["age_group"].to_numpy(),
            "gender": c["gender"].to_numpy(),
            "bias_group": member.astype(str),
            "propensity": ctr * loyalty * (1 + 0.5 * c["price_sensitivity"].to_numpy()),
            "ctr": np.minimum(ctr, 0.9),
            "cvr": np.minimum(k["objective"].map(BASE_CVR).to_numpy() * loyalty * deal * damp, 0.95),
            "p0": BASELINE_CONVERSION * (0.5 + c["brand_loyalty"].to_numpy()) * damp,
        }
    )


def band(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Bands (as text) of ``values`` cut at ``edges``."""
    return np.searchsorted(edges, values.to_numpy(), side="right").astype(str)


def simulate_funnels(pairs: pd.DataFrame, campaigns: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Seed funnels: counts, timing and holdout per pair from the response rates; adds ``true_lift``."""
    n = len(pairs)
    extra = pairs["channel"].map(EXTRA_IMPRESSIONS).to_numpy()
    impressions = np.minimum(1 + rng.poisson(extra), MAX_IMPRESSIONS)
    clicks = rng.binomial(impressions, pairs["ctr"].to_numpy())
    conversions = rng.binomial(clicks, pairs["cvr"].to_numpy())
    p0 = pairs["p0"].to_numpy()
    baseline = rng.random(n) < p0
    clicks = np.where(baseline, np.maximum(clicks, 1), clicks)
    conversions = np.where(baseline, np.maximum(conversions, 1), conversions)
    p_ad = 1 - (1 - pairs["ctr"].to_numpy() * pairs["cvr"].to_numpy()) ** impressions
    out = pairs.assign(
        n_impressions=impressions,
        n_clicks=clicks,
        n_conversions=conversions,
        holdout=rng.random(n) < constants.HOLDOUT_SHARE,
        converted=np.where(baseline, True, conversions > 0),
        true_lift=1 - (1 - p0) * (1 - p_ad) - p0,
        window_position=rng.beta(1.2, 2.5, n),
        click_delay_h=rng.exponential(2.0, n),
        conversion_delay_h=rng.exponential(12.0, n),
    )
    out.loc[out["holdout"], "converted"] = baseline[out["holdout"].to_numpy()]
    return out


def ground_truth(funnels: pd.DataFrame, campaigns: pd.DataFrame, bias: Bias) -> dict:
    """Each campaign's true incremental conversion lift in the seed simulation, and the bias knob."""
    by = funnels.groupby("campaign_id")
    treated = funnels[~funnels["holdout"]].groupby("campaign_id")["converted"]
    control = funnels[funnels["holdout"]].groupby("campaign_id")["converted"]
    table = pd.DataFrame(
        {
            "seed_pairs": by.size(),
            "true_lift": by["true_lift"].mean(),
            "baseline_rate": by["p0"].mean(),
            "treated_conversion_rate": treated.mean(),
            "holdout_conversion_rate": control.mean(),
        }
    ).reindex(campaigns["campaign_id"])
    table["observed_lift"] = table["treated_conversion_rate"] - table["holdout_conversion_rate"]
    table["relative_lift"] = table["true_lift"] / table["baseline_rate"]
    exposed = funnels[~funnels["holdout"]]
    member = exposed["bias_group"] == "True"
    return {
        "description": "true incremental conversion lift per campaign: mean over the campaign's targeted "
        "seed pairs of P(convert | exposed) - P(convert | not exposed); observed_lift = treated minus "
        f"holdout conversion rate ({constants.HOLDOUT_SHARE:.0%} of seed pairs held out)",
        "attribution_window_days": constants.ATTRIBUTION_WINDOW_DAYS,
        "campaigns": {
            cid: {key: (None if pd.isna(value) else round(float(value), 6)) for key, value in row.items()}
            for cid, row in table.iterrows()
        },
        "bias": bias.describe()
        | {
            "seed_conversion_rate_group": float(exposed.loc[member, "converted"].mean())
            if member.any()
            else None,
            "seed_conversion_rate_others": float(exposed.loc[~member, "converted"].mean()),
        },
    }


# --- Events ----------------------------------------------------------------------------------------------


def _window_seconds(campaigns: pd.DataFrame, campaign_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    dates = campaigns.set_index("campaign_id")
    start = pd.to_datetime(campaign_ids.map(dates["start_date"])).to_numpy("datetime64[s]").astype(np.int64)
    end = pd.to_datetime(campaign_ids.map(dates["end_date"])).to_numpy("datetime64[s]").astype(np.int64)
    return start, end + 86_399


def expand_events(
    pairs: pd.DataFrame, campaigns: pd.DataFrame, devices: pd.Series, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per event from per-pair funnel summaries (vectorised), sorted by time, ids assigned."""
    start, end = _window_seconds(campaigns, pairs["campaign_id"])
    first = start + pairs["window_position"].to_numpy() * (end - start)
    counts = {
        name: pairs[column].to_numpy(np.int64) for name, column in zip(("i", "c", "v"), FUNNEL, strict=True)
    }
    pair = np.repeat(np.arange(len(pairs)), counts["i"])
    rank = np.arange(pair.size) - np.repeat(np.cumsum(counts["i"]) - counts["i"], counts["i"])
    shown = np.where(rank == 0, first[pair], first[pair] + rng.random(pair.size) * (end[pair] - first[pair]))
    clicked = rank < counts["c"][pair]
    click_time = shown[clicked] + pairs["click_delay_h"].to_numpy()[pair[clicked]] * 3600 * rng.uniform(
        0.2, 1.8, clicked.sum()
    )
    click_pair, click_rank = pair[clicked], rank[clicked]
    converted = click_rank < counts["v"][click_pair]
    conversion_time = (
        click_time[converted] + pairs["conversion_delay_h"].to_numpy()[click_pair[converted]] * 3600
    )
    pair_of = np.concatenate([pair, click_pair, click_pair[converted]])
    stamp = np.concatenate([shown, click_time, conversion_time])
    stamp = np.minimum(np.floor(stamp), end[pair_of]).astype(np.int64)
    kind = np.repeat([0, 1, 2], [pair.size, click_pair.size, int(converted.sum())])
    order = np.lexsort((kind, pair_of, stamp))
    pair_of, stamp, kind = pair_of[order], stamp[order], kind[order]
    device = devices.to_numpy()[pair_of]
    other = rng.random(pair_of.size) < 0.25
    device[other] = np.array(DEVICES, dtype=object)[rng.integers(0, len(DEVICES), other.sum())]
    return pd.DataFrame(
        {
            "engagement_id": stage.number_ids("E", pair_of.size, 9),
            "customer_id": pairs["customer_id"].to_numpy()[pair_of],
            "campaign_id": pairs["campaign_id"].to_numpy()[pair_of],
            "timestamp": stamp.astype("datetime64[s]"),
            "event_type": np.array(EVENT_TYPES, dtype=object)[kind],
            "device": device,
            "channel": pairs["channel"].to_numpy()[pair_of],
        }
    )


def summarise_events(events: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """Per-pair funnel summaries of a (user's) engagements table: counts and timing."""
    events = events.assign(timestamp=pd.to_datetime(events["timestamp"]))
    keys = ["customer_id", "campaign_id"]
    counts = pd.crosstab([events["customer_id"], events["campaign_id"]], events["event_type"])
    counts = counts.reindex(columns=list(EVENT_TYPES), fill_value=0)
    by = events.groupby([*keys, "event_type"])["timestamp"].min().unstack()
    out = pd.DataFrame(
        {
            "n_impressions": counts["impression"].clip(lower=1),
            "n_clicks": np.minimum(counts["click"], counts["impression"].clip(lower=1)),
            "channel": events.groupby(keys)["channel"].first(),
        }
    )
    out["n_conversions"] = np.minimum(counts["conversion"], out["n_clicks"])
    window = events.groupby("campaign_id")["timestamp"].agg(["min", "max"])
    known = campaigns.set_index("campaign_id")
    low = window["min"].where(~window.index.isin(known.index), pd.to_datetime(known["start_date"]))
    high = window["max"].where(~window.index.isin(known.index), pd.to_datetime(known["end_date"]))
    cid = out.index.get_level_values("campaign_id")
    span = (high.reindex(cid).to_numpy() - low.reindex(cid).to_numpy()) / np.timedelta64(1, "s")
    shown = (by["impression"].to_numpy() - low.reindex(cid).to_numpy()) / np.timedelta64(1, "s")
    out["window_position"] = np.clip(np.nan_to_num(shown / np.maximum(span, 1)), 0, 1)
    hours = np.timedelta64(1, "h")
    out["click_delay_h"] = np.nan_to_num((by.get("click") - by["impression"]).to_numpy() / hours).clip(0)
    out["conversion_delay_h"] = np.nan_to_num(
        (by.get("conversion") - by.get("click")).to_numpy() / hours
    ).clip(0)
    return out.reset_index()


PARENTS = (schema.DEMOGRAPHICS, schema.PREFERENCES)


# --- The stage -----------------------------------------------------------------------------------------


def generate(parents: Mapping[str, pd.DataFrame], config: ChainConfig) -> stage.StageResult:
    """Campaigns, engagements, their seeds, models and the ground truth.

    ``config.seed_data`` (an engagements table whose customers are in the demographics) replaces the
    simulated funnels; ``config.seed_campaigns`` replaces the simulated campaigns.
    """
    demographics, preferences = parents[schema.DEMOGRAPHICS], parents[schema.PREFERENCES]
    seed, seed_data, bias = config.seed, config.seed_data, config.bias
    rng = seeding.generator(seed, ENGAGEMENTS)
    customers = customer_features(demographics, preferences)
    models: dict = {}
    campaigns, campaign_seed = generate_campaigns(campaign_count(len(customers)), config, models)
    log.info("%d campaigns; simulating seed funnels", len(campaigns))
    factor = constants.CHAIN_FUNNEL_SEED_FACTOR
    sample = stage.seed_customers(customers, config.seed_customers * factor, rng)
    rows, cols = target(sample, campaigns, rng, bias)
    funnels = simulate_funnels(pair_features(sample, campaigns, rows, cols, bias), campaigns, rng)
    truth = ground_truth(funnels, campaigns, bias)
    exposed = funnels[~funnels["holdout"]].reset_index(drop=True)
    seed_devices = exposed["customer_id"].map(customers.set_index("customer_id")["preferred_device"])
    seed_events = expand_events(exposed, campaigns, seed_devices, rng)
    if seed_data is not None:
        exposed = _user_funnels(seed_data, customers, campaigns, bias)
        seed_events = seed_data
    edges = np.quantile(exposed["propensity"], np.linspace(0, 1, PROPENSITY_BANDS + 1)[1:-1])
    exposed["propensity_band"] = band(exposed["propensity"], edges)

    rows, cols = target(customers, campaigns, rng, bias)
    real = pair_features(customers, campaigns, rows, cols, bias)
    real["propensity_band"] = band(real["propensity"], edges)
    log.info("%s targeted pairs; fitting the funnel synthesizer", f"{len(real):,}")
    pool = stage.fit_and_sample(
        exposed.assign(**{column: exposed[column].astype(int).astype(str) for column in FUNNEL}),
        name=ENGAGEMENTS,
        categorical=[*PAIR_STRATA, *FUNNEL],
        numerical=["propensity", *TIMING],
        kind=config.synthesizer,
        seed=seeding.child_seed(seed, ENGAGEMENTS, purpose="synthesizer"),
        rows=min(len(real), constants.CHAIN_POOL_ROWS),
        epochs=config.epochs,
        models=models,
        fit_rows=constants.CHAIN_FUNNEL_FIT_ROWS,
    )
    chosen = stage.match_rows(real, pool, PAIR_STRATA, rng, order="propensity")
    summary = repair_funnels(pool.iloc[chosen].reset_index(drop=True))
    pairs = pd.concat([real[["customer_id", "campaign_id", "channel"]], summary], axis=1)
    devices = pairs["customer_id"].map(customers.set_index("customer_id")["preferred_device"])
    events = expand_events(pairs, campaigns, devices, rng)
    log.info("%s engagement events", f"{len(events):,}")
    return stage.StageResult(
        "marketing",
        {CAMPAIGNS: campaigns, ENGAGEMENTS: events},
        {CAMPAIGNS: campaign_seed, ENGAGEMENTS: seed_events},
        models,
        truth,
    )


def repair_funnels(summary: pd.DataFrame) -> pd.DataFrame:
    """Integer counts with 1 <= impressions <= MAX, conversions <= clicks <= impressions; timing >= 0."""
    impressions = (
        pd.to_numeric(summary["n_impressions"], errors="coerce").fillna(1).round().clip(1, MAX_IMPRESSIONS)
    )
    clicks = pd.to_numeric(summary["n_clicks"], errors="coerce").fillna(0).round().clip(0, None)
    clicks = np.minimum(clicks, impressions)
    conversions = np.minimum(
        pd.to_numeric(summary["n_conversions"], errors="coerce").fillna(0).round().clip(0), clicks
    )
    return pd.DataFrame(
        {
            "n_impressions": impressions.astype(int),
            "n_clicks": clicks.astype(int),
            "n_conversions": conversions.astype(int),
            "window_position": summary["window_position"].clip(0, 1),
            "click_delay_h": summary["click_delay_h"].clip(0, 24 * 7),
            "conversion_delay_h": summary["conversion_delay_h"].clip(0, 24 * 14),
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
    add_bias_arguments(parser)
    args = stage.parse_stage_args(parser, argv)
    bias = parse_bias(args.bias_group, args.bias_strength)
    seed_data = seed_campaigns = None
    if args.seed_data:
        required = ["customer_id", "campaign_id", "timestamp", "event_type", "channel"]
        seed_data = stage.read_seed_data(args.seed_data, required, ENGAGEMENTS)
    if args.seed_campaigns:
        seed_campaigns = stage.read_seed_data(args.seed_campaigns, CAMPAIGN_COLUMNS[2:], CAMPAIGNS)
    stage.run_stage(
        generate,
        parents=PARENTS,
        data_dir=args.data_dir,
        out_dir=args.out_dir or args.data_dir,
        fmt=args.format,
        config=stage.config_from_args(args, seed_data=seed_data, seed_campaigns=seed_campaigns, bias=bias),
    )
    return 0


if __name__ == "__main__":
    run_main(main)
