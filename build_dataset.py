"""Build the whole linked dataset in dependency order, validate it and write ``manifest.json``.

demographics -> consumer preferences -> campaigns and engagements -> transactions -> validation.
Each stage's outputs are written as soon as it finishes, so a failed stage stops the run with a
clear message and leaves the earlier outputs intact (rerun a single component script on them).
``manifest.json`` records the config, seed, package versions, row counts and, per stage, the wall
time and peak resident memory. Everything except the manifest is byte-identical for the same seed.

Usage::

    python build_dataset.py                                   # 6 states x 10,000 customers into data/
    python build_dataset.py --states NY,TX --rows-per-state 2000 --out-dir /tmp/small --format parquet
    python build_dataset.py --bias-group gender=female --bias-strength 0.5   # known injected bias
"""

from __future__ import annotations

import json
import logging
import platform
import resource
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd
from tqdm import tqdm

import constants
import consumer
import demographic
import marketing
import transaction
from utils.chain import stage
from utils.chain.bias import Bias, add_bias_arguments, parse_bias
from utils.core import storage
from utils.core.cli import (
    UserError,
    base_parser,
    check_positive,
    check_synthesizer,
    run_main,
    setup_logging,
    split_list,
)
from validation.validate_data import validate as validate_data

log = logging.getLogger("build_dataset")

PACKAGES = ("sdv", "rdt", "copulas", "ctgan", "torch", "pandas", "numpy", "scikit-learn", "pyarrow")


# --- Measuring ---------------------------------------------------------------------------------------


def _reset_peak_memory() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux); False where not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_memory_mib() -> float:
    """Peak resident memory of this process (since the last reset where supported), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


# --- The stages ----------------------------------------------------------------------------------------


def _validation_summary(report: dict, report_dir: str) -> dict | None:
    """The validation verdict for the manifest: counts, the report's place and every check not passed."""
    if not report:
        return None
    return report["summary"] | {
        "report": storage.join(report_dir, "validation_report.json"),
        "not_passed": [
            {key: check[key] for key in ("category", "name", "status", "figure", "threshold")}
            for check in report["checks"]
            if check["status"] in ("fail", "warn")
        ],
    }


def build_dataset(
    states: Sequence[str] = constants.STATES,
    rows_per_state: int = constants.DEFAULT_ROWS_PER_STATE,
    synthesizer: str = constants.DEFAULT_SYNTHESIZER,
    seed: int = constants.DEFAULT_SEED,
    out_dir: str = str(constants.DATA_DIR),
    fmt: str = constants.DEFAULT_OUTPUT_FORMAT,
    epochs: int | None = None,
    bias: Bias | None = None,
    seed_customers: int = constants.CHAIN_SEED_CUSTOMERS,
    demographic_seed_rows: int | None = None,
    validate: bool = True,
    progress: bool = False,
    report_dir: str = str(constants.VALIDATION_REPORTS_DIR),
) -> dict[str, pd.DataFrame]:
    """Run every stage, write every table, seed, model, ``ground_truth.json`` and ``manifest.json``.

    Returns the tables by logical name (``demographics`` = all states concatenated).
    """
    states = demographic.check_states(states)
    check_positive(rows_per_state, "rows per state")
    check_synthesizer(synthesizer)
    storage.ensure_dir(out_dir)
    bias = bias or Bias()
    tables: dict[str, pd.DataFrame] = {}
    stages: list[dict] = []
    started = time.perf_counter()

    def run_demographics() -> None:
        frames = demographic.generate_demographics(
            states, rows_per_state, synthesizer, seed, out_dir, epochs, demographic_seed_rows, fmt=fmt
        )
        tables["demographics"] = pd.concat(frames.values(), ignore_index=True)

    def run_preferences() -> None:
        preferences, seed_frame = consumer.generate_preferences(
            tables["demographics"], synthesizer, seed, epochs, None, seed_customers, out_dir
        )
        stage.check_tables(
            {"demographics": tables["demographics"], consumer.NAME: preferences}, consumer.NAME
        )
        stage.write_stage(out_dir, fmt, {consumer.NAME: preferences}, {consumer.NAME: seed_frame})
        tables[consumer.NAME] = preferences

    def run_marketing() -> None:
        result = marketing.generate_marketing(
            tables["demographics"],
            tables[consumer.NAME],
            synthesizer,
            seed,
            epochs,
            bias,
            None,
            None,
            seed_customers,
            out_dir,
        )
        marketing.write_marketing(result, {"demographics": tables["demographics"]}, out_dir, fmt)
        tables[marketing.CAMPAIGNS] = result[marketing.CAMPAIGNS]
        tables[marketing.ENGAGEMENTS] = result[marketing.ENGAGEMENTS]

    def run_transactions() -> None:
        names = ["demographics", consumer.NAME, marketing.CAMPAIGNS, marketing.ENGAGEMENTS]
        transactions, seed_frame = transaction.generate_transactions(
            *(tables[name] for name in names), synthesizer, seed, epochs, None, seed_customers, out_dir
        )
        parents = {
            name: tables[name] for name in ("demographics", marketing.CAMPAIGNS, marketing.ENGAGEMENTS)
        }
        transaction.write_transactions(transactions, seed_frame, parents, out_dir, fmt)
        tables[transaction.NAME] = transactions

    validation: dict = {}

    def run_validation() -> None:
        if validate:
            validation.update(validate_data(out_dir, report_dir=report_dir, progress=progress))

    steps = [
        ("demographics", run_demographics),
        ("consumer_preferences", run_preferences),
        ("marketing", run_marketing),
        ("transactions", run_transactions),
        ("validation", run_validation),
    ]
    bar = tqdm(steps, desc="build", unit="stage", disable=not progress)
    for name, step in bar:
        bar.set_postfix_str(name)
        log.info("stage %s", name)
        _reset_peak_memory()
        begin = time.perf_counter()
        before = set(tables)
        try:
            step()
        except UserError:
            raise
        except Exception as error:
            raise UserError(
                f"stage {name} failed ({type(error).__name__}: {error}); outputs of the earlier stages are "
                f"intact in {out_dir}"
            ) from error
        stages.append(
            {
                "stage": name,
                "wall_s": round(time.perf_counter() - begin, 2),
                "peak_rss_mib": round(_peak_memory_mib(), 1),
                "rows": {table: len(tables[table]) for table in sorted(set(tables) - before)},
            }
        )
    manifest = {
        "config": {
            "states": states,
            "rows_per_state": rows_per_state,
            "synthesizer": synthesizer,
            "epochs": epochs,
            "format": fmt,
            "seed_customers": seed_customers,
            "demographic_seed_rows": demographic_seed_rows or constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE,
            "bias": bias.describe(),
            "validation": validate,
        },
        "seed": seed,
        "packages": _versions(),
        "rows": {name: len(frame) for name, frame in tables.items()},
        "stages": stages,
        "wall_s": round(time.perf_counter() - started, 2),
        "validation": _validation_summary(validation, report_dir),
    }
    storage.write_text(json.dumps(manifest, indent=2) + "\n", storage.join(out_dir, "manifest.json"))
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    """``python build_dataset.py --help``."""
    parser = base_parser(__doc__.split("\n\n")[0], synthesizer=True)
    parser.add_argument("--states", default=",".join(constants.STATES), help="comma-separated state codes")
    parser.add_argument("--rows-per-state", type=int, default=constants.DEFAULT_ROWS_PER_STATE)
    parser.add_argument("--out-dir", default=str(constants.DATA_DIR), help="output folder")
    parser.add_argument("--format", default=constants.DEFAULT_OUTPUT_FORMAT, choices=storage.TABLE_FORMATS)
    parser.add_argument(
        "--seed-customers",
        type=int,
        default=constants.CHAIN_SEED_CUSTOMERS,
        help="customers in each chain seed",
    )
    parser.add_argument(
        "--demographic-seed-rows",
        type=int,
        default=constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE,
        help="rows of each state's census-seeded sample",
    )
    parser.add_argument("--no-validation", action="store_true", help="skip the validation stage")
    parser.add_argument(
        "--report-dir",
        default=str(constants.VALIDATION_REPORTS_DIR),
        help="where validation writes its report",
    )
    add_bias_arguments(parser)
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    stage.quiet_libraries()
    tables = build_dataset(
        split_list(args.states),
        args.rows_per_state,
        check_synthesizer(args.synthesizer),
        args.seed,
        args.out_dir,
        args.format,
        args.epochs,
        parse_bias(args.bias_group, args.bias_strength),
        check_positive(args.seed_customers, "seed customers"),
        check_positive(args.demographic_seed_rows, "demographic seed rows"),
        validate=not args.no_validation,
        progress=not args.quiet,
        report_dir=args.report_dir,
    )
    log.info("done: %s", ", ".join(f"{name} {len(frame):,}" for name, frame in tables.items()))
    summary = json.loads(storage.read_bytes(storage.join(args.out_dir, "manifest.json")))["validation"]
    if summary and summary["status"] != "pass":
        failed = ", ".join(
            f"{c['category']} {c['name']}" for c in summary["not_passed"] if c["status"] == "fail"
        )
        print(f"build_dataset.py: validation failed: {failed} (see {summary['report']})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run_main(main)
