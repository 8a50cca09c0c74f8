"""synthesize.py and feedback360.py: the private synthetic copy, its report, its bars and its errors."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import constants
import feedback360
import synthesize
from utils.core import storage
from utils.core.cli import run_main
from utils.metrics.fidelity import column_distances, tvd
from utils.metrics.privacy import dcr_privacy, exact_copy_rate, size_matched_chunks
from utils.private_copy.prepare import detect_table_metadata, structural_categories

pytest_plugins = ["tests.azurite"]

WIDE_ARGS = [
    "--target",
    "high_potential",
    "--group",
    "leader_id",
    "--seed",
    "3",
    "--quiet",
    "--compare",
    "none",
]


@pytest.fixture(scope="module")
def demo():
    """The demo 360 dataset (long, wide) for 200 leaders."""
    return feedback360.feedback360(leaders=200, seed=11)


@pytest.fixture(scope="module")
def wide_csv(demo, tmp_path_factory) -> str:
    return storage.write_table(demo[1], tmp_path_factory.mktemp("in") / "wide.csv")


def run(argv) -> int:
    with pytest.raises(SystemExit) as stop:
        run_main(synthesize.main, argv)
    return stop.value.code


def report_of(output: str) -> dict:
    return json.loads(read(synthesize.sibling(output, ".report.json")))


def read(path: str) -> str:
    with open(path, encoding="utf-8") as stream:
        return stream.read()


@pytest.fixture(scope="module")
def gaussian_copula_run(wide_csv, tmp_path_factory) -> str:
    output = str(tmp_path_factory.mktemp("gc") / "copy.csv")
    assert run(["--input", wide_csv, "--output", output, *WIDE_ARGS]) == 0
    return output


# --- the demo 360 dataset -----------------------------------------------------------------------


def test_long_format_has_one_row_per_rater_and_item_from_the_scale_file(demo):
    long, _ = demo
    scales = feedback360.load_scales()
    raters = long.groupby("rater_id")["item_id"].count()
    assert (raters == scales["n_items"].sum()).all()
    assert set(long["rater_group"]) <= set(feedback360.GROUPS)
    assert long["response"].dropna().between(1, 5).all()
    assert 0.02 < long["response"].isna().mean() < 0.15  # missing responses
    assert long.groupby("leader_id")["rater_group"].apply(lambda g: (g == "Self").any()).all()


def test_wide_format_follows_the_reporting_rules(demo):
    _, wide = demo
    scales = feedback360.load_scales()
    assert len(scales) == 21 and scales["kind"].value_counts().to_dict() == {
        "competency": 16,
        "derailment": 5,
    }
    for group in ("Peer", "Direct Report"):
        assert (wide.loc[wide["rater_group"] == group, "n_raters"] >= 3).all()
    all_raters = wide[wide["rater_group"] == "All Raters"]
    assert (all_raters["n_raters"] >= constants.FEEDBACK360_ALL_RATERS_MIN).all()
    assert not wide.duplicated(["leader_id", "rater_group"]).any()
    scores = wide[scales["column"]]
    assert scores.stack().between(1, 5).all()
    assert 0.15 < (wide.drop_duplicates("leader_id")["high_potential"] == "yes").mean() < 0.40


def test_rater_effects_match_the_published_calibration():
    long, _ = feedback360.feedback360(leaders=500, seed=5)
    scales = feedback360.load_scales()
    per = feedback360.score(long, scales)
    competencies = set(scales.loc[scales["kind"] == "competency", "column"])
    per = per[per["column"].isin(competencies)]
    first = per.groupby(["leader_id", "rater_group", "column"])["mean"].first().unstack("rater_group")
    d = (first["Self"].mean() - first["Boss"].mean()) / first["Boss"].std()
    assert 0.2 < d < 0.45  # self about d = 0.32 above boss
    by_scale = first.groupby(level="column")
    boss_peer = by_scale.apply(lambda f: f["Boss"].corr(f["Peer"])).mean()
    self_boss = by_scale.apply(lambda f: f["Self"].corr(f["Boss"])).mean()
    assert 0.26 < boss_peer < 0.42 and 0.13 < self_boss < 0.30 and self_boss < boss_peer


def test_same_seed_same_demo():
    first, second = feedback360.feedback360(30, seed=2), feedback360.feedback360(30, seed=2)
    assert storage.table_bytes(first[1], "csv") == storage.table_bytes(second[1], "csv")


# --- the copy and its report --------------------------------------------------------------------


def test_gaussian_copula_copy_meets_the_bars_on_the_demo(gaussian_copula_run, demo):
    report = report_of(gaussian_copula_run)
    copy = pd.read_csv(gaussian_copula_run)
    assert "leader_id" not in copy.columns  # a non-unique id is left out
    assert list(copy.columns) == [c for c in demo[1].columns if c != "leader_id"]
    assert 0.75 <= report["fidelity"]["quality"]["score"] <= 1
    assert report["privacy"]["exact_copy_rate"] == 0
    assert report["privacy"]["share_closer_to_training"] <= 0.60
    assert report["utility"]["f1_ratio"] >= 0.85
    assert report["conditioned_on"] == ["high_potential", "rater_group"]  # rater_group found structural
    html = read(synthesize.sibling(gaussian_copula_run, ".report.html"))
    assert "data:image/png;base64," in html and report["verdict"]["text"] in html
    metadata = json.loads(read(synthesize.sibling(gaussian_copula_run, ".metadata.json")))
    assert metadata["tables"]["table"]["columns"]["leader_id"]["sdtype"] == "id"


def test_ctgan_copy_is_private_on_the_demo(demo, tmp_path):
    leaders = demo[1]["leader_id"].unique()[:100]  # CTGAN fits a Gaussian mixture per column: keep it small
    wide_csv = storage.write_table(demo[1][demo[1]["leader_id"].isin(leaders)], tmp_path / "wide.csv")
    output = str(tmp_path / "ctgan.csv")
    assert (
        run(["--input", wide_csv, "--output", output, "--synthesizer", "ctgan", "--epochs", "3", *WIDE_ARGS])
        == 0
    )
    report = report_of(output)
    assert 0 < report["fidelity"]["quality"]["score"] <= 1
    assert report["privacy"]["exact_copy_rate"] == 0
    assert report["privacy"]["share_closer_to_training"] <= 0.60


def test_public_table_keeps_utility_with_the_default_synthesizer(tmp_path):
    output = str(tmp_path / "fair.csv")
    assert (
        run(
            [
                "--input",
                "public:fair_affairs",
                "--target",
                "had_affair",
                "--output",
                output,
                "--quiet",
                "--compare",
                "none",
            ]
        )
        == 0
    )
    report = report_of(output)
    assert report["rows"]["input"] == 6366
    assert report["utility"]["train_real"]["f1"] > 0.4
    assert report["utility"]["f1_ratio"] >= 0.85
    assert report["privacy"]["share_closer_to_training"] <= 0.60
    assert report["preparation"]["ordinal_orders"]["rate_marriage"] == ["1", "2", "3", "4", "5"]


def test_edited_metadata_is_used(wide_csv, gaussian_copula_run, tmp_path):
    metadata = json.loads(read(synthesize.sibling(gaussian_copula_run, ".metadata.json")))
    metadata["tables"]["table"]["columns"]["direct_reports"] = {"sdtype": "categorical"}
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(metadata))
    frame = synthesize.load_input(wide_csv)
    _, report, _ = synthesize.synthesize(frame.iloc[:400], rows=50, seed=1, metadata=metadata)
    assert report["preparation"]["columns"]["direct_reports"] == "categorical"


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame, extra, message",
    [
        (pd.DataFrame({"a": range(20), "b": ["x", "y"] * 10}), ["--target", "nope"], "target column 'nope'"),
        (pd.DataFrame({"a": range(20), "b": ["x"] * 20}), [], "single value"),
        (pd.DataFrame({"a": [], "b": []}), [], "empty"),
        (pd.DataFrame({"customer_id": [f"C{i}" for i in range(20)]}), [], "only id"),
    ],
    ids=["missing-target", "single-value", "empty", "only-ids"],
)
def test_bad_input_is_one_line_and_exit_2(frame, extra, message, tmp_path, capsys):
    source = storage.write_table(frame, tmp_path / "in.csv")
    output = tmp_path / "out.csv"
    assert run(["--input", source, "--output", str(output), "--quiet", *extra]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1 and "Traceback" not in error
    assert not output.exists()


def test_zero_byte_file_and_unknown_synthesizer_are_user_errors(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert run(["--input", str(empty), "--output", str(tmp_path / "o.csv")]) == 2
    assert "empty" in capsys.readouterr().err
    assert run(["--input", "public:fair_affairs", "--output", "o.csv", "--synthesizer", "gan9"]) == 2


# --- generic metrics ------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from("abcd"), min_size=1, max_size=40),
    st.lists(st.sampled_from("abce"), min_size=1, max_size=40),
)
def test_tvd_is_a_bounded_symmetric_distance(left, right):
    a, b = pd.Series(left), pd.Series(right)
    assert 0 <= tvd(a, b) <= 1 and tvd(a, b) == pytest.approx(tvd(b, a)) and tvd(a, a) == 0


def test_a_copy_of_the_training_rows_is_caught():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=400), "g": rng.choice(list("abc"), 400)})
    training, holdout = real.iloc[:200], real.iloc[200:]
    leaked = dcr_privacy(training, holdout, training.sample(frac=1, random_state=1), seed=0)
    assert leaked["exact_copy_rate"] == 1 and leaked["share_closer_to_training"] > 0.95
    assert leaked["membership_advantage"] > 0.5
    fresh = pd.DataFrame({"x": rng.normal(size=200), "g": rng.choice(list("abc"), 200)})
    clean = dcr_privacy(training, holdout, fresh, seed=0)
    assert exact_copy_rate(fresh, training) == 0 and 0.35 < clean["share_closer_to_training"] < 0.65
    assert column_distances(training, fresh)["distance"].max() < 0.2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 8), min_size=1, max_size=60), st.integers(1, 120), st.integers(0, 2**16))
def test_size_matched_chunks_are_disjoint_whole_groups_of_about_the_size(sizes, size, seed):
    groups = np.repeat(np.arange(len(sizes)), sizes)
    chunks = size_matched_chunks(groups, size, np.random.default_rng(seed))
    rows = np.concatenate(chunks)
    assert len(rows) == len(set(rows)) and len(chunks) >= 1
    for chunk in chunks:
        members = set(groups[chunk])
        assert len(chunk) == sum(sizes[g] for g in members)  # whole groups only
        if len(groups) >= size:
            assert abs(len(chunk) - size) <= max(sizes)
    if all(s == 1 for s in sizes) and len(groups) >= size:  # one row per group: exact sizes
        assert {len(chunk) for chunk in chunks} == {size} and len(chunks) == len(groups) // size


def test_dcr_compares_as_many_people_on_both_sides():
    """Six near-identical rows per person, split by person: a fresh copy must score about 0.5.

    A training subsample of single rows would spread over four times the holdout's people, cover the
    space better, and call a copy that never saw anyone "closer to training" (measured here: 0.68).
    """
    rng = np.random.default_rng(0)

    def people(n: int, first: int) -> tuple[pd.DataFrame, np.ndarray]:
        centres = rng.normal(size=(n, 4))
        rows = np.repeat(centres, 6, axis=0) + rng.normal(scale=0.05, size=(n * 6, 4))
        return pd.DataFrame(rows, columns=list("abcd")), np.repeat(np.arange(first, first + n), 6)

    (training, training_groups), (holdout, holdout_groups) = people(160, 0), people(40, 160)
    fresh, _ = people(160, 200)
    by_person = dcr_privacy(
        training, holdout, fresh, seed=1, training_groups=training_groups, holdout_groups=holdout_groups
    )
    by_row = dcr_privacy(training, holdout, fresh, seed=1)
    assert 0.4 < by_person["share_closer_to_training"] < 0.6 < by_row["share_closer_to_training"]
    assert by_person["compared_chunks"] == 4 and by_person["exact_copy_rate"] == 0


def test_structural_categories_are_those_that_set_a_numeric_level():
    rng = np.random.default_rng(0)
    group = rng.choice(["self", "boss", "peers"], 600)
    frame = pd.DataFrame(
        {
            "group": group,
            "n_raters": np.select([group == "peers", group == "boss"], [5, 1], 1) + rng.integers(0, 2, 600),
            "score": rng.normal(3, 0.5, 600),
            "colour": rng.choice(["red", "blue"], 600),
            "outcome": rng.choice(["yes", "no"], 600),
        }
    )
    columns = {c: {"sdtype": "numerical" if frame[c].dtype.kind in "if" else "categorical"} for c in frame}
    assert structural_categories(frame, columns, exclude=("outcome",)) == ["group"]
    assert structural_categories(frame, columns, exclude=("outcome", "group")) == []


def test_detected_ordinal_scales_are_put_in_natural_order():
    frame = pd.DataFrame(
        {"likert": [3, 4, 5, 2, 1] * 20, "agree": ["agree", "strongly agree", "disagree"] * 33 + ["neutral"]}
    )
    columns = detect_table_metadata(frame, "t")["tables"]["t"]["columns"]
    assert columns["likert"]["range_values"] == [1, 2, 3, 4, 5]


# --- Azure ----------------------------------------------------------------------------------------


@pytest.mark.azure
def test_az_round_trip(azure_env, demo, tmp_path):
    storage.ensure_dir(azure_env)
    source = storage.write_table(demo[1].iloc[:300], storage.join(azure_env, "wide.csv"))
    output = storage.join(azure_env, "copy.csv")
    args = ["--input", source, "--output", output, "--rows", "100", "--cache-dir", str(tmp_path), *WIDE_ARGS]
    assert run(args) == 0
    copy = storage.read_table(output)
    assert len(copy) == 100 and "high_potential" in copy.columns
    report = json.loads(storage.read_bytes(synthesize.sibling(output, ".report.json")))
    assert report["privacy"]["exact_copy_rate"] == 0
    assert storage.exists(synthesize.sibling(output, ".report.html"))
