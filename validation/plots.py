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


# --- realism: the calibration table's funnel and purchase profiles against their benchmark bands ----------
BAND_COLOR, INSTORE_COLOR, REMOTE_COLOR = "#2ca02c", "#1f77b4", "#ff7f0e"
# (channel, stage label, metric of the calibration table) drawn as the funnel figure
FUNNEL = (
    ("email", "open / delivered", "email_open_rate"),
    ("email", "click / delivered", "email_click_rate"),
    ("email", "click / open", "email_click_to_open_rate"),
    ("email", "conversion / delivered", "email_conversion_per_delivered"),
    ("search", "click / impression", "search_ctr"),
    ("search", "conversion / click", "search_conversion_per_click"),
    ("display", "click / impression", "display_ctr"),
    ("display", "conversion / click", "display_conversion_per_click"),
    ("social", "click / impression", "social_ctr"),
    ("social", "conversion / click", "social_conversion_per_click"),
    ("sms", "click / delivered", "sms_click_rate"),
    ("sms", "conversion / delivered", "sms_conversion_per_delivered"),
    ("direct_mail", "response (house list)", "direct_mail_response_rate_house"),
    ("direct_mail", "response (prospects)", "direct_mail_response_rate_prospect"),
)


def _metric_rows(table: pd.DataFrame) -> dict[str, dict]:
    return {row["metric"]: row for row in table.to_dict("records")} if len(table) else {}


def _band(axis, row: dict | None, scale: float = 1.0, label: str = "benchmark band") -> None:
    """The metric's band as a shaded horizontal span (``scale`` converts it to the plotted unit)."""
    if row is not None and np.isfinite(row["band_low"]) and np.isfinite(row["band_high"]):
        axis.axhspan(
            row["band_low"] * scale, row["band_high"] * scale, color=BAND_COLOR, alpha=0.15, label=label
        )


def _band_text(row: dict | None) -> str:
    if row is None:
        return ""
    high = "" if row["band_high"] >= 1000 else f"-{row['band_high']:g}"  # 1000: a guard, not a bound
    return f" (band {row['band_low']:g}{high or ' up'})"


def _value(row: dict | None) -> str:
    value = None if row is None else row.get("value")
    return "n/a" if value is None or value != value else f"{value:.3g}"


def realism_funnel_figure(table: pd.DataFrame) -> bytes:
    """Each funnel rate of each channel as a bar (red: out of band), its benchmark band as a green span."""
    rows = _metric_rows(table)
    chosen = [(channel, stage, rows[metric]) for channel, stage, metric in FUNNEL if metric in rows]
    figure, axis = plt.subplots(figsize=(11, 4.2))
    for i, (_, _, row) in enumerate(chosen):
        axis.fill_between(
            [i - 0.42, i + 0.42], row["band_low"], row["band_high"], color=BAND_COLOR, alpha=0.25
        )
        value = row["value"]
        if value is not None and value == value:
            color = {"fail": "#d62728", "skip": "#999999"}.get(row["verdict"], SYNTH_COLOR)
            axis.bar(i, value, 0.5, color=color)
    axis.set_xticks(
        range(len(chosen)), [f"{c}\n{s}" for c, s, _ in chosen], rotation=60, ha="right", fontsize=7
    )
    axis.set_yscale("symlog", linthresh=0.01)
    axis.set_ylabel("rate (symlog)", fontsize=8)
    axis.tick_params(labelsize=7)
    axis.set_title(
        "Funnel by channel: synthetic rate (bar; red = out of band) vs benchmark band (green)", fontsize=9
    )
    figure.tight_layout()
    return png(figure)


def realism_hour_figure(hours: pd.DataFrame, table: pd.DataFrame) -> bytes:
    """Shares of purchases by local hour, in store and remote; the in-store night cap, busiest-hour band."""
    rows = _metric_rows(table)
    figure, axis = plt.subplots(figsize=(8, 3.4))
    _band(axis, rows.get("in_store_max_hour_share"), label="in-store busiest hour band")
    night = rows.get("in_store_purchases_0000_0600_share")
    if night is not None:
        axis.axvspan(
            -0.5,
            5.5,
            color="#999999",
            alpha=0.12,
            label=f"00-06: <= {night['band_high']:.0%} of in-store purchases",
        )
    axis.plot(hours["hour"], hours["in_store"], marker="o", color=INSTORE_COLOR, label="in store")
    axis.plot(hours["hour"], hours["remote"], marker="s", color=REMOTE_COLOR, label="remote (online + app)")
    axis.set_xticks(range(0, 24, 2))
    axis.set_xlabel("local hour", fontsize=8)
    axis.set_ylabel("share of purchases", fontsize=8)
    axis.tick_params(labelsize=7)
    ratios = [
        f"{label} {_value(rows.get(metric))}{_band_text(rows.get(metric))}"
        for label, metric in (
            ("all channels", "purchases_hour_of_day_max_min_ratio"),
            ("remote", "remote_purchases_hour_of_day_max_min_ratio"),
        )
    ]
    axis.set_title(f"Purchases by hour of day, max/min: {'; '.join(ratios)}", fontsize=9)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return png(figure)


def realism_weekday_figure(weekdays: pd.DataFrame, table: pd.DataFrame) -> bytes:
    """Shares of purchases by local weekday, in store and remote; the in-store weekend band per day."""
    rows = _metric_rows(table)
    figure, axis = plt.subplots(figsize=(6, 3.4))
    positions = np.arange(len(weekdays))
    axis.bar(positions - 0.2, weekdays["in_store"], 0.4, color=INSTORE_COLOR, label="in store")
    axis.bar(positions + 0.2, weekdays["remote"], 0.4, color=REMOTE_COLOR, label="remote")
    weekend = rows.get("in_store_weekend_share")
    if weekend is not None:  # the weekend share's band, split evenly over Saturday and Sunday
        low, high = weekend["band_low"] / 2, weekend["band_high"] / 2
        axis.fill_between(
            [4.5, 6.5], low, high, color=BAND_COLOR, alpha=0.25, label="in-store weekend band / 2"
        )
    axis.set_xticks(positions, list(weekdays["weekday"]))
    axis.set_ylabel("share of purchases", fontsize=8)
    axis.tick_params(labelsize=7)
    ratio = rows.get("in_store_day_of_week_max_min_ratio")
    band = "" if ratio is None else f" (band {ratio['band_low']:g}-{ratio['band_high']:g})"
    axis.set_title(f"Purchases by day of week: in-store max/min {_value(ratio)}{band}", fontsize=9)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return png(figure)


def realism_month_figure(months: pd.DataFrame, table: pd.DataFrame, year: int | None) -> bytes:
    """Revenue share by month; bands: the lowest month, December (factors x 1/12) and November + December."""
    rows = _metric_rows(table)
    figure, axis = plt.subplots(figsize=(8, 3.4))
    positions = np.arange(len(months))
    axis.bar(positions, months["revenue_share"], 0.6, color=SYNTH_COLOR, label="synthetic")
    lowest = rows.get("lowest_month_factor")
    if lowest is not None:
        _band(axis, lowest, scale=1 / 12, label="lowest month band (factor / 12)")
    december = rows.get("december_seasonal_factor")
    if december is not None:
        axis.fill_between(
            [10.6, 11.4],
            december["band_low"] / 12,
            december["band_high"] / 12,
            color="#9467bd",
            alpha=0.3,
            label="December band (factor / 12)",
        )
    axis.axhline(1 / 12, color="#888", linewidth=0.8, linestyle="--", label="flat (1/12)")
    axis.set_xticks(positions, list(months["month"]))
    axis.set_ylabel("share of revenue", fontsize=8)
    axis.tick_params(labelsize=7)
    novdec = rows.get("nov_dec_revenue_share")
    band = "" if novdec is None else f" (band {novdec['band_low']:g}-{novdec['band_high']:g})"
    axis.set_title(
        f"Revenue by month{'' if year is None else f' ({year})'}: Nov + Dec {_value(novdec)}{band}",
        fontsize=9,
    )
    axis.legend(fontsize=7)
    figure.tight_layout()
    return png(figure)
