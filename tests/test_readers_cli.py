"""The console every script shares (utils/core/cli.py): --help, argparse checks, log lines and bars."""

from __future__ import annotations

import importlib
import logging
import os
import pty
import re
import subprocess
import sys

import pytest

import constants
from utils.core.cli import ConsoleHandler

ROOT = constants.PROJECT_ROOT
SCRIPTS = [
    "build_dataset",
    "demographic",
    "consumer",
    "marketing",
    "transaction",
    "validation.validate_data",
    "eda",
    "fairness",
    "synthesize",
    "feedback360",
    "data_loader",
]
# Options whose values are fixed show them as {choices}.
CHOICES = {
    "build_dataset": ["--synthesizer {gaussian_copula,ctgan,tvae}", "--format {csv,parquet}"],
    "fairness": ["--outcome {targeted,converted,high_value}"],
}


def _help(module: str, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(module).main(["--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def _options(text: str) -> list[str]:
    """The help text of each option, lines re-joined (argparse wraps long help)."""
    body = text.split("options:", 1)[1]
    entries = re.split(r"\n(?=  -)", body)
    return [" ".join(entry.split()) for entry in entries if entry.strip().startswith("-")]


@pytest.mark.parametrize("module", SCRIPTS)
def test_help_shows_each_default_once_and_none_on_flags(module, capsys):
    text = _help(module, capsys)
    options = _options(text)
    assert len(options) >= 4, text
    for option in options:
        assert option.lower().count("default") <= 1, option
        assert "(default: False)" not in option and "(default: True)" not in option, option
        assert "(default: None)" not in option, option
    for choice in CHOICES.get(module, []):
        assert choice in text
    assert "--verbose" in text and "--quiet" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
        (["--epochs", "-3"], "argument --epochs: must be a positive integer, got -3"),
        (["--seed", "-1"], "argument --seed: must be a non-negative integer, got -1"),
        (["--seed", "x"], "argument --seed: must be an integer, got 'x'"),
        (["--quiet", "--verbose"], "argument --verbose/-v: not allowed with argument --quiet"),
        (["--synthesizer", "gan"], "argument --synthesizer: invalid choice: 'gan'"),
    ],
)
def test_bad_shared_options_are_exit_2_before_any_work(argv, message, capsys):
    import build_dataset

    with pytest.raises(SystemExit) as exit_info:
        build_dataset.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and "Traceback" not in err
    assert message in err.strip().splitlines()[-1]  # the usage, then one error line


def _python(code: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, **kwargs
    )


def test_log_lines_never_glue_onto_a_progress_bar():
    code = """
import logging, sys
from tqdm import tqdm
from utils.core.cli import setup_logging
setup_logging()
bar = tqdm(total=3, file=sys.stderr, desc="work")
bar.update(1)
logging.getLogger("step").info("halfway")
bar.update(2)
bar.close()
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    lines = [line.rsplit("\r", 1)[-1] for line in result.stderr.split("\n")]
    assert "[step] halfway" in lines, result.stderr  # at the start of a line, not after a bar


def test_progress_bars_only_on_a_terminal():
    code = (
        "from utils.core.cli import progress_enabled; print(progress_enabled(False), progress_enabled(True))"
    )
    assert _python(code).stdout.split() == ["False", "False"]  # stderr piped
    leader, follower = pty.openpty()
    try:  # stderr a terminal
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-c", code]
        result = subprocess.run(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=follower, text=True, timeout=60
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert result.stdout.split() == ["True", "False"]


def test_verbose_shows_the_projects_debug_lines_not_the_libraries():
    handler = ConsoleHandler()

    def record(name: str, path: str, level: int = logging.DEBUG) -> logging.LogRecord:
        return logging.LogRecord(name, level, path, 1, "message", None, None)

    assert handler.filter(record("synth", str(ROOT / "utils" / "synth" / "models.py")))
    assert not handler.filter(record("matplotlib", str(ROOT / ".venv" / "lib" / "matplotlib" / "x.py")))
    assert not handler.filter(record("numba", "/usr/lib/python3/numba/core.py"))
    assert handler.filter(record("numba", "/usr/lib/python3/numba/core.py", logging.INFO))
    code = """
import logging
from utils.core.cli import base_parser, setup_logging
args = base_parser("x").parse_args(["--verbose"])
setup_logging(args.quiet)  # --verbose comes from the parse
print(logging.getLogger().level == logging.DEBUG)
args = base_parser("x").parse_args(["--quiet"])
setup_logging(args.quiet)
print(logging.getLogger().level == logging.WARNING)
"""
    assert _python(code).stdout.split() == ["True", "True"]
