#!/usr/bin/env python3
"""Derive the tidy state tables of ``raw/acs1_2018_state_extra/`` (stdlib only, like the bundle's derive.py).

Re-run from the repository root with ``python data/census/derive_extra.py``; it rewrites the six
``state_*_acs2018.csv`` files listed in :data:`OUTPUTS` next to this script and checks them (hard
asserts: every table has exactly the 52 geographies of ``states.csv``, no estimate is missing, and the
categories of every table sum exactly to their published totals). Counts are the published ACS point
estimates; every ``share`` is a count over the total named in its column header, per state.

Inputs: Census Data API ``group(<T>)`` files ``acs1_2018_<T>_state.csv`` and their ``_LEGEND.csv``
(variable -> label path, levels separated by ``!!``); see PROVENANCE.md.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root: its census reader

from utils.census.tables import parse_age

HERE = Path(__file__).resolve().parent
RAW = HERE / "raw" / "acs1_2018_state_extra"

B15001_EDUCATION = {
    "Less than 9th grade": "less_than_high_school",
    "9th to 12th grade, no diploma": "less_than_high_school",
    "High school graduate (includes equivalency)": "high_school_or_ged",
    "Some college, no degree": "some_college_no_degree",
    "Associate's degree": "associates",
    "Bachelor's degree": "bachelors",
    "Graduate or professional degree": "graduate_or_professional",
}
EDUCATION = tuple(dict.fromkeys(B15001_EDUCATION.values()))
EMPLOYMENT = ("employed", "unemployed", "not_in_labor_force")
TENURE = {"Owner occupied": "owner", "Renter occupied": "renter"}
FAMILY_TYPES = {
    ("In married-couple families",): "married_couple",
    ("In other families", "Male householder, no wife present"): "male_householder_no_spouse",
    ("In other families", "Female householder, no husband present"): "female_householder_no_spouse",
}
LANGUAGES = {
    "English only": "english_only",
    "Spanish": "spanish",
    "Other Indo-European languages": "other_indo_european",
    "Asian and Pacific Island languages": "asian_pacific_island",
    "Other languages": "other",
}
INTERNET = {
    ("Has a computer", "With a broadband Internet subscription"): "computer_broadband",
    ("Has a computer", "With dial-up Internet subscription alone"): "computer_dialup_only",
    ("Has a computer", "Without an Internet subscription"): "computer_no_internet",
    ("No computer",): "no_computer",
}
HEADER = ("state_fips", "state_abbr", "state_name")


def states() -> dict[str, tuple[str, str]]:
    """FIPS -> (abbreviation, name) of the 52 geographies (50 states, DC, PR)."""
    with open(HERE / "states.csv", newline="", encoding="utf-8") as stream:
        return {row["state_fips"]: (row["state_abbr"], row["state_name"]) for row in csv.DictReader(stream)}


def read_table(table: str) -> dict[str, dict[tuple[str, ...], int]]:
    """FIPS -> {label path below Total (``()`` = Total): estimate} of one raw table."""
    labels = {}
    with open(RAW / f"acs1_2018_{table}_LEGEND.csv", newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            parts = row["LABEL"].split("!!")
            if row["VARIABLE"].endswith("E") and parts[:2] == ["Estimate", "Total"]:
                labels[row["VARIABLE"]] = tuple(parts[2:])
    out = {}
    with open(RAW / f"acs1_2018_{table}_state.csv", newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            values = {}
            for variable, path in labels.items():
                value = row[variable]
                assert value not in ("", "null") and int(value) >= 0, (table, row["state"], variable, value)
                values[path] = int(value)
            out[row["state"]] = values
    assert set(out) == set(states()), (table, sorted(set(states()) ^ set(out)))
    return out


def bracket(age: tuple[int, int | None]) -> tuple[str, int, int | str]:
    first, last = age
    return (f"{first}+" if last is None else f"{first}-{last}", first, "" if last is None else last)


def share(count: int, total: int) -> float:
    return round(count / total, 6) if total else 0.0


def education_sex_age() -> list[tuple]:
    """B15001: sex x age (5 brackets) x education (6 contract levels), population 18+."""
    rows = []
    for fips, values in read_table("B15001").items():
        assert values[("Male",)] + values[("Female",)] == values[()]
        for sex in ("Male", "Female"):
            ages = [path[1] for path in values if len(path) == 2 and path[0] == sex]
            assert sum(values[(sex, age)] for age in ages) == values[(sex,)]
            for age in ages:
                counts = dict.fromkeys(EDUCATION, 0)
                for level, code in B15001_EDUCATION.items():
                    counts[code] += values[(sex, age, level)]
                total = values[(sex, age)]
                assert sum(counts.values()) == total, (fips, sex, age)
                for code, count in counts.items():
                    rows.append(
                        (fips, sex.lower(), *bracket(parse_age(age)), code, count, share(count, total))
                    )
    return rows


def employment_sex_age() -> list[tuple]:
    """B23001: sex x age (13 brackets) x employment status, population 16+ (armed forces -> employed)."""
    rows = []
    for fips, values in read_table("B23001").items():
        assert values[("Male",)] + values[("Female",)] == values[()]
        for sex in ("Male", "Female"):
            ages = [path[1] for path in values if len(path) == 2 and path[0] == sex]
            assert sum(values[(sex, age)] for age in ages) == values[(sex,)]
            for age in ages:
                force = (sex, age, "In labor force")
                if (*force, "Civilian") in values:  # 16-64: armed forces and civilians
                    civilian = (*force, "Civilian")
                    assert values[(*force, "In Armed Forces")] + values[civilian] == values[force]
                    employed = values[(*civilian, "Employed")] + values[(*force, "In Armed Forces")]
                    unemployed = values[(*civilian, "Unemployed")]
                else:  # 65+: no armed forces line
                    employed, unemployed = values[(*force, "Employed")], values[(*force, "Unemployed")]
                assert employed + unemployed == values[force], (fips, sex, age)
                counts = (employed, unemployed, values[(sex, age, "Not in labor force")])
                total = values[(sex, age)]
                assert sum(counts) == total, (fips, sex, age)
                for code, count in zip(EMPLOYMENT, counts, strict=True):
                    rows.append(
                        (fips, sex.lower(), *bracket(parse_age(age)), code, count, share(count, total))
                    )
    return rows


def tenure_householder_age() -> list[tuple]:
    """B25007: tenure x age of householder (9 brackets), occupied housing units (= households)."""
    rows = []
    for fips, values in read_table("B25007").items():
        assert sum(values[(label,)] for label in TENURE) == values[()]
        ages = [path[1] for path in values if len(path) == 2 and path[0] == "Owner occupied"]
        for age in ages:
            total = sum(values[(label, age)] for label in TENURE)
            for label, code in TENURE.items():
                count = values[(label, age)]
                rows.append((fips, code, *bracket(parse_age(age)), count, share(count, total)))
        for label in TENURE:
            assert sum(values[(label, age)] for age in ages) == values[(label,)]
    return rows


def own_children() -> list[tuple]:
    """B09002: own children under 18 by family type and age of child; universe: own children under 18."""
    rows = []
    for fips, values in read_table("B09002").items():
        assert values[("In married-couple families",)] + values[("In other families",)] == values[()]
        total = values[()]
        found = 0
        for prefix, code in FAMILY_TYPES.items():
            ages = [path[-1] for path in values if len(path) == len(prefix) + 1 and path[:-1] == prefix]
            assert sum(values[(*prefix, age)] for age in ages) == values[prefix], (fips, prefix)
            for age in ages:
                count = values[(*prefix, age)]
                found += count
                rows.append((fips, code, *bracket(parse_age(age)), count, share(count, total)))
        assert found == total, fips
    return rows


def household_language() -> list[tuple]:
    """C16002: household language (5 groups) and limited English speaking households, households."""
    rows = []
    for fips, values in read_table("C16002").items():
        total = values[()]
        assert sum(values[(label,)] for label in LANGUAGES) == total, fips
        for label, code in LANGUAGES.items():
            limited = values.get((label, "Limited English speaking household"), 0)
            if (label, "Limited English speaking household") in values:
                assert (
                    limited + values[(label, "Not a limited English speaking household")] == values[(label,)]
                )
            rows.append((fips, code, values[(label,)], limited, share(values[(label,)], total)))
    return rows


def internet_age() -> list[tuple]:
    """B28005: age (3 brackets) x computer and internet subscription, population in households."""
    rows = []
    for fips, values in read_table("B28005").items():
        ages = [path[0] for path in values if len(path) == 1]
        assert sum(values[(age,)] for age in ages) == values[()], fips
        for age in ages:
            total = values[(age,)]
            assert values[(age, "Has a computer")] + values[(age, "No computer")] == total
            counts = {code: values[(age, *path)] for path, code in INTERNET.items()}
            assert sum(counts.values()) == total, (fips, age)
            for code, count in counts.items():
                rows.append((fips, *bracket(parse_age(age)), code, count, share(count, total)))
    return rows


OUTPUTS = {
    "state_education_sex_age_acs2018.csv": (
        ("sex", "age_bracket", "age_min", "age_max", "education", "persons_18plus", "share_within_sex_age"),
        education_sex_age,
    ),
    "state_employment_sex_age_acs2018.csv": (
        (
            "sex",
            "age_bracket",
            "age_min",
            "age_max",
            "employment_status",
            "persons_16plus",
            "share_within_sex_age",
        ),
        employment_sex_age,
    ),
    "state_tenure_householder_age_acs2018.csv": (
        ("tenure", "householder_age_bracket", "age_min", "age_max", "households", "share_within_age"),
        tenure_householder_age,
    ),
    "state_own_children_acs2018.csv": (
        ("family_type", "child_age_bracket", "age_min", "age_max", "own_children_under_18", "share"),
        own_children,
    ),
    "state_household_language_acs2018.csv": (
        ("household_language", "households", "limited_english_households", "share"),
        household_language,
    ),
    "state_internet_age_acs2018.csv": (
        (
            "age_bracket",
            "age_min",
            "age_max",
            "computer_internet",
            "persons_in_households",
            "share_within_age",
        ),
        internet_age,
    ),
}


def main() -> None:
    geography = states()
    for name, (columns, derive) in OUTPUTS.items():
        rows = sorted(derive(), key=lambda row: row[0])  # stable: FIPS order, table order inside
        with open(HERE / name, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow((*HEADER, *columns))
            for fips, *rest in rows:
                writer.writerow((fips, *geography[fips], *rest))
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
