"""Iterative proportional fitting (raking) of a joint table to marginal and cross-tab targets.

The method of population synthesizers such as PopulationSim and humanleague: start from a *prior*
joint (uniform, or with known structure such as structural zeros) and rescale it, one target at a
time, until every target margin holds. The result is the joint closest to the prior (in
Kullback-Leibler divergence) among those that honour all the targets.

Two extensions are needed for census tables whose universes differ:

- a **cell weight** per constraint: the margin is taken over ``weight * joint``. A 0/1 weight
  restricts a target to a universe (education is published for ages 25+ only); a headship rate per
  age turns a person table into a household table (income of households by age of householder). The
  update rescales only the cells with a positive weight, so cells outside the universe are left to
  the other targets.
- a **grouping** of an axis: a target may be published on coarser categories than the joint (B19037
  reports four householder age bands, the joint carries 13 age cells).

:func:`integerise` turns the fitted joint into whole rows reproducibly (truncate, replicate, sample).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Constraint:
    """A target margin of the joint.

    ``axes`` are the joint axes kept in the margin, in the order of ``target``'s dimensions;
    ``groups`` maps a kept axis to an array giving the target category of each joint category;
    ``weight`` (broadcastable to the joint) weights the cells; ``target`` holds counts or shares (only
    its proportions matter); ``given`` makes it a conditional target (see :meth:`shares`), for a
    table whose universe disagrees with another target on the ``given`` margin.
    """

    name: str
    axes: tuple[int, ...]
    target: np.ndarray
    weight: np.ndarray | None = None
    groups: Mapping[int, np.ndarray] = field(default_factory=dict)
    given: tuple[int, ...] = ()

    def shares(self, margin: np.ndarray) -> np.ndarray:
        """Target shares; with ``given`` (positions in ``axes``), the current mass of those categories
        is kept and only the distribution within each of them is taken from ``target``."""
        if not self.given:
            return self.target / self.target.sum()
        within = tuple(position for position in range(self.target.ndim) if position not in self.given)
        with np.errstate(divide="ignore", invalid="ignore"):
            conditional = np.nan_to_num(self.target / self.target.sum(axis=within, keepdims=True))
        return conditional * margin.sum(axis=within, keepdims=True) / margin.sum()


@dataclass(frozen=True)
class IPFResult:
    """The fitted joint (sums to 1), the sweeps used and the worst remaining margin error (TVD)."""

    joint: np.ndarray
    iterations: int
    max_error: float
    errors: dict[str, float]


def _margin(weighted: np.ndarray, constraint: Constraint) -> np.ndarray:
    """Margin of ``weighted`` on the constraint's axes, with grouped axes aggregated."""
    others = tuple(axis for axis in range(weighted.ndim) if axis not in constraint.axes)
    margin = weighted.sum(axis=others)
    # sum() keeps the kept axes in increasing order; put them in the constraint's order.
    order = sorted(constraint.axes)
    margin = np.transpose(margin, [order.index(axis) for axis in constraint.axes])
    for position, axis in enumerate(constraint.axes):
        if axis in constraint.groups:
            groups = constraint.groups[axis]
            moved = np.moveaxis(margin, position, 0)
            grouped = np.zeros((int(groups.max()) + 1, *moved.shape[1:]))
            np.add.at(grouped, groups, moved)
            margin = np.moveaxis(grouped, 0, position)
    return margin


def _expand(factor: np.ndarray, constraint: Constraint, ndim: int) -> np.ndarray:
    """Broadcast a factor on the (grouped) margin back onto the joint's shape."""
    for position, axis in enumerate(constraint.axes):
        if axis in constraint.groups:
            factor = np.take(factor, constraint.groups[axis], axis=position)
    order = sorted(constraint.axes)
    factor = np.transpose(factor, [constraint.axes.index(axis) for axis in order])
    shape = [1] * ndim
    for axis in order:
        shape[axis] = factor.shape[order.index(axis)]
    return factor.reshape(shape)


def margin_error(joint: np.ndarray, constraint: Constraint) -> float:
    """Total variation distance between the joint's weighted margin and the constraint's target."""
    weighted = joint if constraint.weight is None else joint * constraint.weight
    margin = _margin(weighted, constraint)
    return 0.5 * float(np.abs(margin / margin.sum() - constraint.shares(margin)).sum())


def ipf(
    prior: np.ndarray, constraints: Sequence[Constraint], *, max_iter: int = 500, tol: float = 1e-7
) -> IPFResult:
    """Rake ``prior`` until every constraint's weighted margin matches its target (TVD < ``tol``).

    Each step multiplies the cells of one target category by ``target share / current share`` of the
    weighted margin; cells with zero weight are not touched, so the universe's total weight is kept.
    A target category with no prior mass cannot be reached and is left as it is (its error remains).
    When targets disagree slightly the sweeps stop once they no longer reduce the worst error.
    """
    joint = np.asarray(prior, dtype=float) / float(np.sum(prior))
    iterations, previous = 0, np.inf
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the last value is reported
        for constraint in constraints:
            weighted = joint if constraint.weight is None else joint * constraint.weight
            margin = _margin(weighted, constraint)
            share = constraint.shares(margin)
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(margin > 0, share * margin.sum() / margin, 1.0)
            factor = _expand(factor, constraint, joint.ndim)
            if constraint.weight is None:
                joint = joint * factor
            else:
                joint = np.where(constraint.weight > 0, joint * factor, joint)
            joint /= joint.sum()
        errors = {constraint.name: margin_error(joint, constraint) for constraint in constraints}
        # Stop when every target holds, or when targets that disagree slightly (different surveys of
        # overlapping universes) have settled on their compromise and a sweep no longer improves it.
        if max(errors.values()) < tol or previous - max(errors.values()) < tol * 1e-2:
            break
        previous = max(errors.values())
    return IPFResult(joint=joint, iterations=iterations, max_error=max(errors.values()), errors=errors)


def integerise(joint: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """Whole-row counts per cell summing to ``rows``: truncate, replicate, then sample the remainder.

    Each cell gets ``floor(rows * p)``; the rows still missing go to distinct cells chosen by
    systematic sampling with probability exactly equal to their fractional parts (one random start,
    cells in C order). The counts are unbiased, never more than one away from ``rows * p``, and any
    block of cells that is contiguous in C order (e.g. a value of the first axes) gets its expected
    count to within one: the leading axes are implicitly stratified. The same ``rng`` state gives the
    same counts.
    """
    expected = joint.ravel() * rows / joint.sum()
    counts = np.floor(expected).astype(np.int64)
    fraction = expected - counts
    missing = rows - int(counts.sum())
    if missing > 0:
        cumulative = np.cumsum(fraction)
        cumulative *= missing / cumulative[-1]  # absorb rounding error in the sum
        points = rng.random() + np.arange(missing)
        chosen = np.searchsorted(cumulative, points, side="right")
        counts[np.minimum(chosen, counts.size - 1)] += 1
    return counts.reshape(joint.shape)
