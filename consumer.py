"""Consumer preferences, one row per customer: ``{out_dir}/consumer_preferences.csv``.

Reads the demographics in ``--data-dir``; simulates preferences for a sample of those customers from
behavioural rules (:func:`simulate_preferences`: age shifts channel, device and opt-ins, income shifts
price sensitivity, basket size and purchase frequency, gender and age shift category affinities);
fits the synthesizer on that seed (with the customers' age group, gender, and income; for the Gaussian
copula one copula per age group and gender, so that preferences keep their dependence on them);
samples one synthetic row per customer and gives each customer a row of its own age group and gender,
paired by income rank inside it (:func:`utils.stage.match_rows`).

Usage::

    python consumer.py --data-dir data --synthesizer gaussian_copula --seed 42
    python consumer.py --data-dir data --seed-data my_preferences.csv   # fit on your own table
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

import constants
from utils.census import tables as census
from utils.chain import partitioned, partitions, stage
from utils.chain.config import ChainConfig
from utils.chain.partitions import Partition
from utils.core import schema, seeding
from utils.core.cli import run_main
from utils.core.schema import AFFINITIES, OPT_INS

log = logging.getLogger("consumer")

NAME = schema.PREFERENCES
# At least this many synthetic rows are sampled (customers reuse them by stratum): on a 1,000-customer
# build a pool of 1,000 rows added its own sampling noise to every class (device x gender came out at
# Cramer's V 0.12 for the seed's 0.01).
POOL_MIN_ROWS = 20_000
SCORES = ("price_sensitivity", "brand_loyalty", "purchase_frequency", "avg_basket_size", *AFFINITIES)
COLUMNS = schema.TABLES[NAME].column_names
DEMOGRAPHIC_COLUMNS = ("age", "age_group", "gender", "household_income")
STRATA = ("age_group", "gender")  # a customer gets a synthetic row of its stratum, paired by income
# One Gaussian copula is fitted per stratum (14 of them), so its marginals must be quick to fit:
# truncated normals (beta fits took 10x as long), on scales where the right-skewed columns are
# near normal: log for income and basket size (log-normal), cube root for purchase frequency (gamma).
RESCALE = {
    "household_income": (np.log1p, np.expm1),
    "avg_basket_size": (np.log1p, np.expm1),
    "purchase_frequency": (np.cbrt, lambda values: np.clip(values, 0, None) ** 3),
}

# Channel and device preference: logit = intercept + slope * (age - 18) / 60.
CHANNEL_LOGITS = {
    "email": (0.2, 1.0),
    "social": (1.3, -3.2),
    "search": (0.9, -0.6),
    "display": (0.1, -0.4),
    "tv": (-1.0, 2.4),
    "direct_mail": (-1.6, 2.8),
    "sms": (0.4, -1.6),
}
OFFLINE_CHANNELS, OFFLINE_SHARES = ("tv", "direct_mail"), (0.65, 0.35)
DEVICE_LOGITS = {"mobile": (2.0, -1.8), "desktop": (0.0, 0.9), "tablet": (-1.0, 0.9)}
# Category affinity: mean = intercept + female * gender + slope * (age - 18) / 60, Beta around it.
AFFINITY_MEANS = {
    "electronics": (0.55, -0.15, -0.2),
    "apparel": (0.4, 0.15, -0.1),
    "home": (0.3, 0.05, 0.25),
    "beauty": (0.25, 0.25, -0.05),
    "grocery": (0.5, 0.05, 0.1),
    "sports": (0.5, -0.12, -0.25),
}


def _beta(rng: np.random.Generator, mean: np.ndarray, concentration: float) -> np.ndarray:
    mean = np.clip(mean, 0.03, 0.97)
    return rng.beta(mean * concentration, (1 - mean) * concentration)


def _choose(rng: np.random.Generator, logits: dict[str, tuple[float, float]], x: np.ndarray) -> np.ndarray:
    """One category per row with probability softmax(intercept + slope * x) (Gumbel trick)."""
    names = list(logits)
    scores = np.stack([a + b * x for a, b in logits.values()], axis=1)
    scores += rng.gumbel(size=scores.shape)
    return np.array(names, dtype=object)[scores.argmax(axis=1)]


def simulate_preferences(customers: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Preferences of ``customers`` (demographics rows) from the behavioural rules; same columns out."""
    n = len(customers)
    age = (customers["age"].to_numpy(float) - 18) / 60
    income_z = np.clip(
        (np.log(customers["household_income"].to_numpy(float) + 5_000) - np.log(65_000)) / 0.8, -3, 3
    )
    female = (customers["gender"] == "female").to_numpy(float)
    frame = pd.DataFrame({"customer_id": customers["customer_id"].to_numpy()})
    frame["preferred_channel"] = _choose(rng, CHANNEL_LOGITS, age)
    frame["preferred_device"] = _choose(rng, DEVICE_LOGITS, age)
    frame["price_sensitivity"] = _beta(rng, 0.55 - 0.17 * income_z, 8)
    frame["brand_loyalty"] = _beta(rng, 0.35 + 0.25 * age, 6)
    basket = 55 * np.exp(0.35 * income_z + rng.normal(0, 0.4, n))
    frame["avg_basket_size"] = np.round(basket, 2)
    # Higher incomes buy a little more often and in larger baskets: spend rises with income about as
    # the BLS Consumer Expenditure Survey's quintiles do (top / bottom 3-4.5x).
    frame["purchase_frequency"] = rng.gamma(3.0, 0.087 * np.exp(0.15 * income_z))
    for category, (base, gender, slope) in AFFINITY_MEANS.items():
        frame[f"affinity_{category}"] = _beta(rng, base + gender * female + slope * age, 6)
    # Opt-in rates: email about 70 %, SMS about 30 % (10.5-57 % published), push 60 % of app users.
    frame["email_opt_in"] = rng.random(n) < 0.62 + 0.15 * age
    frame["sms_opt_in"] = rng.random(n) < 0.36 - 0.2 * age
    frame["push_opt_in"] = rng.random(n) < np.where(frame["preferred_device"] == "mobile", 0.65, 0.35)
    # Customers without an internet subscription (ACS B28005 by state and age: about 9-12 % of
    # 18-64-year-olds, 24 % of those 65+) prefer TV or mail and have no email or push opt-in.
    offline = rng.random(n) < _offline_share(customers)
    offline_channel = rng.choice(OFFLINE_CHANNELS, int(offline.sum()), p=OFFLINE_SHARES)
    frame.loc[offline, "preferred_channel"] = offline_channel
    frame.loc[offline, ["email_opt_in", "push_opt_in"]] = False
    return tidy(frame)


def _offline_share(customers: pd.DataFrame) -> np.ndarray:
    """Each customer's chance to have no internet subscription: B28005 by state and age bracket."""
    if "state" not in customers:
        return np.zeros(len(customers))
    known = set(census.all_states())
    table = census.internet_by_age(sorted(set(customers["state"].astype(str)) & known))
    table = table[table["age_bracket"] != "0-17"].set_index(["state", "age_bracket"])["no_internet_share"]
    bracket = np.where(customers["age"].to_numpy() >= 65, "65+", "18-64")
    keys = pd.MultiIndex.from_arrays([customers["state"].astype(str).to_numpy(), bracket])
    return table.reindex(keys).fillna(0.0).to_numpy()


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Enforce the preferences' ranges and types (scores in [0, 1], basket > 0, rounded) and order."""
    frame = frame.copy()
    for column in ("price_sensitivity", "brand_loyalty", *AFFINITIES):
        frame[column] = frame[column].astype(float).clip(0, 1).round(4)
    frame["purchase_frequency"] = frame["purchase_frequency"].astype(float).clip(0, None).round(4)
    frame["avg_basket_size"] = frame["avg_basket_size"].astype(float).clip(1, None).round(2)
    for column in OPT_INS:
        frame[column] = frame[column].astype(str).str.lower().isin(("true", "1", "yes"))
    # Coherence: a customer who prefers email or SMS has opted in to it (a structural rule).
    for channel in ("email", "sms"):
        frame[f"{channel}_opt_in"] |= frame["preferred_channel"].astype(str) == channel
    return frame[list(COLUMNS)]


def _training_table(preferences: pd.DataFrame, demographics: pd.DataFrame) -> pd.DataFrame:
    """Preferences with the demographics they are conditioned on (joined by customer_id if needed)."""
    if not set(DEMOGRAPHIC_COLUMNS) <= set(preferences.columns):
        preferences = preferences.merge(demographics[["customer_id", *DEMOGRAPHIC_COLUMNS]], on="customer_id")
    if preferences.empty:
        from utils.core.cli import UserError

        raise UserError("the seed preferences share no customer_id with the demographics in --data-dir")
    return tidy(preferences).join(preferences[list(DEMOGRAPHIC_COLUMNS)].reset_index(drop=True))


STAGE = NAME
PARENTS = (schema.DEMOGRAPHICS,)
SHARED: tuple[str, ...] = ()  # parents every partition reads whole
PARTITIONED = (NAME,)
CATEGORICAL = [*STRATA, "preferred_channel", "preferred_device", *OPT_INS]
NUMERICAL = ["household_income", *SCORES]


def survey(
    parents: Mapping[str, pd.DataFrame], shared: Mapping, config: ChainConfig, partition: Partition
) -> pd.DataFrame:
    """A partition's customers of the seed sample (and those the user's seed table names)."""
    demographics = parents[schema.DEMOGRAPHICS]
    ids = demographics["customer_id"]
    rate = partitions.seed_rate(config.seed_customers, partition)
    chosen = partitions.seed_mask(ids, seed=config.seed, purpose=NAME, rate=rate)
    if config.seed_data is not None:
        chosen |= ids.isin(config.seed_data["customer_id"]).to_numpy()
    return demographics[chosen]


def fit(surveys: Sequence[pd.DataFrame], shared: Mapping, config: ChainConfig) -> partitioned.Fitted:
    """Simulate the seed sample's preferences (or take the user's table) and fit the synthesizer.

    ``config.seed_data`` (a preferences table, with customer_ids in the demographics or its own age,
    age_group, gender and household_income columns) replaces the simulated seed."""
    sample = pd.concat(surveys, ignore_index=True)
    if config.seed_data is None:
        seed_frame = simulate_preferences(sample, seeding.generator(config.seed, NAME, purpose="seed"))
    else:
        seed_data = config.seed_data.reset_index(drop=True)
        seed_frame = tidy(seed_data).join(seed_data.drop(columns=list(COLUMNS), errors="ignore"))
    table = _training_table(seed_frame, sample)
    table = table.assign(**{column: forward(table[column]) for column, (forward, _) in RESCALE.items()})
    model = stage.fit_model(
        table,
        name=NAME,
        categorical=CATEGORICAL,
        numerical=NUMERICAL,
        kind=config.synthesizer,
        seed=seeding.child_seed(config.seed, NAME, purpose="synthesizer"),
        epochs=config.epochs,
        device=config.device,
        by=STRATA,
        distribution=constants.CHAIN_MARGINALS,
    )
    return partitioned.Fitted(models={NAME: model}, seeds={NAME: tidy(seed_frame)}, state=model)


def make(
    fitted: partitioned.Fitted,
    parents: Mapping[str, pd.DataFrame],
    shared: Mapping,
    config: ChainConfig,
    partition: Partition,
) -> partitioned.Part:
    """One synthetic preferences row per customer of the partition: a pool sampled from the fitted
    model, each customer given a row of its age group and gender, paired by income rank."""
    demographics = parents[schema.DEMOGRAPHICS]
    label = partition.label
    pool = stage.sample_pool(
        fitted.state,
        max(len(demographics), POOL_MIN_ROWS),
        seed=seeding.child_seed(config.seed, NAME, partition=label, purpose="pool"),
        kind=config.synthesizer,
        categorical=CATEGORICAL,
        numerical=NUMERICAL,
        by=STRATA,
    )
    pool = pool.assign(**{column: inverse(pool[column]) for column, (_, inverse) in RESCALE.items()})
    targets = demographics[["customer_id", *STRATA, "household_income"]]
    rng = seeding.generator(config.seed, NAME, partition=label, purpose="match")
    chosen = stage.match_rows(targets, pool, STRATA, rng, order="household_income")
    preferences = tidy(
        pool.iloc[chosen].reset_index(drop=True).assign(customer_id=targets["customer_id"].to_numpy())
    )
    return partitioned.Part({NAME: preferences})


def conclude(fitted: partitioned.Fitted, summaries: Sequence, config: ChainConfig) -> None:
    """No ground truth of its own."""
    return None


def generate(parents: Mapping[str, pd.DataFrame], config: ChainConfig) -> stage.StageResult:
    """One synthetic preferences row per customer of ``parents["demographics"]``, partition by
    partition (:mod:`utils.chain.partitioned`)."""
    return partitioned.generate(sys.modules[__name__], parents, config)


def main(argv: Sequence[str] | None = None) -> int:
    """``python consumer.py --help``."""
    parser = stage.stage_parser(
        __doc__.split("\n\n")[0], "a real consumer_preferences table to fit on instead of the simulation"
    )
    args = stage.parse_stage_args(parser, argv)
    seed_data = stage.read_seed_data(args.seed_data, ["customer_id"], NAME) if args.seed_data else None
    config = stage.config_from_args(args, seed_data=seed_data)
    stage.run_stage(
        generate,
        parents=[schema.DEMOGRAPHICS],
        data_dir=args.data_dir,
        out_dir=args.out_dir or args.data_dir,
        fmt=args.format,
        config=config,
    )
    return 0


if __name__ == "__main__":
    run_main(main)
