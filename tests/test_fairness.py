"""fairness.py: aif360 parity and equalized odds, bias detection, mitigation, CLI errors, and a large
build analysed on a seeded sample of customers.

Everything runs on the session's shared small build (``small_build`` in ``conftest.py``). The biased
dataset is a private copy of it where 60 % of one group's customers lose every engagement, as the
bias knob's targeting exclusion does; the knob itself (that the chain injects what it declares) is
the chain's to test. The knob-off four-fifths bar across every outcome needs a larger build than a
test can afford (see docs/chain.md); validation's parity checks hold every build to it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import constants
import fairness
from utils.chain.outcomes import customer_outcomes
from utils.core import datasets, schema, storage
from utils.core.cli import run_main
from utils.metrics import fairness as fm

ATTRIBUTE, GROUP = "race_ethnicity", "black_nh"
EXCLUDED_SHARE = 0.6
# The outcome the exclusion acts on first (targeting); conversions follow.
OUTCOME = "targeted"


def _exclude(source: Path, target: Path, share: float = EXCLUDED_SHARE) -> Path:
    """A copy of ``source`` where ``share`` of GROUP's customers have no engagements at all."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock", schema.MANIFEST))
    demographics = pd.concat(pd.read_csv(path) for path in sorted(target.glob("*_demographics.csv")))
    members = demographics.loc[demographics[ATTRIBUTE] == GROUP, "customer_id"]
    excluded = set(members.sample(frac=share, random_state=1))
    engagements = pd.read_csv(target / "engagements.csv")
    engagements[~engagements["customer_id"].isin(excluded)].to_csv(target / "engagements.csv", index=False)
    return target


@pytest.fixture(scope="module")
def unbiased_report(small_build, tmp_path_factory):
    return fairness.fairness_report(small_build, outcome=OUTCOME, report_dir=tmp_path_factory.mktemp("off"))


@pytest.fixture(scope="module")
def biased_dir(small_build, tmp_path_factory) -> Path:
    return _exclude(small_build, tmp_path_factory.mktemp("biased") / "data")


@pytest.fixture(scope="module")
def biased_report(biased_dir, tmp_path_factory):
    return fairness.fairness_report(
        biased_dir, outcome=OUTCOME, mitigate=True, report_dir=tmp_path_factory.mktemp("on")
    )


# --- the bars -----------------------------------------------------------------------------------
def test_the_unbiased_build_does_not_flag_the_group(unbiased_report):
    report, groups = unbiased_report
    low, high = constants.FOUR_FIFTHS_RANGE
    assert {"attribute": ATTRIBUTE, "group": GROUP} not in report["flagged"]
    assert low <= report["attributes"][ATTRIBUTE]["pooled"]["disparate_impact"] <= high
    row = groups[(groups["attribute"] == ATTRIBUTE) & (groups["group"] == GROUP)].iloc[0]
    assert row["verdict"] != "fail"
    assert set(report["attributes"]) == set(constants.PROTECTED_ATTRIBUTES)
    assert report["sampled"] is None and report["customers"] == 2_000  # a small build: every customer


def test_bias_flags_the_group_and_mitigation_restores_parity(biased_report):
    report, groups = biased_report
    assert {"attribute": ATTRIBUTE, "group": GROUP} in report["flagged"]
    assert report["verdict"] == "fail"
    summary = report["attributes"][ATTRIBUTE]
    assert summary["verdict"] == "fail" and summary["privileged"] != GROUP
    row = groups[(groups["attribute"] == ATTRIBUTE) & (groups["group"] == GROUP)].iloc[0]
    assert (
        row["disparate_impact"] < constants.FOUR_FIFTHS_RANGE[0] and row["p_value"] < constants.FAIRNESS_ALPHA
    )
    low, high = constants.FOUR_FIFTHS_RANGE
    assert low <= row["reweighed_disparate_impact"] <= high
    assert low <= summary["mitigation"]["reweighing"]["disparate_impact"] <= high
    assert groups["reweighed_disparate_impact"].dropna().between(low, high).all()
    assert report["attributes"]["gender"]["flagged_groups"] == []


def test_bias_is_flagged_on_conversions_too(small_build, tmp_path):
    # Conversions are rarer than impressions (about one customer in ten converts in a year), so on
    # 2,000 customers the exclusion must be stronger for the gap to be significant (FAIRNESS_ALPHA).
    biased = _exclude(small_build, tmp_path / "data", share=0.9)
    report, _ = fairness.fairness_report(biased, [ATTRIBUTE], "converted", report_dir=tmp_path / "r")
    assert {"attribute": ATTRIBUTE, "group": GROUP} in report["flagged"]


def test_report_files_and_verdicts(biased_report):
    report, groups = biased_report
    files = report["files"]
    written = json.loads(Path(files["report"]).read_text())
    assert written["flagged"] == report["flagged"]
    assert Path(files["chart"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    weights = pd.read_csv(files["reweighing_weights"])
    assert list(weights.columns) == ["customer_id", *(f"weight_{a}" for a in constants.PROTECTED_ATTRIBUTES)]
    assert len(weights) == report["customers"] and (weights.drop(columns="customer_id") > 0).all().all()
    assert set(pd.read_csv(files["groups"])["group"]) == set(groups["group"])
    race = report["attributes"]["race_ethnicity"]
    for key in ("true_positive_rate_difference", "average_odds_difference", "equal_opportunity_difference"):
        assert key in race["pooled"] and race["pooled"]["verdicts"][key] in {
            "pass",
            "fail",
            "insufficient_data",
        }
    assert set(race["mitigation"]) == {"reweighing", "eq_odds_postprocessing"}
    assert "four-fifths" in report["rules"]["disparate_impact"]
    assert "preferred_channel_email" in report["features"] and "age" not in report["features"]
    every_group = groups[groups["attribute"] == "race_ethnicity"]
    assert every_group["group"].nunique() >= 6 and every_group["privileged"].sum() == 1


def test_same_seed_same_report_bytes(small_build, tmp_path):
    paths = []
    for name in ("a", "b"):
        report, _ = fairness.fairness_report(
            small_build, ["gender"], "high_value", report_dir=tmp_path / name, seed=3
        )
        paths.append(report["files"])
    for key in ("groups", "chart"):
        assert Path(paths[0][key]).read_bytes() == Path(paths[1][key]).read_bytes()
    first, second = (json.loads(Path(p["report"]).read_text()) for p in paths)
    first.pop("files"), second.pop("files")
    assert first == second


def test_a_large_build_is_analysed_on_a_seeded_sample_of_customers(
    small_parquet_build, tmp_path, monkeypatch, capsys
):
    """Above READ_MAX_CUSTOMERS the outcomes are those of a seeded sample of customers, each from all
    of its engagements and transactions (read part by part, never whole); report and console say so."""
    folder = small_parquet_build
    monkeypatch.setattr(constants, "READ_MAX_CUSTOMERS", 400)  # of 1,200 customers
    whole_reads, real_read = [], datasets.read_file

    def read_file(path, columns=None):
        whole_reads.append(str(path))
        return real_read(path, columns)

    monkeypatch.setattr(datasets, "read_file", read_file)
    args = ["--data-dir", str(folder), "--protected", "gender", "--mitigate", "--seed", "3"]
    with pytest.raises(SystemExit) as exit_info:
        run_main(fairness.main, [*args, "--report-dir", str(tmp_path / "r"), "--quiet"])
    assert exit_info.value.code == 0
    assert not {str(folder / "engagements"), str(folder / "transactions")} & set(whole_reads)
    sample = datasets.sample_customers(folder, max_customers=400, seed=3)
    assert 250 < sample.customers < 550
    out = capsys.readouterr().out.splitlines()
    said = f"sampled: {sample.customers:,} of 1,200 customers (seed 3), with all their engagements"
    assert out[0] == f"{said} and transactions"
    report = json.loads((tmp_path / "r" / "fairness_converted.json").read_text())
    assert report["customers"] == report["sampled"]["customers"] == sample.customers
    assert report["sampled"]["of"] == 1_200 and report["sampled"]["seed"] == 3
    assert "unbiased" in report["sampled"]["note"]
    engagements = datasets.load_dataset(folder, "engagements")
    assert report["sampled"]["rows_read"]["engagements"] == len(engagements)
    weights = pd.read_csv(tmp_path / "r" / "fairness_converted_reweighing_weights.csv", dtype=str)
    assert set(weights["customer_id"]) == sample.ids  # the sampled customers, no other
    customers = fairness.load_customers(folder, ["gender"], seed=3, max_customers=400)
    customers = customers.set_index("customer_id")
    assert set(customers.index) == sample.ids
    every = customer_outcomes(
        datasets.load_demographics(folder), engagements, datasets.load_dataset(folder, "transactions")
    ).set_index("customer_id")
    outcomes = ["targeted", "converted", "total_spend"]  # from every row of each sampled customer
    pd.testing.assert_frame_equal(customers[outcomes], every.loc[customers.index, outcomes])
    other = fairness.load_customers(folder, ["gender"], seed=4, max_customers=400)
    assert set(other["customer_id"]) != sample.ids  # another seed, another sample


# --- the aif360 glue ----------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.booleans()), min_size=8, max_size=80).filter(
        lambda rows: len({g for g, _ in rows}) > 1 and len({y for _, y in rows}) > 1
    )
)
def test_reweighing_equalises_every_group_rate(rows):
    groups = pd.Series([g for g, _ in rows])
    labels = pd.Series([y for _, y in rows])
    weights = fm.reweighing_weights(labels, groups)
    overall = labels.mean()
    for group in groups.unique():
        member = groups == group
        if labels[member].nunique() == 2:  # a group with one label value cannot be reweighed to any rate
            rate = (weights * labels)[member].sum() / weights[member].sum()
            assert rate == pytest.approx(overall)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 50), st.integers(1, 50), st.integers(0, 50), st.integers(0, 50))
def test_parity_matches_the_definition(n_priv, n_unpriv, pos_priv, pos_unpriv):
    pos_priv, pos_unpriv = min(pos_priv, n_priv), min(pos_unpriv, n_unpriv)
    labels = pd.Series([True] * pos_priv + [False] * (n_priv - pos_priv) + [True] * pos_unpriv
                       + [False] * (n_unpriv - pos_unpriv))  # fmt: skip
    privileged = pd.Series([True] * n_priv + [False] * n_unpriv)
    metrics = fm.parity(labels, privileged)
    assert metrics["statistical_parity_difference"] == pytest.approx(
        pos_unpriv / n_unpriv - pos_priv / n_priv, abs=1e-6
    )
    if pos_priv:
        assert metrics["disparate_impact"] == pytest.approx(
            (pos_unpriv / n_unpriv) / (pos_priv / n_priv), abs=1e-5
        )


def test_equalized_odds_matches_the_definition():
    labels = pd.Series([1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    predicted = pd.Series([1, 1, 1, 0, 1, 0, 0, 0], dtype=bool)
    privileged = pd.Series([True] * 4 + [False] * 4)
    metrics = fm.equalized_odds(labels, predicted, privileged)
    # privileged: TPR 1, FPR 0.5; unprivileged: TPR 0.5, FPR 0
    assert metrics["true_positive_rate_difference"] == pytest.approx(-0.5)
    assert metrics["false_positive_rate_difference"] == pytest.approx(-0.5)
    assert metrics["average_odds_difference"] == pytest.approx(-0.5)
    assert metrics["equal_opportunity_difference"] == pytest.approx(-0.5)


def test_privileged_group_ignores_a_tiny_lucky_group():
    groups = pd.Series(["big"] * 500 + ["mid"] * 300 + ["tiny"] * 5)
    labels = pd.Series([True] * 200 + [False] * 300 + [True] * 60 + [False] * 240 + [True] * 5)
    privileged, reason = fairness.choose_privileged(labels, groups)
    assert privileged == "big" and "Wilson" in reason


def test_verdict_rules():
    assert fm.di_verdict(0.85) == "pass" and fm.di_verdict(1.3, 0.001) == "fail"
    assert fm.di_verdict(0.5, 0.2) == "inconclusive" and fm.di_verdict(None) == "insufficient_data"
    assert fm.difference_verdict(-0.05) == "pass" and fm.difference_verdict(0.2) == "fail"


# --- the command line ---------------------------------------------------------------------------
def _cli(capsys, *args: str) -> tuple[int, str]:
    """Run ``fairness.main`` through ``run_main`` in-process: (exit code, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        run_main(fairness.main, [*args, "--quiet"])
    return exit_info.value.code, capsys.readouterr().err


def test_cli_missing_folder_is_one_line_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "fairness.py", "--data-dir", str(tmp_path / "nope"), "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


def test_cli_bad_input_is_one_line_exit_2(small_build, tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("engagements.csv", "transactions.csv"):
        shutil.copy(small_build / name, folder / name)
    demographics = pd.read_csv(small_build / "NY_demographics.csv").drop(columns=["race_ethnicity"])
    storage.write_table(demographics, folder / "NY_demographics.csv")
    code, err = _cli(capsys, "--data-dir", str(folder), "--protected", "race_ethnicity")
    assert code == 2 and "race_ethnicity" in err and err.strip().count("\n") == 0
    code, err = _cli(capsys, "--data-dir", str(small_build), "--outcome", "revenue")
    assert code == 2 and "argument --outcome: invalid choice: 'revenue'" in err
    code, err = _cli(capsys, "--data-dir", str(small_build), "--protected", "religion")
    assert code == 2 and "unknown protected attribute" in err
    (tmp_path / "a-file").write_text("not a folder")
    code, err = _cli(capsys, "--data-dir", str(small_build), "--report-dir", str(tmp_path / "a-file" / "r"))
    assert code == 2 and "is not writable" in err and err.strip().count("\n") == 0
    code, _ = _cli(
        capsys, "--data-dir", str(folder), "--protected", "gender", "--report-dir", str(tmp_path / "r")
    )
    assert code == 0 and (tmp_path / "r" / "fairness_converted.json").exists()


def test_reports_go_to_one_folder_per_dataset_and_the_paths_are_printed(
    small_build, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(constants, "FAIRNESS_REPORTS_DIR", tmp_path / "fairness")
    with pytest.raises(SystemExit) as exit_info:
        run_main(fairness.main, ["--data-dir", str(small_build), "--protected", "gender", "--quiet"])
    run_id = json.loads((small_build / schema.MANIFEST).read_text())["run_id"]
    folder = tmp_path / "fairness" / f"{small_build.name}-{run_id}"
    assert exit_info.value.code == 0 and (folder / "fairness_converted.json").is_file()
    assert capsys.readouterr().out.splitlines() == [
        f"groups: {folder / 'fairness_converted_groups.csv'}",
        f"chart: {folder / 'fairness_converted_rates.png'}",
        f"report: {folder / 'fairness_converted.json'}",
    ]
