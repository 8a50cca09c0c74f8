"""The SDV synthesizers the private copy fits, seeded and quiet (its own small wrapper, so the copy
does not depend on the data-generation chain's internals).
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import numpy as np
import pandas as pd

import constants
from utils.core.cli import check_synthesizer


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (CTGAN/TVAE training draws from them)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import torch

    torch.manual_seed(seed)


def sdv_metadata(columns: dict[str, dict], table_name: str = "table"):
    """SDV ``Metadata`` of one table from its ``columns`` dict (``{name: {"sdtype": ...}}``)."""
    from sdv.metadata import Metadata

    return Metadata.load_from_dict({"tables": {table_name: {"columns": columns}}})


def make(kind: str, metadata, *, epochs: int | None = None, **options: Any):
    """An unfitted SDV synthesizer of ``kind``; CTGAN/TVAE take ``constants.MODEL_PARAMETERS``."""
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


def fit(
    frame: pd.DataFrame,
    kind: str,
    metadata,
    *,
    seed: int,
    epochs: int | None = None,
    table_name: str = "table",
    **options: Any,
):
    """Fit a synthesizer of ``kind`` on ``frame`` reproducibly (same frame and seed, same model)."""
    synthesizer = make(kind, metadata, epochs=epochs, **options)
    seed_everything(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer.fit({table_name: frame})
    return synthesizer


def sample(synthesizer, rows: int, *, seed: int) -> pd.DataFrame:
    """``rows`` sampled rows; the same fitted synthesizer and seed give the same rows."""
    synthesizer.reset_sampling()
    synthesizer._set_random_state(seed)  # SDV's public sample() has no seed argument
    seed_everything(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampled = synthesizer.sample(rows)
    if isinstance(sampled, dict):
        (sampled,) = sampled.values()
    return sampled.reset_index(drop=True)
