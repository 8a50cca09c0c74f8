"""The business rules of the linked dataset, each declared once.

A :class:`Rule` names the tables it needs and a ``check`` that returns the violating rows (with their
key columns). Generators assert ``0`` violations before they write; ``validation/validate_data.py``
reports with the same :func:`check_rules`::

    results = check_rules({"demographics": demo, "engagements": events, "marketing_campaigns": camps})
    assert all(result.violations == 0 for result in results)

Tables are keyed by their logical names (``utils.core.schema.TABLES``; ``demographics`` is all states
concatenated). A rule whose tables are not all given is skipped (not reported).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import constants
from utils.core import schema
from utils.core.schema import (
    CODE_RESPONSE_CHANNELS,
    EVENT_TYPES,
    IMPRESSION_ONLY_CHANNELS,
    OPEN_CHANNELS,
)

Tables = Mapping[str, pd.DataFrame]
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Rule:
    """One business rule: ``check(tables)`` returns the rows that break it (empty when it holds)."""

    name: str
    description: str
    tables: tuple[str, ...]
    check: Callable[[Tables], pd.DataFrame]


@dataclass
class RuleResult:
    """How one rule fared: the number of violating rows and a few of them as dicts."""

    name: str
    description: str
    violations: int
    examples: list[dict] = field(default_factory=list)


def _times(values: pd.Series) -> pd.Series:
    """A column of timestamps or dates as ``datetime64`` (CSV files hold them as text)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]")
    return pd.to_datetime(values, format="mixed").astype("datetime64[ns]")


def _day_end(values: pd.Series) -> pd.Series:
    """The last second of each date (a campaign runs through its whole end date)."""
    return _times(values).dt.normalize() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)


# --- Rule factories: one rule per key, per link, per range ----------------------------------------


def unique_key(table: str, column: str) -> Rule:
    """``table.column`` is a primary key: present and unique."""

    def check(tables: Tables) -> pd.DataFrame:
        frame = tables[table]
        bad = frame[column].isna() | frame[column].duplicated(keep=False)
        return frame.loc[bad, [column]]

    return Rule(f"{table}.{column} unique", f"{table}.{column} is a non-null unique key", (table,), check)


def foreign_key(table: str, column: str, parent: str, parent_column: str, optional: bool = False) -> Rule:
    """Every (non-null, if ``optional``) ``table.column`` resolves to a row of ``parent``."""

    def check(tables: Tables) -> pd.DataFrame:
        frame = tables[table]
        values = frame[column]
        keys = set(tables[parent][parent_column].astype(str))
        bad = ~values.astype(str).isin(keys)
        bad &= values.notna() if optional else True
        if not optional:
            bad |= values.isna()
        return frame.loc[bad, [column]]

    kind = "optional " if optional else ""
    return Rule(
        f"{table}.{column} -> {parent}",
        f"every {kind}{table}.{column} resolves to {parent}.{parent_column}",
        (table, parent),
        check,
    )


def in_range(table: str, column: str, low: float | None, high: float | None, key: str) -> Rule:
    """``low <= table.column <= high`` (either bound may be None), no missing values."""

    def check(tables: Tables) -> pd.DataFrame:
        frame = tables[table]
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna()
        if low is not None:
            bad |= values < low
        if high is not None:
            bad |= values > high
        return frame.loc[bad, [key, column]]

    parts = [f">= {low}" if low is not None else "", f"<= {high}" if high is not None else ""]
    bounds = " and ".join(part for part in parts if part)
    return Rule(f"{table}.{column} range", f"{table}.{column} {bounds}", (table,), check)


# --- Rules that look across columns or tables ------------------------------------------------------


def _amount_positive(tables: Tables) -> pd.DataFrame:
    frame = tables["transactions"]
    bad = ~(pd.to_numeric(frame["amount"], errors="coerce") > 0)
    return frame.loc[bad, ["transaction_id", "amount"]]


def _dates_ordered(tables: Tables) -> pd.DataFrame:
    frame = tables["marketing_campaigns"]
    bad = ~(_times(frame["start_date"]) <= _times(frame["end_date"]))
    return frame.loc[bad, ["campaign_id", "start_date", "end_date"]]


def _event_types(tables: Tables) -> pd.DataFrame:
    frame = tables["engagements"]
    return frame.loc[~frame["event_type"].isin(EVENT_TYPES), ["engagement_id", "event_type"]]


def _inside_window(tables: Tables) -> pd.DataFrame:
    events = tables["engagements"]
    campaigns = tables["marketing_campaigns"].drop_duplicates("campaign_id").set_index("campaign_id")
    campaign = events["campaign_id"]
    start = campaign.map(_times(campaigns["start_date"]).dt.normalize())
    end = campaign.map(_day_end(campaigns["end_date"]))
    stamp = _times(events["timestamp"])
    bad = ~((stamp >= start) & (stamp <= end))
    return events.loc[bad, ["engagement_id", "campaign_id", "timestamp"]]


def _funnel_counts(events: pd.DataFrame) -> pd.DataFrame:
    """Per (customer, campaign): its channel and the number of events of each type (vectorised)."""
    customer, customers = pd.factorize(events["customer_id"])
    campaign, campaigns = pd.factorize(events["campaign_id"])
    pair, pairs = pd.factorize(customer.astype(np.int64) * max(len(campaigns), 1) + campaign)
    kind = pd.Categorical(events["event_type"], categories=EVENT_TYPES).codes
    known = kind >= 0
    width = len(EVENT_TYPES)
    counts = np.bincount(pair[known] * width + kind[known], minlength=width * len(pairs)).reshape(-1, width)
    frame = pd.DataFrame(counts, columns=list(EVENT_TYPES))
    frame.insert(0, "campaign_id", np.asarray(campaigns)[pairs % max(len(campaigns), 1)])
    frame.insert(0, "customer_id", np.asarray(customers)[pairs // max(len(campaigns), 1)])
    channel = np.empty(len(pairs), dtype=object)
    channel[pair] = events["channel"].astype(object).to_numpy()
    frame.insert(2, "channel", channel)
    return frame


def _funnel_monotonic(tables: Tables) -> pd.DataFrame:
    counts = _funnel_counts(tables["engagements"])
    channel = counts["channel"].to_numpy()
    code = np.isin(channel, CODE_RESPONSE_CHANNELS)
    converted_from = np.where(code, counts["impression"], counts["click"])
    opens = np.isin(channel, OPEN_CHANNELS)
    bad = (counts["conversion"] > converted_from) | (counts["click"] > counts["impression"])
    bad |= (counts["open"] > counts["impression"]) | (~opens & (counts["open"] > 0))
    bad |= opens & (counts["click"] > counts["open"])
    only = np.isin(channel, IMPRESSION_ONLY_CHANNELS)
    bad |= only & ((counts["open"] + counts["click"] + counts["conversion"]) > 0)
    return counts.loc[bad]


def _text_keys(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """customer_id and campaign_id as plain Python strings (CSV, Parquet and Arrow dtypes alike)."""
    return {key: frame[key].astype(str).astype(object) for key in ("customer_id", "campaign_id")}


def _attributed_after_conversion(tables: Tables) -> pd.DataFrame:
    sales = tables["transactions"]
    keys = ["customer_id", "campaign_id", "timestamp"]
    sales = sales.loc[sales["campaign_id"].notna(), ["transaction_id", *keys]]
    events = tables["engagements"]
    conversions = events.loc[events["event_type"] == "conversion", keys]
    left = sales.assign(timestamp=_times(sales["timestamp"]), **_text_keys(sales))
    right = conversions.assign(conversion_time=_times(conversions["timestamp"]), **_text_keys(conversions))
    right = right.drop(columns="timestamp")
    matched = pd.merge_asof(
        left.sort_values("timestamp"),
        right.sort_values("conversion_time"),
        left_on="timestamp",
        right_on="conversion_time",
        by=["customer_id", "campaign_id"],
        direction="backward",
    )
    window = pd.Timedelta(days=constants.ATTRIBUTION_WINDOW_DAYS)
    bad = matched["conversion_time"].isna() | (matched["timestamp"] - matched["conversion_time"] > window)
    return matched.loc[bad, ["transaction_id", "customer_id", "campaign_id", "timestamp"]]


def _conversion_has_purchase(tables: Tables) -> pd.DataFrame:
    events = tables["engagements"]
    conversions = events.loc[
        events["event_type"] == "conversion", ["engagement_id", "customer_id", "campaign_id", "timestamp"]
    ]
    sales = tables["transactions"]
    left = conversions.assign(timestamp=_times(conversions["timestamp"]), **_text_keys(conversions))
    right = sales.loc[sales["campaign_id"].notna(), ["customer_id", "campaign_id", "timestamp"]]
    right = right.assign(timestamp=_times(right["timestamp"]), **_text_keys(right)).drop_duplicates()
    matched = left.merge(right.assign(found=True), on=["customer_id", "campaign_id", "timestamp"], how="left")
    return matched.loc[matched["found"].isna(), ["engagement_id", "customer_id", "campaign_id", "timestamp"]]


def _only_treatment_engaged(tables: Tables) -> pd.DataFrame:
    audience = tables["campaign_audience"]
    treated = audience.loc[audience["group"].astype(str) == "treatment", ["customer_id", "campaign_id"]]
    treated = treated.assign(**_text_keys(treated), treated=True).drop_duplicates(
        ["customer_id", "campaign_id"]
    )
    events = tables["engagements"][["engagement_id", "customer_id", "campaign_id"]]
    matched = events.assign(**_text_keys(events)).merge(
        treated, on=["customer_id", "campaign_id"], how="left"
    )
    return matched.loc[matched["treated"].isna(), ["engagement_id", "customer_id", "campaign_id"]]


# --- The rule book -------------------------------------------------------------------------------


def _schema_rules() -> list[Rule]:
    """A rule per primary key, foreign key and bounded column declared in the schema."""
    keys = [unique_key(name, table.primary_key) for name, table in schema.TABLES.items()]
    links = [
        foreign_key(name, key.column, key.parent, key.parent_column, optional=key.optional)
        for name, table in schema.TABLES.items()
        for key in table.foreign_keys
    ]
    ranges = [
        in_range(name, column.name, column.minimum, column.maximum, table.primary_key)
        for name, table in schema.TABLES.items()
        for column in table.columns
        if column.minimum is not None or column.maximum is not None
    ]
    return keys + links + ranges


RULES: list[Rule] = [
    *_schema_rules(),
    Rule("transactions.amount > 0", "every transaction amount is > 0", ("transactions",), _amount_positive),
    Rule(
        "campaign dates ordered",
        "start_date <= end_date for every campaign",
        ("marketing_campaigns",),
        _dates_ordered,
    ),
    Rule(
        "engagement event types",
        f"event_type is one of {', '.join(EVENT_TYPES)}",
        ("engagements",),
        _event_types,
    ),
    Rule(
        "engagements inside campaign window",
        "every engagement timestamp lies between its campaign's start_date and end_date (inclusive)",
        ("engagements", "marketing_campaigns"),
        _inside_window,
    ),
    Rule(
        "funnel monotonic",
        "per customer and campaign: clicks <= impressions; conversions <= clicks (<= impressions for "
        f"{', '.join(CODE_RESPONSE_CHANNELS)}, answered with a code); opens <= impressions and clicks <= "
        f"opens for {', '.join(OPEN_CHANNELS)}, no opens elsewhere; impressions only for "
        f"{', '.join(IMPRESSION_ONLY_CHANNELS)}",
        ("engagements",),
        _funnel_monotonic,
    ),
    Rule(
        "conversion has its purchase",
        "every conversion event is a transaction of the same customer, campaign and timestamp",
        ("engagements", "transactions"),
        _conversion_has_purchase,
    ),
    Rule(
        "only the treatment group engaged",
        "every engagement's (customer, campaign) is in the campaign's treatment group (campaign_audience); "
        "the control group receives nothing from the campaign",
        ("engagements", "campaign_audience"),
        _only_treatment_engaged,
    ),
    Rule(
        "attributed after conversion",
        "an attributed transaction follows a conversion of the same customer and campaign within "
        f"{constants.ATTRIBUTION_WINDOW_DAYS} days (constants.ATTRIBUTION_WINDOW_DAYS)",
        ("transactions", "engagements"),
        _attributed_after_conversion,
    ),
]


def applicable_rules(names: Sequence[str], rules: Sequence[Rule] = RULES) -> list[Rule]:
    """The rules whose tables are all among ``names``."""
    return [rule for rule in rules if set(rule.tables) <= set(names)]


def check_rules(
    tables: Tables, rules: Sequence[Rule] = RULES, touching: Sequence[str] | None = None
) -> list[RuleResult]:
    """Run every rule whose tables are all in ``tables``; one :class:`RuleResult` per rule.

    ``touching`` keeps only the rules that involve at least one of those tables (a stage that adds
    a table need not re-check its parents' own rules).
    """
    results = []
    for rule in applicable_rules(list(tables), rules):
        if touching is not None and not set(rule.tables) & set(touching):
            continue
        violating = rule.check(tables)
        examples = violating.head(MAX_EXAMPLES).astype(str).to_dict("records")
        results.append(RuleResult(rule.name, rule.description, len(violating), examples))
    return results


def assert_rules(
    tables: Tables, rules: Sequence[Rule] = RULES, touching: Sequence[str] | None = None
) -> list[RuleResult]:
    """Like :func:`check_rules` but raise ``AssertionError`` naming every broken rule."""
    results = check_rules(tables, rules, touching)
    broken = [f"{r.name}: {r.violations} rows, e.g. {r.examples[:2]}" for r in results if r.violations]
    if broken:
        raise AssertionError("business rules broken: " + "; ".join(broken))
    return results
