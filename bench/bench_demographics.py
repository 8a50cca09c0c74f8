"""Demographics benchmark: 6 states × 10,000 rows, ours next to SDV's GaussianCopulaSynthesizer defaults.

Per step (seed building, fitting, sampling), summed over the states: wall time and peak memory (peak
of Python allocations seen by ``tracemalloc``, the per-step peak of :func:`bench.common.measure`).
The baseline fits ``GaussianCopulaSynthesizer(metadata)`` with its defaults on the same seed sample
(the columns as they are, metadata detected) and samples the same rows; ratios are ours / baseline.
Then :func:`fidelity` reports the census TVDs at 20,000 rows for NY and TX, for ours and the baseline.

    python -m bench.bench_demographics [--rows 10000] [--fidelity-rows 20000]
"""

from __future__ import annotations

import argparse
import logging
import warnings

import constants
import demographic
from bench.common import measure, report
from utils.census import population
from utils.synth import models as synth

STATES = list(constants.STATES)


def _baseline_fit(seed_frame, seed: int):
    """SDV's GaussianCopulaSynthesizer with its defaults on the plain seed columns."""
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    frame = seed_frame.drop(columns=["customer_id"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metadata = Metadata.detect_from_dataframes({"demographics": frame})
        model = GaussianCopulaSynthesizer(metadata)
        synth.seed_everything(seed)
        model.fit({"demographics": frame})
    return model


def _baseline_sample(model, rows: int, seed: int):
    sampled = synth.sample_synthesizer(model, rows, seed=seed)
    return sampled


def run(rows: int, seed: int = 7, seed_rows: int = constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE) -> list[dict]:
    """Measure each step for all :data:`STATES`; rows of a table with ratios ours / baseline."""
    totals = {
        key: {"wall_s": 0.0, "peak_mib": 0.0} for key in ("seed", "fit", "sample", "base_fit", "base_sample")
    }

    def add(key, measurement):
        totals[key]["wall_s"] += measurement.wall_s
        totals[key]["peak_mib"] = max(totals[key]["peak_mib"], measurement.peak_mib)

    for state in STATES:
        state_seed = demographic._state_seed(seed, state)
        with measure("seed") as step:
            seed_frame = demographic.build_seed(state, seed_rows, seed)
        add("seed", step)
        with measure("fit") as step:
            model = demographic.fit_state(seed_frame, "gaussian_copula", state_seed)
        add("fit", step)
        with measure("sample") as step:
            demographic.sample_state(model, state, rows, state_seed)
        add("sample", step)
        with measure("base_fit") as step:
            baseline = _baseline_fit(seed_frame, state_seed)
        add("base_fit", step)
        with measure("base_sample") as step:
            _baseline_sample(baseline, rows, state_seed)
        add("base_sample", step)

    def ratio(a, b, key):
        return round(totals[a][key] / totals[b][key], 2) if totals[b][key] else None

    rows_out = [
        {"step": "seed building (IPF)", **totals["seed"], "baseline_wall_s": None, "wall_ratio": None},
        {
            "step": "fit",
            **totals["fit"],
            "baseline_wall_s": totals["base_fit"]["wall_s"],
            "baseline_peak_mib": totals["base_fit"]["peak_mib"],
            "wall_ratio": ratio("fit", "base_fit", "wall_s"),
            "mem_ratio": ratio("fit", "base_fit", "peak_mib"),
        },
        {
            "step": "sample",
            **totals["sample"],
            "baseline_wall_s": totals["base_sample"]["wall_s"],
            "baseline_peak_mib": totals["base_sample"]["peak_mib"],
            "wall_ratio": ratio("sample", "base_sample", "wall_s"),
            "mem_ratio": ratio("sample", "base_sample", "peak_mib"),
        },
    ]
    for row in rows_out:
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = round(value, 3)
    return rows_out


def fidelity(rows: int = 20_000, seed: int = 7, states=("NY", "TX")) -> list[dict]:
    """Census TVD of each marginal and cross-tab of ``rows`` synthetic rows, ours and the baseline."""
    table = []
    for state in states:
        state_seed = demographic._state_seed(seed, state)
        seed_frame = demographic.build_seed(state, constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE, seed)
        ours = demographic.sample_state(
            demographic.fit_state(seed_frame, "gaussian_copula", state_seed), state, rows, state_seed
        )
        base = _baseline_sample(_baseline_fit(seed_frame, state_seed), rows, state_seed)
        for name, frame in (("ours", ours), ("sdv_defaults", base), ("seed", seed_frame)):
            comparison = population.census_comparison(frame, state)
            for kind, values in comparison.items():
                for table_name, tvd in values.items():
                    table.append(
                        {
                            "state": state,
                            "data": name,
                            "kind": kind,
                            "table": table_name,
                            "tvd": round(tvd, 4),
                        }
                    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--fidelity-rows", type=int, default=20_000)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    rows = run(args.rows)
    report(
        "demographics",
        rows,
        states=STATES,
        rows_per_state=args.rows,
        seed_rows_per_state=constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE,
        memory="peak traced Python allocations (tracemalloc), per step, max over states",
        baseline="sdv GaussianCopulaSynthesizer(metadata) defaults on the same seed sample",
    )
    tvd = fidelity(args.fidelity_rows)
    wide = {}
    for row in tvd:
        key = (row["state"], row["kind"], row["table"])
        wide.setdefault(key, {"state": key[0], "kind": key[1], "table": key[2]})[row["data"]] = row["tvd"]
    report(
        "demographics_fidelity",
        list(wide.values()),
        rows_per_state=args.fidelity_rows,
        bars="marginals <= 0.02, cross-tabs <= 0.04 (total variation distance to the census)",
    )


if __name__ == "__main__":
    main()
