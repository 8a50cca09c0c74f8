"""A private synthetic copy of a sensitive table, with a fidelity / utility / privacy report.

    python synthesize.py --input data/feedback360_wide.csv --target high_potential \\
        --synthesizer gaussian_copula --rows 2000 --seed 7 --output data/feedback360_synthetic.csv

The table is prepared once (utils.prepare: types, ids, dates, ordinal scales, editable metadata),
a share is held out, the synthesizer is fitted on the rest (with a target, the Gaussian copula is
fitted per target class: see docs/synthesize.md), the copy is sampled and written with its metadata
and its report (JSON + self-contained HTML) beside it. ``--input public:fair_affairs`` reads a real
public table shipped with statsmodels.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

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
from utils.metrics.tstr import tstr_utility
from utils.private_copy import report as synth_report
from utils.private_copy.prepare import PreparedTable, prepare_table, restore_table, structural_categories
from utils.private_copy.public_tables import load_public
from utils.synth import models as synth

log = logging.getLogger("synthesize")
COPULA_DISTRIBUTIONS = ("truncnorm", "beta", "norm", "gamma", "uniform", "gaussian_kde")


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
    prepared: PreparedTable, training: pd.DataFrame, kind: str, *, seed, condition_on, epochs, distribution
):
    """Fit ``kind`` on the prepared training rows; per class of the ``condition_on`` columns if any."""
    options = {"default_distribution": distribution} if kind == "gaussian_copula" else {}
    if condition_on:
        return synth.fit_conditional_synthesizer(
            training,
            kind,
            condition_on,
            seed=seed,
            metadata=prepared.metadata,
            table_name=prepared.table_name,
            min_rows=constants.SYNTH_MIN_CLASS_ROWS,
            epochs=epochs,
            **options,
        )
    return synth.fit_synthesizer(
        training,
        kind,
        seed=seed,
        table_name=prepared.table_name,
        metadata=prepared.metadata,
        epochs=epochs,
        **options,
    )


def evaluate(
    prepared: PreparedTable,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    target: str | None,
    seed: int,
    groups: pd.Series | None = None,
) -> tuple[dict, dict]:
    """Fidelity, utility and privacy figures of ``synthetic`` (prepared shape); and the raw DCR arrays.

    ``groups`` (indexed like the prepared rows) tells the privacy check which rows belong to one person.
    """
    log.info("fidelity: SDMetrics quality report, KS/TVD, correlations")
    quality = fidelity.quality_report(training, synthetic, prepared.sdmetrics_metadata)
    distances = fidelity.column_distances(
        training, synthetic, constants.VALIDATION_THRESHOLDS["distribution_tolerance"]
    )
    correlations = fidelity.correlation_difference(training, synthetic)
    tolerance = constants.VALIDATION_THRESHOLDS["correlation_tolerance"]
    report = {
        "fidelity": {
            "quality": quality,
            "column_distances": distances.to_dict("records"),
            "columns_within_tolerance": round(float(distances["passed"].mean()), 4)
            if len(distances)
            else None,
            "correlation_difference": {
                "pairs": len(correlations),
                "mean": round(float(correlations["difference"].mean()), 4) if len(correlations) else 0.0,
                "max": round(float(correlations["difference"].max()), 4) if len(correlations) else 0.0,
                "within_tolerance": round(float((correlations["difference"] <= tolerance).mean()), 4)
                if len(correlations)
                else None,
                "worst": correlations.nlargest(10, "difference").to_dict("records"),
            },
        }
    }
    if target is not None:
        log.info("utility: train on synthetic, test on the real holdout (target %s)", target)
        report["utility"] = tstr_utility(training, holdout, synthetic, target, seed=seed)
    log.info("privacy: distance to closest record, exact copies, membership inference")
    dcr = privacy.dcr_privacy(
        training,
        holdout,
        synthetic,
        seed=seed,
        training_groups=None if groups is None else groups.loc[training.index].to_numpy(),
        holdout_groups=None if groups is None else groups.loc[holdout.index].to_numpy(),
    )
    arrays = {"training": dcr.pop("dcr_training"), "holdout": dcr.pop("dcr_holdout")}
    report["privacy"] = dcr
    return report, arrays


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
    distribution: str = constants.SYNTH_COPULA_DISTRIBUTION,
) -> tuple[pd.DataFrame, dict, dict]:
    """Synthesize ``frame``: the copy (input's shape), the report, and the (editable) metadata dict.

    With ``conditional`` the copula is fitted per class of ``target`` and of ``condition_on``; ``None``
    picks the structural categories of the training rows (:func:`utils.prepare.structural_categories`).

    The report also carries ``_dcr`` (raw distance arrays for the charts); :func:`main` removes it.
    """
    check_synthesizer(synthesizer)
    if distribution not in COPULA_DISTRIBUTIONS:
        raise UserError(
            f"unknown --distribution {distribution!r}: choose one of {', '.join(COPULA_DISTRIBUTIONS)}"
        )
    if not 0 < holdout < 1:
        raise UserError(f"--holdout must be between 0 and 1, got {holdout}")
    if group is not None and group not in frame.columns:
        raise UserError(f"group column {group!r} is not in the table")
    prepared = prepare_table(frame, metadata=metadata, target=target)
    groups = frame[group].reset_index(drop=True) if group else None
    training, held_out = split_holdout(prepared.frame, holdout, seed, target, groups)
    rows = rows or len(training)
    check_positive(rows, "--rows")
    if condition_on is None:
        columns = prepared.metadata.to_dict()["tables"][prepared.table_name]["columns"]
        condition_on = structural_categories(training, columns, exclude=(target,) if target else ())
    missing = [c for c in condition_on if c not in prepared.frame.columns]
    if missing:
        raise UserError(f"cannot condition on {', '.join(missing)}: not a (non-id) column of the table")
    by = list(dict.fromkeys([target, *condition_on] if target else condition_on))
    if not (conditional and synthesizer == "gaussian_copula"):
        by = []
    started = time.perf_counter()
    model = fit_model(
        prepared, training, synthesizer, seed=seed, condition_on=by, epochs=epochs, distribution=distribution
    )
    sampled = synth.sample_synthesizer(model, rows, seed=seed)
    log.info("fitted and sampled %s rows in %.1f s", f"{rows:,}", time.perf_counter() - started)
    report, arrays = evaluate(prepared, training, held_out, sampled, target=target, seed=seed, groups=groups)
    report = {
        "input": input_name,
        "synthesizer": synthesizer,
        "conditioned_on": by,
        "copula_distribution": distribution if synthesizer == "gaussian_copula" else None,
        "seed": seed,
        "epochs": epochs,
        "target": target,
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
        },
        **report,
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
        "--input", required=True, help="CSV/Parquet path or az:// URL, or public:fair_affairs"
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
        default=constants.SYNTH_COPULA_DISTRIBUTION,
        help="copula marginals: truncnorm, beta (SDV's default), norm, gamma, uniform, gaussian_kde",
    )
    parser.add_argument("--cache-dir", default=None, help="DataLoader's Parquet cache (default: none)")
    parser.add_argument("--report-dir", default=None, help="folder of the report (default: beside --output)")
    parser.add_argument(
        "--no-conditioning",
        action="store_true",
        help="fit the copula on the whole table, not per target class",
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
    return 0


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


if __name__ == "__main__":
    run_main(main)
