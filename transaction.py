"""Purchases, organic and campaign-attributed: ``{out_dir}/transactions.csv``.

Reads demographics, preferences, campaigns and engagements from ``--data-dir``. Which purchases exist
is a rule: every customer buys ``Poisson(12 * purchase_frequency)`` times in the year at random
moments (organic, no campaign), and every conversion event becomes one purchase attributed to its
campaign, inside ``constants.ATTRIBUTION_WINDOW_DAYS`` after it. What each purchase looks like
(category, quantity, payment method, sales channel and a right-skewed basket multiplier) is
simulated for a seed sample of customers (:func:`simulate_purchases`: categories follow affinities,
payment and channel follow age and device), learned by the synthesizer and given to each purchase
from the rows of its stratum (attributed or not, the customer's top category, age group). The amount
is the customer's ``avg_basket_size`` (which follows income) times the multiplier, less the
campaign's discount when attributed.

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
from utils.chain import stage
from utils.chain.config import ChainConfig
from utils.core import schema, seeding
from utils.core.cli import run_main
from utils.core.schema import CATEGORIES, PAYMENT_METHODS, SALES_CHANNELS

log = logging.getLogger("transaction")

NAME = schema.TRANSACTIONS
COLUMNS = schema.TABLES[NAME].column_names
STRATA = ("attributed", "top_category", "age_group")
ATTRIBUTES = ("category", "payment_method", "channel")
# Quantity is a small count (1 + Poisson): as a number a copula smears it over 2..10 (KS 0.53 against
# the seed), so it is a category, and the Gaussian copula is fitted per quantity, which keeps its
# joint with the category and the basket multiplier it scales.
QUANTITY_CLASSES = ("quantity",)


def _gumbel_choice(rng: np.random.Generator, scores: np.ndarray, names: Sequence[str]) -> np.ndarray:
    return np.array(names, dtype=object)[(scores + rng.gumbel(size=scores.shape)).argmax(axis=1)]


def purchase_slots(
    customers: pd.DataFrame, engagements: pd.DataFrame, campaigns: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Which purchases happen (a rule): organic ones per purchase frequency, one per conversion.

    Columns: customer_id, campaign_id (NA when organic), timestamp, attributed, discount_pct.
    """
    counts = rng.poisson(12 * customers["purchase_frequency"].to_numpy())
    who = np.repeat(np.arange(len(customers)), counts)
    year = constants.CHAIN_DAYS * 86_400
    day0 = np.datetime64(constants.CHAIN_START_DATE, "s").astype(np.int64)
    organic = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[who],
            "campaign_id": pd.Series([pd.NA] * who.size, dtype=object),
            "timestamp": day0 + rng.integers(0, year, who.size),
            "discount_pct": 0.0,
        }
    )
    conversions = engagements.loc[
        engagements["event_type"] == "conversion", ["customer_id", "campaign_id", "timestamp"]
    ]
    conversions = conversions[conversions["customer_id"].isin(customers["customer_id"])]
    window = constants.ATTRIBUTION_WINDOW_DAYS * 86_400 - 1
    delay = np.minimum(np.floor(rng.exponential(86_400, len(conversions))), window).astype(np.int64)
    stamp = pd.to_datetime(conversions["timestamp"]).to_numpy("datetime64[s]").astype(np.int64)
    discount = conversions["campaign_id"].map(campaigns.set_index("campaign_id")["discount_pct"])
    attributed = pd.DataFrame(
        {
            "customer_id": conversions["customer_id"].to_numpy(),
            "campaign_id": conversions["campaign_id"].to_numpy(),
            "timestamp": stamp + delay,
            "discount_pct": discount.fillna(0).to_numpy(float),
        }
    )
    slots = pd.concat([organic, attributed], ignore_index=True)
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
            "preferred_device": customers["preferred_device"].to_numpy(),
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
    category = _gumbel_choice(rng, 3 * np.log(affinity.to_numpy() + 0.01), CATEGORIES)
    young = (60 - np.clip(slots["age"].to_numpy(float), 18, 78)) / 42  # 1 at 18, 0 at 60+
    payment = _gumbel_choice(
        rng,
        np.stack(
            [0.8 - 0.3 * young, 0.5 + 0 * young, -0.5 + 1.5 * young, 0.2 - 0.8 * young, -1.2 + young], 1
        ),
        PAYMENT_METHODS,
    )
    device = slots["preferred_device"].to_numpy()
    channel = _gumbel_choice(
        rng,
        np.stack(
            [np.where(device == "desktop", 1.0, 0.0), np.where(device == "mobile", 1.2, 0.0), 0.6 - young], 1
        ),
        SALES_CHANNELS,
    )
    channel = np.where(payment == "cash", "in_store", channel)
    quantity = 1 + rng.poisson(np.where(category == "grocery", 1.5, 0.4))
    multiplier = rng.lognormal(-0.1, 0.55, n) * (1 + 0.15 * (quantity - 1))
    return slots.assign(
        category=category,
        payment_method=payment,
        channel=channel,
        quantity=quantity,
        basket_multiplier=multiplier,
    )


def finish(purchases: pd.DataFrame) -> pd.DataFrame:
    """Amounts, keys and order: amount = basket x multiplier x (1 - discount) > 0, ids by time."""
    amount = purchases["avg_basket_size"] * purchases["basket_multiplier"].clip(0.05, None)
    amount = (amount * (1 - purchases["discount_pct"])).round(2).clip(0.01, None)
    frame = purchases.assign(
        amount=amount,
        quantity=purchases["quantity"].round().clip(1, None).astype(int),
        timestamp=purchases["timestamp"].to_numpy(np.int64).astype("datetime64[s]"),
    )
    frame = frame.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)
    frame["transaction_id"] = stage.number_ids("T", len(frame), 9)
    return frame[list(COLUMNS)]


def _seed_multipliers(seed_data: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """A user's transactions as the synthesizer's table: the multiplier is amount / basket size."""
    table = seed_data.copy()
    table["attributed"] = table["campaign_id"].notna().astype(str)
    known = customers.set_index("customer_id")
    table = table.join(known[["age_group", "avg_basket_size"]], on="customer_id")
    affinity = known[[f"affinity_{c}" for c in CATEGORIES]].to_numpy()
    top = pd.Series(np.array(CATEGORIES, dtype=object)[affinity.argmax(axis=1)], index=known.index)
    table["top_category"] = table["customer_id"].map(top).fillna(table["category"])
    table["age_group"] = table["age_group"].astype(object).fillna("unknown")
    basket = table["avg_basket_size"].fillna(customers["avg_basket_size"].median())
    table["basket_multiplier"] = table["amount"].astype(float) / basket
    if "quantity" not in table:
        table["quantity"] = 1
    table["quantity"] = pd.to_numeric(table["quantity"], errors="coerce").fillna(1).round().clip(1, None)
    table["quantity"] = table["quantity"].astype(int)
    return table


PARENTS = (schema.DEMOGRAPHICS, schema.PREFERENCES, schema.CAMPAIGNS, schema.ENGAGEMENTS)


def generate(parents: Mapping[str, pd.DataFrame], config: ChainConfig) -> stage.StageResult:
    """Synthetic transactions of the customers in ``parents``; ``config.seed_data`` (a transactions
    table) replaces the simulated seed."""
    demographics, preferences = parents[schema.DEMOGRAPHICS], parents[schema.PREFERENCES]
    campaigns, engagements = parents[schema.CAMPAIGNS], parents[schema.ENGAGEMENTS]
    seed, seed_data = config.seed, config.seed_data
    rng = seeding.generator(seed, NAME)
    customers = demographics[["customer_id", "age", "age_group"]].merge(preferences, on="customer_id")
    sample = stage.seed_customers(customers, config.seed_customers, rng)
    if seed_data is None:
        seed_slots = _with_customer(purchase_slots(sample, engagements, campaigns, rng), customers)
        table = simulate_purchases(seed_slots, customers, rng)
        seed_frame = finish(table)
    else:
        table, seed_frame = _seed_multipliers(seed_data, customers), seed_data
    slots = _with_customer(purchase_slots(customers, engagements, campaigns, rng), customers)
    log.info("%s purchases; fitting the purchase synthesizer", f"{len(slots):,}")
    # The multiplier is right-skewed (lognormal): the copula fits its logarithm with truncated-normal
    # marginals, as consumer.py does (beta on the raw multiplier: amount KS 0.050; beta on the log
    # collapsed the quantity-1 class onto one value).
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
    return stage.StageResult(NAME, {NAME: finish(purchases)}, {NAME: seed_frame}, models)


def main(argv: Sequence[str] | None = None) -> int:
    """``python transaction.py --help``."""
    parser = stage.stage_parser(
        __doc__.split("\n\n")[0], "a real transactions table to fit on (customers in --data-dir)"
    )
    args = stage.parse_stage_args(parser, argv)
    seed_data = None
    if args.seed_data:
        required = ["customer_id", "campaign_id", "amount", *ATTRIBUTES]
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
