"""Load a dataset folder for validation: every table once, lean dtypes, parsed timestamps.

Tables come through :mod:`utils.datasets` (and so ``DataLoader`` once it is there). Low-cardinality
text columns become ``category`` (a million engagements take a fraction of the memory), date and
time columns become ``datetime64``, so rules, distances and plots never re-parse text. Key columns
(``*_id``) stay text. A missing table is recorded, not an error: a folder holding only demographics
can still be validated; a folder without demographics is a :class:`~utils.cli.UserError`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import pandas as pd

import constants
from utils.core import datasets, schema
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


def load_folder(folder: str | os.PathLike, *, required: bool = True) -> Dataset:
    """Every table found in ``folder``; ``required`` makes a missing folder or demographics a UserError."""
    folder = str(folder)
    dataset = Dataset(folder)
    if not os.path.isdir(folder):
        if required:
            raise UserError(f"data folder {folder} does not exist")
        return dataset
    dataset.states = datasets.demographics_states(folder)
    if not dataset.states and required:
        raise UserError(f"no *_demographics files in {folder}: nothing to validate")
    for name in schema.TABLE_NAMES:
        try:
            frame = datasets.load_dataset(folder, name)
        except UserError:
            dataset.missing.append(name)
            continue
        except (ValueError, OSError) as error:
            raise UserError(f"cannot read {name} in {folder}: {error}") from error
        dataset.tables[name] = lean(frame)
    return dataset


def load_ground_truth(folder: str | os.PathLike) -> dict | None:
    """``ground_truth.json`` of a build, or None where there is none."""
    path = os.path.join(str(folder), "ground_truth.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read {path}: {error}") from error


def sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame``, a seeded random sample when it is larger."""
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed).sort_index()
