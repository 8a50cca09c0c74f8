"""SDMetrics quality and diagnostic scores per table, as extra evidence beside our own checks.

Run on seeded samples of ``constants.VALIDATION_SDMETRICS_ROWS`` rows per side (the reports compare
every column pair, which is slow on full tables). The scores are reported as ``info``: SDMetrics'
own scales are not calibrated to this data, our distribution and correlation checks give verdicts.
"""

from __future__ import annotations

import math
import warnings

import pandas as pd

from utils.metrics import fidelity
from validation.checks import INFO, Check
from validation.distributions import comparable_columns
from validation.loading import KEYS, sample


def metadata(frame: pd.DataFrame, key: str | None) -> dict:
    """SDMetrics single-table metadata inferred from ``frame``'s dtypes (``key`` as primary key)."""
    columns = {}
    for column in frame.columns:
        values = frame[column]
        if column == key:
            columns[column] = {"sdtype": "id"}
        elif pd.api.types.is_bool_dtype(values):
            columns[column] = {"sdtype": "boolean"}
        elif pd.api.types.is_datetime64_any_dtype(values):
            columns[column] = {"sdtype": "datetime"}
        elif pd.api.types.is_numeric_dtype(values):
            columns[column] = {"sdtype": "numerical"}
        else:
            columns[column] = {"sdtype": "categorical"}
    out = {"columns": columns}
    if key:
        out["primary_key"] = key
    return out


def diagnostic_score(real: pd.DataFrame, synthetic: pd.DataFrame, meta: dict) -> dict:
    """SDMetrics DiagnosticReport: overall score and its property scores (validity, structure)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import DiagnosticReport

        report = DiagnosticReport()
        report.generate(real, synthetic, meta, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    return {"score": round(float(report.get_score()), 4)} | {
        name.lower().replace(" ", "_"): round(float(value), 4) for name, value in properties.items()
    }


def _finite(scores: dict) -> dict:
    """NaN scores (SDMetrics gives NaN where a property has nothing to score) as None."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in scores.items()}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def table_scores(seed: pd.DataFrame, synthetic: pd.DataFrame, table: str, rows: int, seed_value: int) -> dict:
    """Quality and diagnostic reports of one table (keys kept for the diagnostic's key checks)."""
    key = KEYS.get(table)
    columns = comparable_columns(seed, synthetic)
    if key in seed.columns and key in synthetic.columns:
        columns = [key, *columns]
    real, fake = (
        sample(frame[columns], rows, seed_value).reset_index(drop=True) for frame in (seed, synthetic)
    )
    meta = metadata(real, key if key in columns else None)
    quality_meta = {"columns": {c: v for c, v in meta["columns"].items() if c != key}}
    without_key = [c for c in columns if c != key]
    quality = fidelity.quality_report(real[without_key], fake[without_key], quality_meta)
    quality.pop("column_shape_scores", None)
    diagnostic = diagnostic_score(real, fake, meta)
    return {"rows": len(real), "quality": _finite(quality), "diagnostic": _finite(diagnostic)}


def sdmetrics_checks(
    seed_tables: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame], rows: int, seed: int
) -> tuple[list[Check], dict]:
    """An ``info`` check per table: the quality score as the figure, both reports in the detail."""
    checks, scores = [], {}
    for table in tables:
        if table not in seed_tables:
            continue
        result = table_scores(seed_tables[table], tables[table], table, rows, seed)
        scores[table] = result
        quality, diagnostic = result["quality"], result["diagnostic"]
        detail = (
            f"quality {_fmt(quality['score'])} (shapes {_fmt(quality['column_shapes'])}, pair trends "
            f"{_fmt(quality['column_pair_trends'])}); diagnostic {_fmt(diagnostic['score'])}"
        )
        checks.append(Check("sdmetrics", f"sdmetrics {table}", INFO, quality["score"], None, detail))
    return checks, scores
