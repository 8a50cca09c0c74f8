"""conda.yml is the conda users' equivalent of requirements.txt: the same packages at the same pins."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Present only in conda.yml: the interpreter, pip itself, and node for the Azurite tests (npm on pip).
CONDA_ONLY = {"python", "pip", "nodejs"}


def _name(text: str) -> str:
    return re.sub(r"\[.*\]", "", text).strip().lower().replace("_", "-")


def requirement_pins(text: str) -> dict[str, str]:
    """``{package: specifier}`` of a requirements file (``==1.2`` pins become ``1.2``)."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        name, spec = re.match(r"([A-Za-z0-9_.\-\[\],]+)\s*(.*)", line).groups()
        pins[_name(name)] = spec.removeprefix("==")
    return pins


def conda_pins(text: str) -> dict[str, str]:
    """``{package: specifier}`` of conda.yml's ``dependencies``, its pip section included."""
    pins = {}
    for line in text.split("dependencies:", 1)[1].splitlines():
        item = re.match(r"\s*-\s+([A-Za-z0-9][A-Za-z0-9_.\-\[\]]*)\s*([^#]*)$", line.split("#")[0])
        if item and not line.rstrip().endswith(":"):  # "- pip:" opens the pip section
            pins[_name(item.group(1))] = item.group(2).strip().removeprefix("==").removeprefix("=")
    return pins


def test_conda_environment_pins_what_requirements_pin():
    wanted = requirement_pins((ROOT / "requirements.txt").read_text())
    conda = conda_pins((ROOT / "conda.yml").read_text())
    assert {k: v for k, v in conda.items() if k not in CONDA_ONLY} == wanted
    assert conda["python"] == "3.11"


@pytest.mark.parametrize(
    ("line", "pins"),
    [("torch==2.13.0", {"torch": "2.13.0"}), ("dask[dataframe,distributed]==1.0  # x", {"dask": "1.0"})],
)
def test_requirement_lines_are_read_as_pins(line, pins):
    assert requirement_pins(line) == pins
