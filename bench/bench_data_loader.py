"""DataLoader benchmark: a 1,000,000-row transactions CSV, ``pd.read_csv`` next to ``DataLoader.load``.

Each repeat runs in one fresh Python process, in this order:

- ``pd.read_csv``: the baseline, plain ``pd.read_csv(path)``;
- ``DataLoader cold``: a first ``DataLoader`` on an empty cache folder: streams the CSV, restores
  dtypes, writes the Parquet cache;
- ``DataLoader warm``: a second, new ``DataLoader`` instance on the built cache (its memory cache is
  empty, so this is the disk cache);
- ``DataLoader memory hit``: that second instance loading the file again.

Times are of the call alone (imports excluded); the table shows the median over ``--repeats`` and the
median of the per-repeat ratios to ``pd.read_csv`` (steps of one repeat share the machine's load).
CPU time (all threads, ``time.process_time``) is shown too: the machine is shared, and CPU time is
less sensitive to other processes than wall time. Peak memory is the process's peak resident set
size during the call minus its size just before (``VmHWM`` reset through ``/proc/self/clear_refs``,
minus ``VmRSS``): it sees pyarrow's allocations, which ``tracemalloc`` does not. Bars: warm >= 10x
faster than ``pd.read_csv``, cold at most 1.5x slower. The CSV has the contracts' transactions
columns.

    python -m bench.bench_data_loader [--rows 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import report

WARM_BAR = 10.0  # warm load at least this many times faster than pd.read_csv
COLD_BAR = 1.5  # cold load at most this many times slower than pd.read_csv
CATEGORIES = ("electronics", "apparel", "home", "beauty", "grocery", "sports")
PAYMENT_METHODS = ("credit_card", "debit_card", "digital_wallet", "cash", "buy_now_pay_later")
CHANNELS = ("online", "mobile_app", "in_store")


def transactions_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """Write a transactions-like CSV (contract columns; 60% organic rows without a campaign_id)."""
    rng = np.random.default_rng(seed)
    campaign = np.char.add("CMP-", np.char.zfill(rng.integers(1, 400, rows).astype(str), 4)).astype(object)
    campaign[rng.random(rows) < 0.6] = None
    frame = pd.DataFrame(
        {
            "transaction_id": np.char.add("T", np.char.zfill(np.arange(1, rows + 1).astype(str), 9)),
            "customer_id": np.char.add("NY-", np.char.zfill(rng.integers(1, 200_000, rows).astype(str), 7)),
            "campaign_id": campaign,
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 86_400, rows), "s"),
            "amount": np.round(rng.gamma(2.0, 30.0, rows) + 0.01, 2),
            "quantity": rng.integers(1, 6, rows),
            "category": rng.choice(CATEGORIES, rows),
            "payment_method": rng.choice(PAYMENT_METHODS, rows),
            "channel": rng.choice(CHANNELS, rows),
        }
    )
    frame.to_csv(path, index=False)
    return path


def _status_mib(field: str) -> float:
    """A ``/proc/self/status`` memory figure (``VmRSS``, ``VmHWM``) in MiB."""
    with open("/proc/self/status") as stream:
        line = next(line for line in stream if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _reset_peak() -> None:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS (Linux ``clear_refs`` 5)."""
    with open("/proc/self/clear_refs", "w") as stream:
        stream.write("5")


def _measure(call) -> dict:
    """Wall time and peak RSS growth of ``call()`` (the result is dropped afterwards)."""
    gc.collect()
    _reset_peak()
    before = _status_mib("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    frame = call()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _status_mib("VmHWM") - before
    rows = len(frame)
    del frame
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak, "rows": rows}


def _child(csv: str, cache: str) -> dict:
    """One repeat, in one fresh process: pd.read_csv, cold load, warm load (new instance), memory hit."""
    from data_loader import DataLoader

    cold, warm = DataLoader(cache_dir=cache), DataLoader(cache_dir=cache)
    result = {
        "pd.read_csv": _measure(lambda: pd.read_csv(csv)),
        "cold": _measure(lambda: cold.load(csv)),
        "warm": _measure(lambda: warm.load(csv)),
        "memory hit": _measure(lambda: warm.load(csv)),
    }
    assert cold.stats == {"source_reads": 1, "cache_builds": 1}, cold.stats
    assert warm.stats == {"cache_hits": 1, "memory_hits": 1}, warm.stats
    return result


def _run(csv: Path, cache: Path) -> dict:
    command = [sys.executable, "-m", "bench.bench_data_loader", "--child", str(csv), str(cache)]
    root = Path(__file__).resolve().parents[1]
    output = subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("CSV", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-data-loader-") as folder:
        csv = transactions_csv(Path(folder, "transactions.csv"), args.rows)
        size_mib = csv.stat().st_size / 2**20
        runs = []
        for repeat in range(args.repeats):
            runs.append(_run(csv, Path(folder, f"cache{repeat}")))
            times = ", ".join(f"{step} {run['wall_s']:.3f} s" for step, run in runs[-1].items())
            print(f"repeat {repeat + 1}: {times}", file=sys.stderr)
    rows = []
    for step in runs[0]:
        ratios = [run["pd.read_csv"]["wall_s"] / run[step]["wall_s"] for run in runs]
        rows.append(
            {
                "step": step if step == "pd.read_csv" else f"DataLoader {step}",
                "wall_s": statistics.median(run[step]["wall_s"] for run in runs),
                "min_s": min(run[step]["wall_s"] for run in runs),
                "speedup_vs_read_csv": statistics.median(ratios),
                "cpu_s": statistics.median(run[step]["cpu_s"] for run in runs),
                "cpu_speedup": statistics.median(
                    run["pd.read_csv"]["cpu_s"] / run[step]["cpu_s"] for run in runs
                ),
                "peak_rss_mib": round(max(run[step]["peak_rss_mib"] for run in runs), 1),
            }
        )
    warm_speedup = rows[2]["speedup_vs_read_csv"]
    cold_ratio = 1 / rows[1]["speedup_vs_read_csv"]
    bars = {
        "warm_speedup": round(warm_speedup, 2),
        "warm_bar": f">= {WARM_BAR}x: {'PASS' if warm_speedup >= WARM_BAR else 'FAIL'}",
        "cold_slowdown": round(cold_ratio, 2),
        "cold_bar": f"<= {COLD_BAR}x: {'PASS' if cold_ratio <= COLD_BAR else 'FAIL'}",
    }
    report(
        "data_loader",
        rows,
        rows_in_csv=args.rows,
        csv_mib=round(size_mib, 1),
        repeats=args.repeats,
        timing="median wall time of the call over repeats; speedup = median of per-repeat pd.read_csv / step",
        memory="peak RSS growth during the call, max over repeats (MiB)",
        **bars,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
