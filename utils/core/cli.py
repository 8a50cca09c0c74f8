"""Command-line conventions shared by every entry point.

Each script builds its parser with :func:`base_parser`, validates with the ``check_*`` helpers (or the
argparse ``type`` functions :func:`positive_int` / :func:`non_negative_int`), sets up the console with
:func:`setup_logging` and runs its ``main`` through :func:`run_main`, so bad input always ends in one
clear line on stderr and exit code 2, never a traceback; a bug is a traceback and exit code 1 (or
the ``crash_code`` a script documents, e.g. 3 for ``validate_data.py``, where 1 means "a check failed").

The console:

* ``--help`` shows each default once (:class:`HelpFormatter`) and ``{choices}`` where values are fixed;
* log lines go through ``tqdm.write`` (:class:`ConsoleHandler`), so they never glue onto a progress bar;
* progress bars are drawn only on a terminal (:func:`progress_enabled`): piped or redirected stderr
  gets plain lines and no cursor escapes;
* ``--quiet`` keeps warnings only, ``--verbose`` adds the project's debug lines (per-class fitting).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence

import constants
from utils.core.errors import UserError

__all__ = [
    "ConsoleHandler",
    "HelpFormatter",
    "UserError",
    "base_parser",
    "console",
    "non_negative_int",
    "positive_int",
    "progress_enabled",
    "run_main",
    "setup_logging",
    "split_list",
]

# Library loggers that would flood (or slow down) a --verbose run with their own debug records.
_NOISY_LIBRARIES = ("numba", "matplotlib", "PIL", "h5py", "asyncio", "urllib3", "fsspec", "filelock")
_PROJECT_ROOT = str(constants.PROJECT_ROOT)
_VENV_ROOTS = tuple(f"{_PROJECT_ROOT}/{name}/" for name in (".venv", "venv", "node_modules"))
_state = {"verbose": False}  # --verbose of the last command line parsed by a base_parser parser


# --- --help -------------------------------------------------------------------------------------------


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Adds ``(default: X)`` once: not when the help already mentions a default, never on a flag.

    Flags (``store_true``, ``store_false``, ``store_const``, ``count``, ``--help``) take no value, so a
    default means nothing to the reader; options whose default is ``None`` show none either. The
    description and epilog keep their line breaks (usage examples, exit codes).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "default" in text.lower():
            return text
        if action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"
        return text


class ArgumentParser(argparse.ArgumentParser):
    """The project's parser: :class:`HelpFormatter`, and every value-taking option gets a help line.

    It remembers ``--verbose`` of the last parse, so :func:`setup_logging` honours it by itself.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def _add_action(self, action: argparse.Action) -> argparse.Action:
        # every add_argument (of the parser or of its groups) ends here
        if action.help is None and action.nargs != 0 and action.default not in (None, argparse.SUPPRESS):
            action.help = "(default: %(default)s)"
        return super()._add_action(action)

    def parse_known_args(self, args=None, namespace=None):
        parsed, extras = super().parse_known_args(args, namespace)
        _state["verbose"] = bool(getattr(parsed, "verbose", False))
        return parsed, extras


# --- argparse type functions ------------------------------------------------------------------------------


def positive_int(text: str) -> int:
    """argparse ``type``: an integer >= 1 (``--epochs 0`` is exit 2, not a run that trains nothing)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse ``type``: an integer >= 0 (seeds: NumPy's SeedSequence refuses negatives)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def base_parser(description: str, *, synthesizer: bool = False, epilog: str | None = None) -> ArgumentParser:
    """An :class:`ArgumentParser` with the flags every script shares (``--seed``, ``--quiet``, ``--verbose``).

    ``synthesizer`` adds ``--synthesizer`` (choices) and ``--epochs`` (a positive integer).
    """
    parser = ArgumentParser(description=description, epilog=epilog)
    parser.add_argument(
        "--seed", type=non_negative_int, default=constants.DEFAULT_SEED, help="random seed (an integer >= 0)"
    )
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--quiet", action="store_true", help="no progress bars or step logs, warnings only")
    noise.add_argument(
        "--verbose", "-v", action="store_true", help="debug lines too (e.g. each class a synthesizer fits)"
    )
    if synthesizer:
        parser.add_argument(
            "--synthesizer",
            default=constants.DEFAULT_SYNTHESIZER,
            choices=constants.SYNTHESIZERS,
            help="the SDV synthesizer to fit",
        )
        parser.add_argument(
            "--epochs",
            type=positive_int,
            default=None,
            help=f"training epochs for ctgan/tvae (default: {constants.MODEL_PARAMETERS['epochs']}, "
            "constants.MODEL_PARAMETERS)",
        )
        parser.add_argument(
            "--device",
            default=constants.DEFAULT_DEVICE,
            choices=constants.DEVICES,
            help="where ctgan/tvae train: auto (CUDA when torch sees a GPU), cpu, cuda (default: auto)",
        )
    return parser


# --- checks -------------------------------------------------------------------------------------------------


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


# --- the console --------------------------------------------------------------------------------------------


class ConsoleHandler(logging.Handler):
    """Writes log lines to stderr through ``tqdm.write``: a running bar is cleared and redrawn below.

    Debug records pass only from the project's own modules (``--verbose`` is about this pipeline, not
    every library's internals). Not a ``StreamHandler``, so ``logging_redirect_tqdm`` leaves it alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        self.addFilter(_own_debug_only)

    def emit(self, record: logging.LogRecord) -> None:
        """Format ``record`` and write it above any progress bar."""
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging's convention: report, never raise
            self.handleError(record)


def _own_debug_only(record: logging.LogRecord) -> bool:
    if record.levelno >= logging.INFO:
        return True
    path = record.pathname or ""
    return path.startswith(_PROJECT_ROOT) and not path.startswith(_VENV_ROOTS)


def setup_logging(quiet: bool = False, verbose: bool | None = None) -> None:
    """Log steps to stderr as ``[script] message``; ``quiet`` keeps only warnings, ``verbose`` adds debug.

    ``verbose=None`` takes ``--verbose`` from the last command line a :func:`base_parser` parser parsed.
    Where the root logger already has handlers of another kind (pytest's capture, an embedding
    application), nothing is changed, as with :func:`logging.basicConfig`.
    """
    verbose = _state["verbose"] if verbose is None else verbose
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if isinstance(handler, ConsoleHandler)]
    if not ours:
        if root.handlers:
            return
        root.addHandler(ConsoleHandler())
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    if verbose:
        for name in _NOISY_LIBRARIES:
            logging.getLogger(name).setLevel(logging.INFO)


def progress_enabled(quiet: bool = False) -> bool:
    """True when progress bars should be drawn: not ``quiet`` and stderr is a terminal.

    Piped or redirected stderr (CI logs, ``2> file``) gets no bars, so no ``\\r`` and ``\\x1b[A``.
    """
    if quiet:
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


@contextlib.contextmanager
def console() -> Iterator[None]:
    """Keep log lines and tqdm bars apart inside the block, whatever set logging up.

    With :func:`setup_logging`'s :class:`ConsoleHandler` this is already so; plain stream handlers
    installed by someone else are redirected through ``tqdm.write`` for the block.
    """
    if any(isinstance(handler, ConsoleHandler) for handler in logging.getLogger().handlers):
        yield
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm():
        yield


def run_main(
    main: Callable[[Sequence[str] | None], int],
    argv: Sequence[str] | None = None,
    *,
    crash_code: int = 1,
    hard_exit: bool = False,
) -> None:
    """Run ``main(argv)`` and exit with its code.

    A :class:`UserError` becomes one line ``prog: error: ...`` and exit 2; Ctrl-C exit 130; any other
    exception is a bug: its traceback is printed and the exit code is ``crash_code``.

    ``hard_exit`` (a command's own process only, never a caller's): once ``main`` has returned, leave
    without tearing the interpreter down, as mypy does: freeing SDV's, torch's and Dask's modules took
    0.9 s after every build, 1.7 s after one on a local Dask cluster. The standard streams and logging
    are flushed first; every output is already published by then.
    """
    prog = sys.argv[0].rsplit("/", 1)[-1]
    try:
        code = main(argv)
    except UserError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception:  # a bug: show it in full
        traceback.print_exc()
        print(f"{prog}: crashed (a bug, not bad input): exit {crash_code}", file=sys.stderr)
        sys.exit(crash_code)
    if hard_exit:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    sys.exit(code or 0)
