"""Benchmark: profiling the default build with eda.py (the bar: under 5 minutes on a 2-core machine).

    python -m bench.bench_eda [--data-dir data] [--build]

Runs ``eda.eda_reports`` on the whole folder with the automatic plan (sample / minimal mode for large
tables) and times every report; then, as the baseline in the same run, profiles the largest table
without a plan (every row, full mode), to show what the automatic plan saves. ``--build`` first runs
``build_dataset.py`` on its defaults into ``--data-dir`` when the folder has no datasets.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile

import constants
import eda
from bench.common import measure, report
from utils.core import datasets

BUDGET_S = 300.0


def ensure_data(data_dir: str, build: bool) -> None:
    """Make sure ``data_dir`` holds a build; run ``build_dataset.py`` there with ``build``."""
    if eda.available_datasets(data_dir):
        return
    if not build:
        sys.exit(f"bench_eda: no datasets in {data_dir}; run build_dataset.py first or pass --build")
    subprocess.run([sys.executable, "build_dataset.py", "--out-dir", data_dir, "--quiet"], check=True)


def _timing(measurement) -> dict:
    """A measurement's row without the memory column (these steps time only)."""
    return {key: value for key, value in measurement.row.items() if key != "peak_mib"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(constants.DATA_DIR))
    parser.add_argument("--build", action="store_true", help="build the default dataset if missing")
    args = parser.parse_args()
    ensure_data(args.data_dir, args.build)

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-eda-") as report_dir:
        with measure("eda_reports (automatic plan)", trace_memory=False) as total:
            summary = eda.eda_reports(args.data_dir, report_dir=report_dir, quiet=True)
        for row in summary.itertuples(index=False):
            rows.append(
                {
                    "step": f"{row.dataset}: {row.report}",
                    "wall_s": row.seconds,
                    "rows": row.rows,
                    "profiled_rows": row.profiled_rows,
                    "minimal": bool(row.minimal),
                }
            )
        total.extra = {"rows": int(summary.drop_duplicates("dataset")["rows"].sum())}
        rows.append(_timing(total))

        largest = summary.sort_values("rows").iloc[-1]
        frame = datasets.load_dataset(args.data_dir, largest["dataset"])
        plan = eda.plan_profile(largest["dataset"], len(frame), seed=constants.DEFAULT_SEED)
        with measure(f"baseline: {plan.name}, all rows, full mode (no plan)", trace_memory=False) as naive:
            profile = eda.make_profile(
                eda.prepare(frame, len(frame), 0), "baseline", minimal=False, quiet=True
            )
            eda.write_report(profile, f"{report_dir}/baseline.html", quiet=True)
        naive.extra = {"rows": len(frame), "profiled_rows": len(frame), "minimal": False}
        rows.append(_timing(naive))
        planned = float(
            summary.loc[summary["dataset"].eq(plan.name) & summary["report"].eq("profile"), "seconds"].iloc[0]
        )
    report(
        "eda",
        rows,
        data_dir=args.data_dir,
        total_s=round(total.wall_s, 1),
        under_budget=total.wall_s < BUDGET_S,
        total_over_budget_ratio=round(total.wall_s / BUDGET_S, 3),
        largest_table_no_plan_over_plan_ratio=round(naive.wall_s / planned, 2),
    )


if __name__ == "__main__":
    main()
