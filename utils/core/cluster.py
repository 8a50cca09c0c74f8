"""Where a stage's partition tasks run: in this process, on a local Dask cluster, or on an existing one.

A stage cuts its work into partitions whose draws depend only on ``(seed, stage, partition)``
(:mod:`utils.core.seeding`) and maps a task over them with :func:`map_partitions`. Which engine runs
the tasks is chosen once, around the whole build, with :func:`engine`:

    with cluster.engine(workers=2):                       # a dask.distributed LocalCluster
        results = cluster.map_partitions(build_state, items, names=states, stage="demographics")
    with cluster.engine(scheduler="tcp://10.0.0.5:8786"):  # an existing cluster (dask scheduler/worker)
        ...

Results come back in the order of ``items``, whatever the order of completion, so the output is
byte-identical for any number of workers. Each task is measured where it runs (wall time, CPU time,
peak resident memory, worker); :func:`drain_stats` hands the records to the manifest. Without an
engine (or with one worker and no scheduler) tasks run here, one after the other, with no Dask.
:func:`submit` runs one task beside what follows (a result nobody waits for until the end).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.core import memory
from utils.core.errors import UserError

log = logging.getLogger("cluster")

ROOT = str(Path(__file__).resolve().parents[2])  # the repository: workers import its modules
CONNECT_TIMEOUT_S = 15
_client: ContextVar[Any] = ContextVar("dask_client", default=None)
_stats: list[dict] = []


def _measured(func: Callable, item: Any, name: str) -> tuple[Any, dict]:
    """Run ``func(item)`` and measure it in the process that runs it."""
    if ROOT not in sys.path:  # a worker started elsewhere imports the chain's modules from here
        sys.path.insert(0, ROOT)
    memory.reset_peak()
    started, wall, cpu = time.time(), time.perf_counter(), time.process_time()
    result = func(item)
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = "local"
    return result, {
        "partition": name,
        "worker": worker,
        "started": round(started, 2),  # seconds since the epoch: the build's timeline of its tasks
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "peak_rss_mib": round(memory.peak_mib(), 1),
    }


def _measured_pickled(func: Callable, item: bytes, name: str) -> tuple[Any, dict]:
    return _measured(func, pickle.loads(item), name)


def _worker_env() -> dict[str, str]:
    """A local worker's environment: the repository importable, one thread per numeric library
    (each worker is one process with one task thread; BLAS pools in every worker oversubscribe the
    cores), and glibc's default trimming of freed memory."""
    threads = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))} | threads


def _add_path(root: str) -> None:
    if root not in sys.path:
        sys.path.insert(0, root)


def check_options(workers: int, scheduler: str | None) -> None:
    """A UserError for a bad ``--workers`` / ``--scheduler`` before any work."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserError(f"--workers must be a positive integer, got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise UserError(f"--scheduler must be an address such as tcp://127.0.0.1:8786, got {scheduler!r}")
    if scheduler is not None and workers != 1:
        raise UserError("give --workers or --scheduler, not both (an existing cluster has its own workers)")


def _start_fork_server(preload: Sequence[str]) -> None:
    """Start multiprocessing's fork server (once per process): a fresh single-threaded interpreter
    that imports ``preload`` with one thread per numeric library; each local worker is then forked
    from it, importing nothing again. Returns at once: the imports run while this process goes on."""
    import multiprocessing
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload([*preload, "distributed.nanny"])
    environment = _worker_env()  # the server's environment is what its workers start with
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Dask's settings for local workers. The statistical profiler samples the task thread's stack
# every 10 ms; nothing reads its profiles, and it competes with the task for the interpreter.
_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


@contextlib.contextmanager
def engine(workers: int = 1, scheduler: str | None = None, preload: Sequence[str] = ()) -> Iterator[Any]:
    """Run the partition tasks of the block on ``workers`` local processes (a LocalCluster, one thread
    each) or on the cluster at ``scheduler``; one worker and no scheduler: in this process.

    Local workers are forked from a fork server that has imported the modules named in ``preload``
    (the stages and the libraries their tasks import on first use), so no worker imports them again;
    this process imports them meanwhile."""
    check_options(workers, scheduler)
    if workers == 1 and scheduler is None:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = stack.enter_context(Client(scheduler, timeout=CONNECT_TIMEOUT_S))
            except (OSError, TimeoutError) as error:
                raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
            log.info("Dask cluster at %s: %d workers", scheduler, len(client.scheduler_info()["workers"]))
        else:
            # A spawned worker starts a fresh interpreter and imports the stages and their libraries
            # itself (here 1.5 s to start and 2.3 s more on its first task, each worker); forked from
            # a fork server they are imported once. Not forked from this process: it has threads
            # (Dask's event loop, logging through tqdm's lock) whose held locks a fork would copy.
            _start_fork_server(preload)
            for module in preload:
                importlib.import_module(module)
            # A forked worker has the fork server's environment (_worker_env). Dask's nanny would also
            # put MALLOC_TRIM_THRESHOLD_=65536 in this process's environment while it starts each
            # worker: that setting returned every freed NumPy temporary to the system and made a
            # state's fit take 2.4x the CPU time on a spawned worker (8.1 s against 3.4 s); ours
            # leaves it out.
            settings = _WORKER_CONFIG | {"distributed.worker.multiprocessing-method": "forkserver"}
            settings["distributed.nanny.pre-spawn-environ"] = _worker_env()
            stack.enter_context(dask.config.set(settings))
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                    env=_worker_env(),
                )
            )
            client = stack.enter_context(Client(cluster))
            log.info("Dask LocalCluster: %d worker processes", workers)
        client.run(_add_path, ROOT)
        token = _client.set(client)
        try:
            yield client
        finally:
            _client.reset(token)


@dataclass(frozen=True)
class _Shared:
    """A value :func:`share` sent to the workers: pickled once here (Dask's own serializers took
    1.3 s to broadcast a 2.5 MB fitted model that pickles in 0.1 s) and named by its digest."""

    digest: str
    pickled: bytes


_SHARED_KEPT = 4  # shared values a worker keeps read back (a stage's survey and make tasks use two)
_read_back: dict[str, Any] = {}


def share(value: Any) -> Any:
    """``value`` sent once to every worker (a Dask future to put in the task items, which read it with
    :func:`shared`), or ``value`` itself when the tasks run in this process."""
    client = _client.get()
    if client is None:
        return value
    import cloudpickle

    pickled = cloudpickle.dumps(value)
    sent = _Shared(hashlib.sha256(pickled).hexdigest(), pickled)
    return client.scatter([sent], broadcast=True, hash=False)[0]  # one future, whatever its type


def shared(value: Any) -> Any:
    """In a task: the value given to :func:`share` (read back once per worker process)."""
    if not isinstance(value, _Shared):
        return value
    if value.digest not in _read_back:
        while len(_read_back) >= _SHARED_KEPT:
            _read_back.pop(next(iter(_read_back)))
        _read_back[value.digest] = pickle.loads(value.pickled)
    return _read_back[value.digest]


def map_partitions(func: Callable, items: Sequence[Any], *, names: Sequence[str], stage: str) -> list[Any]:
    """``[func(item) for item in items]`` on the current engine, in the order of ``items``; progress
    per partition on the log; each task's measurements kept for :func:`drain_stats`."""
    client = _client.get()
    total = len(items)
    outcomes: list[Any] = [None] * total
    if client is None:
        for index, (item, name) in enumerate(zip(items, names, strict=True)):
            outcomes[index] = _measured(func, item, str(name))
            log.info(
                "%s: partition %s done (%d/%d, %.1f s)",
                stage,
                name,
                index + 1,
                total,
                outcomes[index][1]["wall_s"],
            )
    else:
        from distributed import as_completed

        futures = client.map(
            _measured, [func] * total, list(items), [str(name) for name in names], pure=False
        )
        position = {future.key: index for index, future in enumerate(futures)}
        for done, future in enumerate(as_completed(futures), start=1):
            index = position[future.key]
            outcomes[index] = future.result()
            stats = outcomes[index][1]
            log.info(
                "%s: partition %s done on %s (%d/%d, %.1f s)",
                stage,
                names[index],
                stats["worker"],
                done,
                total,
                stats["wall_s"],
            )
    _stats.extend({"stage": stage, **stats} for _, stats in outcomes)
    return [result for result, _ in outcomes]


def submit(func: Callable, item: Any, *, name: str, stage: str) -> Callable[[], Any]:
    """``func(item)`` as one task beside what runs next; returns the function that waits for its
    result. On a Dask engine it runs on a worker; without one, here and now. Either way ``item`` is
    pickled now and read back by the task, so the task sees the same objects wherever it runs (an
    unpickled frame's dtypes are not NumPy's shared ones, and a model fitted on it records that)
    and nothing the caller changes next can reach it."""
    import cloudpickle

    client = _client.get()
    pickled = cloudpickle.dumps(item)
    if client is None:
        done = _measured_pickled(func, pickled, name)
        _stats.append({"stage": stage, **done[1]})
        return lambda: done[0]
    future = client.submit(_measured_pickled, func, pickled, name, pure=False)
    recorded = []

    def wait() -> Any:
        result, stats = future.result()
        if not recorded:  # measured once, however often waited for
            _stats.append({"stage": stage, **stats})
            recorded.append(True)
        return result

    return wait


def drain_stats() -> list[dict]:
    """The measurements of the tasks run since the last call (for the manifest), oldest first."""
    out = list(_stats)
    _stats.clear()
    return out
