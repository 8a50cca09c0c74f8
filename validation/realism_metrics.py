"""How each metric of the calibration table is computed from a dataset's output tables (realism.py judges).

    from validation.realism_metrics import Data, measure_all
    data = Data(tables, lifecycle, why)         # the output tables, prepared once (codes, local time parts)
    measures = measure_all(data)               # {metric: Measure}: value, support, successes or SE, minimum

One small function per family of metrics (:data:`FAMILIES`: email funnel, paid media, SMS, direct mail,
TV, incrementality, devices, sales mix, order values, repeat buying, income, lifecycle, hours, weekdays,
months, holidays, opt-ins, demographics), each computing its metrics exactly as their ``definition`` in
``data/benchmarks/marketing.csv`` says, vectorised; :data:`METRICS` maps each metric to its family. A
figure is a :class:`Measure`: a share (``successes`` over ``support``), an estimate with a standard error, a
point judged from a minimum support (the ``MIN_*`` constants), or an exact structural count.

Every timestamp is the customer's local time (naive). "The window" is the last 12 months of the
transactions' date range, or the whole range when shorter (:class:`Window` says which); the monthly and
holiday metrics use the latest calendar year the transactions cover from January to December.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from utils.chain import calendar, purchases
from utils.chain.segments import segment_mask

# Minimum supports below which a point figure is skipped, not judged (shares use the Wilson interval).
# Measured, not guessed: `python -m bench.realism_noise` bootstraps a build's customers and gives, per
# metric, the support at which the standard error is 1/8 of the band's width (a value a quarter of the band
# inside its edge then fails by noise alone in about 2.5 % of builds). On the default build (seed 42) that
# support was, per constant, at most the figure in brackets; each minimum is set at or above it.
MIN_EVENTS = 200  # clicks or impressions behind a cost, CPC or CPM [110]
MIN_ORDERS = 200  # orders behind a mean order value [140]
MIN_ATTRIBUTED = 150  # attributed orders behind the paid-media ROAS [150]
MIN_REVENUE_ROWS = 1_500  # transactions behind a revenue share: remote revenue [1,491], repeat buyers' [455]
MIN_CUSTOMERS = 200  # customers behind a per-customer figure: top-20 % share [108], TV reach and frequency
# Unexposed segment members behind roas_tv: flight revenue is heavy-tailed (the top fifth of customers
# hold about 63 % of revenue), so below a few thousand the sample variances behind its standard error
# are themselves unreliable: on a 2,000-customer build four TV campaigns came out at 60 +- 23.
MIN_TV_UNEXPOSED = 3_000
MIN_CONTROL_OUTCOMES = 30  # a relative lift is judged when its control group has this many outcomes
MIN_QUINTILE = 1_300  # customers per income quintile behind the top / bottom spend ratio [1,292]
MIN_GAPS = 100  # inter-purchase gaps behind their median [22]
MIN_ROWS_PER_HOUR = 100  # hour-of-day profiles, x 24 = 2,400 rows: remote max/min [1,452], busiest hour [646]
MIN_ROWS_PER_WEEKDAY = 400  # the weekday max/min, x 7 = 2,800 rows [2,408]
MIN_ROWS_PER_MONTH = 5_500  # monthly revenue factors, x 12 = 66,000 rows: Dec / Nov [62,603], lowest [51,060]
MIN_ROWS_SEASON = 6_500  # rows in the year behind the Nov + Dec revenue share [6,321]
MIN_ROWS_PER_DAY = 50  # day-level figures, x days: Cyber Monday (x 32 = 1,600) [827], top-10 days [385]
MIN_SUPPORTS = {
    "events": MIN_EVENTS,
    "orders": MIN_ORDERS,
    "attributed_orders": MIN_ATTRIBUTED,
    "revenue_rows": MIN_REVENUE_ROWS,
    "customers": MIN_CUSTOMERS,
    "income_quintile": MIN_QUINTILE,
    "gaps": MIN_GAPS,
    "rows_per_hour": MIN_ROWS_PER_HOUR,
    "rows_per_weekday": MIN_ROWS_PER_WEEKDAY,
    "rows_per_month": MIN_ROWS_PER_MONTH,
    "rows_in_season_share": MIN_ROWS_SEASON,
    "rows_per_day": MIN_ROWS_PER_DAY,
}

DIGITAL = ("email", "search", "display", "social", "sms")
PAID_MEDIA = ("search", "display", "social")  # bought media whose sales are attributed by clicks
REMOTE = ("online", "mobile_app")
IN_STORE = "in_store"
BACHELOR_PLUS = ("bachelors", "graduate_or_professional")
MARRIED = "married_not_separated"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)


# --- measures ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measure:
    """One metric's figure and what it rests on.

    ``support`` is the denominator (rows, pairs, customers); ``successes`` makes it a share (Wilson
    interval); ``se`` an estimate with a standard error; otherwise the figure is a point judged only when
    ``support >= minimum``. ``value`` None means it cannot be computed (``note`` says why). ``parts``
    are sub-figures held to the same band (a pooled rate and each channel's).
    """

    value: float | None
    support: float = 0
    successes: float | None = None
    se: float | None = None
    minimum: float = 0
    note: str = ""
    parts: tuple[tuple[str, Measure], ...] = ()


def sum_share(amounts: np.ndarray, chosen: np.ndarray, note: str = "") -> Measure:
    """The share of a sum over customers held by the ``chosen`` ones: a ratio of sums, with the standard
    error of its linearisation (sum of (amount x (chosen - share))^2, over the total), so a revenue
    share is judged as an estimate, not a point, whatever the build's size."""
    amounts = np.asarray(amounts, dtype=float)
    total = amounts.sum()
    if total <= 0:
        return missing(note or "no revenue")
    value = amounts[chosen].sum() / total
    spread = amounts * (np.asarray(chosen, dtype=float) - value)
    se = math.sqrt(float((spread**2).sum())) / total
    return Measure(float(value), int((amounts > 0).sum()), se=se, note=note)


def share(successes: float, total: float, note: str = "", parts=()) -> Measure:
    """A count over a count (a numerator larger than its denominator becomes a plain point figure)."""
    if total <= 0:
        return Measure(None, 0, note=note or "no rows")
    if successes > total:
        note = f"numerator {successes:,.0f} > denominator {total:,.0f}; {note}".rstrip("; ")
        return Measure(successes / total, total, note=note, parts=tuple(parts))
    return Measure(successes / total, total, successes=successes, note=note, parts=tuple(parts))


def point(value: float | None, support: float, minimum: float, note: str = "") -> Measure:
    """A figure judged as it is once ``support`` reaches ``minimum``."""
    return Measure(None if value is None else float(value), support, minimum=minimum, note=note)


def exact(count: float, support: float, note: str = "") -> Measure:
    """A structural count: exact, judged whatever the support."""
    return Measure(float(count), support, note=note)


def missing(reason: str) -> Measure:
    """A figure that cannot be computed, and why."""
    return Measure(None, note=reason)


# --- the prepared tables --------------------------------------------------------------------------------
class NeedsTable(Exception):
    """A family's table is missing from the dataset."""


@dataclass(frozen=True)
class Window:
    """The 12-month window: the last 12 months of the transactions' dates, or the whole range if shorter."""

    start: pd.Timestamp
    end: pd.Timestamp  # inclusive (a date)
    full: bool

    @property
    def days(self) -> int:
        return int((self.end - self.start) / DAY) + 1

    @property
    def label(self) -> str:
        span = f"{self.start.date()}..{self.end.date()}"
        if self.full:
            return f"last 12 months of the transactions: {span}"
        return f"whole transaction range ({self.days} days, shorter than 12 months): {span}"


def _bool(values: pd.Series) -> np.ndarray:
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("object").astype(str).str.strip().str.lower()
    return text.isin(("true", "1", "1.0", "yes")).to_numpy()


def _text(values: pd.Series) -> np.ndarray:
    return values.astype("object").to_numpy()


def _labels(values: pd.Series) -> pd.Categorical:
    """A low-cardinality text column as a Categorical of strings (fast comparisons on a million rows)."""
    values = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    return values.cat.rename_categories([str(c) for c in values.cat.categories]).array


def holidays(year: int) -> dict[str, pd.Timestamp]:
    """Thanksgiving, Black Friday, Cyber Monday and Christmas of ``year``: the retail calendar the
    generators use (:func:`utils.chain.calendar.key_dates`), declared once."""
    dates = calendar.key_dates(year)
    names = {"christmas": "christmas_day"}
    return {
        name: pd.Timestamp(dates[names.get(name, name)])
        for name in ("thanksgiving", "black_friday", "cyber_monday", "christmas")
    }


class Data:
    """The output tables, prepared once: integer customer and campaign codes, local time parts, the window."""

    def __init__(
        self,
        tables: dict[str, pd.DataFrame],
        lifecycle: pd.DataFrame | None = None,
        why: str = "",
        spend_share: float = 1.0,
    ):
        self.tables = tables
        self.lifecycle_frame = lifecycle
        self.lifecycle_why = why or "no lifecycle ground truth"
        # The share of each campaign's budget spent on these customers (a sample of a build's: below 1).
        self.spend_share = spend_share

    def need(self, name: str) -> pd.DataFrame:
        if name not in self.tables or self.tables[name] is None:
            raise NeedsTable(f"needs the {name} table")
        return self.tables[name]

    @cached_property
    def customer_ids(self) -> pd.Index:
        return pd.Index(_text(self.need("demographics")["customer_id"]))

    @cached_property
    def customers(self) -> pd.DataFrame:
        """Demographics joined to consumer preferences, in demographics order (row i = customer code i)."""
        demographics = self.need("demographics").reset_index(drop=True)
        preferences = self.need("consumer_preferences")
        extra = preferences.drop(
            columns=[c for c in preferences.columns if c in demographics.columns and c != "customer_id"]
        )
        extra = extra.assign(customer_id=_text(extra["customer_id"]))
        joined = demographics.assign(customer_id=_text(demographics["customer_id"])).merge(
            extra, on="customer_id", how="left"
        )
        return joined

    @cached_property
    def campaigns(self) -> pd.DataFrame:
        frame = self.need("marketing_campaigns").reset_index(drop=True)
        return frame.assign(
            campaign_id=_text(frame["campaign_id"]),
            channel=_text(frame["channel"]),
            start_date=pd.to_datetime(frame["start_date"]).dt.normalize(),
            end_date=pd.to_datetime(frame["end_date"]).dt.normalize(),
            budget=pd.to_numeric(frame["budget"], errors="coerce").fillna(0.0) * self.spend_share,
        )

    @cached_property
    def engagements(self) -> pd.DataFrame:
        """Customer and campaign codes (-1 unknown), pair (one int per customer x campaign), event, ..."""
        frame = self.need("engagements")
        customer = self.customer_ids.get_indexer(_text(frame["customer_id"]))
        campaign = pd.Index(self.campaigns["campaign_id"]).get_indexer(_text(frame["campaign_id"]))
        return pd.DataFrame(
            {
                "customer": customer,
                "campaign": campaign,
                "pair": customer.astype(np.int64) * self.pair_base + campaign + 1,
                "event": _labels(frame["event_type"]),
                "channel": _labels(frame["channel"]),
                "device": _labels(frame["device"]),
                "timestamp": pd.to_datetime(frame["timestamp"]).to_numpy(),
            }
        )

    @property
    def pair_base(self) -> int:
        """pair = customer code x pair_base + campaign code + 1 (unknown codes, -1, never collide)."""
        return len(self.campaigns) + 1

    def pair_customer(self, pairs: np.ndarray) -> np.ndarray:
        """The customer code of each pair."""
        return np.floor_divide(pairs, self.pair_base)

    @cached_property
    def campaign_events(self) -> pd.DataFrame:
        """Engagement rows per campaign (rows: campaign codes) and event type (columns)."""
        events = self.engagements[self.engagements["campaign"] >= 0]
        counts = events.groupby(["campaign", "event"], observed=True).size().unstack(fill_value=0)
        return counts.reindex(range(len(self.campaigns)), fill_value=0)

    @cached_property
    def transactions(self) -> pd.DataFrame:
        """Customer code, timestamp and its local parts, amount, channel, remote, payment, category, ..."""
        frame = self.need("transactions")
        timestamp = pd.to_datetime(frame["timestamp"]).reset_index(drop=True)
        campaign = frame["campaign_id"].reset_index(drop=True)
        attributed = campaign.notna() & campaign.ne("")  # empty = not attributed
        channel = _labels(frame["channel"].reset_index(drop=True))
        return pd.DataFrame(
            {
                "customer": self.customer_ids.get_indexer(_text(frame["customer_id"])),
                "timestamp": timestamp,
                "date": timestamp.dt.normalize(),
                "hour": timestamp.dt.hour.to_numpy(),
                "weekday": timestamp.dt.dayofweek.to_numpy(),
                "month": timestamp.dt.month.to_numpy(),
                "year": timestamp.dt.year.to_numpy(),
                "amount": pd.to_numeric(frame["amount"], errors="coerce").to_numpy(),
                "channel": channel,
                "remote": channel.isin(REMOTE),
                "payment": _labels(frame["payment_method"]),
                "category": _labels(frame["category"]),
                "attributed": attributed.to_numpy(),
                "campaign": pd.Index(self.campaigns["campaign_id"]).get_indexer(_text(campaign.fillna(""))),
            }
        )

    @cached_property
    def audience(self) -> pd.DataFrame:
        """Campaign audiences: customer and campaign codes, treated, and the realised outcome (a
        purchase from the campaign's start to ``outcome_window_days`` after its end)."""
        frame = self.need("campaign_audience")
        customer = self.customer_ids.get_indexer(_text(frame["customer_id"]))
        campaign = pd.Index(self.campaigns["campaign_id"]).get_indexer(_text(frame["campaign_id"]))
        known = (customer >= 0) & (campaign >= 0)
        customer, campaign = customer[known], campaign[known]
        epoch = np.datetime64("1970-01-01", "D")
        first = (self.campaigns["start_date"].to_numpy("datetime64[D]") - epoch).astype(np.int64)
        last = (self.campaigns["end_date"].to_numpy("datetime64[D]") - epoch).astype(np.int64)
        tx = self.transactions
        bought = tx[tx["customer"] >= 0]
        day = (bought["date"].to_numpy("datetime64[D]") - epoch).astype(np.int64)
        outcome = purchases.realised_outcomes(
            customer,
            first[campaign],
            last[campaign] + purchases.OUTCOME_WINDOW_DAYS,
            bought["customer"].to_numpy(),
            day,
        )
        return pd.DataFrame(
            {
                "customer": customer,
                "campaign": campaign,
                "treated": _text(frame["group"])[known] == "treatment",
                "outcome": outcome,
            }
        )

    @cached_property
    def window(self) -> Window | None:
        dates = self.transactions["date"]
        if dates.empty or dates.isna().all():
            return None
        first, last = dates.min(), dates.max()
        start = last + DAY - pd.DateOffset(years=1)
        return Window(max(first, start), last, full=first <= start)

    @cached_property
    def in_window(self) -> pd.DataFrame:
        window = self.window
        tx = self.transactions
        if window is None:
            return tx.iloc[:0]
        return tx[(tx["date"] >= window.start) & (tx["date"] <= window.end)]

    @cached_property
    def year(self) -> int | None:
        """The latest calendar year the transactions cover from January through December, or None."""
        dates = self.transactions["date"]
        if dates.empty or dates.isna().all():
            return None
        first, last = dates.min(), dates.max()
        for year in range(last.year, first.year - 1, -1):
            if first <= pd.Timestamp(year=year, month=1, day=31) and last >= pd.Timestamp(
                year=year, month=12, day=1
            ):
                return year
        return None

    def customer_sum(self, tx: pd.DataFrame, weights: str | None = None) -> np.ndarray:
        """Per customer code (demographics order): the count of ``tx`` rows, or the sum of a column."""
        known = tx["customer"].to_numpy() >= 0
        values = None if weights is None else tx[weights].to_numpy()[known]
        return np.bincount(tx["customer"].to_numpy()[known], weights=values, minlength=len(self.customer_ids))


# --- the families -----------------------------------------------------------------------------------------
def _pairs(events: pd.DataFrame, event: str) -> np.ndarray:
    return np.unique(events.loc[events["event"] == event, "pair"].to_numpy())


def _pair_share(numerator: np.ndarray, denominator: np.ndarray, what: str) -> Measure:
    """Pairs of ``numerator`` that are also in ``denominator``, over ``denominator`` (the rest noted)."""
    both = np.intersect1d(numerator, denominator, assume_unique=True).size
    stray = numerator.size - both
    note = f"{stray:,} {what} pair(s) outside the denominator (funnel order)" if stray else ""
    return share(both, denominator.size, note)


def _rows(events: pd.DataFrame, channel: str | tuple[str, ...]) -> pd.Series:
    """Rows per event type of the engagements of ``channel`` (one or several)."""
    channels = (channel,) if isinstance(channel, str) else channel
    chosen = events.loc[events["channel"].isin(channels), "event"]
    return chosen.value_counts()


def email_funnel(data: Data) -> dict[str, Measure]:
    """Email: open, click, click-to-open and conversion rates over delivered pairs; opens after delivery."""
    email = data.engagements[data.engagements["channel"] == "email"]
    delivered, opened = _pairs(email, "impression"), _pairs(email, "open")
    clicked, converted = _pairs(email, "click"), _pairs(email, "conversion")
    out = {
        "email_open_rate": _pair_share(opened, delivered, "open"),
        "email_click_rate": _pair_share(clicked, delivered, "click"),
        "email_click_to_open_rate": _pair_share(clicked, opened, "click"),
        "email_conversion_per_delivered": _pair_share(converted, delivered, "conversion"),
    }
    opens = email.loc[email["event"] == "open", ["pair", "timestamp"]].sort_values("timestamp")
    sends = (
        email.loc[email["event"] == "impression", ["pair", "timestamp"]]
        .rename(columns={"timestamp": "delivered_at"})
        .sort_values("delivered_at")
    )
    matched = pd.merge_asof(opens, sends, left_on="timestamp", right_on="delivered_at", by="pair")
    delay = matched["timestamp"] - matched["delivered_at"]  # NaT where no delivery came before the open
    for hours in (1, 6, 24):
        within = int((delay < hours * HOUR).sum())
        out[f"email_opens_within_{hours}h_share"] = share(within, len(opens))
    return out


def _cost(data: Data, channel: str, event: str, per: float = 1.0) -> Measure:
    """``per`` x budget of the campaigns of ``channel`` / their ``event`` rows."""
    campaigns = data.campaigns
    chosen = (campaigns["channel"] == channel).to_numpy()
    if not chosen.any():
        return missing(f"no {channel} campaign")
    counts = data.campaign_events
    events = float(counts[event].to_numpy()[chosen].sum()) if event in counts else 0.0
    if events == 0:
        return missing(f"no {event} of a {channel} campaign")
    return point(per * campaigns["budget"].to_numpy()[chosen].sum() / events, events, MIN_EVENTS)


def paid_media(data: Data) -> dict[str, Measure]:
    """Search, display, social: CTR and conversions per click (rows), CPC and CPM (budget); ROAS overall."""
    events = data.engagements
    out = {}
    for channel in ("search", "display", "social"):
        rows = _rows(events, channel)
        out[f"{channel}_ctr"] = share(rows.get("click", 0), rows.get("impression", 0))
        out[f"{channel}_conversion_per_click"] = share(rows.get("conversion", 0), rows.get("click", 0))
        out[f"{channel}_cpc_usd"] = _cost(data, channel, "click")
        if channel != "search":
            out[f"{channel}_cpm_usd"] = _cost(data, channel, "impression", per=1000.0)
    pooled = _rows(events, DIGITAL)
    parts = []
    for channel in DIGITAL:
        rows = _rows(events, channel)
        parts.append((channel, share(rows.get("conversion", 0), rows.get("click", 0))))
    out["conversion_per_click_digital"] = share(
        pooled.get("conversion", 0),
        pooled.get("click", 0),
        parts=[p for p in parts if p[1].value is not None],
    )
    tx = data.transactions
    paid = data.campaigns["channel"].isin(PAID_MEDIA).to_numpy()
    budget = float(data.campaigns.loc[paid, "budget"].sum())
    attributed = tx[tx["attributed"] & (tx["campaign"] >= 0)]
    attributed = attributed[paid[attributed["campaign"].to_numpy()]]
    out["roas_paid_media"] = (
        point(attributed["amount"].sum() / budget, len(attributed), MIN_ATTRIBUTED)
        if budget > 0
        else missing("no paid media budget")
    )
    return out


def sms(data: Data) -> dict[str, Measure]:
    """SMS: click and conversion rates over delivered pairs; no SMS to a customer not opted in."""
    events = data.engagements[data.engagements["channel"] == "sms"]
    delivered = _pairs(events, "impression")
    opted_in = np.append(_bool(data.customers["sms_opt_in"]), True)  # code -1 (unknown customer): not counted
    not_opted = int((~opted_in[events["customer"].to_numpy()]).sum())
    return {
        "sms_click_rate": _pair_share(_pairs(events, "click"), delivered, "click"),
        "sms_conversion_per_delivered": _pair_share(_pairs(events, "conversion"), delivered, "conversion"),
        "sms_to_non_opted_in": exact(not_opted, len(events)),
    }


def direct_mail(data: Data) -> dict[str, Measure]:
    """Direct mail: answered pieces over delivered pieces, house list (an earlier purchase) and prospects."""
    events = data.engagements[data.engagements["channel"] == "direct_mail"]
    sends = events[events["event"] == "impression"].groupby("pair")["timestamp"].min()
    answered = np.isin(sends.index.to_numpy(), _pairs(events, "conversion"))
    tx = data.transactions
    known = tx[tx["customer"] >= 0]
    first = known.groupby("customer")["timestamp"].min()
    customer = data.pair_customer(sends.index.to_numpy())
    first_buy = first.reindex(customer).to_numpy()
    house = first_buy < sends.to_numpy()  # NaT (never bought) compares False: a prospect
    return {
        "direct_mail_response_rate_house": share(int(answered[house].sum()), int(house.sum())),
        "direct_mail_response_rate_prospect": share(int(answered[~house].sum()), int((~house).sum())),
    }


def _lift(frame: pd.DataFrame, relative: bool, note: str = "") -> Measure:
    """Treatment minus control outcome rate of audience rows (over the control rate when ``relative``),
    with a standard error clustered by customer: a customer sits in the audiences of many campaigns of
    a channel, and one purchase is the outcome of every campaign whose window it falls in, so the rows
    of a customer are not independent (an independent-rows error was too small by half on small
    builds). Delta method for the ratio."""
    treated = frame["treated"].to_numpy(bool)
    outcome = frame["outcome"].to_numpy(float)
    n1, n0 = int(treated.sum()), int((~treated).sum())
    if n1 < 2 or n0 < 2 or outcome[~treated].mean() == 0:
        return missing("no treatment and control customers with purchases")
    p1, p0 = outcome[treated].mean(), outcome[~treated].mean()
    if relative and outcome[~treated].sum() < MIN_CONTROL_OUTCOMES:
        # The delta-method interval of a ratio needs events in its denominator: with a handful of
        # control purchases (87 control rows, 2,000 customers) it missed the band by noise alone.
        return missing(
            f"{outcome[~treated].sum():.0f} control rows with the outcome (< {MIN_CONTROL_OUTCOMES}): "
            "too few for a relative lift"
        )
    customer = pd.factorize(frame["customer"].to_numpy())[0]
    size = customer.max() + 1
    s1 = np.bincount(customer[treated], weights=outcome[treated] - p1, minlength=size) / n1
    s0 = np.bincount(customer[~treated], weights=outcome[~treated] - p0, minlength=size) / n0
    se = math.sqrt(float(((s1 - s0) ** 2).sum()))
    if relative:
        ratio_se = math.sqrt(float(((s1 / p0 - (p1 / p0**2) * s0) ** 2).sum()))
        return Measure(p1 / p0 - 1, len(frame), se=ratio_se, note=note)
    return Measure(p1 - p0, len(frame), se=se, note=note)


def incrementality(data: Data) -> dict[str, Measure]:
    """What campaigns cause, measured as the field measures it: treatment against control outcome rates
    (campaign_audience, transactions), pooled over a channel's campaigns; and last-touch credit against
    the lift a holdout shows."""
    audience = data.audience
    campaigns = data.campaigns
    channel = campaigns["channel"].to_numpy()[audience["campaign"].to_numpy()]
    objective = _text(campaigns["objective"])[audience["campaign"].to_numpy()]
    brand_like = np.isin(objective, ("conversion", "retention"))
    out = {
        "email_absolute_lift_purchase": _lift(audience[channel == "email"], relative=False),
        "search_relative_lift_retention": _lift(audience[(channel == "search") & brand_like], relative=True),
        "display_relative_lift_purchase": _lift(audience[channel == "display"], relative=True),
        "social_relative_lift_purchase": _lift(audience[channel == "social"], relative=True),
    }
    # Mail: the share of the pieces' answers (code conversions) that the holdout shows to be incremental.
    mail = audience[channel == "direct_mail"]
    lift = _lift(mail, relative=False)
    events = data.engagements
    answers = int(
        (
            (events["channel"] == "direct_mail")
            & (events["event"] == "conversion")
            & (events["customer"] >= 0)
        ).sum()
    )
    treated = int(mail["treated"].sum())
    if lift.value is None or answers == 0:
        out["direct_mail_incremental_share_of_responses"] = missing("no mail answers or no holdout")
    else:
        scale = treated / answers
        out["direct_mail_incremental_share_of_responses"] = Measure(
            lift.value * scale, answers, se=lift.se * scale, note=f"{answers:,} answers, {treated:,} pieces"
        )
    # Structural: a control customer is never credited to the campaign it was held out of.
    tx = data.transactions
    credited = tx[(tx["campaign"] >= 0) & (tx["customer"] >= 0)]
    control = audience.loc[~audience["treated"], ["customer", "campaign"]]
    key = control["customer"].to_numpy(np.int64) * data.pair_base + control["campaign"].to_numpy()
    bad = np.isin(
        credited["customer"].to_numpy(np.int64) * data.pair_base + credited["campaign"].to_numpy(), key
    )
    out["control_group_attributed_transactions"] = exact(int(bad.sum()), len(credited))
    return out


def _flight_revenue(data: Data, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    tx = data.transactions
    return data.customer_sum(tx[(tx["date"] >= start) & (tx["date"] <= end)], "amount")


def tv(data: Data) -> dict[str, Measure]:
    """TV: no clicks, reach of the target segment, frequency, CPM, ROAS as the lift of exposed customers."""
    events = data.engagements
    on_tv = events[events["channel"] == "tv"]
    out = {"tv_click_events": exact(int(on_tv["event"].isin(("open", "click")).sum()), len(on_tv))}
    campaigns = data.campaigns
    codes = np.flatnonzero((campaigns["channel"] == "tv").to_numpy())
    if codes.size == 0:
        reason = "no tv campaign"
        return out | {
            m: missing(reason) for m in ("tv_reach", "tv_average_frequency", "tv_cpm_usd", "roas_tv")
        }
    impressions = events[(events["event"] == "impression") & events["campaign"].isin(codes)]
    impressions = impressions[impressions["customer"] >= 0]
    customers = data.customers
    reaches, frequencies, segment_total, reached_total, stray = [], [], 0, 0, 0
    lift, variance, budget, estimated, unexposed_total = 0.0, 0.0, 0.0, 0, 0
    for code in codes:
        campaign = campaigns.iloc[code]
        members = segment_mask(customers, str(campaign["target_segment"]))
        rows = impressions[impressions["campaign"] == code]
        exposed = np.zeros(len(customers), dtype=bool)
        exposed[rows["customer"].to_numpy()] = True
        reached = int((exposed & members).sum())
        stray += int((exposed & ~members).sum())
        segment_total += int(members.sum())
        reached_total += int(exposed.sum())
        if members.sum():
            reaches.append(reached / members.sum())
        if exposed.sum():
            frequencies.append(len(rows) / exposed.sum())
        revenue = _flight_revenue(data, campaign["start_date"], campaign["end_date"])
        unexposed = members & ~exposed
        n_e, n_u = int(exposed.sum()), int(unexposed.sum())
        if n_e >= 2 and n_u >= 2:
            a, b = revenue[exposed], revenue[unexposed]
            lift += (a.mean() - b.mean()) * n_e
            variance += n_e * n_e * (a.var(ddof=1) / n_e + b.var(ddof=1) / n_u)
            budget += float(campaign["budget"])
            estimated += 1
            unexposed_total += n_u
    note = f"{stray:,} exposed customer(s) outside their campaign's segment" if stray else ""
    out["tv_reach"] = point(np.mean(reaches) if reaches else None, segment_total, MIN_CUSTOMERS, note)
    out["tv_average_frequency"] = point(
        np.mean(frequencies) if frequencies else None, reached_total, MIN_CUSTOMERS
    )
    out["tv_cpm_usd"] = (
        point(
            1000 * campaigns["budget"].to_numpy()[codes].sum() / len(impressions),
            len(impressions),
            MIN_EVENTS,
        )
        if len(impressions)
        else missing("no tv impression")
    )
    if estimated and budget > 0:
        se = math.sqrt(variance) / budget
        out["roas_tv"] = Measure(
            lift / budget,
            unexposed_total,
            se=se,
            minimum=MIN_TV_UNEXPOSED,
            note=f"{estimated} of {codes.size} tv campaign(s) with exposed and unexposed; "
            f"{unexposed_total:,} unexposed segment members; standard error {se:.3g}",
        )
    else:
        out["roas_tv"] = missing("no tv campaign with both exposed and unexposed customers in its segment")
    return out


def devices(data: Data) -> dict[str, Measure]:
    """Device mix of clicks (site visits) and conversions (orders) over the digital channels."""
    events = data.engagements
    digital = events[events["channel"].isin(DIGITAL)]
    clicks = digital.loc[digital["event"] == "click", "device"]
    orders = digital.loc[digital["event"] == "conversion", "device"]
    return {
        "mobile_share_of_ecommerce_traffic": share(int((clicks == "mobile").sum()), len(clicks)),
        "tablet_share_of_ecommerce_traffic": share(int((clicks == "tablet").sum()), len(clicks)),
        "mobile_share_of_ecommerce_orders": share(int((orders == "mobile").sum()), len(orders)),
    }


def sales_mix(data: Data) -> dict[str, Measure]:
    """Remote share of purchases and revenue; payment mix in store and remote."""
    tx = data.transactions
    remote = tx["remote"].to_numpy()
    store = (tx["channel"] == IN_STORE).to_numpy()
    payment = tx["payment"]
    total = float(tx["amount"].sum())
    out = {
        "remote_share_of_purchases": share(int(remote.sum()), len(tx)),
        "remote_share_of_revenue": point(
            tx["amount"].to_numpy()[remote].sum() / total if total > 0 else None, len(tx), MIN_REVENUE_ROWS
        ),
    }
    for method, name in (("cash", "cash"), ("credit_card", "credit"), ("debit_card", "debit")):
        out[f"{name}_share_in_store"] = share(int((payment[store] == method).sum()), int(store.sum()))
    for method, name in (
        ("credit_card", "credit"),
        ("debit_card", "debit"),
        ("digital_wallet", "digital_wallet"),
        ("cash", "cash"),
    ):
        out[f"{name}_share_remote"] = share(int((payment[remote] == method).sum()), int(remote.sum()))
    return out


def order_values(data: Data) -> dict[str, Measure]:
    """Mean order value by category (remote orders; grocery over every channel)."""
    tx = data.transactions
    out = {}
    for category in ("apparel", "home", "beauty", "grocery"):
        chosen = tx[(tx["category"] == category) & (tx["remote"] | (category == "grocery"))]
        value = chosen["amount"].mean() if len(chosen) else None
        out[f"aov_{category}_usd"] = point(value, len(chosen), MIN_ORDERS)
    return out


def repeat_buying(data: Data) -> dict[str, Measure]:
    """Repeat-purchase rate, purchases of repeat buyers, inter-purchase gaps, revenue concentration."""
    window = data.in_window
    note = data.window.label if data.window is not None else "no transactions"
    remote = window[window["remote"]]
    orders = data.customer_sum(remote)
    buyers, repeaters = orders >= 1, orders >= 2
    out = {
        "repeat_purchase_rate_remote": share(int(repeaters.sum()), int(buyers.sum()), note),
        "purchases_per_year_repeat_buyers_remote": point(
            len(remote) / repeaters.sum() if repeaters.sum() else None,
            int(repeaters.sum()),
            MIN_CUSTOMERS,
            note,
        ),
    }
    remote_revenue = data.customer_sum(remote, "amount")
    out["revenue_share_repeat_customers_remote"] = sum_share(remote_revenue, repeaters, note)
    revenue = data.customer_sum(window, "amount")
    spent = np.sort(revenue[data.customer_sum(window) >= 1])[::-1]
    top = math.ceil(0.2 * spent.size)
    out["top20_customer_revenue_share"] = point(
        spent[:top].sum() / spent.sum() if spent.size and spent.sum() > 0 else None,
        spent.size,
        MIN_CUSTOMERS,
        note,
    )
    tx = data.transactions[data.transactions["customer"] >= 0]
    order = np.lexsort((tx["timestamp"].to_numpy(), tx["customer"].to_numpy()))
    customer = tx["customer"].to_numpy()[order]
    stamps = tx["timestamp"].to_numpy()[order]
    same = customer[1:] == customer[:-1]
    gaps = (stamps[1:] - stamps[:-1])[same] / np.timedelta64(1, "D")
    out["inter_purchase_days_median"] = point(
        float(np.median(gaps)) if gaps.size else None, gaps.size, MIN_GAPS
    )
    return out


def income(data: Data) -> dict[str, Measure]:
    """Mean 12-month spend of the top household-income quintile over the bottom one (zero spend included)."""
    spend = data.customer_sum(data.in_window, "amount")
    incomes = pd.to_numeric(data.customers["household_income"], errors="coerce")
    known = incomes.notna().to_numpy()
    ranks = incomes[known].rank(method="first").to_numpy()
    quintile = np.floor((ranks - 1) * 5 / max(known.sum(), 1)).astype(int)
    spend = spend[known]
    bottom, top = spend[quintile == 0], spend[quintile == 4]
    note = data.window.label if data.window is not None else ""
    value = top.mean() / bottom.mean() if bottom.size and top.size and bottom.mean() > 0 else None
    return {"spend_ratio_top_bottom_income_quintile": point(value, bottom.size, MIN_QUINTILE, note)}


def lifecycle(data: Data) -> dict[str, Measure]:
    """Annual churn from the ground truth: churned in the window among customers alive at its start."""
    if data.lifecycle_frame is None:
        return {"annual_churn_rate": missing(data.lifecycle_why)}
    window = data.window
    if window is None:
        return {"annual_churn_rate": missing("no transactions: no window")}
    truth = data.lifecycle_frame
    acquired = pd.to_datetime(truth["acquired_on"], errors="coerce")
    churned = pd.to_datetime(truth["churned_on"].replace("", np.nan), errors="coerce")
    alive = (acquired <= window.start) & (churned.isna() | (churned >= window.start))
    inside = alive & (churned <= window.end)
    notes = [window.label]
    tx = data.transactions[data.transactions["customer"] >= 0]
    years = sorted(set(tx["year"].tolist()))
    for year in years[:-1]:
        before = set(tx.loc[tx["year"] == year, "customer"].tolist())
        after = set(tx.loc[tx["year"] == year + 1, "customer"].tolist())
        if before:
            notes.append(
                f"buyers of {year} without a purchase in {year + 1}: {len(before - after) / len(before):.3f}"
            )
    return {"annual_churn_rate": share(int(inside.sum()), int(alive.sum()), "; ".join(notes))}


def _max_min(counts: np.ndarray) -> float:
    low = counts.min()
    return float("inf") if low == 0 else float(counts.max() / low)


def hours(data: Data) -> dict[str, Measure]:
    """Hour-of-day profiles: max/min ratio (all channels, remote), in-store night share and busiest hour."""
    tx = data.transactions
    every = np.bincount(tx["hour"], minlength=24)
    remote = np.bincount(tx.loc[tx["remote"], "hour"], minlength=24)
    store = np.bincount(tx.loc[tx["channel"] == IN_STORE, "hour"], minlength=24)
    minimum = 24 * MIN_ROWS_PER_HOUR
    return {
        "purchases_hour_of_day_max_min_ratio": point(_max_min(every), every.sum(), minimum),
        "remote_purchases_hour_of_day_max_min_ratio": point(_max_min(remote), remote.sum(), minimum),
        "in_store_purchases_0000_0600_share": share(int(store[:6].sum()), int(store.sum())),
        "in_store_max_hour_share": point(
            store.max() / store.sum() if store.sum() else None, store.sum(), minimum
        ),
    }


def weekdays(data: Data) -> dict[str, Measure]:
    """In-store day-of-week profile: max/min ratio and weekend share."""
    tx = data.transactions
    store = np.bincount(tx.loc[tx["channel"] == IN_STORE, "weekday"], minlength=7)
    return {
        "in_store_day_of_week_max_min_ratio": point(_max_min(store), store.sum(), 7 * MIN_ROWS_PER_WEEKDAY),
        "in_store_weekend_share": share(int(store[5:].sum()), int(store.sum())),
    }


def _no_year(metrics: tuple[str, ...]) -> dict[str, Measure]:
    reason = "no calendar year covered from January to December by the transactions"
    return {metric: missing(reason) for metric in metrics}


def _non_leap_day_of_year(day: pd.Timestamp) -> int:
    return day.dayofyear - int(day.is_leap_year and day.month > 2)


def months(data: Data) -> dict[str, Measure]:
    """Monthly seasonality of revenue in the calendar year, and its top revenue day."""
    names = (
        "nov_dec_revenue_share",
        "december_seasonal_factor",
        "december_over_november_revenue",
        "lowest_month_factor",
        "top_revenue_day_of_year",
    )
    year = data.year
    if year is None:
        return _no_year(names)
    tx = data.transactions[data.transactions["year"] == year]
    monthly = np.bincount(tx["month"] - 1, weights=tx["amount"], minlength=12)
    note = f"calendar year {year}"
    support, minimum = len(tx), 12 * MIN_ROWS_PER_MONTH
    mean = monthly.mean()
    daily = tx.groupby("date")["amount"].sum()
    top_day = daily.idxmax() if len(daily) else None
    total = monthly.sum()
    return {
        "nov_dec_revenue_share": point(
            monthly[10:].sum() / total if total > 0 else None, support, MIN_ROWS_SEASON, note
        ),
        "december_seasonal_factor": point(monthly[11] / mean if mean > 0 else None, support, minimum, note),
        "december_over_november_revenue": point(
            monthly[11] / monthly[10] if monthly[10] > 0 else None, support, minimum, note
        ),
        "lowest_month_factor": point(monthly.min() / mean if mean > 0 else None, support, minimum, note),
        "top_revenue_day_of_year": point(
            None if top_day is None else _non_leap_day_of_year(top_day),
            support,
            365 * MIN_ROWS_PER_DAY,
            f"{note}: {top_day.date() if top_day is not None else 'n/a'}",
        ),
    }


def holiday_peaks(data: Data) -> dict[str, Measure]:
    """Cyber Monday, Black Friday, the season's top days; stores closed on Thanksgiving and Christmas."""
    tx = data.transactions
    store = tx[tx["channel"] == IN_STORE]
    closed = {
        "in_store_transactions_thanksgiving": "thanksgiving",
        "in_store_transactions_christmas": "christmas",
    }
    out = {}
    years = sorted(set(tx["year"].tolist()))
    for metric, holiday in closed.items():
        days = [holidays(year)[holiday] for year in years]
        out[metric] = exact(
            int(store["date"].isin(days).sum()), len(store), f"years {years[0]}..{years[-1]}" if years else ""
        )
    names = ("cyber_monday_online_ratio", "black_friday_in_store_rank", "top10_days_share_holiday_in_store")
    year = data.year
    if year is None:
        return out | _no_year(names)
    dates = holidays(year)
    note = f"calendar year {year}"
    remote = tx[tx["remote"]]
    start = pd.Timestamp(year=year, month=11, day=1)
    season = pd.date_range(start, dates["cyber_monday"])
    daily = remote[remote["date"].between(start, dates["cyber_monday"])].groupby("date")["amount"].sum()
    daily = daily.reindex(season, fill_value=0.0)
    rows = int(remote["date"].between(start, dates["cyber_monday"]).sum())
    out["cyber_monday_online_ratio"] = point(
        daily.iloc[-1] / daily.mean() if daily.mean() > 0 else None,
        rows,
        len(season) * MIN_ROWS_PER_DAY,
        f"{note}: Cyber Monday {dates['cyber_monday'].date()}",
    )
    in_year = store[store["year"] == year]
    every_day = pd.date_range(
        pd.Timestamp(year=year, month=1, day=1), pd.Timestamp(year=year, month=12, day=31)
    )
    counts = in_year.groupby("date").size().reindex(every_day, fill_value=0)
    rank = counts.rank(ascending=False, method="min")[dates["black_friday"]]
    out["black_friday_in_store_rank"] = point(
        rank,
        len(in_year),
        len(every_day) * MIN_ROWS_PER_DAY,
        f"{note}: Black Friday {dates['black_friday'].date()}",
    )
    season = pd.date_range(dates["thanksgiving"] - 4 * DAY, pd.Timestamp(year=year, month=12, day=28))
    counts = counts.reindex(season, fill_value=0)
    total = counts.sum()
    out["top10_days_share_holiday_in_store"] = point(
        np.sort(counts.to_numpy())[::-1][:10].sum() / total if total else None,
        total,
        len(season) * MIN_ROWS_PER_DAY,
        f"{note}: {season[0].date()}..{season[-1].date()}",
    )
    return out


def opt_ins(data: Data) -> dict[str, Measure]:
    """Email and SMS opt-in over all customers; push opt-in over mobile-app buyers."""
    customers = data.customers
    tx = data.transactions
    app_users = data.customer_sum(tx[tx["channel"] == "mobile_app"]) >= 1
    push = _bool(customers["push_opt_in"])
    return {
        "email_opt_in_rate": share(int(_bool(customers["email_opt_in"]).sum()), len(customers)),
        "sms_opt_in_rate": share(int(_bool(customers["sms_opt_in"]).sum()), len(customers)),
        "push_opt_in_rate": share(int(push[app_users].sum()), int(app_users.sum())),
    }


def demographics(data: Data) -> dict[str, Measure]:
    """Degrees and marriage among the youngest adults."""
    people = data.need("demographics")
    age = pd.to_numeric(people["age"], errors="coerce").to_numpy()
    graduate = np.isin(_text(people["education"]), BACHELOR_PLUS)
    married = _text(people["marital_status"]) == MARRIED

    def among(flag: np.ndarray, low: int, high: int) -> Measure:
        ages = (age >= low) & (age <= high)
        return share(int((flag & ages).sum()), int(ages.sum()))

    return {
        "bachelor_plus_share_age_18_24": among(graduate, 18, 24),
        "bachelor_plus_share_age_18_20": among(graduate, 18, 20),
        "married_share_age_18_19": among(married, 18, 19),
        "married_share_age_20_24": among(married, 20, 24),
    }


Family = Callable[[Data], dict[str, Measure]]
FAMILIES: dict[Family, tuple[str, ...]] = {
    email_funnel: (
        "email_open_rate",
        "email_click_rate",
        "email_click_to_open_rate",
        "email_conversion_per_delivered",
        "email_opens_within_1h_share",
        "email_opens_within_6h_share",
        "email_opens_within_24h_share",
    ),
    paid_media: (
        "search_ctr",
        "search_conversion_per_click",
        "search_cpc_usd",
        "display_ctr",
        "display_conversion_per_click",
        "display_cpc_usd",
        "display_cpm_usd",
        "social_ctr",
        "social_conversion_per_click",
        "social_cpc_usd",
        "social_cpm_usd",
        "conversion_per_click_digital",
        "roas_paid_media",
    ),
    sms: ("sms_click_rate", "sms_conversion_per_delivered", "sms_to_non_opted_in"),
    direct_mail: ("direct_mail_response_rate_house", "direct_mail_response_rate_prospect"),
    tv: ("tv_click_events", "tv_reach", "tv_average_frequency", "tv_cpm_usd", "roas_tv"),
    incrementality: (
        "email_absolute_lift_purchase",
        "search_relative_lift_retention",
        "display_relative_lift_purchase",
        "social_relative_lift_purchase",
        "direct_mail_incremental_share_of_responses",
        "control_group_attributed_transactions",
    ),
    devices: (
        "mobile_share_of_ecommerce_traffic",
        "tablet_share_of_ecommerce_traffic",
        "mobile_share_of_ecommerce_orders",
    ),
    sales_mix: (
        "remote_share_of_purchases",
        "remote_share_of_revenue",
        "cash_share_in_store",
        "credit_share_in_store",
        "debit_share_in_store",
        "credit_share_remote",
        "debit_share_remote",
        "digital_wallet_share_remote",
        "cash_share_remote",
    ),
    order_values: ("aov_apparel_usd", "aov_home_usd", "aov_beauty_usd", "aov_grocery_usd"),
    repeat_buying: (
        "repeat_purchase_rate_remote",
        "purchases_per_year_repeat_buyers_remote",
        "inter_purchase_days_median",
        "revenue_share_repeat_customers_remote",
        "top20_customer_revenue_share",
    ),
    income: ("spend_ratio_top_bottom_income_quintile",),
    lifecycle: ("annual_churn_rate",),
    hours: (
        "purchases_hour_of_day_max_min_ratio",
        "remote_purchases_hour_of_day_max_min_ratio",
        "in_store_purchases_0000_0600_share",
        "in_store_max_hour_share",
    ),
    weekdays: ("in_store_day_of_week_max_min_ratio", "in_store_weekend_share"),
    months: (
        "nov_dec_revenue_share",
        "december_seasonal_factor",
        "december_over_november_revenue",
        "lowest_month_factor",
        "top_revenue_day_of_year",
    ),
    holiday_peaks: (
        "cyber_monday_online_ratio",
        "black_friday_in_store_rank",
        "top10_days_share_holiday_in_store",
        "in_store_transactions_thanksgiving",
        "in_store_transactions_christmas",
    ),
    opt_ins: ("email_opt_in_rate", "sms_opt_in_rate", "push_opt_in_rate"),
    demographics: (
        "bachelor_plus_share_age_18_24",
        "bachelor_plus_share_age_18_20",
        "married_share_age_18_19",
        "married_share_age_20_24",
    ),
}
METRICS: dict[str, Family] = {metric: family for family, names in FAMILIES.items() for metric in names}


def measure_all(data: Data, metrics=None) -> dict[str, Measure]:
    """Every metric of ``metrics`` (default: all of :data:`METRICS`), each family computed once."""
    wanted = list(METRICS) if metrics is None else list(metrics)
    unknown = [metric for metric in wanted if metric not in METRICS]
    if unknown:
        raise ValueError(f"calibration metric(s) without a function: {', '.join(unknown)}")
    out: dict[str, Measure] = {}
    for family, names in FAMILIES.items():
        if not set(names) & set(wanted):
            continue
        try:
            measured = family(data)
        except NeedsTable as error:
            measured = {name: missing(str(error)) for name in names}
        out |= {name: measured[name] for name in names if name in wanted}
    return out


# --- profiles for the report --------------------------------------------------------------------------------
def profiles(data: Data) -> dict[str, pd.DataFrame]:
    """Hour-of-day and day-of-week shares of purchases (in store, remote) and monthly revenue shares."""
    try:
        tx = data.transactions
    except NeedsTable:
        return {}
    out = {}
    store, remote = tx[tx["channel"] == IN_STORE], tx[tx["remote"]]

    def shares(frame: pd.DataFrame, column: str, bins: int) -> np.ndarray:
        counts = np.bincount(frame[column], minlength=bins).astype(float)
        return counts / counts.sum() if counts.sum() else counts

    out["hour"] = pd.DataFrame(
        {"hour": range(24), "in_store": shares(store, "hour", 24), "remote": shares(remote, "hour", 24)}
    )
    out["weekday"] = pd.DataFrame(
        {"weekday": WEEKDAYS, "in_store": shares(store, "weekday", 7), "remote": shares(remote, "weekday", 7)}
    )
    year = data.year
    chosen = tx if year is None else tx[tx["year"] == year]
    revenue = np.bincount(chosen["month"] - 1, weights=chosen["amount"], minlength=12)
    out["month"] = pd.DataFrame(
        {"month": MONTHS, "revenue_share": revenue / revenue.sum() if revenue.sum() > 0 else revenue}
    )
    return out
