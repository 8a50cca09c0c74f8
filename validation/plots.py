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

from utils.metrics import fidelity

SEED_COLOR, SYNTH_COLOR, CENSUS_COLOR = "#1f77b4", "#ff7f0e", "#2ca02c"
MAX_BARS = 12
COLUMNS_PER_ROW = 4


def png(figure) -> bytes:
    """The figure as PNG bytes (no timestamp metadata), then closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _grid(count: int, width: float = 3.2, height: float = 2.4):
    rows = max(math.ceil(count / COLUMNS_PER_ROW), 1)
    cols = min(max(count, 1), COLUMNS_PER_ROW)
    figure, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    figure.subplots_adjust(left=0.12, right=0.98, bottom=0.05, top=0.95, wspace=0.55, hspace=0.5)
    for axis in axes.ravel()[count:]:
        axis.set_visible(False)
    return figure, axes.ravel()


def _shares(values: pd.Series) -> pd.Series:
    return values.astype("object").astype(str).value_counts(normalize=True)


def _bars(axis, frame: pd.DataFrame, colors: list[str]) -> None:
    """Horizontal bars, one group per category (first ``MAX_BARS``), one bar per frame column."""
    frame = frame.head(MAX_BARS)
    positions = np.arange(len(frame))
    height = 0.8 / len(frame.columns)
    for i, (name, color) in enumerate(zip(frame.columns, colors, strict=True)):
        axis.barh(positions + i * height, frame[name].to_numpy(), height, label=name, color=color)
    axis.set_yticks(positions + height * (len(frame.columns) - 1) / 2, [str(x)[:16] for x in frame.index])
    axis.tick_params(labelsize=6)
    axis.invert_yaxis()


def _hist(axis, seed: pd.Series, synthetic: pd.Series) -> None:
    """Both densities as step lines on shared bins (dates in days since 1970)."""
    a, b = (v[~np.isnan(v)] for v in (fidelity.as_float(seed), fidelity.as_float(synthetic)))
    if fidelity.is_datetime(seed):
        a, b = a / 86_400e9, b / 86_400e9
    both = np.concatenate([a, b])
    if both.size == 0:
        return
    low, high = np.quantile(both, [0.005, 0.995])
    bins = np.linspace(low, high if high > low else low + 1, 31)
    for values, label, color in ((a, "seed", SEED_COLOR), (b, "synthetic", SYNTH_COLOR)):
        if values.size:
            density, _ = np.histogram(values, bins=bins, density=True)
            axis.stairs(density, bins, label=label, color=color, fill=label == "seed", alpha=0.6)
    axis.locator_params(nbins=4)
    axis.tick_params(labelsize=6)


def distribution_figure(seed: pd.DataFrame, synthetic: pd.DataFrame, distances: pd.DataFrame) -> bytes:
    """One panel per compared column: densities (numbers, dates) or share bars (categories)."""
    figure, axes = _grid(len(distances))
    for axis, row in zip(axes, distances.itertuples(), strict=False):
        column = row.column
        if row.metric == "ks":
            _hist(axis, seed[column], synthetic[column])
        else:
            frame = pd.DataFrame({"seed": _shares(seed[column]), "synthetic": _shares(synthetic[column])})
            _bars(axis, frame.fillna(0).sort_values("seed", ascending=False), [SEED_COLOR, SYNTH_COLOR])
        color = "black" if row.passed else "#d62728"
        axis.set_title(f"{column} {row.metric}={row.distance:.3f}", fontsize=8, color=color)
    axes[0].legend(fontsize=6)
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


def census_figure(shares: dict[str, dict[str, pd.DataFrame]]) -> bytes:
    """One panel per state: each category of each census marginal at (census share, synthetic share).

    Points on the diagonal match the census; a demographics file drawn from the wrong population
    shows as points far off it.
    """
    figure, axes = _grid(len(shares), width=3.4, height=3.2)
    colors = plt.get_cmap("tab10").colors
    for axis, (state, marginals) in zip(axes, shares.items(), strict=False):
        top = 0.0
        for color, (column, frame) in zip(colors, marginals.items(), strict=False):
            axis.scatter(frame["census"], frame["synthetic"], s=12, color=color, label=column)
            top = max(top, float(frame.to_numpy().max()))
        axis.plot([0, top], [0, top], color="#888", linewidth=0.8)
        axis.set_title(f"{state}: census (x) vs synthetic (y) share", fontsize=8)
        axis.tick_params(labelsize=6)
    axes[0].legend(fontsize=6, loc="upper left")
    return png(figure)
