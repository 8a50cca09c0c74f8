"""Load a dataset folder for validation: every table once, lean dtypes, parsed timestamps.

Tables come through :mod:`utils.core.datasets` (and so ``DataLoader``), from a local folder or an
``az://container/prefix``; each is checked against :mod:`utils.core.schema` (its columns, a unique
primary key) before anything is compared. Low-cardinality text columns become ``category`` (a
million engagements take a fraction of the memory), date and time columns become ``datetime64``, so
rules, distances and plots never re-parse text. Key columns (``*_id``) stay text. A missing table is
recorded, not an error: a folder holding only demographics can still be validated; a folder without
demographics is a :class:`~utils.core.errors.UserError`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import partial

import pandas as pd

import constants
from utils.core import datasets, schema, storage
from utils.core.cli import UserError

DATETIME_COLUMNS = schema.DATETIME_COLUMNS
KEYS = schema.PRIMARY_KEYS


@dataclass
class Dataset:
    """One folder's tables by logical name (``demographics``: all states), its states, what is missing."""

    folder: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # A folder of more than ``max_customers`` customers is validated on a seeded sample of them, with
    # every row of theirs: ``{"customers": sampled, "of": all, "seed": seed, "rows_read": {table: rows}}``
    # (:meth:`utils.core.datasets.CustomerSample.summary`).
    sampled: dict | None = None

    def spend_share(self) -> float:
        """The share of the campaigns' spend that reached the loaded customers: 1, or the sample's
        share of all customers (a budget paid for every customer a campaign reached)."""
        return self.sampled["customers"] / self.sampled["of"] if self.sampled else 1.0

    def rows(self) -> dict[str, int]:
        """Row count per table."""
        return {name: len(frame) for name, frame in self.tables.items()}


def is_identifier(column: str) -> bool:
    """Key columns (``*_id``) identify rows; their values are not a distribution to compare."""
    return column.endswith("_id")


def lean(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps parsed, low-cardinality text as ``category``; keys and numbers untouched."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if column in DATETIME_COLUMNS and not pd.api.types.is_datetime64_any_dtype(values):
            values = pd.to_datetime(values, format="ISO8601")
        elif (
            values.dtype == object
            and not is_identifier(column)
            and values.nunique(dropna=True) <= constants.VALIDATION_MAX_CATEGORIES
        ):
            values = values.astype("category")
        out[column] = values
    return pd.DataFrame(out, index=frame.index)


def load_folder(
    folder: str | os.PathLike,
    *,
    required: bool = True,
    max_customers: int | None = constants.READ_MAX_CUSTOMERS,
    seed: int = constants.DEFAULT_SEED,
) -> Dataset:
    """Every table found in ``folder`` (local or ``az://``), each checked against the schema.

    ``required`` makes a missing folder or missing demographics a UserError (the data folder); without
    it a missing folder is an empty :class:`Dataset` (the seed folder). A table that is there but
    cannot be read (0 bytes, not CSV/Parquet), has another table's columns or duplicated primary keys
    is a UserError naming the file: validating it would only produce noise.

    A folder of more than ``max_customers`` customers is read as a seeded sample of about that many
    customers (by a hash of the customer id, :func:`utils.core.datasets.sample_customers`, the same
    customers EDA and fairness read) with all of their rows in every table, read chunk by chunk or
    part by part (:func:`utils.core.datasets.load_sampled`): memory follows the sample, and the links
    between the tables hold inside it. The campaigns are read whole (a cost per impression
    on the sample takes the sample's share of their budgets: :meth:`Dataset.spend_share`).
    """
    folder = str(folder)
    if max_customers is not None and required:
        try:
            chosen = datasets.sample_customers(folder, max_customers=max_customers, seed=seed)
        except UserError:  # no folder: said below, as for any folder
            chosen = None
        if chosen is not None:
            return _load_sample(folder, chosen)
    dataset = Dataset(folder)
    try:
        datasets.require_folder(folder)
    except UserError:
        if required:
            raise
        return dataset
    dataset.states = datasets.demographics_states(folder)
    if not dataset.states and required:
        raise UserError(f"no *_demographics files in {folder}: nothing to validate")
    for name in schema.TABLE_NAMES:
        if name == schema.DEMOGRAPHICS:
            files = [f"{state}_{name}" for state in dataset.states]
        else:
            try:
                datasets.find_dataset(folder, name)
            except UserError:
                files = []
            else:
                files = [name]
        if not files:
            dataset.missing.append(name)
            continue
        frames = [_read_checked(folder, name, stem) for stem in files]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        check_primary_key(name, frame, folder)
        dataset.tables[name] = lean(frame)
    return dataset


def _load_sample(folder: str, chosen: datasets.CustomerSample) -> Dataset:
    """:func:`load_folder` on the customers of ``chosen`` and all of their rows."""
    dataset = Dataset(folder, states=datasets.demographics_states(folder))
    frames = []
    for state in dataset.states:
        frame = _read_checked(folder, schema.DEMOGRAPHICS, f"{state}_{schema.DEMOGRAPHICS}")
        frames.append(chosen.keep(frame))
    demographics = pd.concat(frames, ignore_index=True)
    check_primary_key(schema.DEMOGRAPHICS, demographics, folder)
    dataset.tables[schema.DEMOGRAPHICS] = lean(demographics)
    rows_read = {}
    for name in schema.TABLE_NAMES[1:]:
        try:
            path = datasets.find_dataset(folder, name)
        except UserError:
            dataset.missing.append(name)
            continue
        try:  # per-customer tables chunk by chunk, the campaigns whole; columns checked as read
            frame, rows_read[name] = datasets.load_sampled(
                folder, name, chosen, check=partial(check_columns, name)
            )
        except (ValueError, OSError) as error:
            raise UserError(f"cannot read {path}: {_one_line(error)}") from None
        check_primary_key(name, frame, folder)
        dataset.tables[name] = lean(frame)
    dataset.sampled = chosen.summary(rows_read)
    return dataset


def _read_checked(folder: str, table: str, stem: str) -> pd.DataFrame:
    """One file of ``table`` (``stem``: its name without suffix), its columns checked."""
    path = datasets.find_dataset(folder, stem)
    try:
        frame = datasets.load_dataset(folder, stem)
    except (ValueError, OSError) as error:
        raise UserError(f"cannot read {path}: {_one_line(error)}") from None
    check_columns(table, frame, path)
    return frame


def check_columns(table: str, frame: pd.DataFrame, path: str) -> None:
    """A UserError if ``frame`` (read from ``path``) does not have exactly the schema's columns of ``table``.

    The message names the table, what is missing and unexpected, and the table whose columns the file
    has instead where it matches one (an engagements file saved as ``transactions.csv``).
    """
    expected = schema.TABLES[table].column_names
    found = [str(column) for column in frame.columns]
    missing = [column for column in expected if column not in found]
    unexpected = [column for column in found if column not in expected]
    if not missing and not unexpected:
        return
    parts = []
    if missing:
        parts.append(f"missing {_names(missing)}")
    if unexpected:
        parts.append(f"unexpected {_names(unexpected)}")
    others = [
        name
        for name, other in schema.TABLES.items()
        if name != table and set(other.column_names) == set(found)
    ]
    hint = f" (those are the columns of the {others[0]} table: a swapped file?)" if others else ""
    raise UserError(f"{path} has the wrong columns for the {table} table: {'; '.join(parts)}{hint}")


def check_primary_key(table: str, frame: pd.DataFrame, folder: str) -> None:
    """A UserError if the primary key of ``table`` repeats a value in ``frame`` (empty keys are a rule)."""
    key = schema.TABLES[table].primary_key
    values = frame[key].dropna()
    repeated = values[values.duplicated()]
    if len(repeated):
        raise UserError(
            f"{table} in {folder} has {len(repeated):,} duplicated {key} value(s), e.g. "
            f"{repeated.iloc[0]!r}: a primary key must be unique"
        )


def _names(columns: list[str], shown: int = 4) -> str:
    more = f" and {len(columns) - shown} more" if len(columns) > shown else ""
    return ", ".join(columns[:shown]) + more


def _one_line(error: Exception, limit: int = 200) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_ground_truth(folder: str | os.PathLike) -> dict | None:
    """``ground_truth.json`` of a build (local or ``az://``), or None where there is none."""
    path = storage.join(folder, schema.GROUND_TRUTH)
    if not storage.exists(path):
        return None
    try:
        return json.loads(storage.read_bytes(path))
    except (UnicodeDecodeError, ValueError) as error:
        raise UserError(f"cannot read {path}: {_one_line(error)}") from None


def sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame``, a seeded random sample when it is larger."""
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed).sort_index()
