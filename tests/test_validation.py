"""The validation framework: clean data passes, each kind of damage is caught and named, bad input exits 2.

Everything runs on the session's one small build (``small_build`` in ``conftest.py``), which must
pass its own validation; each mutation test damages a private copy (``copy_build``) and validates it
(JSON only, no SDMetrics, to stay fast). A damaged copy drops its ``manifest.json``: a table changed
by hand no longer matches the digest the manifest recorded, which the lineage check would refuse
before any comparison (that refusal has its own tests below). The HTML report of the clean build is
opened in headless Chromium.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import constants
from utils.core import browser, runs, schema
from utils.core.cli import run_main
from utils.core.datasets import find_dataset
from validation import checks, validate_data
from validation.validate_data import console_table, main, validate

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "validation" / "validate_data.py")
QUICK = ["--quiet", "--no-html", "--no-sdmetrics"]


@pytest.fixture(scope="module", autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def states(small_build) -> list[str]:
    """The states of the shared build."""
    return json.loads((small_build / schema.MANIFEST).read_text())["config"]["states"]


@pytest.fixture(scope="module")
def clean_report(small_build, tmp_path_factory) -> dict:
    """The full validation (HTML, SDMetrics) of the shared build."""
    return validate(small_build, report_dir=tmp_path_factory.mktemp("report"), sample_rows=5_000)


def _quick(folder: Path) -> dict:
    return validate(folder, report_dir=None, html=False, sdmetrics=False)


def _check(report: dict, name: str, category: str | None = None) -> dict:
    (found,) = [c for c in report["checks"] if c["name"] == name and category in (None, c["category"])]
    return found


def _failing(report: dict) -> set[tuple[str, str]]:
    return {(c["category"], c["name"]) for c in report["checks"] if c["status"] == checks.FAIL}


def _unpublished(folder: Path) -> Path:
    """``folder`` without its manifest, so tables may be changed by hand (see the module doc)."""
    (folder / schema.MANIFEST).unlink()
    return folder


def _damaged(folder: Path, name: str, damage) -> Path:
    """``folder`` (a private copy, manifest dropped) with table ``name`` put through ``damage``."""
    _unpublished(folder)
    path = find_dataset(folder, name)
    frame = pd.read_csv(path)
    damage(frame).to_csv(path, index=False)
    return folder


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``validate_data.main`` through ``run_main`` in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        run_main(main, list(argv), crash_code=validate_data.EXIT_CRASH)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


# --- clean data -----------------------------------------------------------------------------------


def test_clean_build_passes_every_check(clean_report, states):
    assert clean_report["summary"]["status"] == "pass", [
        c for c in clean_report["checks"] if c["status"] == "fail"
    ]
    categories = {c["category"] for c in clean_report["checks"] if c["status"] != "skip"}
    assert categories == {"distribution", "census", "correlation", "parity", "rules", "realism", "sdmetrics"}
    rules = [c for c in clean_report["checks"] if c["category"] == "rules"]
    assert len(rules) >= 20 and all(c["status"] == "pass" for c in rules)
    assert _check(clean_report, "parity vs ground truth")["status"] == "pass"
    assert {f"census {s}" for s in states} <= {c["name"] for c in clean_report["checks"]}


def test_reports_are_written_and_reproducible(small_build, clean_report, tmp_path):
    written = Path(clean_report["settings"]["report_dir"])
    assert clean_report["files"] == {
        "json": str(written / "validation_report.json"),
        "html": str(written / "validation_report.html"),
    }
    report = json.loads((written / "validation_report.json").read_text())
    assert report["summary"] == clean_report["summary"]
    html = (written / "validation_report.html").read_text()
    assert html.count("data:image/png;base64,") >= 7  # 5 tables, census, correlation views
    assert "<script" not in html and "http://" not in html and "https://" not in html
    again = validate(small_build, report_dir=tmp_path, sample_rows=5_000, sdmetrics=False, html=False)
    assert again["checks"] == [c for c in clean_report["checks"] if c["category"] != "sdmetrics"]


def test_reports_go_to_one_folder_per_dataset_by_default(small_build, tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "VALIDATION_REPORTS_DIR", tmp_path / "reports")
    report = validate(small_build, html=False, sdmetrics=False)
    run_id = json.loads((small_build / schema.MANIFEST).read_text())["run_id"]
    folder = tmp_path / "reports" / f"{small_build.name}-{run_id}"
    assert report["files"] == {"json": str(folder / "validation_report.json")}
    assert (folder / "validation_report.json").is_file()
    assert [p.name for p in (tmp_path / "reports").iterdir()] == [folder.name]


# --- each kind of damage is caught and named --------------------------------------------------------


def test_dangling_foreign_key(copy_build):
    def damage(frame):
        frame.loc[3, "customer_id"] = "NY-9999999"
        return frame

    report = _quick(_damaged(copy_build, "transactions", damage))
    check = _check(report, "transactions.customer_id -> demographics")
    assert check["status"] == "fail" and check["figure"] == 1
    assert "NY-9999999" in check["detail"]


def test_engagement_outside_campaign_window(copy_build):
    campaigns = pd.read_csv(find_dataset(copy_build, "marketing_campaigns")).set_index("campaign_id")

    def damage(frame):
        late = pd.Timestamp(campaigns.loc[frame.loc[10, "campaign_id"], "end_date"]) + pd.Timedelta(days=3)
        frame.loc[10, "timestamp"] = late.strftime("%Y-%m-%d %H:%M:%S")
        return frame

    folder = _damaged(copy_build, "engagements", damage)
    engagement = pd.read_csv(find_dataset(folder, "engagements")).loc[10, "engagement_id"]
    report = _quick(folder)
    check = _check(report, "engagements inside campaign window")
    assert check["status"] == "fail" and check["figure"] == 1
    assert engagement in check["detail"]
    assert _check(report, "funnel monotonic")["status"] == "pass"


def test_funnel_inversion(copy_build, clean_report):
    def damage(frame):
        counts = frame.groupby(["customer_id", "campaign_id"])["event_type"].agg(list)
        customer, campaign = counts[counts.map(lambda kinds: kinds == ["impression"])].index[0]
        row = frame.index[(frame["customer_id"] == customer) & (frame["campaign_id"] == campaign)][0]
        frame.loc[row, "event_type"] = "conversion"  # a conversion without impression or click
        return frame

    report = _quick(_damaged(copy_build, "engagements", damage))
    check = _check(report, "funnel monotonic")
    assert check["status"] == "fail" and check["figure"] == 1
    # ... and the conversion has no purchase behind it
    assert _failing(report) - _failing(clean_report) == {
        ("rules", "funnel monotonic"),
        ("rules", "conversion has its purchase"),
    }


def test_shuffled_column_kills_a_correlation(copy_build):
    def damage(frame):
        shuffled = frame["price_sensitivity"].sample(frac=1, random_state=0).to_numpy()
        return frame.assign(price_sensitivity=shuffled)

    report = _quick(_damaged(copy_build, "consumer_preferences", damage))
    check = _check(report, "customers", "correlation")
    assert check["status"] == "fail"
    assert "price_sensitivity" in check["detail"]
    lost = {(p["column_1"], p["column_2"]) for p in report["correlations"] if not p["passed"]}
    assert ("price_sensitivity", "avg_basket_size") in lost
    # the marginal is intact: only the correlation check can see this damage
    assert _check(report, "consumer_preferences", "distribution")["status"] == "pass"
    assert not any(c["status"] == "fail" for c in report["checks"] if c["category"] == "rules")


def test_demographics_from_the_wrong_state(copy_build):
    wa = pd.read_csv(find_dataset(copy_build, "WA_demographics"))

    def damage(frame):  # NY's customers, WA's people
        return wa.iloc[: len(frame)].assign(customer_id=frame["customer_id"].to_numpy(), state="NY")

    report = _quick(_damaged(copy_build, "NY_demographics", damage))
    check = _check(report, "census NY")
    assert check["status"] == "fail"
    assert "NY demographics off the NY census" in check["detail"]
    assert _check(report, "census WA")["status"] == "pass"
    assert _check(report, "NY_demographics", "distribution")["status"] == "fail"
    assert not any(c["status"] == "fail" for c in report["checks"] if c["category"] == "rules")


# --- parity and ground truth ---------------------------------------------------------------------


def test_parity_flag_follows_the_ground_truth(copy_build, clean_report):
    groups = pd.DataFrame(clean_report["parity"]["groups"])
    assert set(groups["outcome"]) == {"targeted", "converted", "high_value"}
    assert set(groups["attribute"]) == set(constants.PROTECTED_ATTRIBUTES)
    # claim in ground_truth.json that gender=male was disfavoured: the data show no such bias
    folder = _unpublished(copy_build)
    truth = json.loads((folder / "ground_truth.json").read_text())
    truth["bias"] |= {"active": True, "group": {"gender": "male"}, "strength": 0.8}
    (folder / "ground_truth.json").write_text(json.dumps(truth))
    check = _check(_quick(folder), "parity vs ground truth")
    assert check["status"] == "fail" and "not detected" in check["detail"]


def test_injected_bias_is_detected(copy_build, states):
    """Drop every engagement of 60 % of the women (as the bias knob's exclusion does) and declare it."""
    demographics = pd.concat(pd.read_csv(find_dataset(copy_build, f"{s}_demographics")) for s in states)
    women = demographics.loc[demographics["gender"] == "female", "customer_id"]
    excluded = set(women.sample(frac=0.6, random_state=1))
    folder = _damaged(copy_build, "engagements", lambda f: f[~f["customer_id"].isin(excluded)])
    truth = json.loads((folder / "ground_truth.json").read_text())
    truth["bias"] |= {"active": True, "group": {"gender": "female"}, "strength": 0.6}
    (folder / "ground_truth.json").write_text(json.dumps(truth))
    report = _quick(folder)
    check = _check(report, "parity vs ground truth")
    assert check["status"] == "pass" and "gender=female detected" in check["detail"]
    assert "gender=female" in _check(report, "parity targeted")["detail"]
    assert _check(report, "parity targeted")["status"] == "warn"


# --- bad input: one line on stderr and exit 2, before any comparison --------------------------------


def _mixed_runs(folder: Path) -> Path:
    """Publish the demographics again as a new run, as an interrupted rebuild would leave them."""
    with runs.OutputLock(str(folder)):
        run = runs.Run(str(folder), fmt="csv")
        frame = pd.concat(pd.read_csv(path) for path in sorted(folder.glob("*_demographics.csv")))
        run.write_table(schema.DEMOGRAPHICS, frame)
        run.publish(prune=False)
    return folder


def _replaced(folder: Path) -> Path:
    """transactions.csv overwritten after publication (by the engagements' bytes)."""
    (folder / "transactions.csv").write_bytes((folder / "engagements.csv").read_bytes())
    return folder


def _swapped(folder: Path) -> Path:
    """An engagements file saved as transactions.csv, in a folder without manifest."""
    return _replaced(_unpublished(folder))


def _empty(folder: Path) -> Path:
    (_unpublished(folder) / "marketing_campaigns.csv").write_bytes(b"")
    return folder


def _duplicated(folder: Path) -> Path:
    return _damaged(folder, "consumer_preferences", lambda frame: pd.concat([frame, frame.head(3)]))


BAD_INPUT = {
    "missing folder": (lambda folder: folder / "absent", "does not exist"),
    "a folder mixing two runs": (
        _mixed_runs,
        "mixes the outputs of different runs: campaign_audience.csv was generated from demographics",
    ),
    "a table replaced after publication": (_replaced, "transactions.csv changed after run"),
    "an engagements file saved as transactions.csv": (
        _swapped,
        "transactions.csv has the wrong columns for the transactions table: missing transaction_id, "
        "amount, quantity, category and 1 more; unexpected engagement_id, event_type, device "
        "(those are the columns of the engagements table: a swapped file?)",
    ),
    "a 0-byte table": (_empty, "marketing_campaigns.csv is empty (0 bytes)"),
    "duplicated primary keys": (_duplicated, "duplicated customer_id value(s)"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_and_exit_2(copy_build, tmp_path, capsys, case):
    make, message = BAD_INPUT[case]
    folder = make(copy_build)
    reports = tmp_path / "reports"
    code, out, err = _cli(capsys, *QUICK, "--data-dir", str(folder), "--report-dir", str(reports))
    assert code == validate_data.EXIT_BAD_INPUT, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert message in err, err
    assert out == "" and not reports.exists()  # stopped before any report folder was made


def test_duplicated_keys_name_the_table_key_and_a_value(copy_build, capsys):
    folder = _duplicated(copy_build)
    first = pd.read_csv(folder / "consumer_preferences.csv")["customer_id"].iloc[0]
    code, _, err = _cli(capsys, *QUICK, "--data-dir", str(folder), "--report-dir", str(folder / "r"))
    assert code == 2
    expected = f"consumer_preferences in {folder} has 3 duplicated customer_id value(s), e.g. {first!r}"
    assert f"{expected}: a primary key must be unique" in err


def test_an_unwritable_report_folder_fails_before_any_work(small_build, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, out, err = _cli(capsys, *QUICK, "--data-dir", str(small_build), "--report-dir", str(blocker / "r"))
    assert code == 2 and "not writable" in err and len(err.strip().splitlines()) == 1
    assert out == ""


# --- the command line, the console, the browser, the noise allowances --------------------------------


def test_a_failed_check_exits_1_and_says_where_the_report_went(copy_build, tmp_path, capsys):
    broken = _damaged(copy_build, "transactions", lambda f: f.assign(amount=-f["amount"]))
    code, out, _ = _cli(capsys, *QUICK, "--report-dir", str(tmp_path), "--data-dir", str(broken))
    assert code == validate_data.EXIT_FAIL
    lines = out.splitlines()
    assert "transactions.amount > 0" in out and lines[-2].startswith("FAIL")
    assert lines[-1] == f"json report: {tmp_path / 'validation_report.json'}"
    assert (tmp_path / "validation_report.json").exists()


def test_a_crash_is_a_traceback_and_exit_3(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_main(main, 42, crash_code=validate_data.EXIT_CRASH)  # not an argument list: a bug, not input
    assert exit_info.value.code == validate_data.EXIT_CRASH == 3
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "TypeError" in err and "a bug, not bad input" in err


def test_piped_console_without_manifest(copy_build, tmp_path):
    """The real script, stderr piped: a warning for the missing manifest, plain lines, no escapes."""
    folder = _unpublished(copy_build)
    command = [sys.executable, SCRIPT, "--no-html", "--no-sdmetrics", "--data-dir", str(folder),
               "--report-dir", str(tmp_path / "r")]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"[validate_data] {folder} has no manifest.json" in result.stderr
    assert "\x1b[" not in result.stderr and "\r" not in result.stderr
    assert all(line.startswith("[") for line in result.stderr.splitlines()), result.stderr
    assert result.stdout.splitlines()[-1] == f"json report: {tmp_path / 'r' / 'validation_report.json'}"


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for line in ("0  every check passed", "1  a check failed", "2  bad input", "3  a crash"):
        assert line in text


def test_console_table_names_failures(clean_report):
    table = console_table(clean_report)
    assert "business rules" in table and "census NY" in table
    assert table.splitlines()[-1].startswith(clean_report["summary"]["status"].upper())


@pytest.mark.browser
def test_html_report_opens_in_chromium(clean_report, tmp_path):
    if not browser.chromium_available():
        pytest.skip(f"{browser.CHROMIUM} is not installed (.ci/run installs Debian's chromium)")
    page = Path(clean_report["files"]["html"])
    result = browser.open_page(page, tmp_path / "shot.png")
    assert result.returncode == 0
    assert result.screenshot_bytes > 20_000  # a rendered page, not a blank one
    assert result.errors == []


@settings(max_examples=40, deadline=None)
@given(st.integers(10, 10**6), st.integers(10, 10**6), st.integers(2, 130))
def test_noise_allowances_shrink_with_more_rows(n1, n2, cells):
    assert checks.ks_allowance(n1, n2) > checks.ks_allowance(4 * n1, 4 * n2) > 0
    assert checks.tvd_allowance(cells, n1, n2) > checks.tvd_allowance(cells, 4 * n1, 4 * n2) > 0
    assert checks.tvd_allowance(cells + 1, n1) >= checks.tvd_allowance(cells, n1)
    assert checks.pearson_allowance(n1, n2) > checks.pearson_allowance(4 * n1, 4 * n2)
    assert 0 <= checks.cramers_allowance(2, 2, 4 * n1) < checks.cramers_allowance(2, 2, n1)


def test_identical_tables_pass_whatever_their_size():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "c": rng.choice(list("abc"), 40)})
    from validation.distributions import seed_distances

    check, table = seed_distances(frame, frame.copy(), "t")
    assert check.status == "pass" and set(table["distance"]) == {0.0}
