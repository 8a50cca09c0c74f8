"""DataLoader: dtypes restored, round trips, caching that is never stale, one-line errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_loader import DataLoader, DataLoaderError, main
from utils.core import storage


def transactions(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """A small transactions-like table (the contracts' columns plus a flag and a date)."""
    rng = np.random.default_rng(seed)
    campaign = pd.Series([f"C{n:04d}" for n in rng.integers(1, 20, rows)], dtype=object)
    campaign[rng.random(rows) < 0.5] = None
    return pd.DataFrame(
        {
            "transaction_id": [f"T{n:09d}" for n in range(1, rows + 1)],
            "customer_id": [f"NY-{n:07d}" for n in rng.integers(1, 10_000, rows)],
            "campaign_id": campaign,
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**7, rows), unit="s"),
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), unit="D"),
            "amount": np.round(rng.gamma(2.0, 30.0, rows) + 0.01, 2),
            "quantity": rng.integers(1, 6, rows),
            "category": rng.choice(["electronics", "apparel", "home", "beauty"], rows),
            "organic": rng.random(rows) < 0.5,
        }
    )


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values only: categories and Arrow strings as Python objects, missing values as None."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, (pd.CategoricalDtype, pd.StringDtype)) or out[name].dtype == object:
            out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("source") / "transactions.csv"
    storage.write_table(transactions(), path)
    return path


def test_dtypes_are_restored(csv_file, tmp_path):
    frame = DataLoader(cache_dir=tmp_path).load(csv_file)
    assert frame.shape == (300, 9)
    for name in ("transaction_id", "customer_id", "campaign_id"):
        assert isinstance(frame[name].dtype, pd.StringDtype), name
    assert frame["timestamp"].dtype == "datetime64[ns]" and frame["day"].dtype == "datetime64[ns]"
    assert frame["amount"].dtype == "float64" and frame["quantity"].dtype == "int64"
    assert frame["organic"].dtype == "bool"
    assert isinstance(frame["category"].dtype, pd.CategoricalDtype)
    assert list(frame["category"].cat.categories) == ["apparel", "beauty", "electronics", "home"]
    assert frame["campaign_id"].isna().sum() == transactions()["campaign_id"].isna().sum()
    pd.testing.assert_frame_equal(plain(frame), plain(transactions()), check_dtype=False)


def test_id_columns_keep_leading_zeros(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("zip_id,n\n00123,1\n04567,2\n")
    frame = DataLoader(cache_dir=None).load(path)
    assert list(frame["zip_id"]) == ["00123", "04567"]


def test_disk_cache_then_memory_cache_and_column_subset(csv_file, tmp_path):
    first = DataLoader(cache_dir=tmp_path)
    full = first.load(csv_file)
    assert first.stats == {"source_reads": 1, "cache_builds": 1}
    assert len(list(tmp_path.glob("*.parquet"))) == 1
    second = DataLoader(cache_dir=tmp_path)
    pd.testing.assert_frame_equal(second.load(csv_file), full)
    subset = second.load(csv_file, columns=["amount", "category"])
    assert list(subset.columns) == ["amount", "category"] and isinstance(
        subset["category"].dtype, pd.CategoricalDtype
    )
    again = second.load(csv_file)
    again.loc[0, "amount"] = -1.0  # callers get a copy: the memory cache cannot be changed from outside
    pd.testing.assert_frame_equal(second.load(csv_file), full)
    assert second.stats["source_reads"] == 0 and second.stats["cache_hits"] == 2
    assert second.stats["memory_hits"] == 2


@pytest.mark.parametrize("same_size_and_mtime", [False, True])
def test_modified_source_is_reloaded(tmp_path, same_size_and_mtime):
    path = tmp_path / "t.csv"
    storage.write_table(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}), path)
    stat = path.stat()
    loader = DataLoader(cache_dir=tmp_path / "cache")
    assert loader.load(path)["a"].tolist() == [1, 2, 3]
    changed = pd.DataFrame(
        {"a": [7, 8, 9], "b": ["x", "y", "z"]} if same_size_and_mtime else {"a": [4], "b": ["w"]}
    )
    storage.write_table(changed, path)
    if same_size_and_mtime:  # same bytes count, mtime put back: change time and fingerprint still differ
        assert path.stat().st_size == stat.st_size
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    for reader in (loader, DataLoader(cache_dir=tmp_path / "cache")):
        assert reader.load(path)["a"].tolist() == changed["a"].tolist()
    assert len(list((tmp_path / "cache").glob("*.parquet"))) == 1  # the stale entry is gone


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip"])
def test_corrupted_cache_entry_is_rebuilt_not_served(csv_file, tmp_path, caplog, damage):
    expected = DataLoader(cache_dir=tmp_path).load(csv_file)
    (entry,) = tmp_path.glob("*.parquet")
    data = bytearray(entry.read_bytes())
    if damage == "garbage":
        data = bytearray(b"not parquet at all")
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:  # flip bytes inside the data pages: only the page checksums notice
        for offset in range(200, 1200, 7):
            data[offset] ^= 0xFF
    entry.write_bytes(bytes(data))
    loader = DataLoader(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="data_loader"):
        pd.testing.assert_frame_equal(loader.load(csv_file), expected)
    assert loader.stats["cache_rebuilds"] == 1 and loader.stats["cache_builds"] == 1
    assert "is corrupt" in caplog.text and str(csv_file) in caplog.text
    assert DataLoader(cache_dir=tmp_path).load(csv_file).equals(expected)  # the rebuilt entry is sound


def test_unwritable_cache_folder_falls_back_to_no_cache(csv_file, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="data_loader"):
        loader = DataLoader(cache_dir=blocker / "cache")
    assert loader.cache_dir is None and "not writable" in caplog.text
    assert loader.load(csv_file).shape == (300, 9)


def test_iter_chunks_streams_in_blocks_and_matches_load(csv_file, tmp_path):
    loader = DataLoader(cache_dir=None, block_size=4096)
    chunks = list(loader.iter_chunks(csv_file, columns=["transaction_id", "amount", "timestamp"]))
    assert len(chunks) > 3
    whole = pd.concat(chunks, ignore_index=True)
    expected = loader.load(csv_file, columns=["transaction_id", "amount", "timestamp"])
    pd.testing.assert_frame_equal(whole, expected)
    cached = DataLoader(cache_dir=tmp_path)
    cached.load(csv_file)
    pd.testing.assert_frame_equal(
        plain(pd.concat(cached.iter_chunks(csv_file), ignore_index=True)), plain(cached.load(csv_file))
    )


def test_column_whose_later_values_need_a_wider_type(tmp_path):
    path = tmp_path / "wide.csv"
    lines = ["n,code,flag"] + [f"{i},{i},true" for i in range(3000)] + ["1.5,abc,maybe"]
    path.write_text("\n".join(lines) + "\n")
    frame = DataLoader(cache_dir=None, block_size=4096).load(path)
    assert frame["n"].dtype == "float64" and frame["n"].iloc[-1] == 1.5
    assert frame["code"].iloc[-1] == "abc" and frame["flag"].iloc[-1] == "maybe"
    with pytest.raises(DataLoaderError, match="do not fit"):
        list(DataLoader(cache_dir=None, block_size=4096).iter_chunks(path))


def test_header_only_csv_is_an_empty_table_with_its_columns(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("customer_id,amount\n")
    frame = DataLoader(cache_dir=tmp_path / "cache").load(path)
    assert frame.empty and list(frame.columns) == ["customer_id", "amount"]


def write_bad(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.csv"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "truncated":
        path.write_text("a,b,c\n1,2,3\n4,5,6\n7,8")
    elif case == "malformed":
        path.write_text("a,b\n1,2\n3,4,5\n6,7\n")
    elif case == "encoding":
        path.write_bytes("name,city\nJosé,Bogotá\n".encode("latin-1"))
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "does not exist"),
        ("empty", "is empty"),
        ("truncated", "malformed or truncated CSV"),
        ("malformed", "malformed or truncated CSV"),
        ("encoding", "not valid UTF-8"),
    ],
)
def test_errors_name_the_file_in_one_line(tmp_path, case, message):
    path = write_bad(tmp_path, case)
    with pytest.raises(DataLoaderError) as caught:
        DataLoader(cache_dir=tmp_path / "cache").load(path)
    text = str(caught.value)
    assert message in text and path.name in text and "\n" not in text
    assert not list((tmp_path / "cache").glob("*.parquet"))  # nothing cached for a bad source


def test_other_errors_and_encoding_option(tmp_path, csv_file):
    latin = write_bad(tmp_path, "encoding")
    assert DataLoader(cache_dir=None).load(latin, encoding="latin-1")["city"].tolist() == ["Bogotá"]
    with pytest.raises(DataLoaderError, match="has no column"):
        DataLoader(cache_dir=None).load(csv_file, columns=["nope"])
    with pytest.raises(DataLoaderError, match="unsupported file type"):
        DataLoader(cache_dir=None).load(tmp_path / "t.xlsx")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(DataLoaderError, match="is not a file"):
        DataLoader(cache_dir=None).load(folder)


NAMES = st.sampled_from(["red", "green", "blue", "a,b", 'say "hi"', "ünïcødé", "two words", "x\ny"])
NULLS = {"nan", "null", "na", "n/a", "none", "true", "false", "-nan"}
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters="#"),
    min_size=1,
    max_size=8,
).filter(
    lambda s: s.strip() == s and any(c.isalpha() for c in s) and s.lower() not in NULLS
)  # text that a CSV reader cannot take for a number, a boolean or a missing value


@st.composite
def frames(draw) -> pd.DataFrame:
    """DataFrames of the supported dtypes: int, float, bool, text, category, datetime, id strings."""
    rows = draw(st.integers(1, 30))
    column = lambda strategy: draw(st.lists(strategy, min_size=rows, max_size=rows))  # noqa: E731
    return pd.DataFrame(
        {
            "record_id": [f"R{n:05d}" for n in column(st.integers(0, 99_999))],
            "count": column(st.integers(-(2**40), 2**40)),
            "price": column(st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: round(x, 6))),
            "flag": column(st.booleans()),
            "label": pd.Categorical(column(NAMES)),
            "note": column(TEXT),
            "when": pd.to_datetime(
                column(st.datetimes(pd.Timestamp("1970-01-01"), pd.Timestamp("2100-01-01")))
            ).floor("s"),
        }
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), fmt=st.sampled_from(["csv", "parquet"]))
def test_round_trip_property(frame, fmt):
    with tempfile.TemporaryDirectory() as folder:
        path = storage.write_table(frame, Path(folder, f"t.{fmt}"))
        loaded = DataLoader(cache_dir=Path(folder, "cache")).load(path)
        again = DataLoader(cache_dir=Path(folder, "cache")).load(path)  # from the cache for CSV
    pd.testing.assert_frame_equal(loaded, again)
    pd.testing.assert_frame_equal(
        plain(loaded), plain(frame), check_dtype=False, check_exact=fmt == "parquet"
    )
    assert loaded["when"].dtype == "datetime64[ns]" and loaded["flag"].dtype == "bool"
    assert loaded["count"].dtype == "int64" and isinstance(loaded["record_id"].dtype, pd.StringDtype)


def test_cli_prints_shape_and_dtypes_and_fails_in_one_line(csv_file, tmp_path, capsys):
    assert main([str(csv_file), "--columns", "amount,category", "--cache-dir", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "300 rows x 2 columns" in out and "category" in out
    result = subprocess.run(
        [sys.executable, "data_loader.py", str(tmp_path / "absent.csv"), "--cache-dir", ""],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "does not exist" in result.stderr
