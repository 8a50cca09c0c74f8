"""Purchases, organic and campaign-attributed: ``{out_dir}/transactions.csv``.

Reads demographics, preferences, campaigns and engagements from ``--data-dir``. When purchases
happen is a rule (:func:`purchase_slots`):

- **organic purchases** follow each customer's life (:mod:`utils.chain.lifecycle`, a Pareto/NBD
  process: acquisition, a heterogeneous rate, dropout): while alive, a customer buys in store and
  remotely at its own rates, on days drawn from the retail calendar (:mod:`utils.chain.calendar`:
  month, weekday, Black Friday, Cyber Monday, stores closed on Thanksgiving and Christmas Day) and
  at hours of the channel's daily rhythm (stores open in local hours); a customer acquired during
  the period makes its first purchase that day;
- **TV-driven purchases**: a TV exposure leads to a purchase with a small probability a few days later
  (organic as analysts see them: TV has no click to attribute);
- **attributed purchases**: every conversion event becomes a purchase of its campaign at the same
  moment (online, in the app, or in store for a mail piece's code).

What each purchase looks like (category, payment method, quantity and a log-normal basket
multiplier) is simulated for a seed sample of customers (:func:`simulate_purchases`: categories follow
affinities and the sales channel, payment follows the channel and age), learned by the synthesizer
and given to each purchase from the rows of its stratum (sales channel, attributed or not, the
customer's top category, age group). The amount is the category's price level x the customer's basket
factor (``avg_basket_size``, which follows income) x the multiplier, less the campaign's discount.

Usage::

    python transaction.py --data-dir data --seed 42
    python transaction.py --data-dir data --seed-data my_transactions.csv
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

import constants
from utils.chain import calendar, lifecycle, stage
from utils.chain.config import ChainConfig
from utils.core import schema, seeding
from utils.core.cli import run_main
from utils.core.schema import CATEGORIES, PAYMENT_METHODS

log = logging.getLogger("transaction")

NAME = schema.TRANSACTIONS
COLUMNS = schema.TABLES[NAME].column_names
STRATA = ("channel", "attributed", "top_category", "age_group")
ATTRIBUTES = ("category", "payment_method")
# Quantity is a small count (1 + Poisson): as a number a copula smears it over 2..10 (KS 0.53 against
# the seed), so it is a category, and the Gaussian copula is fitted per quantity, which keeps its
# joint with the category and the basket multiplier it scales.
QUANTITY_CLASSES = ("quantity",)
# Mean order value by category (USD) for an average basket factor: remote orders from Dynamic Yield /
# Oberlo AOV by industry (fashion $126-196, home & furniture $217-256, beauty $71-75, food $86-114);
# an in-store grocery trip from FMI (weekly spend / trips: $109 / 2.2, $155 / 2.6). Electronics and
# sports have no published per-category figure here: set above and near apparel respectively.
PRICE_LEVEL = {
    "electronics": 320.0,
    "apparel": 140.0,
    "home": 225.0,
    "beauty": 70.0,
    "grocery": 95.0,
    "sports": 120.0,
}
IN_STORE_PRICE_FACTOR = {"grocery": 0.55}  # an in-store grocery trip is smaller than an online order
MULTIPLIER_SIGMA = 0.6  # log-normal spread of an order around its level (mean 1)
BASKET_REFERENCE = 60.0  # avg_basket_size of an average customer (basket factor 1)
BASKET_ELASTICITY = 1.0  # basket factor = (avg_basket_size / reference) ** this
# Category choice: affinity scores plus a channel shift (groceries are mostly bought in store).
REMOTE_CATEGORY_SHIFT = {"grocery": -1.2, "electronics": 0.4, "apparel": 0.3}
# Payment method logits by sales channel (credit, debit, wallet, cash, buy now pay later), with a
# shift towards wallets and away from cash and credit for the young: Atlanta Fed / Worldpay (in store:
# credit 30-40 %, debit 35-46 %, cash 15-25 %; online: credit 31.5 %, debit 20 %, wallets 20-32 %).
PAYMENT_LOGITS = {
    "in_store": (1.15, 1.35, 0.05, 0.65, -2.5),
    "remote": (1.25, 0.75, 1.2, -np.inf, -0.2),
}
PAYMENT_YOUNG_SHIFT = (-0.3, 0.1, 0.9, -0.4, 0.6)
APP_SHARE = {"mobile": 0.6, "tablet": 0.35, "desktop": 0.05}  # remote purchases in the app, by device
# TV sells through organic purchases: per exposure, ROAS 2.55 (Nielsen Catalina, linear TV) x CPM $28 /
# 1000 over an average order of about $120 gives 0.0006 purchases, a few days after the exposure.
TV_PURCHASES_PER_EXPOSURE = 0.0006
TV_RESPONSE_DAYS = 3.0
STORE_OPEN_HOURS = (7, 22)  # a mail code redeemed outside these local hours is redeemed online


def _gumbel_choice(rng: np.random.Generator, scores: np.ndarray, names: Sequence[str]) -> np.ndarray:
    return np.array(names, dtype=object)[(scores + rng.gumbel(size=scores.shape)).argmax(axis=1)]


def _purchases_on(
    rng: np.random.Generator, days: np.ndarray, remote_share: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A purchase on each of ``days`` (local seconds) and whether it is remote: remote with the
    customer's share, or when the store is closed that day; at an hour of its sales channel's rhythm."""
    remote = (rng.random(days.size) < remote_share) | calendar.closed_in_store(days)
    hours = np.where(
        remote,
        calendar.draw_hours(rng, calendar.HOUR_WEIGHTS["remote"], days.size),
        calendar.draw_hours(rng, calendar.HOUR_WEIGHTS["in_store"], days.size),
    )
    stamps = days.astype("datetime64[s]").astype(np.int64) + hours * 3600 + rng.integers(0, 3600, days.size)
    return stamps, remote


def _remote_channel(rng: np.random.Generator, device: np.ndarray) -> np.ndarray:
    """``mobile_app`` or ``online`` for remote purchases, by the device's app share."""
    app = rng.random(len(device)) < pd.Series(device).map(APP_SHARE).fillna(0).to_numpy(float)
    return np.where(app, "mobile_app", "online")


def organic_slots(
    customers: pd.DataFrame, life: pd.DataFrame, config: ChainConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Organic purchases of ``customers`` over the period: customer_id, timestamp, sales channel."""
    days = calendar.period_days(config.start, config.end)
    first, last = days[0], days[-1]
    acquired = life["acquired_on"].to_numpy("datetime64[D]")
    churned = life["churned_on"].to_numpy("datetime64[D]")
    begin = np.maximum(acquired, first)
    stop = np.where(np.isnat(churned), last + 1, np.minimum(churned, last + 1))
    low_index = np.clip((begin - first).astype(np.int64), 0, len(days))
    high_index = np.clip((stop - first).astype(np.int64), 0, len(days))
    high_index = np.maximum(high_index, low_index)
    frames = []
    for profile, share in (("in_store", 1 - life["remote_share"]), ("remote", life["remote_share"])):
        cumulative = np.concatenate([[0.0], np.cumsum(calendar.day_weights(days, profile))])
        low, high = cumulative[low_index], cumulative[high_index]
        rate = life["rate"].to_numpy() * share.to_numpy() / 365.25
        counts = rng.poisson(rate * (high - low))
        who = np.repeat(np.arange(len(life)), counts)
        stamps = calendar.draw_times(
            rng, days, cumulative, low[who], high[who], calendar.HOUR_WEIGHTS[profile]
        )
        frames.append(pd.DataFrame({"row": who, "timestamp": stamps, "profile": profile}))
    # A customer acquired inside the period buys on that day (in store unless the store is closed).
    new = np.flatnonzero((acquired >= first) & (acquired <= last) & (high_index > low_index))
    stamps, remote = _purchases_on(rng, acquired[new], life["remote_share"].to_numpy()[new])
    frames.append(
        pd.DataFrame({"row": new, "timestamp": stamps, "profile": np.where(remote, "remote", "in_store")})
    )
    slots = pd.concat(frames, ignore_index=True)
    device = customers["preferred_device"].to_numpy()[slots["row"].to_numpy()]
    channel = np.where(slots["profile"] == "in_store", "in_store", _remote_channel(rng, device))
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[slots["row"].to_numpy()],
            "campaign_id": pd.Series([pd.NA] * len(slots), dtype=object),
            "timestamp": slots["timestamp"].to_numpy(np.int64),
            "channel": channel,
            "discount_pct": 0.0,
        }
    )


def tv_slots(
    customers: pd.DataFrame,
    life: pd.DataFrame,
    engagements: pd.DataFrame,
    config: ChainConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Purchases TV exposures cause: each exposure leads to a purchase with ``TV_PURCHASES_PER_EXPOSURE``
    a few days later, in store or remote by the customer's mix. TV has no click, so these purchases
    carry no campaign (as analysts see it: TV works through organic sales)."""
    tv = (engagements["channel"] == "tv") & (engagements["event_type"] == "impression")
    exposures = engagements.loc[tv, ["customer_id", "timestamp"]]
    position = pd.Series(np.arange(len(customers)), index=customers["customer_id"])
    row = position.reindex(exposures["customer_id"]).to_numpy()
    caused = ~np.isnan(row) & (rng.random(len(exposures)) < TV_PURCHASES_PER_EXPOSURE)
    who = row[caused].astype(np.int64)
    seen = pd.to_datetime(exposures["timestamp"]).to_numpy("datetime64[s]")[caused].astype(np.int64)
    later = seen + rng.exponential(TV_RESPONSE_DAYS * 86_400, who.size).astype(np.int64)
    day = (later - later % 86_400).astype("datetime64[s]").astype("datetime64[D]")
    stamps, remote = _purchases_on(rng, day, life["remote_share"].to_numpy()[who])
    inside = day <= np.datetime64(config.end, "D")
    device = customers["preferred_device"].to_numpy()[who]
    channel = np.where(remote, _remote_channel(rng, device), "in_store")
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[who][inside],
            "campaign_id": pd.Series([pd.NA] * int(inside.sum()), dtype=object),
            "timestamp": stamps[inside],
            "channel": channel[inside],
            "discount_pct": 0.0,
        }
    )


def attributed_slots(
    customers: pd.DataFrame, engagements: pd.DataFrame, campaigns: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """One purchase per conversion event, at its moment, with its campaign's discount."""
    conversions = engagements.loc[
        engagements["event_type"] == "conversion",
        ["customer_id", "campaign_id", "timestamp", "device", "channel"],
    ]
    conversions = conversions[conversions["customer_id"].isin(customers["customer_id"])]
    stamp = pd.to_datetime(conversions["timestamp"]).to_numpy("datetime64[s]").astype(np.int64)
    device = conversions["device"].astype(str).to_numpy()
    channel = _remote_channel(rng, device)
    hour = (stamp % 86_400) // 3600
    day = stamp.astype("datetime64[s]").astype("datetime64[D]")
    open_now = (hour >= STORE_OPEN_HOURS[0]) & (hour < STORE_OPEN_HOURS[1]) & ~calendar.closed_in_store(day)
    code = conversions["channel"].astype(str).to_numpy() == "direct_mail"
    channel = np.where(code & open_now, "in_store", channel)
    discount = conversions["campaign_id"].map(campaigns.set_index("campaign_id")["discount_pct"])
    return pd.DataFrame(
        {
            "customer_id": conversions["customer_id"].to_numpy(),
            "campaign_id": conversions["campaign_id"].to_numpy(),
            "timestamp": stamp,
            "channel": channel,
            "discount_pct": discount.fillna(0).to_numpy(float),
        }
    )


def purchase_slots(
    customers: pd.DataFrame,
    life: pd.DataFrame,
    engagements: pd.DataFrame,
    campaigns: pd.DataFrame,
    config: ChainConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Which purchases happen (a rule): organic ones by the lifecycle and calendar, one per conversion.

    Columns: customer_id, campaign_id (NA when organic), timestamp (seconds, local), channel,
    discount_pct, attributed.
    """
    slots = pd.concat(
        [
            organic_slots(customers, life, config, rng),
            tv_slots(customers, life, engagements, config, rng),
            attributed_slots(customers, engagements, campaigns, rng),
        ],
        ignore_index=True,
    )
    slots["attributed"] = slots["campaign_id"].notna().astype(str)
    return slots


def _with_customer(slots: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    affinity = customers[[f"affinity_{c}" for c in CATEGORIES]].to_numpy()
    info = pd.DataFrame(
        {
            "top_category": np.array(CATEGORIES, dtype=object)[affinity.argmax(axis=1)],
            "age_group": customers["age_group"].to_numpy(),
            "age": customers["age"].to_numpy(),
            "avg_basket_size": customers["avg_basket_size"].to_numpy(),
        },
        index=customers["customer_id"],
    )
    return slots.join(info, on="customer_id")


def simulate_purchases(
    slots: pd.DataFrame, customers: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Seed purchase attributes from the rules, for ``slots`` (of customers in ``customers``)."""
    n = len(slots)
    affinity = customers.set_index("customer_id").loc[
        slots["customer_id"], [f"affinity_{c}" for c in CATEGORIES]
    ]
    remote = (slots["channel"] != "in_store").to_numpy()
    shift = np.array([REMOTE_CATEGORY_SHIFT.get(c, 0.0) for c in CATEGORIES])
    scores = 3 * np.log(affinity.to_numpy() + 0.01) + np.where(remote[:, None], shift, -shift / 2)
    category = _gumbel_choice(rng, scores, CATEGORIES)
    young = ((60 - np.clip(slots["age"].to_numpy(float), 18, 78)) / 42)[:, None]  # 1 at 18, 0 at 60+
    logits = np.where(remote[:, None], PAYMENT_LOGITS["remote"], PAYMENT_LOGITS["in_store"])
    payment = _gumbel_choice(rng, logits + young * np.array(PAYMENT_YOUNG_SHIFT), PAYMENT_METHODS)
    quantity = 1 + rng.poisson(np.where(category == "grocery", 1.5, 0.4))
    multiplier = rng.lognormal(-(MULTIPLIER_SIGMA**2) / 2, MULTIPLIER_SIGMA, n) * (1 + 0.1 * (quantity - 1))
    return slots.assign(
        category=category, payment_method=payment, quantity=quantity, basket_multiplier=multiplier
    )


def finish(purchases: pd.DataFrame) -> pd.DataFrame:
    """Amounts, keys and order: amount = level x basket factor x multiplier x (1 - discount) > 0."""
    category = purchases["category"].astype(str)
    level = category.map(PRICE_LEVEL).to_numpy(float)
    in_store = (purchases["channel"] == "in_store").to_numpy()
    level = level * np.where(in_store, category.map(IN_STORE_PRICE_FACTOR).fillna(1.0).to_numpy(float), 1.0)
    basket = (purchases["avg_basket_size"].to_numpy(float) / BASKET_REFERENCE) ** BASKET_ELASTICITY
    amount = level * basket * purchases["basket_multiplier"].clip(0.02, None).to_numpy(float)
    amount = np.clip(np.round(amount * (1 - purchases["discount_pct"].to_numpy(float)), 2), 0.01, None)
    frame = purchases.assign(
        amount=amount,
        quantity=purchases["quantity"].round().clip(1, None).astype(int),
        timestamp=purchases["timestamp"].to_numpy(np.int64).astype("datetime64[s]"),
    )
    frame = frame.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)
    frame["transaction_id"] = stage.number_ids("T", len(frame), 9)
    return frame[list(COLUMNS)]


def _seed_multipliers(seed_data: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """A user's transactions as the synthesizer's table: the multiplier is amount / (level x basket)."""
    table = seed_data.copy()
    table["attributed"] = table["campaign_id"].notna().astype(str)
    known = customers.set_index("customer_id")
    table = table.join(known[["age_group", "avg_basket_size"]], on="customer_id")
    affinity = known[[f"affinity_{c}" for c in CATEGORIES]].to_numpy()
    top = pd.Series(np.array(CATEGORIES, dtype=object)[affinity.argmax(axis=1)], index=known.index)
    table["top_category"] = table["customer_id"].map(top).fillna(table["category"])
    table["age_group"] = table["age_group"].astype(object).fillna("unknown")
    if "channel" not in table:
        table["channel"] = "in_store"
    basket = table["avg_basket_size"].fillna(customers["avg_basket_size"].median()) / BASKET_REFERENCE
    level = table["category"].map(PRICE_LEVEL).fillna(np.mean(list(PRICE_LEVEL.values())))
    table["basket_multiplier"] = table["amount"].astype(float) / (level * basket**BASKET_ELASTICITY)
    if "quantity" not in table:
        table["quantity"] = 1
    table["quantity"] = pd.to_numeric(table["quantity"], errors="coerce").fillna(1).round().clip(1, None)
    table["quantity"] = table["quantity"].astype(int)
    return table


PARENTS = (schema.DEMOGRAPHICS, schema.PREFERENCES, schema.CAMPAIGNS, schema.ENGAGEMENTS)


def generate(parents: Mapping[str, pd.DataFrame], config: ChainConfig) -> stage.StageResult:
    """Synthetic transactions of the customers in ``parents`` and the lifecycle ground truth;
    ``config.seed_data`` (a transactions table) replaces the simulated seed."""
    demographics, preferences = parents[schema.DEMOGRAPHICS], parents[schema.PREFERENCES]
    campaigns, engagements = parents[schema.CAMPAIGNS], parents[schema.ENGAGEMENTS]
    seed, seed_data = config.seed, config.seed_data
    rng = seeding.generator(seed, NAME)
    customers = demographics[["customer_id", "age", "age_group"]].merge(preferences, on="customer_id")
    life = lifecycle.simulate(customers, seed=seed, start=config.start, end=config.end)
    sample_rows = np.sort(
        rng.choice(len(customers), min(config.seed_customers, len(customers)), replace=False)
    )
    if seed_data is None:
        sample, sample_life = customers.iloc[sample_rows], life.iloc[sample_rows]
        seed_slots = purchase_slots(sample, sample_life, engagements, campaigns, config, rng)
        table = simulate_purchases(_with_customer(seed_slots, customers), customers, rng)
        seed_frame = finish(table)
    else:
        table, seed_frame = _seed_multipliers(seed_data, customers), seed_data
    slots = _with_customer(purchase_slots(customers, life, engagements, campaigns, config, rng), customers)
    log.info("%s purchases; fitting the purchase synthesizer", f"{len(slots):,}")
    # The multiplier is right-skewed (lognormal): the copula fits its logarithm with truncated-normal
    # marginals, as consumer.py does.
    table = table.assign(basket_multiplier=np.log(table["basket_multiplier"].clip(1e-3, None)))
    models: dict = {}
    pool = stage.fit_and_sample(
        table,
        name=NAME,
        categorical=[*STRATA, *ATTRIBUTES, "quantity"],
        numerical=["basket_multiplier"],
        kind=config.synthesizer,
        seed=seeding.child_seed(seed, NAME, purpose="synthesizer"),
        rows=min(len(slots), constants.CHAIN_POOL_ROWS),
        epochs=config.epochs,
        models=models,
        fit_rows=constants.CHAIN_FIT_ROWS,
        by=QUANTITY_CLASSES,
        distribution=constants.CHAIN_MARGINALS,
    )
    pool["quantity"] = pd.to_numeric(pool["quantity"], errors="coerce").fillna(1)
    pool["basket_multiplier"] = np.exp(pool["basket_multiplier"])
    chosen = stage.match_rows(slots, pool, STRATA, rng)
    drawn = pool.iloc[chosen].reset_index(drop=True)[[*ATTRIBUTES, "quantity", "basket_multiplier"]]
    purchases = pd.concat([slots.reset_index(drop=True), drawn], axis=1)
    # Cash is paid in person: a remote purchase drawn with cash pays by debit card (a structural rule).
    remote_cash = (purchases["channel"] != "in_store") & (purchases["payment_method"] == "cash")
    purchases.loc[remote_cash, "payment_method"] = "debit_card"
    return stage.StageResult(
        NAME,
        {NAME: finish(purchases)},
        {NAME: seed_frame},
        models,
        truth_files={lifecycle.TRUTH_FILE: lifecycle.truth_table(life)},
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python transaction.py --help``."""
    parser = stage.stage_parser(
        __doc__.split("\n\n")[0], "a real transactions table to fit on (customers in --data-dir)"
    )
    args = stage.parse_stage_args(parser, argv)
    seed_data = None
    if args.seed_data:
        required = ["customer_id", "campaign_id", "amount", *ATTRIBUTES, "channel"]
        seed_data = stage.read_seed_data(args.seed_data, required, NAME, may_be_empty=["campaign_id"])
    stage.run_stage(
        generate,
        parents=PARENTS,
        data_dir=args.data_dir,
        out_dir=args.out_dir or args.data_dir,
        fmt=args.format,
        config=stage.config_from_args(args, seed_data=seed_data),
    )
    return 0


if __name__ == "__main__":
    run_main(main)
