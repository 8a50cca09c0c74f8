"""The options of a build, as one keyword-only, validated object shared by every stage.

    config = ChainConfig(states=["NY", "TX"], rows_per_state=2_000, seed=7)
    result = consumer.generate({"demographics": demographics}, config)

Every field is checked when the object is made (a :class:`~utils.core.errors.UserError` names the
bad one), so a build fails on bad input before any fitting. Each stage reads the fields it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

import constants
from utils.census import tables as census
from utils.chain.bias import Bias
from utils.core import seeding
from utils.core.errors import UserError


@dataclass(frozen=True, kw_only=True)
class ChainConfig:
    """What to build: size, synthesizer, randomness, seed sizes, bias, and the user's own seed tables."""

    states: Sequence[str] = tuple(constants.STATES)
    rows_per_state: int = constants.DEFAULT_ROWS_PER_STATE
    synthesizer: str = constants.DEFAULT_SYNTHESIZER
    seed: int = constants.DEFAULT_SEED
    epochs: int | None = None  # CTGAN / TVAE training epochs (None: constants.MODEL_PARAMETERS)
    device: str = constants.DEFAULT_DEVICE  # where CTGAN / TVAE train: auto, cpu, cuda
    seed_customers: int = constants.CHAIN_SEED_CUSTOMERS  # customers in each chain stage's seed
    demographic_seed_rows: int = constants.DEMOGRAPHIC_SEED_ROWS_PER_STATE
    bias: Bias = field(default_factory=Bias)
    seed_data: pd.DataFrame | None = field(default=None, repr=False)  # the user's table for one stage
    seed_campaigns: pd.DataFrame | None = field(default=None, repr=False)  # marketing: real campaigns
    start: str = constants.DEFAULT_START  # first day of the period (ISO date)
    end: str = constants.DEFAULT_END  # last day of the period, inclusive
    campaigns: int | None = None  # campaigns in the period (None: CAMPAIGNS_PER_YEAR a year)
    holdout_share: float = constants.HOLDOUT_SHARE  # share of each campaign's audience in control
    progress: bool = False

    def __post_init__(self) -> None:
        start, end = _date(self.start, "--start"), _date(self.end, "--end")
        if end < start:
            raise UserError(f"--end {end.date()} is before --start {start.date()}")
        if (end - start).days >= 366 * constants.MAX_PERIOD_YEARS:
            raise UserError(f"the period may span at most {constants.MAX_PERIOD_YEARS} years")
        object.__setattr__(self, "start", str(start.date()))
        object.__setattr__(self, "end", str(end.date()))
        if self.campaigns is not None:
            _positive(self.campaigns, "--campaigns")
        share = self.holdout_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < 1:
            raise UserError(f"--holdout-share must be a number in [0, 1), got {share!r}")
        checked = [census.check_state(state) for state in self.states]
        if not checked:
            raise UserError("no states given")
        object.__setattr__(self, "states", tuple(dict.fromkeys(checked)))
        _positive(self.rows_per_state, "rows per state")
        _positive(self.seed_customers, "seed customers")
        _positive(self.demographic_seed_rows, "demographic seed rows")
        if self.synthesizer not in constants.SYNTHESIZERS:
            choices = ", ".join(constants.SYNTHESIZERS)
            raise UserError(f"unknown synthesizer {self.synthesizer!r}: choose one of {choices}")
        seeding.check_seed(self.seed)
        if self.epochs is not None:
            _positive(self.epochs, "--epochs")
        if self.device not in constants.DEVICES or (
            self.device == "cuda" and self.synthesizer != "gaussian_copula"
        ):
            from utils.synth.models import use_gpu

            use_gpu(self.device)  # an unknown device, or cuda without CUDA: one clear error before any work
        if not isinstance(self.bias, Bias):
            raise UserError("bias must be a utils.chain.bias.Bias")

    @property
    def period_days(self) -> int:
        """Days in the period, both ends included."""
        return (pd.Timestamp(self.end) - pd.Timestamp(self.start)).days + 1

    @property
    def campaign_count(self) -> int:
        """Campaigns the build makes: ``campaigns``, or CAMPAIGNS_PER_YEAR per year of the period."""
        if self.campaigns is not None:
            return self.campaigns
        return max(1, round(constants.CAMPAIGNS_PER_YEAR * self.period_days / 365.25))

    @property
    def customers(self) -> int:
        """Customers the build makes (states x rows per state)."""
        return len(self.states) * self.rows_per_state

    def describe(self) -> dict:
        """The config as JSON for the manifest (seed tables by size only)."""
        return {
            "states": list(self.states),
            "rows_per_state": self.rows_per_state,
            "synthesizer": self.synthesizer,
            "epochs": self.epochs,
            "device": self.device,
            "seed_customers": self.seed_customers,
            "demographic_seed_rows": self.demographic_seed_rows,
            "bias": self.bias.describe(),
            "seed_data_rows": None if self.seed_data is None else len(self.seed_data),
            "start": self.start,
            "end": self.end,
            "campaigns": self.campaign_count,
            "holdout_share": self.holdout_share,
        }


def _date(value, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = None
    if stamp is None or pd.isna(stamp) or stamp != stamp.normalize():
        raise UserError(f"{what} must be a date such as 2024-01-01, got {value!r}")
    return stamp


def _positive(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UserError(f"{what} must be a positive integer, got {value}")
    return value
