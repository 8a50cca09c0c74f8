"""Per-customer outcome labels shared by validation parity and fairness."""

import pandas as pd

from utils.chain.outcomes import customer_outcomes


def test_customer_outcomes_labels_each_customer():
    demographics = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "state": ["NY"] * 5,
            "gender": ["male", "female", "male", "female", "male"],
            "race_ethnicity": ["white_nh"] * 5,
            "age_group": ["25-34"] * 5,
        }
    )
    engagements = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c"],
            "event_type": ["impression", "click", "conversion", "impression", "impression"],
        }
    )
    transactions = pd.DataFrame({"customer_id": ["a", "b", "b", "d"], "amount": [500.0, 10.0, 15.0, 1.0]})
    out = customer_outcomes(demographics, engagements, transactions).set_index("customer_id")
    assert out["targeted"].to_dict() == {"a": True, "b": True, "c": True, "d": False, "e": False}
    assert out["converted"].to_dict() == {"a": True, "b": False, "c": False, "d": False, "e": False}
    assert out.loc["a", "high_value"] and not out.loc["e", "high_value"]
    assert out["total_spend"].to_dict() == {"a": 500.0, "b": 25.0, "c": 0.0, "d": 1.0, "e": 0.0}
