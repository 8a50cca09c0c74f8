"""The report's figures as PNG bytes (matplotlib, Agg): distributions, correlation gaps, census.

Every figure is drawn from seeded samples, so the same data gives the same bytes.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from utils import fidelity

SEED_COLOR, SYNTH_COLOR, CENSUS_COLOR = "#1f77b4", "#ff7f0e", "#2ca02c"
MAX_BARS = 12
COLUMNS_PER_ROW = 4


def png(figure) -> bytes:
    """The figure as PNG bytes (no timestamp metadata), then closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _grid(count: int, width: float = 3.6, height: float = 2.6):
    rows = max(math.ceil(count / COLUMNS_PER_ROW), 1)
    cols = min(max(count, 1), COLUMNS_PER_ROW)
    figure, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for axis in axes.ravel()[count:]:
        axis.set_visible(False)
    return figure, axes.ravel()


def _shares(values: pd.Series) -> pd.Series:
    return values.astype("object").fillna("<missing>").astype(str).value_counts(normalize=True)


def _bars(axis, frame: pd.DataFrame, colors: list[str]) -> None:
    frame = frame.head(MAX_BARS)
    positions = np.arange(len(frame))
    width = 0.8 / len(frame.columns)
    for i, (name, color) in enumerate(zip(frame.columns, colors, strict=True)):
        axis.bar(positions + i * width, frame[name].to_numpy(), width, label=name, color=color)
    axis.set_xticks(positions + width * (len(frame.columns) - 1) / 2)
    axis.set_xticklabels([str(label)[:14] for label in frame.index], rotation=60, ha="right", fontsize=7)


def _hist(axis, seed: pd.Series, synthetic: pd.Series) -> None:
    a, b = (v[~np.isnan(v)] for v in (fidelity.as_float(seed), fidelity.as_float(synthetic)))
    if fidelity.is_datetime(seed):
        a, b = a / 86_400e9, b / 86_400e9  # days since 1970
    both = np.concatenate([a, b])
    if both.size == 0:
        return
    low, high = np.quantile(both, [0.005, 0.995])
    bins = np.linspace(low, high if high > low else low + 1, 30)
    axis.hist(a, bins=bins, density=True, alpha=0.55, label="seed", color=SEED_COLOR)
    axis.hist(b, bins=bins, density=True, alpha=0.55, label="synthetic", color=SYNTH_COLOR)
    axis.tick_params(labelsize=7)


def distribution_figure(seed: pd.DataFrame, synthetic: pd.DataFrame, distances: pd.DataFrame) -> bytes:
    """One panel per compared column: overlaid histograms (numbers, dates) or share bars (categories)."""
    figure, axes = _grid(len(distances))
    for axis, row in zip(axes, distances.itertuples(), strict=False):
        column = row.column
        if row.metric == "ks":
            _hist(axis, seed[column], synthetic[column])
        else:
            frame = pd.DataFrame({"seed": _shares(seed[column]), "synthetic": _shares(synthetic[column])})
            frame = frame.fillna(0).sort_values("seed", ascending=False)
            _bars(axis, frame, [SEED_COLOR, SYNTH_COLOR])
        mark = "" if row.passed else "  ✗"
        axis.set_title(f"{column}\n{row.metric}={row.distance:.3f}{mark}", fontsize=8,
                       color="black" if row.passed else "#d62728")  # fmt: skip
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    return png(figure)


def correlation_figure(pairs: pd.DataFrame, title: str) -> bytes:
    """Heat-map of |seed - synthetic| per column pair (Pearson and Cramér's V pairs together)."""
    columns = list(dict.fromkeys([*pairs["column_1"], *pairs["column_2"]]))
    matrix = pd.DataFrame(np.nan, index=columns, columns=columns)
    for row in pairs.itertuples():
        matrix.loc[row.column_1, row.column_2] = matrix.loc[row.column_2, row.column_1] = row.difference
    size = max(4.0, 0.38 * len(columns) + 2)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(matrix.to_numpy(float), cmap="Reds", vmin=0, vmax=max(0.2, float(np.nanmax(matrix))))
    axis.set_xticks(range(len(columns)), [c[:18] for c in columns], rotation=75, fontsize=7)
    axis.set_yticks(range(len(columns)), [c[:18] for c in columns], fontsize=7)
    axis.set_title(f"{title}: |seed - synthetic| correlation / Cramér's V", fontsize=9)
    figure.colorbar(image, ax=axis, shrink=0.7)
    figure.tight_layout()
    return png(figure)


def census_figure(shares: dict[str, pd.DataFrame], state: str) -> bytes:
    """Census vs synthetic shares of each person-level marginal of one state."""
    figure, axes = _grid(len(shares), width=3.8, height=2.8)
    for axis, (column, frame) in zip(axes, shares.items(), strict=False):
        _bars(axis, frame, [CENSUS_COLOR, SYNTH_COLOR])
        axis.set_title(f"{state} {column}", fontsize=8)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    return png(figure)
