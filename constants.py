"""Project-wide settings: the one place for defaults, model parameters and quality thresholds.

Every script reads its defaults from here, so a change here changes the whole pipeline.
Sections are owned by the stage named in their heading; add new knobs to the right section.
"""

from pathlib import Path

# --- Paths -------------------------------------------------------------------------------------
PROJECT_ROOT = Path(__file__).resolve().parent
DATA_DIR = PROJECT_ROOT / "data"
CENSUS_DIR = DATA_DIR / "census"
VALIDATION_REPORTS_DIR = PROJECT_ROOT / "validation" / "reports"
EDA_REPORTS_DIR = PROJECT_ROOT / "eda" / "reports"
FAIRNESS_REPORTS_DIR = PROJECT_ROOT / "fairness" / "reports"
CACHE_DIR = PROJECT_ROOT / "cache"

# --- Reproducibility and scale -----------------------------------------------------------------
DEFAULT_SEED = 42
STATES = ["NY", "CA", "TX", "IL", "FL", "WA"]
DEFAULT_ROWS_PER_STATE = 10_000
DEFAULT_SEED_ROWS_PER_STATE = 5_000  # rows of the census-seeded sample that a synthesizer is fitted on
DEFAULT_OUTPUT_FORMAT = "csv"

# --- Synthesizers ------------------------------------------------------------------------------
SYNTHESIZERS = ("gaussian_copula", "ctgan", "tvae")
DEFAULT_SYNTHESIZER = "gaussian_copula"
# CTGAN / TVAE settings from the README (CTGAN uses all of them, TVAE epochs and batch_size).
# Where CTGAN and TVAE train: "auto" uses CUDA when torch sees a GPU, "cpu" never does, "cuda" must.
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_DEVICE = "auto"
MODEL_PARAMETERS = {
    "epochs": 100,
    "batch_size": 500,
    "generator_dim": (512, 256),
    "discriminator_dim": (512, 256),
}

# --- Validation --------------------------------------------------------------------------------
VALIDATION_THRESHOLDS = {
    "distribution_tolerance": 0.05,  # max KS statistic / total variation distance per column
    "correlation_tolerance": 0.10,  # max absolute difference of a correlation / Cramér's V entry
}

# --- Fairness ----------------------------------------------------------------------------------
FOUR_FIFTHS_RANGE = (0.8, 1.25)  # disparate impact inside this range passes

# --- Datasets ----------------------------------------------------------------------------------
PROTECTED_ATTRIBUTES = ("gender", "race_ethnicity", "age_group")
HIGH_VALUE_QUANTILE = 0.8  # a customer whose total spend is at or above this quantile is high value

# --- Demographics ------------------------------------------------------------------------------
# Rows of each state's census-seeded (IPF) sample the demographics synthesizer is fitted on. Larger
# than DEFAULT_SEED_ROWS_PER_STATE: the census cross-tabs have up to 112 cells, and the seed's own
# sampling error carries into every synthetic row.
DEMOGRAPHIC_SEED_ROWS_PER_STATE = 50_000

# --- EDA and fairness (eda.py, fairness.py) ------------------------------------------------------
EDA_SAMPLE_ABOVE_ROWS = 100_000  # a table with more rows is profiled on a reproducible sample ...
EDA_SAMPLE_ROWS = 50_000  # ... of this many rows
EDA_MINIMAL_ABOVE_ROWS = 500_000  # a table with more rows is profiled in ydata-profiling's minimal mode
EDA_POOL_SIZE = 2  # ydata-profiling worker threads (0 = one per CPU)
FAIRNESS_TOLERANCE = 0.10  # max |difference| of rates (parity, TPR, FPR, odds) that still passes
FAIRNESS_MIN_GROUP_SIZE = 30  # smaller groups are reported but get no verdict (too noisy)
FAIRNESS_TEST_FRACTION = 0.3  # share of customers held out to score the classifier
FAIRNESS_VALIDATION_FRACTION = 0.2  # share held out to fit the equalized-odds post-processor
FAIRNESS_ALPHA = 0.01  # a disparate impact outside the range fails only if the gap is this significant

# --- Chain: preferences, campaigns, engagements, transactions (consumer/marketing/transaction.py) ----
# Marginals of the chain copulas (one per stratum): truncated normals fit ~10x faster than beta.
CHAIN_MARGINALS = "truncnorm"
CHAIN_SEED_CUSTOMERS = 6_000  # customers in each chain stage's simulated seed sample
# Customers per partition of the chain stages (utils/chain/partitions.py): a state of more customers
# is cut by a hash of the customer id. A partition task's memory follows it (docs/scale.md), not the
# build's size; the default build (10,000 a state) is one partition a state.
PARTITION_CUSTOMERS = 25_000
# The period a build covers (--start / --end, inclusive): campaigns, engagements and transactions fall in it.
DEFAULT_START = "2024-01-01"
DEFAULT_END = "2024-12-31"
MAX_PERIOD_YEARS = 10
# Campaigns a marketer runs per year (--campaigns sets the total): a plan, not a multiple of the
# customers, so events per customer stay constant as the customers grow. 40 give every target
# segment several campaigns (with 12, one campaign decided an age group's conversion rate).
CAMPAIGNS_PER_YEAR = 40
CAMPAIGN_SEED_ROWS = 400  # simulated campaigns the campaign synthesizer is fitted on
# Marginals of the campaign copula: SDV's default beta smeared the discounts (uniform 0-0.2, or
# 0.1-0.4 for conversion campaigns): pool KS vs seed 0.15-0.40 over seeds 1, 2, 3, 13; kernel
# densities 0.045-0.09 (400 rows: fast).
CAMPAIGN_MARGINALS = "gaussian_kde"
HOLDOUT_SHARE = 0.10  # share of each campaign's audience assigned at random to its control group
OUTCOME_WINDOW_DAYS = 14  # a campaign's outcome: >= 1 purchase from its start to this many days after its end
ATTRIBUTION_WINDOW_DAYS = 7  # an attributed purchase follows its conversion within this many days
# Funnel pairs the engagement synthesizer is fitted on (all of a default seed's ~130,000): conversions
# are rare (about 1 % of pairs), and on 20,000 pairs a group's conversion rate was 10 % off by chance.
CHAIN_FUNNEL_FIT_ROWS = 200_000
# The funnel seed simulates this many times --seed-customers customers (at most all of them): with 6,000
# seed customers an age group's conversion rate was up to 25 % off by chance (disparate impact 0.70).
CHAIN_FUNNEL_SEED_FACTOR = 4
# Bias knob: a protected group (e.g. {"gender": "female"}) that targeting and response disfavour.
# strength s in [0, 1]: the group's customers are left out of targeting with probability s and its
# exposed members convert with probability scaled by (1 - s). None / 0.0 = no injected bias.
BIAS_GROUP: dict[str, str] | None = None
BIAS_STRENGTH = 0.0

# --- Synthesize (synthesize.py, feedback360.py) --------------------------------------------------
SYNTH_HOLDOUT = 0.2  # share of real rows held out: utility is tested and privacy compared on them
SYNTH_MIN_CLASS_ROWS = 30  # target classes with fewer training rows share one pooled synthesizer
# Besides the target, the copula is fitted per class of every "structural" category: one that nearly
# determines some numeric column (correlation ratio eta^2 >= this; e.g. rater_group -> n_raters in the
# 360 demo), with at most this many categories. One jittered latent cannot carry such a column.
SYNTH_STRUCTURAL_ETA2 = 0.5
SYNTH_STRUCTURAL_MAX_CATEGORIES = 10
# ...and, while the classes leave about SYNTH_PARTITION_ROWS rows each, one of every pair of categories
# tied by a Cramér's V at least this (relationship x marital status in a census table).
SYNTH_STRUCTURAL_CRAMERS_V = 0.5
# The verdict's bars: a copy passes when every figure is on the right side of its bar.
SYNTH_BARS = {
    "quality_score": 0.75,  # SDMetrics QualityReport overall score, at least
    "f1_ratio": 0.85,  # train-on-synthetic F1 / train-on-real F1, at least
    "share_closer_to_training": 0.60,  # DCR share (ideal 0.5), at most
    "membership_advantage": 0.20,  # 2*|AUC-0.5| of the distance attack, at most
}
FEEDBACK360_SCALES = DATA_DIR / "feedback360_scales.csv"
FEEDBACK360_LEADERS = 300
CHAIN_FIT_ROWS = 20_000  # at most this many seed rows are fitted on (engagement pairs, transactions)
CHAIN_POOL_ROWS = 200_000  # at most this many synthetic rows are sampled; real rows reuse them by stratum
# Benchmarks-style reporting rules: a rater group is reported only with this many raters who each
# answered at least half of a scale's items; "All Raters" pools every group but Self.
FEEDBACK360_MIN_RATERS = {"Self": 1, "Boss": 1, "Superior": 1, "Peer": 3, "Direct Report": 3, "Other": 3}
FEEDBACK360_ALL_RATERS_MIN = 4

# --- Reading a build (validation/, eda.py, fairness.py) -------------------------------------------
# A build of more customers is validated, profiled and checked for fairness on a seeded sample of
# about this many (by a hash of the customer id: utils.core.datasets.sample_customers), with all of
# their rows in every table, read chunk by chunk: memory follows the sample, not the build.
READ_MAX_CUSTOMERS = 150_000

# --- Validation framework (validation/) ----------------------------------------------------------
# A distance fails only beyond max(tolerance, NOISE_FACTOR x the distance sampling noise alone is
# expected to give with this many rows): small tables are not failed for being small.
VALIDATION_NOISE_FACTOR = 2.5
VALIDATION_SAMPLE_ROWS = 20_000  # rows (seeded sample) per table for correlations and plots
VALIDATION_DISTANCE_ROWS = 200_000  # rows (seeded sample) per table for the KS / TVD distances
VALIDATION_SDMETRICS_ROWS = 2_000  # rows per table for the SDMetrics quality and diagnostic reports
VALIDATION_MAX_CATEGORIES = 50  # a text column with more distinct values is an identifier, not compared
# Marginals of the copula: SDV's default "beta" fit fails on bounded Likert means (measured shape
# scores 0.63–0.72 and class effects reversed on the 360 demo); truncnorm keeps them.
SYNTH_COPULA_DISTRIBUTION = "truncnorm"
# Marginals that keep their shape (utils/private_copy/marginals.py): every column through its own
# empirical CDF. A numeric column with at most this many distinct integer values (counts, ages, codes)
# keeps its exact values and frequencies; a value holding at least SYNTH_ATOM_SHARE of the rows is
# reported as a point mass (atoms are always kept exactly, this share only names them).
SYNTH_MARGINALS = "empirical"  # synthesize.py's default; "beta" etc. give SDV's parametric marginals
SYNTH_DISCRETE_MAX_VALUES = 100
SYNTH_ATOM_SHARE = 0.05
# Rounds of re-placing tied rows (categories, atoms) inside their latent interval by a conditional draw.
SYNTH_LATENT_ROUNDS = 10
# Relationships without a target (utils/private_copy/mixture.py): besides the target's classes (and
# the structural categories), rows are cut into learned parts (k-means on the normal scores, categories
# one-hot) of about this many training rows, at most SYNTH_PARTITION_MAX per class; one copula per part.
SYNTH_PARTITION_ROWS = 1500
SYNTH_PARTITION_MAX = 12
# A category that another column of at most SYNTH_DERIVED_MAX_VALUES values determines in this share of
# rows (a subtype's main type, a number's label) is looked up from it in the copy, not modelled.
SYNTH_DERIVED_SHARE = 0.995
SYNTH_DERIVED_MAX_VALUES = 100
SYNTH_DERIVED_MIN_ROWS = 10  # rows per value of the source, on average
# Per-column bar of the verdict (KS for numbers and dates, TVD for categories, vs the training rows),
# and the share of column pairs whose correlation / Cramér's V may differ by at most the tolerance.
SYNTH_COLUMN_DISTANCE_BAR = 0.10
SYNTH_PAIR_TOLERANCE = 0.10
SYNTH_PAIRS_WITHIN_BAR = 0.90
# Type mistakes that would leak real values: a text column with at least this share of distinct values
# (names, e-mails, free text, ids without "id" in the name) is left out (regenerated when unique); a
# text column whose values are at least SYNTH_DATE_SHARE dates (any mix of formats) is parsed as dates.
SYNTH_NEAR_UNIQUE_SHARE = 0.5
SYNTH_NEAR_UNIQUE_MIN_VALUES = 20
SYNTH_DATE_SHARE = 0.95
# Utility without a target: each categorical column with 2..this many values is the target in turn
# (at most SYNTH_TSTR_MAX_TARGETS of them, on at most SYNTH_TSTR_ROWS training rows).
SYNTH_TSTR_MAX_CATEGORIES = 10
SYNTH_TSTR_MAX_TARGETS = 8
SYNTH_TSTR_ROWS = 10_000
SYNTH_TSTR_MAX_TARGETS_WIDE = 3  # on tables over SYNTH_QUALITY_MAX_COLUMNS columns
SYNTH_TSTR_MIN_F1 = 0.10  # a column the real rows predict worse than this does not count in the mean ratio
# Side by side in every report: SDV's GaussianCopula defaults and CTGAN fitted on the same split,
# on at most this many training rows, CTGAN for this many epochs (bench/bench_synthesize.py: all rows).
SYNTH_COMPARE_ROWS = 5_000
SYNTH_COMPARE_CTGAN_EPOCHS = 10
# SDMetrics' quality report (pair trends are quadratic in the columns) on at most this many rows a side.
SYNTH_QUALITY_ROWS = 5_000
SYNTH_QUALITY_MAX_COLUMNS = 40  # wider tables: 1 - KS/TVD and pair differences instead of SDMetrics
# A sampled row equal to a training row that fewer than this many training rows share is a "rare copy";
# where real rows repeat at most SYNTH_NATURAL_COPY_RATE of the time (half vs half), copies are redrawn.
SYNTH_COPY_MIN_COUNT = 5
SYNTH_NATURAL_COPY_RATE = 0.01
