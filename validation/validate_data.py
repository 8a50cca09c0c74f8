"""Validate a generated dataset: distributions, census fit, correlations, parity, business rules, realism.

    python validation/validate_data.py                        # data/ -> validation/reports/data-<run id>/
    python validation/validate_data.py --data-dir /tmp/small --report-dir /tmp/small-report
    python validation/validate_data.py --data-dir az://container/run    # Azure Blob (settings in .env)

Compares every table with the seed sample its synthesizer was fitted on (``{data_dir}/seed/``) and
each state's demographics with its census tables; checks every rule of ``utils/chain/rules.py``; reports
outcome parity across protected groups and SDMetrics scores; holds every metric of the calibration table
(``data/benchmarks/marketing.csv``) to its band (``validation/realism.py``). Before any of that it
refuses a folder whose tables come from different runs (``manifest.json`` lineage; a folder without a
manifest is validated with a warning) and checks every table's columns and primary key against the schema.
Writes ``validation_report.json`` and a self-contained ``validation_report.html`` into
``--report-dir`` (default ``validation/reports/<data folder>-<run id>/``, one folder per dataset;
local or ``az://``), prints a table of checks and where the reports went. Exit codes: 0 every
check passed, 1 a check failed, 2 bad input (one line on stderr), 3 a crash (a bug: traceback).
See docs/validation.md for what each check means.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd
from tqdm import tqdm

import constants
from utils.core import datasets, runs, schema, storage
from utils.core.cli import (
    base_parser,
    check_positive,
    positive_int,
    progress_enabled,
    run_main,
    setup_logging,
)
from validation import (
    compliance,
    correlations,
    distributions,
    parity,
    plots,
    realism,
    realism_metrics,
    report_html,
    sdmetrics_scores,
)
from validation.checks import FAIL, PASS, SKIP, Check, summary
from validation.loading import Dataset, load_folder, load_ground_truth, sample

log = logging.getLogger("validate_data")
EXIT_CODES = """exit codes:
  0  every check passed
  1  a check failed (the report says which)
  2  bad input: a missing or unreadable folder or table, a table with another table's columns,
     duplicated primary keys, a folder mixing the outputs of different runs (one line on stderr)
  3  a crash: a bug in the validator (traceback on stderr)"""
EXIT_PASS, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_CRASH = 0, 1, 2, 3
DEFAULT_REPORT_DIR = "per-dataset"  # validation/reports/<data folder>-<run id>/ (runs.report_folder)
REPORT_JSON = "validation_report.json"
REPORT_HTML = "validation_report.html"


def records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows (NumPy scalars as Python numbers, NaN as null, floats to 6 places)."""
    if frame is None or frame.empty:
        return []
    return json.loads(frame.to_json(orient="records", double_precision=6, date_format="iso"))


def _units(synthetic: Dataset, seed: Dataset) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(name, seed, synthetic) pairs to compare: demographics per state, then every other table."""
    units = []
    if "demographics" in synthetic.tables and "demographics" in seed.tables:
        demo, seed_demo = synthetic.tables["demographics"], seed.tables["demographics"]
        for state in synthetic.states:
            if state in seed.states:
                name = f"{state}_demographics"
                units.append((name, seed_demo[seed_demo["state"] == state], demo[demo["state"] == state]))
    for name in schema.TABLE_NAMES[1:]:
        if name in synthetic.tables and name in seed.tables:
            units.append((name, seed.tables[name], synthetic.tables[name]))
    return units


def validate(
    data_dir: str | os.PathLike = constants.DATA_DIR,
    seed_dir: str | os.PathLike | None = None,
    report_dir: str | os.PathLike | None = DEFAULT_REPORT_DIR,
    sample_rows: int = constants.VALIDATION_SAMPLE_ROWS,
    seed: int = constants.DEFAULT_SEED,
    html: bool = True,
    sdmetrics: bool = True,
    progress: bool = False,
) -> dict:
    """Validate the dataset in ``data_dir`` (local or ``az://``) against ``seed_dir`` (``{data_dir}/seed``).

    Returns the report (``report["summary"]["status"]`` is ``pass`` or ``fail``; ``report["checks"]``
    one dict per check; ``report["files"]`` the reports written). Writes the JSON and, with ``html``,
    the HTML report into ``report_dir``: by default :data:`DEFAULT_REPORT_DIR`, i.e.
    ``runs.report_folder(constants.VALIDATION_REPORTS_DIR, data_dir)``; a path is used as given;
    None writes nothing. Bad input raises UserError before any comparison: a missing folder, a folder
    mixing runs (:func:`utils.core.runs.check_lineage`), a table with the wrong columns, duplicated
    keys, a report folder that cannot be written.
    """
    data_dir = datasets.require_folder(data_dir)
    seed_dir = str(seed_dir) if seed_dir is not None else datasets.seed_dir(data_dir)
    check_positive(sample_rows, "sample rows")
    if runs.check_lineage(data_dir) is None:  # mixed runs: the one-line UserError naming them
        log.warning("%s has no %s: cannot check that its tables come from one run", data_dir, schema.MANIFEST)
    if report_dir == DEFAULT_REPORT_DIR:
        report_dir = runs.report_folder(constants.VALIDATION_REPORTS_DIR, data_dir)
    if report_dir is not None:
        report_dir = datasets.check_writable(report_dir)  # a bad report folder fails before the work

    timings: dict[str, dict[str, float]] = {}  # per step: wall and CPU seconds (this process)
    clock = [time.perf_counter(), time.process_time(), "loading"]

    def lap() -> None:
        wall, cpu = time.perf_counter() - clock[0], time.process_time() - clock[1]
        timings[clock[2]] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}

    def step(name: str) -> None:
        lap()
        steps.update(1)
        clock[:] = [time.perf_counter(), time.process_time(), name]
        steps.set_postfix_str(name)
        log.info("%s", name)

    log.info("loading")  # bad input stops here, before the progress bar starts
    synthetic = load_folder(data_dir, seed=seed)
    if synthetic.sampled:
        log.info(
            "%s customers: validating a seeded sample of %s of them, with all their rows",
            f"{synthetic.sampled['of']:,}",
            f"{synthetic.sampled['customers']:,}",
        )
    seed_data = load_folder(seed_dir, required=False)
    truth = load_ground_truth(data_dir)
    lifecycle, lifecycle_why = realism.load_lifecycle(data_dir)
    steps = tqdm(total=9, desc="validate", unit="step", disable=not progress, leave=False)
    tables = synthetic.tables
    checks: list[Check] = []
    figures: dict[str, list[tuple[str, bytes]]] = {
        "distributions": [],
        "census": [],
        "correlations": [],
        "realism": [],
    }

    step("distributions")
    units = _units(synthetic, seed_data)
    if not units:
        checks.append(Check("distribution", "seed comparison", SKIP, detail=f"no seed tables in {seed_dir}"))
    distance_frames = []
    for name, seed_frame, frame in units:  # on at most VALIDATION_DISTANCE_ROWS rows a side (seeded)
        left, right = (sample(f, constants.VALIDATION_DISTANCE_ROWS, seed) for f in (seed_frame, frame))
        check, distances = distributions.seed_distances(left, right, name)
        checks.append(check)
        distance_frames.append(distances)
    if html:  # one figure per table (demographics: all states together, the census figures are per state)
        for name in [n for n in schema.TABLE_NAMES if n in tables and n in seed_data.tables]:
            left, right = (
                sample(seed_data.tables[name], sample_rows, seed),
                sample(tables[name], sample_rows, seed),
            )
            _, distances = distributions.seed_distances(left, right, name)
            figures["distributions"].append((name, plots.distribution_figure(left, right, distances)))

    step("census")
    census_frames, shares = [], {}
    demographics = tables["demographics"]
    for state in synthetic.states:
        rows = demographics[demographics["state"] == state]
        check, comparison = distributions.census_distances(rows, state)
        checks.append(check)
        census_frames.append(comparison)
        if html:
            shares[state] = distributions.census_shares(rows, state)
    if html and shares:
        figures["census"].append(("census vs synthetic marginals", plots.census_figure(shares)))

    step("correlations")
    correlation_checks, pairs = correlations.correlation_checks(seed_data.tables, tables, sample_rows, seed)
    checks.extend(correlation_checks)
    if html:
        for name, frame in pairs.items():
            figures["correlations"].append((name, plots.correlation_figure(frame, name)))

    step("parity")
    parity_report: dict = {}
    if {"engagements", "transactions"} <= set(tables):
        groups = parity.parity_table(parity.outcomes(tables))
        checks.extend(parity.outcome_checks(groups))
        truth_check, truth_result = parity.ground_truth_check(groups, truth)
        checks.append(truth_check)
        parity_report = {"ground_truth": truth_result, "groups": records(groups)}
    else:
        checks.append(Check("parity", "parity", SKIP, detail="needs engagements and transactions"))

    step("rules")
    rule_checks, rule_results = compliance.rule_checks(tables)
    checks.extend(rule_checks)

    step("realism")
    realistic = realism.evaluate(tables, lifecycle, lifecycle_why, spend_share=synthetic.spend_share())
    checks.extend(realistic.checks)
    if html:
        figures["realism"] = realism_figures(realistic)

    step("sdmetrics")
    scores: dict = {}
    if sdmetrics:
        seed_tables = {name: frame for name, frame in seed_data.tables.items()}
        sd_checks, scores = sdmetrics_scores.sdmetrics_checks(
            seed_tables, tables, constants.VALIDATION_SDMETRICS_ROWS, seed
        )
        checks.extend(sd_checks)

    step("report")
    all_pairs = pd.concat(pairs.values(), ignore_index=True) if pairs else pd.DataFrame()
    worst_pairs = (
        all_pairs.assign(excess=all_pairs["difference"] / all_pairs["allowed"])
        .sort_values("excess", ascending=False)
        .groupby("view", sort=False)
        .head(5)
        .drop(columns="excess")
        if len(all_pairs)
        else all_pairs
    )
    report = {
        "data_dir": data_dir,
        "seed_dir": seed_dir,
        "rows": synthetic.rows(),
        "sampled": synthetic.sampled,
        "seed_rows": seed_data.rows(),
        "missing_tables": synthetic.missing,
        "settings": {
            "thresholds": constants.VALIDATION_THRESHOLDS,
            "four_fifths_range": list(constants.FOUR_FIFTHS_RANGE),
            "noise_factor": constants.VALIDATION_NOISE_FACTOR,
            "sample_rows": sample_rows,
            "sdmetrics_rows": constants.VALIDATION_SDMETRICS_ROWS,
            "seed": seed,
            "report_dir": None if report_dir is None else str(report_dir),
        },
        "summary": summary(checks),
        "checks": [check.to_dict() for check in checks],
        "distributions": records(pd.concat(distance_frames, ignore_index=True) if distance_frames else None),
        "census": records(pd.concat(census_frames, ignore_index=True) if census_frames else None),
        "correlations": records(all_pairs),
        "correlations_worst": records(worst_pairs),
        "parity": parity_report,
        "rules": rule_results,
        "realism": {
            "benchmarks": str(realism.BENCHMARKS_CSV.relative_to(constants.PROJECT_ROOT)),
            "window": realistic.window,
            "calendar_year": realistic.calendar_year,
            "min_support": realism_metrics.MIN_SUPPORTS,
            "share_interval": "95% Wilson",
            "metrics": records(realistic.table),
            "profiles": {name: records(frame) for name, frame in realistic.profiles.items()},
        },
        "sdmetrics": scores,
    }
    files: dict[str, str] = {}
    if report_dir is not None:
        text = json.dumps(report, indent=2, default=str, allow_nan=False) + "\n"
        files["json"] = storage.write_text(text, storage.join(report_dir, REPORT_JSON))
        if html:
            page = report_html.render(report, figures)
            files["html"] = storage.write_text(page, storage.join(report_dir, REPORT_HTML))
    steps.update(1)
    steps.close()
    lap()
    # wall times and the files stay out of the written (reproducible) report
    return report | {"timings": timings, "files": files}


def realism_figures(result: realism.Result) -> list[tuple[str, bytes]]:
    """The realism section's figures: funnel by channel, purchases by hour, weekday and month."""
    out = [("funnel by channel", plots.realism_funnel_figure(result.table))]
    profiles = result.profiles
    if "hour" in profiles:
        out.append(("purchases by hour of day", plots.realism_hour_figure(profiles["hour"], result.table)))
        out.append(
            ("purchases by day of week", plots.realism_weekday_figure(profiles["weekday"], result.table))
        )
        out.append(
            (
                "revenue by month",
                plots.realism_month_figure(profiles["month"], result.table, result.calendar_year),
            )
        )
    return out


def console_table(report: dict) -> str:
    """The checks as a short table; passing business rules and realism metrics collapse into one line each."""
    lines = [f"{'status':<6}  {'check':<44}  {'figure':>10}  detail"]
    checks = report["checks"]
    passing_rules = [c for c in checks if c["category"] == "rules" and c["status"] == PASS]
    passing_realism = [c for c in checks if c["category"] == realism.CATEGORY and c["status"] == PASS]
    for check in checks:
        if check in passing_rules or check in passing_realism:
            continue
        figure = "" if check["figure"] is None else f"{check['figure']:.4g}"
        lines.append(f"{check['status']:<6}  {check['name'][:44]:<44}  {figure:>10}  {check['detail'][:90]}")
    if passing_rules:
        lines.append(f"{PASS:<6}  {f'business rules ({len(passing_rules)})':<44}  {0:>10}  all hold")
    if passing_realism:
        label = f"realism metrics ({len(passing_realism)})"
        lines.append(f"{PASS:<6}  {label:<44}  {'':>10}  in their benchmark bands")
    total = report["summary"]
    lines.append(
        f"{total['status'].upper()}: {total['pass']} passed, {total['fail']} failed, "
        f"{total['warn']} warnings, {total['skip']} skipped, {total['info']} info"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python validation/validate_data.py --help``: exit 0 pass, 1 a check failed, 2 bad input, 3 a bug."""
    parser = base_parser(__doc__.split("\n\n")[0], epilog=EXIT_CODES)
    parser.add_argument(
        "--data-dir", default=str(constants.DATA_DIR), help="folder of the generated dataset (or az://...)"
    )
    parser.add_argument(
        "--seed-dir", default=None, help="folder of the seed samples (default: DATA_DIR/seed)"
    )
    parser.add_argument(
        "--report-dir",
        default=None,
        help="where the reports go, used as given (default: validation/reports/<data folder>-<run id>/)",
    )
    parser.add_argument(
        "--sample",
        type=positive_int,
        default=constants.VALIDATION_SAMPLE_ROWS,
        help="rows per table (seeded sample) for plots and correlations",
    )
    parser.add_argument("--no-html", action="store_true", help="write the JSON report only (no figures)")
    parser.add_argument("--no-sdmetrics", action="store_true", help="skip the SDMetrics reports")
    args = parser.parse_args(argv)
    setup_logging(args.quiet, args.verbose)
    warnings.filterwarnings("ignore", category=FutureWarning)  # pandas downcasting notes from fillna
    report = validate(
        args.data_dir,
        args.seed_dir,
        DEFAULT_REPORT_DIR if args.report_dir is None else args.report_dir,
        args.sample,
        args.seed,
        html=not args.no_html,
        sdmetrics=not args.no_sdmetrics,
        progress=progress_enabled(args.quiet),
    )
    print(console_table(report))
    for kind, path in report["files"].items():
        print(f"{kind} report: {path}")
    return EXIT_FAIL if report["summary"]["status"] == FAIL else EXIT_PASS


if __name__ == "__main__":
    run_main(main, crash_code=EXIT_CRASH)
