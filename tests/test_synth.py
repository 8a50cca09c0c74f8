"""The shared synthesizer layer: reproducible fits and samples, clear errors."""

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from utils.core import storage
from utils.core.cli import UserError
from utils.synth.models import (
    fit_synthesizer,
    load_synthesizer,
    sample_synthesizer,
    save_synthesizer,
    synthesizer_bytes,
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    age = rng.integers(18, 90, n)
    return pd.DataFrame(
        {
            "age": age,
            "group": rng.choice(["a", "b", "c"], n),
            "income": (age * 900 + rng.lognormal(9, 0.5, n)).round(2),
        }
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return storage.table_bytes(frame, "csv")


def test_gaussian_copula_same_seed_same_bytes(frame):
    first = sample_synthesizer(fit_synthesizer(frame, "gaussian_copula", seed=3), 300, seed=3)
    second = sample_synthesizer(fit_synthesizer(frame, "gaussian_copula", seed=3), 300, seed=3)
    other = sample_synthesizer(fit_synthesizer(frame, "gaussian_copula", seed=3), 300, seed=4)
    assert csv_bytes(first) == csv_bytes(second)
    assert csv_bytes(first) != csv_bytes(other)
    assert list(first.columns) == list(frame.columns)


@pytest.mark.parametrize("seed", [0, 2])
def test_a_gaussian_copula_has_the_same_bytes_whatever_the_blas_threads_of_its_process(seed):
    # Correlated shares in (0, 1): SDV's own fit of such a table differs in its last bits between
    # OpenBLAS on one thread and on two (a model fitted on a Dask worker, or on a machine with
    # another core count, then differed from the build process's).
    rng = np.random.default_rng(seed)
    common = rng.normal(size=518)
    shares = {f"x{i}": 1 / (1 + np.exp(-(0.5 * common + rng.normal(size=518)))) for i in range(11)}
    table = pd.DataFrame(shares)
    table["group"] = rng.choice(["a", "b"], 518)
    fitted = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            model = fit_synthesizer(table, "gaussian_copula", seed=1, default_distribution="truncnorm")
        fitted.append(synthesizer_bytes(model, "table"))
    assert fitted[0] == fitted[1]


def test_ctgan_same_seed_same_bytes(frame):
    first = sample_synthesizer(fit_synthesizer(frame, "ctgan", seed=5, epochs=1), 100, seed=5)
    second = sample_synthesizer(fit_synthesizer(frame, "ctgan", seed=5, epochs=1), 100, seed=5)
    assert csv_bytes(first) == csv_bytes(second)


def test_saved_synthesizer_samples_the_same_rows(frame, tmp_path):
    synthesizer = fit_synthesizer(frame, "gaussian_copula", seed=1)
    path = save_synthesizer(synthesizer, tmp_path / "model.pkl")
    assert csv_bytes(sample_synthesizer(load_synthesizer(path), 50, seed=9)) == csv_bytes(
        sample_synthesizer(synthesizer, 50, seed=9)
    )


def test_unknown_synthesizer_and_empty_frame_are_user_errors(frame):
    with pytest.raises(UserError, match="unknown synthesizer"):
        fit_synthesizer(frame, "gan9000", seed=1)
    with pytest.raises(UserError, match="empty"):
        fit_synthesizer(frame.iloc[:0], "gaussian_copula", seed=1)


def test_device_decides_where_neural_synthesizers_train(frame, capsys):
    import torch

    import build_dataset
    from utils.core.cli import run_main
    from utils.synth.models import detect_metadata, make_synthesizer, use_gpu

    metadata = detect_metadata(frame, "t")
    assert use_gpu("cpu") is False
    assert use_gpu("auto") is torch.cuda.is_available()
    for kind in ("ctgan", "tvae"):
        assert make_synthesizer(kind, metadata, epochs=1, device="cpu").enable_gpu is False
        auto = make_synthesizer(kind, metadata, epochs=1, device="auto")
        assert auto.enable_gpu is torch.cuda.is_available()
    with pytest.raises(UserError, match="unknown device"):
        use_gpu("tpu")
    if not torch.cuda.is_available():  # this machine: --device cuda is one clear error, before any work
        with pytest.raises(SystemExit) as exit_info:
            run_main(build_dataset.main, ["--synthesizer", "ctgan", "--device", "cuda", "--quiet"])
        assert exit_info.value.code == 2 and "no CUDA device" in capsys.readouterr().err
