"""build_dataset.py's command line: the validation verdict lands in the manifest and in the exit code."""

from __future__ import annotations

import json

import pandas as pd

import build_dataset

SMALL = ["--states", "WA", "--rows-per-state", "400", "--seed-customers", "400", "--demographic-seed-rows"]


def run(out_dir, *extra: str) -> tuple[int, dict]:
    reports = out_dir / "reports"
    argv = [*SMALL, "2000", "--seed", "3", "--out-dir", str(out_dir), "--report-dir", str(reports), "--quiet"]
    code = build_dataset.main([*argv, *extra])
    return code, json.loads((out_dir / "manifest.json").read_text())


def test_exit_code_follows_the_validation_verdict(tmp_path):
    code, manifest = run(tmp_path / "a")
    verdict = manifest["validation"]
    assert verdict["status"] in ("pass", "fail")
    assert code == (0 if verdict["status"] == "pass" else 1)
    failed = {check["name"] for check in verdict["not_passed"] if check["status"] == "fail"}
    assert (verdict["fail"] == 0) == (not failed)
    assert [s["stage"] for s in manifest["stages"]][-1] == "validation"
    report = json.loads((tmp_path / "a" / "reports" / "validation_report.json").read_text())
    assert report["summary"]["status"] == verdict["status"]


def test_no_validation_and_demographic_seed_rows_forwarded(tmp_path):
    code, manifest = run(tmp_path / "b", "--no-validation")
    assert code == 0 and manifest["validation"] is None
    assert manifest["config"]["demographic_seed_rows"] == 2000
    assert len(pd.read_csv(tmp_path / "b" / "seed" / "WA_demographics.csv")) == 2000
