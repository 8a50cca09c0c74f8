"""Categories that another column determines: kept as a lookup, not left to the model.

Real tables carry hierarchies and recodings: a customer subtype sets its main type (CoIL 2000's
``MOSTYPE`` -> ``MOSHOOFD``), a years-of-schooling number sets the education label, a state sets its
region. A copula ties two categories by one correlation of their latent scores, and a neural model
by what it learns, so the copy mixes them: measured on the CoIL 2000 table, a gradient-boosting
model trained on the copy predicted the main type with F1 0.15, against 1.00 trained on real rows.

:func:`find_derived` finds each categorical column that another column of few values determines
(its most common class per value of the other covers at least ``SYNTH_DERIVED_SHARE`` of the rows);
the model is fitted without it, and :meth:`Derived.fill` looks it up from the sampled source column.
The pair's joint distribution is then the source's (kept by its marginal) times the lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import constants

MISSING = "<missing>"  # a missing value as one more value of a lookup


def _labels(series: pd.Series) -> pd.Series:
    """Values as hashable keys: missing as :data:`MISSING`, whole floats as the integer (1.0 -> 1)."""
    values = series.astype("object")
    values = values.map(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v)
    return values.where(series.notna(), MISSING)


@dataclass(frozen=True)
class Derived:
    """Column ``column`` as a lookup of column ``source``: ``table[source value] -> value``."""

    column: str
    source: str
    table: dict
    fallback: object  # the most common value: for a source value the real rows never had
    share: float  # share of the real rows the lookup gives their own value

    def fill(self, frame: pd.DataFrame) -> pd.Series:
        """The derived column of sampled rows ``frame`` (which hold ``source``)."""
        values = _labels(frame[self.source]).map(self.table)
        values = values.where(values.notna(), self.fallback).astype("object")
        return values.where(values != MISSING, np.nan)

    def describe(self) -> str:
        """A short phrase for logs and reports."""
        return f"looked up from {self.source} ({self.share:.1%} of rows)"


def find_derived(
    frame: pd.DataFrame,
    sdtypes: dict[str, str],
    *,
    keep: tuple[str, ...] = (),
    min_share: float = constants.SYNTH_DERIVED_SHARE,
    max_values: int = constants.SYNTH_DERIVED_MAX_VALUES,
    min_rows: int = constants.SYNTH_DERIVED_MIN_ROWS,
) -> list[Derived]:
    """The categorical columns of ``frame`` that another column determines, each with its lookup.

    A column (categorical or boolean, not in ``keep``) is derived from a source (categorical, boolean,
    ordinal or numerical, at most ``max_values`` distinct values, more values than the column) when the
    most common value of the column per source value covers at least ``min_share`` of the rows and
    misses at most a tenth of the rows that the column's most common class alone would miss (a rare
    class is not looked away), and the source has at least ``SYNTH_DERIVED_MIN_ROWS`` rows per value. Of
    a number and its label the label is derived; of two categories that determine each other the
    first in the table is kept and the second derived; a source is never derived itself.
    """
    labels = {c: _labels(frame[c]) for c in frame.columns}
    codes = {c: pd.factorize(labels[c])[0] for c in frame.columns}
    counts = {c: int(codes[c].max()) + 1 for c in frame.columns}
    position = {c: i for i, c in enumerate(frame.columns)}
    kinds = ("categorical", "boolean", "ordinal", "numerical")
    sources = [c for c in frame.columns if sdtypes.get(c) in kinds and 2 <= counts[c] <= max_values]
    found: dict[str, Derived] = {}

    def derivable(name: str) -> bool:
        return sdtypes.get(name) in ("categorical", "boolean") and name not in keep

    def sparse(source: str) -> bool:  # too few rows per value for a lookup to mean anything
        return counts[source] * min_rows > len(frame)

    for column in frame.columns:
        if not derivable(column) or counts[column] < 2:
            continue
        for source in sources:
            if source == column or source in found or counts[source] < counts[column] or sparse(source):
                continue
            one_to_one = counts[source] == counts[column]
            if one_to_one and derivable(source) and position[source] > position[column]:
                continue  # two categories one-to-one: the earlier stays, the later one is derived
            joint = np.bincount(
                codes[source] * counts[column] + codes[column], minlength=counts[source] * counts[column]
            ).reshape(counts[source], counts[column])
            share = joint.max(axis=1).sum() / len(frame)
            baseline = joint.sum(axis=0).max() / len(frame)  # the column's most common class alone
            if share >= min_share and 1 - share <= 0.1 * (1 - baseline):
                source_values = pd.unique(labels[source])
                column_values = pd.unique(labels[column])
                table = dict(zip(source_values, column_values[joint.argmax(axis=1)], strict=True))
                fallback = column_values[np.bincount(codes[column]).argmax()]
                found[column] = Derived(column, source, table, fallback, round(float(share), 4))
                break
    sources_used = {d.source for d in found.values()}
    return [d for column, d in found.items() if column not in sources_used]
