"""Sample a fitted SDV Gaussian copula with NumPy: the same distributions, an order of magnitude faster.

SDV 2.0's ``GaussianCopulaSynthesizer.sample`` spends most of its time in SciPy's inverse CDFs (a
beta marginal's ``ppf`` inverts the incomplete beta function value by value: 77 % of a 15-column
sample) and in pandas copies of its reverse transforms and batch loop. The copula itself is
cheap. :class:`FastCopulaSampler` compiles a fitted synthesizer once into arrays:

- the correlation's Cholesky factor: latent rows are ``standard_normal @ L.T`` (what
  ``GaussianMultivariate.sample`` draws);
- each marginal as its inverse CDF tabulated on the latent scale, ``ppf(Φ(z))`` at ``GRID_POINTS``
  evenly spaced points of ``z`` in ``[-Z_LIMIT, Z_LIMIT]`` (exact values from the fitted
  univariate), interpolated linearly: ``ppf ∘ Φ`` is smooth in ``z``, so the table's error is far
  below one row's weight;
- each reverse transform as arrays: a category from the intervals of RDT's ``UniformEncoder`` /
  ``OrderedUniformEncoder`` (``searchsorted`` instead of ``pd.cut``); a number clipped to its fitted
  range and rounded to its learnt digits, in its fitted dtype (``FloatFormatter`` and SDV's
  ``NumericalFormatter``).

A synthesizer it cannot compile (other transformers, missing-value columns, constraints, another
model) is sampled by SDV itself (:func:`sample`). Same seed, same rows; other random streams than
SDV's, so the rows differ from SDV's one by one but not in distribution
(``bench/bench_scale.py`` measures the speed and the KS / TVD distance to SDV's own sample).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

GRID_POINTS = 4_097
Z_LIMIT = 7.0  # |z| beyond this has probability 3e-12: clipped to the table's ends
MIN_ROWS = 2 * GRID_POINTS  # below this, SDV's own sampler evaluates fewer inverse CDF values


class CannotCompile(Exception):
    """The synthesizer holds something the fast path does not reproduce exactly."""


class FastCopulaSampler:
    """A fitted ``GaussianCopulaSynthesizer`` compiled to arrays; :meth:`sample` draws rows."""

    def __init__(self, synthesizer) -> None:
        from sdv.single_table import GaussianCopulaSynthesizer

        if not isinstance(synthesizer, GaussianCopulaSynthesizer) or not synthesizer._fitted:
            raise CannotCompile("not a fitted GaussianCopulaSynthesizer")
        processor = synthesizer._data_processor
        if getattr(processor, "_constraints", None) or getattr(synthesizer, "_chained_constraints", None):
            raise CannotCompile("constraints")
        model = synthesizer._model
        self.latent_columns = list(model.columns)
        transformers = processor._hyper_transformer.field_transformers
        if set(transformers) != set(self.latent_columns):
            raise CannotCompile("transformers and model columns differ (missing-value or derived columns)")
        correlation = np.asarray(model.correlation, dtype=float)
        self.cholesky = _cholesky(correlation)
        self.grid = np.linspace(-Z_LIMIT, Z_LIMIT, GRID_POINTS)
        uniform = ndtr(self.grid)
        self.tables = [np.asarray(u.percent_point(uniform), dtype=float) for u in model.univariates]
        if not all(np.isfinite(table).all() for table in self.tables):
            raise CannotCompile("a marginal's inverse CDF is not finite on the grid")
        self.decoders = [
            _decoder(name, transformers[name], processor, self.grid, table)
            for name, table in zip(self.latent_columns, self.tables, strict=True)
        ]
        self.columns = list(processor._dtypes.index)
        if set(self.columns) != set(self.latent_columns):
            raise CannotCompile("the table has columns the model does not sample (keys, anonymized)")

    def sample(self, num_rows: int, seed: int) -> pd.DataFrame:
        """``num_rows`` rows; the same seed gives the same rows."""
        rng = np.random.default_rng(seed)
        latent = self.cholesky @ rng.standard_normal((len(self.latent_columns), num_rows))
        out = {}
        for index, name in enumerate(self.latent_columns):
            out[name] = self.decoders[index](latent[index])
        return pd.DataFrame(out)[self.columns]


def _cholesky(correlation: np.ndarray) -> np.ndarray:
    """Cholesky factor of a correlation matrix, nudged to positive definite as SciPy's sampler would
    need (copulas fits a near-singular matrix for duplicated columns)."""
    for jitter in (0.0, 1e-12, 1e-10, 1e-8, 1e-6):
        try:
            return np.linalg.cholesky(correlation + jitter * np.eye(len(correlation)))
        except np.linalg.LinAlgError:
            continue
    values, vectors = np.linalg.eigh(correlation)
    return vectors * np.sqrt(np.clip(values, 0, None))


def _interpolator(grid: np.ndarray, table: np.ndarray):
    """``ppf(Φ(z))`` by linear interpolation on the even grid (a value's cell is arithmetic, not a
    search: np.interp's binary search took two thirds of the time)."""
    scale = (len(grid) - 1) / (grid[-1] - grid[0])

    def value(latent: np.ndarray) -> np.ndarray:
        position = (np.clip(latent, grid[0], grid[-1]) - grid[0]) * scale
        cell = np.minimum(position.astype(np.int64), len(grid) - 2)
        low = table[cell]
        return low + (position - cell) * (table[cell + 1] - low)

    return value


def _decoder(name: str, transformer, processor, grid: np.ndarray, table: np.ndarray):
    """The model column's value and reverse transform, as one function of the latent normal values."""
    kind = type(transformer).__name__
    if kind in ("UniformEncoder", "OrderedUniformEncoder"):
        return _categories(transformer, grid, table)
    if kind == "FloatFormatter":
        nulls = getattr(getattr(transformer, "null_transformer", None), "nulls", False)
        if nulls or transformer.output_columns != [name]:
            raise CannotCompile(f"{name}: the column had missing values")
        formatter = processor.formatters.get(name)
        return _numbers(transformer, formatter, _interpolator(grid, table))
    raise CannotCompile(f"{name}: {kind}")


def _categories(transformer, grid: np.ndarray, table: np.ndarray):
    """A category straight from the latent value: the encoder's interval ends, mapped back through the
    (increasing) tabulated marginal to the latent scale, cut the normal line into the categories."""
    labels = list(transformer.intervals)
    if not labels or any(pd.isna(label) for label in labels):
        raise CannotCompile("a category column with missing values")
    ends = np.array([transformer.intervals[label][1] for label in labels], dtype=float)
    # pd.cut(values.clip(0, 1), bins=[0, *ends], include_lowest=True): a value on an end belongs to
    # the interval it closes; on the latent scale the same cut points, through the increasing table.
    cuts = np.interp(ends[:-1], table, grid)
    names = np.empty(len(labels), dtype=object)
    names[:] = labels
    dtype = getattr(transformer, "dtype", None)

    def decode(latent: np.ndarray) -> np.ndarray:
        out = names[np.searchsorted(cuts, latent, side="left")]
        return out if dtype is None or np.dtype(dtype) == np.dtype(object) else out.astype(dtype)

    return decode


def _numbers(transformer, formatter, value):
    low, high = transformer._min_value, transformer._max_value
    steps = []
    if transformer.enforce_min_max_values:
        steps.append(("clip", low, high))
    dtype = np.dtype(transformer._dtype)
    digits = transformer._rounding_digits if transformer.learn_rounding_scheme else None
    if digits is None and np.issubdtype(dtype, np.integer):
        digits = 0
    if digits is not None:
        steps.append(("round", digits))
    if formatter is not None:
        if formatter.enforce_min_max_values and formatter._min_value is not None:
            steps.append(("clip", formatter._min_value, formatter._max_value))
        if formatter.enforce_rounding and formatter._rounding_digits is not None:
            steps.append(("round", formatter._rounding_digits))
        dtype = np.dtype(formatter._dtype)

    def decode(latent: np.ndarray) -> np.ndarray:
        values = value(latent)
        for step in steps:
            clip = step[0] == "clip"
            values = np.clip(values, step[1], step[2]) if clip else np.round(values, step[1])
        return values.astype(dtype)

    return decode


def compile_sampler(synthesizer) -> FastCopulaSampler | None:
    """A :class:`FastCopulaSampler` for ``synthesizer``, or None where it cannot be compiled."""
    try:
        return FastCopulaSampler(synthesizer)
    except CannotCompile:
        return None
