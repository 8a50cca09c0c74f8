"""The one schema of the dataset: tables, columns, dtypes, keys, vocabularies and file names.

Everything that needs to know what a table holds derives it from here: the stages (column order of
their outputs), the business rules (primary and foreign keys, ranges, event types), the loaders and
writers (file names, date columns), validation (keys, identifiers) and EDA. Nothing restates it.

    from utils.core import schema
    schema.TABLES["engagements"].column_names       # ('engagement_id', 'customer_id', ...)
    schema.TABLES["transactions"].foreign_keys      # (ForeignKey('customer_id', 'demographics', ...), ...)
    schema.file_name("demographics", "csv", state="NY")   # 'NY_demographics.csv'

Logical table names are the keys of :data:`TABLES`. ``demographics`` is written one file per state
(``{STATE}_demographics.{fmt}``) and loaded as one table (all states concatenated).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Table names --------------------------------------------------------------------------------------
DEMOGRAPHICS = "demographics"
PREFERENCES = "consumer_preferences"
CAMPAIGNS = "marketing_campaigns"
ENGAGEMENTS = "engagements"
AUDIENCE = "campaign_audience"
TRANSACTIONS = "transactions"

# --- Vocabularies ---------------------------------------------------------------------------------------
# Demographics: the census contract's category codes, in their natural order.
AGE_GROUPS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")
GENDERS = ("male", "female")
RACES = (
    "hispanic_any_race",
    "white_nh",
    "black_nh",
    "aian_nh",
    "asian_nh",
    "nhpi_nh",
    "other_nh",
    "two_or_more_nh",
)
EDUCATION = (
    "less_than_high_school",
    "high_school_or_ged",
    "some_college_no_degree",
    "associates",
    "bachelors",
    "graduate_or_professional",
)
MARITAL = ("never_married", "married_not_separated", "separated", "widowed", "divorced")
INCOME_BRACKETS = (
    "0-9999",
    "10000-14999",
    "15000-19999",
    "20000-24999",
    "25000-29999",
    "30000-34999",
    "35000-39999",
    "40000-44999",
    "45000-49999",
    "50000-59999",
    "60000-74999",
    "75000-99999",
    "100000-124999",
    "125000-149999",
    "150000-199999",
    "200000+",
)
HOUSEHOLD_SIZES = ("1", "2", "3", "4+")
URBAN_RURAL = ("urban", "rural")
HOME_OWNERSHIP = ("owner", "renter")  # B25007 tenure of the household
EMPLOYMENT_STATUS = ("employed", "unemployed", "not_in_labor_force")  # B23001; armed forces -> employed
CHILDREN_IN_HOUSEHOLD = ("no_children", "with_children")  # own children under 18 (from B09002)
HOUSEHOLD_LANGUAGE = (  # C16002 language spoken at home by the household
    "english_only",
    "spanish",
    "other_indo_european",
    "asian_pacific_island",
    "other",
)
# Preferences, campaigns, engagements, transactions.
CHANNELS = ("email", "social", "search", "display", "tv", "direct_mail", "sms")
DEVICES = ("mobile", "desktop", "tablet")
# Where an engagement happened: a screen, a TV set (TV exposures) or paper (a mail piece, its code).
ENGAGEMENT_DEVICES = (*DEVICES, "tv", "print")
CATEGORIES = ("electronics", "apparel", "home", "beauty", "grocery", "sports")
AFFINITIES = tuple(f"affinity_{category}" for category in CATEGORIES)
OPT_INS = ("email_opt_in", "sms_opt_in", "push_opt_in")
OBJECTIVES = ("awareness", "acquisition", "conversion", "retention")
SEGMENTS = ("all_adults", "young_adults", "middle_aged", "seniors", "value_seekers", "loyal_customers")
CREATIVES = ("video", "static_image", "carousel", "text", "interactive")
# Engagement events in funnel order: an impression is an ad served, an email, SMS or mail piece
# delivered, or a TV exposure; an open exists for email only; TV has impressions only (it works
# through purchases); a mail piece is answered with a code (a conversion without a click).
EVENT_TYPES = ("impression", "open", "click", "conversion")
OPEN_CHANNELS = ("email",)
IMPRESSION_ONLY_CHANNELS = ("tv",)
CODE_RESPONSE_CHANNELS = ("direct_mail",)
# A campaign's eligible audience is split at random: the treatment group receives it, the control
# group (holdout) nothing from it; both keep buying.
GROUPS = ("treatment", "control")
PAYMENT_METHODS = ("credit_card", "debit_card", "digital_wallet", "cash", "buy_now_pay_later")
SALES_CHANNELS = ("online", "mobile_app", "in_store")

# --- Column and table declarations ------------------------------------------------------------------------
DTYPES = ("id", "text", "category", "int", "float", "bool", "date", "datetime")


@dataclass(frozen=True)
class Column:
    """One column: its name, dtype (one of :data:`DTYPES`), vocabulary and allowed range."""

    name: str
    dtype: str
    values: tuple[str, ...] | None = None  # the closed vocabulary of a category column
    minimum: float | None = None  # inclusive bounds of a numeric column (None = open)
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"column {self.name}: unknown dtype {self.dtype!r}")


@dataclass(frozen=True)
class ForeignKey:
    """``column`` of a table refers to ``parent_column`` of ``parent``; ``optional`` allows empty values."""

    column: str
    parent: str
    parent_column: str
    optional: bool = False


@dataclass(frozen=True)
class Table:
    """One logical table: its columns in file order, primary key, foreign keys and the stage writing it."""

    name: str
    stage: str
    columns: tuple[Column, ...]
    primary_key: str
    foreign_keys: tuple[ForeignKey, ...] = ()
    per_state: bool = False  # written one file per state: {STATE}_{name}.{fmt}
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in file order."""
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name`` (KeyError if there is none)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    def names_of(self, *dtypes: str) -> tuple[str, ...]:
        """Names of the columns of the given dtypes, in file order."""
        return tuple(column.name for column in self.columns if column.dtype in dtypes)

    @property
    def parents(self) -> tuple[str, ...]:
        """The tables this one refers to, in declaration order."""
        return tuple(dict.fromkeys(key.parent for key in self.foreign_keys))


def _id(name: str) -> Column:
    return Column(name, "id")


def _category(name: str, values: tuple[str, ...]) -> Column:
    return Column(name, "category", values)


def _share(name: str) -> Column:
    return Column(name, "float", minimum=0.0, maximum=1.0)


TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table(
            DEMOGRAPHICS,
            "demographics",
            (
                _id("customer_id"),
                Column("state", "text"),
                Column("age", "int", minimum=18),
                _category("age_group", AGE_GROUPS),
                _category("gender", GENDERS),
                _category("race_ethnicity", RACES),
                _category("education", EDUCATION),
                _category("marital_status", MARITAL),
                Column("household_income", "float"),
                _category("income_bracket", INCOME_BRACKETS),
                Column("household_size", "int"),
                _category("urban_rural", URBAN_RURAL),
                _category("home_ownership", HOME_OWNERSHIP),
                _category("employment_status", EMPLOYMENT_STATUS),
                _category("children_in_household", CHILDREN_IN_HOUSEHOLD),
                _category("household_language", HOUSEHOLD_LANGUAGE),
            ),
            "customer_id",
            per_state=True,
            description="one adult customer per row, census-seeded per state",
        ),
        Table(
            PREFERENCES,
            "consumer_preferences",
            (
                _id("customer_id"),
                _category("preferred_channel", CHANNELS),
                _category("preferred_device", DEVICES),
                _share("price_sensitivity"),
                _share("brand_loyalty"),
                Column("purchase_frequency", "float", minimum=0),
                Column("avg_basket_size", "float", minimum=0.01),
                *(Column(name, "float") for name in AFFINITIES),
                *(Column(name, "bool") for name in OPT_INS),
            ),
            "customer_id",
            (ForeignKey("customer_id", DEMOGRAPHICS, "customer_id"),),
            description="one row per customer: channel, device, scores and opt-ins",
        ),
        Table(
            CAMPAIGNS,
            "marketing",
            (
                _id("campaign_id"),
                Column("campaign_name", "text"),
                _category("channel", CHANNELS),
                _category("objective", OBJECTIVES),
                _category("target_segment", SEGMENTS),
                Column("start_date", "date"),
                Column("end_date", "date"),
                Column("budget", "float", minimum=0.01),
                Column("discount_pct", "float", minimum=0.0, maximum=1.0),
                _category("creative_type", CREATIVES),
            ),
            "campaign_id",
            description="one row per campaign",
        ),
        Table(
            ENGAGEMENTS,
            "marketing",
            (
                _id("engagement_id"),
                _id("customer_id"),
                _id("campaign_id"),
                Column("timestamp", "datetime"),
                _category("event_type", EVENT_TYPES),
                _category("device", ENGAGEMENT_DEVICES),
                _category("channel", CHANNELS),
            ),
            "engagement_id",
            (
                ForeignKey("customer_id", DEMOGRAPHICS, "customer_id"),
                ForeignKey("campaign_id", CAMPAIGNS, "campaign_id"),
            ),
            description="one row per impression, open, click or conversion event",
        ),
        Table(
            AUDIENCE,
            "marketing",
            (
                _id("audience_id"),
                _id("campaign_id"),
                _id("customer_id"),
                _category("group", GROUPS),
                Column("assigned_at", "datetime"),
            ),
            "audience_id",
            (
                ForeignKey("campaign_id", CAMPAIGNS, "campaign_id"),
                ForeignKey("customer_id", DEMOGRAPHICS, "customer_id"),
            ),
            description="one row per customer of a campaign's eligible audience and its random group",
        ),
        Table(
            TRANSACTIONS,
            "transactions",
            (
                _id("transaction_id"),
                _id("customer_id"),
                _id("campaign_id"),
                Column("timestamp", "datetime"),
                Column("amount", "float"),  # > 0: its own rule
                Column("quantity", "int", minimum=1),
                _category("category", CATEGORIES),
                _category("payment_method", PAYMENT_METHODS),
                _category("channel", SALES_CHANNELS),
            ),
            "transaction_id",
            (
                ForeignKey("customer_id", DEMOGRAPHICS, "customer_id"),
                ForeignKey("campaign_id", CAMPAIGNS, "campaign_id", optional=True),
            ),
            description="one row per purchase; campaign_id is the attributed campaign or empty",
        ),
    )
}
TABLE_NAMES = tuple(TABLES)  # in dependency order
DATETIME_COLUMNS = tuple(
    dict.fromkeys(c.name for t in TABLES.values() for c in t.columns if c.dtype in ("date", "datetime"))
)
PRIMARY_KEYS = {name: table.primary_key for name, table in TABLES.items()}

# --- Files ------------------------------------------------------------------------------------------------
TABLE_FORMATS = ("csv", "parquet")
SEED_FOLDER = "seed"  # the seed sample each stage fitted on, same names as the tables
MODELS_FOLDER = "models"  # fitted synthesizers, {stage or STATE_demographics}.pkl
MANIFEST = "manifest.json"
GROUND_TRUTH = "ground_truth.json"
TRUTH_FOLDER = "ground_truth"  # per-row truth files: effects, attribution, lifecycle
# Tables with a row per customer or per customer event: generated and written per customer partition
# (utils.chain.partitions); Parquet keeps them as folders of parts (engagements/part-00000.parquet).
PARTITIONED_TABLES = (PREFERENCES, AUDIENCE, ENGAGEMENTS, TRANSACTIONS)


def file_name(table: str, fmt: str, *, state: str | None = None) -> str:
    """The file name of ``table`` in format ``fmt`` (``state`` for a per-state table)."""
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}")
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"unknown table format {fmt!r}")
    if TABLES[table].per_state:
        if state is None:
            raise ValueError(f"{table} is written per state: give state=")
        return f"{state}_{table}.{fmt}"
    return f"{table}.{fmt}"


def table_of_file(name: str) -> tuple[str, str | None] | None:
    """``(table, state)`` for a table file name such as ``NY_demographics.csv``; None for other files."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in TABLE_FORMATS:
        return None
    if stem in TABLES and not TABLES[stem].per_state:
        return stem, None
    state, _, table = stem.partition("_")
    if table in TABLES and TABLES[table].per_state and state.isalpha() and state.isupper():
        return table, state
    return None
