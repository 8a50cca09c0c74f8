"""The validation framework: clean data passes, each kind of damage is caught and named.

One small real build (2 states x 1,000 customers, via ``build_dataset``) is made once for the module;
each mutation test copies it, damages one file and validates the copy (JSON only, no SDMetrics, to
stay fast). The HTML report of the clean build is opened in headless Chromium.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import build_dataset
import constants
from utils.core import browser
from utils.core.datasets import find_dataset
from validation import checks
from validation.validate_data import console_table, main, validate

ROOT = Path(__file__).resolve().parents[1]
STATES = ["NY", "WA"]
SMALL = {"rows_per_state": 1_000, "seed_customers": 1_000, "demographic_seed_rows": 3_000, "validate": False}
# Chain defects the validator found in the real build (reported to the chain's owner). The clean-data
# test tolerates exactly these failures and nothing else; drop an entry once its defect is fixed.
KNOWN_CHAIN_DEFECTS = {
    ("distribution", "transactions"): "quantity: the synthetic quantities never take the value 1",
    ("correlation", "customers"): "preference x age links of the seed are lost in the synthetic rows",
}


@pytest.fixture(scope="module", autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """A small real build (seed 7)."""
    out = tmp_path_factory.mktemp("validation") / "clean"
    build_dataset.build_dataset(STATES, seed=7, out_dir=str(out), **SMALL)
    return out


@pytest.fixture(scope="module")
def clean_report(clean, tmp_path_factory) -> dict:
    """The full validation (HTML, SDMetrics) of the clean build."""
    return validate(clean, report_dir=tmp_path_factory.mktemp("report"), sample_rows=5_000)


def _quick(folder: Path) -> dict:
    return validate(folder, report_dir=None, html=False, sdmetrics=False)


def _check(report: dict, name: str, category: str | None = None) -> dict:
    (found,) = [c for c in report["checks"] if c["name"] == name and category in (None, c["category"])]
    return found


def _failing(report: dict) -> set[tuple[str, str]]:
    return {(c["category"], c["name"]) for c in report["checks"] if c["status"] == checks.FAIL}


def _damaged(clean: Path, tmp_path: Path, name: str, damage) -> Path:
    """A copy of the clean build whose table ``name`` went through ``damage(frame) -> frame``."""
    folder = tmp_path / "damaged"
    shutil.copytree(clean, folder)
    path = find_dataset(folder, name)
    frame = pd.read_csv(path)
    damage(frame).to_csv(path, index=False)
    return folder


# --- clean data -----------------------------------------------------------------------------------


def test_clean_build_passes_every_check(clean_report):
    unexpected = _failing(clean_report) - set(KNOWN_CHAIN_DEFECTS)
    assert unexpected == set(), [c for c in clean_report["checks"] if c["status"] == "fail"]
    categories = {c["category"] for c in clean_report["checks"] if c["status"] != "skip"}
    assert categories == {"distribution", "census", "correlation", "parity", "rules", "sdmetrics"}
    rules = [c for c in clean_report["checks"] if c["category"] == "rules"]
    assert len(rules) >= 20 and all(c["status"] == "pass" for c in rules)
    assert _check(clean_report, "parity vs ground truth")["status"] == "pass"
    assert {f"census {s}" for s in STATES} <= {c["name"] for c in clean_report["checks"]}


def test_reports_are_written_and_reproducible(clean, clean_report, tmp_path):
    written = Path(clean_report["settings"]["report_dir"])
    report = json.loads((written / "validation_report.json").read_text())
    assert report["summary"] == clean_report["summary"]
    html = (written / "validation_report.html").read_text()
    assert html.count("data:image/png;base64,") >= 7  # 5 tables, census, correlation views
    assert "<script" not in html and "http://" not in html and "https://" not in html
    again = validate(clean, report_dir=tmp_path, sample_rows=5_000, sdmetrics=False, html=False)
    assert again["checks"] == [c for c in clean_report["checks"] if c["category"] != "sdmetrics"]


# --- each kind of damage is caught and named --------------------------------------------------------


def test_dangling_foreign_key(clean, tmp_path):
    def damage(frame):
        frame.loc[3, "customer_id"] = "NY-9999999"
        return frame

    report = _quick(_damaged(clean, tmp_path, "transactions", damage))
    check = _check(report, "transactions.customer_id -> demographics")
    assert check["status"] == "fail" and check["figure"] == 1
    assert "NY-9999999" in check["detail"]


def test_engagement_outside_campaign_window(clean, tmp_path):
    campaigns = pd.read_csv(find_dataset(clean, "marketing_campaigns")).set_index("campaign_id")

    def damage(frame):
        late = pd.Timestamp(campaigns.loc[frame.loc[10, "campaign_id"], "end_date"]) + pd.Timedelta(days=3)
        frame.loc[10, "timestamp"] = late.strftime("%Y-%m-%d %H:%M:%S")
        return frame

    folder = _damaged(clean, tmp_path, "engagements", damage)
    engagement = pd.read_csv(find_dataset(folder, "engagements")).loc[10, "engagement_id"]
    report = _quick(folder)
    check = _check(report, "engagements inside campaign window")
    assert check["status"] == "fail" and check["figure"] == 1
    assert engagement in check["detail"]
    assert _check(report, "funnel monotonic")["status"] == "pass"


def test_funnel_inversion(clean, clean_report, tmp_path):
    def damage(frame):
        counts = frame.groupby(["customer_id", "campaign_id"])["event_type"].agg(list)
        customer, campaign = counts[counts.map(lambda kinds: kinds == ["impression"])].index[0]
        row = frame.index[(frame["customer_id"] == customer) & (frame["campaign_id"] == campaign)][0]
        frame.loc[row, "event_type"] = "conversion"  # a conversion without impression or click
        return frame

    report = _quick(_damaged(clean, tmp_path, "engagements", damage))
    check = _check(report, "funnel monotonic")
    assert check["status"] == "fail" and check["figure"] == 1
    assert _failing(report) - _failing(clean_report) == {("rules", "funnel monotonic")}


def test_shuffled_column_kills_a_correlation(clean, tmp_path):
    def damage(frame):
        shuffled = frame["price_sensitivity"].sample(frac=1, random_state=0).to_numpy()
        return frame.assign(price_sensitivity=shuffled)

    report = _quick(_damaged(clean, tmp_path, "consumer_preferences", damage))
    check = _check(report, "customers", "correlation")
    assert check["status"] == "fail"
    assert "price_sensitivity" in check["detail"]
    lost = {(p["column_1"], p["column_2"]) for p in report["correlations"] if not p["passed"]}
    assert ("price_sensitivity", "avg_basket_size") in lost
    # the marginal is intact: only the correlation check can see this damage
    assert _check(report, "consumer_preferences", "distribution")["status"] == "pass"
    assert not any(c["status"] == "fail" for c in report["checks"] if c["category"] == "rules")


def test_demographics_from_the_wrong_state(clean, tmp_path):
    wa = pd.read_csv(find_dataset(clean, "WA_demographics"))

    def damage(frame):  # NY's customers, WA's people
        return wa.iloc[: len(frame)].assign(customer_id=frame["customer_id"].to_numpy(), state="NY")

    report = _quick(_damaged(clean, tmp_path, "NY_demographics", damage))
    check = _check(report, "census NY")
    assert check["status"] == "fail"
    assert "NY demographics off the NY census" in check["detail"]
    assert _check(report, "census WA")["status"] == "pass"
    assert _check(report, "NY_demographics", "distribution")["status"] == "fail"
    assert not any(c["status"] == "fail" for c in report["checks"] if c["category"] == "rules")


# --- parity and ground truth ---------------------------------------------------------------------


def test_parity_flag_follows_the_ground_truth(clean, clean_report, tmp_path):
    groups = pd.DataFrame(clean_report["parity"]["groups"])
    assert set(groups["outcome"]) == {"targeted", "converted", "high_value"}
    assert set(groups["attribute"]) == set(constants.PROTECTED_ATTRIBUTES)
    # claim in ground_truth.json that gender=male was disfavoured: the data show no such bias
    folder = tmp_path / "claimed"
    shutil.copytree(clean, folder)
    truth = json.loads((folder / "ground_truth.json").read_text())
    truth["bias"] |= {"active": True, "group": {"gender": "male"}, "strength": 0.8}
    (folder / "ground_truth.json").write_text(json.dumps(truth))
    check = _check(_quick(folder), "parity vs ground truth")
    assert check["status"] == "fail" and "not detected" in check["detail"]


def test_injected_bias_is_detected(clean, tmp_path):
    """Drop every engagement of 60 % of the women (as the bias knob's exclusion does) and declare it."""
    demographics = pd.concat(pd.read_csv(find_dataset(clean, f"{s}_demographics")) for s in STATES)
    women = demographics.loc[demographics["gender"] == "female", "customer_id"]
    excluded = set(women.sample(frac=0.6, random_state=1))
    folder = _damaged(clean, tmp_path, "engagements", lambda f: f[~f["customer_id"].isin(excluded)])
    truth = json.loads((folder / "ground_truth.json").read_text())
    truth["bias"] |= {"active": True, "group": {"gender": "female"}, "strength": 0.6}
    (folder / "ground_truth.json").write_text(json.dumps(truth))
    report = _quick(folder)
    check = _check(report, "parity vs ground truth")
    assert check["status"] == "pass" and "gender=female detected" in check["detail"]
    assert "gender=female" in _check(report, "parity targeted")["detail"]
    assert _check(report, "parity targeted")["status"] == "warn"


# --- the command line, the browser, the noise allowances ------------------------------------------


def test_cli_exit_codes(clean, tmp_path, capsys):
    script = str(ROOT / "validation" / "validate_data.py")
    run = [sys.executable, script, "--quiet", "--no-html", "--no-sdmetrics", "--report-dir", str(tmp_path)]
    missing = subprocess.run([*run, "--data-dir", str(tmp_path / "nope")], capture_output=True, text=True)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    broken = _damaged(clean, tmp_path, "transactions", lambda f: f.assign(amount=-f["amount"]))
    argv = [
        "--quiet",
        "--no-html",
        "--no-sdmetrics",
        "--report-dir",
        str(tmp_path),
        "--data-dir",
        str(broken),
    ]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "transactions.amount > 0" in out and out.splitlines()[-1].startswith("FAIL")
    assert (tmp_path / "validation_report.json").exists()


def test_console_table_names_failures(clean_report):
    table = console_table(clean_report)
    assert "business rules" in table and "census NY" in table
    assert table.splitlines()[-1].startswith(clean_report["summary"]["status"].upper())


@pytest.mark.browser
def test_html_report_opens_in_chromium(clean_report, tmp_path):
    if not browser.chromium_available():
        pytest.skip(f"{browser.CHROMIUM} is not installed (.ci/run installs Debian's chromium)")
    page = Path(clean_report["settings"]["report_dir"]) / "validation_report.html"
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
