"""The one randomness scheme: every random draw comes from a generator derived from its coordinates.

A draw is named by ``(seed, stage, partition, purpose)`` — the user's ``--seed``, the stage
(``demographics``, ``consumer_preferences``, ...), the partition (a state, a partition number, a
class of a conditional synthesizer; ``""`` for none) and what the numbers are for (``"synthesizer"``,
``"census_seed"``, ``"match"``...). NumPy's ``SeedSequence`` hashes the coordinates into independent
streams (PopulationSim's ``[base_seed, step_seed]`` idea), so a partition's draws never depend on
the order or the number of partitions generated before it, in one process or on many workers.

    rng = seeding.generator(seed, "marketing_campaigns")
    sdv_seed = seeding.child_seed(seed, "demographics", partition="NY", purpose="synthesizer")
"""

from __future__ import annotations

import zlib

import numpy as np

from utils.core.errors import UserError

MAX_SEED = 2**32 - 1


def check_seed(seed: int) -> int:
    """``seed`` if it is an integer in ``[0, 2**32 - 1]``, else a UserError."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) <= MAX_SEED:
        raise UserError(f"--seed must be an integer from 0 to {MAX_SEED}, got {seed}")
    return int(seed)


def _words(seed: int, stage: str, partition: str | int, purpose: str) -> list[int]:
    names = (str(stage), str(partition), str(purpose))
    return [check_seed(seed), *(zlib.crc32(name.encode("utf-8")) for name in names)]


def sequence(
    seed: int, stage: str, *, partition: str | int = "", purpose: str = ""
) -> np.random.SeedSequence:
    """The ``SeedSequence`` of one draw's coordinates."""
    return np.random.SeedSequence(_words(seed, stage, partition, purpose))


def generator(seed: int, stage: str, *, partition: str | int = "", purpose: str = "") -> np.random.Generator:
    """A NumPy generator for ``(seed, stage, partition, purpose)``: same coordinates, same draws."""
    return np.random.default_rng(sequence(seed, stage, partition=partition, purpose=purpose))


def child_seed(seed: int, stage: str, *, partition: str | int = "", purpose: str = "") -> int:
    """A 31-bit integer seed for libraries that take one (SDV, torch, scikit-learn)."""
    state = sequence(seed, stage, partition=partition, purpose=purpose).generate_state(1, np.uint32)
    return int(state[0]) % 2**31
