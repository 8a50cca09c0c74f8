"""The default model of a private copy: a mixture of shape-keeping synthesizers over a partition.

Rows are cut into *parts*: the classes of the target and of the structural categories (as before),
then, inside each class, learned parts (k-means on the rows' normal scores, categories one-hot) of
about ``SYNTH_PARTITION_ROWS`` rows. Every part gets its own marginals (:mod:`marginals`: atoms,
counts and spikes kept) and its own SDV synthesizer fitted on the normal scores (GaussianCopula with
``norm`` marginals; CTGAN / TVAE see the same numeric preparation, their categories unchanged).
``P(part)`` is kept exactly (largest-remainder counts). A Gaussian copula ties a category to the
rest by one linear correlation; the mixture keeps how every category's rows differ from the others'
without knowing which column is the target (the issue's "relationships without a target"). A
category that another column determines (a subtype's main type) is not modelled but looked up from
the sampled source (:mod:`derived`), for every kind of synthesizer.

Where real rows are nearly unique (one half of the training rows matches the other half at most
``SYNTH_NATURAL_COPY_RATE`` of the time: a continuous column or a few counts make rows unique),
sampled rows equal to a training row are redrawn: the copy holds no exact copy. Where real rows
repeat each other (a table of codes and counts: 68 % of the RAND table's holdout rows equal some
training row), an equal row identifies no one, and redrawing would bend the marginals (a count
column's KS rose from 0.00 to 0.12 when every combination seen under 5 times was redrawn); there
the report compares the copy's exact-copy rate with the holdout's own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm import tqdm

import constants
from utils.private_copy import engine
from utils.private_copy.derived import Derived, find_derived
from utils.private_copy.marginals import TableCodec, level_orders, normal_quantile

log = logging.getLogger("synthesize")


def child_seed(seed: int, *path: int) -> int:
    """A seed derived from ``seed`` and a path of integers (independent streams, reproducible)."""
    return int(np.random.SeedSequence([seed % 2**32, *path]).generate_state(1)[0])


def row_keys(frame: pd.DataFrame) -> list[tuple]:
    """Each row as a hashable tuple (missing values as one marker, 1 == 1.0)."""
    values = frame.astype("object")
    return list(values.where(values.notna(), "<missing>").itertuples(index=False, name=None))


def cluster_features(frame: pd.DataFrame, sdtypes: dict[str, str], max_categories: int = 50) -> np.ndarray:
    """Rows in one space for k-means: numbers as mid-rank normal scores, categories one-hot / sqrt 2."""
    blocks = []
    for column in frame.columns:
        series = frame[column]
        if sdtypes.get(column) in ("numerical", "datetime"):
            x = pd.to_numeric(series, errors="coerce")
            ranks = x.rank(method="average", na_option="keep").to_numpy(float)
            z = normal_quantile((ranks - 0.5) / max(x.notna().sum(), 1))
            blocks.append(np.nan_to_num(z, nan=0.0)[:, None])
            if x.isna().any():
                blocks.append(x.isna().to_numpy(float)[:, None])
        elif series.nunique(dropna=False) <= max_categories:
            labels = series.astype("object").where(series.notna(), "<missing>").astype(str)
            blocks.append(pd.get_dummies(labels).to_numpy(float) / np.sqrt(2))
    return np.hstack(blocks) if blocks else np.zeros((len(frame), 1))


def learned_parts(
    frame: pd.DataFrame, sdtypes: dict[str, str], *, seed: int, rows_per_part: int, most: int, min_rows: int
) -> np.ndarray:
    """A part label per row: k-means with ``len(frame) // rows_per_part`` clusters (at most ``most``).

    Clusters under ``min_rows`` rows join the largest one.
    """
    from sklearn.cluster import KMeans

    k = min(most, len(frame) // rows_per_part)
    if k < 2:
        return np.zeros(len(frame), dtype=int)
    features = cluster_features(frame, sdtypes)
    with threadpool_limits(limits=1, user_api="openmp"):  # see utils.metrics.tstr: torch's pool
        labels = KMeans(n_clusters=k, n_init=2, random_state=seed % 2**32).fit_predict(features)
    sizes = np.bincount(labels, minlength=k)
    labels = np.where(sizes[labels] < min_rows, int(np.argmax(sizes)), labels)
    return np.unique(labels, return_inverse=True)[1]


def natural_copy_rate(frame: pd.DataFrame, seed: int) -> float:
    """Share of one random half's rows that equal a row of the other half: how often real rows repeat."""
    if len(frame) < 4:
        return 0.0
    order = np.random.default_rng(child_seed(seed, 4)).permutation(len(frame))
    half = len(frame) // 2
    keys = row_keys(frame)
    first = {keys[i] for i in order[:half]}
    return float(np.mean([keys[i] in first for i in order[half:]]))


@dataclass
class Part:
    """One part of the mixture: its conditioning values, training rows, marginals and fitted model."""

    key: tuple
    rows: int
    codec: TableCodec
    model: object | None


class MixtureSynthesizer:
    """A mixture of shape-keeping SDV synthesizers, one per part (see the module's docstring)."""

    def __init__(
        self,
        kind: str,
        columns: list[str],
        parts: list[Part],
        by: list[str],
        numeric: list[str],
        derived: list[Derived] | None = None,
    ) -> None:
        self.kind, self.columns, self.parts, self.by, self.numeric = kind, columns, parts, by, numeric
        self.derived = list(derived or [])  # columns looked up from another, not modelled
        self._avoid: set[tuple] = set()
        self.natural_copy_rate = 0.0

    @property
    def total_rows(self) -> int:
        """Training rows over all parts."""
        return sum(part.rows for part in self.parts)

    def counts(self, rows: int) -> list[int]:
        """Rows per part by largest remainder: shares kept exactly, counts add up to ``rows``."""
        exact = np.array([part.rows for part in self.parts], float) / self.total_rows * rows
        counts = np.floor(exact).astype(int)
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[: rows - counts.sum()]] += 1
        return counts.tolist()

    def _sample_part(self, index: int, rows: int, seed: int) -> pd.DataFrame:
        part = self.parts[index]
        if part.model is None:
            latent = pd.DataFrame(index=range(rows))
        else:
            latent = engine.sample(part.model, rows, seed=seed)
        rows = part.codec.decode(latent)
        for derived in self.derived:
            rows[derived.column] = derived.fill(rows)
        return rows[self.columns].astype({c: float for c in self.numeric})

    def sample(self, rows: int, *, seed: int, redraws: int = 10) -> pd.DataFrame:
        """``rows`` rows; rows equal to a training row are redrawn up to ``redraws`` times (see above).

        A row still equal to one after that is replaced by another synthetic row of its part.
        """
        frames, origin = [], []
        for index, count in enumerate(self.counts(rows)):
            if count:
                frames.append(self._sample_part(index, count, child_seed(seed, index)))
                origin.append(np.full(count, index))
        frame = pd.concat(frames, ignore_index=True)
        origin = np.concatenate(origin)
        for attempt in range(1, redraws + 1):
            copies = np.array([key in self._avoid for key in row_keys(frame)], dtype=bool)
            if not copies.any():
                break
            for index in np.unique(origin[copies]):
                where = np.flatnonzero(copies & (origin == index))
                fresh = self._sample_part(int(index), len(where), child_seed(seed, int(index), attempt))
                for position, column in enumerate(self.columns):
                    frame.iloc[where, position] = fresh[column].to_numpy()
        copies = np.array([key in self._avoid for key in row_keys(frame)], dtype=bool)
        if copies.any():  # still a copy after the redraws: take another synthetic row of the same part
            rng = np.random.default_rng(child_seed(seed, 10**6 + 1))
            for row in np.flatnonzero(copies):
                others = np.flatnonzero(~copies & (origin == origin[row]))
                others = others if len(others) else np.flatnonzero(~copies)
                if len(others):
                    frame.iloc[row] = frame.iloc[int(rng.choice(others))]
        order = np.random.default_rng(child_seed(seed, 10**6)).permutation(len(frame))
        return frame.iloc[order].reset_index(drop=True)


def fit_mixture(
    frame: pd.DataFrame,
    sdtypes: dict[str, str],
    *,
    kind: str = "gaussian_copula",
    by: list[str] | None = None,
    orders: dict[str, list] | None = None,
    seed: int = 0,
    epochs: int | None = None,
    partition: bool = True,
    min_rows: int = constants.SYNTH_MIN_CLASS_ROWS,
    rows_per_part: int = constants.SYNTH_PARTITION_ROWS,
    most_parts: int = constants.SYNTH_PARTITION_MAX,
    progress: bool = False,
    device: str = constants.DEFAULT_DEVICE,
) -> MixtureSynthesizer:
    """Fit the mixture on the prepared training rows ``frame``.

    ``sdtypes`` maps every column to its SDV sdtype; ``by`` are the columns whose classes are parts
    (classes under ``min_rows`` rows share one pooled part that models those columns too); with
    ``partition`` each class is cut further into learned parts. CTGAN and TVAE are fitted once on the
    whole table (their categories unchanged), with the same numeric preparation.
    """
    by = list(by or [])
    neural = kind != "gaussian_copula"
    training = frame  # every column: what the copy has, and what a copy of a row would match
    derived = find_derived(frame, sdtypes, keep=tuple(by))
    for lookup in derived:
        log.info("%s: %s", lookup.column, lookup.describe())
    frame = frame.drop(columns=[lookup.column for lookup in derived])
    # nominal categories in the order of the number they explain best, learned once on all training rows
    orders = {**level_orders(frame, sdtypes), **(orders or {})}
    if neural:
        by, partition = [], False
    keys = pd.Series(row_keys(frame[by]) if by else [()] * len(frame), index=frame.index)
    sizes = keys.value_counts(sort=True)
    groups = [(key, frame.index[keys == key]) for key, size in sizes.items() if size >= min_rows]
    small = frame.index[~keys.isin([key for key, _ in groups])]
    plan: list[tuple[tuple, pd.Index]] = []
    for number, (key, index) in enumerate(groups):
        if partition:
            rest = [c for c in frame.columns if c not in by]
            labels = learned_parts(
                frame.loc[index, rest],
                sdtypes,
                seed=child_seed(seed, number, 1),
                rows_per_part=rows_per_part,
                most=most_parts,
                min_rows=min_rows,
            )
            plan += [((*key, int(label)), index[labels == label]) for label in np.unique(labels)]
        else:
            plan.append((key, index))
    if len(small):
        plan.append((("<pooled>",), small))
    parts = []
    for number, (key, index) in enumerate(tqdm(plan, desc="fit", unit="part", disable=not progress)):
        rows = frame.loc[index]
        codec = TableCodec(rows, sdtypes, orders=orders, encode_categories=not neural)
        rng = np.random.default_rng(child_seed(seed, number, 2))
        latent = codec.encode(rows, rng).reset_index(drop=True)
        model = None
        if latent.shape[1]:
            columns = {
                c: {"sdtype": "numerical"}
                if c in codec.codecs
                else {"sdtype": "boolean" if sdtypes.get(c) == "boolean" else "categorical"}
                for c in latent.columns
            }
            options = {"default_distribution": "norm"} if not neural else {"device": device}
            model = engine.fit(
                latent,
                kind,
                engine.sdv_metadata(columns),
                seed=child_seed(seed, number, 3),
                epochs=epochs,
                **options,
            )
        parts.append(Part(key=key, rows=len(rows), codec=codec, model=model))
    numeric = [c for c in frame.columns if sdtypes.get(c) in ("numerical", "datetime")]
    mixture = MixtureSynthesizer(kind, list(training.columns), parts, by, numeric, derived)
    mixture.natural_copy_rate = natural_copy_rate(training, seed)
    if mixture.natural_copy_rate <= constants.SYNTH_NATURAL_COPY_RATE:
        mixture._avoid = set(row_keys(training))
    log.info("fitted %d part(s) of %s", len(parts), kind)
    return mixture
