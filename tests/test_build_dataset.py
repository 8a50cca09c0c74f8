"""build_dataset.py's command line: a small build passes its own validation, the verdict lands in the
manifest, the exit code and the closing summary, and the report goes to its own folder."""

from __future__ import annotations

import json

import pandas as pd

import build_dataset
from utils.core import runs

SMALL = ["--states", "WA", "--rows-per-state", "1000", "--seed-customers", "1000", "--demographic-seed-rows"]


def run(out_dir, *extra: str) -> tuple[int, dict]:
    argv = [*SMALL, "2000", "--seed", "3", "--out-dir", str(out_dir), "--quiet"]
    code = build_dataset.main([*argv, *extra])
    return code, json.loads((out_dir / "manifest.json").read_text())


def test_a_small_build_passes_and_says_where_its_report_is(tmp_path, capsys):
    reports = tmp_path / "reports"
    code, manifest = run(tmp_path / "a", "--report-dir", str(reports))
    err = capsys.readouterr().err
    verdict = manifest["validation"]
    assert code == 0 and verdict["status"] == "pass" and verdict["fail"] == 0, verdict["not_passed"]
    assert [s["stage"] for s in manifest["stages"]][-1] == "validation"
    report = json.loads((reports / "validation_report.json").read_text())
    assert report["summary"]["status"] == "pass"
    assert "validation: PASS" in err and str(reports / "validation_report.json") in err
    assert f"run {manifest['run_id']}" in err and "transactions" in err


def test_each_dataset_gets_its_own_report_folder(tmp_path):
    base = tmp_path / "reports"
    first, second, plain = tmp_path / "x" / "data", tmp_path / "y" / "data", tmp_path / "z" / "data"
    for folder, run_id in ((first, "20261202T000000Z-aaaaaa"), (second, "20261202T000000Z-bbbbbb")):
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"run_id": run_id}))
    plain.mkdir(parents=True)
    names = [runs.report_folder(base, folder) for folder in (first, second, plain)]
    assert names == [str(base / "data-20261202T000000Z-aaaaaa"), str(base / "data-20261202T000000Z-bbbbbb"),
                     str(base / "data")]  # fmt: skip


def test_no_validation_and_demographic_seed_rows_forwarded(tmp_path):
    code, manifest = run(tmp_path / "b", "--no-validation")
    assert code == 0 and manifest["validation"] is None
    assert manifest["config"]["demographic_seed_rows"] == 2000
    assert len(pd.read_csv(tmp_path / "b" / "seed" / "WA_demographics.csv")) == 2000
