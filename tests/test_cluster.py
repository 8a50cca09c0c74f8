"""Partition tasks on Dask: a LocalCluster and an existing cluster give the single process's bytes."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import build_dataset
from utils.core import cluster
from utils.core.cli import run_main

ROOT = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).with_name("dask"))
TINY = {
    "states": ["NY", "WA", "TX"],
    "rows_per_state": 300,
    "seed_customers": 300,
    "demographic_seed_rows": 1_500,
    "seed": 11,
    "validate": False,
}


def _files(folder: Path) -> list[str]:
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and path.name != "manifest.json" and ".staging" not in str(path)
    )


def _same_bytes(left: Path, right: Path) -> None:
    names = _files(left)
    assert names == _files(right) and any(name.endswith(".pkl") for name in names)
    _, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
    assert mismatch == [] and errors == []


def _wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text().strip():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("single") / "data"
    build_dataset.build_dataset(out_dir=str(folder), **TINY)
    return folder


def test_a_local_cluster_gives_the_single_process_bytes(single, tmp_path):
    folder = tmp_path / "two"
    build_dataset.build_dataset(out_dir=str(folder), workers=2, **TINY)
    _same_bytes(single, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config"]["workers"] == 2
    tasks = manifest["stages"][0]["partitions"]
    assert [task["partition"] for task in tasks] == TINY["states"]  # every state, in order
    assert all(task["worker"].startswith("tcp://127.0.0.1:") and task["cpu_s"] > 0 for task in tasks)


def test_an_existing_scheduler_and_worker_give_the_same_bytes(single, tmp_path):
    address_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(address_file)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        _wait_for(address_file)
        address = json.loads(address_file.read_text())["address"]
        worker = subprocess.Popen(
            [DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        folder = tmp_path / "external"
        build_dataset.build_dataset(out_dir=str(folder), scheduler=address, **TINY)
        _same_bytes(single, folder)
        tasks = json.loads((folder / "manifest.json").read_text())["stages"][0]["partitions"]
        assert {task["worker"] for task in tasks} != {"local"}  # the tasks ran on the worker process
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


def _worker_view() -> dict:
    import dask
    from threadpoolctl import threadpool_info

    return {
        "sdv imported": "sdv.single_table" in sys.modules,
        "threads": {pool["num_threads"] for pool in threadpool_info()},
        "profiler": dask.config.get("distributed.worker.profile.enabled"),
    }


def _read_shared(item) -> tuple[int, int, dict]:
    value = cluster.shared(item)
    return os.getpid(), id(value), value


def test_local_workers_start_with_the_libraries_on_one_thread_and_tasks_see_their_items_as_submitted():
    with cluster.engine(workers=2, preload=("sdv.single_table",)) as client:
        views = client.run(_worker_view)  # before any task: what the fork server gave them
        expected = {"sdv imported": True, "threads": {1}, "profiler": False}
        assert len(views) == 2 and all(view == expected for view in views.values())
        value = {"table": list(range(1000)), "name": "fitted"}
        sent = cluster.share(value)
        reads = cluster.map_partitions(_read_shared, [sent] * 8, names=list("abcdefgh"), stage="share")
        assert all(read == value for _, _, read in reads)
        objects = {}
        for pid, object_id, _ in reads:  # read back once per worker process, not once per task
            objects.setdefault(pid, set()).add(object_id)
        assert pid != os.getpid() and all(len(ids) == 1 for ids in objects.values())
        numbers = [1, 2, 3]
        total = cluster.submit(sum, numbers, name="sum", stage="test")
        numbers.append(100)  # after the submit: the task never sees it
        assert total() == 6 and total() == 6
        records = [record for record in cluster.drain_stats() if record["stage"] == "test"]
        assert len(records) == 1 and records[0]["worker"].startswith("tcp://127.0.0.1:")
    numbers = [1, 2, 3]
    total = cluster.submit(sum, numbers, name="sum", stage="test")  # no engine: run here, now
    numbers.append(100)
    assert total() == 6 and cluster.drain_stats()[-1]["worker"] == "local"
    assert cluster.shared(cluster.share(numbers)) is numbers  # no engine: the value itself


def test_bad_engine_options_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    cases = {
        ("--workers", "0"): "--workers must be a positive integer",
        ("--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"): "not both",
        ("--scheduler", "localhost"): "--scheduler must be an address",
        ("--scheduler", "tcp://127.0.0.1:9"): "cannot reach the Dask scheduler",
    }
    for flags, message in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            run_main(build_dataset.main, [*flags, "--quiet", "--out-dir", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and "Traceback" not in err, flags
