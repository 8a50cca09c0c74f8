"""build_dataset.py writing to Azure Blob, end to end against the real Azurite emulator.

The session's small build is made again into an ``az://`` prefix: staged, published blob by blob and
validated there; every table, seed and model is byte-identical to the local build of the same seed,
the manifest's lineage holds, nothing of the staging is left, and a second build into the prefix
while the first holds its lease exits with one line. The account key is in no output or file.
"""

from __future__ import annotations

import pytest

import build_dataset
from tests.conftest import SMALL_BUILD
from utils.core import azure, runs, storage
from utils.core.cli import run_main

pytest_plugins = ["tests.azurite"]
pytestmark = [pytest.mark.azure, pytest.mark.slow]


def test_a_build_into_az_is_the_local_build(azure_env, azurite, small_build, capsys, tmp_path):
    reports = tmp_path / "reports"
    build_dataset.build_dataset(out_dir=azure_env, report_dir=str(reports), **SMALL_BUILD)
    manifest = runs.read_manifest(azure_env)
    assert manifest["validation"]["status"] == "pass", manifest["validation"]["not_passed"]
    assert runs.lineage_problems(azure_env) == []
    remote = storage.list_files(azure_env)
    assert not [name for name in remote if ".staging-" in name or name.endswith(".tmp")]
    local = [name for name in storage.list_files(small_build) if not name.startswith(".")]
    assert sorted(name for name in remote if not name.startswith(".")) == sorted(local)
    for name in local:
        if name != "manifest.json":
            remote_bytes = storage.read_bytes(storage.join(azure_env, *name.split("/")))
            assert remote_bytes == (small_build / name).read_bytes(), name
    written = "".join(path.read_text(errors="ignore") for path in reports.rglob("*") if path.is_file())
    assert azurite.key not in written + capsys.readouterr().err
    assert azurite.key not in storage.read_bytes(storage.join(azure_env, "manifest.json")).decode()


def test_a_second_build_into_a_leased_prefix_is_one_line(azure_env, azurite, capsys):
    with azure.lease(storage.join(azure_env, runs.LOCK_NAME)), pytest.raises(SystemExit) as info:
        run_main(build_dataset.main, ["--states", "WA", "--out-dir", azure_env, "--quiet"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "another build is writing to" in err
    assert len(err.strip().splitlines()) == 1
    assert not [name for name in storage.list_files(azure_env) if name.endswith(".csv")]
    with azure.lease(storage.join(azure_env, runs.LOCK_NAME)):  # released: it can be taken again
        pass
