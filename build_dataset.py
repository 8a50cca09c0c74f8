"""Build the whole linked dataset in dependency order, validate it and write ``manifest.json``.

demographics -> consumer preferences -> campaigns and engagements -> transactions -> validation.
Every stage is ``generate(parents, config) -> StageResult``; this script is the orchestrator that
writes: it locks the output folder (a second build into it exits 2), stages every table, seed and
model in a hidden staging folder, and publishes them together only when all stages have passed
their rules, with a run id that ``manifest.json`` records for every file (:mod:`utils.core.runs`).
A failed or interrupted build leaves the previous dataset exactly as it was. ``manifest.json`` also
records the config, seed, package versions, row counts and, per stage, the wall time and peak
resident memory. Everything except the manifest is byte-identical for the same seed.

Usage::

    python build_dataset.py                                   # 6 states x 10,000 customers into data/
    python build_dataset.py --states NY,TX --rows-per-state 2000 --out-dir /tmp/small --format parquet
    python build_dataset.py --bias-group gender=female --bias-strength 0.5   # known injected bias
    python build_dataset.py --workers 2                       # partition tasks on a local Dask cluster
    python build_dataset.py --scheduler tcp://10.0.0.5:8786   # ... or on an existing one (docs/scale.md)
"""

from __future__ import annotations

import logging
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from tqdm import tqdm

import constants
import consumer
import demographic
import marketing
import transaction
from utils.chain import partitioned, partitions, stage
from utils.chain.bias import Bias, add_bias_arguments, parse_bias
from utils.chain.config import ChainConfig
from utils.core import cluster, datasets, memory, runs, schema, storage
from utils.core.cli import (
    UserError,
    base_parser,
    progress_enabled,
    run_main,
    setup_logging,
    split_list,
)
from utils.core.runs import report_folder

log = logging.getLogger("build_dataset")

PACKAGES = ("sdv", "rdt", "copulas", "ctgan", "torch", "pandas", "numpy", "scikit-learn", "pyarrow")


# --- Package versions --------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


# --- The build -----------------------------------------------------------------------------------------

STAGES = ("demographics", "consumer_preferences", "marketing", "transactions")
CHAIN = {"consumer_preferences": consumer, "marketing": marketing, "transactions": transaction}
# What the partition tasks import: imported once by the fork server of local Dask workers.
TASK_IMPORTS = (
    *(module.__name__ for module in (demographic, *CHAIN.values(), partitioned)),
    "sdv.single_table",
    "sdv.metadata",
    "cloudpickle",
    "fsspec.implementations.local",
)
# Peak memory of the build's process, with headroom: the demographics stage holds every state's
# rows (about 1.3 KiB a customer); the chain stages hold one partition at a time (docs/scale.md).
BYTES_PER_CUSTOMER = 3_000
BASE_BYTES = 3 * 2**30


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


def _available_memory() -> int | None:
    """Bytes of memory available to a new process (Linux MemAvailable), None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_fits_in_memory(customers: int) -> None:
    """A UserError when a build of ``customers`` would not fit in this machine's available memory."""
    available = _available_memory()
    needed = BASE_BYTES + customers * BYTES_PER_CUSTOMER
    if available is not None and needed > available:
        raise UserError(
            f"{customers:,} customers need about {needed / 2**30:.1f} GiB of memory, {available / 2**30:.1f} "
            "GiB are available: build fewer states or rows per state at a time, each into its own folder"
        )


def build_dataset(
    *,
    states: Sequence[str] = constants.STATES,
    rows_per_state: int = constants.DEFAULT_ROWS_PER_STATE,
    synthesizer: str = constants.DEFAULT_SYNTHESIZER,
    seed: int = constants.DEFAULT_SEED,
    out_dir: str = str(constants.DATA_DIR),
    fmt: str = constants.DEFAULT_OUTPUT_FORMAT,
    epochs: int | None = None,
    device: str = constants.DEFAULT_DEVICE,
    bias: Bias | None = None,
    seed_customers: int = constants.CHAIN_SEED_CUSTOMERS,
    demographic_seed_rows: int = constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE,
    start: str = constants.DEFAULT_START,
    end: str = constants.DEFAULT_END,
    campaigns: int | None = None,
    holdout_share: float = constants.HOLDOUT_SHARE,
    workers: int = 1,
    scheduler: str | None = None,
    validate: bool = True,
    progress: bool = False,
    report_dir: str | None = None,
) -> dict[str, int]:
    """Run every stage, publish every table, seed, model, ``ground_truth.json`` and ``manifest.json``.

    Keyword-only. Everything that can be checked is checked before any fitting: the options, the
    output and report folders (and Azure credentials for ``az://``), the memory a build needs, and
    the lock. ``report_dir`` None: ``validation/reports/<data folder>-<run id>/``. Returns the
    rows of each table by logical name (``demographics`` = all states). The chain stages run
    partition by partition (:mod:`utils.chain.partitioned`): memory follows the partition size.
    """
    config = ChainConfig(
        states=states,
        rows_per_state=rows_per_state,
        synthesizer=synthesizer,
        seed=seed,
        epochs=epochs,
        device=device,
        seed_customers=seed_customers,
        demographic_seed_rows=demographic_seed_rows,
        bias=bias or Bias(),
        start=start,
        end=end,
        campaigns=campaigns,
        holdout_share=holdout_share,
        progress=progress,
    )
    storage.table_format("x", fmt)
    cluster.check_options(workers, scheduler)
    check_fits_in_memory(config.customers)
    if validate and report_dir is not None:
        datasets.check_writable(report_dir)
    rows: dict[str, int] = {}
    stages: list[dict] = []
    started = time.perf_counter()
    with runs.OutputLock(out_dir), cluster.engine(workers=workers, scheduler=scheduler, preload=TASK_IMPORTS):
        run = runs.Run(out_dir, fmt=fmt)
        log.info("run %s into %s", run.run_id, out_dir)
        try:
            bar = tqdm(STAGES, desc="build", unit="stage", disable=not progress)
            for name in bar:
                bar.set_postfix_str(name)
                log.info("stage %s", name)
                memory.mark()
                begin = (time.perf_counter(), time.process_time())
                if name == "demographics":
                    customers = demographic.run_into(run, config)
                    made = {schema.DEMOGRAPHICS: sum(customers.values())}
                    plan = partitions.plan(customers)  # the chain stages read them partition by partition
                else:
                    made = partitioned.run_into(CHAIN[name], run, plan, config)
                rows.update(made)
                stages.append(_stage_record(name, begin, made))
            run.join_csv_parts()
            engine = {"workers": workers, "scheduler": scheduler}
            manifest = {
                "config": config.describe() | {"format": fmt, "validation": validate} | engine,
                "seed": seed,
                "packages": _versions(),
                "rows": rows,
                "partitions": len(plan),
                "stages": stages,
                "validation": None,
                "wall_s": round(time.perf_counter() - started, 2),
            }
            run.publish(manifest)
        except BaseException:
            run.discard()
            log.error("build stopped; the previous dataset in %s is unchanged", out_dir)
            raise
        if validate:
            # Imported here: validation draws its plots with matplotlib (0.65 s to import), which a
            # build with --no-validation never needs, and which would delay local workers' start.
            from validation.validate_data import validate as validate_data

            report_dir = report_dir or report_folder(constants.VALIDATION_REPORTS_DIR, out_dir)
            memory.mark()
            begin = (time.perf_counter(), time.process_time())
            report = validate_data(out_dir, report_dir=report_dir, progress=progress)
            stages.append(_stage_record("validation", begin, {}))
            runs.update_manifest(
                out_dir,
                stages=stages,
                validation=_validation_summary(report, report_dir),
                wall_s=round(time.perf_counter() - started, 2),
            )
    return rows


def _stage_record(name: str, begin: tuple[float, float], rows: dict[str, int]) -> dict:
    """A stage's line in the manifest: wall and CPU time (all threads) since ``begin`` (perf_counter,
    process_time), peak memory, rows it made."""
    wall = time.perf_counter() - begin[0]
    return {
        "stage": name,
        "started": round(time.time() - wall, 2),  # seconds since the epoch, as its tasks'
        "wall_s": round(wall, 2),
        "cpu_s": round(time.process_time() - begin[1], 2),
        "peak_rss_mib": round(memory.peak_since_mark(), 1),
        "rows": dict(rows),
        "partitions": [
            {key: value for key, value in task.items() if key != "stage"} for task in cluster.drain_stats()
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python build_dataset.py --help``."""
    parser = base_parser(__doc__.split("\n\n")[0], synthesizer=True)
    parser.add_argument("--states", default=",".join(constants.STATES), help="comma-separated state codes")
    parser.add_argument("--rows-per-state", type=int, default=constants.DEFAULT_ROWS_PER_STATE)
    parser.add_argument(
        "--out-dir", default=str(constants.DATA_DIR), help="output folder (or az://container/path)"
    )
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
    stage.add_period_arguments(parser)
    stage.add_campaigns_argument(parser)
    stage.add_holdout_argument(parser)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run partition tasks on a local Dask cluster of this many processes (default 1: no Dask)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run partition tasks on an existing Dask cluster (e.g. tcp://10.0.0.5:8786; docs/scale.md)",
    )
    parser.add_argument("--no-validation", action="store_true", help="skip the validation stage")
    parser.add_argument(
        "--report-dir",
        default=None,
        help="where validation writes its report (default: validation/reports/<data folder>-<run id>/)",
    )
    add_bias_arguments(parser)
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    stage.quiet_libraries()
    rows = build_dataset(
        states=split_list(args.states),
        rows_per_state=args.rows_per_state,
        synthesizer=args.synthesizer,
        seed=args.seed,
        out_dir=args.out_dir,
        fmt=args.format,
        epochs=args.epochs,
        device=args.device,
        bias=parse_bias(args.bias_group, args.bias_strength),
        seed_customers=args.seed_customers,
        demographic_seed_rows=args.demographic_seed_rows,
        start=args.start,
        end=args.end,
        campaigns=args.campaigns,
        holdout_share=args.holdout_share,
        workers=args.workers,
        scheduler=args.scheduler,
        validate=not args.no_validation,
        progress=progress_enabled(args.quiet),
        report_dir=args.report_dir,
    )
    manifest = runs.read_manifest(args.out_dir) or {}
    summary = manifest.get("validation")
    print(closing_summary(args.out_dir, manifest, rows), file=sys.stderr)
    if summary and summary["status"] != "pass":
        failed = ", ".join(
            f"{c['category']} {c['name']}" for c in summary["not_passed"] if c["status"] == "fail"
        )
        print(f"build_dataset.py: validation failed: {failed} (see {summary['report']})", file=sys.stderr)
        return 1
    return 0


def closing_summary(out_dir: str, manifest: dict, rows: dict[str, int]) -> str:
    """What a user needs at the end: the tables and rows, the validation verdict and the report."""
    lines = [f"dataset {out_dir} (run {manifest.get('run_id', '?')}, {manifest.get('wall_s', '?')} s):"]
    lines += [f"  {name:<22} {count:>12,} rows" for name, count in rows.items()]
    summary = manifest.get("validation")
    if summary:
        counts = ", ".join(f"{summary.get(key, 0)} {key}" for key in ("pass", "fail", "warn", "skip", "info"))
        lines.append(f"  validation: {summary['status'].upper()} ({counts})")
        lines.append(f"  report: {summary['report']} (and validation_report.html beside it)")
    else:
        lines.append("  validation: skipped (--no-validation)")
    return "\n".join(lines)


if __name__ == "__main__":
    run_main(main, hard_exit=True)
