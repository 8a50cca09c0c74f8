"""Where each dataset lives inside an output folder, and how to load it back.

One naming scheme for every script: ``{out_dir}/{STATE}_demographics.{fmt}`` per state, then
``consumer_preferences``, ``marketing_campaigns``, ``engagements`` and ``transactions``; the seed sample
each stage fitted on sits under ``{out_dir}/seed/`` with the same names, fitted models under
``{out_dir}/models/``.

A build of more than ``constants.READ_MAX_CUSTOMERS`` customers is read by validation, EDA and fairness
as a seeded sample of customers with all of their rows (:func:`sample_customers`,
:func:`load_sampled`): the tables are read chunk by chunk (a folder part by part) and only the sampled
customers' rows are kept, so memory follows the sample, not the build.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import constants
from utils.core import schema, storage
from utils.core.cli import UserError

DEMOGRAPHICS = schema.DEMOGRAPHICS


def dataset_path(out_dir: str | os.PathLike, name: str, fmt: str = constants.DEFAULT_OUTPUT_FORMAT) -> str:
    """Path of dataset ``name`` (e.g. ``transactions``) in ``out_dir`` with format ``fmt``."""
    return storage.join(out_dir, f"{name}.{fmt}")  # name: a table or {STATE}_demographics


def demographics_path(
    out_dir: str | os.PathLike, state: str, fmt: str = constants.DEFAULT_OUTPUT_FORMAT
) -> str:
    """Path of one state's demographics file."""
    return storage.join(out_dir, schema.file_name(DEMOGRAPHICS, fmt, state=state))


def seed_dir(out_dir: str | os.PathLike) -> str:
    """Folder holding the seed samples the synthesizers were fitted on."""
    return storage.join(out_dir, schema.SEED_FOLDER)


def models_dir(out_dir: str | os.PathLike) -> str:
    """Folder holding the fitted synthesizers."""
    return storage.join(out_dir, schema.MODELS_FOLDER)


def find_dataset(data_dir: str | os.PathLike, name: str) -> str:
    """The existing file of dataset ``name`` in ``data_dir`` (CSV or Parquet), or its folder of
    Parquet parts (``engagements/part-00000.parquet``...), else a UserError."""
    for fmt in storage.TABLE_FORMATS:
        path = dataset_path(data_dir, name, fmt)
        if storage.exists(path):
            return path
    folder = storage.join(data_dir, name)
    if storage.part_files(folder):
        return folder
    raise UserError(f"no {name} dataset (.csv, .parquet or a folder of parts) in {data_dir}")


def plain_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical and Arrow string columns (as DataLoader returns them) as plain object columns."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype | pd.StringDtype)]
    return frame.astype(dict.fromkeys(text, object)) if text else frame


def read_file(path: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One table file (CSV or Parquet, local or ``az://``) or folder of Parquet parts, with the
    schema's types (DataLoader)."""
    from utils.core.loader import DataLoader

    return DataLoader(cache_dir=None).load(path, columns=list(columns) if columns else None)


def require_folder(data_dir: str | os.PathLike) -> str:
    """``data_dir`` as a string if it is an existing data folder (local or ``az://``), else a UserError.

    An ``az://`` prefix exists when it holds at least one blob (Blob Storage has no empty folders).
    """
    text = str(data_dir)
    if storage.is_remote(text):
        if not storage.list_names(text):
            raise UserError(f"data folder {text} does not exist (no blobs under that prefix)")
    elif not os.path.isdir(text):
        what = "is a file, not a folder" if os.path.exists(text) else "does not exist"
        raise UserError(f"data folder {text} {what}")
    return text


def check_writable(folder: str | os.PathLike) -> str:
    """``folder`` as a string if reports can be written there, else a UserError; creates nothing locally.

    Locally the nearest existing ancestor must be a writable folder (the folder itself is made by
    the first write); for ``az://`` the credentials are checked and the container created
    (:func:`storage.ensure_dir`). Call it before the expensive work, so a bad place fails first.
    """
    text = str(folder)
    if storage.is_remote(text):
        return storage.ensure_dir(text)
    existing = Path(text).absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"report folder {text} is not writable: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"report folder {text} is not writable: no write permission on {existing}")
    return text


def demographics_states(data_dir: str | os.PathLike) -> list[str]:
    """States that have a demographics file in ``data_dir`` (local or ``az://``), sorted.

    A missing local folder is a UserError; a missing ``az://`` prefix has no states.
    """
    suffixes = tuple(f"_{DEMOGRAPHICS}.{fmt}" for fmt in storage.TABLE_FORMATS)
    if not storage.is_remote(data_dir):
        require_folder(data_dir)
    names = storage.list_names(data_dir)
    return sorted({name.split("_", 1)[0] for name in names if name.endswith(suffixes)})


def load_dataset(
    data_dir: str | os.PathLike, name: str, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Load dataset ``name`` from ``data_dir`` (``demographics`` means all states concatenated)."""
    if name == DEMOGRAPHICS:
        return load_demographics(data_dir, columns=columns)
    return read_file(find_dataset(data_dir, name), columns)


def load_demographics(
    data_dir: str | os.PathLike,
    states: Iterable[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """All states' demographics in ``data_dir`` (or only ``states``), concatenated in state order."""
    states = list(states) if states is not None else demographics_states(data_dir)
    if not states:
        raise UserError(f"no *_demographics files in {data_dir}")
    frames = [read_file(find_dataset(data_dir, f"{state}_{DEMOGRAPHICS}"), columns) for state in states]
    return pd.concat(frames, ignore_index=True)


def truth_location(data_dir: str | os.PathLike, name: str) -> str | None:
    """Where a build's per-row truth file ``name`` (``effects``, ``attribution``, ``lifecycle``) is:
    ``ground_truth/{name}.csv`` or its folder of Parquet parts; None when the build has none."""
    base = storage.join(data_dir, schema.TRUTH_FOLDER)
    for path in (storage.join(base, f"{name}.csv"), storage.join(base, f"{name}.parquet")):
        if storage.exists(path):
            return path
    folder = storage.join(base, name)
    return folder if storage.part_files(folder) else None


def load_truth(data_dir: str | os.PathLike, name: str, **read_options) -> pd.DataFrame:
    """A build's per-row truth file ``name`` (see :func:`truth_location`); a UserError if absent.
    ``read_options`` go to pandas' CSV reader (e.g. ``dtype=str``)."""
    path = truth_location(data_dir, name)
    if path is None:
        raise UserError(f"no ground_truth/{name} (.csv or a folder of parts) in {data_dir}")
    if path.endswith(".csv"):
        return storage.read_table(path, **read_options)
    if path.endswith(".parquet"):
        return storage.read_table(path)
    return pd.concat([storage.read_table(part) for part in storage.part_files(path)], ignore_index=True)


# --- a seeded sample of customers ---------------------------------------------------------------
# The purpose keying the sample's hash: every reader (validation, EDA, fairness) picks the same
# customers for the same seed and threshold (validation, the first reader, named it).
SAMPLE_PURPOSE = "validation"


def hash_ids(values: Sequence, key: str) -> np.ndarray:
    """A 64-bit hash of each value's text (``uint64``), keyed by ``key`` (16 characters)."""
    return pd.util.hash_array(np.asarray(values, dtype=object).astype(str).astype(object), hash_key=key)


def seed_mask(customer_ids: Sequence, *, seed: int, purpose: str, rate: float) -> np.ndarray:
    """Customers of a seed sample: each chosen with probability ``rate``, by a hash of its id keyed by
    ``(seed, purpose)``, so the choice does not depend on which other customers are read with it."""
    key = hashlib.blake2b(f"{seed}/{purpose}".encode(), digest_size=8).hexdigest()
    uniform = hash_ids(customer_ids, key).astype(np.float64) / 2.0**64
    return uniform < rate


@dataclass(frozen=True)
class CustomerSample:
    """A seeded sample of a build's customers (:func:`sample_customers`): ``ids`` of the ``of``."""

    ids: frozenset[str]
    of: int
    seed: int

    @property
    def customers(self) -> int:
        """How many customers were sampled."""
        return len(self.ids)

    def keep(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` that belong to a sampled customer (by ``customer_id``), index reset."""
        chosen = frame["customer_id"].astype(str).isin(self.ids).to_numpy()
        return frame[chosen].reset_index(drop=True)

    def summary(self, rows_read: Mapping[str, int] | None = None) -> dict:
        """What a report says: ``{"customers": sampled, "of": all, "seed": seed, "rows_read": {table:
        rows of every customer read to find the sampled ones' rows}}``."""
        rows = dict(rows_read or {})
        return {"customers": self.customers, "of": self.of, "seed": self.seed, "rows_read": rows}

    def describe(self) -> str:
        """One line for consoles and report titles, e.g. ``150,012 of 1,000,000 customers (seed 42)``."""
        return describe_sample(self.summary())


def describe_sample(summary: Mapping) -> str:
    """:meth:`CustomerSample.describe` of a report's ``sampled`` (:meth:`CustomerSample.summary`)."""
    return f"{summary['customers']:,} of {summary['of']:,} customers (seed {summary['seed']})"


def is_per_customer(name: str) -> bool:
    """True when dataset ``name`` has rows per customer (a ``customer_id`` column): a sample keeps only
    its customers' rows; the others (the campaigns) are read whole."""
    return name == DEMOGRAPHICS or "customer_id" in schema.TABLES[name].column_names


def sample_customers(
    data_dir: str | os.PathLike, *, max_customers: int | None, seed: int
) -> CustomerSample | None:
    """A seeded sample of about ``max_customers`` of the customers of ``data_dir``'s demographics, or
    None when it has no more than that (or ``max_customers`` is None): the reader reads every row.

    Each customer is chosen with probability ``max_customers / customers`` by a hash of its id keyed
    by ``(seed, SAMPLE_PURPOSE)`` (:func:`seed_mask`): the same seed gives the same customers, whichever
    tables are read and in what order. Reads only the ``customer_id`` column of each state's file; a
    missing folder is a UserError, a folder without demographics has no sample.
    """
    if max_customers is None:
        return None
    ids = [
        read_file(find_dataset(data_dir, f"{state}_{DEMOGRAPHICS}"), ["customer_id"])["customer_id"]
        for state in demographics_states(data_dir)
    ]
    total = sum(len(values) for values in ids)
    if total <= max_customers:
        return None
    rate = max_customers / total
    chosen: set[str] = set()
    for values in ids:
        text = values.astype(str).to_numpy()
        chosen.update(text[seed_mask(text, seed=seed, purpose=SAMPLE_PURPOSE, rate=rate)])
    return CustomerSample(frozenset(chosen), total, seed)


def load_sampled(
    data_dir: str | os.PathLike,
    name: str,
    sample: CustomerSample | None,
    columns: Sequence[str] | None = None,
    *,
    check: Callable[[pd.DataFrame, str], None] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Dataset ``name`` with the rows of ``sample``'s customers only, and how many rows were read.

    Without a sample it is :func:`load_dataset` (every row). With one, a per-customer table is read
    chunk by chunk (a folder of parts part by part, a CSV block by block, each state's demographics
    file whole) and only the sampled customers' rows are kept, as plain text columns
    (:func:`plain_dtypes`); a table without customers (the campaigns) is read whole. ``check`` is
    called with each chunk read and its path (e.g. a schema check). A missing table is a UserError.
    """
    from utils.core.loader import DataLoader

    path = str(data_dir) if name == DEMOGRAPHICS else find_dataset(data_dir, name)
    if sample is None or not is_per_customer(name):
        whole = name == DEMOGRAPHICS
        frame = load_demographics(data_dir, columns=columns) if whole else read_file(path, columns)
        if check is not None:
            check(frame, path)
        return frame, len(frame)
    wanted = None if columns is None else list(dict.fromkeys(["customer_id", *columns]))
    if name == DEMOGRAPHICS:
        states = demographics_states(data_dir)
        if not states:
            raise UserError(f"no *_demographics files in {data_dir}")
        files = [find_dataset(data_dir, f"{state}_{DEMOGRAPHICS}") for state in states]
        chunks = ((read_file(file, wanted), file) for file in files)
    else:
        chunks = ((chunk, path) for chunk in DataLoader(cache_dir=None).iter_chunks(path, wanted))
    kept, read = [], 0
    for chunk, source in chunks:
        if check is not None:
            check(chunk, source)
        read += len(chunk)
        kept.append(plain_dtypes(sample.keep(chunk)))
    frame = pd.concat(kept, ignore_index=True) if kept else plain_dtypes(read_file(path, wanted))
    return (frame if columns is None else frame[list(columns)]), read
