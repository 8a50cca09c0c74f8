"""Demographics benchmark: 6 states × 10,000 rows, ours next to SDV's GaussianCopulaSynthesizer defaults.

Per step (seed building, fitting, sampling), summed over the states: wall time and peak memory (peak
of Python allocations seen by ``tracemalloc``, the per-step peak of :func:`bench.common.measure`).
The baseline fits ``GaussianCopulaSynthesizer(metadata)`` with its defaults on the same seed sample
(the columns as they are, metadata detected) and samples the same rows; ratios are ours / baseline.
Then :func:`fidelity` reports the census TVDs at 20,000 rows for NY and TX, for ours and the baseline
(every table of :func:`utils.census.population.census_comparison`, the B15001, B23001, B25007, B09002
and C16002 ones included), and :func:`young_and_old` the figures that once gave the data away:
bachelor's or higher at 18–20 and 18–24, married at 18–19 and 20–24, people at the oldest ages.

    python -m bench.bench_demographics [--rows 10000] [--fidelity-rows 20000]
"""

from __future__ import annotations

import argparse
import logging
import warnings

import pandas as pd

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


def young_and_old(rows: int = 20_000, seed: int = 7, states=("NY", "TX")) -> list[dict]:
    """Pooled over ``states``: degree and married shares of the youngest ages, counts at 97–99."""
    frames = {"ours": [], "seed": []}
    for state in states:
        state_seed = demographic._state_seed(seed, state)
        seed_frame = demographic.build_seed(state, constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE, seed)
        model = demographic.fit_state(seed_frame, "gaussian_copula", state_seed)
        frames["ours"].append(demographic.sample_state(model, state, rows, state_seed))
        frames["seed"].append(seed_frame)
    table = []
    for name, parts in frames.items():
        frame = pd.concat(parts, ignore_index=True)
        degree = frame["education"].isin(["bachelors", "graduate_or_professional"])
        married = frame["marital_status"] == "married_not_separated"
        ages = frame["age"].value_counts()
        table.append(
            {
                "data": name,
                "rows": len(frame),
                "bachelors_plus_18_20": round(float(degree[frame["age"] <= 20].mean()), 4),
                "bachelors_plus_18_24": round(float(degree[frame["age"] <= 24].mean()), 4),
                "married_18_19": round(float(married[frame["age"] <= 19].mean()), 4),
                "married_20_24": round(float(married[frame["age"].between(20, 24)].mean()), 4),
                **{f"age_{age}": int(ages.get(age, 0)) for age in (97, 98, 99)},
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
    report(
        "demographics_young_and_old",
        young_and_old(args.fidelity_rows),
        rows_per_state=args.fidelity_rows,
        bars="bachelor's+ 18-20 <= 3 %, 18-24 9-14 %; married 18-19 1-3 %, 20-24 7-12 %; no spike at 99",
    )


if __name__ == "__main__":
    main()
