"""Machine-learning utility of a synthetic table: train on synthetic, test on real (TSTR).

A gradient-boosted classifier (scikit-learn's HistGradientBoosting, categories native) is trained
once on the real training rows and once on the synthetic rows, and both are scored on the same real
holdout: accuracy and F1 (binary: of the rarer class in the real training rows; multiclass: macro).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score
from threadpoolctl import threadpool_limits

from utils.metrics.fidelity import as_float, as_labels, is_numeric


def _features(frame: pd.DataFrame, reference: pd.DataFrame, target: str) -> tuple[pd.DataFrame, list[bool]]:
    """Numeric features as floats, categorical ones as codes of ``reference``'s categories."""
    columns, categorical = {}, []
    for column in reference.columns.drop(target):
        if is_numeric(reference[column]):
            columns[column] = as_float(frame[column])
            categorical.append(False)
        else:
            categories = as_labels(reference[column]).unique()
            codes = pd.Categorical(as_labels(frame[column]), categories=categories).codes
            columns[column] = np.where(codes < 0, np.nan, codes).astype(float)
            categorical.append(len(categories) <= 250)
    return pd.DataFrame(columns, index=frame.index), categorical


def _score(train: pd.DataFrame, test: pd.DataFrame, reference: pd.DataFrame, target: str, seed: int) -> dict:
    x_train, categorical = _features(train, reference, target)
    x_test, _ = _features(test, reference, target)
    y_train, y_test = train[target].astype(str), test[target].astype(str)
    if y_train.nunique() < 2:
        return {"accuracy": float(accuracy_score(y_test, np.full(len(y_test), y_train.iloc[0]))), "f1": 0.0}
    model = HistGradientBoostingClassifier(random_state=seed, categorical_features=categorical)
    # One OpenMP thread: once torch (SDV's CTGAN/TVAE, imported by the synthesizers) has started its own
    # OpenMP pool, HistGradientBoosting's threads spin against it and a fit on 400 rows took 15 s, not 0.1.
    with threadpool_limits(limits=1, user_api="openmp"):
        predicted = model.fit(x_train, y_train).predict(x_test)
    labels = reference[target].astype(str).value_counts()
    if len(labels) == 2:
        f1 = f1_score(y_test, predicted, pos_label=labels.index[-1], average="binary", zero_division=0)
    else:
        f1 = f1_score(y_test, predicted, labels=list(labels.index), average="macro", zero_division=0)
    return {"accuracy": round(float(accuracy_score(y_test, predicted)), 4), "f1": round(float(f1), 4)}


def tstr_utility(
    training: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, target: str, *, seed: int = 0
) -> dict:
    """Train-on-real and train-on-synthetic scores on the real ``holdout``, and their F1 ratio."""
    holdout = holdout[holdout[target].notna()]
    real = _score(training[training[target].notna()], holdout, training, target, seed)
    synthetic_scores = _score(synthetic[synthetic[target].notna()], holdout, training, target, seed)
    labels = training[target].astype(str).value_counts()
    return {
        "target": target,
        "f1_average": "binary" if len(labels) == 2 else "macro",
        "positive_class": labels.index[-1] if len(labels) == 2 else None,
        "train_real": real,
        "train_synthetic": synthetic_scores,
        "f1_ratio": round(synthetic_scores["f1"] / real["f1"], 4) if real["f1"] else None,
    }


def low_cardinality_columns(frame: pd.DataFrame, max_categories: int = 10) -> list[str]:
    """Categorical (non-numeric) columns with 2 to ``max_categories`` values: the targets to try in turn."""
    return [
        c for c in frame.columns if not is_numeric(frame[c]) and 2 <= frame[c].nunique() <= max_categories
    ]


def categorical_utility(
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    targets: list[str],
    *,
    seed: int = 0,
    max_rows: int | None = None,
    min_f1: float = 0.1,
) -> dict:
    """TSTR with each of ``targets`` as the target in turn: per column F1s and ratio, and the mean ratio.

    How much of every categorical column's dependence on the others the copy keeps, without knowing
    which one is the outcome. ``max_rows`` caps the training and synthetic rows (a seeded sample);
    columns the real rows predict with an F1 under ``min_f1`` have no meaningful ratio and are left
    out of the mean (``counted``: False).
    """
    if max_rows is not None:
        training = training.sample(min(len(training), max_rows), random_state=seed % 2**32)
        synthetic = synthetic.sample(min(len(synthetic), max_rows), random_state=seed % 2**32)
    per = {}
    for target in targets:
        result = tstr_utility(training, holdout, synthetic, target, seed=seed)
        per[target] = {
            "f1_real": result["train_real"]["f1"],
            "f1_synthetic": result["train_synthetic"]["f1"],
            "f1_ratio": result["f1_ratio"],
            "counted": result["f1_ratio"] is not None and result["train_real"]["f1"] >= min_f1,
        }
    ratios = [v["f1_ratio"] for v in per.values() if v["counted"]]
    return {
        "targets": per,
        "mean_f1_ratio": round(float(np.mean(ratios)), 4) if ratios else None,
        "min_f1_ratio": round(float(np.min(ratios)), 4) if ratios else None,
        "rows": len(training),
    }
