"""Demographic parity: outcome rates across protected groups, four-fifths rule, ground truth.

For each outcome of :mod:`utils.outcomes` (``targeted``, ``converted``, ``high_value``) and each
protected attribute (``constants.PROTECTED_ATTRIBUTES``), every group's rate is compared with the
reference group (``fairness_metrics.choose_privileged``: highest rate by its Wilson lower bound among groups
of at least ``constants.FAIRNESS_MIN_GROUP_SIZE`` customers) as a ratio (disparate impact) and a
difference. A group is *flagged* when its ratio is outside ``constants.FOUR_FIFTHS_RANGE`` and the gap
is significant (two-proportion z-test, p < ``constants.FAIRNESS_ALPHA``), as ``fairness_metrics.di_verdict``
decides.

Policy: a flag is a **warning**, not a failure. Disparities can be real features of the simulated
market (campaigns target age segments; spend follows income), and the chain's bias knob injects
them on purpose. What *fails* the run is a parity picture inconsistent with ``ground_truth.json``:
bias injected on a group and not detected (the group's targeted or converted rate is not
significantly below the reference).
"""

from __future__ import annotations

import pandas as pd

import constants
from utils.chain.outcomes import OUTCOMES, customer_outcomes
from utils.metrics import fairness as fairness_metrics
from validation.checks import FAIL, PASS, SKIP, WARN, Check

LOW, HIGH = constants.FOUR_FIFTHS_RANGE
BIAS_OUTCOMES = ("targeted", "converted")  # what the bias knob acts on


def outcomes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-customer outcomes (``utils.chain.outcomes``) with the protected attributes as text."""
    frame = customer_outcomes(
        tables["demographics"],
        tables["engagements"][["customer_id", "event_type"]],
        tables["transactions"][["customer_id", "amount"]],
    )
    return frame.astype({column: str for column in constants.PROTECTED_ATTRIBUTES})


def group_rates(customers: pd.DataFrame, outcome: str, attribute: str) -> pd.DataFrame:
    """One row per group: customers, rate, ratio and difference to the reference, p-value, flag."""
    labels, groups = customers[outcome].astype(bool), customers[attribute]
    reference, _ = fairness_metrics.choose_privileged(labels, groups)
    counts, positives = groups.value_counts(), labels.groupby(groups).sum()
    ref_n, ref_pos = int(counts[reference]), int(positives[reference])
    ref_rate = ref_pos / ref_n
    rows = []
    for group in sorted(counts.index):
        n, pos = int(counts[group]), int(positives[group])
        rate = pos / n
        ratio = rate / ref_rate if ref_rate > 0 else None
        p_value = fairness_metrics.two_proportion_p_value([pos, ref_pos], [n, ref_n])
        if group == reference:
            status = "reference"
        elif n < constants.FAIRNESS_MIN_GROUP_SIZE:
            status = "insufficient_data"
        else:
            status = fairness_metrics.di_verdict(ratio, p_value)
        rows.append(
            {
                "outcome": outcome,
                "attribute": attribute,
                "group": str(group),
                "customers": n,
                "rate": round(rate, 6),
                "reference": str(reference),
                "ratio": None if ratio is None else round(ratio, 6),
                "difference": round(rate - ref_rate, 6),
                "p_value": round(p_value, 6),
                "verdict": status,
                "flagged": status == "fail",
            }
        )
    return pd.DataFrame(rows)


def parity_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Group rates for every outcome x protected attribute."""
    frames = [
        group_rates(customers, outcome, attribute)
        for outcome in OUTCOMES
        for attribute in constants.PROTECTED_ATTRIBUTES
        if customers[outcome].any()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def outcome_checks(table: pd.DataFrame) -> list[Check]:
    """Per outcome: ``warn`` naming the flagged groups, else ``pass``; the figure is the lowest ratio."""
    checks = []
    for outcome in OUTCOMES:
        rows = table[table["outcome"] == outcome] if len(table) else table
        judged = rows[rows["verdict"].isin(["pass", "fail", "inconclusive"])] if len(rows) else rows
        if judged.empty:
            checks.append(Check("parity", f"parity {outcome}", SKIP, detail="no customer has this outcome"))
            continue
        lowest = judged.loc[judged["ratio"].astype(float).idxmin()]
        flagged = judged[judged["flagged"]]
        names = [f"{r.attribute}={r.group} ({r.ratio:.2f})" for r in flagged.itertuples()]
        detail = (
            f"beyond four-fifths: {', '.join(names)}"
            if names
            else f"all groups within [{LOW}, {HIGH}] or not significant"
        )
        detail += f"; lowest {lowest['attribute']}={lowest['group']} ratio {float(lowest['ratio']):.3f}"
        status = WARN if names else PASS
        checks.append(Check("parity", f"parity {outcome}", status, float(lowest["ratio"]), LOW, detail))
    return checks


def ground_truth_check(table: pd.DataFrame, truth: dict | None) -> tuple[Check, dict]:
    """Is the parity picture consistent with the injected bias of ``ground_truth.json``?"""
    bias = (truth or {}).get("bias") or {}
    if not truth:
        return Check("parity", "parity vs ground truth", SKIP, detail="no ground_truth.json"), {}
    if not bias.get("active"):
        flagged = int(table["flagged"].sum()) if len(table) else 0
        detail = f"no bias injected; {flagged} natural disparity flag(s) reported as warnings"
        return Check("parity", "parity vs ground truth", PASS, detail=detail), {"injected": False}
    ((attribute, group),) = bias["group"].items()
    rows = table[
        (table["attribute"] == attribute)
        & (table["group"] == str(group))
        & table["outcome"].isin(BIAS_OUTCOMES)
    ]
    detected = rows[(rows["difference"] < 0) & (rows["p_value"] < constants.FAIRNESS_ALPHA)]
    flagged = rows[rows["flagged"]]
    result = {
        "injected": True,
        "group": {attribute: group},
        "strength": bias.get("strength"),
        "detected_in": detected["outcome"].tolist(),
        "flagged_in": flagged["outcome"].tolist(),
    }
    ratios = ", ".join(f"{r.outcome} ratio {r.ratio:.2f}" for r in rows.itertuples() if r.ratio is not None)
    if len(detected):
        detail = f"injected bias against {attribute}={group} detected ({ratios})"
        return Check("parity", "parity vs ground truth", PASS, detail=detail), result
    detail = (
        f"bias injected against {attribute}={group} (strength {bias.get('strength')}) not detected ({ratios})"
    )
    return Check("parity", "parity vs ground truth", FAIL, detail=detail), result
