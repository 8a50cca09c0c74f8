"""Runs never mix: lock, staging, atomic publication, lineage; and bad input is one line and exit 2.

The interrupted rebuild and the concurrent build run ``build_dataset.py`` as real processes, killed
with real signals. The rest use the session's shared small build (a private copy where they write).
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import build_dataset
import constants
import consumer
import marketing
import transaction
from utils.chain import stage
from utils.chain.config import ChainConfig
from utils.core import runs, schema
from utils.core.cli import run_main
from utils.core.errors import UserError
from validation.validate_data import validate

ROOT = constants.PROJECT_ROOT
SMALL_ARGS = ["--states", "WA", "--rows-per-state", "400", "--seed-customers", "400",
              "--demographic-seed-rows", "1500", "--no-validation"]  # fmt: skip


def _snapshot(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (the lock file aside)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != runs.LOCK_NAME
    }


def _leftovers(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".staging-")]


def _start_build(out: Path, seed: int) -> subprocess.Popen:
    command = [sys.executable, "build_dataset.py", *SMALL_ARGS, "--seed", str(seed), "--out-dir", str(out)]
    return subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)


def _wait_for(process: subprocess.Popen, line: str, timeout: float = 240) -> list[str]:
    """Read the process's stderr until a line containing ``line`` (the process still running)."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = process.stderr.readline()
        if not text and process.poll() is not None:
            break
        seen.append(text)
        if line in text:
            return seen
    raise AssertionError(f"{line!r} never appeared: {''.join(seen)[-2000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_an_interrupted_rebuild_leaves_the_previous_dataset(copy_build, signum):
    before = _snapshot(copy_build)
    manifest = json.loads((copy_build / "manifest.json").read_text())
    process = _start_build(copy_build, seed=99)
    _wait_for(process, "stage marketing")  # demographics and preferences of seed 99 are made ...
    process.send_signal(signum)  # ... and the build dies before it could publish them
    process.communicate(timeout=60)
    assert process.returncode in (128 + signal.SIGTERM, -signal.SIGKILL)
    if signum == signal.SIGKILL:  # nothing ran on the way out: the next writer cleans up
        assert any(".staging-" in name for name in _leftovers(copy_build))
        with runs.OutputLock(str(copy_build)):
            pass
    assert _leftovers(copy_build) == []
    assert _snapshot(copy_build) == before  # byte for byte, models included
    assert json.loads((copy_build / "manifest.json").read_text())["seed"] == manifest["seed"] == 7
    assert runs.lineage_problems(str(copy_build)) == []
    report = validate(str(copy_build), report_dir=None, html=False, sdmetrics=False)
    assert report["summary"]["status"] == "pass"


def test_a_second_build_into_the_same_folder_exits_2(tmp_path):
    out = tmp_path / "busy"
    with runs.OutputLock(str(out)):
        done = subprocess.run(
            [sys.executable, "build_dataset.py", *SMALL_ARGS, "--out-dir", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "another build is writing to" in done.stderr and "Traceback" not in done.stderr
    assert list(out.glob("*.csv")) == []


def test_an_interrupted_publication_is_completed_by_the_next_writer(copy_build):
    staged = runs.Run(str(copy_build), fmt="csv")
    preferences = pd.read_csv(copy_build / "consumer_preferences.csv")
    staged.write_table(schema.PREFERENCES, preferences.assign(brand_loyalty=0.5), parents={})
    journal = {"run_id": staged.run_id, "staging": staged.staging_name, "moves": sorted(staged.records),
               "removes": [], "manifest": {"run_id": staged.run_id, "files": staged.records}}  # fmt: skip
    (copy_build / f"{runs.JOURNAL_PREFIX}{staged.run_id}.json").write_text(json.dumps(journal))
    with runs.OutputLock(str(copy_build)):  # killed after the journal: the next writer rolls forward
        pass
    assert (pd.read_csv(copy_build / "consumer_preferences.csv")["brand_loyalty"] == 0.5).all()
    assert json.loads((copy_build / "manifest.json").read_text())["run_id"] == staged.run_id
    assert _leftovers(copy_build) == [] and not list(copy_build.glob(f"{runs.JOURNAL_PREFIX}*"))


def test_lineage_names_a_table_from_another_run(copy_build):
    assert runs.lineage_problems(str(copy_build)) == []
    config = ChainConfig(states=["NY", "WA"], seed=8, seed_customers=500)
    # A stage script rewrites the preferences: the campaigns and events were built on the old ones.
    stage.run_stage(consumer.generate, parents=[schema.DEMOGRAPHICS], data_dir=str(copy_build),
                    out_dir=str(copy_build), fmt="csv", config=config)  # fmt: skip
    problems = runs.lineage_problems(str(copy_build))
    assert any(p.startswith("transactions.csv was generated from consumer_preferences") for p in problems)
    with pytest.raises(UserError, match="mixes the outputs of different runs"):
        runs.check_lineage(str(copy_build))
    (copy_build / "engagements.csv").write_text("engagement_id\n")  # a file changed by hand
    assert any("engagements.csv changed after run" in p for p in runs.lineage_problems(str(copy_build)))


def test_a_stage_that_breaks_its_rules_stages_nothing(copy_build):
    before = _snapshot(copy_build)
    parents = stage.load_parents(str(copy_build), [schema.DEMOGRAPHICS])
    preferences = pd.read_csv(copy_build / "consumer_preferences.csv").assign(price_sensitivity=2.0)
    result = stage.StageResult(schema.PREFERENCES, {schema.PREFERENCES: preferences}, models={"x": object()})
    run = runs.Run(str(copy_build), fmt="csv")
    with pytest.raises(RuntimeError, match="price_sensitivity"):
        stage.write_result(run, result, parents)
    assert run.records == {}  # no table, seed or model was staged before the rules passed
    run.discard()
    assert _snapshot(copy_build) == before


def _exit(main, argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        run_main(main, argv)
    return info.value.code, capsys.readouterr().err


def _parent_folder(copy_build: Path, table: str, change) -> str:
    path = copy_build / f"{table}.csv" if table != "demographics" else copy_build / "NY_demographics.csv"
    change(pd.read_csv(path)).to_csv(path, index=False)
    return str(copy_build)


@pytest.mark.parametrize(
    ("main", "table", "change", "message"),
    [
        (consumer.main, "demographics", lambda f: f.drop(columns=["age"]), "rows without age"),
        (consumer.main, "demographics", lambda f: pd.concat([f, f.head(3)]), "repeats customer_id"),
        (marketing.main, "consumer_preferences", lambda f: f.drop(columns=["brand_loyalty"]), "loyalty"),
        (transaction.main, "engagements", lambda f: pd.concat([f, f.head(1)]), "repeats engagement_id"),
    ],
)  # fmt: skip
def test_a_stage_on_a_broken_parent_is_one_line(copy_build, capsys, main, table, change, message):
    folder = _parent_folder(copy_build, table, change)
    code, err = _exit(main, ["--data-dir", folder, "--quiet"], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "cannot be read as a table"),
        ("a,b\n1,2\n", "missing customer_id"),
        ("customer_id,age\n,\n,\n", "have no values"),
    ],
)
def test_bad_seed_data_is_one_line(copy_build, tmp_path, capsys, content, message):
    own = tmp_path / "mine.csv"
    own.write_text(content)
    code, err = _exit(consumer.main, ["--data-dir", str(copy_build), "--seed-data", str(own)], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "-1"], "--seed"),
        (["--epochs", "0", "--synthesizer", "ctgan"], "epochs"),
        (["--rows-per-state", "0"], "rows per state must be a positive integer"),
        (["--states", "NY", "--rows-per-state", "2000000000"], "GiB of memory"),
        (["--format", "xlsx"], "invalid choice"),
    ],
)
def test_bad_build_options_fail_before_any_work(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    code, err = _exit(build_dataset.main, [*argv, "--out-dir", str(out), "--quiet"], capsys)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not list(out.glob("*.csv"))


def test_an_unwritable_report_folder_fails_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    argv = ["--out-dir", str(tmp_path / "out"), "--report-dir", str(blocker / "reports"), "--quiet"]
    started = time.monotonic()
    code, err = _exit(build_dataset.main, argv, capsys)
    assert code == 2 and "not writable" in err
    assert time.monotonic() - started < 30 and not (tmp_path / "out" / "NY_demographics.csv").exists()


def test_a_stage_script_publishes_one_run_and_keeps_lineage(copy_build):
    before = json.loads((copy_build / "manifest.json").read_text())
    transaction.main(["--data-dir", str(copy_build), "--seed", "7", "--quiet"])  # the build's seed (conftest)
    after = json.loads((copy_build / "manifest.json").read_text())
    record = after["files"]["transactions.csv"]
    assert record["run_id"] == after["run_id"] != before["run_id"]
    assert record["parents"]["engagements"] == [before["files"]["engagements.csv"]["run_id"]]
    assert after["files"]["models/transactions.pkl"]["run_id"] == after["run_id"]
    assert after["files"]["engagements.csv"] == before["files"]["engagements.csv"]
    assert runs.lineage_problems(str(copy_build)) == []
