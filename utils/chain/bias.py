"""The bias knob: a protected group that targeting and response disfavour on purpose.

Off by default (``constants.BIAS_GROUP = None``). With ``--bias-group gender=female --bias-strength
0.5`` the group's customers are left out of campaign audiences with probability 0.5, and the
campaigns that still treat them cause half the extra purchases (the incremental purchase probability
scaled by 0.5). The group, the strength and the true lift of the group and the others are written
to ``ground_truth.json``, so fairness analysis has a known answer.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd

import constants
from utils.core.cli import UserError


@dataclass(frozen=True)
class Bias:
    """A protected group (``column == value``) and a strength in [0, 1]; strength 0 = no bias."""

    column: str | None = None
    value: str | None = None
    strength: float = 0.0

    @property
    def active(self) -> bool:
        """True when the knob injects something."""
        return self.column is not None and self.strength > 0

    def members(self, customers: pd.DataFrame) -> np.ndarray:
        """Boolean mask of ``customers`` in the group (all False when inactive)."""
        if not self.active:
            return np.zeros(len(customers), dtype=bool)
        return (customers[self.column].astype(str) == self.value).to_numpy()

    def describe(self) -> dict:
        """The knob as JSON-ready ground truth."""
        return {
            "active": self.active,
            "group": {self.column: self.value} if self.column else None,
            "strength": self.strength,
            "mechanism": "targeting exclusion with probability s (left out of campaign audiences); "
            "the incremental purchase probability of treated members scaled by (1 - s)",
        }


def parse_bias(group: str | None, strength: float | None) -> Bias:
    """A :class:`Bias` from ``column=value`` and a strength (defaults from ``constants``)."""
    if group is None and constants.BIAS_GROUP:
        ((column, value),) = constants.BIAS_GROUP.items()
        group = f"{column}={value}"
    strength = constants.BIAS_STRENGTH if strength is None else strength
    if not 0 <= strength <= 1:
        raise UserError(f"--bias-strength must be in [0, 1], got {strength}")
    if not group:
        return Bias(strength=0.0)
    column, sep, value = group.partition("=")
    if not sep or not column.strip() or not value.strip():
        raise UserError(f"--bias-group must look like column=value (e.g. gender=female), got {group!r}")
    if column.strip() not in constants.PROTECTED_ATTRIBUTES:
        raise UserError(f"--bias-group column must be one of {', '.join(constants.PROTECTED_ATTRIBUTES)}")
    return Bias(column.strip(), value.strip(), float(strength))


def add_bias_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--bias-group`` and ``--bias-strength`` (off by default)."""
    parser.add_argument(
        "--bias-group",
        default=None,
        metavar="COLUMN=VALUE",
        help="protected group to disfavour (off by default)",
    )
    parser.add_argument(
        "--bias-strength", type=float, default=None, help="bias strength in [0, 1] (constants.BIAS_STRENGTH)"
    )
    return parser
