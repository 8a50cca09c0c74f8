"""Prepare a sensitive table once for any synthesizer: types, ids, dates, ordinal scales, metadata.

:func:`prepare_table` checks the table (empty, single-valued columns, only ids, missing target all
raise :class:`UserError`), parses text dates, detects SDV metadata (or takes an edited one), puts
ordinal (Likert) scales in their natural order, and drops id columns from what is fitted: a unique
key is regenerated in the copy, any other id is left out. :func:`restore_table` turns sampled rows
back into the input's shape. The same :class:`PreparedTable` feeds GaussianCopula, CTGAN and TVAE.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import constants
from utils.core.cli import UserError

# Text scales recognised as ordinal, lowest first (matched case-insensitively on the full set).
LIKERT_ORDERS = (
    ("strongly disagree", "disagree", "neutral", "agree", "strongly agree"),
    ("strongly disagree", "disagree", "neither agree nor disagree", "agree", "strongly agree"),
    ("not at all", "to a little extent", "to some extent", "to a great extent", "to a very great extent"),
    ("very poor", "poor", "fair", "good", "very good"),
    ("never", "rarely", "sometimes", "often", "always"),
    ("low", "medium", "high"),
)


@dataclass
class PreparedTable:
    """The table as the synthesizers see it, and how to turn samples back into the input's shape."""

    frame: pd.DataFrame  # columns to fit on (no ids), dates as days since 1970-01-01
    metadata: object  # SDV Metadata of ``frame``
    full_metadata: dict  # SDV metadata dict of the whole input, ids included (saved, editable)
    table_name: str
    columns: list[str]  # the input's column order
    regenerated_ids: dict[str, str] = field(default_factory=dict)  # unique key -> "int" / "text"
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why it is not in the copy
    date_formats: dict[str, str] = field(default_factory=dict)  # date column -> output format
    ordinal_orders: dict[str, list] = field(default_factory=dict)
    near_unique_text: dict[str, float] = field(default_factory=dict)  # column -> share of distinct values
    integer_columns: list[str] = field(default_factory=list)  # integer in the input: integer in the copy

    @property
    def sdtypes(self) -> dict[str, str]:
        """Each fitted column's SDV sdtype."""
        return {
            c: s["sdtype"] for c, s in self.metadata.to_dict()["tables"][self.table_name]["columns"].items()
        }

    @property
    def sdmetrics_metadata(self) -> dict:
        """The single-table dict SDMetrics reports take (ordinal scales as categorical)."""
        columns = self.metadata.to_dict()["tables"][self.table_name]["columns"]
        return {
            "columns": {
                c: {"sdtype": "categorical"} if s["sdtype"] == "ordinal" else s for c, s in columns.items()
            }
        }


FITTED_SDTYPES = ("numerical", "datetime", "categorical", "boolean", "ordinal", "id")
DATE_LIKE = (
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\d{1,2}\s+[A-Za-z]{3,9}\.?,?\s+\d{2,4}|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{2,4}|\d{8})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?(Z|[+-]\d{2}:?\d{2})?)?\s*$"
)


def parse_dates(
    frame: pd.DataFrame, share: float = constants.SYNTH_DATE_SHARE
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Dates (datetime columns, or text that is dates in any mix of formats) as days since 1970.

    A text column counts as dates when at least ``share`` of its values look like dates (ISO
    ``2024-03-01``, ``03/01/2024``, ``1 Mar 2024``, ``March 1, 2024``, ``20240301``, with or without
    a time) and parse; the rest become missing. A column that is mostly, but not clearly, dates
    (between half and ``share``) is refused with a message rather than treated as categories,
    whose every value would be copied verbatim. Returns the frame and each date column's output format.

    The synthesizers see a date as a number of days: a copula models it like any other number, and
    SDV's per-value validation of datetime columns (minutes on a few thousand rows) is avoided.
    """
    frame, formats = frame.copy(), {}
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column], formats[column] = _as_days(frame[column])
            continue
        values = frame[column].dropna()
        if frame[column].dtype != object or values.empty or not values.map(type).eq(str).all():
            continue
        looks = values.str.match(DATE_LIKE)
        if looks.mean() < 0.5:
            continue
        parsed = _parse_mixed(frame[column].where(frame[column].astype(str).str.match(DATE_LIKE)))
        parsed_share = parsed.notna().sum() / len(values)
        if parsed_share >= share:
            frame[column], formats[column] = _as_days(parsed)
        else:
            raise UserError(
                f"column {column!r} looks like dates but only {parsed_share:.0%} of its values parse: "
                "fix or drop the other values (else every value would be copied as a category)"
            )
    return frame, formats


def _parse_mixed(values: pd.Series) -> pd.Series:
    """Text dates in any mix of formats (month first when ambiguous), unparseable ones missing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iso = pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)
        rest = values[iso.isna() & values.notna()]
        if len(rest):
            iso.loc[rest.index] = pd.to_datetime(rest, format="mixed", errors="coerce", utc=True)
    return iso.dt.tz_localize(None)


def near_unique_text(
    frame: pd.DataFrame,
    sdtypes: dict[str, str],
    share: float = constants.SYNTH_NEAR_UNIQUE_SHARE,
    min_values: int = constants.SYNTH_NEAR_UNIQUE_MIN_VALUES,
) -> dict[str, float]:
    """Text columns whose values are nearly all distinct: column -> distinct share.

    Names, e-mails, free text, or ids without "id" in their name: as categories, a synthesizer can
    only copy their real values into the copy (and SDV's metadata would list them). Columns SDV
    already took for ids or personal data are listed too (the privacy section names them all).
    """
    flagged = {}
    for column in sdtypes:
        values = frame[column].dropna()
        if frame[column].dtype.kind in "iufbM" or len(values) < min_values:
            continue
        distinct = values.astype(str).nunique() / len(values)
        if distinct >= share:
            flagged[column] = round(float(distinct), 4)
    return flagged


def _as_days(dates: pd.Series) -> tuple[pd.Series, str]:
    """Datetimes as float days since 1970-01-01 (whole days when all are midnight), and their format."""
    dates = pd.to_datetime(dates)
    midnight = bool((dates.dropna() == dates.dropna().dt.normalize()).all())
    days = (dates - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return days.round(0 if midnight else 6), "%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S"


def natural_order(values: list) -> list:
    """Ordinal categories lowest first: numbers numerically, known Likert labels by scale, else as given."""
    try:
        return sorted(values, key=float)
    except (TypeError, ValueError):
        pass
    lowered = {str(v).strip().lower(): v for v in values}
    for scale in LIKERT_ORDERS:
        if set(lowered) <= set(scale):
            return [lowered[label] for label in scale if label in lowered]
    return list(values)


def detect_table_metadata(frame: pd.DataFrame, table_name: str) -> dict:
    """SDV metadata dict detected from ``frame``, with ordinal scales put in their natural order.

    SDV 2.0 detects a small integer or Likert column as ``ordinal`` but records its categories in
    order of first appearance (e.g. ``[3, 4, 5, 2, 1]``): the copula would then see a scrambled scale.
    """
    from sdv.metadata import Metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metadata = Metadata.detect_from_dataframes({table_name: frame}).to_dict()
    for spec in metadata["tables"][table_name]["columns"].values():
        if spec["sdtype"] == "ordinal" and "range_values" in spec:
            spec["range_values"] = natural_order(list(spec["range_values"]))
    return metadata


def check_table(frame: pd.DataFrame, target: str | None) -> None:
    """Raise :class:`UserError` for an input no synthesizer can learn from."""
    if frame.empty or frame.shape[1] == 0:
        raise UserError("the input table is empty: nothing to synthesize")
    if len(frame) < 10:
        raise UserError(f"the input table has only {len(frame)} rows: at least 10 are needed")
    if target is not None and target not in frame.columns:
        raise UserError(f"target column {target!r} is not in the table (columns: {', '.join(frame.columns)})")
    single = [c for c in frame.columns if frame[c].nunique(dropna=False) <= 1]
    if single:
        described = ", ".join(f"{c}={frame[c].iloc[0]!r}" for c in single)
        raise UserError(f"column(s) with a single value carry no information, drop them first: {described}")


def correlation_ratio(values: pd.Series, categories: pd.Series) -> float:
    """eta^2: the share of numeric ``values``' variance explained by ``categories`` (missing dropped)."""
    known = values.notna() & categories.notna()
    x, labels = values[known].astype(float), categories[known].astype(str)
    total = float(((x - x.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    groups = x.groupby(labels)
    return float((groups.size() * (groups.mean() - x.mean()) ** 2).sum() / total)


def structural_categories(
    frame: pd.DataFrame,
    metadata: dict,
    *,
    exclude: tuple[str, ...] = (),
    threshold: float = constants.SYNTH_STRUCTURAL_ETA2,
    max_categories: int = constants.SYNTH_STRUCTURAL_MAX_CATEGORIES,
    tie: float = constants.SYNTH_STRUCTURAL_CRAMERS_V,
    rows_per_class: int = constants.SYNTH_PARTITION_ROWS,
) -> list[str]:
    """Categorical columns worth a copula per class: those that nearly determine a numeric column
    (``eta^2 >= threshold``), then those strongly tied to another category (Cramér's V >= ``tie``).

    A Gaussian copula sees a category as one jittered uniform latent tied to the rest by linear
    correlations: when a category sets the level of a column (``rater_group`` -> ``n_raters`` and the
    score levels in the 360 demo), that structure is smeared over every class and the rows it mixes
    lose what tells classes apart. Two categories tied to each other (``relationship`` and
    ``marital_status`` in a census table) lose their non-monotone pattern the same way: train-on-copy
    F1 of either from the others fell to 0.67-0.72 of train-on-real, and rose to 1.0 with a copula per
    class of ``relationship``. Of each tied pair one column is chosen (the one in most tied pairs,
    then the one with fewer classes), while the classes of ``exclude`` (the target) and of the
    chosen columns leave about ``rows_per_class`` rows a class. ``metadata`` is the SDV single-table
    ``columns`` dict; columns in ``exclude`` and with over ``max_categories`` values are skipped.
    """
    from utils.metrics.fidelity import cramers_v_matrix

    numeric = [c for c, spec in metadata.items() if spec["sdtype"] in ("numerical", "datetime")]
    categories = [
        c
        for c, spec in metadata.items()
        if spec["sdtype"] in ("categorical", "boolean") and 2 <= frame[c].nunique() <= max_categories
    ]
    chosen = [
        c
        for c in categories
        if c not in exclude and any(correlation_ratio(frame[n], frame[c]) >= threshold for n in numeric)
    ]
    if len(categories) < 2:
        return chosen
    strength = cramers_v_matrix(frame, categories)
    tied = [
        (a, b) for i, a in enumerate(categories) for b in categories[i + 1 :] if strength.loc[a, b] >= tie
    ]
    classes = int(np.prod([frame[c].nunique() for c in [*exclude, *chosen] if c in frame.columns]))
    open_pairs = [pair for pair in tied if not set(pair) & {*chosen, *exclude}]
    while open_pairs:
        candidates = sorted(
            {c for pair in open_pairs for c in pair},
            key=lambda c: (-sum(c in pair for pair in open_pairs), frame[c].nunique(), categories.index(c)),
        )
        best = candidates[0]
        if classes * frame[best].nunique() * rows_per_class > len(frame):
            break
        chosen.append(best)
        classes *= frame[best].nunique()
        open_pairs = [pair for pair in open_pairs if best not in pair]
    return chosen


def prepare_table(
    frame: pd.DataFrame, *, table_name: str = "table", metadata: dict | None = None, target: str | None = None
) -> PreparedTable:
    """Check and prepare ``frame``; ``metadata`` (an SDV metadata dict) overrides detection."""
    from sdv.metadata import Metadata

    check_table(frame, target)
    parsed, date_formats = parse_dates(frame)
    full = metadata or detect_table_metadata(parsed, table_name)
    if table_name not in full.get("tables", {}):
        table_name = next(iter(full.get("tables", {})), table_name)
    spec = full["tables"][table_name]
    unknown = sorted(set(spec.get("columns", {})) ^ set(frame.columns))
    if unknown:
        raise UserError(f"metadata and table disagree on column(s): {', '.join(unknown)}")
    if target is not None and spec["columns"][target]["sdtype"] == "id":
        raise UserError(f"target column {target!r} is an id: choose a column with repeating classes")
    for column, column_spec in spec["columns"].items():
        if column_spec["sdtype"] not in FITTED_SDTYPES:  # e-mail, name, phone...: personal, never fitted
            spec["columns"][column] = {"sdtype": "id"}
    sdtypes = {c: s["sdtype"] for c, s in spec["columns"].items()}
    text = near_unique_text(parsed, sdtypes) if metadata is None else {}
    if target in text:
        raise UserError(
            f"target column {target!r} is nearly unique text: choose a column with repeating classes"
        )
    for column in text:
        spec["columns"][column] = {"sdtype": "id"}  # never fitted, never listed: regenerated or dropped
    ids = [c for c, s in spec["columns"].items() if s["sdtype"] == "id"]
    if len(ids) == len(frame.columns):
        raise UserError(f"the table has only id columns ({', '.join(ids)}): nothing to synthesize")
    regenerated, dropped = {}, {}
    for column in ids:
        if parsed[column].is_unique and parsed[column].notna().all():
            regenerated[column] = "int" if pd.api.types.is_integer_dtype(parsed[column]) else "text"
        elif column in text:
            dropped[column] = (
                f"nearly unique text ({text[column]:.0%} distinct: names, e-mails, free text or ids):"
                " left out of the copy"
            )
        else:
            dropped[column] = "id (not unique): left out of the copy"
    kept = [c for c in frame.columns if c not in ids]
    fit_spec = {"columns": {c: spec["columns"][c] for c in kept}}
    fit_metadata = Metadata.load_from_dict({"tables": {table_name: fit_spec}})
    orders = {c: list(s["range_values"]) for c, s in fit_spec["columns"].items() if s["sdtype"] == "ordinal"}
    return PreparedTable(
        frame=parsed[kept].reset_index(drop=True),
        metadata=fit_metadata,
        full_metadata=full,
        table_name=table_name,
        columns=list(frame.columns),
        regenerated_ids=regenerated,
        dropped=dropped,
        date_formats={c: f for c, f in date_formats.items() if c in kept},
        ordinal_orders=orders,
        near_unique_text=text,
        integer_columns=[
            c
            for c in kept
            if pd.api.types.is_integer_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        ],
    )


def restore_table(prepared: PreparedTable, sampled: pd.DataFrame) -> pd.DataFrame:
    """Sampled rows in the input's shape: fresh unique keys, dates as text, dropped columns left out."""
    out = sampled.copy()
    for column in prepared.integer_columns:
        if column in out and pd.api.types.is_float_dtype(out[column]):
            values = out[column].round()
            out[column] = values.astype("int64") if values.notna().all() else values.astype("Int64")
    for column, kind in prepared.regenerated_ids.items():
        numbers = np.arange(1, len(out) + 1)
        out[column] = numbers if kind == "int" else [f"SYN-{n:07d}" for n in numbers]
    for column, fmt in prepared.date_formats.items():
        days = pd.to_numeric(out[column]).round(0 if fmt == "%Y-%m-%d" else 6)
        out[column] = (pd.Timestamp("1970-01-01") + pd.to_timedelta(days, unit="D")).dt.strftime(fmt)
    return out[[c for c in prepared.columns if c not in prepared.dropped]]


OUTCOME_NAMES = ("target", "label", "outcome", "class", "y", "response", "income", "churn", "converted")


def likely_target(frame: pd.DataFrame, sdtypes: dict[str, str]) -> str | None:
    """The column most likely to be the table's outcome when none is given, or None.

    A binary categorical column named like an outcome (``target``, ``label``, ``y``, ``income``...),
    else the last binary categorical column (tables usually end with their outcome). The copy is
    conditioned on it as on a given target, and the console and report say so.
    """
    binary = [
        c
        for c, sdtype in sdtypes.items()
        if sdtype in ("categorical", "boolean") and frame[c].nunique(dropna=True) == 2
    ]
    named = [c for c in binary if c.strip().lower() in OUTCOME_NAMES]
    return (named or binary[-1:] or [None])[0]
