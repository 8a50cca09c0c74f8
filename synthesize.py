"""A private synthetic copy of a sensitive table, with a fidelity / utility / privacy report.

    python synthesize.py --input data/feedback360_wide.csv --target high_potential \\
        --synthesizer gaussian_copula --rows 2000 --seed 7 --output data/feedback360_synthetic.csv

The table is prepared once (utils/private_copy/prepare.py: types, ids, mixed-format dates, nearly
unique text, ordinal scales, editable metadata), a share is held out, and the default model is fitted
on the rest: every column through its own empirical CDF (point masses, counts and spikes kept), a
mixture of Gaussian copulas over the target's classes (or the likely outcome's, said on the console)
and learned parts (utils/private_copy/mixture.py). The copy is written with its metadata and its
report (JSON + self-contained HTML: per-column KS/TVD against the bar, utility, privacy, and SDV's
GaussianCopula defaults and CTGAN side by side on the same split); ``--strict`` exits 1 when the
verdict fails. ``--input public:NAME`` reads a real public table shipped with statsmodels.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
from tqdm import tqdm

import constants
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
from utils.metrics import fidelity, privacy
from utils.metrics.tstr import categorical_utility, low_cardinality_columns, tstr_utility
from utils.private_copy import engine
from utils.private_copy import report as synth_report
from utils.private_copy.marginals import NumericCodec, TableCodec
from utils.private_copy.mixture import MixtureSynthesizer, fit_mixture
from utils.private_copy.prepare import (
    PreparedTable,
    likely_target,
    prepare_table,
    restore_table,
    structural_categories,
)
from utils.private_copy.public_tables import PUBLIC_TABLES, load_public

log = logging.getLogger("synthesize")
COPULA_DISTRIBUTIONS = ("empirical", "truncnorm", "beta", "norm", "gamma", "uniform", "gaussian_kde")
# Side-by-side models of every report: (synthesizer, marginals, epochs); SDV's own, no shape preparation.
BASELINES = {
    "sdv_gaussian_copula": ("gaussian_copula", "beta", None),
    "sdv_ctgan": ("ctgan", "beta", constants.SYNTH_COMPARE_CTGAN_EPOCHS),
}


def load_input(path: str, cache_dir: str | None = None) -> pd.DataFrame:
    """The input table: ``public:NAME``, or a CSV / Parquet path or ``az://`` URL read by DataLoader.

    DataLoader's category and Arrow string dtypes become plain objects: SDV and the metrics expect them.
    """
    from utils.core.loader import DataLoader

    if path.startswith("public:"):
        return load_public(path.split(":", 1)[1])
    if not storage.is_remote(path) and os.path.exists(path) and os.path.getsize(path) == 0:
        raise UserError(f"{path} is empty: nothing to synthesize")
    frame = DataLoader(cache_dir=cache_dir).load(path)
    text = [c for c in frame.columns if frame[c].dtype.kind not in "iufbM"]
    return frame.astype({c: object for c in text}).replace({pd.NA: np.nan})


def split_holdout(
    frame: pd.DataFrame, share: float, seed: int, target: str | None, groups: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and holdout rows, stratified by ``target`` where every class has two rows or more.

    With ``groups`` (aligned with ``frame``), rows of one group (e.g. one leader's rater groups) all
    fall on the same side, so the holdout holds unseen people, not their other rows.
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    if groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed % 2**32)
        train_index, test_index = next(splitter.split(frame, groups=groups.to_numpy()))
        return frame.iloc[np.sort(train_index)], frame.iloc[np.sort(test_index)]
    strata = None
    if target is not None and frame[target].value_counts().min() >= 2:
        strata = frame[target].astype(str)
    training, holdout = train_test_split(frame, test_size=share, random_state=seed % 2**32, stratify=strata)
    return training.sort_index(), holdout.sort_index()


def fit_model(
    prepared: PreparedTable,
    training: pd.DataFrame,
    kind: str,
    *,
    seed: int,
    condition_on: Sequence[str] = (),
    epochs: int | None = None,
    distribution: str = constants.SYNTH_MARGINALS,
    partition: bool = True,
    progress: bool = False,
    device: str = constants.DEFAULT_DEVICE,
):
    """Fit ``kind`` on the prepared training rows.

    ``distribution="empirical"`` (the default): the shape-keeping mixture (:mod:`utils.private_copy.mixture`),
    per class of ``condition_on`` and, with ``partition``, learned parts. Any other distribution is
    SDV's own synthesizer with its parametric marginals (``beta``: SDV's defaults), for comparison.
    """
    if distribution == "empirical":
        return fit_mixture(
            training,
            prepared.sdtypes,
            kind=kind,
            by=list(condition_on),
            orders=prepared.ordinal_orders,
            seed=seed,
            epochs=epochs,
            partition=partition,
            progress=progress,
            device=device,
        )
    options = {"default_distribution": distribution} if kind == "gaussian_copula" else {"device": device}
    return engine.fit(training, kind, prepared.metadata, seed=seed, epochs=epochs, **options)


def sample_model(model, rows: int, *, seed: int) -> pd.DataFrame:
    """``rows`` rows from a model of :func:`fit_model`."""
    if isinstance(model, MixtureSynthesizer):
        return model.sample(rows, seed=seed)
    return engine.sample(model, rows, seed=seed)


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame`` (a seeded sample, original order), or ``frame`` itself."""
    if len(frame) <= rows:
        return frame
    return frame.sample(rows, random_state=seed % 2**32).sort_index()


def fidelity_figures(
    prepared: PreparedTable, training: pd.DataFrame, synthetic: pd.DataFrame, *, seed: int
) -> dict:
    """Per-column KS / TVD against the bar, column-pair differences and SDMetrics' quality score."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ks_2samp's "exact calculation unsuccessful" on big samples
        distances = fidelity.column_distances(training, synthetic, constants.SYNTH_COLUMN_DISTANCE_BAR)
    pairs = fidelity.correlation_difference_fast(
        _sample(training, constants.SYNTH_QUALITY_ROWS, seed),
        _sample(synthetic, constants.SYNTH_QUALITY_ROWS, seed),
    )
    tolerance = constants.SYNTH_PAIR_TOLERANCE
    if training.shape[1] <= constants.SYNTH_QUALITY_MAX_COLUMNS:
        quality = fidelity.quality_report(
            _sample(training, constants.SYNTH_QUALITY_ROWS, seed),
            _sample(synthetic, constants.SYNTH_QUALITY_ROWS, seed),
            prepared.sdmetrics_metadata,
        )
    else:  # SDMetrics' pair trends are quadratic in the columns: our own figures on wide tables
        shapes = {r["column"]: round(1 - r["distance"], 4) for r in distances.to_dict("records")}
        column_shapes = float(np.mean(list(shapes.values())))
        pair_trends = 1 - float(pairs["difference"].mean()) / 2 if len(pairs) else 1.0
        quality = {
            "score": round((column_shapes + pair_trends) / 2, 4),
            "column_shapes": round(column_shapes, 4),
            "column_pair_trends": round(pair_trends, 4),
            "column_shape_scores": shapes,
            "source": "1 - KS/TVD and 1 - |difference|/2 (wide table: SDMetrics skipped)",
        }
    return {
        "quality": quality,
        "column_distance_bar": constants.SYNTH_COLUMN_DISTANCE_BAR,
        "column_distances": distances.to_dict("records"),
        "columns_over_bar": distances.loc[~distances["passed"], "column"].tolist(),
        "max_column_distance": round(float(distances["distance"].max()), 6) if len(distances) else 0.0,
        "columns_within_tolerance": round(float(distances["passed"].mean()), 4) if len(distances) else None,
        "correlation_difference": {
            "pairs": len(pairs),
            "tolerance": tolerance,
            "mean": round(float(pairs["difference"].mean()), 4) if len(pairs) else 0.0,
            "max": round(float(pairs["difference"].max()), 4) if len(pairs) else 0.0,
            "within_tolerance": round(float((pairs["difference"] <= tolerance).mean()), 4)
            if len(pairs)
            else 1.0,
            "worst": pairs.nlargest(10, "difference").to_dict("records"),
        },
    }


def privacy_figures(
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    seed: int,
    groups: pd.Series | None = None,
) -> tuple[dict, dict]:
    """DCR share, exact copies and membership inference; and the raw DCR arrays (for the chart)."""
    dcr = privacy.dcr_privacy(
        training,
        holdout,
        synthetic,
        seed=seed,
        training_groups=None if groups is None else groups.loc[training.index].to_numpy(),
        holdout_groups=None if groups is None else groups.loc[holdout.index].to_numpy(),
    )
    arrays = {"training": dcr.pop("dcr_training"), "holdout": dcr.pop("dcr_holdout")}
    dcr["copies_of_rare_rows"] = privacy.rare_copy_rate(synthetic, training, constants.SYNTH_COPY_MIN_COUNT)
    return dcr, arrays


def evaluate(
    prepared: PreparedTable,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    target: str | None,
    seed: int,
    groups: pd.Series | None = None,
    progress: bool = False,
) -> tuple[dict, dict]:
    """Fidelity, utility and privacy figures of ``synthetic`` (prepared shape); and the raw DCR arrays.

    ``target`` is the utility's target (given or detected); every low-cardinality categorical column is
    also the target in turn (``utility_by_category``). ``groups`` (indexed like the prepared rows)
    tells the privacy check which rows belong to one person.
    """
    steps = tqdm(total=4, desc="report", unit="step", disable=not progress)
    log.info("fidelity: per-column KS/TVD, column pairs, SDMetrics quality")
    report = {"fidelity": fidelity_figures(prepared, training, synthetic, seed=seed)}
    steps.update()
    if target is not None:
        log.info("utility: train on synthetic, test on the real holdout (target %s)", target)
        report["utility"] = tstr_utility(training, holdout, synthetic, target, seed=seed)
    steps.update()
    targets = low_cardinality_columns(training, constants.SYNTH_TSTR_MAX_CATEGORIES)
    most = constants.SYNTH_TSTR_MAX_TARGETS
    if training.shape[1] > constants.SYNTH_QUALITY_MAX_COLUMNS:
        most = constants.SYNTH_TSTR_MAX_TARGETS_WIDE
    targets = [c for c in targets if c != target][: most - (target is not None)]
    targets = [target, *targets] if target is not None else targets
    if targets:
        log.info("utility: each of %s as the target in turn", ", ".join(targets))
        report["utility_by_category"] = categorical_utility(
            training,
            holdout,
            synthetic,
            targets,
            seed=seed,
            max_rows=constants.SYNTH_TSTR_ROWS,
            min_f1=constants.SYNTH_TSTR_MIN_F1,
        )
    steps.update()
    log.info("privacy: distance to closest record, exact copies, membership inference")
    report["privacy"], arrays = privacy_figures(training, holdout, synthetic, seed=seed, groups=groups)
    steps.update()
    steps.close()
    return report, arrays


def compare(
    prepared: PreparedTable,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    baselines: Sequence[str],
    *,
    target: str | None,
    seed: int,
    groups: pd.Series | None = None,
    progress: bool = False,
    max_rows: int | None = constants.SYNTH_COMPARE_ROWS,
    ctgan_epochs: int | None = None,
    device: str = constants.DEFAULT_DEVICE,
) -> dict:
    """SDV's GaussianCopula defaults and CTGAN on the same split: fit time, distances, F1, DCR share.

    Each is fitted on at most ``max_rows`` of the training rows (``None``: all; CTGAN for
    ``SYNTH_COMPARE_CTGAN_EPOCHS`` epochs, or ``ctgan_epochs``) and scored like the copy, on the same
    holdout.
    """
    out = {}
    fit_rows = training if max_rows is None else _sample(training, max_rows, seed)
    for name in tqdm(baselines, desc="compare", unit="model", disable=not progress):
        kind, distribution, epochs = BASELINES[name]
        epochs = ctgan_epochs if kind == "ctgan" and ctgan_epochs is not None else epochs
        log.info("side by side: %s on %s training rows", name, f"{len(fit_rows):,}")
        started = time.perf_counter()
        model = fit_model(
            prepared, fit_rows, kind, seed=seed, distribution=distribution, epochs=epochs, device=device
        )
        fitted = time.perf_counter() - started
        synthetic = sample_model(model, len(fit_rows), seed=seed)
        out[name] = summary(
            prepared, training, holdout, synthetic, target=target, seed=seed, groups=groups, fit_s=fitted
        )
        out[name]["training_rows"] = len(fit_rows)
    return out


def summary(
    prepared: PreparedTable,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    target: str | None,
    seed: int,
    groups: pd.Series | None,
    fit_s: float,
    report: dict | None = None,
) -> dict:
    """One row of the side-by-side table (figures reused from ``report`` when given)."""
    if report is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            distances = fidelity.column_distances(training, synthetic, constants.SYNTH_COLUMN_DISTANCE_BAR)
        utility = tstr_utility(training, holdout, synthetic, target, seed=seed) if target else None
        privacy_part, _ = privacy_figures(training, holdout, synthetic, seed=seed, groups=groups)
        columns = {r["column"]: r["distance"] for r in distances.to_dict("records")}
    else:
        utility, privacy_part = report.get("utility"), report["privacy"]
        columns = {r["column"]: r["distance"] for r in report["fidelity"]["column_distances"]}
    bar = constants.SYNTH_COLUMN_DISTANCE_BAR
    return {
        "fit_s": round(fit_s, 1),
        "column_distances": columns,
        "max_column_distance": round(max(columns.values()), 4) if columns else 0.0,
        "columns_over_bar": sum(v > bar for v in columns.values()),
        "f1_synthetic": None if utility is None else utility["train_synthetic"]["f1"],
        "f1_real": None if utility is None else utility["train_real"]["f1"],
        "f1_ratio": None if utility is None else utility["f1_ratio"],
        "share_closer_to_training": privacy_part["share_closer_to_training"],
        "exact_copy_rate": privacy_part["exact_copy_rate"],
    }


def synthesize(
    frame: pd.DataFrame,
    *,
    synthesizer: str = constants.DEFAULT_SYNTHESIZER,
    rows: int | None = None,
    seed: int = constants.DEFAULT_SEED,
    holdout: float = constants.SYNTH_HOLDOUT,
    metadata: dict | None = None,
    target: str | None = None,
    epochs: int | None = None,
    conditional: bool = True,
    input_name: str = "table",
    group: str | None = None,
    condition_on: Sequence[str] | None = None,
    distribution: str = constants.SYNTH_MARGINALS,
    baselines: Sequence[str] = (),
    detect_target: bool = True,
    progress: bool = False,
    device: str = constants.DEFAULT_DEVICE,
) -> tuple[pd.DataFrame, dict, dict]:
    """Synthesize ``frame``: the copy (input's shape), the report, and the (editable) metadata dict.

    The default is the shape-keeping mixture (``distribution="empirical"``): with ``conditional``, fitted
    per class of ``target`` (or, without one and with ``detect_target``, of the likely outcome column)
    and of ``condition_on`` (``None``: the structural categories, see
    :func:`utils.private_copy.prepare.structural_categories`), each class cut into learned parts.
    ``baselines`` (names of :data:`BASELINES`) are fitted on the same split and reported side by side.

    The report also carries ``_dcr`` (raw distance arrays for the charts); :func:`main` removes it.
    """
    check_synthesizer(synthesizer)
    if distribution not in COPULA_DISTRIBUTIONS:
        raise UserError(
            f"unknown --distribution {distribution!r}: choose one of {', '.join(COPULA_DISTRIBUTIONS)}"
        )
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise UserError(f"unknown --compare {', '.join(unknown)}: choose from {', '.join(BASELINES)} or none")
    if not 0 < holdout < 1:
        raise UserError(f"--holdout must be between 0 and 1, got {holdout}")
    if group is not None and group not in frame.columns:
        raise UserError(f"group column {group!r} is not in the table")
    prepared = prepare_table(frame, metadata=metadata, target=target)
    detected = None
    if target is None and detect_target:
        detected = likely_target(prepared.frame, prepared.sdtypes)
        if detected is not None:
            log.warning(
                "no --target given: conditioning on %r, the likely outcome (pass --target to choose)",
                detected,
            )
    outcome = target or detected
    groups = frame[group].reset_index(drop=True) if group else None
    training, held_out = split_holdout(prepared.frame, holdout, seed, outcome, groups)
    rows = rows or len(training)
    check_positive(rows, "--rows")
    if condition_on is None:
        columns = prepared.metadata.to_dict()["tables"][prepared.table_name]["columns"]
        condition_on = structural_categories(training, columns, exclude=(outcome,) if outcome else ())
    missing = [c for c in condition_on if c not in prepared.frame.columns]
    if missing:
        raise UserError(f"cannot condition on {', '.join(missing)}: not a (non-id) column of the table")
    by = list(dict.fromkeys([outcome, *condition_on] if outcome else condition_on))
    shaped = distribution == "empirical"
    if not (conditional and synthesizer == "gaussian_copula" and shaped):
        by = []
    started = time.perf_counter()
    model = fit_model(
        prepared,
        training,
        synthesizer,
        seed=seed,
        condition_on=by,
        epochs=epochs,
        distribution=distribution,
        partition=conditional,
        progress=progress,
        device=device,
    )
    fitted = time.perf_counter() - started
    sampled = sample_model(model, rows, seed=seed)
    sampled_s = time.perf_counter() - started - fitted
    log.info("fitted and sampled %s rows in %.1f s", f"{rows:,}", fitted + sampled_s)
    report, arrays = evaluate(
        prepared, training, held_out, sampled, target=outcome, seed=seed, groups=groups, progress=progress
    )
    report_s = time.perf_counter() - started - fitted - sampled_s
    side = {
        "this copy": summary(
            prepared,
            training,
            held_out,
            sampled,
            target=outcome,
            seed=seed,
            groups=groups,
            fit_s=fitted,
            report=report,
        )
    }
    side.update(
        compare(
            prepared,
            training,
            held_out,
            baselines,
            target=outcome,
            seed=seed,
            groups=groups,
            progress=progress,
            device=device,
        )
    )
    marginals = {}
    if isinstance(model, MixtureSynthesizer):
        whole = TableCodec(training, prepared.sdtypes, orders=prepared.ordinal_orders)
        marginals = {
            c: {"kind": codec.kind, "integer": codec.integral, "point_masses": codec.atoms()}
            for c, codec in whole.codecs.items()
            if isinstance(codec, NumericCodec)
        }
    report = {
        "input": input_name,
        "synthesizer": synthesizer,
        "model": f"mixture of {len(model.parts)} part(s), empirical marginals"
        if isinstance(model, MixtureSynthesizer)
        else f"SDV {synthesizer}"
        + (f", {distribution} marginals" if synthesizer == "gaussian_copula" else ""),
        "conditioned_on": by,
        "parts": len(model.parts) if isinstance(model, MixtureSynthesizer) else 1,
        "copula_distribution": distribution if synthesizer == "gaussian_copula" else None,
        "seed": seed,
        "epochs": epochs,
        "target": target,
        "detected_target": detected,
        "group": group,
        "rows": {"input": len(frame), "training": len(training), "holdout": len(held_out), "synthetic": rows},
        "preparation": {
            "columns": {
                c: s["sdtype"]
                for c, s in prepared.metadata.to_dict()["tables"][prepared.table_name]["columns"].items()
            },
            "regenerated_ids": sorted(prepared.regenerated_ids),
            "dropped": prepared.dropped,
            "dates": prepared.date_formats,
            "ordinal_orders": {c: [str(v) for v in o] for c, o in prepared.ordinal_orders.items()},
            "marginals": marginals,
            "derived": {d.column: d.describe() for d in getattr(model, "derived", [])},
        },
        **report,
        "side_by_side": side,
        "timings_s": {
            "fit": round(fitted, 1),
            "sample": round(sampled_s, 1),
            "report": round(report_s, 1),
            "side_by_side": round(time.perf_counter() - started - fitted - sampled_s - report_s, 1),
        },
    }
    report["privacy"]["near_unique_text"] = {
        c: {"distinct_share": share, "action": "regenerated" if c in prepared.regenerated_ids else "dropped"}
        for c, share in prepared.near_unique_text.items()
    }
    report["verdict"] = synth_report.verdict(report)
    report["_dcr"] = arrays
    return restore_table(prepared, sampled), report, prepared.full_metadata


def sibling(path: str, suffix: str) -> str:
    """``data/copy.csv`` -> ``data/copy{suffix}`` (local path or URL)."""
    text = str(path)
    stem = (
        PurePosixPath(text).stem if storage.is_remote(text) else os.path.splitext(os.path.basename(text))[0]
    )
    folder = text.rsplit("/", 1)[0] if "/" in text else "."
    return storage.join(folder, f"{stem}{suffix}")


def condition_columns(text: str) -> list[str] | None:
    """``--condition-on``: ``auto`` -> None (detected), ``none`` -> [], else the listed columns."""
    if text.strip().lower() == "auto":
        return None
    return [] if text.strip().lower() == "none" else split_list(text)


def baseline_names(text: str, columns: int) -> list[str]:
    """``--compare``: ``none`` -> [], ``auto`` -> every baseline (only SDV's copula when wide), or a list."""
    choice = text.strip().lower()
    if choice == "none":
        return []
    if choice == "auto":
        return list(BASELINES) if columns <= constants.SYNTH_QUALITY_MAX_COLUMNS else ["sdv_gaussian_copula"]
    return split_list(text)


def read_metadata(path: str) -> dict | None:
    """An SDV metadata JSON to use instead of detection, or None when ``path`` does not exist yet."""
    if storage.is_remote(path) or not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"cannot read metadata {path}: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n")[0], synthesizer=True)
    parser.add_argument(
        "--input",
        required=True,
        help=f"CSV/Parquet path or az:// URL, or public:NAME ({', '.join(PUBLIC_TABLES)})",
    )
    parser.add_argument("--output", required=True, help="CSV/Parquet path or az:// URL of the synthetic copy")
    parser.add_argument(
        "--rows", type=int, default=None, help="synthetic rows (default: as many as training)"
    )
    parser.add_argument(
        "--holdout", type=float, default=constants.SYNTH_HOLDOUT, help="share of rows held out"
    )
    parser.add_argument(
        "--target", default=None, help="column to test utility on (and condition the copula on)"
    )
    parser.add_argument(
        "--metadata",
        default=None,
        help="SDV metadata JSON: used if it exists, else the detected one is saved there",
    )
    parser.add_argument(
        "--group",
        default=None,
        help="rows sharing this column (e.g. leader_id) stay on one side of the holdout",
    )
    parser.add_argument(
        "--condition-on",
        default="auto",
        help="comma-separated categorical columns the copula is also fitted per class of (e.g. rater_group);"
        " auto (default): the structural ones; none: the target only",
    )
    parser.add_argument(
        "--distribution",
        default=constants.SYNTH_MARGINALS,
        help="marginals: empirical (point masses, counts and spikes kept), or SDV's own parametric"
        " truncnorm, beta (SDV's default), norm, gamma, uniform, gaussian_kde",
    )
    parser.add_argument(
        "--compare",
        default="auto",
        help="models fitted on the same split and reported side by side: "
        f"{', '.join(BASELINES)} (comma-separated), none, or auto (both; SDV's copula only on tables"
        f" over {constants.SYNTH_QUALITY_MAX_COLUMNS} columns: CTGAN's per-column mixtures take minutes)",
    )
    parser.add_argument(
        "--no-detect-target",
        action="store_true",
        help="without --target, do not condition on the likely outcome column",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when the verdict fails")
    parser.add_argument("--cache-dir", default=None, help="DataLoader's Parquet cache (default: none)")
    parser.add_argument("--report-dir", default=None, help="folder of the report (default: beside --output)")
    parser.add_argument(
        "--no-conditioning",
        action="store_true",
        help="one model for the whole table: no classes, no learned parts",
    )
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    for noisy in ("sdv", "SingleTableSynthesizer", "copulas", "rdt", "ctgan"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    check_synthesizer(args.synthesizer)
    storage.table_format(args.output)
    if args.rows is not None:
        check_positive(args.rows, "--rows")
    metadata_path = args.metadata or sibling(args.output, ".metadata.json")
    frame = load_input(args.input, args.cache_dir)
    log.info("read %s rows × %s columns from %s", f"{len(frame):,}", frame.shape[1], args.input)
    synthetic, report, metadata = synthesize(
        frame,
        synthesizer=args.synthesizer,
        rows=args.rows,
        seed=args.seed,
        holdout=args.holdout,
        metadata=read_metadata(metadata_path) if args.metadata else None,
        target=args.target,
        epochs=args.epochs,
        conditional=not args.no_conditioning,
        input_name=args.input,
        group=args.group,
        condition_on=condition_columns(args.condition_on),
        distribution=args.distribution,
        baselines=baseline_names(args.compare, frame.shape[1]),
        detect_target=not args.no_detect_target,
        device=args.device,
        progress=not args.quiet,
    )
    arrays = report.pop("_dcr")
    images = synth_report.charts(report, arrays["training"], arrays["holdout"])
    report_base = (
        storage.join(storage.ensure_dir(args.report_dir), PurePosixPath(str(args.output)).stem)
        if args.report_dir
        else sibling(args.output, "")
    )
    storage.write_table(synthetic, args.output)
    storage.write_text(json.dumps(metadata, indent=2, default=str) + "\n", metadata_path)
    storage.write_text(
        json.dumps(report, indent=2, default=_json_default) + "\n", f"{report_base}.report.json"
    )
    storage.write_text(synth_report.render_html(report, images), f"{report_base}.report.html")
    log.info("wrote %s and %s.report.{json,html}", args.output, report_base)
    log.info("verdict: %s", report["verdict"]["text"])
    if args.strict and not report["verdict"]["passed"]:
        log.warning("--strict: the verdict failed (%s)", ", ".join(report["verdict"]["failed"]))
        return 1
    return 0


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


if __name__ == "__main__":
    run_main(main)
