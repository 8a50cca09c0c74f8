"""Command-line conventions shared by every entry point.

Each script builds its parser with :func:`base_parser`, validates with the ``check_*`` helpers and
runs its ``main`` through :func:`run_main`, so bad input always ends in one clear line on stderr and
exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

import constants
from utils.core.errors import UserError

__all__ = ["UserError", "base_parser", "run_main", "setup_logging", "split_list"]


def base_parser(description: str, *, synthesizer: bool = False) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the flags every script shares (``--seed``, ``--quiet``)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=constants.DEFAULT_SEED, help="random seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or step logs")
    if synthesizer:
        parser.add_argument(
            "--synthesizer",
            default=constants.DEFAULT_SYNTHESIZER,
            help=f"one of {', '.join(constants.SYNTHESIZERS)}",
        )
        parser.add_argument(
            "--epochs",
            type=int,
            default=None,
            help="training epochs for ctgan/tvae (default: constants.MODEL_PARAMETERS)",
        )
    return parser


def check_synthesizer(name: str) -> str:
    """Return ``name`` if it is a known synthesizer, else raise :class:`UserError`."""
    if name not in constants.SYNTHESIZERS:
        raise UserError(f"unknown synthesizer {name!r}: choose one of {', '.join(constants.SYNTHESIZERS)}")
    return name


def check_positive(value: int, what: str) -> int:
    """Return ``value`` if it is a positive integer, else raise :class:`UserError`."""
    if value is None or value <= 0:
        raise UserError(f"{what} must be a positive integer, got {value}")
    return value


def split_list(text: str) -> list[str]:
    """Split a comma-separated flag value into stripped, non-empty items."""
    return [item.strip() for item in text.split(",") if item.strip()]


def setup_logging(quiet: bool = False) -> None:
    """Log steps to stderr as ``[script] message``; ``quiet`` keeps only warnings."""
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="[%(name)s] %(message)s",
        stream=sys.stderr,
    )


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> None:
    """Run ``main(argv)`` and exit with its code; a :class:`UserError` becomes one line and exit 2."""
    prog = sys.argv[0].rsplit("/", 1)[-1]
    try:
        code = main(argv)
    except UserError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
