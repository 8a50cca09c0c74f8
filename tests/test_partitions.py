"""Customer partitions: every customer in exactly one, bounded sizes, choices that do not depend on
which other customers are read; the stage scripts (whole tables in memory) and the build (partition
by partition from its staging folder) make the same rows; a large folder is validated on a sample
of customers with all their rows, read chunk by chunk (``utils.core.datasets.load_sampled``)."""

from __future__ import annotations

import filecmp
import shutil

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import marketing
import transaction
from utils.chain import partitions
from utils.chain.rules import check_rules
from utils.core import datasets, runs, schema
from validation.loading import load_folder
from validation.realism_metrics import Data


def _demographics(counts: dict[str, int]) -> pd.DataFrame:
    ids = [f"{state}-{i:07d}" for state, n in counts.items() for i in range(1, n + 1)]
    states = [state for state, n in counts.items() for _ in range(n)]
    return pd.DataFrame({"customer_id": ids, "state": states})


@settings(max_examples=25, deadline=None)
@given(
    counts=st.dictionaries(st.sampled_from(["NY", "TX", "WA", "CA"]), st.integers(1, 3_000), min_size=1),
    size=st.integers(50, 2_000),
)
def test_every_customer_is_in_exactly_one_partition_of_bounded_size(counts, size):
    frame = _demographics(counts)
    plan = partitions.plan_of(frame, size)
    assert [p.index for p in plan] == list(range(len(plan)))
    assert [p.state for p in plan] == sorted(p.state for p in plan)  # states in sorted order
    membership = np.stack([partitions.members(frame, p) for p in plan])
    assert (membership.sum(axis=0) == 1).all()
    for partition, mask in zip(plan, membership, strict=True):
        assert set(frame.loc[mask, "state"]) <= {partition.state}
        assert partition.total == len(frame)
        # a hash bucket holds about state / parts customers: binomial, far under twice the size
        expected = counts[partition.state] / partition.parts
        assert mask.sum() <= expected + 6 * np.sqrt(expected) + 1
        assert partition.parts == partitions.parts_of(counts[partition.state], size)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5_000), seed=st.integers(0, 2**32 - 1), rate=st.floats(0.01, 1.0))
def test_a_seed_sample_choice_does_not_depend_on_the_other_customers(n, seed, rate):
    ids = pd.Series([f"NY-{i:07d}" for i in range(n)])
    chosen = partitions.seed_mask(ids, seed=seed, purpose="x", rate=rate)
    half = ids.iloc[::2]
    assert (partitions.seed_mask(half, seed=seed, purpose="x", rate=rate) == chosen[::2]).all()
    assert (partitions.bucket(half, 7) == partitions.bucket(ids, 7)[::2]).all()
    if n >= 2_000:  # a binomial count: within 5 standard deviations (and a few for the rare ends)
        assert abs(chosen.sum() - n * rate) < 5 * np.sqrt(n * rate * (1 - rate)) + 3
    other = partitions.seed_mask(ids, seed=seed, purpose="y", rate=rate)
    if n >= 2_000 and 0.1 < rate < 0.9:
        assert (other != chosen).any()  # another purpose, another sample


def test_stage_scripts_rerun_on_a_build_give_its_bytes(small_build, tmp_path):
    """marketing.py and transaction.py hold whole tables and run the partitions one after another;
    the build ran them from its staging folder: the same seed gives the same files."""
    folder = tmp_path / "data"
    shutil.copytree(small_build, folder, ignore=shutil.ignore_patterns(".lock"))
    same = ["--data-dir", str(folder), "--seed", "7", "--seed-customers", "1000", "--quiet"]  # SMALL_BUILD's
    marketing.main(same)
    transaction.main(same)
    names = ["engagements.csv", "campaign_audience.csv", "transactions.csv", "ground_truth.json"]
    names += [f"{schema.TRUTH_FOLDER}/{name}.csv" for name in ("effects", "attribution", "lifecycle")]
    _, mismatch, errors = filecmp.cmpfiles(small_build, folder, names, shallow=False)
    assert mismatch == [] and errors == []
    assert runs.lineage_problems(str(folder)) == []


def test_a_large_folder_is_validated_on_a_sample_of_customers(small_build):
    whole = load_folder(small_build, max_customers=None)
    sample = load_folder(small_build, max_customers=500, seed=3)
    assert whole.sampled is None and sample.sampled["of"] == 2_000
    customers = set(sample.tables["demographics"]["customer_id"])
    assert 350 < len(customers) < 650
    assert sample.sampled["rows_read"]["engagements"] == len(whole.tables["engagements"])
    for name in ("consumer_preferences", "campaign_audience", "engagements", "transactions"):
        sampled, full = sample.tables[name], whole.tables[name]
        assert set(sampled["customer_id"]) <= customers
        mine = full[full["customer_id"].isin(customers)]
        assert len(sampled) == len(mine)  # every row of the sampled customers, nothing else
    assert len(sample.tables["marketing_campaigns"]) == len(whole.tables["marketing_campaigns"])
    share = len(customers) / 2_000  # the sample's share of the spend: costs per impression keep their scale
    assert whole.spend_share() == 1.0 and sample.spend_share() == share
    full = whole.tables["marketing_campaigns"]["budget"]
    assert sample.tables["marketing_campaigns"]["budget"].equals(full)  # the seed comparison sees them whole
    budgets = Data(sample.tables, spend_share=sample.spend_share()).campaigns["budget"]
    assert np.allclose(budgets / full.to_numpy(float), share)
    assert {r.name: r.violations for r in check_rules(sample.tables) if r.violations} == {}
    again = load_folder(small_build, max_customers=500, seed=3)
    assert set(again.tables["demographics"]["customer_id"]) == customers


def test_a_customer_sample_reads_every_row_of_its_customers_and_no_other(small_parquet_build, monkeypatch):
    folder = small_parquet_build
    assert datasets.sample_customers(folder, max_customers=1_200, seed=3) is None  # 1,200: not above
    assert datasets.sample_customers(folder, max_customers=None, seed=3) is None
    sample = datasets.sample_customers(folder, max_customers=400, seed=3)
    assert sample.of == 1_200 and 250 < sample.customers < 550 and sample.seed == 3
    again = datasets.sample_customers(folder, max_customers=400, seed=3)
    assert again.ids == sample.ids  # the same seed, the same customers
    assert datasets.sample_customers(folder, max_customers=400, seed=4).ids != sample.ids
    whole_reads, real_read = [], datasets.read_file

    def read_file(path, columns=None):  # records every whole read
        whole_reads.append(path)
        return real_read(path, columns)

    monkeypatch.setattr(datasets, "read_file", read_file)
    for name in schema.TABLE_NAMES:
        full = datasets.plain_dtypes(datasets.load_dataset(folder, name))
        frame, read = datasets.load_sampled(folder, name, sample)
        assert read == len(full)
        if name == schema.CAMPAIGNS:  # no customers: read whole
            pd.testing.assert_frame_equal(datasets.plain_dtypes(frame), full)
            continue
        mine = full[full["customer_id"].astype(str).isin(sample.ids)].reset_index(drop=True)
        pd.testing.assert_frame_equal(frame, mine)  # every row of the sampled customers, in order
        assert set(frame["customer_id"]) <= sample.ids
        columns, _ = datasets.load_sampled(folder, name, sample, ["customer_id"])
        assert list(columns.columns) == ["customer_id"] and len(columns) == len(mine)
    whole_reads.clear()
    for name in schema.PARTITIONED_TABLES:
        datasets.load_sampled(folder, name, sample)
        assert (folder / name).is_dir()
    assert whole_reads == []  # a folder of parts is read part by part, never whole
    frame, read = datasets.load_sampled(folder, "engagements", None)  # no sample: every row
    assert len(frame) == read == len(datasets.load_dataset(folder, "engagements"))


def test_a_parquet_build_is_a_folder_of_parts_per_partition(tmp_path, monkeypatch):
    import build_dataset
    import constants
    from utils.core.datasets import load_dataset, load_demographics, load_truth, plain_dtypes
    from utils.core.loader import DataLoader

    monkeypatch.setattr(constants, "PARTITION_CUSTOMERS", 250)  # 3 partitions a state
    folder = tmp_path / "data"
    rows = build_dataset.build_dataset(
        states=["NY", "WA"], rows_per_state=600, seed_customers=400, demographic_seed_rows=1_000, seed=5,
        out_dir=str(folder), fmt="parquet", validate=False,
    )  # fmt: skip
    demographics = load_demographics(folder)
    plan = partitions.plan_of(demographics)
    assert [p.label for p in plan] == ["NY-0", "NY-1", "NY-2", "WA-0", "WA-1", "WA-2"]
    for name in schema.PARTITIONED_TABLES:
        parts = sorted((folder / name).glob("part-*.parquet"))
        assert [p.name for p in parts] == [f"part-{i:05d}.parquet" for i in range(len(plan))]
        for partition, part in zip(plan, parts, strict=True):
            ids = set(pd.read_parquet(part)["customer_id"])
            members = set(demographics.loc[partitions.members(demographics, partition), "customer_id"])
            assert ids <= members  # a part holds its partition's customers only
        assert len(load_dataset(folder, name)) == rows[name]
    loader = DataLoader(cache_dir=str(tmp_path / "cache"))
    engagements = loader.load(folder / "engagements", columns=["engagement_id", "customer_id"])
    assert len(engagements) == rows["engagements"] and engagements["engagement_id"].is_unique
    assert sum(len(chunk) for chunk in loader.iter_chunks(folder / "engagements")) == rows["engagements"]
    effects = load_truth(folder, "effects")
    assert len(effects) == rows["campaign_audience"]
    assert len(sorted((folder / "ground_truth" / "effects").glob("part-*.parquet"))) == len(plan)
    tables = {name: plain_dtypes(load_dataset(folder, name)) for name in schema.TABLE_NAMES}
    assert {r.name: r.violations for r in check_rules(tables) if r.violations} == {}
    assert runs.lineage_problems(str(folder)) == []
    (folder / "engagements" / "part-00001.parquet").unlink()  # a lost part is a mixed folder
    assert any("part-00001" in problem for problem in runs.lineage_problems(str(folder)))
