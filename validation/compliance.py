"""Business-rule compliance: every rule of :mod:`utils.rules`, declared once, checked here.

One check per rule whose tables are present (100 % compliance is the bar), with the number of
violating rows and a few example keys; rules whose tables are missing are reported as skipped.
"""

from __future__ import annotations

import pandas as pd

from utils.chain import rules
from validation.checks import SKIP, Check, verdict


def rule_checks(tables: dict[str, pd.DataFrame]) -> tuple[list[Check], list[dict]]:
    """One :class:`Check` per rule, and the JSON-ready results (with examples)."""
    checks, results = [], []
    for result in rules.check_rules(tables):
        detail = result.description
        if result.violations:
            detail = f"{result.violations:,} violating row(s), e.g. {result.examples[:3]}"
        status = verdict(result.violations == 0)
        checks.append(Check("rules", result.name, status, result.violations, 0, detail))
        results.append(
            {
                "rule": result.name,
                "description": result.description,
                "violations": result.violations,
                "examples": result.examples,
            }
        )
    for rule in rules.RULES:
        if rule not in rules.applicable_rules(list(tables)):
            missing = ", ".join(sorted(set(rule.tables) - set(tables)))
            checks.append(Check("rules", rule.name, SKIP, detail=f"table(s) not found: {missing}"))
    return checks, results
