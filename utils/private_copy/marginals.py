"""Marginals that keep their shape: every column mapped to normal scores through its own empirical CDF.

A parametric marginal (truncated normal, beta) smears a point mass over the range: a column that
is 92 % zeros comes back with KS 0.9 (SDV issue #1686). Here each column gets a reversible
*distributional transform* (Rüschendorf's, the usual copula treatment of discrete margins):

- a numeric value ``x`` becomes ``u = (rank + 0.5) / n`` with ties broken at random, so a value
  that holds a share ``p`` of the rows (0, -1, a sentinel, the mode of an age column) becomes an
  interval of width ``p`` in ``u`` (an atom), and ``z = Phi^-1(u)`` is standard normal;
- back from ``z``: ``u = Phi(z)`` is read on the column's sorted training values, so an atom comes
  back exactly with its share, a *discrete* column (integer counts, a handful of values) only ever
  takes its real values with their exact frequencies, and a *continuous* one is interpolated
  between neighbouring order statistics (new values, same shape: spikes, modes and long tails);
  integers are rounded, and missing values are an atom of their own at the bottom;
- a category becomes an interval of ``u`` sized by its frequency (ordinal scales in their order),
  with ``u`` uniform inside it.

The transformed table is plain standard-normal numbers, which a Gaussian copula models with
``norm`` marginals (it then only has to learn the correlations), and whose numeric columns CTGAN
and TVAE learn as well (their categories can stay categories: ``encode_categories=False``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

import constants

_EPS = 1e-9


def normal_quantile(u: np.ndarray) -> np.ndarray:
    """``Phi^-1(u)`` for ``u`` clipped inside (0, 1)."""
    return special.ndtri(np.clip(u, _EPS, 1 - _EPS))


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """``Phi(z)``."""
    return special.ndtr(z)


def numeric_kind(values: pd.Series, max_discrete: int = constants.SYNTH_DISCRETE_MAX_VALUES) -> str:
    """``discrete`` for a numeric column with few distinct values (counts, codes), else ``continuous``.

    Integer columns with at most ``max_discrete`` distinct values keep their exact values and
    frequencies; any column with at most ``max_discrete // 2`` distinct values does too (a Likert
    mean that takes 13 values is not a continuum).
    """
    known = pd.to_numeric(values, errors="coerce").dropna()
    distinct = known.nunique()
    integral = bool(len(known)) and bool(np.all(np.isclose(known, np.round(known))))
    if (integral and distinct <= max_discrete) or distinct <= max_discrete // 2:
        return "discrete"
    return "continuous"


@dataclass
class NumericCodec:
    """A numeric column's empirical marginal: sorted training values, missing share, rounding."""

    values: np.ndarray  # sorted non-missing training values
    rows: int  # training rows, missing ones included
    kind: str  # "discrete" or "continuous"
    integral: bool
    decimals: int | None

    @classmethod
    def fit(cls, series: pd.Series, kind: str | None = None) -> NumericCodec:
        """Learn the marginal of ``series`` (missing values are an atom of their own)."""
        x = pd.to_numeric(series, errors="coerce").to_numpy(float)
        known = np.sort(x[~np.isnan(x)])
        integral = bool(known.size) and bool(np.all(known == np.round(known)))
        return cls(
            values=known,
            rows=len(x),
            kind=kind or numeric_kind(series),
            integral=integral,
            decimals=None if integral else _decimals(known),
        )

    @property
    def missing(self) -> int:
        """Training rows with a missing value."""
        return self.rows - len(self.values)

    def atoms(self, min_share: float = constants.SYNTH_ATOM_SHARE) -> dict[float, float]:
        """Values that hold at least ``min_share`` of the rows, with their shares (the point masses)."""
        if not len(self.values):
            return {}
        unique, counts = np.unique(self.values, return_counts=True)
        keep = counts / self.rows >= min_share
        return {
            float(v): round(float(c / self.rows), 6) for v, c in zip(unique[keep], counts[keep], strict=True)
        }

    def encode(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        """Normal scores of the training column ``series`` (ties and missing values spread at random)."""
        x = pd.to_numeric(series, errors="coerce").to_numpy(float)
        missing = np.isnan(x)
        u = np.empty(len(x))
        u[missing] = (rng.permutation(int(missing.sum())) + 0.5) / self.rows
        known = np.flatnonzero(~missing)
        order = np.lexsort((rng.random(len(known)), x[known]))
        ranks = np.empty(len(known))
        ranks[order] = np.arange(len(known))
        u[known] = (self.missing + ranks + 0.5) / self.rows
        return normal_quantile(u)

    def groups(self, series: pd.Series) -> np.ndarray:
        """Tie groups in ascending order of ``u``: missing first, then each distinct value."""
        x = pd.to_numeric(series, errors="coerce").to_numpy(float)
        codes = np.searchsorted(np.unique(self.values), x) + 1
        return np.where(np.isnan(x), 0, codes)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Values for normal scores ``z``: atoms exactly, discrete values as they are, others interpolated."""
        u = normal_cdf(np.asarray(z, float))
        position = u * self.rows - self.missing - 0.5
        out = np.full(len(u), np.nan)
        known = position > -0.5 if self.missing else np.ones(len(u), bool)
        if not len(self.values):
            return out
        index = np.clip(position[known], 0, len(self.values) - 1)
        if self.kind == "discrete":
            out[known] = self.values[np.round(index).astype(int)]
        else:
            out[known] = np.interp(index, np.arange(len(self.values)), self.values)
            if self.integral:
                out[known] = np.round(out[known])
            elif self.decimals is not None:
                out[known] = np.round(out[known], self.decimals)
        return out


def _decimals(values: np.ndarray, most: int = 6) -> int | None:
    """The fewest decimals (up to ``most``) that represent every value, or None for more."""
    for decimals in range(1, most + 1):
        if np.allclose(values, np.round(values, decimals), rtol=0, atol=1e-12):
            return decimals
    return None


@dataclass
class CategoricalCodec:
    """A category's marginal: its categories in order and their cumulative shares."""

    categories: list  # in latent order (ordinal scales lowest first); NaN stands for missing
    edges: np.ndarray  # cumulative shares, edges[0] = 0, edges[-1] = 1

    @classmethod
    def fit(cls, series: pd.Series, order: list | None = None) -> CategoricalCodec:
        """Learn the frequencies of ``series``; ``order`` (an ordinal scale) fixes the latent order."""
        counts = series.value_counts(dropna=False, sort=True)
        if order is not None:
            ordered = [v for v in order if v in counts.index]
            ordered += [v for v in counts.index if v not in ordered]
            counts = counts.reindex(ordered)
        shares = counts.to_numpy(float) / counts.sum()
        return cls(categories=list(counts.index), edges=np.concatenate([[0.0], np.cumsum(shares)]))

    def encode(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        """Normal scores: each row's ``u`` uniform inside its category's interval."""
        lookup = {_key(c): i for i, c in enumerate(self.categories)}
        index = np.array([lookup[_key(v)] for v in series], dtype=int)
        low, high = self.edges[index], self.edges[index + 1]
        return normal_quantile(low + rng.random(len(index)) * (high - low))

    def groups(self, series: pd.Series) -> np.ndarray:
        """Each row's category index (categories in ascending order of ``u``)."""
        lookup = {_key(c): i for i, c in enumerate(self.categories)}
        return np.array([lookup[_key(v)] for v in series], dtype=int)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """The category whose interval holds ``Phi(z)``."""
        u = normal_cdf(np.asarray(z, float))
        index = np.clip(np.searchsorted(self.edges, u, side="right") - 1, 0, len(self.categories) - 1)
        return np.array(self.categories, dtype=object)[index]


def _replace_ties(
    z: np.ndarray, groups: list[np.ndarray], tied: list[int], rng: np.random.Generator, noise: float = 1.0
) -> np.ndarray:
    """One round: each tied column's rows re-ordered inside their groups by a conditional draw.

    Columns are updated one after the other (Gauss-Seidel: each sees the others' new places; updating
    all from the same scores does not converge, two rare indicators stayed at 0.15).
    """
    correlation = np.corrcoef(z, rowvar=False)
    correlation = np.nan_to_num(correlation) * 0.999 + np.eye(len(correlation)) * 0.001
    precision = np.linalg.pinv(correlation)
    z = z.copy()
    for j in tied:
        # E[z_j | rest] = z_j - (z P)_j / P_jj, Var = 1 / P_jj
        mean = z[:, j] - z @ precision[:, j] / precision[j, j]
        draw = mean + noise * rng.standard_normal(len(z)) / np.sqrt(precision[j, j])
        z[np.lexsort((draw, groups[j])), j] = np.sort(z[:, j])
    return z


def _key(value):
    """A dictionary key under which every missing value is one."""
    return "<missing>" if value is None or (isinstance(value, float) and np.isnan(value)) else value


def level_orders(frame: pd.DataFrame, sdtypes: dict[str, str], min_eta2: float = 0.1) -> dict[str, list]:
    """A latent order for nominal categories: by their mean on the numeric column they explain best.

    A copula ties a category to a number through one monotone latent: ordered by frequency, a
    category that sets a number non-monotonically (``education`` -> ``education_num``) is mixed up in
    the copy; ordered by that number's class means the map is monotone and the copula keeps it.
    Yes/no columns count as numbers (``relationship`` sets ``sex``). Categories explaining under
    ``min_eta2`` of every such column keep their frequency order.
    """
    numeric = [c for c in frame.columns if sdtypes.get(c) in ("numerical", "datetime")]
    nominal = [c for c in frame.columns if sdtypes.get(c) in ("categorical", "boolean")]
    binary = [c for c in nominal if frame[c].nunique(dropna=False) == 2]
    if not (numeric or binary) or not nominal or len(frame) < 3:
        return {}
    scores = []
    for column in numeric:  # mid-rank normal scores: robust to long tails and point masses
        x = pd.to_numeric(frame[column], errors="coerce")
        ranks = x.rank(method="average").to_numpy(float)
        z = np.nan_to_num(normal_quantile((ranks - 0.5) / max(x.notna().sum(), 1)), nan=0.0)
        scores.append((z - z.mean()) / (z.std() or 1.0))
    for column in binary:  # a yes/no column is a number too (relationship -> sex)
        labels = frame[column].astype("object").where(frame[column].notna(), "<missing>").astype(str)
        z = (labels == labels.value_counts().index[-1]).to_numpy(float)
        scores.append((z - z.mean()) / (z.std() or 1.0))
    scores = np.column_stack(scores)
    orders = {}
    for column in nominal:
        labels = frame[column].astype("object").where(frame[column].notna(), "<missing>")
        codes, uniques = pd.factorize(labels)
        if len(uniques) < 3:
            continue
        counts = np.bincount(codes, minlength=len(uniques)).astype(float)
        sums = np.zeros((len(uniques), scores.shape[1]))
        np.add.at(sums, codes, scores)
        means = sums / counts[:, None]
        eta2 = (counts[:, None] * means**2).sum(axis=0) / len(frame)
        best = int(np.argmax(eta2))
        if eta2[best] >= min_eta2:
            order = np.argsort(means[:, best], kind="stable")
            orders[column] = [np.nan if uniques[i] == "<missing>" else uniques[i] for i in order]
    return orders


class TableCodec:
    """Per-column codecs of one table: ``encode`` to normal scores, ``decode`` back to the table.

    ``sdtypes`` maps each column to its SDV sdtype (numerical, datetime, categorical, boolean,
    ordinal); ``orders`` the ordinal scales' categories; with ``encode_categories=False`` the
    categories are passed through unchanged (CTGAN and TVAE handle them themselves). Columns with
    one value are kept aside as constants.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        sdtypes: dict[str, str],
        *,
        orders: dict[str, list] | None = None,
        encode_categories: bool = True,
        kinds: dict[str, str] | None = None,
    ) -> None:
        orders, kinds = orders or {}, kinds or {}
        self.columns = list(frame.columns)
        self.constants: dict[str, object] = {}
        self.codecs: dict[str, NumericCodec | CategoricalCodec] = {}
        self.passthrough: list[str] = []
        for column in self.columns:
            series = frame[column]
            if series.nunique(dropna=False) <= 1:
                self.constants[column] = series.iloc[0] if len(series) else np.nan
            elif sdtypes.get(column) in ("numerical", "datetime"):
                self.codecs[column] = NumericCodec.fit(series, kinds.get(column))
            elif encode_categories:
                self.codecs[column] = CategoricalCodec.fit(series, orders.get(column))
            else:
                self.passthrough.append(column)

    @property
    def latent_columns(self) -> list[str]:
        """The columns of the encoded table (normal scores, then passed-through categories)."""
        return [c for c in self.columns if c in self.codecs or c in self.passthrough]

    def encode(
        self, frame: pd.DataFrame, rng: np.random.Generator, rounds: int = constants.SYNTH_LATENT_ROUNDS
    ) -> pd.DataFrame:
        """The training rows as normal scores (passed-through categories as they are).

        Where a value is shared by many rows (a category, an atom), *where* each row sits inside
        its interval carries its relationship with the other columns: placed at random, a binary
        column's latent correlation with its partner is attenuated (two 3 % indicators correlated
        at 0.75 came back at 0.04). ``rounds`` times, rows are re-placed inside their interval in
        the order of a draw from the conditional normal of their score given the other scores
        (a stochastic-EM step for the latent Gaussian); marginals are untouched, only ties move.
        """
        encoded = [c for c in self.latent_columns if c in self.codecs]
        z = np.column_stack([self.codecs[c].encode(frame[c], rng) for c in encoded]) if encoded else None
        if z is not None and len(encoded) > 1 and len(frame) > len(encoded) + 2:
            groups = [self.codecs[c].groups(frame[c]) for c in encoded]
            tied = [j for j, g in enumerate(groups) if len(np.unique(g)) < len(g)]
            for number in range(rounds if tied else 0):
                # first half: rows placed in the order of their conditional mean (converges fast),
                # then by draws from the conditional normal (so the latent is not over-correlated)
                z = _replace_ties(z, groups, tied, rng, noise=0.0 if number < rounds // 2 else 1.0)
        out = {}
        for column in self.latent_columns:
            if column in self.codecs:
                out[column] = z[:, encoded.index(column)]
            else:
                out[column] = frame[column].to_numpy()
        return pd.DataFrame(out, index=frame.index)

    def decode(self, latent: pd.DataFrame) -> pd.DataFrame:
        """Sampled latent rows back to values, constants restored, in the fitted column order."""
        out = {}
        for column in self.columns:
            if column in self.constants:
                out[column] = np.repeat(np.array([self.constants[column]], dtype=object), len(latent))
            elif column in self.passthrough:
                out[column] = latent[column].to_numpy()
            else:
                out[column] = self.codecs[column].decode(latent[column].to_numpy(float))
        return pd.DataFrame(out, index=latent.index)
