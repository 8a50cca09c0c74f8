"""Real, public tables that an installed PyPI package already ships (nothing downloads at run time).

``fair_affairs``: Fair (1978), "A Theory of Extramarital Affairs", Journal of Political Economy
86(1) — 6,366 answers to a 1974 Redbook magazine survey of married women, as bundled with
statsmodels (``statsmodels/datasets/fair/fair.csv``, "included with permission of the author").
Codes are turned into the labels of statsmodels' documentation, and the continuous ``affairs``
measure into the binary target ``had_affair`` (yes when affairs > 0), so the table has Likert
scales, numbers and nominal categories, like a sensitive survey table.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from utils.core.cli import UserError

OCCUPATIONS = {
    1: "student",
    2: "farming, semi-skilled or unskilled",
    3: "white collar",
    4: "teacher, nurse, artist, technician, skilled",
    5: "managerial, administrative, business",
    6: "professional with advanced degree",
}


def fair_affairs() -> pd.DataFrame:
    """Fair's affairs survey (6,366 rows) with labelled occupations and a yes/no ``had_affair`` target."""
    with resources.files("statsmodels.datasets.fair").joinpath("fair.csv").open() as stream:
        raw = pd.read_csv(stream)
    return pd.DataFrame(
        {
            "rate_marriage": raw["rate_marriage"].astype(int),  # 1 very poor .. 5 very good
            "age": raw["age"],
            "yrs_married": raw["yrs_married"],
            "children": raw["children"],
            "religious": raw["religious"].astype(int),  # 1 not .. 4 strongly
            "educ": raw["educ"].astype(int),  # years: 9 grade school .. 20 advanced degree
            "occupation": raw["occupation"].astype(int).map(OCCUPATIONS),
            "occupation_husb": raw["occupation_husb"].astype(int).map(OCCUPATIONS),
            "had_affair": np.where(raw["affairs"] > 0, "yes", "no"),
        }
    )


PUBLIC_TABLES = {"fair_affairs": fair_affairs}


def load_public(name: str) -> pd.DataFrame:
    """A public table by name (``public:NAME`` on the command line)."""
    if name not in PUBLIC_TABLES:
        raise UserError(f"unknown public table {name!r}: choose one of {', '.join(PUBLIC_TABLES)}")
    return PUBLIC_TABLES[name]()
