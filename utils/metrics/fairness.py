"""AI Fairness 360 glue: group fairness metrics, reweighing and equalized-odds post-processing.

aif360 works on binary splits of a numeric frame; these helpers take plain pandas Series (a boolean
outcome, the group of each row, optional predictions and weights), encode "row is in the privileged
group" as the protected attribute (1 = privileged) and return plain floats, so ``fairness.py`` can
compare every group of an attribute with the privileged one (or the privileged one with all others).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
from scipy import stats

import constants

PROTECTED = "privileged"  # the encoded protected attribute: 1 for the privileged group, 0 otherwise
LABEL = "label"
PRIVILEGED = [{PROTECTED: 1}]
UNPRIVILEGED = [{PROTECTED: 0}]
PASS, FAIL, INCONCLUSIVE, INSUFFICIENT = "pass", "fail", "inconclusive", "insufficient_data"
DIFFERENCES = (
    "statistical_parity_difference",
    "true_positive_rate_difference",
    "false_positive_rate_difference",
    "average_odds_difference",
    "equal_opportunity_difference",
)


@contextmanager
def _quiet_imports():
    """aif360 logs a warning per optional extra (fairlearn, inFairness…) that it cannot import."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def binary_dataset(
    labels: pd.Series,
    privileged: pd.Series,
    weights: pd.Series | np.ndarray | None = None,
    scores: np.ndarray | None = None,
):
    """An aif360 ``BinaryLabelDataset``: boolean ``labels``, boolean ``privileged`` membership."""
    with _quiet_imports():
        from aif360.datasets import BinaryLabelDataset

    frame = pd.DataFrame(
        {
            PROTECTED: np.asarray(privileged, dtype=float),
            LABEL: np.asarray(labels, dtype=float),
        }
    )
    dataset = BinaryLabelDataset(
        favorable_label=1.0, unfavorable_label=0.0, df=frame, label_names=[LABEL],
        protected_attribute_names=[PROTECTED],
    )  # fmt: skip
    if weights is not None:
        dataset.instance_weights = np.asarray(weights, dtype=float)
    if scores is not None:
        dataset.scores = np.asarray(scores, dtype=float).reshape(-1, 1)
    return dataset


def parity(labels: pd.Series, privileged: pd.Series, weights: pd.Series | None = None) -> dict[str, float]:
    """Statistical parity difference and disparate impact (unprivileged vs privileged) with both rates.

    With ``weights`` (e.g. from :func:`reweighing_weights`) every rate is the weighted rate.
    """
    with _quiet_imports():
        from aif360.metrics import BinaryLabelDatasetMetric

    metric = BinaryLabelDatasetMetric(
        binary_dataset(labels, privileged, weights),
        unprivileged_groups=UNPRIVILEGED,
        privileged_groups=PRIVILEGED,
    )
    return {
        "privileged_rate": _float(metric.base_rate(privileged=True)),
        "unprivileged_rate": _float(metric.base_rate(privileged=False)),
        "statistical_parity_difference": _float(metric.statistical_parity_difference()),
        "disparate_impact": _float(metric.disparate_impact()),
    }


def equalized_odds(labels: pd.Series, predicted: pd.Series, privileged: pd.Series) -> dict[str, float]:
    """TPR/FPR difference, average odds and equal opportunity difference (unprivileged − privileged)."""
    with _quiet_imports():
        from aif360.metrics import ClassificationMetric

    truth = binary_dataset(labels, privileged)
    prediction = truth.copy()
    prediction.labels = np.asarray(predicted, dtype=float).reshape(-1, 1)
    metric = ClassificationMetric(
        truth, prediction, unprivileged_groups=UNPRIVILEGED, privileged_groups=PRIVILEGED
    )
    return {
        "privileged_tpr": _float(metric.true_positive_rate(privileged=True)),
        "unprivileged_tpr": _float(metric.true_positive_rate(privileged=False)),
        "privileged_fpr": _float(metric.false_positive_rate(privileged=True)),
        "unprivileged_fpr": _float(metric.false_positive_rate(privileged=False)),
        "true_positive_rate_difference": _float(metric.true_positive_rate_difference()),
        "false_positive_rate_difference": _float(metric.false_positive_rate_difference()),
        "average_odds_difference": _float(metric.average_odds_difference()),
        "equal_opportunity_difference": _float(metric.equal_opportunity_difference()),
    }


def reweighing_weights(labels: pd.Series, groups: pd.Series) -> pd.Series:
    """aif360 ``Reweighing`` weights for every group of a multi-valued attribute.

    aif360's Reweighing is binary; fitted with group *g* as privileged against the rest, it gives the
    rows of *g* the weight P(g)·P(y) / P(g, y) — exactly the multi-group reweighing weight — so one
    fit per group, keeping the weights of that group's rows, reweighs every group at once: afterwards
    each group's weighted outcome rate equals the overall rate.
    """
    with _quiet_imports():
        from aif360.algorithms.preprocessing import Reweighing

    weights = pd.Series(1.0, index=labels.index)
    for group in sorted(groups.unique()):
        member = groups == group
        dataset = binary_dataset(labels, member)
        with np.errstate(divide="ignore", invalid="ignore"):  # empty cells: weights never used
            transformed = Reweighing(
                unprivileged_groups=UNPRIVILEGED, privileged_groups=PRIVILEGED
            ).fit_transform(dataset)
        weights[member.to_numpy()] = transformed.instance_weights[member.to_numpy()]
    return weights


def eq_odds_postprocess(
    fit_labels: pd.Series,
    fit_predicted: pd.Series,
    fit_privileged: pd.Series,
    predicted: pd.Series,
    privileged: pd.Series,
    seed: int,
) -> np.ndarray | str:
    """aif360 ``EqOddsPostprocessing``: fit on one labelled split, return adjusted ``predicted`` labels.

    Returns a reason (str) instead when the linear program is undefined: a side of the fitting split
    whose outcome or prediction takes a single value (e.g. every privileged customer targeted).
    """
    with _quiet_imports():
        from aif360.algorithms.postprocessing import EqOddsPostprocessing

    side = np.asarray(fit_privileged, dtype=bool)
    for name, values in (("outcome", np.asarray(fit_labels)), ("prediction", np.asarray(fit_predicted))):
        if len(np.unique(values[side])) < 2 or len(np.unique(values[~side])) < 2:
            return f"not applicable: the {name} takes one value in a group of the fitting split"
    truth = binary_dataset(fit_labels, fit_privileged)
    fitted = truth.copy()
    fitted.labels = np.asarray(fit_predicted, dtype=float).reshape(-1, 1)
    post = EqOddsPostprocessing(unprivileged_groups=UNPRIVILEGED, privileged_groups=PRIVILEGED, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            post.fit(truth, fitted)
        except ValueError as error:  # scipy's linprog rejects a degenerate problem
            return f"not applicable: {error}"
    target = binary_dataset(predicted, privileged)  # labels are the predictions to adjust
    return post.predict(target).labels.ravel().astype(bool)


def two_proportion_p_value(successes: Sequence[float], totals: Sequence[float]) -> float:
    """Two-sided p-value of a two-proportion z-test (1.0 when undefined, e.g. a zero pooled rate)."""
    (x1, x2), (n1, n2) = successes, totals
    if min(n1, n2) <= 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / spread
    return float(2 * stats.norm.sf(abs(z)))


def wilson_lower_bound(successes: float, total: float, z: float = 1.96) -> float:
    """Lower end of the Wilson score interval of a proportion (0 for an empty group)."""
    if total <= 0:
        return 0.0
    rate = successes / total
    centre = rate + z * z / (2 * total)
    margin = z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total))
    return (centre - margin) / (1 + z * z / total)


def _float(value) -> float | None:
    """A JSON-friendly float: rounded to 6 places, None for NaN/inf (an undefined ratio)."""
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


# --- verdicts (fairness.py and validation/parity.py) ---------------------------------------------
def di_verdict(value: float | None, p_value: float | None = None) -> str:
    """Four-fifths rule: pass inside the range; fail outside it when significant, else inconclusive."""
    if value is None:
        return INSUFFICIENT
    low, high = constants.FOUR_FIFTHS_RANGE
    if low <= value <= high:
        return PASS
    return FAIL if p_value is None or p_value < constants.FAIRNESS_ALPHA else INCONCLUSIVE


def difference_verdict(value: float | None) -> str:
    """Absolute tolerance: pass when |value| <= constants.FAIRNESS_TOLERANCE."""
    if value is None:
        return INSUFFICIENT
    return PASS if abs(value) <= constants.FAIRNESS_TOLERANCE else FAIL


def verdicts(metrics: dict) -> dict:
    """A verdict for every known metric present in ``metrics``."""
    out = {}
    if "disparate_impact" in metrics:
        out["disparate_impact"] = di_verdict(metrics["disparate_impact"], metrics.get("p_value"))
    out.update({name: difference_verdict(metrics[name]) for name in DIFFERENCES if name in metrics})
    return out


def choose_privileged(labels: pd.Series, groups: pd.Series) -> tuple[str, str]:
    """The privileged group (highest Wilson lower bound of its rate among large enough groups), and why."""
    counts = groups.value_counts()
    positives = labels.groupby(groups).sum()
    eligible = counts[counts >= constants.FAIRNESS_MIN_GROUP_SIZE].index
    candidates = eligible if len(eligible) else counts.index
    bounds = {g: wilson_lower_bound(positives[g], counts[g]) for g in sorted(candidates)}
    privileged = max(bounds, key=lambda g: (bounds[g], g))
    reason = (
        f"highest outcome rate by the lower end of its 95% Wilson interval among groups with at least "
        f"{constants.FAIRNESS_MIN_GROUP_SIZE} customers"
    )
    return str(privileged), reason
