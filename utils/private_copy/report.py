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


def verdict(report: dict) -> dict:
    """Checks (figure, bar, passed) and a one-paragraph plain verdict."""
    bars = constants.SYNTH_BARS
    privacy, utility = report["privacy"], report.get("utility")
    checks = [
        ("quality_score", report["fidelity"]["quality"]["score"], ">=", bars["quality_score"]),
        (
            "share_closer_to_training",
            privacy["share_closer_to_training"],
            "<=",
            bars["share_closer_to_training"],
        ),
        ("membership_advantage", privacy["membership_advantage"], "<=", bars["membership_advantage"]),
        ("exact_copy_rate", privacy["exact_copy_rate"], "<=", privacy["holdout_copy_rate"]),
    ]
    if utility is not None and utility["f1_ratio"] is not None:
        checks.insert(1, ("f1_ratio", utility["f1_ratio"], ">=", bars["f1_ratio"]))
    rows = [
        {
            "check": name,
            "value": value,
            "bar": f"{op} {bar}",
            "passed": value >= bar if op == ">=" else value <= bar,
        }
        for name, value, op, bar in checks
    ]
    failed = [row["check"] for row in rows if not row["passed"]]
    faithful = "faithful" if "quality_score" not in failed else "NOT faithful enough"
    useful = (
        "no target was given, so utility was not tested"
        if utility is None
        else ("useful for modelling" if "f1_ratio" not in failed else "NOT useful enough for modelling")
    )
    private = (
        "shows no sign of memorising its training rows"
        if not {"share_closer_to_training", "membership_advantage", "exact_copy_rate"} & set(failed)
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


def render_html(report: dict, images: dict[str, str]) -> str:
    """A self-contained HTML page: the verdict, the checks, the charts and the full JSON."""
    rows = "".join(
        f"<tr class={'pass' if c['passed'] else 'fail'}><td>{c['check']}</td><td>{c['value']}</td>"
        f"<td>{html.escape(c['bar'])}</td><td>{'pass' if c['passed'] else 'FAIL'}</td></tr>"
        for c in report["verdict"]["checks"]
    )
    figures = "".join(
        f"<h2>{html.escape(name.replace('_', ' '))}</h2><img alt='{name}' src='data:image/png;base64,{data}'>"
        for name, data in images.items()
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Synthetic copy report: {html.escape(report["input"])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:.2em .8em}}
.pass{{color:#176d2c}}.fail{{color:#b00020;font-weight:bold}}pre{{background:#f5f5f5;padding:1em;overflow:auto}}</style>
</head><body>
<h1>Synthetic copy of {html.escape(report["input"])}</h1>
<p>{report["synthesizer"]}, {report["rows"]["synthetic"]:,} synthetic rows from {report["rows"]["training"]:,}
training rows ({report["rows"]["holdout"]:,} held out), seed {report["seed"]}.</p>
<h2>Verdict</h2>
<p class="{"pass" if report["verdict"]["passed"] else "fail"}">{html.escape(report["verdict"]["text"])}</p>
<table><tr><th>check</th><th>value</th><th>bar</th><th></th></tr>{rows}</table>
{figures}
<h2>All figures</h2><pre>{html.escape(json.dumps(report, indent=2))}</pre>
</body></html>
"""
