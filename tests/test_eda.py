"""eda.py: ydata-profiling reports, seed comparisons, sampling/minimal plans, index, offline, browser,
and a large build read as a seeded sample of customers.

Profiles the session's shared small builds (``small_build`` and ``small_parquet_build`` in
``conftest.py``); reports go to ``tmp_path`` folders, never into the project.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import constants
import eda
from utils.core import browser, datasets, schema

DATASETS = ["demographics", "engagements"]


@pytest.fixture(scope="module")
def data_dir(small_build) -> Path:
    """The shared build: tables plus the seed samples under seed/ (read only)."""
    return small_build


@pytest.fixture(scope="module")
def demographic_rows(data_dir) -> int:
    """Customers of the shared build."""
    return sum(
        len(pd.read_csv(path, usecols=["customer_id"])) for path in data_dir.glob("*_demographics.csv")
    )


@pytest.fixture(scope="module")
def thresholds(data_dir) -> dict[str, int]:
    """Thresholds that make engagements a "large" table here and leave demographics small."""
    rows = len(pd.read_csv(data_dir / "engagements.csv", usecols=["engagement_id"]))
    assert rows > 2_000, rows
    return {"EDA_SAMPLE_ABOVE_ROWS": rows - 1, "EDA_SAMPLE_ROWS": 1_000, "EDA_MINIMAL_ABOVE_ROWS": rows - 1}


@pytest.fixture(scope="module")
def eda_run(data_dir, thresholds, tmp_path_factory):
    """eda_reports on the small build, thresholds lowered so engagements count as a large table."""
    connections: list = []

    def refuse(*args):  # records both name lookups and connects, then fails like an offline machine
        connections.append(args[-1] if len(args) == 2 else args[0])
        raise OSError("network disabled in tests")

    report_dir = tmp_path_factory.mktemp("eda_reports")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in thresholds.items():
            patch.setattr(constants, name, value)
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        summary = eda.eda_reports(data_dir, DATASETS, report_dir=report_dir, quiet=True)
    return summary, report_dir, connections


def test_reports_for_every_dataset_and_seed_comparison(eda_run):
    summary, report_dir, _ = eda_run
    assert list(zip(summary["dataset"], summary["report"], strict=True)) == [
        ("demographics", "profile"),
        ("demographics", "seed vs synthetic"),
        ("engagements", "profile"),
        ("engagements", "seed vs synthetic"),
    ]
    for path in summary["path"]:
        text = Path(path).read_text()
        assert len(text) > 50_000 and text.lower().startswith("<!doctype html>")
    demographics_html = (report_dir / "demographics.html").read_text()
    for section in ("Overview", "Variables", "Correlations", "Missing values", "household_income"):
        assert section in demographics_html
    comparison = (report_dir / "demographics_seed_vs_synthetic.html").read_text()
    assert "seed vs synthetic" in comparison and ">seed<" in comparison and ">synthetic<" in comparison


def test_large_table_is_sampled_in_minimal_mode_and_says_so(eda_run, demographic_rows):
    summary, report_dir, _ = eda_run
    rows = summary.set_index(["dataset", "report"])
    small, large = rows.loc[("demographics", "profile")], rows.loc[("engagements", "profile")]
    assert not small["minimal"] and small["profiled_rows"] == small["rows"] == demographic_rows
    assert large["minimal"] and large["rows"] > 2_000 and large["profiled_rows"] == 1_000
    title = re.search(r"<title>(.*?)</title>", (report_dir / "engagements.html").read_text()).group(1)
    assert "minimal profile" in title and f"sample of 1,000 of {large['rows']:,} rows" in title
    title = re.search(r"<title>(.*?)</title>", (report_dir / "demographics.html").read_text()).group(1)
    assert f"full profile, all {demographic_rows:,} rows" in title
    assert "sampled customers" not in title  # a small build: every customer
    assert summary.attrs["sampled"] is None and "rows_read" not in summary
    assert "Customers sampled" not in (report_dir / "index.html").read_text()


def test_a_large_build_is_profiled_on_a_seeded_sample_of_customers(
    small_parquet_build, tmp_path, monkeypatch, capsys
):
    """Above READ_MAX_CUSTOMERS every table is read for a seeded sample of customers with all of their
    rows, a folder of parts part by part (never whole); titles, index and console say so."""
    folder = small_parquet_build
    monkeypatch.setattr(constants, "READ_MAX_CUSTOMERS", 400)  # of 1,200 customers
    loaded, whole_reads = {}, []
    real_load, real_read = datasets.load_sampled, datasets.read_file

    def load_sampled(data_dir, name, sample, *args, **options):
        loaded[name] = real_load(data_dir, name, sample, *args, **options)
        return loaded[name]

    def read_file(path, columns=None):
        whole_reads.append(str(path))
        return real_read(path, columns)

    monkeypatch.setattr(datasets, "load_sampled", load_sampled)
    monkeypatch.setattr(datasets, "read_file", read_file)
    names = ["demographics", "engagements", "marketing_campaigns"]
    report_dir = tmp_path / "r"
    args = ["--data-dir", str(folder), "--datasets", ",".join(names), "--report-dir", str(report_dir)]
    assert eda.main([*args, "--minimal", "--seed", "3", "--quiet"]) == 0
    sample = datasets.sample_customers(folder, max_customers=400, seed=3)
    assert 250 < sample.customers < 550 and sample.of == 1_200
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"sampled: {sample.customers:,} of 1,200 customers (seed 3), with all their rows"
    assert str(folder / "engagements") not in whole_reads
    for name in names:
        frame, read = loaded[name]
        full = datasets.load_dataset(folder, name)
        assert read == len(full)
        if name == schema.CAMPAIGNS:
            assert len(frame) == len(full)  # no customers: read whole
            continue
        mine = full[full["customer_id"].astype(str).isin(sample.ids)]
        assert len(frame) == len(mine) and set(frame["customer_id"]) == set(mine["customer_id"])
    assert set(loaded["demographics"][0]["customer_id"]) == sample.ids  # the sample of seed 3
    rows = len(loaded["engagements"][0])
    title = re.search(r"<title>(.*?)</title>", (report_dir / "engagements.html").read_text()).group(1)
    assert f"all {rows:,} rows of {sample.customers:,} sampled customers of 1,200" in title
    assert f"({loaded['engagements'][1]:,} rows in all), seed 3" in title
    index = (report_dir / "index.html").read_text()
    assert f"Customers sampled: {sample.customers:,} of 1,200 (seed 3), with all their rows" in index


def test_index_links_every_report(eda_run):
    summary, report_dir, _ = eda_run
    index = (report_dir / "index.html").read_text()
    links = re.findall(r"href='([^']+)'", index)
    assert sorted(links) == sorted(Path(p).name for p in summary["path"])
    assert all((report_dir / link).exists() for link in links)


def test_profiling_never_touches_the_network(eda_run):
    _, report_dir, connections = eda_run
    assert connections == []
    assert not re.search(
        r"<(script|link)[^>]+(src|href)=['\"]https?://", (report_dir / "engagements.html").read_text()
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 2_000_000), st.one_of(st.none(), st.integers(1, 100_000)), st.booleans())
def test_plan_profile(rows, sample, minimal):
    plan = eda.plan_profile("t", rows, seed=7, minimal=minimal, sample=sample)
    expected = sample if sample is not None else (
        constants.EDA_SAMPLE_ROWS if rows > constants.EDA_SAMPLE_ABOVE_ROWS else rows
    )  # fmt: skip
    assert plan.profiled_rows == min(rows, expected)
    assert plan.minimal == (minimal or rows > constants.EDA_MINIMAL_ABOVE_ROWS)
    assert ("sample of" in plan.mode) == (plan.profiled_rows < rows)
    assert ("minimal" in plan.mode) == plan.minimal


def test_sample_is_reproducible_and_parses_dates():
    frame = pd.DataFrame(
        {"engagement_id": [f"E{i:04d}" for i in range(500)], "timestamp": ["2024-03-01 10:00:00"] * 500}
    )
    first, second, other = (eda.prepare(frame, 100, seed) for seed in (5, 5, 6))
    pd.testing.assert_frame_equal(first, second)
    assert not first["engagement_id"].equals(other["engagement_id"])
    assert pd.api.types.is_datetime64_any_dtype(first["timestamp"]) and len(first) == 100


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "eda.py", *args], capture_output=True, text=True, check=False)


def test_cli_errors_are_one_line_exit_2(tmp_path, data_dir):
    result = _run("--data-dir", str(tmp_path / "missing"), "--quiet")
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    result = _run("--data-dir", str(data_dir), "--datasets", "sales", "--quiet")
    assert result.returncode == 2 and "unknown dataset" in result.stderr
    result = _run("--data-dir", str(data_dir), "--sample", "0", "--quiet")
    assert result.returncode == 2 and "argument --sample: must be a positive integer" in result.stderr
    (tmp_path / "a-file").write_text("not a folder")
    result = _run("--data-dir", str(data_dir), "--report-dir", str(tmp_path / "a-file" / "r"), "--quiet")
    assert result.returncode == 2 and "is not writable" in result.stderr
    assert result.stderr.strip().count("\n") == 0 and result.stdout == ""  # before any profiling


def test_reports_go_to_one_folder_per_dataset_and_the_paths_are_printed(
    data_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(constants, "EDA_REPORTS_DIR", tmp_path / "eda")
    assert (
        eda.main(["--data-dir", str(data_dir), "--datasets", schema.CAMPAIGNS, "--minimal", "--quiet"]) == 0
    )
    run_id = json.loads((data_dir / schema.MANIFEST).read_text())["run_id"]
    folder = tmp_path / "eda" / f"{data_dir.name}-{run_id}"
    assert sorted(p.name for p in folder.iterdir()) == [
        "index.html",
        "marketing_campaigns.html",
        "marketing_campaigns_seed_vs_synthetic.html",
    ]
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"marketing_campaigns profile: {folder / 'marketing_campaigns.html'}",
        f"marketing_campaigns seed vs synthetic: {folder / 'marketing_campaigns_seed_vs_synthetic.html'}",
        f"index: {folder / 'index.html'}",
    ]


@pytest.mark.browser
@pytest.mark.skipif(not browser.chromium_available(), reason=f"{browser.CHROMIUM} is not installed")
def test_reports_open_in_headless_chromium(eda_run, tmp_path):
    summary, report_dir, _ = eda_run
    pages = [report_dir / "index.html", *(Path(p) for p in summary["path"])]
    for page in pages:
        result = browser.open_page(page, tmp_path / f"{page.stem}.png")
        assert result.returncode == 0, page.name
        assert result.screenshot_bytes > 5_000, page.name
        assert result.errors == [], (page.name, result.errors)
