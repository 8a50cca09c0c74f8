"""SDV synthesizers behind one small, reproducible interface.

Every stage fits and samples through these functions, so the choice of synthesizer, its parameters
(``constants.MODEL_PARAMETERS``) and the seeding that makes outputs byte-identical live in one place:

    synthesizer = fit_synthesizer(seed_frame, "gaussian_copula", seed=7, table_name="demographics")
    synthetic = sample_synthesizer(synthesizer, 20_000, seed=7)
"""

from __future__ import annotations

import io
import logging
import os
import random
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

import constants
from utils import storage
from utils.cli import UserError, check_synthesizer

log = logging.getLogger("synth")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (CTGAN/TVAE training draws from them)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import torch

    torch.manual_seed(seed)


def detect_metadata(frame: pd.DataFrame, table_name: str, sdtypes: Mapping[str, str] | None = None):
    """SDV ``Metadata`` for one table, detected from ``frame`` then corrected by ``sdtypes``.

    ``sdtypes`` maps a column to an SDV sdtype (``categorical``, ``numerical``, ``datetime``, ``id``…);
    detection alone often takes a low-cardinality integer for categorical or a code for an id.
    """
    from sdv.metadata import Metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metadata = Metadata.detect_from_dataframes({table_name: frame})
    for column, sdtype in (sdtypes or {}).items():
        if sdtype == "id":
            metadata.update_column(column, sdtype="id", table_name=table_name)
        elif sdtype == "datetime":
            metadata.update_column(
                column, sdtype="datetime", table_name=table_name, datetime_format="%Y-%m-%d %H:%M:%S"
            )
        else:
            metadata.update_column(column, sdtype=sdtype, table_name=table_name)
    return metadata


def make_synthesizer(kind: str, metadata, *, epochs: int | None = None, **options: Any):
    """An unfitted SDV synthesizer of ``kind`` (gaussian_copula, ctgan, tvae).

    CTGAN takes every entry of ``constants.MODEL_PARAMETERS``; TVAE its epochs and batch size.
    ``epochs`` overrides the configured number; ``options`` go to the SDV constructor.
    """
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    check_synthesizer(kind)
    params = dict(constants.MODEL_PARAMETERS)
    if epochs is not None:
        params["epochs"] = epochs
    if kind == "gaussian_copula":
        return GaussianCopulaSynthesizer(metadata, **options)
    if kind == "ctgan":
        return CTGANSynthesizer(
            metadata,
            epochs=params["epochs"],
            batch_size=params["batch_size"],
            generator_dim=tuple(params["generator_dim"]),
            discriminator_dim=tuple(params["discriminator_dim"]),
            **options,
        )
    return TVAESynthesizer(metadata, epochs=params["epochs"], batch_size=params["batch_size"], **options)


def fit_synthesizer(
    frame: pd.DataFrame,
    kind: str,
    *,
    seed: int,
    table_name: str = "table",
    sdtypes: Mapping[str, str] | None = None,
    metadata=None,
    epochs: int | None = None,
    **options: Any,
):
    """Fit a synthesizer of ``kind`` on ``frame`` reproducibly and return it.

    The same frame, kind and seed always give a synthesizer that samples the same rows.
    """
    if frame.empty:
        raise UserError(f"cannot fit a synthesizer on an empty {table_name} table")
    metadata = metadata or detect_metadata(frame, table_name, sdtypes)
    synthesizer = make_synthesizer(kind, metadata, epochs=epochs, **options)
    seed_everything(seed)
    log.info("fitting %s on %s rows of %s", kind, f"{len(frame):,}", table_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer.fit({table_name: frame})
    return synthesizer


def sample_synthesizer(
    synthesizer, num_rows: int, *, seed: int, batch_size: int | None = None
) -> pd.DataFrame:
    """Sample ``num_rows`` rows; the same fitted synthesizer and seed give the same rows."""
    synthesizer.reset_sampling()
    synthesizer._set_random_state(seed)  # SDV's public sample() has no seed argument
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampled = synthesizer.sample(num_rows, batch_size=batch_size)
    if isinstance(sampled, dict):
        (sampled,) = sampled.values()
    return sampled.reset_index(drop=True)


def save_synthesizer(synthesizer, path: str | os.PathLike) -> str:
    """Pickle a fitted synthesizer atomically, so it can be sampled again without refitting."""
    import cloudpickle

    buffer = io.BytesIO()
    cloudpickle.dump(synthesizer, buffer)
    return storage.write_bytes(buffer.getvalue(), path)


def load_synthesizer(path: str | os.PathLike):
    """Load a synthesizer written by :func:`save_synthesizer`."""
    import cloudpickle

    if not storage.is_remote(path) and not os.path.exists(path):
        raise UserError(f"no saved synthesizer at {path}")
    with open(path, "rb") as stream:
        return cloudpickle.load(stream)
