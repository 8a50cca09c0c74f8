"""A realistic demo 360-degree leadership feedback dataset, in the style of Benchmarks for Managers.

    python feedback360.py --leaders 300 --seed 7 --out-dir data

writes ``feedback360_long.csv`` (one row per leader × rater × item, 1–5 Likert responses, missing
where skipped) and ``feedback360_wide.csv`` (one row per leader × reported rater group: scale
scores by the reporting rules, job and demographic fields, and a ``high_potential`` outcome).
Scales and their item counts come from ``data/feedback360_scales.csv``; the calibration below is
from published meta-analyses of 360 ratings (see docs/synthesize.md). Everything is simulated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

import constants
from utils.core import storage
from utils.core.cli import UserError, base_parser, check_positive, run_main, setup_logging

log = logging.getLogger("feedback360")

GROUPS = ("Self", "Boss", "Superior", "Peer", "Direct Report", "Other")
# Loading of each group's single-rater rating on the leader's true score: chosen so that between-group
# correlations of single raters are boss–peer .627 × .542 = .34, self–boss .351 × .627 = .22 and
# self–peer .351 × .542 = .19 (Conway & Huffcutt 1997).
LOADING = {
    "Self": 0.351,
    "Boss": 0.627,
    "Superior": 0.60,
    "Peer": 0.542,
    "Direct Report": 0.45,
    "Other": 0.45,
}
# Single-rater reliability (two raters of one group agree): boss .50, peers .37, direct reports .30;
# the part above loading² is a view the group shares about the leader but others do not.
RELIABILITY = {
    "Self": 1.0,
    "Boss": 0.50,
    "Superior": 0.45,
    "Peer": 0.37,
    "Direct Report": 0.30,
    "Other": 0.30,
}
# Group leniency in standard deviations of a single rating: self about d = 0.32 above the boss.
LENIENCY = {"Self": 0.32, "Boss": 0.0, "Superior": -0.05, "Peer": 0.03, "Direct Report": 0.08, "Other": 0.0}
SCALE_MEAN = {"competency": 3.75, "derailment": 1.95}  # item means on the 1–5 scale
ITEM_SD = 0.75
# Rounding to a 1–5 scale and item noise attenuate correlations of scale scores by about this factor
# (measured on the generated data), so the latent loadings and reliabilities are the published
# figures divided by it, and the scores come out at the published values.
ATTENUATION = 0.89
SKIP_ITEM, SKIP_SCALE = 0.04, 0.03  # an item left blank; a whole scale marked "cannot rate"
# Competencies share a general factor and a cluster factor within a leader; derailment runs against it.
GENERAL, CLUSTER = 0.70, 0.40

JOB_LEVELS = {"Middle manager": 0.45, "Upper-middle manager": 0.35, "Executive": 0.20}
FUNCTIONS = {
    "Operations": 0.22,
    "Sales": 0.16,
    "Finance": 0.12,
    "IT": 0.12,
    "Marketing": 0.10,
    "Human Resources": 0.08,
    "R&D": 0.10,
    "Customer Service": 0.10,
}
SECTORS = {"Private": 0.68, "Public": 0.20, "Nonprofit": 0.12}
GENDERS = {"Female": 0.41, "Male": 0.58, "Prefer not to say": 0.01}


def load_scales(path=constants.FEEDBACK360_SCALES) -> pd.DataFrame:
    """The scale file: code, scale, column, kind (competency/derailment), cluster, n_items."""
    scales = storage.read_table(path)
    missing = {"code", "scale", "column", "kind", "cluster", "n_items"} - set(scales.columns)
    if missing:
        raise UserError(f"{path} lacks column(s) {', '.join(sorted(missing))}")
    return scales


def _choice(rng: np.random.Generator, options: dict, size: int) -> np.ndarray:
    return rng.choice(list(options), size=size, p=np.array(list(options.values())) / sum(options.values()))


def make_leaders(n: int, rng: np.random.Generator, scales: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Leaders' job and demographic fields, and their true scores (leaders × scales, standard units)."""
    general = rng.standard_normal(n)
    clusters = {c: rng.standard_normal(n) for c in scales["cluster"].unique()}
    specific_sd = np.sqrt(1 - GENERAL**2 - CLUSTER**2)
    true = np.column_stack(
        [
            GENERAL * general + CLUSTER * clusters[row.cluster] + specific_sd * rng.standard_normal(n)
            if row.kind == "competency"
            else -0.55 * general + 0.35 * clusters[row.cluster] + 0.76 * rng.standard_normal(n)
            for row in scales.itertuples()
        ]
    )
    level = _choice(rng, JOB_LEVELS, n)
    age = np.clip(np.round(rng.normal(44, 8, n) + 4 * (level == "Executive")), 27, 67).astype(int)
    derail = true[:, (scales["kind"] == "derailment").to_numpy()].mean(axis=1)
    logit = -1.45 + 1.5 * general - 0.6 * derail + 0.4 * (level == "Executive") + 0.5 * rng.standard_normal(n)
    days = rng.integers(0, 730, n)
    leaders = pd.DataFrame(
        {
            "leader_id": [f"L{i:05d}" for i in range(1, n + 1)],
            "assessment_date": (pd.Timestamp("2023-01-02") + pd.to_timedelta(days, "D")).strftime("%Y-%m-%d"),
            "job_level": level,
            "function": _choice(rng, FUNCTIONS, n),
            "sector": _choice(rng, SECTORS, n),
            "gender": _choice(rng, GENDERS, n),
            "age": age,
            "years_in_role": np.round(rng.gamma(2.0, 1.6, n), 1),
            "direct_reports": np.clip(rng.poisson(6, n) + 3 * (level == "Executive"), 1, 25),
            "high_potential": np.where(logit > 0, "yes", "no"),
        }
    )
    return leaders, true


def make_raters(leaders: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The raters who answered: 1 self, usually 1 boss, ~5 peers, ~5 direct reports, a few others."""
    counts = {
        "Self": np.ones(len(leaders), int),
        "Boss": (rng.random(len(leaders)) < 0.96).astype(int),
        "Superior": (rng.random(len(leaders)) < 0.30).astype(int),
        "Peer": np.clip(rng.poisson(5, len(leaders)), 1, 10),
        "Direct Report": np.minimum(rng.poisson(5, len(leaders)), leaders["direct_reports"].to_numpy()),
        "Other": rng.binomial(4, 0.25, len(leaders)),
    }
    rows = [
        (leader, group)
        for index, leader in enumerate(leaders["leader_id"])
        for group in GROUPS
        for _ in range(counts[group][index])
    ]
    raters = pd.DataFrame(rows, columns=["leader_id", "rater_group"])
    raters.insert(1, "rater_id", [f"R{i:06d}" for i in range(1, len(raters) + 1)])
    return raters


def rate(
    raters: pd.DataFrame, leader_index: np.ndarray, true: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Each rater's latent rating of each scale (raters × scales, standard units, leniency included)."""
    n_leaders, n_scales = true.shape
    groups = raters["rater_group"].to_numpy()
    loading = np.array([LOADING[g] / np.sqrt(ATTENUATION) for g in groups])[:, None]
    reliability = np.array([min(RELIABILITY[g] / ATTENUATION, 1.0) for g in groups])[:, None]
    shared_var = reliability - loading**2
    shared = {g: rng.standard_normal((n_leaders, n_scales)) for g in GROUPS}  # a group's common view
    view = np.stack([shared[g][i] for g, i in zip(groups, leader_index, strict=True)])
    noise = rng.standard_normal((len(raters), n_scales))
    # a rater's general halo: a lenient or severe rater is so on every scale
    halo = rng.standard_normal((len(raters), 1))
    own = np.sqrt(np.clip(1 - loading**2 - shared_var, 0, None))
    leniency = np.array([LENIENCY[g] for g in groups])[:, None]
    return (
        leniency
        + loading * true[leader_index]
        + np.sqrt(shared_var) * view
        + own * (0.5 * halo + 0.866 * noise)
    )


def long_format(raters: pd.DataFrame, latent: np.ndarray, scales: pd.DataFrame, rng) -> pd.DataFrame:
    """One row per rater × item: 1–5 responses from the latent rating, with skipped items missing."""
    frames = []
    for s, scale in enumerate(scales.itertuples()):
        k = int(scale.n_items)
        mean = SCALE_MEAN[scale.kind]
        item = mean + ITEM_SD * (0.93 * latent[:, [s]] + 0.37 * rng.standard_normal((len(raters), k)))
        response = np.clip(np.rint(item), 1, 5)
        skipped = (rng.random((len(raters), k)) < SKIP_ITEM) | (rng.random((len(raters), 1)) < SKIP_SCALE)
        response[skipped] = np.nan
        frames.append(
            pd.DataFrame(
                {
                    "rater_index": np.repeat(np.arange(len(raters)), k),
                    "cluster": scale.cluster,
                    "scale": scale.scale,
                    "item_id": np.tile([f"{scale.code}{j}" for j in range(1, k + 1)], len(raters)),
                    "response": response.ravel(),
                    "order": s,
                }
            )
        )
    items = pd.concat(frames, ignore_index=True).sort_values(["rater_index", "order"], kind="stable")
    head = raters.iloc[items["rater_index"]].reset_index(drop=True)
    long = pd.concat([head, items.drop(columns=["rater_index", "order"]).reset_index(drop=True)], axis=1)
    long["response"] = long["response"].astype("Int64")
    return long


def score(long: pd.DataFrame, scales: pd.DataFrame) -> pd.DataFrame:
    """Rater × scale scores: mean of answered items, only for raters who answered at least half."""
    columns = dict(zip(scales["scale"], scales["column"], strict=True))
    half = dict(zip(scales["scale"], np.ceil(scales["n_items"] / 2), strict=True))
    grouped = long.groupby(["leader_id", "rater_id", "rater_group", "scale"], sort=False)["response"]
    per = grouped.agg(["mean", "count"]).reset_index()
    per.loc[per["count"] < per["scale"].map(half), "mean"] = np.nan
    per["column"] = per["scale"].map(columns)
    return per


def wide_format(long: pd.DataFrame, leaders: pd.DataFrame, scales: pd.DataFrame) -> pd.DataFrame:
    """One row per leader × reported rater group (All Raters included), by the reporting rules."""
    per = score(long, scales)
    columns = list(scales["column"])
    groups = per.assign(counted=per["mean"].notna())
    pooled = groups[groups["rater_group"] != "Self"].assign(rater_group="All Raters")
    rows = []
    for frame, minimum in [(groups, constants.FEEDBACK360_MIN_RATERS), (pooled, None)]:
        stats = frame.groupby(["leader_id", "rater_group", "column"], sort=False).agg(
            score=("mean", "mean"), counted=("counted", "sum")
        )
        stats = stats.reset_index()
        need = stats["rater_group"].map(minimum) if minimum else constants.FEEDBACK360_ALL_RATERS_MIN
        stats.loc[stats["counted"] < need, "score"] = np.nan
        table = stats.pivot_table(
            index=["leader_id", "rater_group"], columns="column", values="score", dropna=False
        )
        raters = frame.groupby(["leader_id", "rater_group"])["rater_id"].nunique().rename("n_raters")
        rows.append(table.join(raters).reset_index())
    wide = pd.concat(rows, ignore_index=True)
    wide = wide[wide[columns].notna().any(axis=1)]  # a group with no reportable scale is not reported
    order = {g: i for i, g in enumerate((*GROUPS, "All Raters"))}
    wide = wide.assign(_order=wide["rater_group"].map(order)).sort_values(["leader_id", "_order"])
    wide[columns] = wide[columns].round(2)
    fields = leaders.drop(columns="high_potential")
    out = fields.merge(wide, on="leader_id").merge(leaders[["leader_id", "high_potential"]], on="leader_id")
    return out[[*fields.columns, "rater_group", "n_raters", *columns, "high_potential"]].reset_index(
        drop=True
    )


def feedback360(
    leaders: int = constants.FEEDBACK360_LEADERS, seed: int = constants.DEFAULT_SEED, scales_path=None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo 360 dataset as (long, wide) DataFrames; the same seed gives the same rows."""
    check_positive(leaders, "--leaders")
    scales = load_scales(scales_path or constants.FEEDBACK360_SCALES)
    rng = np.random.default_rng(seed)
    people, true = make_leaders(leaders, rng, scales)
    raters = make_raters(people, rng)
    leader_index = raters["leader_id"].map({lid: i for i, lid in enumerate(people["leader_id"])}).to_numpy()
    latent = rate(raters, leader_index, true, rng)
    long = long_format(raters, latent, scales, rng)
    log.info("%s leaders, %s raters, %s item responses", leaders, f"{len(raters):,}", f"{len(long):,}")
    return long, wide_format(long, people, scales)


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n")[0])
    parser.add_argument("--leaders", type=int, default=constants.FEEDBACK360_LEADERS, help="leaders rated")
    parser.add_argument("--out-dir", default=str(constants.DATA_DIR), help="output folder or az:// URL")
    parser.add_argument("--scales", default=str(constants.FEEDBACK360_SCALES), help="scale file (CSV)")
    parser.add_argument("--format", default=constants.DEFAULT_OUTPUT_FORMAT, help="csv or parquet")
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    check_positive(args.leaders, "--leaders")
    out_dir = storage.ensure_dir(args.out_dir)
    storage.table_format("x", args.format)
    long, wide = feedback360(args.leaders, args.seed, args.scales)
    for name, frame in (("feedback360_long", long), ("feedback360_wide", wide)):
        path = storage.write_table(frame, storage.join(out_dir, f"{name}.{args.format}"))
        log.info("wrote %s (%s rows)", path, f"{len(frame):,}")
    return 0


if __name__ == "__main__":
    run_main(main)
