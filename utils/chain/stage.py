"""Plumbing shared by the chain stages (consumer.py, marketing.py, transaction.py).

Every stage does the same five things, written once here:

1. read its parents from ``--data-dir`` (:func:`load_parents`);
2. build a seed sample by simulating behavioural rules on a sample of those parents, or read the
   user's own table of that stage (``--seed-data``, :func:`read_seed_data`);
3. fit the chosen synthesizer on it and sample a pool of synthetic rows (:func:`fit_and_sample`);
4. give every real parent (customer, customer-campaign pair, transaction slot) a synthetic row of
   the same stratum (:func:`match_rows`), then assign keys and enforce the structural rules;
5. return a :class:`StageResult`; the orchestrator checks the business rules (``utils.chain.rules``)
   and stages outputs, seeds and models (:func:`write_result`), then publishes them (:func:`run_stage`).

How the synthesizer sees a stage's table (:func:`encode` / :func:`decode`): for ``gaussian_copula``
the categorical columns are joined into one ``profile`` column. A Gaussian copula keeps each
categorical marginal exactly but links columns only through one correlation matrix, which loses
non-monotone links between categories (e.g. age group and preferred channel, gender and conversion:
a 0.04 vs 0.10 conversion gap came back as 0.064 vs 0.074). As one column, their joint is its
marginal. CTGAN and TVAE see the columns separately and learn the dependence themselves.

The profile still reaches the numeric columns only through one correlation of its jittered latent
(a category's position in a frequency-ordered uniform), which is close to no link at all when the
profile has hundreds of values: age group x affinity came back as -0.01 for a seed's -0.42. So a
stage names the columns its numbers depend on most (``by``, e.g. age group and gender): for
``gaussian_copula`` one copula is fitted per class of them (:func:`utils.synth.fit_conditional_synthesizer`,
a mixture of copulas), which keeps each class's numeric shapes and its profile marginal exactly.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import constants
from utils.chain import rules
from utils.chain.config import ChainConfig
from utils.core import runs, schema, storage
from utils.core.cli import UserError, base_parser, progress_enabled, setup_logging
from utils.core.datasets import load_dataset, load_demographics, plain_dtypes, require_folder
from utils.synth import models as synth

PROFILE = "profile"
SEPARATOR = "|"
log = logging.getLogger("stage")


@dataclass
class StageResult:
    """What a stage's ``generate(parents, config)`` returns; the orchestrator writes it.

    ``tables`` and ``seeds`` by logical table name (``demographics``: all states in one frame),
    ``models`` by model name (saved as ``models/{name}.pkl``), ``ground_truth`` (JSON) or None,
    ``truth_files``: ground-truth tables by path inside the dataset folder (written as CSV).
    """

    stage: str
    tables: dict[str, pd.DataFrame]
    seeds: dict[str, pd.DataFrame] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    ground_truth: dict | None = None
    truth_files: dict[str, pd.DataFrame] = field(default_factory=dict)
    # A partitioned stage's tables and truth files by partition: [(partition, frame), ...] by name
    # (utils.chain.partitioned); written as parts (joined into one file for CSV).
    parts: dict[str, list] = field(default_factory=dict)
    truth_parts: dict[str, list] = field(default_factory=dict)


# --- Command line ----------------------------------------------------------------------------------


def add_stage_arguments(parser: argparse.ArgumentParser, seed_data_help: str) -> argparse.ArgumentParser:
    """Add the flags every chain stage shares (folders, format, seed table, seed size)."""
    parser.add_argument("--data-dir", default=str(constants.DATA_DIR), help="folder holding the parents")
    parser.add_argument("--out-dir", default=None, help="output folder (default: --data-dir)")
    parser.add_argument("--format", default=constants.DEFAULT_OUTPUT_FORMAT, choices=storage.TABLE_FORMATS)
    parser.add_argument("--seed-data", default=None, metavar="PATH", help=seed_data_help)
    parser.add_argument(
        "--seed-customers",
        type=int,
        default=constants.CHAIN_SEED_CUSTOMERS,
        help="customers in the simulated seed sample",
    )
    add_period_arguments(parser)
    return parser


def add_period_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--start`` / ``--end``: the period the campaigns and purchases fall in (ISO dates, inclusive)."""
    parser.add_argument("--start", default=constants.DEFAULT_START, help="first day of the period")
    parser.add_argument("--end", default=constants.DEFAULT_END, help="last day of the period (inclusive)")
    return parser


def add_campaigns_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--campaigns``: how many campaigns the period has (default: CAMPAIGNS_PER_YEAR a year)."""
    parser.add_argument(
        "--campaigns",
        type=int,
        default=None,
        help=f"campaigns in the period (default: {constants.CAMPAIGNS_PER_YEAR} a year)",
    )
    return parser


def add_holdout_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--holdout-share``: the share of each campaign's audience assigned to its control group."""
    parser.add_argument(
        "--holdout-share",
        type=float,
        default=constants.HOLDOUT_SHARE,
        help="share of each campaign's audience held out at random as its control group "
        f"(default {constants.HOLDOUT_SHARE})",
    )
    return parser


def stage_parser(description: str, seed_data_help: str) -> argparse.ArgumentParser:
    """The command line of a chain stage: the common flags, ``--synthesizer`` and the stage flags."""
    return add_stage_arguments(base_parser(description, synthesizer=True), seed_data_help)


def parse_stage_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse a stage's flags and set up logging (SDV's own logs quieted); argparse's choices and
    :class:`ChainConfig` check the values."""
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    quiet_libraries()
    return args


def quiet_libraries() -> None:
    """Keep SDV's own INFO logs out of the step logs."""
    for name in ("sdv", "rdt", "copulas", "SingleTableSynthesizer", "MultiTableSynthesizer"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="We strongly recommend saving the metadata")


# --- Inputs -----------------------------------------------------------------------------------------


def load_parents(data_dir: str, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The parent tables a stage needs, by logical name (``demographics`` = all states)."""
    parents = {}
    for name in names:
        frame = load_demographics(data_dir) if name == "demographics" else load_dataset(data_dir, name)
        parents[name] = plain_dtypes(frame)
    return parents


def check_parents(tables: Mapping[str, pd.DataFrame]) -> None:
    """A UserError unless every parent table has its schema's columns, filled, and a unique key."""
    for name, frame in tables.items():
        table = schema.TABLES[name]
        missing = [column for column in table.column_names if column not in frame.columns]
        if missing:
            raise UserError(f"the {name} table is missing column(s) {', '.join(missing)}")
        if frame.empty:
            raise UserError(f"the {name} table has no rows")
        nullable = {key.column for key in table.foreign_keys if key.optional}
        for column in table.column_names:
            count = 0 if column in nullable else int(frame[column].isna().sum())
            if count:
                raise UserError(f"the {name} table has {count:,} rows without {column}")
        keys = frame[table.primary_key]
        duplicated = keys[keys.duplicated()]
        if len(duplicated):
            raise UserError(
                f"the {name} table repeats {table.primary_key} {duplicated.iloc[0]} "
                f"({len(duplicated):,} duplicated keys)"
            )


def read_seed_data(
    path: str, required: Sequence[str], what: str, may_be_empty: Sequence[str] = ()
) -> pd.DataFrame:
    """The user's own seed table for a stage; it must have rows and the ``required`` columns, filled
    (but for ``may_be_empty``, such as an optional campaign_id)."""
    try:
        frame = storage.read_table(path)
    except UserError:
        raise
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"--seed-data {path} cannot be read as a table: {reason}") from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise UserError(f"--seed-data {path} is not a {what} table: missing {', '.join(missing)}")
    if frame.empty:
        raise UserError(f"--seed-data {path} has no rows")
    empty = [column for column in required if column not in may_be_empty and frame[column].isna().all()]
    if empty:
        raise UserError(f"--seed-data {path}: column(s) {', '.join(empty)} have no values")
    return frame


def config_from_args(args: argparse.Namespace, **options: Any) -> ChainConfig:
    """The :class:`ChainConfig` of a stage script's parsed flags (``options`` add stage-specific ones)."""
    return ChainConfig(
        synthesizer=args.synthesizer,
        seed=args.seed,
        epochs=args.epochs,
        device=args.device,
        seed_customers=args.seed_customers,
        start=args.start,
        end=args.end,
        progress=progress_enabled(args.quiet),
        **options,
    )


def seed_customers(customers: pd.DataFrame, size: int, rng: np.random.Generator) -> pd.DataFrame:
    """A random sample (without replacement, at most all) of customers for a seed simulation."""
    size = min(size, len(customers))
    return customers.iloc[np.sort(rng.choice(len(customers), size, replace=False))].reset_index(drop=True)


# --- What the synthesizer sees ---------------------------------------------------------------------


def encode(
    frame: pd.DataFrame,
    categorical: Sequence[str],
    numerical: Sequence[str],
    kind: str,
    by: Sequence[str] = (),
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table a synthesizer of ``kind`` is fitted on, and its sdtypes (see the module docstring).

    For ``gaussian_copula`` the categorical columns other than ``by`` are joined into ``profile``.
    """
    numbers = frame[list(numerical)].astype(float)
    rest = [column for column in categorical if column not in by]
    if kind == "gaussian_copula" and rest:
        # Column-wise concatenation (a row-wise "|".join took 1.9 s on 200,000 funnel rows).
        parts = [frame[column].astype(str) for column in rest]
        profile = parts[0].str.cat(parts[1:], sep=SEPARATOR).rename(PROFILE)
        model = pd.concat([frame[list(by)].astype(str), profile, numbers], axis=1)
        return model, dict.fromkeys([*by, PROFILE], "categorical") | dict.fromkeys(numerical, "numerical")
    model = pd.concat([frame[list(categorical)].astype(str), numbers], axis=1)
    return model, dict.fromkeys(categorical, "categorical") | dict.fromkeys(numerical, "numerical")


def decode(
    sampled: pd.DataFrame, categorical: Sequence[str], numerical: Sequence[str], by: Sequence[str] = ()
) -> pd.DataFrame:
    """Sampled rows back in the stage's columns (categorical as text, numerical as float)."""
    if PROFILE in sampled:
        rest = [column for column in categorical if column not in by]
        # A profile has a few hundred distinct values: split those once and take them by code.
        codes, uniques = pd.factorize(sampled[PROFILE].astype(str).to_numpy())
        split = pd.Series(uniques).str.split(SEPARATOR, expand=True, regex=False).to_numpy(object)
        parts = pd.DataFrame(split[codes], columns=rest, index=sampled.index)
        parts = pd.concat([sampled[list(by)].astype(str), parts], axis=1)[list(categorical)]
    else:
        parts = sampled[list(categorical)].astype(str)
    return pd.concat([parts, sampled[list(numerical)].astype(float)], axis=1)


def fit_model(
    table: pd.DataFrame,
    *,
    name: str,
    categorical: Sequence[str],
    numerical: Sequence[str],
    kind: str,
    seed: int,
    epochs: int | None = None,
    fit_rows: int | None = None,
    by: Sequence[str] = (),
    distribution: str | None = None,
    device: str = constants.DEFAULT_DEVICE,
) -> Any:
    """Fit a synthesizer of ``kind`` on ``table`` (at most ``fit_rows`` rows); sample it with
    :func:`sample_pool` (the same ``categorical``, ``numerical`` and ``by``).

    ``by`` (categorical columns): for ``gaussian_copula``, one copula per class of them (classes under
    ``constants.SYNTH_MIN_CLASS_ROWS`` rows share one); CTGAN and TVAE fit one model on all columns.
    ``device``: where CTGAN / TVAE train (auto, cpu, cuda).
    ``distribution``: the Gaussian copula's marginal family (SDV's ``default_distribution``, ``beta``
    when None; ``truncnorm`` fits about 10x faster, which counts when one copula is fitted per class).
    """
    options = {"default_distribution": distribution} if distribution and kind == "gaussian_copula" else {}
    if kind != "gaussian_copula":
        options["device"] = device
    if fit_rows is not None and len(table) > fit_rows:
        table = table.sample(fit_rows, random_state=seed).sort_index()
    by = list(by) if kind == "gaussian_copula" else []
    frame, sdtypes = encode(table, categorical, numerical, kind, by)
    if "default_distribution" in options:
        # SDV encodes a category as a uniform in [0, 1] and then fits the copula's marginal family to
        # it: a truncated normal bent the uniform and halved the rare funnel categories (clicks came
        # back at half the seed's rate for some seeds); the uniform family is exact for them.
        uniform = [c for c, sdtype in sdtypes.items() if sdtype == "categorical" and c not in by]
        options["numerical_distributions"] = dict.fromkeys(uniform, "uniform")
    if by:
        return synth.fit_conditional_synthesizer(
            frame,
            kind,
            by,
            seed=seed,
            metadata=synth.detect_metadata(frame, name, sdtypes),
            table_name=name,
            min_rows=constants.SYNTH_MIN_CLASS_ROWS,
            epochs=epochs,
            **options,
        )
    return synth.fit_synthesizer(
        frame, kind, seed=seed, table_name=name, sdtypes=sdtypes, epochs=epochs, **options
    )


def sample_pool(
    model: Any,
    rows: int,
    *,
    seed: int,
    kind: str,
    categorical: Sequence[str],
    numerical: Sequence[str],
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """``rows`` synthetic rows of a model from :func:`fit_model`, in the stage's columns."""
    by = list(by) if kind == "gaussian_copula" else []
    return decode(synth.sample_synthesizer(model, rows, seed=seed), categorical, numerical, by)


# --- Linking synthetic rows to real parents -------------------------------------------------------


def match_rows(
    targets: pd.DataFrame,
    pool: pd.DataFrame,
    strata: Sequence[str],
    rng: np.random.Generator,
    order: str | None = None,
) -> np.ndarray:
    """For each target row, the index (position) of a pool row of the same stratum.

    Strata are the values of the ``strata`` columns; a target whose stratum is absent from the pool
    falls back to fewer columns (the last one dropped first). Inside a stratum, targets and pool rows
    are paired by the quantile of ``order`` when given (so a numeric link such as income survives
    inside the stratum), else at random; pool rows are reused when a stratum has more targets.
    """
    chosen = np.full(len(targets), -1, dtype=np.int64)
    for depth in range(len(strata), -1, -1):
        columns = list(strata[:depth])
        todo = np.flatnonzero(chosen < 0)
        if todo.size == 0:
            break
        both = pd.concat(
            [pool[columns].astype(str), targets.iloc[todo][columns].astype(str)], ignore_index=True
        )
        codes = both.groupby(columns, sort=True).ngroup().to_numpy() if columns else np.zeros(len(both), int)
        pool_codes, target_codes = codes[: len(pool)], codes[len(pool) :]
        tie = rng.random(len(pool))
        pool_key = pool[order].to_numpy(float) if order else tie
        pool_sorted = np.lexsort((tie, pool_key, pool_codes))
        counts = np.bincount(pool_codes, minlength=codes.max() + 1)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        have = counts[target_codes] > 0
        sub = todo[have]
        sub_codes = target_codes[have]
        jitter = rng.random(sub.size)
        if order:
            key = targets[order].to_numpy(float)[sub]
            rank_order = np.lexsort((jitter, key, sub_codes))
        else:
            rank_order = np.lexsort((jitter, sub_codes))
        ranked_codes = sub_codes[rank_order]
        group_start = np.searchsorted(ranked_codes, ranked_codes, side="left")
        group_size = np.bincount(ranked_codes, minlength=codes.max() + 1)[ranked_codes]
        quantile = (np.arange(sub.size) - group_start + rng.random(sub.size)) / group_size
        offset = np.minimum((quantile * counts[ranked_codes]).astype(np.int64), counts[ranked_codes] - 1)
        chosen[sub[rank_order]] = pool_sorted[starts[ranked_codes] + offset]
    return chosen


# --- Outputs ----------------------------------------------------------------------------------------


def number_ids(prefix: str, count: int, width: int) -> np.ndarray:
    """``count`` keys ``{prefix}{1..count, zero-padded to width}``."""
    return np.array([f"{prefix}{number:0{width}d}" for number in range(1, count + 1)], dtype=object)


def part_prefix(prefix: str, partition) -> str:
    """The key prefix of a partition's rows (``E0003-``): keys stay unique across partitions made
    apart, on any worker, and say which part file holds the row."""
    return f"{prefix}{partition.index:04d}-"


def check_tables(
    tables: Mapping[str, pd.DataFrame], stage: str, new: Sequence[str] | None = None
) -> list[rules.RuleResult]:
    """Assert the rules that involve the ``new`` tables (default: all), given with their parents."""
    try:
        return rules.assert_rules(tables, touching=new)
    except AssertionError as error:
        raise RuntimeError(f"{stage}: {error}") from None


def write_result(run: runs.Run, result: StageResult, parents: Mapping[str, pd.DataFrame]) -> list[str]:
    """Check a stage's rules (its new tables with their parents), then stage everything it made.

    Nothing is staged before the rules pass, so a failed stage leaves no table, seed or model; the
    run publishes the staged files only when every stage has finished.
    """
    check_tables({**parents, **result.tables}, result.stage, new=list(result.tables))
    inputs = run.parent_runs(parents)  # every table the stage read, foreign key or not
    written = []
    for name, frame in result.tables.items():
        same_stage = [parent for parent in schema.TABLES[name].parents if parent in result.tables]
        parents_of = inputs | {parent: [run.run_id] for parent in same_stage}
        if name in result.parts:
            run.write_parts(name, result.parts[name], stage=result.stage, parents=parents_of)
        else:
            written += run.write_table(name, frame, parents=parents_of)
    for name, parts in result.truth_parts.items():
        run.write_parts(name, parts, stage=result.stage, truth=True)
    for name, frame in result.seeds.items():
        written += run.write_seed(name, frame)
    written += write_models_and_truth(run, result.stage, result.models, result.ground_truth)
    for path, frame in result.truth_files.items():
        data = frame.to_csv(index=False, lineterminator="\n").encode()
        written.append(run.write_bytes(path, data, stage=result.stage, kind="truth"))
    return written


def write_models_and_truth(
    run: runs.Run, stage_name: str, models: Mapping[str, Any], truth: dict | None
) -> list[str]:
    """Stage a stage's fitted models (canonical bytes, or given as bytes) and its ``ground_truth.json``."""
    written = []
    for name, model in models.items():
        data = model if isinstance(model, bytes) else synth.synthesizer_bytes(model, name)
        path = f"{schema.MODELS_FOLDER}/{name}.pkl"
        written.append(run.write_bytes(path, data, stage=stage_name, kind="model"))
    if truth is not None:
        text = json.dumps(truth, indent=2, sort_keys=True) + "\n"
        written.append(run.write_bytes(schema.GROUND_TRUTH, text.encode(), stage=stage_name, kind="truth"))
    return written


# --- A stage script: lock, load, check, generate, write, publish ------------------------------------


def run_stage(
    generate: Callable[[Mapping[str, pd.DataFrame], ChainConfig], StageResult],
    *,
    parents: Sequence[str],
    data_dir: str,
    out_dir: str,
    fmt: str,
    config: ChainConfig,
) -> StageResult:
    """Run one stage as its script does: the parents of ``data_dir`` in, one published run out."""
    require_folder(data_dir)  # before the lock makes the output folder: it may be the same one
    with runs.OutputLock(out_dir):
        tables = load_parents(data_dir, parents)
        check_parents(tables)
        run = runs.Run(out_dir, fmt=fmt, data_dir=data_dir)
        try:
            result = generate(tables, config)
            write_result(run, result, tables)
            run.join_csv_parts()
            run.publish()
        except BaseException:
            run.discard()
            raise
    rows = ", ".join(f"{name} {len(frame):,} rows" for name, frame in result.tables.items())
    log.info("published %s to %s (run %s)", rows, out_dir, run.run_id)
    return result
