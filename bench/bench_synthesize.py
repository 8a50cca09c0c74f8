"""Benchmark: a private synthetic copy (fit + sample + report), default copula vs SDV's default copula.

    python -m bench.bench_synthesize [--leaders 300] [--seed 1]

On the public table (``public:fair_affairs``, 6,366 rows, target ``had_affair``) and on the demo 360
wide table (``feedback360.py``, target ``high_potential``, split by ``leader_id``), times
``synthesize.synthesize`` (prepare, fit, sample, fidelity / utility / privacy figures) and the report
rendering (charts, HTML), with the peak traced memory, for two copulas in the same process:

- ``default``: synthesize.py's default, one truncnorm copula per class of the target;
- ``sdv default``: one copula for the whole table with beta marginals (SDV 2.0's defaults).

The table shows each step, the figures that explain why the default costs what it costs (F1 ratio,
quality), and ``wall_over_sdv``: the default's wall time as a ratio to SDV's default on the same table.
"""

from __future__ import annotations

import argparse
import logging
import os
import warnings

import pandas as pd

import constants
import feedback360
import synthesize
from bench.common import measure, report
from utils.private_copy import report as synth_report
from utils.private_copy.public_tables import load_public

VARIANTS = {
    "default": {"conditional": True, "distribution": constants.SYNTH_COPULA_DISTRIBUTION},
    "sdv default": {"conditional": False, "distribution": "beta"},
}


def tables(leaders: int, seed: int) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Each benchmarked table with its ``synthesize`` options (target, group)."""
    _, wide = feedback360.feedback360(leaders=leaders, seed=seed)
    return {
        "public:fair_affairs": (load_public("fair_affairs"), {"target": "had_affair"}),
        f"feedback360 wide ({leaders} leaders)": (wide, {"target": "high_potential", "group": "leader_id"}),
    }


def run_one(name: str, frame: pd.DataFrame, options: dict, variant: str, seed: int) -> list[dict]:
    """Rows for one table and one copula: synthesize (fit, sample, figures), then the report's HTML."""
    with measure(f"{name} | {variant} | fit+sample+figures") as fitted:
        _, result, _ = synthesize.synthesize(
            frame, seed=seed, input_name=name, **options, **VARIANTS[variant]
        )
    arrays = result.pop("_dcr")
    with measure(f"{name} | {variant} | charts+HTML") as rendered:
        synth_report.render_html(result, synth_report.charts(result, arrays["training"], arrays["holdout"]))
    failed = ",".join(result["verdict"]["failed"])
    fitted.extra = {
        "rows": result["rows"]["training"],
        "f1_ratio": result["utility"]["f1_ratio"],
        "quality": result["fidelity"]["quality"]["score"],
        "closer_to_training": result["privacy"]["share_closer_to_training"],
        "verdict": "pass" if result["verdict"]["passed"] else f"fail: {failed}",
    }
    total = {
        "step": f"{name} | {variant} | total",
        "wall_s": round(fitted.wall_s + rendered.wall_s, 3),
        "peak_mib": round(max(fitted.peak_mib, rendered.peak_mib), 1),
    }
    return [fitted.row, rendered.row, total]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaders", type=int, default=constants.FEEDBACK360_LEADERS)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    rows, ratios = [], {}
    for name, (frame, options) in tables(args.leaders, args.seed).items():
        totals = {}
        for variant in VARIANTS:
            variant_rows = run_one(name, frame, options, variant, args.seed)
            rows += variant_rows
            totals[variant] = variant_rows[-1]["wall_s"]
        ratio = round(totals["default"] / totals["sdv default"], 2)
        rows[-1]["wall_over_sdv"] = rows[-4]["wall_over_sdv"] = ratio
        ratios[name] = ratio
    report(
        "synthesize",
        rows,
        seed=args.seed,
        leaders=args.leaders,
        default_over_sdv_wall_ratio=ratios,
        cpu_count=os.cpu_count(),
        load_average_at_end=[round(x, 2) for x in os.getloadavg()],
        note="wall times on a shared machine are noisy; compare the ratios within one run",
    )


if __name__ == "__main__":
    main()
