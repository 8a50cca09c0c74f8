"""The self-contained HTML report: one file, inline CSS, figures embedded as base64 PNG, no scripts."""

from __future__ import annotations

import base64
import html

import pandas as pd

STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #cf222e; font-weight: bold; }
.warn { color: #9a6700; font-weight: bold; } .skip, .info { color: #666; }
img { max-width: 100%; border: 1px solid #eee; margin: 6px 0; }
.banner { padding: 10px 14px; font-size: 16px; border-radius: 4px; display: inline-block; }
.banner.pass { background: #dafbe1; } .banner.fail { background: #ffebe9; }
"""


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def image(data: bytes, alt: str) -> str:
    """An <img> with the PNG inline."""
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'


def table(frame: pd.DataFrame | list[dict], status_column: str | None = None, limit: int = 200) -> str:
    """An HTML table of ``frame`` (first ``limit`` rows), the status column coloured."""
    frame = pd.DataFrame(frame)
    if frame.empty:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.head(limit).to_dict("records"):
        cells = []
        for column, value in record.items():
            if isinstance(value, float):
                value = "" if value != value else f"{value:.4g}"  # NaN (no figure) as blank
            css = f' class="{_esc(value)}"' if column == status_column else ""
            cells.append(f"<td{css}>{_esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p>… {len(frame) - limit} more rows in the JSON report</p>" if len(frame) > limit else ""
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def render(report: dict, figures: dict[str, list[tuple[str, bytes]]]) -> str:
    """The whole page: summary, checks, then one section per kind of check with its figures."""
    summary = report["summary"]
    status = summary["status"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Validation report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Synthetic data validation report</h1>",
        f"<p>Data: <code>{_esc(report['data_dir'])}</code>; seed: <code>{_esc(report['seed_dir'])}</code>; "
        f"rows: {_esc(report['rows'])}</p>",
        f"<p class='banner {status}'>{status.upper()}: {summary['pass']} passed, {summary['fail']} failed, "
        f"{summary['warn']} warnings, {summary['skip']} skipped, {summary['info']} informational</p>",
        "<h2>Checks</h2>",
        table(report["checks"], "status"),
        "<h2>Distribution matching (seed vs synthetic)</h2>",
        table(report["distributions"], None),
        *(f"<h3>{_esc(name)}</h3>{image(data, name)}" for name, data in figures.get("distributions", [])),
        "<h2>Demographics vs census</h2>",
        table(report["census"], None),
        *(f"<h3>{_esc(name)}</h3>{image(data, name)}" for name, data in figures.get("census", [])),
        "<h2>Correlation preservation</h2>",
        "<p>Worst pairs of each view (all pairs in the JSON report).</p>",
        table(report["correlations_worst"], None),
        *(f"<h3>{_esc(name)}</h3>{image(data, name)}" for name, data in figures.get("correlations", [])),
        "<h2>Demographic parity</h2>",
        f"<p>Ground truth: {_esc(report['parity'].get('ground_truth'))}</p>",
        table(report["parity"].get("groups", []), "verdict"),
        "<h2>Business rules</h2>",
        table(report["rules"], None),
        *realism_section(report.get("realism"), figures.get("realism", [])),
        "<h2>SDMetrics</h2>",
        table(
            [{"table": name, **_flat(scores)} for name, scores in report["sdmetrics"].items()],
            None,
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def _range(low, high) -> str:
    if low is None or low != low:
        return "none published"
    return f"{low:g}" if low == high else f"{low:g} – {high:g}"


def _count(value) -> str:
    """A support as a count with separators (roas_tv's standard error stays a decimal)."""
    if value is None or value != value:
        return ""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.4g}"


def realism_section(realism: dict | None, figures: list[tuple[str, bytes]]) -> list[str]:
    """The calibration table against the synthetic output: one row per metric, then the profiles."""
    if not realism:
        return []
    rows = [
        {
            "metric": row["metric"],
            "value": row["value"],
            "band": _range(row["band_low"], row["band_high"]),
            "published": _range(row["published_low"], row["published_high"]),
            "support": _count(row["support"]),
            "verdict": row["verdict"],
            "detail": row["detail"],
        }
        for row in realism.get("metrics", [])
    ]
    return [
        "<h2>Realism (calibration table)</h2>",
        f"<p>Every metric of <code>{_esc(realism.get('benchmarks'))}</code> computed on the output tables. "
        f"Window: {_esc(realism.get('window'))}; calendar year for months and holidays: "
        f"{_esc(realism.get('calendar_year') or 'none covered')}. A share fails only when its whole 95 % "
        "Wilson interval lies outside the band (roas_tv: ±1.96 SE, its SE in the support column); other "
        "figures are skipped below their minimum support.</p>",
        table(rows, "verdict"),
        *(f"<h3>{_esc(name)}</h3>{image(data, name)}" for name, data in figures),
    ]


def _flat(scores: dict) -> dict:
    out = {"rows": scores.get("rows")}
    for part in ("quality", "diagnostic"):
        out |= {f"{part}_{key}": value for key, value in scores.get(part, {}).items()}
    return out
