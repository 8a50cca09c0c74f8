"""Census-seeded synthetic demographics, one file per state: ``{out_dir}/{STATE}_demographics.csv``.

For each state: build a seed sample of adults whose joint distribution is raked (IPF) to the state's
ACS 2018 marginals and cross-tabs (:mod:`utils.population`), fit an SDV synthesizer on it, sample the
requested rows, derive ``age_group``/``income_bracket`` from ``age``/``household_income`` and number
the customers. The seed goes to ``{out_dir}/seed/``, the fitted synthesizer to ``{out_dir}/models/``
(``--from-model`` samples again from it without refitting).

How the synthesizer sees the data (``model_frame``):

- ``gaussian_copula``: the census cross-classification (age cell, gender, race/ethnicity,
  education, marital status, income bracket, home ownership, employment status, children, household
  language, household size) is one categorical column ``profile``; the position of the age inside
  its cell and of the income inside its bracket are numerical columns, uniform on [0, 1) in every
  cell/bracket, so that one marginal fits them all: the age position is the age's quantile among the
  ages of its cell and education (:func:`population.age_table`: 85+ thins out with age, a bachelor's
  at 20–24 is held from 21, the others of 20–24 a little younger so that the cell stays flat). The
  profile carries the 13 census age cells, not the 7 age groups: with 18–24 as one group, the age
  inside it was drawn apart from the rest and married 18–19 year-olds came out at 5.9 % (B12002:
  1.7 %), bachelor's degrees at 18 at 10.8 %.
  ``urban_rural`` is categorical. A Gaussian copula keeps every categorical
  marginal but links columns only through one correlation matrix, which cannot hold non-monotone
  cross-tabs: with the attributes as separate columns, marital status by sex and age drifted to a
  TVD of 0.27 from the census (NY, 20,000 rows). As one column the cross-tabs are its marginal.
- ``ctgan`` / ``tvae``: the attributes as separate columns (categorical sdtypes; age, income and
  household size numerical); the networks learn the dependence themselves, less exactly. The
  structural rule that no degree is held before its youngest age is enforced after sampling.

Usage::

    python demographic.py --states NY,TX --rows-per-state 20000 --synthesizer gaussian_copula \\
        --seed 7 --out-dir data
    python demographic.py --states NY --rows-per-state 50000 --out-dir data --from-model
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

import constants
from utils.census import population
from utils.census import tables as census
from utils.chain import stage
from utils.chain.config import ChainConfig
from utils.core import cluster, runs, schema, seeding, storage
from utils.core.cli import (
    UserError,
    base_parser,
    progress_enabled,
    run_main,
    setup_logging,
    split_list,
)
from utils.core.datasets import DEMOGRAPHICS, models_dir
from utils.synth import models as synth

log = logging.getLogger("demographic")

COLUMNS = schema.TABLES[schema.DEMOGRAPHICS].column_names
PROFILE_PARTS = (
    "age_cell",
    "gender",
    "race_ethnicity",
    "education",
    "marital_status",
    "income_bracket",
    *population.ATTRIBUTE_COLUMNS,
)


# --- What the synthesizer sees ----------------------------------------------------------------


def _income_position(income: pd.Series, bracket: pd.Series) -> np.ndarray:
    return population.income_position(income.to_numpy(), population.bracket_index(bracket))


def _income_from_position(position: np.ndarray, bracket: pd.Series) -> np.ndarray:
    return population.income_from_position(position, population.bracket_index(bracket))


def _age_rows(cell: pd.Series, education: pd.Series, state: str) -> np.ndarray:
    """The row of ``state``'s :func:`population.age_table` (the ages inside an age cell, by education)."""
    cells = pd.Categorical(cell, categories=population.AGE_CELL_LABELS).codes
    return population.age_rows(cells, pd.Categorical(education, categories=census.EDUCATION).codes, state)


def _age_position(seed_frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Where each age lies in its age cell, as a quantile of the seed's ages of its cell and education.

    Uniform on [0, 1) inside every cell whatever the cell's shape (85+ thins out with age; a
    bachelor's degree at 20–24 starts at 21), so that one marginal fits the position in all cells
    (see :func:`population.age_quantiles`).
    """
    state = seed_frame["state"].iloc[0]
    rows = _age_rows(_age_cell(seed_frame["age"]), seed_frame["education"], state)
    return population.age_quantiles(seed_frame["age"].to_numpy(), rows, population.age_table(state)[0], rng)


def _age_from_position(position: np.ndarray, cell: pd.Series, education: pd.Series, state: str) -> np.ndarray:
    """The age at each position of its cell (and education): inverse of :func:`_age_position`."""
    quantiles = np.clip(position, 0, np.nextafter(1, 0))
    table = population.age_table(state)[0]
    return population.ages_from_quantiles(quantiles, _age_rows(cell, education, state), table)


def _age_cell(age: pd.Series) -> pd.Series:
    return pd.Series(np.array(population.AGE_CELL_LABELS)[census.age_cell_of(age.to_numpy())], age.index)


def model_frame(
    seed_frame: pd.DataFrame, synthesizer: str, seed: int = constants.DEFAULT_SEED
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table a synthesizer of kind ``synthesizer`` is fitted on, and its SDV sdtypes.

    ``seed`` seeds the uniform draws that place an age inside its step of the group's CDF.
    """
    if synthesizer != "gaussian_copula":
        frame = seed_frame[
            [c for c in COLUMNS if c not in ("customer_id", "state", "age_group", "income_bracket")]
        ]
        categorical = (
            "gender",
            "race_ethnicity",
            "education",
            "marital_status",
            "urban_rural",
            *population.ATTRIBUTE_COLUMNS,
        )
        sdtypes = {c: "categorical" for c in categorical}
        return frame, sdtypes | {
            "age": "numerical",
            "household_income": "numerical",
            "household_size": "numerical",
        }
    frame = pd.DataFrame(
        {
            "profile": _profile(seed_frame),
            "age_position": _age_position(seed_frame, _position_rng(seed)),
            "income_position": _income_position(seed_frame["household_income"], seed_frame["income_bracket"]),
            "urban_rural": seed_frame["urban_rural"],
        }
    )
    sdtypes = {"profile": "categorical", "urban_rural": "categorical"}
    return frame, sdtypes | {"age_position": "numerical", "income_position": "numerical"}


def _profile(seed_frame: pd.DataFrame) -> pd.Series:
    """The ``profile`` column: the parts of :data:`PROFILE_PARTS` and the household size, ``|``-joined."""
    parts = seed_frame.assign(age_cell=_age_cell(seed_frame["age"]))[list(PROFILE_PARTS)].astype(str)
    others = [parts[column] for column in PROFILE_PARTS[1:]] + [seed_frame["household_size"].astype(str)]
    return parts[PROFILE_PARTS[0]].str.cat(others, sep="|")


def _position_rng(seed: int):
    return seeding.generator(seed, DEMOGRAPHICS, purpose="age_position")


def from_model_frame(sampled: pd.DataFrame, state: str) -> pd.DataFrame:
    """Turn rows sampled by a synthesizer for ``state`` back into demographics columns (without ids)."""
    if "profile" not in sampled:
        frame = sampled.copy()
        frame["age"] = frame["age"].round().clip(18, population.OLDEST_AGE).astype(int)
        # Structural rule: no degree before the age it can be held (a bachelor's from 21).
        education = pd.Categorical(frame["education"], categories=census.EDUCATION).codes
        frame["age"] = np.maximum(frame["age"], population.youngest_age(np.maximum(education, 0)))
        frame["household_income"] = frame["household_income"].round().clip(0, None).astype(np.int64)
        frame["household_size"] = frame["household_size"].round().clip(1, None).astype(int)
        return population.add_derived_columns(frame)
    parts = sampled["profile"].str.split("|", expand=True)
    parts.columns = [*PROFILE_PARTS, "household_size"]
    frame = parts.drop(columns=["age_cell", "income_bracket"]).assign(
        age=_age_from_position(
            sampled["age_position"].to_numpy(float), parts["age_cell"], parts["education"], state
        ),
        household_income=_income_from_position(
            sampled["income_position"].to_numpy(float), parts["income_bracket"]
        ),
        household_size=parts["household_size"].astype(int),
        urban_rural=sampled["urban_rural"].to_numpy(),
    )
    return population.add_derived_columns(frame)


# --- One state ---------------------------------------------------------------------------------


def _state_seed(seed: int, state: str) -> int:
    """A state's synthesizer seed: the same for a state whatever other states are requested."""
    return seeding.child_seed(seed, DEMOGRAPHICS, partition=state, purpose="synthesizer")


def _finish(frame: pd.DataFrame, state: str) -> pd.DataFrame:
    """Add ``customer_id`` (``NY-0000001``…, unique across states) and ``state``; order the columns."""
    frame = frame.reset_index(drop=True)
    frame["customer_id"] = [f"{state}-{i:07d}" for i in range(1, len(frame) + 1)]
    frame["state"] = state
    return frame[list(COLUMNS)]


def build_seed(state: str, rows: int, seed: int) -> pd.DataFrame:
    """The census-seeded (IPF) seed sample of ``state`` with the demographics columns."""
    sample = population.seed_sample(state, rows, seed)
    return _finish(sample.frame, state)


def fit_state(
    seed_frame: pd.DataFrame,
    synthesizer: str,
    seed: int,
    epochs: int | None = None,
    device: str = constants.DEFAULT_DEVICE,
):
    """Fit a synthesizer of kind ``synthesizer`` on a state's seed sample."""
    frame, sdtypes = model_frame(seed_frame, synthesizer, seed)
    options = {}
    if synthesizer == "gaussian_copula":
        # Positions are uniform by construction: a beta fits them (a = b = 1) better than a normal.
        options["numerical_distributions"] = {"age_position": "beta", "income_position": "beta"}
    else:
        options["device"] = device
    metadata = synth.detect_metadata(frame, DEMOGRAPHICS, sdtypes)
    if metadata.tables[DEMOGRAPHICS].primary_key is not None:  # detection may take a unique column for a key
        metadata.remove_primary_key(table_name=DEMOGRAPHICS)
    return synth.fit_synthesizer(
        frame, synthesizer, seed=seed, table_name=DEMOGRAPHICS, metadata=metadata, epochs=epochs, **options
    )


def sample_state(model, state: str, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` synthetic adults of ``state`` from a fitted synthesizer."""
    sampled = synth.sample_synthesizer(model, rows, seed=seed)
    return _finish(from_model_frame(sampled, state), state)


def check_states(states: Sequence[str]) -> list[str]:
    """Upper-cased, de-duplicated states (order kept); an unknown one raises UserError."""
    checked = [census.check_state(state) for state in states]
    if not checked:
        raise UserError("no states given")
    return list(dict.fromkeys(checked))


def build_state(
    item: tuple[str, ChainConfig, object | None],
) -> tuple[pd.DataFrame, pd.DataFrame | None, object]:
    """One state's partition task: its census-seeded sample, the fitted synthesizer (or the given
    one) and ``config.rows_per_state`` sampled rows; draws from ``(seed, state)`` only."""
    state, config, model = item
    state_seed = _state_seed(config.seed, state)
    seed_frame = None
    if model is None:
        rows = config.demographic_seed_rows
        log.info("%s: building the census-seeded sample (%s rows)", state, f"{rows:,}")
        seed_frame = build_seed(state, rows, config.seed)
        model = fit_state(seed_frame, config.synthesizer, state_seed, config.epochs, config.device)
    log.info("%s: sampling %s rows", state, f"{config.rows_per_state:,}")
    return sample_state(model, state, config.rows_per_state, state_seed), seed_frame, model


def _state_into(item: tuple[str, ChainConfig, str, str]) -> tuple[int, dict[str, dict]]:
    """One state's partition task inside a build: build it, check its rules and stage its table,
    seed and model (canonical bytes, the same on any worker) in the run's staging folder."""
    state, config, staging, fmt = item
    table, seed_frame, model = build_state((state, config, None))
    stage.check_tables({DEMOGRAPHICS: table}, DEMOGRAPHICS)
    records = runs.stage_file(
        staging,
        schema.file_name(DEMOGRAPHICS, fmt, state=state),
        storage.table_bytes(table.reset_index(drop=True), fmt),
        runs.table_file_record(DEMOGRAPHICS, len(table), state=state),
    )
    records |= runs.stage_file(
        staging,
        f"{schema.SEED_FOLDER}/{schema.file_name(DEMOGRAPHICS, fmt, state=state)}",
        storage.table_bytes(seed_frame.reset_index(drop=True), fmt),
        {"stage": DEMOGRAPHICS, "kind": "seed"},
    )
    name = f"{state}_{DEMOGRAPHICS}"
    records |= runs.stage_file(
        staging,
        f"{schema.MODELS_FOLDER}/{name}.pkl",
        synth.synthesizer_bytes(model, name),
        {"stage": DEMOGRAPHICS, "kind": "model"},
    )
    return len(table), records


def run_into(run: runs.Run, config: ChainConfig) -> dict[str, int]:
    """The demographics stage inside a build: a task per state stages its own files (the build's
    process holds no state's rows); returns the customers per state."""
    items = [(state, config, run.staging, run.fmt) for state in config.states]
    done = cluster.map_partitions(_state_into, items, names=list(config.states), stage=DEMOGRAPHICS)
    for _, records in done:
        run.add_records(records)
    return {state: rows for state, (rows, _) in zip(config.states, done, strict=True)}


def generate(
    parents: Mapping[str, pd.DataFrame], config: ChainConfig, *, fitted: Mapping[str, object] | None = None
) -> stage.StageResult:
    """Synthetic demographics of every state of ``config`` (no parents: the census is the input).

    Each state: an IPF seed sample fitted to its census tables, a synthesizer fitted on it, and
    ``config.rows_per_state`` rows sampled. ``fitted`` (state -> synthesizer) samples from models
    fitted before instead of building seeds and fitting.
    """
    items = [(state, config, None if fitted is None else fitted[state]) for state in config.states]
    done = cluster.map_partitions(build_state, items, names=list(config.states), stage=DEMOGRAPHICS)
    tables = [table for table, _, _ in done]
    seeds = [seed_frame for _, seed_frame, _ in done if seed_frame is not None]
    models = {}
    if fitted is None:
        models = {
            f"{state}_{DEMOGRAPHICS}": model for state, (_, _, model) in zip(config.states, done, strict=True)
        }
    return stage.StageResult(
        DEMOGRAPHICS,
        {DEMOGRAPHICS: pd.concat(tables, ignore_index=True)},
        {DEMOGRAPHICS: pd.concat(seeds, ignore_index=True)} if seeds else {},
        models,
    )


def generate_demographics(
    states: Sequence[str] = constants.STATES,
    rows_per_state: int = constants.DEFAULT_ROWS_PER_STATE,
    synthesizer: str = constants.DEFAULT_SYNTHESIZER,
    seed: int = constants.DEFAULT_SEED,
    *,
    out_dir: str | None = None,
    epochs: int | None = None,
    device: str = constants.DEFAULT_DEVICE,
    seed_rows_per_state: int | None = None,
    from_model: bool = False,
    fmt: str = constants.DEFAULT_OUTPUT_FORMAT,
    progress: bool = False,
) -> dict[str, pd.DataFrame]:
    """Synthetic demographics per state: ``{state: DataFrame}`` with the schema's columns.

    ``out_dir=None`` writes nothing; otherwise the tables, seed samples and fitted synthesizers are
    published together into ``out_dir`` as one run (:mod:`utils.core.runs`). ``from_model`` samples
    from the synthesizers already in ``{out_dir}/models/``. Everything is checked before any work.
    """
    config = ChainConfig(
        states=states,
        rows_per_state=rows_per_state,
        synthesizer=synthesizer,
        seed=seed,
        epochs=epochs,
        device=device,
        demographic_seed_rows=seed_rows_per_state or constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE,
        progress=progress,
    )
    if from_model and out_dir is None:
        raise UserError("--from-model needs the output folder that holds models/")
    if out_dir is None:
        result = generate({}, config)
    else:
        with runs.OutputLock(out_dir):
            fitted = None
            if from_model:
                load = synth.load_synthesizer
                fitted = {state: load(_model_path(out_dir, state)) for state in config.states}
            run = runs.Run(out_dir, fmt=fmt)
            try:
                result = generate({}, config, fitted=fitted)
                stage.write_result(run, result, {})
                run.publish(prune=not from_model)  # --from-model keeps the seeds and models
            except BaseException:
                run.discard()
                raise
    frame = result.tables[DEMOGRAPHICS]
    return {state: part.reset_index(drop=True) for state, part in frame.groupby("state", sort=False)}


def _model_path(out_dir: str, state: str) -> str:
    return storage.join(models_dir(out_dir), f"{state}_{DEMOGRAPHICS}.pkl")


# --- Command line ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python demographic.py --help``."""
    parser = base_parser(__doc__.split("\n\n")[0], synthesizer=True)
    parser.add_argument("--states", default=",".join(constants.STATES), help="comma-separated state codes")
    parser.add_argument("--rows-per-state", type=int, default=constants.DEFAULT_ROWS_PER_STATE)
    parser.add_argument(
        "--seed-rows-per-state",
        type=int,
        default=constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE,
        help="rows of the census-seeded sample each synthesizer is fitted on",
    )
    parser.add_argument("--out-dir", default=str(constants.DATA_DIR), help="output folder")
    parser.add_argument("--format", default=constants.DEFAULT_OUTPUT_FORMAT, choices=storage.TABLE_FORMATS)
    parser.add_argument(
        "--from-model", action="store_true", help="sample from the synthesizers saved in OUT_DIR/models/"
    )
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    for noisy in ("sdv", "rdt", "copulas", "SingleTableSynthesizer", "MultiTableSynthesizer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    generate_demographics(
        split_list(args.states),
        args.rows_per_state,
        args.synthesizer,
        args.seed,
        out_dir=args.out_dir,
        epochs=args.epochs,
        device=args.device,
        seed_rows_per_state=args.seed_rows_per_state,
        from_model=args.from_model,
        fmt=args.format,
        progress=progress_enabled(args.quiet),
    )
    return 0


if __name__ == "__main__":
    run_main(main)
