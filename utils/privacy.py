"""How much a synthetic table reveals about the rows it was fitted on: generic functions on DataFrames.

Rows are compared in one numeric space (:func:`encode_rows`): numbers and datetimes scaled to
[0, 1] by the training range, categories one-hot (a mismatch costs 1), missing values as their own
value. On that space:

- distance to closest record (DCR): for each synthetic row, its nearest training row versus its
  nearest holdout row; the share closer to training is ~0.5 when the model did not memorise
  (training is subsampled to the holdout's size, so both sides have the same chance);
- exact-copy rate: synthetic rows identical to a training row;
- membership inference: an attacker who calls a real row a member when a synthetic row lies close
  to it; the AUC of that guess on training rows (members) versus holdout rows (non-members).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from utils.fidelity import as_float, as_labels, is_numeric


def encode_rows(reference: pd.DataFrame, *frames: pd.DataFrame) -> list[np.ndarray]:
    """Encode ``frames`` as float matrices, with scales and categories taken from ``reference``."""
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    for column in reference.columns:
        if is_numeric(reference[column]):
            values = [as_float(frame[column]) for frame in (reference, *frames)]
            low, high = np.nanmin(values[0]), np.nanmax(values[0])
            span = (high - low) or 1.0
            for block, value in zip(blocks, values[1:], strict=True):
                block.append(np.nan_to_num((value - low) / span, nan=-1.0)[:, None])
        else:
            categories = as_labels(reference[column]).unique()
            for block, frame in zip(blocks, frames, strict=True):
                value = as_labels(frame[column]).to_numpy()
                block.append((value[:, None] == categories[None, :]).astype(float) / np.sqrt(2))
    return [
        np.hstack(block) if block else np.zeros((len(f), 0)) for block, f in zip(blocks, frames, strict=True)
    ]


def nearest_distances(queries: np.ndarray, records: np.ndarray) -> np.ndarray:
    """Euclidean distance from each query row to its nearest record row."""
    return NearestNeighbors(n_neighbors=1).fit(records).kneighbors(queries)[0][:, 0]


def exact_copy_rate(synthetic: pd.DataFrame, training: pd.DataFrame) -> float:
    """Share of synthetic rows equal, in every column, to some training row."""
    if synthetic.empty:
        return 0.0
    keys = set(_row_keys(training))
    return float(np.mean([key in keys for key in _row_keys(synthetic[training.columns])]))


def _row_keys(frame: pd.DataFrame) -> list[tuple]:
    return list(frame.astype("object").where(frame.notna(), "<missing>").itertuples(index=False, name=None))


def dcr_privacy(
    training: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, *, seed: int = 0
) -> dict:
    """Distance-to-closest-record figures for ``synthetic`` against ``training`` and ``holdout``.

    Returns the share of synthetic rows closer to training than to holdout (ties count half; ideal
    0.5), median distances, the exact-copy rate, the holdout's own copy rate in training (how often
    real rows repeat by chance) and a membership-inference AUC with its advantage ``2 * |AUC - 0.5|``.
    """
    rng = np.random.default_rng(seed)
    size = min(len(training), len(holdout))
    members = training.iloc[np.sort(rng.choice(len(training), size, replace=False))]
    non_members = holdout.iloc[np.sort(rng.choice(len(holdout), size, replace=False))]
    members_x, non_members_x, synthetic_x = encode_rows(training, members, non_members, synthetic)
    to_training = nearest_distances(synthetic_x, members_x)
    to_holdout = nearest_distances(synthetic_x, non_members_x)
    share = float(np.mean(to_training < to_holdout) + 0.5 * np.mean(to_training == to_holdout))
    # Membership inference: a real row that has a synthetic row close by is guessed to be a member.
    scores = -np.concatenate(
        [nearest_distances(members_x, synthetic_x), nearest_distances(non_members_x, synthetic_x)]
    )
    labels = np.concatenate([np.ones(size), np.zeros(size)])
    auc = float(roc_auc_score(labels, scores))
    return {
        "compared_rows": int(size),
        "share_closer_to_training": round(share, 4),
        "median_dcr_training": round(float(np.median(to_training)), 6),
        "median_dcr_holdout": round(float(np.median(to_holdout)), 6),
        "dcr_training": to_training,
        "dcr_holdout": to_holdout,
        "exact_copy_rate": round(exact_copy_rate(synthetic, training), 6),
        "holdout_copy_rate": round(exact_copy_rate(holdout, training), 6),
        "membership_auc": round(auc, 4),
        "membership_advantage": round(2 * abs(auc - 0.5), 4),
    }
