"""Measuring helpers shared by every benchmark: wall time, peak memory, a table, a JSON file.

    with measure("fit") as m:
        fit(...)
    rows.append(m.row)          # {"step": "fit", "wall_s": ..., "peak_mib": ...}
    report("demographics", rows, baseline="sdv defaults")

Peak memory is the peak of Python allocations seen by ``tracemalloc`` (NumPy and pandas report their
buffers to it), measured per step, so steps compare fairly inside one process.
"""

from __future__ import annotations

import json
import platform
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Measurement:
    """Wall time and peak traced memory of one step, filled in when its ``with`` block ends."""

    step: str
    wall_s: float = 0.0
    peak_mib: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def row(self) -> dict[str, Any]:
        """The measurement as a flat dict for tables and JSON."""
        return {
            "step": self.step,
            "wall_s": round(self.wall_s, 3),
            "peak_mib": round(self.peak_mib, 1),
            **self.extra,
        }


@contextmanager
def measure(step: str, *, trace_memory: bool = True) -> Iterator[Measurement]:
    """Time the block and record its peak traced memory (``trace_memory=False`` for timing alone)."""
    result = Measurement(step)
    started_tracing = trace_memory and not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    if trace_memory:
        tracemalloc.reset_peak()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.wall_s = time.perf_counter() - start
        if trace_memory:
            result.peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        if started_tracing:
            tracemalloc.stop()


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain fixed-width text table of ``rows`` (the union of their keys as columns)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    cells = [[_cell(row.get(column, "")) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells
    ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def report(name: str, rows: Sequence[dict[str, Any]], **context: Any) -> Path:
    """Print ``rows`` as a table and write them with ``context`` to ``bench/results/{name}.json``."""
    print(f"\n== {name} ==")
    for key, value in context.items():
        print(f"{key}: {value}")
    print(format_table(rows))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {
        "benchmark": name,
        "machine": platform.platform(),
        "python": platform.python_version(),
        **context,
        "rows": list(rows),
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    return path
