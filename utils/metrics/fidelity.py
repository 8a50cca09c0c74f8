"""How closely one table's distributions follow another's: generic functions on two DataFrames.

Per column, the Kolmogorov–Smirnov statistic (numeric, datetime) or the total variation distance
(categorical); per pair, the difference of the Pearson (numeric) and Cramér's V (categorical)
matrices; and SDMetrics' QualityReport (column shapes and column pair trends). Each takes a
``real`` and a ``synthetic`` frame with the same columns; nothing here knows about any dataset.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def is_numeric(series: pd.Series) -> bool:
    """True for numbers and datetimes (compared by KS), False for categories and text (by TVD)."""
    return (
        pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    ) or pd.api.types.is_datetime64_any_dtype(series)


def ks_statistic(real: pd.Series, synthetic: pd.Series) -> float:
    """Two-sample Kolmogorov–Smirnov statistic of two numeric (or datetime) series, missing values dropped."""
    a, b = (values[~np.isnan(values)] for values in (as_float(real), as_float(synthetic)))
    if a.size == 0 or b.size == 0:
        return float((a.size == 0) != (b.size == 0))
    return float(stats.ks_2samp(a, b).statistic)


def is_datetime(series: pd.Series) -> bool:
    """True for a datetime column."""
    return pd.api.types.is_datetime64_any_dtype(series)


def as_float(series: pd.Series) -> np.ndarray:
    """A numeric or datetime series as floats (datetimes in nanoseconds), missing values as NaN."""
    if is_datetime(series):
        return series.astype("int64").astype(float).where(series.notna()).to_numpy(float)
    return pd.to_numeric(series, errors="coerce").to_numpy(float)


def as_labels(series: pd.Series) -> pd.Series:
    """A series as plain object labels, missing values as ``"<missing>"`` (values kept, never downcast).

    ``astype(object).fillna(...)`` would silently downcast columns without gaps (bools, integers) and
    warns about it in pandas 2.x; ``where`` keeps the object dtype and the same values.
    """
    values = series.astype("object")
    return values.where(values.notna(), "<missing>")


def tvd(real: pd.Series, synthetic: pd.Series) -> float:
    """Total variation distance of two categorical series (missing values count as a category)."""
    p = as_labels(real).value_counts(normalize=True)
    q = as_labels(synthetic).value_counts(normalize=True)
    return float(0.5 * p.subtract(q, fill_value=0).abs().sum())


def column_distances(
    real: pd.DataFrame, synthetic: pd.DataFrame, tolerance: float | None = None
) -> pd.DataFrame:
    """Per shared column: ``column``, ``metric`` (ks/tvd), ``distance`` (and ``passed`` given a tolerance)."""
    rows = []
    for column in [c for c in real.columns if c in synthetic.columns]:
        numeric = is_numeric(real[column]) and is_numeric(synthetic[column])
        distance = (ks_statistic if numeric else tvd)(real[column], synthetic[column])
        rows.append({"column": column, "metric": "ks" if numeric else "tvd", "distance": round(distance, 6)})
    frame = pd.DataFrame(rows, columns=["column", "metric", "distance"])
    if tolerance is not None:
        frame["passed"] = frame["distance"] <= tolerance
    return frame


def cramers_v(x: pd.Series, y: pd.Series) -> float:
    """Cramér's V of two categorical series (0 = independent, 1 = determined), bias-uncorrected."""
    table = pd.crosstab(as_labels(x), as_labels(y))
    if min(table.shape) < 2:
        return 0.0
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    return float(np.sqrt(chi2 / (table.to_numpy().sum() * (min(table.shape) - 1))))


def association_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Pearson correlation among numeric ``columns`` and Cramér's V among the categorical ones."""
    numeric = [c for c in columns if is_numeric(frame[c])]
    categorical = [c for c in columns if c not in numeric]
    matrix = pd.DataFrame(np.nan, index=list(columns), columns=list(columns))
    if numeric:
        values = pd.DataFrame({c: as_float(frame[c]) for c in numeric})
        matrix.loc[numeric, numeric] = values.corr().fillna(0.0).to_numpy()
    for i, a in enumerate(categorical):
        for b in categorical[i:]:
            matrix.loc[a, b] = matrix.loc[b, a] = 1.0 if a == b else cramers_v(frame[a], frame[b])
    return matrix


def correlation_difference(
    real: pd.DataFrame, synthetic: pd.DataFrame, max_categories: int = 50
) -> pd.DataFrame:
    """Long table of column pairs: ``kind`` (pearson/cramers_v), real and synthetic values, ``difference``.

    Categorical columns with more than ``max_categories`` values (free text, codes) are left out.
    """
    columns = [
        c
        for c in real.columns
        if c in synthetic.columns and (is_numeric(real[c]) or real[c].nunique() <= max_categories)
    ]
    kinds = {c: "pearson" if is_numeric(real[c]) else "cramers_v" for c in columns}
    left, right = association_matrix(real, columns), association_matrix(synthetic, columns)
    rows = [
        {
            "column_1": a,
            "column_2": b,
            "kind": kinds[a],
            "real": round(float(left.loc[a, b]), 6),
            "synthetic": round(float(right.loc[a, b]), 6),
        }
        for i, a in enumerate(columns)
        for b in columns[i + 1 :]
        if kinds[a] == kinds[b]
    ]
    frame = pd.DataFrame(rows, columns=["column_1", "column_2", "kind", "real", "synthetic"])
    frame["difference"] = (frame["synthetic"] - frame["real"]).abs().round(6)
    return frame


def quality_report(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict) -> dict:
    """SDMetrics QualityReport: overall score, the two property scores, and per-column shape scores.

    ``metadata`` is SDMetrics' single-table dict (``{"columns": {name: {"sdtype": ...}}}``).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        report.generate(real, synthetic, metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    shapes = report.get_details("Column Shapes")
    return {
        "score": round(float(report.get_score()), 4),
        "column_shapes": round(float(properties["Column Shapes"]), 4),
        "column_pair_trends": round(float(properties["Column Pair Trends"]), 4),
        "column_shape_scores": {row["Column"]: round(float(row["Score"]), 4) for _, row in shapes.iterrows()},
    }


def cramers_v_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Cramér's V of every pair of categorical ``columns`` at once (one co-occurrence product).

    The same figures as :func:`cramers_v` pair by pair (bias-uncorrected), in one matrix product of
    the one-hot table: fast on wide tables (thousands of pairs).
    """
    columns = list(columns)
    codes, sizes = [], []
    for column in columns:
        labels = as_labels(frame[column]).astype(str)
        code, uniques = pd.factorize(labels, sort=True)
        codes.append(code)
        sizes.append(len(uniques))
    n = len(frame)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    onehot = np.zeros((n, int(offsets[-1])), dtype=np.float32)
    for j, code in enumerate(codes):
        onehot[np.arange(n), offsets[j] + code] = 1.0
    counts = (onehot.T @ onehot).astype(float)
    totals = np.diag(counts)
    matrix = pd.DataFrame(np.eye(len(columns)), index=columns, columns=columns)
    for i in range(len(columns)):
        rows = slice(offsets[i], offsets[i + 1])
        for j in range(i + 1, len(columns)):
            cols = slice(offsets[j], offsets[j + 1])
            if min(sizes[i], sizes[j]) < 2 or n == 0:
                value = 0.0
            else:
                expected = np.outer(totals[rows], totals[cols]) / n
                chi2 = float((((counts[rows, cols] - expected) ** 2) / expected).sum())
                value = float(np.sqrt(chi2 / (n * (min(sizes[i], sizes[j]) - 1))))
            matrix.iloc[i, j] = matrix.iloc[j, i] = value
    return matrix


def correlation_difference_fast(
    real: pd.DataFrame, synthetic: pd.DataFrame, max_categories: int = 50
) -> pd.DataFrame:
    """:func:`correlation_difference`, its Cramér's V from :func:`cramers_v_matrix` (fast on wide tables)."""
    columns = [
        c
        for c in real.columns
        if c in synthetic.columns and (is_numeric(real[c]) or real[c].nunique() <= max_categories)
    ]
    numeric = [c for c in columns if is_numeric(real[c])]
    categorical = [c for c in columns if c not in numeric]
    rows = []
    for kind, group in (("pearson", numeric), ("cramers_v", categorical)):
        if len(group) < 2:
            continue
        if kind == "pearson":
            left, right = (
                pd.DataFrame({c: as_float(f[c]) for c in group}).corr().fillna(0.0) for f in (real, synthetic)
            )
        else:
            left, right = cramers_v_matrix(real, group), cramers_v_matrix(synthetic, group)
        a, b = np.triu_indices(len(group), k=1)
        rows.append(
            pd.DataFrame(
                {
                    "column_1": np.array(group)[a],
                    "column_2": np.array(group)[b],
                    "kind": kind,
                    "real": np.round(left.to_numpy()[a, b], 6),
                    "synthetic": np.round(right.to_numpy()[a, b], 6),
                }
            )
        )
    frame = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["column_1", "column_2", "kind", "real", "synthetic"])
    )
    frame["difference"] = (frame["synthetic"] - frame["real"]).abs().round(6)
    return frame
