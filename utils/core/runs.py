"""Runs that never mix: a lock per output folder, staging, atomic publication and lineage checks.

Every script that writes a dataset folder (``build_dataset.py`` and each stage script) does it as
one *run* with its own run id:

1. :class:`OutputLock` — one writer per folder: a second run into the same folder exits 2 at once
   (``fcntl.flock`` locally, which the kernel releases if the process dies; a renewed 60 s blob lease
   on ``az://``). Taking the lock also finishes or cleans what an earlier killed run left
   (:func:`recover`): an interrupted publication is completed, stray staging folders and ``.*.tmp``
   files are removed.
2. :class:`Run` — everything the run writes goes to ``{out_dir}/.staging-{run_id}/`` first.
3. :meth:`Run.publish` — only when every stage of the run has finished (and passed its rules):
   a journal lists the moves, the files move into place, files of the replaced stages that the new
   run did not write are removed, and ``manifest.json`` is written last. A kill before the journal
   leaves the previous dataset exactly as it was; a kill after it is rolled forward by the next run.

``manifest.json`` carries the run id of the run that last published and, for every file, the run and
stage that wrote it, its SHA-256, rows, and — for a table — the run ids of the parent tables it was
generated from. :func:`lineage_problems` reads that back: a table changed after publication, a file
no run published, or a table whose parents were regenerated since is a mixed folder, which
validation refuses. (Parquet files carry no run id inside: same seed, same bytes.)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from pathlib import Path

import pandas as pd

from utils.core import schema, storage
from utils.core.errors import UserError

log = logging.getLogger("runs")

LOCK_NAME = ".lock"
STAGING_PREFIX = ".staging-"
JOURNAL_PREFIX = ".publish-"
STAGES = ("demographics", "consumer_preferences", "marketing", "transactions")
# Which stage writes which table (ground_truth.json is written by marketing).
STAGE_OF_TABLE = {name: table.stage for name, table in schema.TABLES.items()}


PART_FORMAT = "parquet"  # a partition task's files while the build runs (CSV is joined at the end)


def part_path(name: str, partition) -> str:
    """Where a partition's rows of a table (or of a ground-truth file such as ``effects``) are staged:
    ``engagements/part-00003.parquet``, ``ground_truth/effects/part-00003.parquet``."""
    folder = name if name in schema.TABLES else f"{schema.TRUTH_FOLDER}/{name}"
    return f"{folder}/{partition.file_stem}.{PART_FORMAT}"


def stage_file(staging: str, relative: str, data: bytes, record: dict) -> dict[str, dict]:
    """Write one file of a run into ``staging`` (from the run's process or a partition task on any
    worker that sees it); return its record by relative path, for :meth:`Run.add_records`."""
    storage.write_bytes(data, storage.join(staging, *relative.split("/")))
    return {relative: record | {"sha256": _digest(data)}}


def table_file_record(table: str, rows: int, *, state: str | None = None, parents=None) -> dict:
    """The manifest record of a table file (before its run id and digest)."""
    parents_runs = {key: sorted(value) for key, value in (parents or {}).items()}
    return {"stage": STAGE_OF_TABLE[table], "kind": "table", "table": table, "state": state, "rows": rows,
            "parents": parents_runs}  # fmt: skip


def stage_part(
    staging: str,
    name: str,
    partition,
    frame: pd.DataFrame,
    *,
    stage: str,
    parents: Mapping[str, list[str]] | None = None,
    truth: bool = False,
) -> dict[str, dict]:
    """Write one partition's rows of table (or truth file) ``name`` into ``staging``; return its
    record by relative path (without the run id, which :meth:`Run.add_records` adds). Runs where the
    partition task runs, on any worker that sees the staging folder."""
    data = storage.table_bytes(frame.reset_index(drop=True), PART_FORMAT)
    if truth:
        record = {"stage": stage, "kind": "truth", "truth": name, "rows": len(frame)}
    else:
        record = table_file_record(name, len(frame), parents=parents)
    return stage_file(staging, part_path(name, partition), data, record | {"part": partition.index})


def new_run_id() -> str:
    """A new run id: UTC time and 6 random hex digits, e.g. ``20261202T013000Z-3fa9c1``."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


# --- The lock -----------------------------------------------------------------------------------------


class OutputLock:
    """Exclusive write access to one output folder for the life of a ``with`` block (see module doc)."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = str(out_dir)
        self._stack = ExitStack()

    def __enter__(self) -> OutputLock:
        storage.ensure_dir(self.out_dir)
        _terminate_cleanly(self._stack)
        path = storage.join(self.out_dir, LOCK_NAME)
        if storage.is_remote(path):
            from utils.core import azure

            self._stack.enter_context(azure.lease(path))
        else:
            self._stack.callback(_flock(path))
        try:
            recover(self.out_dir)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()


def _terminate_cleanly(stack: ExitStack) -> None:
    """While the lock is held, SIGTERM unwinds like an exception (staging removed, exit 143)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def terminated(signum, frame) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    stack.callback(signal.signal, signal.SIGTERM, previous)


def _flock(path: str):
    """Take an exclusive non-blocking flock on ``path``; return the function that releases it."""
    import fcntl

    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        holder = Path(path).read_text().strip() or "another process"
        raise UserError(
            f"another build is writing to {Path(path).parent} ({holder}); wait for it to finish"
        ) from None
    os.ftruncate(handle, 0)
    os.write(handle, f"pid {os.getpid()} since {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC".encode())

    def release() -> None:
        os.ftruncate(handle, 0)
        os.close(handle)

    return release


# --- Recovery -----------------------------------------------------------------------------------------


def recover(out_dir: str) -> list[str]:
    """Finish an interrupted publication and remove what killed runs left; return what was done."""
    done = []
    names = storage.list_names(out_dir)
    for name in sorted(n for n in names if n.startswith(JOURNAL_PREFIX) and n.endswith(".json")):
        journal = json.loads(storage.read_bytes(storage.join(out_dir, name)))
        _apply(out_dir, journal)
        storage.remove(storage.join(out_dir, name))
        done.append(f"completed the interrupted publication of run {journal['run_id']}")
    for name in names:
        if name.startswith(STAGING_PREFIX):
            storage.remove_tree(storage.join(out_dir, name))
            done.append(f"removed {name}")
    folders = (out_dir, *(storage.join(out_dir, name) for name in (schema.SEED_FOLDER, schema.MODELS_FOLDER)))
    for folder in folders:
        for name in storage.list_names(folder):
            if name.startswith(".") and name.endswith(".tmp"):
                storage.remove(storage.join(folder, name))
                done.append(f"removed {name}")
    for line in done:
        log.info("%s: %s", out_dir, line)
    return done


def _apply(out_dir: str, journal: Mapping) -> None:
    """Carry out a publication journal (idempotent: a move whose source is gone was done)."""
    staging = storage.join(out_dir, journal["staging"])
    for relative in journal["moves"]:
        source = storage.join(staging, *relative.split("/"))
        if storage.exists(source):
            storage.move(source, storage.join(out_dir, *relative.split("/")))
    for relative in journal["removes"]:
        storage.remove(storage.join(out_dir, *relative.split("/")))
    manifest = json.dumps(journal["manifest"], indent=2) + "\n"
    storage.write_text(manifest, storage.join(out_dir, schema.MANIFEST))
    storage.remove_tree(staging)


# --- The manifest ---------------------------------------------------------------------------------------


def read_manifest(folder: str) -> dict | None:
    """The folder's ``manifest.json``, None if there is none; a UserError if it is not valid JSON."""
    path = storage.join(folder, schema.MANIFEST)
    if not storage.exists(path):
        return None
    try:
        manifest = json.loads(storage.read_bytes(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path} is not a valid manifest: {error}") from None
    if not isinstance(manifest, dict):
        raise UserError(f"{path} is not a valid manifest")
    return manifest


def table_runs(files: Mapping[str, Mapping], table: str) -> list[str]:
    """The sorted run ids of the files of ``table`` among the manifest's ``files`` records."""
    return sorted({record["run_id"] for record in files.values() if record.get("table") == table})


def lineage_problems(folder: str) -> list[str] | None:
    """What makes ``folder`` a mix of runs (empty if nothing); None when it has no manifest."""
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    files = manifest.get("files", {})
    problems = []
    present = set()
    for name in storage.list_names(folder):
        if schema.table_of_file(name):
            present.add(name)
        elif name in schema.PARTITIONED_TABLES:  # a Parquet table's folder of parts
            inside = storage.list_names(storage.join(folder, name))
            present |= {f"{name}/{part}" for part in inside if part.endswith(f".{PART_FORMAT}")}
    for name in sorted(present - set(files)):
        problems.append(f"{name} was not published by any run of the manifest")
    for name, record in sorted(files.items()):
        if record.get("table") is None:
            continue
        path = storage.join(folder, name)
        if name not in present:
            problems.append(f"{name} (run {record['run_id']}) is missing")
        elif storage.sha256(path) != record["sha256"]:
            problems.append(f"{name} changed after run {record['run_id']} published it")
        for parent, runs in record.get("parents", {}).items():
            now = table_runs(files, parent)
            if now != runs:
                problems.append(
                    f"{name} was generated from {parent} of run {', '.join(runs) or '-'}, "
                    f"but the folder holds {parent} of run {', '.join(now) or '-'}"
                )
    return problems


def check_lineage(folder: str) -> list[str] | None:
    """A UserError naming the first problems if ``folder`` mixes runs (:func:`lineage_problems`);
    else ``[]``, or None when the folder has no manifest to check against."""
    problems = lineage_problems(folder)
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise UserError(f"{folder} mixes the outputs of different runs: {shown}")
    return problems


# --- A run --------------------------------------------------------------------------------------------


class Run:
    """One run's staged outputs: write here, then :meth:`publish` them into ``out_dir`` together.

    Use inside an :class:`OutputLock` of the same folder. ``fmt`` is the table format.
    """

    def __init__(
        self, out_dir: str, *, fmt: str, run_id: str | None = None, data_dir: str | None = None
    ) -> None:
        self.out_dir = str(out_dir)
        # Where the parents come from (a stage script may read one folder and write another).
        self.data_dir = str(data_dir) if data_dir is not None else self.out_dir
        self.fmt = storage.table_format("x", fmt)
        self.run_id = run_id or new_run_id()
        self.staging_name = f"{STAGING_PREFIX}{self.run_id}"
        self.staging = storage.join(self.out_dir, self.staging_name)
        self.previous = read_manifest(self.out_dir) or {}
        self.records: dict[str, dict] = {}
        self.stages: set[str] = set()

    # Writing into the staging folder.
    def _stage_file(self, relative: str, data: bytes, record: dict) -> str:
        self.add_records(stage_file(self.staging, relative, data, record))
        return relative

    def write_table(
        self, table: str, frame: pd.DataFrame, *, parents: Mapping[str, list[str]] | None = None
    ) -> list[str]:
        """Stage a table (split into per-state files where the schema says so); return the file names."""
        return self._write_frames("", table, frame, parents or {})

    def write_seed(self, table: str, frame: pd.DataFrame) -> list[str]:
        """Stage the seed sample a stage fitted on (``seed/``, same names as the table)."""
        return self._write_frames(schema.SEED_FOLDER + "/", table, frame, None)

    def _write_frames(self, prefix: str, table: str, frame: pd.DataFrame, parents) -> list[str]:
        stage = STAGE_OF_TABLE[table]
        if schema.TABLES[table].per_state:
            parts = [(state, part) for state, part in frame.groupby("state", sort=False)]
        else:
            parts = [(None, frame)]
        written = []
        for state, part in parts:
            name = prefix + schema.file_name(table, self.fmt, state=state)
            record: dict = {"stage": stage, "kind": "seed"}
            if not prefix:
                record = table_file_record(table, len(part), state=state, parents=parents)
            part = part.reset_index(drop=True)
            written.append(self._stage_file(name, storage.table_bytes(part, self.fmt), record))
        return written

    def add_records(self, records: Mapping[str, dict]) -> None:
        """Adopt files a partition task staged (:func:`stage_part`)."""
        for relative, record in records.items():
            self.records[relative] = dict(record) | {"run_id": self.run_id}
            self.stages.add(record["stage"])

    def write_parts(self, name: str, parts, *, stage: str, parents=None, truth: bool = False) -> None:
        """Stage a partitioned table (or truth file) given as ``[(partition, frame), ...]``."""
        for partition, frame in parts:
            self.add_records(
                stage_part(self.staging, name, partition, frame, stage=stage, parents=parents, truth=truth)
            )

    def join_csv_parts(self) -> None:
        """For a CSV run: each partitioned table's (and truth file's) parts become one CSV file
        (``engagements.csv``, ``ground_truth/effects.csv``), read and appended part by part in
        partition order, so memory holds one part at a time; Parquet runs keep the part folders."""
        if self.fmt != "csv":
            return
        groups: dict[str, list[str]] = {}
        for relative, record in self.records.items():
            if "part" in record:
                groups.setdefault(relative.rsplit("/", 1)[0], []).append(relative)
        for folder, names in sorted(groups.items()):
            names.sort(key=lambda relative: self.records[relative]["part"])
            first = self.records[names[0]]
            target = f"{folder}.csv"
            digest, rows = self._append_csv(target, names)
            record = {key: value for key, value in first.items() if key not in ("part", "sha256", "rows")}
            for relative in names:
                storage.remove(storage.join(self.staging, *relative.split("/")))
                del self.records[relative]
            self.records[target] = record | {"rows": rows, "sha256": digest}

    def _append_csv(self, target: str, names: list[str]) -> tuple[str, int]:
        import hashlib

        digest, rows, chunks = hashlib.sha256(), 0, []
        path = storage.join(self.staging, *target.split("/"))
        local = not storage.is_remote(path)
        stream = None
        if local:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            stream = open(path, "wb")  # noqa: SIM115 - closed below; the staging folder is private
        try:
            for number, relative in enumerate(names):
                frame = storage.read_table(storage.join(self.staging, *relative.split("/")))
                data = storage.table_bytes(frame, "csv")
                if number:
                    data = data[data.index(b"\n") + 1 :]  # the header once
                rows += len(frame)
                digest.update(data)
                if stream is not None:
                    stream.write(data)
                else:
                    chunks.append(data)
        finally:
            if stream is not None:
                stream.close()
        if not local:
            storage.write_bytes(b"".join(chunks), path)
        return digest.hexdigest(), rows

    def write_bytes(self, relative: str, data: bytes, *, stage: str, kind: str) -> str:
        """Stage any other file of a stage (a model, ``ground_truth.json``)."""
        return self._stage_file(relative, data, {"stage": stage, "kind": kind})

    # What the folder holds now.
    def parent_runs(self, tables: Iterable[str]) -> dict[str, list[str]]:
        """Run ids of the given tables as published in the folder or staged by this run."""
        source = self.previous if self.data_dir == self.out_dir else (read_manifest(self.data_dir) or {})
        files = source.get("files", {}) | self.records
        return {table: table_runs(files, table) for table in tables}

    def publish(self, manifest: Mapping | None = None, *, prune: bool = True) -> dict:
        """Move every staged file into place together, then write the manifest; return it.

        Files of the stages this run wrote that the run did not rewrite (another format, a state no
        longer built, a stale model) are removed, so the folder holds one run's outputs per stage.
        ``manifest`` adds top-level entries (config, seed, stage timings...). ``prune=False`` keeps
        the earlier files of those stages (a resample that rewrites the tables only).
        """
        old_files = self.previous.get("files", {})
        replaced = {name for name, record in old_files.items() if record["stage"] in self.stages}
        removes = sorted(replaced - set(self.records)) if prune else []
        kept = {name: record for name, record in old_files.items() if name not in removes}
        new_manifest = {
            **{key: value for key, value in self.previous.items() if key not in ("files", "run_id")},
            **dict(manifest or {}),
            "run_id": self.run_id,
            "files": dict(sorted((kept | self.records).items())),
        }
        journal = {
            "run_id": self.run_id,
            "staging": self.staging_name,
            "moves": sorted(self.records),
            "removes": removes,
            "manifest": new_manifest,
        }
        journal_path = storage.join(self.out_dir, f"{JOURNAL_PREFIX}{self.run_id}.json")
        storage.write_text(json.dumps(journal) + "\n", journal_path)
        _apply(self.out_dir, journal)
        storage.remove(journal_path)
        return new_manifest

    def discard(self) -> None:
        """Remove the staging folder (a failed run): the published dataset stays as it was."""
        storage.remove_tree(self.staging)


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def update_manifest(folder: str, **entries) -> dict:
    """Add top-level entries to a published folder's manifest (hold the folder's lock); return it."""
    manifest = read_manifest(folder) or {}
    manifest.update(entries)
    storage.write_text(json.dumps(manifest, indent=2) + "\n", storage.join(folder, schema.MANIFEST))
    return manifest


def report_folder(base: str | os.PathLike, data_dir: str | os.PathLike) -> str:
    """The report folder of one dataset under ``base``: ``{data folder name}-{run id}``.

    Two builds never share one (the run id differs); a folder without a manifest uses its name alone.
    """
    text = str(data_dir).rstrip("/")
    name = text.rsplit("/", 1)[-1] or "data"
    if not storage.is_remote(text):
        name = Path(text).resolve().name or "data"
    manifest = read_manifest(text)
    run_id = (manifest or {}).get("run_id")
    return storage.join(base, f"{name}-{run_id}" if run_id else name)
