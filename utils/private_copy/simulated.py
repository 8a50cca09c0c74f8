"""Simulated stand-ins for the two kinds of real table the private copy is judged on (bench, tests).

Nothing here is real data: the columns are shaped like a census income survey and a bank
marketing campaign (names, point masses, counts, spikes, a binary outcome driven by the other
columns), so speed and shape can be measured at 30,000 rows without downloading anything. The
correctness tests use the real public tables of :mod:`public_tables`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pick(rng: np.random.Generator, labels: list[str], n: int, weights: list[float]) -> np.ndarray:
    p = np.asarray(weights, float)
    return rng.choice(labels, n, p=p / p.sum())


def income_like(rows: int = 30_000, seed: int = 0) -> pd.DataFrame:
    """15 columns like a census income table: two columns 92 % / 95 % zeros with long tails, hours
    with a spike at 40 holding about half the rows, counts, nominal categories, a binary income."""
    rng = np.random.default_rng(seed)
    age = np.clip(np.round(17 + rng.gamma(3.0, 7.0, rows)), 17, 90).astype(int)
    sex = _pick(rng, ["Male", "Female"], rows, [0.67, 0.33])
    married = rng.random(rows) < np.where(age > 28, 0.6, 0.2)
    marital = np.where(
        married, "Married-civ-spouse", _pick(rng, ["Never-married", "Divorced", "Widowed"], rows, [6, 3, 1])
    )
    relationship = np.where(
        married,
        np.where(sex == "Male", "Husband", "Wife"),
        _pick(rng, ["Not-in-family", "Own-child", "Unmarried"], rows, [5, 3, 2]),
    )
    education_num = np.clip(np.round(rng.normal(10, 2.5, rows)), 1, 16).astype(int)
    levels = [
        "Preschool",
        "1st-4th",
        "5th-6th",
        "7th-8th",
        "9th",
        "10th",
        "11th",
        "12th",
        "HS-grad",
        "Some-college",
        "Assoc-voc",
        "Assoc-acdm",
        "Bachelors",
        "Masters",
        "Prof-school",
        "Doctorate",
    ]
    education = np.array(levels)[education_num - 1]
    occupation = _pick(
        rng,
        [
            "Prof-specialty",
            "Craft-repair",
            "Exec-managerial",
            "Adm-clerical",
            "Sales",
            "Other-service",
            "Machine-op-inspct",
            "Transport-moving",
            "Handlers-cleaners",
            "Tech-support",
        ],
        rows,
        [13, 13, 12, 12, 11, 10, 6, 5, 4, 3],
    )
    workclass = _pick(
        rng,
        ["Private", "Self-emp-not-inc", "Local-gov", "State-gov", "Self-emp-inc", "Federal-gov"],
        rows,
        [70, 8, 6, 4, 3, 3],
    )
    race = _pick(
        rng, ["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"], rows, [85, 10, 3, 1, 1]
    )
    country = _pick(
        rng,
        ["United-States", "Mexico", "Philippines", "Germany", "Canada", "India", "Other"],
        rows,
        [90, 2, 1, 1, 1, 1, 4],
    )
    hours = np.where(rng.random(rows) < 0.47, 40, np.clip(np.round(rng.normal(40, 12, rows)), 1, 99)).astype(
        int
    )
    fnlwgt = np.round(np.exp(rng.normal(12.0, 0.45, rows))).astype(int)
    score = -8.9 + 0.45 * education_num + 1.9 * married + 0.035 * np.minimum(age, 60) + 0.03 * (hours - 40)
    score += (
        0.4 * (occupation == "Exec-managerial")
        + 0.4 * (occupation == "Prof-specialty")
        + 0.3 * (sex == "Male")
    )
    gain = np.where(rng.random(rows) < 0.08, np.round(np.exp(rng.normal(8.5, 1.0, rows))), 0)
    gain = np.where(rng.random(rows) < 0.004, 99999, gain).astype(int)
    loss = np.where(rng.random(rows) < 0.05, np.round(rng.normal(1900, 300, rows)), 0).astype(int)
    score += 2.5 * (gain > 5000) + 1.2 * (loss > 1800)
    income = np.where(rng.random(rows) < 1 / (1 + np.exp(-score)), ">50K", "<=50K")
    return pd.DataFrame(
        {
            "age": age, "workclass": workclass, "fnlwgt": fnlwgt, "education": education,
            "education_num": education_num, "marital_status": marital, "occupation": occupation,
            "relationship": relationship, "race": race, "sex": sex, "capital_gain": gain,
            "capital_loss": loss,
            "hours_per_week": hours, "native_country": country, "income": income,
        }
    )  # fmt: skip


def bank_like(rows: int = 36_000, seed: int = 0) -> pd.DataFrame:
    """17 columns like a bank marketing table: ``pdays`` 82 % at the sentinel -1, ``campaign`` a count
    1-63 (mostly 1-3), ``balance`` with a spike at 0 inside a wide range, a binary response ``y``."""
    rng = np.random.default_rng(seed)
    age = np.clip(np.round(rng.normal(41, 10.5, rows)), 18, 95).astype(int)
    job = _pick(
        rng,
        [
            "blue-collar",
            "management",
            "technician",
            "admin.",
            "services",
            "retired",
            "self-employed",
            "entrepreneur",
            "unemployed",
            "housemaid",
            "student",
        ],
        rows,
        [22, 21, 17, 11, 9, 5, 3.5, 3.3, 2.9, 2.7, 2],
    )
    marital = _pick(rng, ["married", "single", "divorced"], rows, [60, 28, 12])
    education = _pick(rng, ["secondary", "tertiary", "primary", "unknown"], rows, [51, 29, 15, 4])
    default = _pick(rng, ["no", "yes"], rows, [98.2, 1.8])
    balance = np.where(rng.random(rows) < 0.08, 0, np.round(rng.lognormal(6.6, 1.4, rows) - 300)).astype(int)
    housing = _pick(rng, ["yes", "no"], rows, [56, 44])
    loan = _pick(rng, ["no", "yes"], rows, [84, 16])
    contact = _pick(rng, ["cellular", "unknown", "telephone"], rows, [65, 29, 6])
    day = rng.integers(1, 32, rows)
    month = _pick(
        rng,
        ["may", "jul", "aug", "jun", "nov", "apr", "feb", "jan", "oct", "sep", "mar", "dec"],
        rows,
        [30, 15, 14, 12, 9, 6.5, 5.9, 3.1, 1.6, 1.3, 1.1, 0.5],
    )
    duration = np.round(rng.lognormal(5.2, 0.8, rows)).astype(int)
    campaign = np.clip(rng.geometric(0.38, rows), 1, 63)
    contacted = rng.random(rows) < 0.18
    pdays = np.where(contacted, np.clip(np.round(rng.normal(220, 110, rows)), 1, 871), -1).astype(int)
    previous = np.where(contacted, np.clip(rng.geometric(0.4, rows), 1, 40), 0)
    poutcome = np.where(contacted, _pick(rng, ["failure", "other", "success"], rows, [60, 22, 18]), "unknown")
    score = -3.7 + 0.0045 * duration - 0.9 * (housing == "yes") - 0.5 * (loan == "yes") - 0.12 * campaign
    score += (
        2.3 * (poutcome == "success")
        + 0.8 * (contact == "cellular")
        + 0.6 * np.isin(month, ["mar", "sep", "oct", "dec"])
    )
    y = np.where(rng.random(rows) < 1 / (1 + np.exp(-score)), "yes", "no")
    return pd.DataFrame(
        {
            "age": age, "job": job, "marital": marital, "education": education, "default": default,
            "balance": balance, "housing": housing, "loan": loan, "contact": contact, "day": day,
            "month": month,
            "duration": duration, "campaign": campaign, "pdays": pdays, "previous": previous,
            "poutcome": poutcome, "y": y,
        }
    )  # fmt: skip


def wide_table(rows: int = 10_000, columns: int = 300, seed: int = 0) -> pd.DataFrame:
    """A wide table: two thirds numeric (normal, zero-inflated, counts), one third categorical,
    tied together by a few latent factors, the last column a binary outcome."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(rows, 5))
    out = {}
    for j in range(columns - 1):
        latent = factors @ rng.normal(0, 0.6, 5) + rng.normal(size=rows)
        kind = j % 3
        if kind == 0:
            out[f"x{j:03d}"] = np.round(latent * 10 + 50, 2)
        elif kind == 1 and j % 2:
            out[f"x{j:03d}"] = np.where(latent < 0.8, 0, np.round(np.exp(latent), 1))
        elif kind == 1:
            out[f"x{j:03d}"] = np.clip(np.round(np.exp(latent / 2)), 0, 40).astype(int)
        else:
            out[f"c{j:03d}"] = np.array(list("abcde"))[np.digitize(latent, [-1, -0.3, 0.3, 1])]
    outcome = factors[:, 0] + 0.5 * factors[:, 1] + rng.normal(0, 0.7, rows) > 1
    out["outcome"] = np.where(outcome, "yes", "no")
    return pd.DataFrame(out)
