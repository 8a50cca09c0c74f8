"""A stage's peak memory covers what ran between its in-process partition tasks."""

from __future__ import annotations

import numpy as np
import pytest

from utils.core import memory


def test_the_peak_since_the_mark_keeps_what_a_task_reset_forgot():
    memory.mark()
    if not memory.reset_peak():
        pytest.skip("this kernel cannot reset the peak-RSS counter")
    baseline = memory.peak_mib()
    block = np.ones(64 * 2**20 // 8 * 4)  # 256 MiB, touched: the fit between two tasks
    del block
    memory.reset_peak()  # the next in-process task starts
    assert memory.peak_mib() < baseline + 128  # the task's own peak does not see the block
    assert memory.peak_since_mark() >= baseline + 200  # the stage's peak does
    memory.mark()  # the next stage starts: the block is forgotten
    assert memory.peak_since_mark() < baseline + 128
