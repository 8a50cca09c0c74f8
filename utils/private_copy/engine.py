"""The SDV synthesizers the private copy fits, seeded and quiet: fit and sample on SDV metadata.

The synthesizers themselves (``make``, with ``constants.MODEL_PARAMETERS``) and the seeding of the
global generators are :mod:`utils.synth.models`', shared with the chain.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from utils.synth.models import make_synthesizer as make
from utils.synth.models import seed_everything

__all__ = ["fit", "make", "sample", "sdv_metadata", "seed_everything"]


def sdv_metadata(columns: dict[str, dict], table_name: str = "table"):
    """SDV ``Metadata`` of one table from its ``columns`` dict (``{name: {"sdtype": ...}}``)."""
    from sdv.metadata import Metadata

    return Metadata.load_from_dict({"tables": {table_name: {"columns": columns}}})


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
