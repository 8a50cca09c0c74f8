"""Storage on Azure Blob against the real Azurite emulator: round trips, caching, clear errors, no secrets."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from data_loader import DataLoader, describe
from utils.core import azure, datasets, storage
from utils.core.cli import UserError
from utils.core.datasets import dataset_path, demographics_path
from utils.synth import models as synth

pytest_plugins = ["tests.azurite"]
pytestmark = pytest.mark.azure

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRONG_KEY = "A" * 86 + "=="
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="  # Azurite's


def tables() -> dict[str, pd.DataFrame]:
    """A small set of linked tables, like one build's outputs."""
    rng = np.random.default_rng(3)
    customers = [f"NY-{n:07d}" for n in range(1, 41)]
    return {
        "NY_demographics": pd.DataFrame(
            {
                "customer_id": customers,
                "age": rng.integers(18, 90, 40),
                "gender": rng.choice(["male", "female"], 40),
            }
        ),
        "marketing_campaigns": pd.DataFrame(
            {
                "campaign_id": ["C0001", "C0002"],
                "start_date": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                "budget": [1000.0, 2500.5],
            }
        ),
        "transactions": pd.DataFrame(
            {
                "transaction_id": [f"T{n:09d}" for n in range(1, 61)],
                "customer_id": rng.choice(customers, 60),
                "timestamp": pd.Timestamp("2024-01-01")
                + pd.to_timedelta(rng.integers(0, 10**6, 60), unit="s"),
                "amount": np.round(rng.gamma(2.0, 20.0, 60), 2),
                "channel": rng.choice(["online", "in_store"], 60),
            }
        ),
    }


def values(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: object for c in frame.columns if frame[c].dtype.kind not in "iufbM"})


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_of_a_build_and_loading_back_identical(azure_env, tmp_path, fmt):
    storage.ensure_dir(azure_env)  # creates the container
    written = {
        name: storage.write_table(frame, dataset_path(azure_env, name, fmt))
        for name, frame in tables().items()
    }
    loader = DataLoader(cache_dir=tmp_path)
    for name, frame in tables().items():
        url = written[name]
        assert storage.exists(url)
        pd.testing.assert_frame_equal(values(loader.load(url)), values(frame), check_dtype=False)
        if fmt == "parquet":
            pd.testing.assert_frame_equal(storage.read_table(url), frame)
        assert storage.read_bytes(url) == storage.table_bytes(frame, fmt)  # byte-identical upload
    assert loader.stats["cache_builds"] == 3
    warm = DataLoader(cache_dir=tmp_path)
    for url in written.values():
        warm.load(url)
    assert warm.stats == {"cache_hits": 3}  # no second download


def test_overwritten_blob_is_reloaded_not_served_stale(azure_env, tmp_path):
    url = f"{azure_env}/t.csv"
    storage.write_table(pd.DataFrame({"a": [1, 2]}), url)
    loader = DataLoader(cache_dir=tmp_path)
    before = describe(url)
    assert loader.load(url)["a"].tolist() == [1, 2]
    storage.write_table(pd.DataFrame({"a": [3, 4]}), url)  # same size, new ETag
    assert describe(url).key != before.key
    assert loader.load(url)["a"].tolist() == [3, 4]
    assert DataLoader(cache_dir=tmp_path).load(url)["a"].tolist() == [3, 4]


def test_container_created_on_write_and_missing_blob_is_one_line_error(azure_env):
    url = f"{azure_env}/deep/folder/x.csv"
    storage.write_text("a\n1\n", url)
    assert storage.read_bytes(url) == b"a\n1\n"
    with pytest.raises(UserError, match="does not exist"):
        storage.read_bytes(f"{azure_env}/absent.csv")
    with pytest.raises(UserError, match="does not exist"):
        DataLoader(cache_dir=None).load(f"{azure_env}/absent.csv")


def test_synthesizer_saved_and_loaded_from_blob(azure_env):
    url = f"{azure_env}/models/NY_demographics.pkl"
    frame = tables()["NY_demographics"].drop(columns="customer_id")
    fitted = synth.fit_synthesizer(frame, "gaussian_copula", seed=3, table_name="NY_demographics")
    synth.save_synthesizer(fitted, url)
    assert storage.read_bytes(url) == synth.synthesizer_bytes(fitted, "NY_demographics")  # same bytes
    loaded = synth.load_synthesizer(url)
    pd.testing.assert_frame_equal(
        synth.sample_synthesizer(loaded, 20, seed=5), synth.sample_synthesizer(fitted, 20, seed=5)
    )


def test_wrong_key_is_a_clear_error_without_secrets(azure_env, monkeypatch, tmp_path, caplog):
    url = f"{azure_env}/t.csv"
    storage.write_table(pd.DataFrame({"a": [1]}), url)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", WRONG_KEY)
    attempts = [
        lambda: storage.ensure_dir(azure_env.replace("az://t", "az://u")),
        lambda: storage.write_table(pd.DataFrame({"a": [2]}), url),
        lambda: storage.read_table(url),
        lambda: DataLoader(cache_dir=tmp_path).load(url),
    ]
    with caplog.at_level(logging.DEBUG):
        for attempt in attempts:
            with pytest.raises(UserError) as caught:
                attempt()
            text = str(caught.value)
            assert "rejected the credentials of account devstoreaccount1" in text, text
            assert "AZURE_STORAGE_ACCOUNT_KEY" in text and "\n" not in text
            assert WRONG_KEY not in text and KEY not in text and caught.value.__cause__ is None
    assert WRONG_KEY not in caplog.text and KEY not in caplog.text
    config = azure.load_config()
    assert WRONG_KEY not in repr(config) and WRONG_KEY not in str(config)


def test_configuration_errors(azure_env, monkeypatch, tmp_path):
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY")
    with pytest.raises(UserError, match="not configured: set AZURE_STORAGE_ACCOUNT_KEY"):
        storage.write_text("x", f"{azure_env}/x.txt")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "not base64!")
    with pytest.raises(UserError, match="not a base64 account key") as caught:
        storage.write_text("x", f"{azure_env}/x.txt")
    assert "not base64!" not in str(caught.value)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", KEY)
    monkeypatch.setenv("ENV", "production")
    with pytest.raises(UserError, match="refuses a plain http"):
        storage.write_text("x", f"{azure_env}/x.txt")
    monkeypatch.setenv("ENV", "development")
    with pytest.raises(UserError, match="unsupported storage URL"):
        storage.write_text("x", "s3://bucket/x.txt")
    env_file = tmp_path / ".env"  # .env is read when the environment does not say
    env_file.write_text(f"AZURE_STORAGE_ACCOUNT_NAME=fromfile\nAZURE_STORAGE_ACCOUNT_KEY={KEY}\n")
    config = azure.load_config(environ={}, dotenv_path=env_file)
    assert (
        config.account_name == "fromfile" and config.blob_endpoint == "https://fromfile.blob.core.windows.net"
    )


def test_unreachable_endpoint_is_a_one_line_error(azure_env, monkeypatch):
    monkeypatch.setenv("AZURE_BLOB_ENDPOINT", "http://127.0.0.1:9/devstoreaccount1")
    with pytest.raises(UserError, match=r"cannot reach Azure storage at http://127\.0\.0\.1:9"):
        storage.write_text("x", f"{azure_env}/x.txt")


def test_generator_script_writes_to_blob(azure_env, tmp_path):
    prefix = f"{azure_env}/build"
    env = {**os.environ, "PYTHONPATH": ROOT}  # azure_env has pointed the Azure variables at Azurite
    command = [sys.executable, "demographic.py", "--states", "NY", "--rows-per-state", "200",
               "--seed-rows-per-state", "1000", "--out-dir", prefix, "--quiet"]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert KEY not in result.stderr + result.stdout
    frame = DataLoader(cache_dir=tmp_path).load(demographics_path(prefix, "NY"))
    assert len(frame) == 200 and frame["customer_id"].is_unique and frame["state"].eq("NY").all()
    assert storage.exists(demographics_path(f"{prefix}/seed", "NY"))
    assert storage.exists(f"{prefix}/models/NY_demographics.pkl")
    assert datasets.demographics_states(prefix) == ["NY"]  # listing a prefix works on az:// too
    assert datasets.load_demographics(prefix)["customer_id"].tolist() == frame["customer_id"].tolist()
    assert datasets.demographics_states(f"{azure_env}/nothing-here") == []
    bad = {**env, "AZURE_STORAGE_ACCOUNT_KEY": WRONG_KEY}
    result = subprocess.run(command, cwd=ROOT, env=bad, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "rejected the credentials" in result.stderr
    assert result.stderr.count("\n") == 1 and WRONG_KEY not in result.stderr
