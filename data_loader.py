"""Load a CSV/Parquet table through the cache and print its shape and dtypes (``utils.core.loader``).

    python data_loader.py data/transactions.csv --columns customer_id,amount
    python data_loader.py az://container/run/engagements.csv --cache-dir cache

Importable as before: ``from data_loader import DataLoader`` (the loader lives in ``utils/core/loader.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import constants
from utils.core.cli import base_parser, run_main, setup_logging, split_list
from utils.core.loader import DataLoader, DataLoaderError, Source, describe

__all__ = ["DataLoader", "DataLoaderError", "Source", "describe", "main"]


# --- command line -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python data_loader.py PATH``: load a table (through the cache) and print its shape and dtypes."""
    parser = base_parser(
        "Load a CSV/Parquet table (local or az://) through the cache; print shape and dtypes."
    )
    parser.add_argument("path", help="a .csv or .parquet file, local or az://container/path")
    parser.add_argument("--columns", type=split_list, default=None, help="comma-separated columns to load")
    parser.add_argument(
        "--cache-dir", default=str(constants.CACHE_DIR), help="Parquet cache folder ('' for none)"
    )
    parser.add_argument("--encoding", default="utf-8", help="text encoding of a CSV source")
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    loader = DataLoader(cache_dir=args.cache_dir or None)
    frame = loader.load(args.path, columns=args.columns, encoding=args.encoding)
    print(f"{args.path}: {frame.shape[0]:,} rows x {frame.shape[1]} columns")
    width = max((len(name) for name in frame.columns), default=0)
    for name, dtype in frame.dtypes.items():
        print(f"  {name.ljust(width)}  {dtype}")
    return 0


if __name__ == "__main__":
    run_main(main)
