"""fairness.py: AI Fairness 360 group-fairness report on the synthetic customers' outcomes.

    python fairness.py                                      # converted, every protected attribute
    python fairness.py --outcome high_value --protected gender,age_group --mitigate

For each protected attribute (``constants.PROTECTED_ATTRIBUTES`` by default) and one outcome from
``utils.chain.outcomes`` (``targeted``, ``converted`` or ``high_value``):

* **privileged group**: the group whose outcome rate is highest, judged by the lower end of its 95 %
  Wilson interval (so a tiny group's lucky rate does not become the reference), among groups with at
  least ``constants.FAIRNESS_MIN_GROUP_SIZE`` customers; every other group is unprivileged.
* **demographic parity**: statistical parity difference and disparate impact of all unprivileged
  groups pooled against the privileged one, and of every group against the privileged one.
* **equalized odds**: a scikit-learn logistic regression predicts the outcome from non-protected
  features (preferences, income, education, …) on a training split; on the held-out split aif360's
  ``ClassificationMetric`` gives TPR/FPR differences, average odds and equal opportunity difference.
* ``--mitigate``: aif360 ``Reweighing`` (weights written to CSV, metrics recomputed on the reweighed
  data and on a classifier trained with the weights) and ``EqOddsPostprocessing`` of the classifier.

Verdicts: disparate impact passes inside ``constants.FOUR_FIFTHS_RANGE``; differences pass when their
absolute value is at most ``constants.FAIRNESS_TOLERANCE``. A group is *flagged* when its disparate
impact fails and the gap is statistically significant (two-proportion z-test, p < FAIRNESS_ALPHA);
a failure that could be noise is *inconclusive*. Writes ``fairness_{outcome}.json``, ``..._groups.csv``,
``..._rates.png`` and, with ``--mitigate``, ``..._reweighing_weights.csv`` into
``fairness/reports/<data folder>-<run id>/`` (one folder per dataset) or ``--report-dir``; data and
report folders may be local or ``az://container/prefix``.

A build of more than ``constants.READ_MAX_CUSTOMERS`` customers is analysed on a seeded sample of
about that many (``--seed``; the same customers validation checks) with **all** of their engagements
and transactions, read chunk by chunk. Outcomes are per customer and computed from all of a sampled
customer's rows, so every rate and metric is that of a uniform random sample of the customers: an
unbiased estimate of the whole build's, with the sample's noise. The report's ``sampled`` says so.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

import constants
from utils.chain.outcomes import GROUP_COLUMNS, OUTCOMES, customer_outcomes
from utils.core import datasets, runs, storage
from utils.core.cli import UserError, base_parser, run_main, setup_logging, split_list
from utils.metrics import fairness as fm
from utils.metrics.fairness import (
    FAIL,
    INCONCLUSIVE,
    INSUFFICIENT,
    PASS,
    choose_privileged,
    di_verdict,
    verdicts,
)

log = logging.getLogger("fairness")

DEFAULT_REPORT_DIR = "per-dataset"  # fairness/reports/<data folder>-<run id>/ (runs.report_folder)
EXCLUDED_FEATURES = {"customer_id", "age", "income_bracket", "total_spend", *constants.PROTECTED_ATTRIBUTES}


SAMPLE_NOTE = (
    "outcomes are per customer, from all of a sampled customer's engagements and transactions: every "
    "rate and metric is that of a uniform random sample of the customers (chosen by a seeded hash of "
    "the customer id, whatever their outcomes), an unbiased estimate of the whole build's with the "
    "sample's noise"
)


# --- loading ------------------------------------------------------------------------------------
def load_customers(
    data_dir: str | os.PathLike,
    protected: Sequence[str],
    *,
    seed: int = constants.DEFAULT_SEED,
    max_customers: int | None = constants.READ_MAX_CUSTOMERS,
) -> pd.DataFrame:
    """One row per customer: protected attributes, outcomes and non-protected features (local or ``az://``).

    A build of more than ``max_customers`` customers (None: never) gives the rows of a seeded sample
    of about that many (:func:`utils.core.datasets.sample_customers`), each with all of its
    engagements and transactions (read chunk by chunk); ``attrs["sampled"]`` is then
    ``{"customers", "of", "seed", "rows_read", "note"}``, else None.
    """
    data_dir = datasets.require_folder(data_dir)
    sample = datasets.sample_customers(data_dir, max_customers=max_customers, seed=seed)
    if sample is None:
        log.info("loading customers, engagements and transactions from %s", data_dir)
    else:
        log.info("loading a seeded sample of %s from %s, with all their rows", sample.describe(), data_dir)
    read: dict[str, int] = {}

    def load(name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        frame, read[name] = datasets.load_sampled(data_dir, name, sample, columns)
        return frame

    demographics = load(datasets.DEMOGRAPHICS)
    missing = [name for name in protected if name not in demographics.columns]
    if missing:
        raise UserError(
            f"protected attribute(s) {', '.join(missing)} not in the demographics "
            f"(columns: {', '.join(demographics.columns)})"
        )
    for column in GROUP_COLUMNS:  # an attribute nobody asked for may be absent: keep outcomes working
        if column not in demographics.columns:
            demographics[column] = "unknown"
    engagements = load("engagements", ["customer_id", "event_type"])
    transactions = load("transactions", ["customer_id", "amount"])
    customers = customer_outcomes(demographics, engagements, transactions)
    del engagements, transactions
    extra = demographics.drop(columns=[c for c in GROUP_COLUMNS if c != "customer_id"])
    customers = customers.merge(extra.astype({"customer_id": str}), on="customer_id", how="left")
    try:
        preferences = load("consumer_preferences")
    except UserError:
        log.info("no consumer_preferences in %s: features from demographics only", data_dir)
    else:
        customers = customers.merge(preferences.astype({"customer_id": str}), on="customer_id", how="left")
    customers.attrs["sampled"] = None if sample is None else sample.summary(read) | {"note": SAMPLE_NOTE}
    return customers


def feature_matrix(customers: pd.DataFrame) -> pd.DataFrame:
    """Numeric model inputs from every non-protected, non-outcome column (categoricals one-hot)."""
    columns = [c for c in customers.columns if c not in EXCLUDED_FEATURES and c not in OUTCOMES]
    frame = customers[columns]
    numeric = frame.select_dtypes(include=["number", "bool"]).astype(float)
    categorical = frame.drop(columns=numeric.columns).astype(str)
    encoded = pd.get_dummies(categorical, dtype=float) if len(categorical.columns) else None
    matrix = numeric if encoded is None else pd.concat([numeric, encoded], axis=1)
    return matrix.fillna(matrix.median()).fillna(0.0)


# --- model --------------------------------------------------------------------------------------
def split_customers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reproducible train / validation / test index arrays (validation fits the post-processor)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = round(n * constants.FAIRNESS_TEST_FRACTION)
    n_valid = round(n * constants.FAIRNESS_VALIDATION_FRACTION)
    return (
        np.sort(order[n_test + n_valid :]),
        np.sort(order[n_test : n_test + n_valid]),
        np.sort(order[:n_test]),
    )


def fit_predict(
    features: pd.DataFrame, labels: pd.Series, train: np.ndarray, weights: pd.Series | None = None
) -> np.ndarray:
    """Logistic regression fitted on ``train``; labels for every row at the training base rate.

    The threshold is the score quantile that makes the training split's predicted positive rate equal
    its true base rate, so a rare outcome is not simply predicted negative for everyone.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = labels.to_numpy()[train]
    if y.min() == y.max():
        return np.full(len(labels), bool(y[0]))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    sample_weight = None if weights is None else weights.to_numpy()[train]
    model.fit(features.to_numpy()[train], y, logisticregression__sample_weight=sample_weight)
    scores = model.predict_proba(features.to_numpy())[:, 1]
    threshold = np.quantile(scores[train], 1 - y.mean())
    return scores >= threshold


# --- per attribute ------------------------------------------------------------------------------
def group_rows(
    attribute: str,
    groups: pd.Series,
    labels: pd.Series,
    privileged: str,
    test: np.ndarray,
    predicted: np.ndarray,
    weights: pd.Series | None = None,
    reweighed_predicted: np.ndarray | None = None,
) -> list[dict]:
    """One row per group: size, rate, parity and equalized odds against the privileged group."""
    rows = []
    test_groups, test_labels, predicted = groups.iloc[test], labels.iloc[test], predicted[test]
    if reweighed_predicted is not None:
        reweighed_predicted = reweighed_predicted[test]
    for group in sorted(groups.unique()):
        member = groups == group
        pair = member | (groups == privileged)
        count, positives = int(member.sum()), int(labels[member].sum())
        row = {"attribute": attribute, "group": str(group), "privileged": group == privileged}
        row |= {"customers": count, "positives": positives, "rate": round(positives / count, 6)}
        if weights is not None:
            row["reweighed_rate"] = round(float((weights * labels)[member].sum() / weights[member].sum()), 6)
        if group == privileged or count < constants.FAIRNESS_MIN_GROUP_SIZE:
            rows.append(row | {"verdict": "privileged" if group == privileged else INSUFFICIENT})
            continue
        metrics = fm.parity(labels[pair], groups[pair] == privileged)
        p_value = fm.two_proportion_p_value(
            [positives, labels[groups == privileged].sum()], [count, (groups == privileged).sum()]
        )
        row |= {
            "statistical_parity_difference": metrics["statistical_parity_difference"],
            "disparate_impact": metrics["disparate_impact"],
            "p_value": round(p_value, 6),
        }
        test_pair = (test_groups == group) | (test_groups == privileged)
        row |= _odds(
            test_labels[test_pair], predicted[test_pair.to_numpy()], test_groups[test_pair] == privileged
        )
        if weights is not None:
            after = fm.parity(labels[pair], groups[pair] == privileged, weights[pair])
            row["reweighed_disparate_impact"] = after["disparate_impact"]
            row["reweighed_disparate_impact_verdict"] = di_verdict(after["disparate_impact"])
            reweighed = _odds(
                test_labels[test_pair],
                reweighed_predicted[test_pair.to_numpy()],
                test_groups[test_pair] == privileged,
            )
            row |= {f"reweighed_model_{name}": value for name, value in reweighed.items()}
        row |= {f"{name}_verdict": verdict for name, verdict in verdicts(row).items()}
        row["verdict"] = row["disparate_impact_verdict"]
        rows.append(row)
    return rows


def _odds(labels: pd.Series, predicted: np.ndarray, privileged: pd.Series) -> dict:
    """Equalized-odds metrics, or Nones when a side has no positives or no negatives to score."""
    names = ("true_positive_rate_difference", "false_positive_rate_difference")
    names += ("average_odds_difference", "equal_opportunity_difference")
    sides = [labels[privileged.to_numpy()], labels[~privileged.to_numpy()]]
    if any(side.nunique() < 2 for side in sides):
        return dict.fromkeys(names)
    metrics = fm.equalized_odds(labels, predicted, privileged)
    return {name: metrics[name] for name in names}


def analyse_attribute(
    customers: pd.DataFrame,
    features: pd.DataFrame,
    attribute: str,
    outcome: str,
    predicted: np.ndarray,
    *,
    seed: int,
    mitigate: bool,
) -> tuple[dict, list[dict], pd.Series | None]:
    """Parity, equalized odds of ``predicted`` and (optionally) mitigation for one attribute.

    Returns the attribute's summary, its group rows and (with ``mitigate``) the reweighing weights.
    """
    labels = customers[outcome].astype(bool)
    groups = customers[attribute].astype(str)
    privileged, reason = choose_privileged(labels, groups)
    train, valid, test = split_customers(len(customers), seed)
    is_privileged = groups == privileged
    pooled = fm.parity(labels, is_privileged)
    pooled |= _odds(labels.iloc[test], predicted[test], is_privileged.iloc[test])
    summary = {
        "privileged": privileged,
        "privileged_reason": reason,
        "unprivileged": sorted(set(groups) - {privileged}),
        "pooled": pooled | {"verdicts": verdicts(pooled)},
    }
    weights = reweighed_predicted = None
    if mitigate:
        weights = fm.reweighing_weights(labels, groups)
        reweighed_predicted = fit_predict(features, labels, train, weights)
        after = fm.parity(labels, is_privileged, weights)
        after |= _odds(labels.iloc[test], reweighed_predicted[test], is_privileged.iloc[test])
        post = fm.eq_odds_postprocess(
            labels.iloc[valid], predicted[valid], is_privileged.iloc[valid],
            pd.Series(predicted[test]), is_privileged.iloc[test], seed,
        )  # fmt: skip
        if isinstance(post, str):
            postprocessed = {"skipped": post}
        else:
            postprocessed = _odds(labels.iloc[test], post, is_privileged.iloc[test])
        summary["mitigation"] = {
            "reweighing": after | {"verdicts": verdicts(after)},
            "eq_odds_postprocessing": postprocessed | {"verdicts": verdicts(postprocessed)},
        }
    rows = group_rows(attribute, groups, labels, privileged, test, predicted, weights, reweighed_predicted)
    summary["flagged_groups"] = [row["group"] for row in rows if row["verdict"] == FAIL]
    summary["inconclusive_groups"] = [row["group"] for row in rows if row["verdict"] == INCONCLUSIVE]
    worst = [row["disparate_impact"] for row in rows if row.get("disparate_impact") is not None]
    summary["min_group_disparate_impact"] = min(worst) if worst else None
    summary["verdict"] = FAIL if summary["flagged_groups"] else PASS
    return summary, rows, weights


# --- the report ---------------------------------------------------------------------------------
def fairness_analysis(
    customers: pd.DataFrame,
    protected: Sequence[str] = constants.PROTECTED_ATTRIBUTES,
    outcome: str = "converted",
    *,
    seed: int = constants.DEFAULT_SEED,
    mitigate: bool = False,
) -> tuple[dict, pd.DataFrame, pd.DataFrame | None]:
    """The fairness report (dict), the per-group table and, with ``mitigate``, the reweighing weights."""
    if outcome not in OUTCOMES:
        raise UserError(f"unknown outcome {outcome!r}: choose one of {', '.join(OUTCOMES)}")
    features = feature_matrix(customers)
    train, _, _ = split_customers(len(customers), seed)
    log.info("training the outcome classifier on %d customers, %d features", len(train), features.shape[1])
    predicted = fit_predict(features, customers[outcome].astype(bool), train)
    report = {
        "outcome": outcome,
        "customers": len(customers),
        "sampled": customers.attrs.get("sampled"),
        "base_rate": round(float(customers[outcome].mean()), 6),
        "features": list(features.columns),
        "rules": rules(),
        "attributes": {},
    }
    rows: list[dict] = []
    weights = {}
    for attribute in protected:
        log.info("%s: parity, equalized odds%s", attribute, " and mitigation" if mitigate else "")
        summary, group_table, weight = analyse_attribute(
            customers, features, attribute, outcome, predicted, seed=seed, mitigate=mitigate
        )
        report["attributes"][attribute] = summary
        rows += group_table
        if weight is not None:
            weights[f"weight_{attribute}"] = weight.round(6)
    groups = pd.DataFrame(rows)
    report["groups"] = json.loads(groups.to_json(orient="records"))
    report["flagged"] = [
        {"attribute": a, "group": g} for a, s in report["attributes"].items() for g in s["flagged_groups"]
    ]
    report["verdict"] = FAIL if report["flagged"] else PASS
    weight_frame = pd.DataFrame({"customer_id": customers["customer_id"], **weights}) if weights else None
    return report, groups, weight_frame


def rules() -> dict:
    """The verdict rules, written into every report."""
    low, high = constants.FOUR_FIFTHS_RANGE
    return {
        "disparate_impact": f"pass inside [{low}, {high}] (four-fifths rule); outside it, fail when the "
        f"rate gap is significant (two-proportion z-test p < {constants.FAIRNESS_ALPHA}), else inconclusive",
        "differences": f"statistical parity, TPR, FPR, average odds and equal opportunity differences pass "
        f"when |value| <= {constants.FAIRNESS_TOLERANCE}",
        "min_group_size": f"groups with fewer than {constants.FAIRNESS_MIN_GROUP_SIZE} customers get "
        f"{INSUFFICIENT}",
        "flagged": "a group is flagged when its disparate impact against the privileged group fails",
        "sign": "differences are unprivileged minus privileged; ratios unprivileged over privileged",
    }


def rates_chart(groups: pd.DataFrame, outcome: str) -> bytes:
    """PNG bar chart of each group's outcome rate per attribute, four-fifths line, flagged bars red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    attributes = list(dict.fromkeys(groups["attribute"]))
    figure, axes = plt.subplots(len(attributes), 1, figsize=(11, 3.2 * len(attributes)), squeeze=False)
    for axis, attribute in zip(axes[:, 0], attributes, strict=True):
        part = groups[groups["attribute"] == attribute]
        colours = [
            "#1f77b4" if v == "privileged" else "#d62728" if v == FAIL else "#7f7f7f" for v in part["verdict"]
        ]
        axis.bar(part["group"], part["rate"], color=colours, label=f"{outcome} rate")
        if "reweighed_rate" in part:
            axis.scatter(part["group"], part["reweighed_rate"], color="black", zorder=3,
                         label="after reweighing", marker="_", s=400)  # fmt: skip
        reference = float(part.loc[part["privileged"], "rate"].iloc[0])
        axis.axhline(reference * constants.FOUR_FIFTHS_RANGE[0], color="#d62728", linestyle="--",
                     label="four-fifths of privileged rate")  # fmt: skip
        axis.set_title(f"{attribute} (blue: privileged, red: flagged)")
        axis.set_ylabel(f"{outcome} rate")
        axis.tick_params(axis="x", labelrotation=30)
        axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def fairness_report(
    data_dir: str | os.PathLike = constants.DATA_DIR,
    protected: Sequence[str] = constants.PROTECTED_ATTRIBUTES,
    outcome: str = "converted",
    *,
    mitigate: bool = False,
    report_dir: str | os.PathLike = DEFAULT_REPORT_DIR,
    seed: int = constants.DEFAULT_SEED,
    max_customers: int | None = constants.READ_MAX_CUSTOMERS,
) -> tuple[dict, pd.DataFrame]:
    """Load ``data_dir``, analyse it, write JSON, group CSV, chart (and weights); return report, groups.

    ``report_dir`` defaults to ``runs.report_folder(constants.FAIRNESS_REPORTS_DIR, data_dir)`` and is
    checked writable before anything is loaded; ``report["files"]`` names every file written. A build
    of more than ``max_customers`` customers (None: never) is analysed on a seeded sample of them with
    all their rows (:func:`load_customers`); ``report["sampled"]`` says so (None when it was not).
    """
    unknown = [name for name in protected if name not in constants.PROTECTED_ATTRIBUTES]
    if unknown or not protected:
        raise UserError(
            f"unknown protected attribute(s) {', '.join(unknown) or '(none given)'}: "
            f"choose from {', '.join(constants.PROTECTED_ATTRIBUTES)}"
        )
    if outcome not in OUTCOMES:
        raise UserError(f"unknown outcome {outcome!r}: choose one of {', '.join(OUTCOMES)}")
    data_dir = datasets.require_folder(data_dir)
    if report_dir == DEFAULT_REPORT_DIR:
        report_dir = runs.report_folder(constants.FAIRNESS_REPORTS_DIR, data_dir)
    report_dir = datasets.check_writable(report_dir)
    customers = load_customers(data_dir, protected, seed=seed, max_customers=max_customers)
    report, groups, weights = fairness_analysis(customers, protected, outcome, seed=seed, mitigate=mitigate)
    report["data_dir"] = data_dir
    stem = storage.join(report_dir, f"fairness_{outcome}")
    report["files"] = {"groups": f"{stem}_groups.csv", "chart": f"{stem}_rates.png"}
    if weights is not None:
        report["files"]["reweighing_weights"] = storage.write_table(weights, f"{stem}_reweighing_weights.csv")
    storage.write_table(groups, report["files"]["groups"])
    storage.write_bytes(rates_chart(groups, outcome), report["files"]["chart"])
    report["files"]["report"] = storage.write_text(json.dumps(report, indent=2) + "\n", f"{stem}.json")
    return report, groups


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (exit 0 report written, whatever its verdict; 2 bad input)."""
    parser = base_parser("AI Fairness 360 parity and equalized-odds report across protected groups.")
    parser.add_argument(
        "--data-dir", default=str(constants.DATA_DIR), help="folder holding the datasets (or az://...)"
    )
    parser.add_argument(
        "--protected",
        default=",".join(constants.PROTECTED_ATTRIBUTES),
        help=f"comma-separated subset of {','.join(constants.PROTECTED_ATTRIBUTES)} (default: all)",
    )
    parser.add_argument("--outcome", default="converted", choices=OUTCOMES, help="the outcome to compare")
    parser.add_argument("--mitigate", action="store_true", help="Reweighing and EqOddsPostprocessing")
    parser.add_argument(
        "--report-dir",
        default=None,
        help="where reports go, used as given (default: fairness/reports/<data folder>-<run id>/)",
    )
    args = parser.parse_args(argv)
    setup_logging(args.quiet, args.verbose)
    report, _ = fairness_report(
        args.data_dir,
        split_list(args.protected),
        args.outcome,
        mitigate=args.mitigate,
        report_dir=DEFAULT_REPORT_DIR if args.report_dir is None else args.report_dir,
        seed=args.seed,
        max_customers=constants.READ_MAX_CUSTOMERS,
    )
    sampled = report["sampled"]
    if sampled:
        print(f"sampled: {datasets.describe_sample(sampled)}, with all their engagements and transactions")
    if not args.quiet:
        for attribute, summary in report["attributes"].items():
            pooled = summary["pooled"]
            line = (
                f"{attribute}: privileged {summary['privileged']}, pooled DI {pooled['disparate_impact']}, "
                f"min group DI {summary['min_group_disparate_impact']}, verdict {summary['verdict']}"
            )
            if summary["flagged_groups"]:
                line += f" (flagged: {', '.join(summary['flagged_groups'])})"
            if summary["inconclusive_groups"]:
                line += f" (inconclusive: {', '.join(summary['inconclusive_groups'])})"
            if "mitigation" in summary:
                line += f"; reweighed DI {summary['mitigation']['reweighing']['disparate_impact']}"
            print(line)
        print(f"verdict: {report['verdict']}")
    for kind, path in report["files"].items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    run_main(main)
