"""Builds of 1-6 states at 1,000-20,000 rows per state and seeds 1-20 must pass their own validation.

    python scripts/validation_sweep.py --configs 12 --seed 0 --out /tmp/sweep

Draws ``--configs`` build configurations (states, rows per state, seed) from those ranges with
``--seed``, builds each with the defaults otherwise, and prints one line per build (verdict, failed
checks, wall time) and a JSON summary. Exit 1 when any build fails its validation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_dataset
import constants
from utils.core import runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/validation-sweep")
    parser.add_argument("--max-rows", type=int, default=20_000)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    results = []
    for index in range(args.configs):
        states = sorted(rng.choice(constants.STATES, rng.integers(1, 7), replace=False).tolist())
        rows = int(rng.integers(1_000, args.max_rows + 1))
        seed = int(rng.integers(1, 21))
        out = f"{args.out}/{index:02d}"
        begin = time.perf_counter()
        build_dataset.build_dataset(states=states, rows_per_state=rows, seed=seed, out_dir=out,
                                    report_dir=f"{out}-report")  # fmt: skip
        summary = runs.read_manifest(out)["validation"]
        failed = [f"{c['category']} {c['name']}" for c in summary["not_passed"] if c["status"] == "fail"]
        results.append({"states": states, "rows_per_state": rows, "seed": seed, "status": summary["status"],
                        "failed": failed, "wall_s": round(time.perf_counter() - begin, 1)})  # fmt: skip
        print(f"{','.join(states):<20} {rows:>6} seed {seed:>2}: {summary['status']} "
              f"{'; '.join(failed)} ({results[-1]['wall_s']} s)", flush=True)  # fmt: skip
    print(json.dumps({"builds": len(results), "failed": sum(r["status"] != "pass" for r in results),
                      "results": results}, indent=1))  # fmt: skip
    return int(any(r["status"] != "pass" for r in results))


if __name__ == "__main__":
    sys.exit(main())
