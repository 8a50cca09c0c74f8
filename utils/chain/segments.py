"""Who belongs to a campaign's target segment: one rule, used by targeting and by validation.

    from utils.chain.segments import segment_mask
    members = segment_mask(customers, "seniors")   # customers: demographics joined to preferences

``customers`` needs ``age``, ``price_sensitivity`` and ``brand_loyalty`` (demographics joined to
consumer preferences on ``customer_id``). Segment names are :data:`utils.core.schema.SEGMENTS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from utils.core.schema import SEGMENTS

YOUNG_BELOW_AGE = 35  # young_adults: age < 35
SENIOR_FROM_AGE = 55  # middle_aged: 35 <= age < 55; seniors: age >= 55
VALUE_SEEKER_PRICE_SENSITIVITY = 0.5  # value_seekers: price_sensitivity >= 0.5
LOYAL_BRAND_LOYALTY = 0.45  # loyal_customers: brand_loyalty >= 0.45


def segment_mask(customers: pd.DataFrame, segment: str) -> np.ndarray:
    """Boolean mask of the rows of ``customers`` in ``segment`` (a ValueError for an unknown one)."""
    if segment not in SEGMENTS:
        raise ValueError(f"unknown target segment {segment!r}")
    if segment == "all_adults":
        return np.ones(len(customers), dtype=bool)
    if segment in ("young_adults", "middle_aged", "seniors"):
        age = customers["age"].to_numpy()
        if segment == "young_adults":
            return age < YOUNG_BELOW_AGE
        if segment == "middle_aged":
            return (age >= YOUNG_BELOW_AGE) & (age < SENIOR_FROM_AGE)
        return age >= SENIOR_FROM_AGE
    if segment == "value_seekers":
        return customers["price_sensitivity"].to_numpy() >= VALUE_SEEKER_PRICE_SENSITIVITY
    return customers["brand_loyalty"].to_numpy() >= LOYAL_BRAND_LOYALTY
