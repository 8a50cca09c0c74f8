"""Per-customer outcomes that parity and fairness checks compare across protected groups.

One definition, used by ``validation/validate_data.py`` and ``fairness.py`` alike:
``targeted`` (at least one impression), ``converted`` (at least one conversion) and ``high_value``
(total spend at or above the ``constants.HIGH_VALUE_QUANTILE`` quantile of all customers' spend,
customers without purchases counting as zero).
"""

from __future__ import annotations

import pandas as pd

import constants

OUTCOMES = ("targeted", "converted", "high_value")
GROUP_COLUMNS = ("customer_id", "state", *constants.PROTECTED_ATTRIBUTES)


def customer_outcomes(
    demographics: pd.DataFrame, engagements: pd.DataFrame, transactions: pd.DataFrame
) -> pd.DataFrame:
    """One row per customer: id, state, protected attributes and the boolean outcomes."""
    customers = demographics.loc[:, list(GROUP_COLUMNS)].copy()
    customers["customer_id"] = customers["customer_id"].astype(str)
    events = engagements.loc[:, ["customer_id", "event_type"]].astype({"customer_id": str})
    impressed = set(events.loc[events["event_type"] == "impression", "customer_id"])
    converted = set(events.loc[events["event_type"] == "conversion", "customer_id"])
    spend = transactions.astype({"customer_id": str}).groupby("customer_id")["amount"].sum()
    total_spend = customers["customer_id"].map(spend).fillna(0.0)
    threshold = total_spend.quantile(constants.HIGH_VALUE_QUANTILE)
    customers["targeted"] = customers["customer_id"].isin(impressed)
    customers["converted"] = customers["customer_id"].isin(converted)
    customers["high_value"] = (total_spend >= threshold) & (total_spend > 0)
    customers["total_spend"] = total_spend.round(2)
    return customers
