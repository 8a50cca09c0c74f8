"""This process's peak resident memory, resettable on Linux: what the manifest and the partition tasks
report per stage and per task.

A partition task run in this process resets the counter when it starts (its own peak); what the
counter had reached is kept, so a stage's peak (:func:`mark`, then :func:`peak_since_mark`) still
covers the fits between its tasks."""

from __future__ import annotations

import resource
from pathlib import Path

_peak_before_reset = 0.0  # MiB: the highest the counter reached before its last reset since the mark


def mark() -> None:
    """Start a span for :func:`peak_since_mark` (and reset the counter)."""
    global _peak_before_reset
    reset_peak()
    _peak_before_reset = 0.0


def peak_since_mark() -> float:
    """Peak resident memory since the last :func:`mark`, across the resets in between, in MiB."""
    return max(_peak_before_reset, peak_mib())


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux); False where not possible."""
    global _peak_before_reset
    _peak_before_reset = max(_peak_before_reset, peak_mib())
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mib() -> float:
    """Peak resident memory of this process (since the last reset where supported), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
