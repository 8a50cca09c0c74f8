"""Scale benchmark: sampling throughput against SDV's sampler, and the build's growth with its size.

**Sampling** (``--part sampling``): SDV 2.0's default ``GaussianCopulaSynthesizer`` (beta marginals)
is fitted once on a census-seeded demographics table of one state (16 columns: 7 categorical, the
rest numeric), then the same fitted model is sampled ``--rows`` rows by SDV's own
``synthesizer.sample`` (the baseline) and by :class:`utils.synth.fast_sampler.FastCopulaSampler`
(compiled from it, compile time included), in the same process, ``--repeats`` times alternately. The
table gives rows per second, the ratio of the medians, and per column the distance between the two
samples (KS for numbers, total variation for categories). Bars: at least 10x, every distance under 0.02.

**Growth** (``--part growth``): ``build_dataset.py --no-validation --format parquet`` at each of
``--sizes`` customers (6 states, rows per state = size / 6), each in a fresh process; wall and CPU
time (``resource`` accounting of the child), the peak resident memory of its largest stage (the
manifest's per-stage ``VmHWM``), and the rows of the manifest: customers, campaigns, engagements,
audience rows, transactions, and events per customer (constant when growth is linear).

With ``--validate`` each build also validates itself (a build of more than
``constants.READ_MAX_CUSTOMERS`` customers on a seeded sample of them).

**Transactions** (``--part transactions``): one build of ``--sizes``' first size over ``--years``
years (``--start``/``--end``) with ``--campaigns`` campaigns in all, so purchases grow with the years
and engagements stay few; the transactions stage's wall time and peak resident memory (the manifest's
per-stage ``VmHWM``, reset when the stage starts). Bar: 10,000,000 transactions under 2 GiB.

**Workers** (``--part workers``): the first of ``--sizes`` built with ``--workers 1`` and then
``--workers 2`` (a Dask LocalCluster), ``--repeats`` times: wall time per stage, each pair's
speedup and their median, and whether every output file (the manifest aside) has the same bytes.

    python -m bench.bench_scale                              # sampling, growth and workers at 60,000
    python -m bench.bench_scale --part sampling --rows 500000
    python -m bench.bench_scale --part growth --sizes 60000,300000
    python -m bench.bench_scale --part workers --sizes 150000 --repeats 3
    python -m bench.bench_scale --part growth --sizes 1000000 --validate
    python -m bench.bench_scale --part transactions --sizes 1800000 --years 10
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bench.common import report

SPEEDUP_BAR = 10.0
DISTANCE_BAR = 0.02
ROOT = Path(__file__).resolve().parents[1]


def _distance(left: pd.Series, right: pd.Series) -> float:
    if left.dtype == object or isinstance(left.dtype, pd.CategoricalDtype):
        a = left.astype(str).value_counts(normalize=True)
        b = right.astype(str).value_counts(normalize=True)
        return 0.5 * float(a.sub(b, fill_value=0).abs().sum())
    return float(stats.ks_2samp(left.to_numpy(float), right.to_numpy(float)).statistic)


def sampling(rows: int, repeats: int, fit_rows: int, seed: int) -> None:
    """SDV's sampler against the fast one on the same fitted default Gaussian copula."""
    from demographic import build_seed
    from utils.synth import fast_sampler
    from utils.synth import models as synth

    table = build_seed("NY", fit_rows, seed).drop(columns=["customer_id", "state"], errors="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        model = synth.fit_synthesizer(table, "gaussian_copula", seed=seed, table_name="demographics")
        fit_s = time.perf_counter() - started
    timings: dict[str, list[float]] = {"sdv": [], "fast": []}
    samples = {}
    for repeat in range(repeats):
        started = time.perf_counter()
        samples["sdv"] = synth.sample_synthesizer(model, rows, seed=seed + repeat, fast=False)
        timings["sdv"].append(time.perf_counter() - started)
        started = time.perf_counter()
        sampler = fast_sampler.FastCopulaSampler(model)
        samples["fast"] = sampler.sample(rows, seed + repeat)
        timings["fast"].append(time.perf_counter() - started)
    sdv_s, fast_s = statistics.median(timings["sdv"]), statistics.median(timings["fast"])
    distances = {c: _distance(samples["sdv"][c], samples["fast"][c]) for c in table.columns}
    worst = max(distances, key=distances.get)
    result = [
        {"sampler": "sdv GaussianCopulaSynthesizer.sample (baseline)", "rows": rows, "median_s": sdv_s,
         "rows_per_s": rows / sdv_s, "ratio": 1.0},
        {"sampler": "FastCopulaSampler (compile + sample)", "rows": rows, "median_s": fast_s,
         "rows_per_s": rows / fast_s, "ratio": sdv_s / fast_s},
    ]  # fmt: skip
    report(
        "scale_sampling",
        result,
        table=f"census-seeded NY demographics, {len(table.columns)} columns, fitted on {len(table):,} rows "
        f"with SDV's defaults (beta marginals) in {fit_s:.1f} s",
        repeats=repeats,
        speedup=round(sdv_s / fast_s, 1),
        speedup_bar=SPEEDUP_BAR,
        worst_distance={"column": worst, "value": round(distances[worst], 4)},
        distance_bar=DISTANCE_BAR,
        distances={column: round(value, 4) for column, value in distances.items()},
        verdict="pass" if sdv_s / fast_s >= SPEEDUP_BAR and distances[worst] < DISTANCE_BAR else "fail",
    )


def _build(
    size: int, seed: int, folder: str, *extra: str, validate: bool = False
) -> tuple[float, float, dict]:
    """One build in a fresh process: wall seconds, CPU seconds of it and of its tasks on workers,
    manifest."""
    per_state = max(1, round(size / 6))
    checks = ["--report-dir", str(Path(folder) / "report")] if validate else ["--no-validation"]
    command = [sys.executable, "build_dataset.py", "--rows-per-state", str(per_state), "--seed", str(seed),
               "--format", "parquet", *checks, "--quiet", "--out-dir", str(Path(folder) / "data"),
               *extra]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1) or (done.returncode == 1 and "validation failed" not in done.stderr):
        print(done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"build of {size:,} customers failed")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    manifest = json.loads((Path(folder) / "data" / "manifest.json").read_text())
    # Dask's workers are forked by a fork server, not by the build: their tasks' CPU from the manifest.
    tasks = [task for stage in manifest["stages"] for task in stage.get("partitions", [])]
    cpu += sum(task["cpu_s"] for task in tasks if task["worker"] != "local")
    return wall, cpu, manifest


def _digest(folder: str) -> dict[str, str]:
    import hashlib

    root = Path(folder)
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "manifest.json"
    }


def workers(size: int, seed: int, pairs: int) -> None:
    """``--workers 1`` then ``--workers 2``, ``pairs`` times: wall time per stage, each pair's
    speedup and their median, and whether every build has the same bytes. Each speedup compares two
    builds run one after the other: this machine's speed drifts by 10-20 % within minutes."""
    result, digests = [], []
    for pair in range(1, pairs + 1):
        for count in (1, 2):
            with tempfile.TemporaryDirectory() as folder:
                wall, cpu, manifest = _build(size, seed, folder, "--workers", str(count))
                digests.append(_digest(folder))
            stages = {s["stage"]: s["wall_s"] for s in manifest["stages"]}
            row = {"pair": pair, "workers": count, "wall_s": wall, "cpu_s": cpu}
            result.append(row | {f"{stage}_s": seconds for stage, seconds in stages.items()})
    for one, two in zip(result[::2], result[1::2], strict=True):
        one["speedup"], two["speedup"] = 1.0, one["wall_s"] / two["wall_s"]
    speedups = [row["speedup"] for row in result[1::2]]
    report(
        "scale_workers",
        result,
        customers=size,
        engagements=manifest["rows"]["engagements"],
        identical_bytes=all(digest == digests[0] for digest in digests),
        speedups=[round(value, 3) for value in speedups],
        median_speedup=round(statistics.median(speedups), 3),
        partitioned_stages=[s["stage"] for s in manifest["stages"] if s.get("partitions")],
    )


def growth(sizes: list[int], seed: int, validate: bool = False) -> None:
    """Build at each size in a fresh process; wall time, peak memory and rows per customer."""
    result = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            wall, cpu, manifest = _build(size, seed, folder, validate=validate)
        rows = manifest["rows"]
        customers = rows["demographics"]
        stage_peaks = {s["stage"]: s["peak_rss_mib"] for s in manifest["stages"]}
        result.append(
            {
                "customers": customers,
                "campaigns": rows["marketing_campaigns"],
                "engagements": rows["engagements"],
                "audience_rows": rows.get("campaign_audience", 0),
                "transactions": rows["transactions"],
                "events_per_customer": rows["engagements"] / customers,
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_rss_gib": max(stage_peaks.values()) / 1024,
                "stage_peak_rss_mib": stage_peaks,
                "partitions": manifest.get("partitions"),
                "validation": (manifest.get("validation") or {}).get("status", "skipped"),
                "not_passed": [
                    f"{c['category']} {c['name']} {c['status']} {c['figure']}"
                    for c in (manifest.get("validation") or {}).get("not_passed", [])
                ],
            }
        )
    command = "build_dataset.py --format parquet" + ("" if validate else " --no-validation")
    report("scale_growth", result, command=command, seed=seed, peak_bar_gib=4.0, wall_bar_s=1800)


def transactions(size: int, years: int, campaigns: int, seed: int) -> None:
    """A build over ``years`` years: the transactions stage's rows, wall time and peak memory."""
    period = ["--start", f"{2025 - years}-01-01", "--end", "2024-12-31", "--campaigns", str(campaigns)]
    with tempfile.TemporaryDirectory() as folder:
        wall, _, manifest = _build(size, seed, folder, *period)
    stage = next(s for s in manifest["stages"] if s["stage"] == "transactions")
    row = {
        "customers": manifest["rows"]["demographics"],
        "years": years,
        "transactions": manifest["rows"]["transactions"],
        "engagements": manifest["rows"]["engagements"],
        "transactions_stage_s": stage["wall_s"],
        "transactions_peak_rss_gib": stage["peak_rss_mib"] / 1024,
        "build_wall_s": wall,
        "build_peak_rss_gib": max(s["peak_rss_mib"] for s in manifest["stages"]) / 1024,
        "partitions": manifest.get("partitions"),
    }
    report("scale_transactions", [row], command=" ".join(period), seed=seed, peak_bar_gib=2.0)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.bench_scale [--part sampling|growth|all]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--part", choices=("sampling", "growth", "workers", "transactions", "all"), default="all"
    )
    parser.add_argument("--validate", action="store_true", help="growth: validate each build too")
    parser.add_argument("--years", type=int, default=10, help="transactions: years of the period")
    parser.add_argument("--campaigns", type=int, default=8, help="transactions: campaigns in the period")
    parser.add_argument("--rows", type=int, default=200_000, help="rows each sampler draws")
    parser.add_argument("--fit-rows", type=int, default=20_000, help="rows the copula is fitted on")
    parser.add_argument(
        "--repeats", type=int, default=3, help="sampling: runs of each sampler; workers: pairs of builds"
    )
    parser.add_argument("--sizes", default="60000", help="comma-separated customer counts (growth part)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    np.seterr(all="ignore")
    if args.part in ("sampling", "all"):
        sampling(args.rows, args.repeats, args.fit_rows, args.seed)
    if args.part in ("growth", "all"):
        growth([int(size) for size in args.sizes.split(",")], args.seed, args.validate)
    if args.part == "transactions":
        transactions(int(args.sizes.split(",")[0]), args.years, args.campaigns, args.seed)
    if args.part in ("workers", "all"):
        workers(int(args.sizes.split(",")[0]), args.seed, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
