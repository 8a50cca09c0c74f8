"""Customer partitions: the unit of work of the chain stages (preferences, marketing, transactions).

A customer belongs to one partition: its state, and a hash of its ``customer_id`` modulo the number
of parts of that state (``ceil(customers of the state / constants.PARTITION_CUSTOMERS)``). Every row
of the chain (a preference row, an audience row, an engagement, a purchase) belongs to its customer's
partition, so a partition is generated from its own customers alone, with the models and campaigns
fitted once for the whole build, and draws from ``(seed, stage, partition)``: the output is the same
whether the partitions run one after the other in one process or as tasks on a Dask cluster.

    plan = partitions.plan({"NY": 166_667, "TX": 166_667})   # 7 parts per state at 25,000
    rows = partitions.members(demographics, plan[0])           # NY's first part, in file order

Seed samples (the customers a stage simulates behaviour for, to fit its synthesizer on) are also
chosen by hash (:func:`seed_mask`, from :mod:`utils.core.datasets`, where the readers' customer
samples use it too), so the same customers are chosen whether the whole table is in memory or read
partition by partition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

import constants
from utils.core.datasets import hash_ids
from utils.core.datasets import seed_mask as seed_mask  # the stages' seed samples: partitions.seed_mask

PART_NAME = "part-{:05d}"  # a partitioned table's file inside its folder: engagements/part-00000.parquet
_BUCKET_KEY = "customer-bucket0"  # 16 characters: pandas' hash key of the partition buckets


@dataclass(frozen=True)
class Partition:
    """One partition: ``index`` (its place in the build, its files' number), its state, the hash
    bucket ``part`` of ``parts`` of that state, and ``total``: the customers of the whole build (a
    partition's share of a seed sample follows from it). ``label`` names it in the randomness scheme."""

    index: int
    state: str
    part: int
    parts: int
    total: int

    @property
    def label(self) -> str:
        return f"{self.state}-{self.part}"

    @property
    def file_stem(self) -> str:
        return PART_NAME.format(self.index)


def parts_of(customers: int, size: int | None = None) -> int:
    """How many partitions a state of ``customers`` customers is cut into (at least one); ``size``:
    customers per partition (default ``constants.PARTITION_CUSTOMERS``)."""
    size = constants.PARTITION_CUSTOMERS if size is None else size
    if size < 1:
        raise ValueError("partition size must be positive")
    return max(1, math.ceil(customers / size))


def plan(state_counts: Mapping[str, int], size: int | None = None) -> list[Partition]:
    """The partitions of a build, states in sorted order (as the loaders read them), then buckets."""
    out: list[Partition] = []
    total = int(sum(state_counts.values()))
    for state in sorted(state_counts):
        parts = parts_of(int(state_counts[state]), size)
        out += [Partition(len(out) + part, state, part, parts, total) for part in range(parts)]
    return out


def plan_of(demographics: pd.DataFrame, size: int | None = None) -> list[Partition]:
    """The partitions of a demographics table (customers counted per state)."""
    counts = demographics["state"].astype(str).value_counts()
    return plan({str(state): int(count) for state, count in counts.items()}, size)


def bucket(customer_ids: Sequence, parts: int) -> np.ndarray:
    """Each customer's hash bucket in ``0..parts-1`` (the same for the same id, whatever the seed)."""
    return (hash_ids(customer_ids, _BUCKET_KEY) % np.uint64(parts)).astype(np.int64)


def members(demographics: pd.DataFrame, partition: Partition) -> np.ndarray:
    """Boolean mask of the demographics rows (customers) in ``partition``."""
    mask = (demographics["state"].astype(str) == partition.state).to_numpy()
    if partition.parts > 1:
        inside = np.flatnonzero(mask)
        mask[inside] = (
            bucket(demographics["customer_id"].to_numpy()[inside], partition.parts) == partition.part
        )
    return mask


def seed_rate(wanted: int, partition: Partition) -> float:
    """The probability with which each customer joins a seed sample of about ``wanted`` customers."""
    return min(1.0, wanted / max(partition.total, 1))
