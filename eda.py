"""eda.py: ydata-profiling HTML reports for every dataset, and seed-vs-synthetic comparisons.

    python eda.py                                    # all datasets in data/, reports in eda/reports/
    python eda.py --datasets demographics,engagements --minimal
    python eda.py --sample 20000 --report-dir /tmp/eda
    python eda.py --data-dir az://container/run --report-dir az://container/reports/eda

One report per dataset (distributions, correlations, missing values, outliers, duplicates) and, where the
stage wrote its seed sample under ``{data_dir}/seed/``, one comparison report (ydata-profiling
``compare``) of the seed against the synthetic table. Tables above ``constants.EDA_SAMPLE_ABOVE_ROWS``
are profiled on a reproducible sample (``--seed``), tables above ``constants.EDA_MINIMAL_ABOVE_ROWS`` in
minimal mode; the report title says which. A build of more than ``constants.READ_MAX_CUSTOMERS``
customers is read as a seeded sample of about that many customers with all of their rows (the same
customers validation checks), table by table and chunk by chunk, so no table is ever held whole; the
titles, the index and the console say so. ``index.html`` links every report. Reports go to
``eda/reports/<data folder>-<run id>/`` (one folder per dataset) unless ``--report-dir`` says where;
data and report folders may be local or ``az://``. Nothing touches the network but ``az://``:
ydata-profiling's usage analytics are switched off and its assets are inlined.
"""

from __future__ import annotations

import contextlib
import html
import io
import logging
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

import constants
from utils.core import datasets, runs, schema, storage
from utils.core.cli import (
    UserError,
    base_parser,
    positive_int,
    progress_enabled,
    run_main,
    setup_logging,
    split_list,
)

log = logging.getLogger("eda")

os.environ["YDATA_PROFILING_NO_ANALYTICS"] = "1"  # ydata-profiling would otherwise call home per report
logging.getLogger("visions").setLevel(logging.WARNING)  # "Pandas backend loaded ..." on every import

DATE_COLUMNS = schema.DATETIME_COLUMNS
DEFAULT_REPORT_DIR = "per-dataset"  # eda/reports/<data folder>-<run id>/ (runs.report_folder)


@dataclass(frozen=True)
class ProfilePlan:
    """How one table is profiled: on all rows or a reproducible sample, full or minimal mode.

    ``customers``: ``(sampled, of)`` when the table was read for a seeded sample of the build's
    customers (``rows`` are then their rows, ``rows_read`` the table's rows of every customer).
    """

    name: str
    rows: int
    profiled_rows: int
    minimal: bool
    seed: int
    customers: tuple[int, int] | None = None
    rows_read: int | None = None

    @property
    def sampled(self) -> bool:
        """True when the report covers a sample rather than every row."""
        return self.profiled_rows < self.rows

    @property
    def mode(self) -> str:
        """A short phrase for titles and the index, e.g. ``minimal profile, sample of 50,000 of 1,000,000
        rows, seed 42``, or on a customer sample ``minimal profile, sample of 50,000 of 4,337,120 rows of
        150,012 sampled customers of 1,000,000 (28,913,410 rows in all), seed 42``."""
        rows = f"{self.rows:,} rows"
        if self.customers is not None:
            sampled, of = self.customers
            read = "" if self.rows_read is None else f" ({self.rows_read:,} rows in all)"
            rows += f" of {sampled:,} sampled customers of {of:,}{read}"
        if self.sampled:
            scope = f"sample of {self.profiled_rows:,} of {rows}, seed {self.seed}"
        else:
            scope = f"all {rows}" + ("" if self.customers is None else f", seed {self.seed}")
        return f"{'minimal' if self.minimal else 'full'} profile, {scope}"


def plan_profile(
    name: str,
    rows: int,
    *,
    seed: int,
    minimal: bool = False,
    sample: int | None = None,
    customers: tuple[int, int] | None = None,
    rows_read: int | None = None,
) -> ProfilePlan:
    """Choose sample size and mode for a table of ``rows`` rows.

    ``sample`` forces a sample of at most that many rows and ``minimal`` forces minimal mode; otherwise
    tables above ``constants.EDA_SAMPLE_ABOVE_ROWS`` are sampled to ``constants.EDA_SAMPLE_ROWS`` and
    tables above ``constants.EDA_MINIMAL_ABOVE_ROWS`` get minimal mode. ``customers`` (``(sampled,
    of)``) and ``rows_read`` say that the ``rows`` are those of a customer sample (:class:`ProfilePlan`).
    """
    if sample is None and rows > constants.EDA_SAMPLE_ABOVE_ROWS:
        sample = constants.EDA_SAMPLE_ROWS
    profiled = rows if sample is None else min(rows, sample)
    minimal = minimal or rows > constants.EDA_MINIMAL_ABOVE_ROWS
    return ProfilePlan(
        name=name, rows=rows, profiled_rows=profiled, minimal=minimal, seed=seed,
        customers=customers, rows_read=rows_read,
    )  # fmt: skip


def prepare(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """A reproducible sample of ``rows`` rows (original order kept), dates parsed as datetimes."""
    if rows < len(frame):
        frame = frame.sample(n=rows, random_state=seed).sort_index()
    frame = frame.reset_index(drop=True)
    for column in DATE_COLUMNS:
        if column in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = pd.to_datetime(frame[column], errors="coerce")
    return frame


def make_profile(frame: pd.DataFrame, title: str, *, minimal: bool, quiet: bool):
    """A lazy ``ProfileReport`` with settings that stay fast on wide, high-cardinality tables."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ydata_profiling import ProfileReport

    settings = {
        "title": title,
        "minimal": minimal,
        "progress_bar": progress_enabled(quiet),  # bars only on a terminal
        "pool_size": constants.EDA_POOL_SIZE,
        "interactions": {"continuous": False},  # one scatter plot per pair of numeric columns: too slow
        "vars": {"cat": {"characters": False, "words": False}},  # id columns would dominate the run time
        "samples": {"head": 5, "tail": 5},
    }
    if not minimal:
        settings["missing_diagrams"] = {"bar": True, "matrix": False, "heatmap": True}
    return ProfileReport(frame, **settings)


@contextlib.contextmanager
def profiling(quiet: bool) -> Iterator[None]:
    """Silence ydata-profiling's warnings and, without bars, the per-column bar it shows regardless.

    Bars are off when ``quiet`` or when stderr is not a terminal (:func:`progress_enabled`): its
    column summary draws a tqdm bar whatever ``progress_bar`` says, which would put ``\r`` and bar
    text into a piped log.
    """
    with warnings.catch_warnings(), contextlib.ExitStack() as stack:
        warnings.simplefilter("ignore")
        if not progress_enabled(quiet):
            stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
        yield


def write_report(profile, path: str, *, quiet: bool) -> str:
    """Compute and render ``profile`` to HTML and write it atomically."""
    with profiling(quiet):
        return storage.write_text(profile.to_html(), path)


def load_table(data_dir: str, name: str) -> pd.DataFrame | None:
    """Dataset ``name`` from ``data_dir`` through DataLoader, or None when it is absent."""
    try:
        return datasets.load_dataset(data_dir, name)
    except UserError:
        return None


def available_datasets(data_dir: str) -> list[str]:
    """The logical tables that exist in ``data_dir``, in pipeline order."""
    names = []
    for name in schema.TABLE_NAMES:
        try:
            if name == datasets.DEMOGRAPHICS:
                if datasets.demographics_states(data_dir):
                    names.append(name)
            else:
                datasets.find_dataset(data_dir, name)
                names.append(name)
        except UserError:
            continue
    return names


def profile_dataset(
    data_dir: str,
    name: str,
    report_dir: str,
    *,
    seed: int,
    minimal: bool,
    sample: int | None,
    quiet: bool,
    customers: datasets.CustomerSample | None = None,
) -> list[dict]:
    """Profile one dataset, and compare it with its seed sample when there is one; return index rows.

    With ``customers`` (a seeded sample of the build's customers) a per-customer table is read chunk
    by chunk for their rows only (:func:`utils.core.datasets.load_sampled`); the campaigns whole.
    """
    started = time.perf_counter()
    frame, read = datasets.load_sampled(data_dir, name, customers)
    scope = {}
    if customers is not None:  # the campaigns are read whole: their rows, not the customers', are all
        scope["rows_read"] = read
        if datasets.is_per_customer(name):
            scope["customers"] = (customers.customers, customers.of)
    plan = plan_profile(name, len(frame), seed=seed, minimal=minimal, sample=sample, **scope)
    log.info("%s: %s", name, plan.mode)
    synthetic = make_profile(
        prepare(frame, plan.profiled_rows, seed), f"{name}: {plan.mode}", minimal=plan.minimal, quiet=quiet
    )
    path = write_report(synthetic, storage.join(report_dir, f"{name}.html"), quiet=quiet)
    rows = [_row(name, "profile", plan, path, started)]

    seed_frame = load_table(datasets.seed_dir(data_dir), name)
    if seed_frame is None:
        log.info("%s: no seed sample in %s, no comparison", name, datasets.seed_dir(data_dir))
        return rows
    started = time.perf_counter()
    seed_plan = plan_profile(
        name, len(seed_frame), seed=seed, minimal=plan.minimal, sample=plan.profiled_rows
    )
    log.info("%s: comparing with its seed sample (%s)", name, seed_plan.mode)
    seed_profile = make_profile(
        prepare(seed_frame, seed_plan.profiled_rows, seed), "seed", minimal=plan.minimal, quiet=quiet
    )
    synthetic.config.title = "synthetic"  # the comparison labels each side by its report title
    with profiling(quiet):
        comparison = seed_profile.compare(synthetic)
    mode = f"seed: {seed_plan.mode}; synthetic: {plan.mode}"
    comparison.config.title = f"{name}: seed vs synthetic ({mode})"
    comparison.get_description().analysis.title = comparison.config.title
    path = write_report(comparison, storage.join(report_dir, f"{name}_seed_vs_synthetic.html"), quiet=quiet)
    rows.append(_row(name, "seed vs synthetic", plan, path, started, mode=mode, seed_rows=len(seed_frame)))
    return rows


def _row(
    name: str, kind: str, plan: ProfilePlan, path: str, started: float, mode: str | None = None, **extra
) -> dict:
    sampled = {} if plan.rows_read is None else {"rows_read": plan.rows_read}  # a customer sample's table
    return {
        "dataset": name,
        "report": kind,
        "rows": plan.rows,
        "profiled_rows": plan.profiled_rows,
        "minimal": plan.minimal,
        "mode": mode or plan.mode,
        **sampled,
        **extra,
        "path": path,
        "seconds": round(time.perf_counter() - started, 2),
    }


def index_html(summary: pd.DataFrame) -> str:
    """A small HTML page linking every report, with the mode each was made in (and, when
    ``summary.attrs["sampled"]`` says so, the customer sample the tables were read for)."""
    sampled = summary.attrs.get("sampled")
    note = ""
    if sampled:
        note = (
            f"<p>Customers sampled: {sampled['customers']:,} of {sampled['of']:,} (seed {sampled['seed']}), "
            "with all their rows; tables without customers (the campaigns) are read whole.</p>\n"
        )
    lines = []
    for row in summary.itertuples(index=False):
        link = html.escape(str(row.path).rsplit("/", 1)[-1])
        lines.append(
            f"<tr><td>{html.escape(row.dataset)}</td><td><a href='{link}'>{html.escape(row.report)}</a></td>"
            f"<td>{row.rows:,}</td><td>{html.escape(row.mode)}</td></tr>"
        )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>EDA reports</title>\n"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}</style>"
        "</head><body>\n<h1>EDA reports</h1>\n" + note + "<table>\n"
        "<tr><th>dataset</th><th>report</th><th>rows</th><th>mode</th></tr>\n"
        + "\n".join(lines)
        + "\n</table>\n</body></html>\n"
    )


def eda_reports(
    data_dir: str | os.PathLike = constants.DATA_DIR,
    datasets_: Sequence[str] | None = None,
    report_dir: str | os.PathLike = DEFAULT_REPORT_DIR,
    *,
    seed: int = constants.DEFAULT_SEED,
    minimal: bool = False,
    sample: int | None = None,
    quiet: bool = False,
    max_customers: int | None = constants.READ_MAX_CUSTOMERS,
) -> pd.DataFrame:
    """Write a profile per dataset (and seed comparisons) plus ``index.html``; return one row per report.

    ``data_dir`` and ``report_dir`` may be local or ``az://``; ``report_dir`` defaults to
    ``runs.report_folder(constants.EDA_REPORTS_DIR, data_dir)`` and is checked writable before any
    profiling. The returned frame has ``dataset``, ``report`` (``profile`` or ``seed vs synthetic``),
    ``rows``, ``profiled_rows``, ``minimal``, ``mode``, ``seed_rows``, ``path`` and ``seconds``; its
    ``attrs["index"]`` is the path of ``index.html``.

    A build of more than ``max_customers`` customers (None: never) is read as a seeded sample of
    about that many (``seed``) with all of their rows: ``rows`` are then the sampled customers' rows,
    a ``rows_read`` column has each table's rows in all, and ``attrs["sampled"]`` is
    ``{"customers", "of", "seed", "rows_read"}`` (None when every customer was read).
    """
    data_dir = datasets.require_folder(data_dir)
    if sample is not None and sample <= 0:
        raise UserError(f"--sample must be a positive integer, got {sample}")
    names = list(datasets_) if datasets_ else available_datasets(data_dir)
    unknown = [name for name in names if name not in schema.TABLE_NAMES]
    if unknown:
        choices = ", ".join(schema.TABLE_NAMES)
        raise UserError(f"unknown dataset(s) {', '.join(unknown)}: choose from {choices}")
    if not names:
        raise UserError(f"no datasets in {data_dir}: run build_dataset.py first")
    if report_dir == DEFAULT_REPORT_DIR:
        report_dir = runs.report_folder(constants.EDA_REPORTS_DIR, data_dir)
    report_dir = datasets.check_writable(report_dir)
    customers = datasets.sample_customers(data_dir, max_customers=max_customers, seed=seed)
    if customers is not None:
        log.info("profiling a seeded sample of %s, with all their rows", customers.describe())
    rows: list[dict] = []
    for name in names:
        rows += profile_dataset(
            data_dir, name, report_dir, seed=seed, minimal=minimal, sample=sample, quiet=quiet,
            customers=customers,
        )  # fmt: skip
    summary = pd.DataFrame(rows)
    for column in ("seed_rows", "rows_read"):
        if column in summary:
            summary[column] = summary[column].astype("Int64")
    summary.attrs["sampled"] = None
    if customers is not None:
        profiles = summary[summary["report"] == "profile"]
        read = zip(profiles["dataset"], profiles["rows_read"], strict=True)
        summary.attrs["sampled"] = customers.summary({name: int(rows) for name, rows in read})
    index = storage.write_text(index_html(summary), storage.join(report_dir, "index.html"))
    log.info("wrote %d reports, index at %s", len(summary), index)
    summary.attrs["index"] = index
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (exit 0 reports written, 2 bad input)."""
    parser = base_parser("ydata-profiling HTML reports for each dataset and seed-vs-synthetic comparisons.")
    parser.add_argument(
        "--data-dir", default=str(constants.DATA_DIR), help="folder holding the datasets (or az://...)"
    )
    parser.add_argument(
        "--datasets",
        default=None,
        help=f"comma-separated subset of {','.join(schema.TABLE_NAMES)} (default: all)",
    )
    parser.add_argument("--minimal", action="store_true", help="minimal mode for every table")
    parser.add_argument("--sample", type=positive_int, default=None, help="profile at most N rows per table")
    parser.add_argument(
        "--report-dir",
        default=None,
        help="where reports go, used as given (default: eda/reports/<data folder>-<run id>/)",
    )
    args = parser.parse_args(argv)
    setup_logging(args.quiet, args.verbose)
    summary = eda_reports(
        args.data_dir,
        split_list(args.datasets) if args.datasets else None,
        DEFAULT_REPORT_DIR if args.report_dir is None else args.report_dir,
        seed=args.seed,
        minimal=args.minimal,
        sample=args.sample,
        quiet=args.quiet,
        max_customers=constants.READ_MAX_CUSTOMERS,
    )
    sampled = summary.attrs["sampled"]
    if sampled:
        print(f"sampled: {datasets.describe_sample(sampled)}, with all their rows")
    if not args.quiet:
        print(summary.drop(columns=["path"]).to_string(index=False))
    for row in summary.itertuples(index=False):
        print(f"{row.dataset} {row.report}: {row.path}")
    print(f"index: {summary.attrs['index']}")
    return 0


if __name__ == "__main__":
    run_main(main)
