"""Sampling noise of every realism metric: a customer-level bootstrap of a build (sizes realism's minimums).

    python -m bench.realism_noise --data-dir data [--replicates 20] [--seed 1]

Resamples the build's customers with replacement (each with all their engagements, transactions and
lifecycle rows) ``--replicates`` times, recomputes every metric of ``validation/realism.py`` and prints,
per metric: its value, support, bootstrap standard error, ``c = SE x sqrt(support)`` (so SE at another
support n is about c / sqrt(n)) and ``needed``: the support at which SE is 1/8 of the band's width, i.e.
a value a quarter of the band inside its edge fails by noise alone in about 2.5 % of builds. The
``MIN_*`` constants of ``validation/realism_metrics.py`` for point figures are set at or above ``needed``.
Writes ``bench/results/realism_noise.csv``. Not run by ``python -m bench`` (it needs a default build).
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import pandas as pd

from bench.common import RESULTS_DIR
from validation import realism
from validation.loading import load_folder


def _by_customer(frame: pd.DataFrame, ids: pd.Index) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``frame`` sorted by customer (demographics order) and each customer's first and past-last row."""
    code = ids.get_indexer(frame["customer_id"].astype(str).to_numpy())
    order = np.argsort(code, kind="stable")
    codes = code[order]
    customers = np.arange(len(ids))
    starts = np.searchsorted(codes, customers)
    return frame.iloc[order].reset_index(drop=True), starts, np.searchsorted(codes, customers, side="right")


def _take(grouped: tuple, pick: np.ndarray, new_ids: np.ndarray) -> pd.DataFrame:
    """The rows of the picked customers (repeats included), renamed to their new ids."""
    frame, starts, ends = grouped
    lengths = ends[pick] - starts[pick]
    offsets = np.repeat(starts[pick] - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
    rows = offsets + np.arange(lengths.sum())
    return frame.iloc[rows].assign(customer_id=np.repeat(new_ids, lengths))


def bootstrap(data_dir: str, replicates: int, seed: int) -> pd.DataFrame:
    """Per metric: value, support, band, bootstrap SE, c and the support needed for SE <= width / 8."""
    tables = load_folder(data_dir).tables
    lifecycle, why = realism.load_lifecycle(data_dir)
    demographics = tables["demographics"].reset_index(drop=True)
    ids = pd.Index(demographics["customer_id"].astype(str))
    preferences = tables["consumer_preferences"]
    preferences = preferences.set_index(preferences["customer_id"].astype(str)).loc[ids]
    preferences = preferences.reset_index(drop=True)
    grouped = {name: _by_customer(tables[name], ids) for name in ("engagements", "transactions")}
    life = None if lifecycle is None else _by_customer(lifecycle, ids)
    base = realism.evaluate(tables, lifecycle, why).table.set_index("metric")
    rng = np.random.default_rng(seed)
    values = []
    for replicate in range(replicates):
        pick = rng.integers(0, len(ids), len(ids))
        new_ids = np.array([f"B{i}" for i in range(len(ids))], dtype=object)
        sample = {
            "demographics": demographics.iloc[pick].assign(customer_id=new_ids),
            "consumer_preferences": preferences.iloc[pick].assign(customer_id=new_ids),
            "marketing_campaigns": tables["marketing_campaigns"],
            **{name: _take(rows, pick, new_ids) for name, rows in grouped.items()},
        }
        sampled_life = None if life is None else _take(life, pick, new_ids)
        values.append(realism.evaluate(sample, sampled_life, why).table.set_index("metric")["value"])
        print(f"replicate {replicate + 1}/{replicates}", file=sys.stderr, flush=True)
    out = base[["unit", "value", "support", "band_low", "band_high"]].copy()
    out["se"] = pd.concat(values, axis=1).astype(float).std(axis=1)
    out["c"] = out["se"] * np.sqrt(out["support"].astype(float))
    width = out["band_high"] - out["band_low"]
    out["needed"] = np.ceil((out["c"] / (width / 8)) ** 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    table = bootstrap(args.data_dir, args.replicates, args.seed)
    RESULTS_DIR.mkdir(exist_ok=True)
    table.to_csv(RESULTS_DIR / "realism_noise.csv")
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(table.round(5).to_string())


if __name__ == "__main__":
    main()
