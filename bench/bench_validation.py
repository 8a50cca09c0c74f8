"""Benchmark: validating the default build (the bar: under 60 seconds on a 2-core machine).

    python -m bench.bench_validation [--data-dir data] [--build]

Times ``validation.validate_data.validate`` on the whole folder (every check, HTML figures, SDMetrics),
step by step; then, in the same run, two baselines: the checks alone (no figures, no SDMetrics) and
merely loading the tables, so the table shows what each layer costs as a ratio to reading the data.
``--build`` first runs ``build_dataset.py`` on its defaults into ``--data-dir`` when it holds no build.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import constants
from bench.common import measure, report
from validation.loading import load_folder
from validation.validate_data import validate

BUDGET_S = 60.0


def ensure_data(data_dir: str, build: bool) -> None:
    """Make sure ``data_dir`` holds a build; run ``build_dataset.py`` there with ``build``."""
    if os.path.exists(os.path.join(data_dir, "manifest.json")):
        return
    if not build:
        sys.exit(f"bench_validation: no build in {data_dir}; run build_dataset.py first or pass --build")
    subprocess.run(
        [sys.executable, "build_dataset.py", "--out-dir", data_dir, "--quiet", "--no-validation"], check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(constants.DATA_DIR))
    parser.add_argument("--build", action="store_true", help="build the default dataset if missing")
    args = parser.parse_args()
    ensure_data(args.data_dir, args.build)
    warnings.filterwarnings("ignore")

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-validation-") as report_dir:
        cpu = time.process_time()
        with measure("validate: everything (checks, HTML, SDMetrics)", trace_memory=False) as full:
            result = validate(args.data_dir, report_dir=report_dir)
        cpu = time.process_time() - cpu
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows += [{"step": f"  {name}", **times} for name, times in result["timings"].items()]
        html_mib = os.path.getsize(os.path.join(report_dir, "validation_report.html")) / 2**20
    full.extra = {"rows": sum(result["rows"].values()), "status": result["summary"]["status"]}
    rows.append(full.row | {"cpu_s": round(cpu, 3), "peak_rss_mib": round(peak_mib, 1)})
    with measure("baseline: checks only (no figures, no SDMetrics)", trace_memory=False) as checks_only:
        validate(args.data_dir, report_dir=None, html=False, sdmetrics=False)
    rows.append(checks_only.row)
    with measure("baseline: loading the tables and seeds only", trace_memory=False) as loading:
        load_folder(args.data_dir)
        load_folder(os.path.join(args.data_dir, "seed"), required=False)
    rows.append(loading.row)
    report(
        "validation",
        rows,
        data_dir=args.data_dir,
        table_rows=result["rows"],
        total_s=round(full.wall_s, 1),
        total_cpu_s=round(cpu, 1),
        cpu_under_budget=cpu < BUDGET_S,
        under_budget=full.wall_s < BUDGET_S,
        total_over_budget_ratio=round(full.wall_s / BUDGET_S, 3),
        total_over_loading_ratio=round(full.wall_s / loading.wall_s, 2),
        checks_only_over_loading_ratio=round(checks_only.wall_s / loading.wall_s, 2),
        html_report_mib=round(html_mib, 2),
        cpu_count=os.cpu_count(),
        load_average_at_end=[round(x, 2) for x in os.getloadavg()],
    )


if __name__ == "__main__":
    main()
