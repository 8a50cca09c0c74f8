"""The readers on Azure Blob, end to end against the real Azurite emulator.

The session's shared small build is uploaded blob by blob (``storage.write_bytes``) to a fresh
``az://`` prefix; then ``validate_data.py``, ``eda.py`` and ``fairness.py --outcome converted`` run on
it as real processes, writing their reports to ``az://`` too. All exit 0, and the account key appears
in no output and no report.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import constants
from utils.core import storage
from utils.core.cli import run_main

pytest_plugins = ["tests.azurite"]
pytestmark = pytest.mark.azure

ROOT = constants.PROJECT_ROOT
WRONG_KEY = "A" * 86 + "=="


def _upload(folder: Path, prefix: str) -> list[str]:
    """Every file of ``folder`` (hidden ones aside) to ``prefix``, same relative paths; return them."""
    names = [name for name in storage.list_files(folder) if not name.rsplit("/", 1)[-1].startswith(".")]
    for name in names:
        storage.write_bytes((folder / name).read_bytes(), storage.join(prefix, *name.split("/")))
    return names


def _run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, script, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_validate_eda_and_fairness_read_and_write_az(azure_env, azurite, small_build):
    data = f"{azure_env}/data"
    reports = f"{azure_env}/reports"
    uploaded = _upload(small_build, data)
    assert "manifest.json" in uploaded and "seed/NY_demographics.csv" in uploaded
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # azure_env has pointed the Azure variables at Azurite
    runs = {
        "validate": _run(
            "validation/validate_data.py", "--data-dir", data, "--report-dir", f"{reports}/validation",
            "--no-sdmetrics", env=env,
        ),
        "eda": _run(
            "eda.py", "--data-dir", data, "--report-dir", f"{reports}/eda",
            "--datasets", "marketing_campaigns", "--minimal", env=env,  # demographics: read by the others
        ),
        "fairness": _run(
            "fairness.py", "--data-dir", data, "--report-dir", f"{reports}/fairness",
            "--outcome", "converted", env=env,
        ),
    }  # fmt: skip
    for name, result in runs.items():
        assert result.returncode == 0, (name, result.stderr[-3000:])
        assert azurite.key not in result.stdout + result.stderr, name
        assert "Traceback" not in result.stderr, name
    assert runs["validate"].stdout.splitlines()[-2:] == [
        f"json report: {reports}/validation/validation_report.json",
        f"html report: {reports}/validation/validation_report.html",
    ]
    assert runs["eda"].stdout.splitlines()[-1] == f"index: {reports}/eda/index.html"
    assert runs["fairness"].stdout.splitlines()[-1] == f"report: {reports}/fairness/fairness_converted.json"
    written = storage.list_files(reports)
    assert {
        "validation/validation_report.json",
        "validation/validation_report.html",
        "eda/index.html",
        "eda/marketing_campaigns.html",
        "eda/marketing_campaigns_seed_vs_synthetic.html",
        "fairness/fairness_converted.json",
        "fairness/fairness_converted_rates.png",
    } <= set(written)
    for name in written:
        assert azurite.key.encode() not in storage.read_bytes(f"{reports}/{name}"), name
    assert storage.list_files(data) == sorted(uploaded)  # the readers wrote nothing into the data folder


@pytest.mark.parametrize("script", ["validation.validate_data", "eda", "fairness"])
def test_bad_azure_input_is_one_line_exit_2(azure_env, azurite, monkeypatch, capsys, script):
    main = importlib.import_module(script).main
    code, err = _in_process(capsys, main, "--data-dir", f"{azure_env}/absent", "--quiet")
    assert code == 2 and "does not exist" in err and err.count("\n") == 1
    storage.write_bytes(b"a\n1\n", f"{azure_env}/data/NY_demographics.csv")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", WRONG_KEY)
    code, err = _in_process(capsys, main, "--data-dir", f"{azure_env}/data", "--quiet")
    assert code == 2 and "rejected the credentials" in err, err
    assert err.count("\n") == 1 and WRONG_KEY not in err and azurite.key not in err


def _in_process(capsys, main, *argv: str) -> tuple[int, str]:
    """``main`` through ``run_main`` in this process: (exit code, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        run_main(main, list(argv))
    return exit_info.value.code, capsys.readouterr().err
