"""The synthetic-copy report: its verdict, and the self-contained HTML page (charts as base64 PNG).

:func:`verdict` compares the report's figures with ``constants.SYNTH_BARS`` and says in plain
words whether the copy may be shared; :func:`render_html` draws the page from the JSON report.
"""

from __future__ import annotations

import base64
import html
import io
import json

import numpy as np

import constants


def copy_rate_bar(report: dict) -> float:
    """The exact-copy rate a copy may have: the holdout's own rate in training, plus two standard errors.

    Where real rows repeat each other, a copy that memorised nothing repeats them as often as the
    holdout does; 0 where the holdout has no copy.
    """
    rate = report["privacy"]["holdout_copy_rate"]
    rows = max(report["rows"]["synthetic"], 1)
    return round(rate + 2 * float(np.sqrt(rate * (1 - rate) / rows)), 6)


def verdict(report: dict) -> dict:
    """Checks (figure, bar, passed) and a one-paragraph plain verdict.

    "Faithful" needs every column's KS / TVD within ``SYNTH_COLUMN_DISTANCE_BAR``, the column pairs
    within their tolerance (``SYNTH_PAIRS_WITHIN_BAR`` of them) and SDMetrics' quality score; an
    overall score alone hides a column whose point mass was smeared.
    """
    bars = constants.SYNTH_BARS
    privacy, utility, fidelity = report["privacy"], report.get("utility"), report["fidelity"]
    over = fidelity.get("columns_over_bar", [])
    checks = [
        ("quality_score", fidelity["quality"]["score"], ">=", bars["quality_score"]),
        (
            "max_column_distance",
            fidelity.get("max_column_distance", 0.0),
            "<=",
            fidelity.get("column_distance_bar", constants.SYNTH_COLUMN_DISTANCE_BAR),
        ),
        (
            "pairs_within_tolerance",
            fidelity["correlation_difference"]["within_tolerance"],
            ">=",
            constants.SYNTH_PAIRS_WITHIN_BAR,
        ),
        (
            "share_closer_to_training",
            privacy["share_closer_to_training"],
            "<=",
            bars["share_closer_to_training"],
        ),
        ("membership_advantage", privacy["membership_advantage"], "<=", bars["membership_advantage"]),
        ("exact_copy_rate", privacy["exact_copy_rate"], "<=", copy_rate_bar(report)),
    ]
    if privacy["holdout_copy_rate"] <= constants.SYNTH_NATURAL_COPY_RATE:  # real rows are unique: no copy
        checks.append(("copies_of_rare_rows", privacy.get("copies_of_rare_rows", 0.0), "<=", 0.0))
    if utility is not None and utility["f1_ratio"] is not None:
        checks.insert(3, ("f1_ratio", utility["f1_ratio"], ">=", bars["f1_ratio"]))
    rows = [
        {
            "check": name,
            "value": value,
            "bar": f"{op} {bar}",
            "passed": bool(value >= bar if op == ">=" else value <= bar),
        }
        for name, value, op, bar in checks
    ]
    failed = [row["check"] for row in rows if not row["passed"]]
    fidelity_checks = {"quality_score", "max_column_distance", "pairs_within_tolerance"}
    if not fidelity_checks & set(failed):
        faithful = "faithful"
    elif over:
        faithful = f"NOT faithful ({len(over)} column(s) over the bar: {', '.join(over[:5])})"
    else:
        faithful = "NOT faithful enough"
    target = None if utility is None else utility["target"]
    detected = report.get("detected_target")
    useful = (
        "no target was given or found, so utility was not tested"
        if utility is None
        else ("useful for modelling" if "f1_ratio" not in failed else "NOT useful enough for modelling")
        + (f" {target} (detected as the likely outcome)" if detected and target == detected else "")
    )
    private = (
        "shows no sign of memorising its training rows"
        if not {"share_closer_to_training", "membership_advantage", "exact_copy_rate", "copies_of_rare_rows"}
        & set(failed)
        else "shows signs of memorising its training rows: do not share it"
    )
    text = f"The synthetic copy is {faithful}, {useful}, and {private}."
    return {"passed": not failed, "failed": failed, "checks": rows, "text": text}


def _png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def charts(report: dict, dcr_training: np.ndarray, dcr_holdout: np.ndarray) -> dict[str, str]:
    """Base64 PNG charts: column shapes, worst correlation differences, DCR histograms, utility."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    shapes = report["fidelity"]["quality"]["column_shape_scores"]
    figure, axis = plt.subplots(figsize=(7, 0.25 * len(shapes) + 1))
    axis.barh(list(shapes), list(shapes.values()), color="#4c72b0")
    axis.set_xlim(0, 1)
    axis.set_xlabel("SDMetrics column shape score (1 = same distribution)")
    axis.invert_yaxis()
    out["column_shapes"] = _png(figure)

    pairs = sorted(report["fidelity"]["correlation_difference"]["worst"], key=lambda r: -r["difference"])
    if pairs:
        figure, axis = plt.subplots(figsize=(7, 0.3 * len(pairs) + 1))
        axis.barh([f"{p['column_1']} × {p['column_2']}" for p in pairs], [p["difference"] for p in pairs])
        axis.set_xlabel("|synthetic − real| correlation / Cramér's V")
        axis.invert_yaxis()
        out["correlation_difference"] = _png(figure)

    figure, axis = plt.subplots(figsize=(7, 3))
    top = float(np.quantile(np.concatenate([dcr_training, dcr_holdout]), 0.99)) or 1.0
    bins = np.linspace(0, top, 40)
    axis.hist(dcr_training, bins=bins, alpha=0.6, label="to training rows")
    axis.hist(dcr_holdout, bins=bins, alpha=0.6, label="to holdout rows")
    axis.set_xlabel("distance of each synthetic row to its closest real record")
    axis.legend()
    out["dcr"] = _png(figure)

    utility = report.get("utility")
    if utility is not None:
        figure, axis = plt.subplots(figsize=(5, 3))
        names = ["accuracy", "f1"]
        x = np.arange(len(names))
        axis.bar(x - 0.2, [utility["train_real"][n] for n in names], 0.4, label="trained on real")
        axis.bar(x + 0.2, [utility["train_synthetic"][n] for n in names], 0.4, label="trained on synthetic")
        axis.set_xticks(x, names)
        axis.set_ylim(0, 1)
        axis.set_title(f"predicting {utility['target']} on the real holdout")
        axis.legend()
        out["utility"] = _png(figure)
    return out


def _cell(value) -> str:
    return "" if value is None else html.escape(str(value))


def column_table(report: dict) -> str:
    """The per-column table: metric, distance, bar, pass / FAIL, and the shape the copy kept."""
    fidelity = report["fidelity"]
    bar = fidelity.get("column_distance_bar", constants.SYNTH_COLUMN_DISTANCE_BAR)
    marginals = report.get("preparation", {}).get("marginals", {})
    rows = []
    for row in fidelity["column_distances"]:
        passed = row["distance"] <= bar
        shape = marginals.get(row["column"], {})
        masses = ", ".join(f"{v:g}: {p:.0%}" for v, p in shape.get("point_masses", {}).items())
        kind = shape.get("kind", "")
        rows.append(
            f"<tr class={'pass' if passed else 'fail'}><td>{html.escape(row['column'])}</td>"
            f"<td>{row['metric']}</td><td>{row['distance']:.4f}</td><td>&le; {bar}</td>"
            f"<td>{'pass' if passed else 'FAIL'}</td><td>{html.escape(kind)}</td>"
            f"<td>{html.escape(masses)}</td></tr>"
        )
    return (
        "<table><tr><th>column</th><th>metric</th><th>vs training</th><th>bar</th><th></th>"
        "<th>marginal</th><th>point masses (share)</th></tr>" + "".join(rows) + "</table>"
    )


def side_by_side_table(report: dict) -> str:
    """This copy against SDV's defaults and CTGAN, fitted on the same split."""
    side = report.get("side_by_side", {})
    if not side:
        return "<p>No side-by-side models (<code>--compare none</code>).</p>"
    head = (
        "<tr><th>model</th><th>training rows</th><th>fit s</th><th>max KS/TVD</th><th>columns over bar</th>"
        "<th>F1 synthetic / real</th><th>F1 ratio</th><th>closer to training</th><th>exact copies</th></tr>"
    )
    body = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        f"<td>{_cell(row.get('training_rows', report['rows']['training']))}</td>"
        f"<td>{_cell(row['fit_s'])}</td><td>{_cell(row['max_column_distance'])}</td>"
        f"<td>{_cell(row['columns_over_bar'])}</td>"
        f"<td>{_cell(row['f1_synthetic'])} / {_cell(row['f1_real'])}</td>"
        f"<td>{_cell(row['f1_ratio'])}</td><td>{_cell(row['share_closer_to_training'])}</td>"
        f"<td>{_cell(row['exact_copy_rate'])}</td></tr>"
        for name, row in side.items()
    )
    columns = sorted({c for row in side.values() for c in row["column_distances"]})
    per_column = "".join(
        f"<tr><td>{html.escape(c)}</td>"
        + "".join(f"<td>{_cell(row['column_distances'].get(c))}</td>" for row in side.values())
        + "</tr>"
        for c in columns
    )
    names = "".join(f"<th>{html.escape(n)}</th>" for n in side)
    return (
        f"<table>{head}{body}</table><h3>KS / TVD per column</h3>"
        f"<table><tr><th>column</th>{names}</tr>{per_column}</table>"
    )


def privacy_notes(report: dict) -> str:
    """Columns flagged as nearly unique text, and what was done with them."""
    flagged = report["privacy"].get("near_unique_text", {})
    if not flagged:
        return "<p>No nearly unique text column (names, e-mails, free text, ids) was found.</p>"
    items = "".join(
        f"<li><b>{html.escape(c)}</b>: {v['distinct_share']:.0%} distinct values, {v['action']}"
        " (never copied)</li>"
        for c, v in flagged.items()
    )
    return f"<p>Nearly unique text columns:</p><ul>{items}</ul>"


def render_html(report: dict, images: dict[str, str]) -> str:
    """A self-contained HTML page: verdict, checks, per-column table, side by side, charts, full JSON."""
    rows = "".join(
        f"<tr class={'pass' if c['passed'] else 'fail'}><td>{c['check']}</td><td>{c['value']}</td>"
        f"<td>{html.escape(c['bar'])}</td><td>{'pass' if c['passed'] else 'FAIL'}</td></tr>"
        for c in report["verdict"]["checks"]
    )
    figures = "".join(
        f"<h2>{html.escape(name.replace('_', ' '))}</h2><img alt='{name}' src='data:image/png;base64,{data}'>"
        for name, data in images.items()
    )
    by_category = report.get("utility_by_category")
    category_text = (
        ""
        if not by_category
        else f"<p>Each categorical column as the target in turn: mean F1 ratio {by_category['mean_f1_ratio']}"
        f" (lowest {by_category['min_f1_ratio']}), "
        + ", ".join(f"{html.escape(c)} {v['f1_ratio']}" for c, v in by_category["targets"].items())
        + ".</p>"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Synthetic copy report: {html.escape(report["input"])}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}td,th{{padding:.2em .8em}}
.pass{{color:#176d2c}}.fail{{color:#b00020;font-weight:bold}}pre{{background:#f5f5f5;padding:1em;overflow:auto}}</style>
</head><body>
<h1>Synthetic copy of {html.escape(report["input"])}</h1>
<p>{report["synthesizer"]} ({html.escape(report.get("model", ""))}), {report["rows"]["synthetic"]:,}
synthetic rows from {report["rows"]["training"]:,} training rows ({report["rows"]["holdout"]:,} held out),
seed {report["seed"]}.</p>
<h2>Verdict</h2>
<p class="{"pass" if report["verdict"]["passed"] else "fail"}">{html.escape(report["verdict"]["text"])}</p>
<table><tr><th>check</th><th>value</th><th>bar</th><th></th></tr>{rows}</table>
<h2>Columns</h2>{column_table(report)}
<h2>Utility</h2>{category_text}
<h2>Privacy</h2>{privacy_notes(report)}
<h2>Side by side (same split)</h2>{side_by_side_table(report)}
{figures}
<h2>All figures</h2><pre>{html.escape(json.dumps(report, indent=2, default=str))}</pre>
</body></html>
"""
