"""Purchases, organic and campaign-caused: ``{out_dir}/transactions.csv``.

Reads demographics, preferences, campaigns, engagements and the campaign audiences from
``--data-dir``. When purchases happen is a rule (:mod:`utils.chain.purchases`, the same draws
marketing.py made when it recorded conversions):

- **organic purchases** follow each customer's life (:mod:`utils.chain.lifecycle`, a Pareto/NBD
  process: acquisition, a heterogeneous rate, dropout): while alive, a customer buys in store and
  remotely at its own rates, on days drawn from the retail calendar (:mod:`utils.chain.calendar`:
  month, weekday, Black Friday, Cyber Monday, stores closed on Thanksgiving and Christmas Day) and
  at hours of the channel's daily rhythm (stores open in local hours); a customer acquired during
  the period makes its first purchase that day;
- **caused purchases**: a campaign's treatment customers make one extra purchase with a known
  probability (TV's too: it has no click to credit);
- **credit** (``campaign_id``): a purchase carries the campaign of the conversion event recorded at
  its moment (the last click inside the attribution window, or a mail code), caused or not, and
  that campaign's discount; which campaign truly caused it is ``ground_truth/attribution.csv``.

What each purchase looks like (category, payment method, quantity and a log-normal basket
multiplier) is simulated for a seed sample of customers (:func:`simulate_purchases`: categories follow
affinities and the sales channel, payment follows the channel and age), learned by the synthesizer
and given to each purchase from the rows of its stratum (sales channel, attributed or not, the
customer's top category, age group). The amount is the category's price level x the customer's basket
factor (``avg_basket_size``, which follows income) x the multiplier, less the campaign's discount.

Usage::

    python transaction.py --data-dir data --seed 42     # the same --seed (and --bias-*) as marketing.py
    python transaction.py --data-dir data --seed-data my_transactions.csv
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

import constants
from utils.chain import lifecycle, partitioned, partitions, purchases, stage
from utils.chain.bias import add_bias_arguments, parse_bias
from utils.chain.config import ChainConfig
from utils.chain.partitions import Partition
from utils.core import schema, seeding
from utils.core.cli import UserError, run_main
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
MULTIPLIER_SIGMA = 0.6  # log-normal spread of an order around its level (mean 1)
# Payment method logits by sales channel (credit, debit, wallet, cash, buy now pay later), with a
# shift towards wallets and away from cash and credit for the young: Atlanta Fed / Worldpay (in store:
# credit 30-40 %, debit 35-46 %, cash 15-25 %; online: credit 31.5 %, debit 20 %, wallets 20-32 %).
# Over the remote buyers' ages the online logits give credit 35 %, debit 25 %, wallets 28 % (a wallet
# logit of 1.2 gave 43 %, at the top of the wallets' band, and a small build went over it).
PAYMENT_LOGITS = {
    "in_store": (1.15, 1.35, 0.05, 0.65, -2.5),
    "remote": (1.25, 0.75, 0.55, -np.inf, -0.2),
}
PAYMENT_YOUNG_SHIFT = (-0.3, 0.1, 0.9, -0.4, 0.6)
APP_SHARE = {"mobile": 0.6, "tablet": 0.35, "desktop": 0.05}  # remote purchases in the app, by device


def _gumbel_choice(rng: np.random.Generator, scores: np.ndarray, names: Sequence[str]) -> np.ndarray:
    return np.array(names, dtype=object)[(scores + rng.gumbel(size=scores.shape)).argmax(axis=1)]


def _remote_channel(rng: np.random.Generator, device: np.ndarray) -> np.ndarray:
    """``mobile_app`` or ``online`` for remote purchases, by the device's app share."""
    app = rng.random(len(device)) < pd.Series(device).map(APP_SHARE).fillna(0).to_numpy(float)
    return np.where(app, "mobile_app", "online")


def treated_pairs(
    audience: pd.DataFrame, customers: pd.DataFrame, campaigns: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The released audience as positions (``row``, ``col``, ``treated``) in canonical order, and its
    treatment group."""
    audience = audience.iloc[purchases.audience_order(audience["customer_id"], audience["campaign_id"])]
    row = pd.Series(np.arange(len(customers)), index=customers["customer_id"].astype(str))
    col = pd.Series(np.arange(len(campaigns)), index=campaigns["campaign_id"].astype(str))
    pairs = pd.DataFrame(
        {
            "row": row.reindex(audience["customer_id"].astype(str)).to_numpy(),
            "col": col.reindex(audience["campaign_id"].astype(str)).to_numpy(),
            "treated": (audience["group"].astype(str) == "treatment").to_numpy(),
        }
    )
    if pairs[["row", "col"]].isna().any().any():
        raise UserError("the campaign_audience table names customers or campaigns that are not in --data-dir")
    pairs = pairs.astype({"row": np.int64, "col": np.int64})
    return pairs, pairs[pairs["treated"]].reset_index(drop=True)


def purchase_slots(
    customers: pd.DataFrame,
    life: pd.DataFrame,
    campaigns: pd.DataFrame,
    audience: pd.DataFrame,
    engagements: pd.DataFrame,
    config: ChainConfig,
    partition: str = "",
) -> pd.DataFrame:
    """Which purchases happen (:mod:`utils.chain.purchases`, the draws marketing.py made): organic
    ones and those campaigns caused. Each takes the campaign of the conversion event recorded at its
    moment (last click or a mail code) and that campaign's discount.

    Columns: customer_id, campaign_id (NA when not credited), causal_campaign_id (NA when organic),
    timestamp (seconds, local), channel, discount_pct, attributed.
    """
    period = purchases.Period.of(config.start, config.end)
    _, treated = treated_pairs(audience, customers, campaigns)
    q = purchases.incremental_probability(
        customers, campaigns, life, treated["row"].to_numpy(), treated["col"].to_numpy(), config.bias, period
    )
    organic = purchases.organic(life, period, config.seed, partition=partition)
    caused = purchases.caused(treated, q, campaigns, life, period, config.seed, partition=partition)
    rows = np.concatenate([organic["row"], caused["row"]])
    slots = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[rows],
            "timestamp": np.concatenate([organic["timestamp"], caused["timestamp"]]).astype(np.int64),
            "remote": np.concatenate([organic["remote"], caused["remote"]]),
            "causal_campaign_id": np.concatenate(
                [
                    np.full(len(organic), None, dtype=object),
                    campaigns["campaign_id"].to_numpy()[caused["col"]],
                ]
            ),
        }
    )
    conversions = engagements.loc[
        engagements["event_type"] == "conversion", ["customer_id", "campaign_id", "timestamp"]
    ]
    credit = pd.DataFrame(
        {
            "customer_id": conversions["customer_id"].astype(str).to_numpy(),
            "timestamp": pd.to_datetime(conversions["timestamp"]).to_numpy("datetime64[s]").astype(np.int64),
            "campaign_id": conversions["campaign_id"].astype(str).to_numpy(),
        }
    ).drop_duplicates(["customer_id", "timestamp"])
    slots = slots.merge(credit, on=["customer_id", "timestamp"], how="left", validate="many_to_one")
    unmatched = len(credit) - int(slots["campaign_id"].notna().sum())
    if unmatched:
        raise UserError(
            f"{unmatched:,} of {len(credit):,} conversion events have no purchase in this run: the "
            "engagements were made from other customers, preferences, seed or bias; run marketing.py "
            "and transaction.py with the same --seed and --bias-* on the same consumer preferences"
        )
    device = customers.set_index("customer_id")["preferred_device"].reindex(slots["customer_id"]).to_numpy()
    rng = seeding.generator(config.seed, NAME, partition=partition, purpose="channel")
    slots["channel"] = np.where(slots["remote"], _remote_channel(rng, device), "in_store")
    discount = slots["campaign_id"].map(campaigns.set_index("campaign_id")["discount_pct"])
    slots["discount_pct"] = discount.fillna(0.0).to_numpy(float)
    slots["campaign_id"] = slots["campaign_id"].astype(object).where(slots["campaign_id"].notna(), None)
    slots["attributed"] = slots["campaign_id"].notna().astype(str)
    return slots.drop(columns="remote")


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
    category = _gumbel_choice(rng, purchases.category_scores(affinity.to_numpy(), remote), CATEGORIES)
    young = ((60 - np.clip(slots["age"].to_numpy(float), 18, 78)) / 42)[:, None]  # 1 at 18, 0 at 60+
    logits = np.where(remote[:, None], PAYMENT_LOGITS["remote"], PAYMENT_LOGITS["in_store"])
    payment = _gumbel_choice(rng, logits + young * np.array(PAYMENT_YOUNG_SHIFT), PAYMENT_METHODS)
    extra = pd.Series(category).map(purchases.EXTRA_ITEMS).fillna(purchases.DEFAULT_EXTRA_ITEMS).to_numpy()
    quantity = 1 + rng.poisson(extra)
    multiplier = rng.lognormal(-(MULTIPLIER_SIGMA**2) / 2, MULTIPLIER_SIGMA, n)
    multiplier = multiplier * (1 + purchases.ITEM_PRICE_STEP * (quantity - 1))
    return slots.assign(
        category=category, payment_method=payment, quantity=quantity, basket_multiplier=multiplier
    )


def _basket(frame: pd.DataFrame) -> np.ndarray:
    return (
        frame["avg_basket_size"].to_numpy(float) / purchases.BASKET_REFERENCE
    ) ** purchases.BASKET_ELASTICITY


def finish(orders: pd.DataFrame, prefix: str = "T") -> pd.DataFrame:
    """Amounts, keys and order: amount = level x basket factor x multiplier x (1 - discount) > 0.
    Keeps ``causal_campaign_id`` (for the attribution truth) after the table's columns."""
    category = orders["category"].astype(str)
    level = category.map(purchases.PRICE_LEVEL).to_numpy(float)
    in_store = (orders["channel"] == "in_store").to_numpy()
    store_factor = category.map(purchases.IN_STORE_PRICE_FACTOR).fillna(1.0).to_numpy(float)
    level = level * np.where(in_store, store_factor, 1.0)
    amount = level * _basket(orders) * orders["basket_multiplier"].clip(0.02, None).to_numpy(float)
    amount = np.clip(np.round(amount * (1 - orders["discount_pct"].to_numpy(float)), 2), 0.01, None)
    frame = orders.assign(
        amount=amount,
        quantity=orders["quantity"].round().clip(1, None).astype(int),
        timestamp=orders["timestamp"].to_numpy(np.int64).astype("datetime64[s]"),
    )
    frame = frame.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)
    frame["transaction_id"] = stage.number_ids(prefix, len(frame), 9)
    extra = ["causal_campaign_id"] if "causal_campaign_id" in frame else []
    return frame[[*COLUMNS, *extra]]


def attribution_truth(frame: pd.DataFrame) -> pd.DataFrame:
    """``ground_truth/attribution.csv``: each transaction and the campaign that caused it (empty:
    the customer would have bought anyway)."""
    return frame[["transaction_id", "causal_campaign_id"]].reset_index(drop=True)


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
    table["avg_basket_size"] = table["avg_basket_size"].fillna(customers["avg_basket_size"].median())
    prices = purchases.PRICE_LEVEL
    level = table["category"].map(prices).fillna(np.mean(list(prices.values())))
    table["basket_multiplier"] = table["amount"].astype(float) / (level.to_numpy() * _basket(table))
    if "quantity" not in table:
        table["quantity"] = 1
    table["quantity"] = pd.to_numeric(table["quantity"], errors="coerce").fillna(1).round().clip(1, None)
    table["quantity"] = table["quantity"].astype(int)
    return table


STAGE = NAME
PARENTS = (schema.DEMOGRAPHICS, schema.PREFERENCES, schema.CAMPAIGNS, schema.ENGAGEMENTS, schema.AUDIENCE)
SHARED = (schema.CAMPAIGNS,)  # every partition reads the whole campaigns table
PARTITIONED = (NAME,)
CATEGORICAL = [*STRATA, *ATTRIBUTES, "quantity"]


def _slots(
    parents: Mapping[str, pd.DataFrame], shared: Mapping[str, pd.DataFrame], config: ChainConfig, label: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A partition's customers, their lives and their purchase slots (with the customer columns)."""
    customers = purchases.customer_table(parents[schema.DEMOGRAPHICS], parents[schema.PREFERENCES])
    life = lifecycle.simulate(
        customers, seed=config.seed, start=config.start, end=config.end, partition=label
    )
    campaigns = shared[schema.CAMPAIGNS]
    engagements = parents[schema.ENGAGEMENTS]
    slots = purchase_slots(customers, life, campaigns, parents[schema.AUDIENCE], engagements, config, label)
    return customers, life, _with_customer(slots, customers)


def survey(
    parents: Mapping[str, pd.DataFrame], shared: Mapping, config: ChainConfig, partition: Partition
) -> pd.DataFrame:
    """The seed purchases of a partition's seed customers (simulated attributes), or the customers
    of the user's seed table."""
    if config.seed_data is not None:
        customers = purchases.customer_table(parents[schema.DEMOGRAPHICS], parents[schema.PREFERENCES])
        return customers[customers["customer_id"].isin(config.seed_data["customer_id"])]
    customers, _, slots = _slots(parents, shared, config, partition.label)
    rate = partitions.seed_rate(config.seed_customers, partition)
    chosen = partitions.seed_mask(customers["customer_id"], seed=config.seed, purpose=NAME, rate=rate)
    in_sample = slots["customer_id"].isin(customers["customer_id"][chosen]).to_numpy()
    rng = seeding.generator(config.seed, NAME, partition=partition.label, purpose="seed")
    return simulate_purchases(slots[in_sample].reset_index(drop=True), customers, rng)


def fit(surveys: Sequence[pd.DataFrame], shared: Mapping, config: ChainConfig) -> partitioned.Fitted:
    """The purchase synthesizer, fitted on the seed purchases (or the user's transactions)."""
    if config.seed_data is None:
        table = pd.concat(surveys, ignore_index=True)
        seed_frame = finish(table).drop(columns="causal_campaign_id")
    else:
        customers = pd.concat(surveys, ignore_index=True)
        table, seed_frame = _seed_multipliers(config.seed_data, customers), config.seed_data
    log.info("%s seed purchases; fitting the purchase synthesizer", f"{len(table):,}")
    # The multiplier is right-skewed (lognormal): the copula fits its logarithm with truncated-normal
    # marginals, as consumer.py does.
    table = table.assign(basket_multiplier=np.log(table["basket_multiplier"].clip(1e-3, None)))
    model = stage.fit_model(
        table,
        name=NAME,
        categorical=CATEGORICAL,
        numerical=["basket_multiplier"],
        kind=config.synthesizer,
        seed=seeding.child_seed(config.seed, NAME, purpose="synthesizer"),
        epochs=config.epochs,
        device=config.device,
        fit_rows=constants.CHAIN_FIT_ROWS,
        by=QUANTITY_CLASSES,
        distribution=constants.CHAIN_MARGINALS,
    )
    return partitioned.Fitted(models={NAME: model}, seeds={NAME: seed_frame}, state=model)


def make(
    fitted: partitioned.Fitted,
    parents: Mapping[str, pd.DataFrame],
    shared: Mapping[str, pd.DataFrame],
    config: ChainConfig,
    partition: Partition,
) -> partitioned.Part:
    """A partition's transactions, their attribution truth and its customers' lifecycle truth."""
    label = partition.label
    _, life, slots = _slots(parents, shared, config, label)
    pool = stage.sample_pool(
        fitted.state,
        max(1, min(len(slots), constants.CHAIN_POOL_ROWS)),
        seed=seeding.child_seed(config.seed, NAME, partition=label, purpose="pool"),
        kind=config.synthesizer,
        categorical=CATEGORICAL,
        numerical=["basket_multiplier"],
        by=QUANTITY_CLASSES,
    )
    pool["quantity"] = pd.to_numeric(pool["quantity"], errors="coerce").fillna(1)
    pool["basket_multiplier"] = np.exp(pool["basket_multiplier"])
    rng = seeding.generator(config.seed, NAME, partition=label, purpose="match")
    chosen = stage.match_rows(slots, pool, STRATA, rng)
    drawn = pool.iloc[chosen].reset_index(drop=True)[[*ATTRIBUTES, "quantity", "basket_multiplier"]]
    orders = pd.concat([slots.reset_index(drop=True), drawn], axis=1)
    # Cash is paid in person: a remote purchase drawn with cash pays by debit card (a structural rule).
    remote_cash = (orders["channel"] != "in_store") & (orders["payment_method"] == "cash")
    orders.loc[remote_cash, "payment_method"] = "debit_card"
    frame = finish(orders, stage.part_prefix("T", partition))
    return partitioned.Part(
        {NAME: frame.drop(columns="causal_campaign_id")},
        {
            lifecycle.TRUTH_FILE: lifecycle.truth_table(life),
            purchases.ATTRIBUTION_FILE: attribution_truth(frame),
        },
    )


def conclude(fitted: partitioned.Fitted, summaries: Sequence, config: ChainConfig) -> None:
    """No ground_truth.json of its own (its truth files are per partition)."""
    return None


def generate(parents: Mapping[str, pd.DataFrame], config: ChainConfig) -> stage.StageResult:
    """Synthetic transactions of the customers in ``parents``, the attribution and lifecycle ground
    truth, partition by partition (:mod:`utils.chain.partitioned`); ``config.seed_data`` (a
    transactions table) replaces the simulated seed."""
    return partitioned.generate(sys.modules[__name__], parents, config)


def main(argv: Sequence[str] | None = None) -> int:
    """``python transaction.py --help``."""
    parser = stage.stage_parser(
        __doc__.split("\n\n")[0], "a real transactions table to fit on (customers in --data-dir)"
    )
    add_bias_arguments(parser)
    args = stage.parse_stage_args(parser, argv)
    bias = parse_bias(args.bias_group, args.bias_strength)
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
        config=stage.config_from_args(args, seed_data=seed_data, bias=bias),
    )
    return 0


if __name__ == "__main__":
    run_main(main)
