"""A chain stage run partition by partition, in memory or from and to a build's staging folder.

A chain stage (consumer.py, marketing.py, transaction.py) is four functions of its module:

- ``survey(parents, shared, config, partition)``: what the fit needs from one partition (a seed
  sample's rows, counts); small;
- ``fit(surveys, shared, config) -> Fitted``: once for the build: the synthesizers, the seed tables,
  the whole tables the stage makes once (marketing's campaigns), and what every partition task needs;
- ``make(fitted, parents, shared, config, partition) -> Part``: one partition's rows of the stage's
  tables and ground-truth files, and a small summary;
- ``conclude(fitted, summaries, config)``: the stage's ``ground_truth.json`` from the summaries (or None).

``parents`` are the partition's rows of the parent tables; ``shared`` the whole tables every
partition needs (the campaigns). The same functions serve both ways of running a stage:

- :func:`generate` (a stage script, tests): parents in memory, partitions one after the other,
  the parts concatenated into a :class:`~utils.chain.stage.StageResult`;
- :func:`run_into` (``build_dataset.py``): each partition task reads its parents from the run's
  staging folder and writes its parts there itself (``engagements/part-00003.parquet``), so the
  build holds one partition at a time per worker and nothing grows with the customers.

Each partition's draws come from ``(seed, stage, partition)``, so both ways, and any number of
workers, give the same rows.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from utils.chain import partitions, rules
from utils.chain.config import ChainConfig
from utils.chain.partitions import Partition
from utils.core import cluster, runs, schema, storage
from utils.core.datasets import plain_dtypes, read_file
from utils.synth import models as synth

log = logging.getLogger("stage")


@dataclass
class Fitted:
    """What a stage fits once: models and seed tables (saved by the orchestrator), whole tables it
    makes once (checked and written by the orchestrator), and ``state`` for its partition tasks."""

    models: dict[str, Any] = field(default_factory=dict)  # by name; once fitted, what waits for their bytes
    # by name: a table, or the function that waits for one made beside the partition tasks
    seeds: dict[str, pd.DataFrame | Callable[[], pd.DataFrame]] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    state: Any = None


@dataclass
class Part:
    """One partition's rows of the stage's tables and ground-truth files (by name, e.g. ``effects``)
    and a small ``summary`` for the module's ``conclude``."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: Any = None


# --- Where a partition's parents come from ------------------------------------------------------------


class FrameSource:
    """Parents held in memory (a stage script, tests): a partition's rows are selected from them."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        self.tables = dict(tables)
        demographics = self.tables[schema.DEMOGRAPHICS]
        self._plan = partitions.plan_of(demographics)
        self._ids = {
            p.index: demographics["customer_id"].to_numpy()[partitions.members(demographics, p)]
            for p in self._plan
        }

    def plan(self) -> list[Partition]:
        return self._plan

    def whole(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def read(self, name: str, partition: Partition) -> pd.DataFrame:
        frame = self.tables[name]
        if name == schema.DEMOGRAPHICS:
            return frame[partitions.members(frame, partition)].reset_index(drop=True)
        return frame[frame["customer_id"].isin(self._ids[partition.index])].reset_index(drop=True)


class FolderSource:
    """A build's staging folder: demographics per state, partitioned tables as parts."""

    def __init__(self, folder: str, fmt: str, plan: Sequence[Partition]) -> None:
        self.folder, self.fmt, self._plan = folder, fmt, list(plan)

    def plan(self) -> list[Partition]:
        return self._plan

    def whole(self, name: str) -> pd.DataFrame:
        return plain_dtypes(read_file(storage.join(self.folder, schema.file_name(name, self.fmt))))

    def read(self, name: str, partition: Partition) -> pd.DataFrame:
        if name == schema.DEMOGRAPHICS:
            path = storage.join(self.folder, schema.file_name(name, self.fmt, state=partition.state))
            frame = plain_dtypes(read_file(path))
            return frame[partitions.members(frame, partition)].reset_index(drop=True)
        return plain_dtypes(read_file(storage.join(self.folder, *runs.part_path(name, partition).split("/"))))


# --- Running a stage ----------------------------------------------------------------------------------


def _seeds(fitted: Fitted) -> dict[str, pd.DataFrame]:
    """The fitted seed tables, waiting for those made on the cluster."""
    return {name: table() if callable(table) else table for name, table in fitted.seeds.items()}


def _models(fitted: Fitted) -> dict[str, bytes]:
    """The fitted models' canonical bytes, waiting for them."""
    return {name: made() for name, made in fitted.models.items()}


def _model_bytes(item: tuple) -> bytes:
    model, name = item
    return synth.synthesizer_bytes(model, name)


def _module(name: str):
    return importlib.import_module(name)


def _parents(module, source, partition: Partition) -> dict[str, pd.DataFrame]:
    return {name: source.read(name, partition) for name in module.PARENTS if name not in module.SHARED}


def _survey_task(item: tuple) -> Any:
    module_name, source, shared, config, partition = item
    module = _module(module_name)
    return module.survey(_parents(module, source, partition), cluster.shared(shared), config, partition)


def _make_task(item: tuple) -> Any:
    """One partition: make its rows, check its rules, and either return them or stage them."""
    module_name, source, common, config, partition, target = item
    shared, fitted = cluster.shared(common)
    module = _module(module_name)
    parents = _parents(module, source, partition)
    part = module.make(fitted, parents, shared, config, partition)
    check = {**parents, **shared, **part.tables}
    try:
        rules.assert_rules(check, touching=list(part.tables))
    except AssertionError as error:
        raise RuntimeError(f"{module.STAGE} partition {partition.label}: {error}") from None
    if target is None:
        return part
    staging, lineage = target  # lineage: table -> parent table -> run ids
    records = {}
    for name, frame in part.tables.items():
        records |= runs.stage_part(staging, name, partition, frame, stage=module.STAGE, parents=lineage[name])
    for name, frame in part.truth.items():
        records |= runs.stage_part(staging, name, partition, frame, stage=module.STAGE, truth=True)
    return Part({}, {}, part.summary), records


def _fit(module, source, config: ChainConfig) -> tuple[Fitted, Any]:
    """Survey the partitions and fit: the fitted stage (its models as functions that wait for their
    canonical bytes) and what every partition task reads, the whole tables and the fitted state
    (:func:`cluster.share`)."""
    plan = source.plan()
    shared = {name: source.whole(name) for name in module.SHARED}
    whole = cluster.share(shared)
    items = [(module.__name__, source, whole, config, p) for p in plan]
    surveys = cluster.map_partitions(
        _survey_task, items, names=[p.label for p in plan], stage=f"{module.STAGE} (survey)"
    )
    fitted = module.fit(surveys, shared, config)
    tables = {**shared, **fitted.tables}
    if fitted.tables:
        try:
            rules.assert_rules(tables, touching=list(fitted.tables))
        except AssertionError as error:
            raise RuntimeError(f"{module.STAGE}: {error}") from None
    # Sent before the models' bytes tasks start: a worker busy in one answers Dask's broadcast late.
    common = cluster.share((tables, Fitted(state=fitted.state)))
    # Saved as fitted, before any partition samples from them (sampling in this process caches the
    # fast sampler on a model; on workers it samples copies): the same bytes with or without Dask.
    # On a Dask engine their canonical bytes are made on a worker, beside the partition tasks.
    fitted.models = {
        name: cluster.submit(_model_bytes, (model, name), name=name, stage=f"{module.STAGE} (model bytes)")
        for name, model in fitted.models.items()
    }
    return fitted, common


def generate(module, parents: Mapping[str, pd.DataFrame], config: ChainConfig):
    """Run a stage in memory on whole parent tables; the parts concatenated, in partition order."""
    from utils.chain.stage import StageResult

    source = FrameSource(parents)
    fitted, common = _fit(module, source, config)
    plan = source.plan()
    items = [(module.__name__, source, common, config, p, None) for p in plan]
    parts = cluster.map_partitions(_make_task, items, names=[p.label for p in plan], stage=module.STAGE)
    tables = dict(fitted.tables)
    for name in parts[0].tables if parts else ():
        tables[name] = pd.concat([part.tables[name] for part in parts], ignore_index=True)
    truth = {
        name: [(p, part.truth[name]) for p, part in zip(plan, parts, strict=True)] for name in parts[0].truth
    }
    split = {
        name: [(p, part.tables[name]) for p, part in zip(plan, parts, strict=True)]
        for name in parts[0].tables
    }
    return StageResult(
        module.STAGE,
        tables,
        _seeds(fitted),
        _models(fitted),
        module.conclude(fitted, [part.summary for part in parts], config),
        truth_parts=truth,
        parts=split,
    )


def run_into(module, run: runs.Run, plan: Sequence[Partition], config: ChainConfig) -> dict:
    """Run a stage inside a build: parents from ``run``'s staging folder, parts staged by the tasks.

    Returns the rows per table. The whole tables, seeds, models and ``ground_truth.json`` are staged here.
    """
    source = FolderSource(run.staging, run.fmt, plan)
    fitted, common = _fit(module, source, config)
    inputs = run.parent_runs(module.PARENTS)  # every table the stage read, foreign key or not
    for name, frame in fitted.tables.items():
        run.write_table(name, frame, parents=inputs)
    lineage = {}
    for name in module.PARTITIONED:
        same = [
            parent
            for parent in schema.TABLES[name].parents
            if parent in (*module.PARTITIONED, *fitted.tables)
        ]
        lineage[name] = inputs | {p: [run.run_id] for p in same}
    target = (run.staging, lineage)
    items = [(module.__name__, source, common, config, p, target) for p in plan]
    # The seeds (marketing's: 1 s to write) are staged by a thread while the partition tasks run.
    with ThreadPoolExecutor(max_workers=1) as writer:
        seeds = writer.submit(lambda: [run.write_seed(name, frame) for name, frame in _seeds(fitted).items()])
        done = cluster.map_partitions(_make_task, items, names=[p.label for p in plan], stage=module.STAGE)
        seeds.result()
    for _, records in done:
        run.add_records(records)
    from utils.chain.stage import write_models_and_truth

    write_models_and_truth(
        run, module.STAGE, _models(fitted), module.conclude(fitted, [p.summary for p, _ in done], config)
    )
    rows = {name: len(frame) for name, frame in fitted.tables.items()}
    for _, records in done:
        for record in records.values():
            if record.get("table"):
                rows[record["table"]] = rows.get(record["table"], 0) + record["rows"]
    return rows
