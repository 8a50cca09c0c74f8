"""Score lift estimates and last-touch attribution against the ground truth of a build.

From the released tables alone (``campaign_audience``, ``marketing_campaigns``, ``transactions``) it
estimates each campaign's lift as an analyst would: the outcome of a customer of a campaign's
audience is at least one purchase from the campaign's start to ``outcome_window_days`` after its
end; the lift is the treatment group's outcome rate minus the control group's, with a 95 % normal
interval. It then holds every estimate against ``true_lift`` of ``ground_truth.json`` (coverage,
pooled estimate) and scores last-touch attribution (``transactions.campaign_id``) against the
causal truth of ``ground_truth/attribution.csv``.

    python build_dataset.py --rows-per-state 6667 --out-dir /tmp/gt
    python examples/score_lift.py /tmp/gt
    python examples/score_lift.py /tmp/gt --json /tmp/gt-scores.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.core.datasets import load_dataset, load_truth  # reads CSV or Parquet alike

Z95 = 1.959963984540054


def campaign_outcomes(audience: pd.DataFrame, campaigns: pd.DataFrame, sales: pd.DataFrame, window: int):
    """Per audience row: did the customer buy between the campaign's start and end + ``window`` days?"""
    dates = campaigns.set_index("campaign_id")[["start_date", "end_date"]]
    frame = audience.join(dates, on="campaign_id")
    first = pd.to_datetime(frame["start_date"]).to_numpy("datetime64[D]")
    last = pd.to_datetime(frame["end_date"]).to_numpy("datetime64[D]") + np.timedelta64(window, "D")
    day = pd.to_datetime(sales["timestamp"]).to_numpy("datetime64[D]")
    order = np.lexsort((day, sales["customer_id"].astype(str).to_numpy()))
    customers = sales["customer_id"].astype(str).to_numpy()[order]
    days = day[order]
    # For each audience row: the first purchase day of its customer on or after the campaign's start.
    key = frame["customer_id"].astype(str).to_numpy()
    low = np.searchsorted(customers, key, side="left")
    high = np.searchsorted(customers, key, side="right")
    outcome = np.zeros(len(frame), dtype=bool)
    for i in np.flatnonzero(high > low):
        block = days[low[i] : high[i]]
        at = np.searchsorted(block, first[i], side="left")
        outcome[i] = at < block.size and block[at] <= last[i]
    return frame.assign(outcome=outcome)


def lift_table(outcomes: pd.DataFrame, truth: dict) -> pd.DataFrame:
    """Per campaign: treatment and control rates, the estimated lift, its 95 % interval and the truth."""
    rows = []
    for campaign_id, frame in outcomes.groupby("campaign_id", sort=True):
        treated = frame.loc[frame["group"] == "treatment", "outcome"]
        control = frame.loc[frame["group"] == "control", "outcome"]
        if len(treated) < 2 or len(control) < 2:
            continue
        p1, p0 = treated.mean(), control.mean()
        se = math.sqrt(p1 * (1 - p1) / len(treated) + p0 * (1 - p0) / len(control))
        true = truth["campaigns"][campaign_id]["true_lift"]
        rows.append(
            {
                "campaign_id": campaign_id,
                "channel": truth["campaigns"][campaign_id]["channel"],
                "objective": truth["campaigns"][campaign_id]["objective"],
                "treatment": len(treated),
                "control": len(control),
                "estimate": p1 - p0,
                "se": se,
                "low": p1 - p0 - Z95 * se,
                "high": p1 - p0 + Z95 * se,
                "true_lift": true,
            }
        )
    table = pd.DataFrame(rows)
    table["covered"] = (table["low"] <= table["true_lift"]) & (table["true_lift"] <= table["high"])
    return table


def clustered_pooled_se(outcomes: pd.DataFrame, campaigns: list[str]) -> float:
    """Standard error of the mean lift over ``campaigns``, clustered by customer: a customer sits in
    many audiences, and one purchase can be the outcome of several overlapping campaigns."""
    frame = outcomes[outcomes["campaign_id"].isin(campaigns)]
    treated = (frame["group"] == "treatment").to_numpy()
    keys = [frame["campaign_id"].to_numpy(), treated]
    rate = frame.groupby(keys)["outcome"].transform("mean").to_numpy()
    size = frame.groupby(keys)["outcome"].transform("size").to_numpy()
    influence = np.where(treated, 1, -1) * (frame["outcome"].to_numpy() - rate) / size / len(campaigns)
    by_customer = pd.Series(influence).groupby(frame["customer_id"].to_numpy()).sum()
    return float(np.sqrt((by_customer**2).sum()))


def attribution_scores(sales: pd.DataFrame, causes: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """Per channel: purchases truly caused by its campaigns against purchases credited by last touch."""
    frame = sales[["transaction_id", "campaign_id"]].merge(causes, on="transaction_id", how="left")
    channel = campaigns.set_index("campaign_id")["channel"]
    frame["credited_channel"] = frame["campaign_id"].map(channel)
    frame["causal_channel"] = frame["causal_campaign_id"].map(channel)
    total = len(frame)
    rows = []
    for name in sorted(set(channel)):
        credited = frame["credited_channel"] == name
        caused = frame["causal_channel"] == name
        both = credited & (frame["campaign_id"] == frame["causal_campaign_id"])
        rows.append(
            {
                "channel": name,
                "caused_share": caused.sum() / total,
                "credited_share": credited.sum() / total,
                "credited_over_caused": credited.sum() / caused.sum() if caused.sum() else float("nan"),
                "precision": both.sum() / credited.sum() if credited.sum() else float("nan"),
                "recall": both.sum() / caused.sum() if caused.sum() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """``python examples/score_lift.py DATA_DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="a built dataset folder (build_dataset.py --out-dir)")
    parser.add_argument("--json", default=None, help="also write the scores to this JSON file")
    args = parser.parse_args(argv)
    folder = Path(args.data_dir)
    truth_path = folder / "ground_truth.json"
    if not truth_path.is_file():
        print(f"score_lift.py: {truth_path} not found: build a dataset first", file=sys.stderr)
        return 2
    truth = json.loads(truth_path.read_text())
    audience = load_dataset(folder, "campaign_audience")
    campaigns = load_dataset(folder, "marketing_campaigns")
    sales = load_dataset(folder, "transactions")
    outcomes = campaign_outcomes(audience, campaigns, sales, int(truth["outcome_window_days"]))
    lifts = lift_table(outcomes, truth)
    pooled = lifts["estimate"].mean()
    pooled_se = math.sqrt((lifts["se"] ** 2).sum()) / len(lifts)
    pooled_truth = lifts["true_lift"].mean()
    clustered_se = clustered_pooled_se(outcomes, list(lifts["campaign_id"]))
    with pd.option_context(
        "display.width", 160, "display.max_rows", 200, "display.float_format", "{:.4f}".format
    ):
        print(lifts.drop(columns=["low", "high"]).to_string(index=False))
    print(
        f"\n95 % intervals covering the true lift: {lifts['covered'].sum()} of {len(lifts)} campaigns "
        f"({lifts['covered'].mean():.1%})"
    )
    print(
        f"pooled estimate {pooled:.5f} (se {pooled_se:.5f}; clustered by customer {clustered_se:.5f}) "
        f"against pooled truth {pooled_truth:.5f}: {abs(pooled - pooled_truth) / pooled_se:.2f} "
        f"standard errors apart ({abs(pooled - pooled_truth) / clustered_se:.2f} clustered)"
    )
    causes = load_truth(folder, "attribution", dtype=str)  # a CSV file or a folder of Parquet parts
    scores = attribution_scores(sales, causes, campaigns)
    print("\nlast-touch attribution against the causal truth (shares of all purchases):")
    with pd.option_context("display.width", 160, "display.float_format", "{:.4f}".format):
        print(scores.to_string(index=False))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "coverage": float(lifts["covered"].mean()),
                    "pooled": {
                        "estimate": pooled,
                        "se": pooled_se,
                        "se_clustered": clustered_se,
                        "truth": pooled_truth,
                    },
                    "campaigns": lifts.to_dict(orient="records"),
                    "attribution": scores.to_dict(orient="records"),
                },
                indent=2,
                default=float,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
