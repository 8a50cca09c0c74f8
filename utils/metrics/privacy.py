"""How much a synthetic table reveals about the rows it was fitted on: generic functions on DataFrames.

Rows are compared in one numeric space (:func:`encode_rows`): numbers and datetimes scaled to
[0, 1] by the training range, categories one-hot (a mismatch costs 1), missing values as their own
value. On that space:

- distance to closest record (DCR): for each synthetic row, its nearest training row versus its
  nearest holdout row; the share closer to training is ~0.5 when the model did not memorise
  (training is cut into chunks of the holdout's size, of whole people when the split kept people
  on one side, so both sides have the same chance; the share is averaged over the chunks);
- exact-copy rate: synthetic rows identical to a training row;
- membership inference: an attacker who calls a real row a member when a synthetic row lies close
  to it; the AUC of that guess on all training rows (members) versus holdout rows (non-members).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from utils.metrics.fidelity import as_float, as_labels, is_numeric


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


def size_matched_chunks(groups: np.ndarray, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Disjoint random subsets of rows, each of about ``size`` rows made of whole ``groups``.

    Groups are shuffled and laid end to end; a group goes to the chunk its middle row falls in, so a
    chunk holds ``size`` rows give or take half a group. Rows past the last full chunk are left out.
    """
    labels, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    order = rng.permutation(len(labels))
    middles = np.cumsum(counts[order]) - counts[order] / 2
    chunk_of_group = np.empty(len(labels), dtype=int)
    chunk_of_group[order] = np.floor(middles / size).astype(int)
    chunk_of_row = chunk_of_group[inverse]
    chunks = [np.flatnonzero(chunk_of_row == chunk) for chunk in range(max(len(groups) // size, 1))]
    return [chunk for chunk in chunks if len(chunk)] or [np.arange(len(groups))]


def dcr_privacy(
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    seed: int = 0,
    training_groups: Sequence | None = None,
    holdout_groups: Sequence | None = None,
) -> dict:
    """Distance-to-closest-record figures for ``synthetic`` against ``training`` and ``holdout``.

    Returns the share of synthetic rows closer to training than to holdout (ties count half; ideal
    0.5), median distances, the exact-copy rate, the holdout's own copy rate in training (how often
    real rows repeat by chance) and a membership-inference AUC with its advantage ``2 * |AUC - 0.5|``.

    The share compares sets of equal size: the larger side (training, usually) is cut into disjoint
    random chunks of the smaller side's size and the share is averaged over them (every row counts,
    and the estimate is less noisy than from one subsample). With ``*_groups`` (one label per row,
    e.g. the person a row belongs to, when the split kept people on one side) the chunks are made of
    whole groups, so both sides hold about as many people: a row subsample would spread over more
    people than the holdout holds and cover the space better, biasing the share toward training.
    The attack's AUC uses every training and holdout row (an AUC does not depend on the class sizes).
    """
    rng = np.random.default_rng(seed)
    training_x, holdout_x, synthetic_x = encode_rows(training, training, holdout, synthetic)
    big_is_training = len(training) >= len(holdout)
    big_x, small_x = (training_x, holdout_x) if big_is_training else (holdout_x, training_x)
    big_groups = training_groups if big_is_training else holdout_groups
    big_groups = np.arange(len(big_x)) if big_groups is None else np.asarray(big_groups)
    to_small = nearest_distances(synthetic_x, small_x)
    to_big = [
        nearest_distances(synthetic_x, big_x[rows])
        for rows in size_matched_chunks(big_groups, len(small_x), rng)
    ]
    to_training, to_holdout = (
        (to_big, [to_small] * len(to_big)) if big_is_training else ([to_small] * len(to_big), to_big)
    )
    shares = [
        float(np.mean(t < h) + 0.5 * np.mean(t == h)) for t, h in zip(to_training, to_holdout, strict=True)
    ]
    # Membership inference: a real row that has a synthetic row close by is guessed to be a member.
    scores = -np.concatenate(
        [nearest_distances(training_x, synthetic_x), nearest_distances(holdout_x, synthetic_x)]
    )
    labels = np.concatenate([np.ones(len(training_x)), np.zeros(len(holdout_x))])
    auc = float(roc_auc_score(labels, scores))
    return {
        "compared_rows": len(small_x),
        "compared_chunks": len(shares),
        "share_closer_to_training": round(float(np.mean(shares)), 4),
        "share_closer_to_training_range": [round(min(shares), 4), round(max(shares), 4)],
        "ties": round(
            float(np.mean([np.mean(t == h) for t, h in zip(to_training, to_holdout, strict=True)])), 4
        ),
        "median_dcr_training": round(float(np.median(np.concatenate(to_training))), 6),
        "median_dcr_holdout": round(float(np.median(np.concatenate(to_holdout))), 6),
        "dcr_training": to_training[0],
        "dcr_holdout": to_holdout[0],
        "exact_copy_rate": round(exact_copy_rate(synthetic, training), 6),
        "holdout_copy_rate": round(exact_copy_rate(holdout, training), 6),
        "membership_auc": round(auc, 4),
        "membership_advantage": round(2 * abs(auc - 0.5), 4),
    }


def rare_copy_rate(synthetic: pd.DataFrame, training: pd.DataFrame, min_count: int = 5) -> float:
    """Share of synthetic rows equal to a training row that fewer than ``min_count`` training rows share.

    A copy of a combination many real rows share identifies no one (a table of codes and counts repeats
    itself); a copy of a rare row is a leak.
    """
    if synthetic.empty:
        return 0.0
    counts = pd.Series(_row_keys(training)).value_counts()
    rare = set(counts.index[counts < min_count])
    return round(float(np.mean([key in rare for key in _row_keys(synthetic[training.columns])])), 6)
