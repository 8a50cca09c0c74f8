"""Shared fixtures: small builds, each made once per test session and shared by every test module.

``small_build`` is the folder of a gaussian-copula build of NY and WA (1,000 customers each, seed 7,
census seed of 3,000 rows per state, chain seeds of 1,000 customers, no validation). Tests read it;
a test that changes files copies it to its own ``tmp_path`` first (``copy_build``).
``small_parquet_build`` is a ``--format parquet`` build of NY and WA (600 customers each, three
partitions a state): its chain tables are folders of parts (``engagements/part-00000.parquet``...).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import build_dataset
import constants

SMALL_BUILD = {
    "states": ["NY", "WA"],
    "rows_per_state": 1_000,
    "seed_customers": 1_000,
    "demographic_seed_rows": 3_000,
    "seed": 7,
}
SMALL_PARQUET_BUILD = {
    "states": ["NY", "WA"],
    "rows_per_state": 600,
    "seed_customers": 400,
    "demographic_seed_rows": 1_000,
    "seed": 5,
}
SMALL_PARQUET_PARTITION = 250  # customers per partition: three parts a state


@pytest.fixture(scope="session")
def small_build(tmp_path_factory) -> Path:
    """The shared small dataset folder (read only: copy it before changing anything)."""
    folder = tmp_path_factory.mktemp("small_build") / "data"
    build_dataset.build_dataset(out_dir=str(folder), validate=False, **SMALL_BUILD)
    return folder


@pytest.fixture(scope="session")
def small_parquet_build(tmp_path_factory) -> Path:
    """A shared parquet build whose tables are folders of parts (read only: copy it before changing)."""
    folder = tmp_path_factory.mktemp("small_parquet_build") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "PARTITION_CUSTOMERS", SMALL_PARQUET_PARTITION)
        build_dataset.build_dataset(out_dir=str(folder), fmt="parquet", validate=False, **SMALL_PARQUET_BUILD)
    return folder


@pytest.fixture
def copy_build(small_build, tmp_path) -> Path:
    """A private copy of the shared build that a test may change."""
    target = tmp_path / "data"
    shutil.copytree(small_build, target, ignore=shutil.ignore_patterns(".lock"))
    return target
