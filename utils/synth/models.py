"""SDV synthesizers behind one small, reproducible interface.

Every stage fits and samples through these functions, so the choice of synthesizer, its parameters
(``constants.MODEL_PARAMETERS``) and the seeding that makes outputs byte-identical live in one place:

    synthesizer = fit_synthesizer(seed_frame, "gaussian_copula", seed=7, table_name="demographics")
    synthetic = sample_synthesizer(synthesizer, 20_000, seed=7)
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import random
import sys
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

import constants
from utils.core import cluster, seeding, storage
from utils.core.cli import UserError, check_synthesizer
from utils.synth import fast_sampler

log = logging.getLogger("synth")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (CTGAN/TVAE training draws from them)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import torch

    torch.manual_seed(seed)


def detect_metadata(frame: pd.DataFrame, table_name: str, sdtypes: Mapping[str, str] | None = None):
    """SDV ``Metadata`` for one table, detected from ``frame`` then corrected by ``sdtypes``.

    ``sdtypes`` maps a column to an SDV sdtype (``categorical``, ``numerical``, ``datetime``, ``id``…);
    detection alone often takes a low-cardinality integer for categorical or a code for an id.
    """
    from sdv.metadata import Metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metadata = Metadata.detect_from_dataframes({table_name: frame})
    for column, sdtype in (sdtypes or {}).items():
        if sdtype == "id":
            metadata.update_column(column, sdtype="id", table_name=table_name)
        elif sdtype == "datetime":
            metadata.update_column(
                column, sdtype="datetime", table_name=table_name, datetime_format="%Y-%m-%d %H:%M:%S"
            )
        else:
            metadata.update_column(column, sdtype=sdtype, table_name=table_name)
    return metadata


def use_gpu(device: str = constants.DEFAULT_DEVICE) -> bool:
    """Whether CTGAN / TVAE train on CUDA for ``device`` (``auto``: when torch sees a GPU); ``cuda``
    without one is a UserError."""
    if device not in constants.DEVICES:
        raise UserError(f"unknown device {device!r}: choose one of {', '.join(constants.DEVICES)}")
    if device == "cpu":
        return False
    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise UserError("--device cuda: torch sees no CUDA device here (use --device auto or cpu)")
    return available


def make_synthesizer(
    kind: str, metadata, *, epochs: int | None = None, device: str = constants.DEFAULT_DEVICE, **options: Any
):
    """An unfitted SDV synthesizer of ``kind`` (gaussian_copula, ctgan, tvae).

    CTGAN takes every entry of ``constants.MODEL_PARAMETERS``; TVAE its epochs and batch size.
    ``epochs`` overrides the configured number; ``device`` (auto, cpu, cuda) is where CTGAN and TVAE
    train; ``options`` go to the SDV constructor.
    """
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    check_synthesizer(kind)
    params = dict(constants.MODEL_PARAMETERS)
    if epochs is not None:
        params["epochs"] = epochs
    if kind == "gaussian_copula":
        return GaussianCopulaSynthesizer(metadata, **options)
    gpu = use_gpu(device) if kind != "gaussian_copula" else False
    if kind == "ctgan":
        return CTGANSynthesizer(
            metadata,
            enable_gpu=gpu,
            epochs=params["epochs"],
            batch_size=params["batch_size"],
            generator_dim=tuple(params["generator_dim"]),
            discriminator_dim=tuple(params["discriminator_dim"]),
            **options,
        )
    return TVAESynthesizer(
        metadata, enable_gpu=gpu, epochs=params["epochs"], batch_size=params["batch_size"], **options
    )


def fit_synthesizer(
    frame: pd.DataFrame,
    kind: str,
    *,
    seed: int,
    table_name: str = "table",
    sdtypes: Mapping[str, str] | None = None,
    metadata=None,
    epochs: int | None = None,
    **options: Any,
):
    """Fit a synthesizer of ``kind`` on ``frame`` reproducibly and return it.

    The same frame, kind and seed always give a synthesizer that samples the same rows, in whatever
    process and with however many cores: a Gaussian copula is fitted with one BLAS thread (SciPy's
    marginal fits differ in their last bits between one BLAS thread and two, so a model followed the
    machine's core count and whether it was fitted on a Dask worker).
    """
    if frame.empty:
        raise UserError(f"cannot fit a synthesizer on an empty {table_name} table")
    metadata = metadata or detect_metadata(frame, table_name, sdtypes)
    # Seeded before it is made: SDV's constructors draw their transformers' random states from the
    # global generators, so the pickle would otherwise depend on what this process fitted before
    # (a model fitted on a Dask worker differed from the same model fitted in the build's process).
    seed_everything(seed)
    synthesizer = make_synthesizer(kind, metadata, epochs=epochs, **options)
    log.debug("fitting %s on %s rows of %s", kind, f"{len(frame):,}", table_name)
    limits = {"limits": 1, "user_api": "blas"} if kind == "gaussian_copula" else {"limits": None}
    with warnings.catch_warnings(), threadpool_limits(**limits):
        warnings.simplefilter("ignore")
        synthesizer.fit({table_name: frame})
    return synthesizer


def sample_synthesizer(
    synthesizer, num_rows: int, *, seed: int, batch_size: int | None = None, fast: bool = True
) -> pd.DataFrame:
    """Sample ``num_rows`` rows; the same fitted synthesizer and seed give the same rows.

    ``fast``: a Gaussian copula is sampled by :class:`utils.synth.fast_sampler.FastCopulaSampler`
    (NumPy, the same distributions, 10-30x faster than SDV's own ``sample``) wherever it compiles and
    ``num_rows`` repays compiling it (``fast_sampler.MIN_ROWS``: compiling evaluates each marginal's
    inverse CDF on its grid, which for a KDE marginal costs as much as SDV sampling 4,000 rows);
    anything else, or ``fast=False``, by SDV.
    """
    if isinstance(synthesizer, ConditionalSynthesizer):
        synthesizer.reset_sampling()
        synthesizer._set_random_state(seed)
        return synthesizer.sample(num_rows, batch_size=batch_size, fast=fast)
    if fast and num_rows >= fast_sampler.MIN_ROWS:
        sampler = fast_sampler.compile_sampler(synthesizer)
        if sampler is not None:
            return sampler.sample(num_rows, seed)
    synthesizer.reset_sampling()
    synthesizer._set_random_state(seed)  # SDV's public sample() has no seed argument
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampled = synthesizer.sample(num_rows, batch_size=batch_size)
    if isinstance(sampled, dict):
        (sampled,) = sampled.values()
    return sampled.reset_index(drop=True)




def load_synthesizer(path: str | os.PathLike):
    """Load a synthesizer written by :func:`save_synthesizer`."""
    import cloudpickle

    if not storage.is_remote(path) and not os.path.exists(path):
        raise UserError(f"no saved synthesizer at {path}")
    return cloudpickle.loads(storage.read_bytes(path))


class ConditionalSynthesizer:
    """One synthesizer per class of some columns: ``P(rest | class)`` fitted per class, ``P(class)`` kept.

    Samples through the same ``reset_sampling`` / ``_set_random_state`` / ``sample`` calls as an SDV
    synthesizer, so :func:`sample_synthesizer` and :func:`save_synthesizer` work on it unchanged.
    Classes too small to fit on their own share one pooled synthesizer that keeps the columns.
    """

    def __init__(
        self, by: list, columns: list, parts: dict, shares: dict, pooled=None, pooled_share: float = 0.0
    ):
        self.by, self.columns, self.parts, self.shares = by, columns, parts, shares
        self.pooled, self.pooled_share = pooled, pooled_share
        self._seed = 0

    def reset_sampling(self) -> None:
        """Forget earlier draws (as SDV's ``reset_sampling``)."""
        self._seed = 0

    def _set_random_state(self, seed: int) -> None:
        self._seed = seed

    def _counts(self, num_rows: int) -> dict:
        """Rows per part by largest remainder, so counts always add up to ``num_rows``."""
        shares = {**self.shares, **({None: self.pooled_share} if self.pooled is not None else {})}
        exact = {key: share * num_rows for key, share in shares.items()}
        counts = {key: int(value) for key, value in exact.items()}
        by_remainder = sorted(exact, key=lambda key: (counts[key] - exact[key], str(key)))
        for key in by_remainder[: num_rows - sum(counts.values())]:
            counts[key] += 1
        return counts

    def sample(self, num_rows: int, batch_size: int | None = None, fast: bool = True) -> pd.DataFrame:
        """``num_rows`` rows, classes in their fitted shares, rows shuffled reproducibly (``fast``: see
        :func:`sample_synthesizer`)."""
        frames = []
        for index, (key, count) in enumerate(self._counts(num_rows).items()):
            if count == 0:
                continue
            part = self.pooled if key is None else self.parts[key]
            rows = sample_synthesizer(
                part,
                count,
                seed=seeding.child_seed(self._seed, "conditional", partition=index),
                batch_size=batch_size,
                fast=fast,
            )
            for column, value in zip(self.by, key or (), strict=False):
                rows[column] = value
            frames.append(rows)
        frame = pd.concat(frames, ignore_index=True)[self.columns]
        order = seeding.generator(self._seed, "conditional", purpose="shuffle").permutation(len(frame))
        return frame.iloc[order].reset_index(drop=True)


def _fit_part(item: tuple) -> bytes:
    """One class's synthesizer, pickled where it was fitted (a task of
    :func:`fit_conditional_synthesizer`): read back, it is the same object graph whether it came
    from this process or from a Dask worker, whose own serializers rebuild it with other sharing."""
    import cloudpickle
    from sdv.metadata import Metadata

    frame, kind, seed, table_name, epochs, metadata, options = item
    metadata = Metadata.load_from_dict(metadata)
    fitted = fit_synthesizer(
        frame, kind, seed=seed, table_name=table_name, epochs=epochs, metadata=metadata, **options
    )
    return cloudpickle.dumps(fitted)


def fit_conditional_synthesizer(
    frame: pd.DataFrame,
    kind: str,
    by: str | list[str],
    *,
    seed: int,
    metadata,
    table_name: str = "table",
    min_rows: int = 30,
    epochs: int | None = None,
    **options: Any,
) -> ConditionalSynthesizer:
    """Fit one synthesizer of ``kind`` per class of the ``by`` column(s) (classes under ``min_rows`` pooled).

    A Gaussian copula ties a category to the other columns by one linear correlation of a jittered
    latent, which blurs class-conditional shapes; fitting per class keeps them (a mixture of copulas).
    ``metadata`` is the table's SDV metadata; the per-class fits use it without the ``by`` columns.
    """
    if frame.empty:
        raise UserError(f"cannot fit a synthesizer on an empty {table_name} table")
    by = [by] if isinstance(by, str) else list(by)
    counts = frame.groupby(by, sort=True).size().sort_values(ascending=False, kind="stable")
    big = [key if isinstance(key, tuple) else (key,) for key, count in counts.items() if count >= min_rows]
    without = metadata.to_dict()
    for column in by:
        del without["tables"][table_name]["columns"][column]
    keys = pd.Series(list(frame[by].itertuples(index=False, name=None)), index=frame.index)
    # One task a class (largest first), on the build's Dask workers where it has them; here otherwise.
    waits = {
        key: cluster.submit(
            _fit_part,
            (
                frame[keys == key].drop(columns=by),
                kind,
                seeding.child_seed(seed, table_name, partition=index, purpose="class_fit"),
                table_name,
                epochs,
                without,
                options,
            ),
            name="|".join(map(str, key)),
            stage=f"{table_name} (class fits)",
        )
        for index, key in enumerate(big)
    }
    rest = frame[~keys.isin(big)]
    if len(rest):
        item = (rest, kind, seed, table_name, epochs, metadata.to_dict(), options)
        waits[None] = cluster.submit(_fit_part, item, name="pooled", stage=f"{table_name} (class fits)")
    parts = {key: pickle.loads(wait()) for key, wait in waits.items()}
    pooled = parts.pop(None, None)
    shares = {key: int((keys == key).sum()) / len(frame) for key in big}
    return ConditionalSynthesizer(by, list(frame.columns), parts, shares, pooled, len(rest) / len(frame))


# --- Saving ------------------------------------------------------------------------------------


def _sdv_parts(synthesizer) -> list:
    """The SDV synthesizers inside ``synthesizer`` (itself, or a conditional one's parts)."""
    if isinstance(synthesizer, ConditionalSynthesizer):
        parts = [*synthesizer.parts.values(), synthesizer.pooled]
        return [part for part in parts if part is not None]
    return [synthesizer]


def _fixed_random_state(state: np.random.RandomState) -> np.random.RandomState:
    """The same generator state in a RandomState whose seed record is fixed.

    rdt stores ``RandomState()`` objects (seeded from OS entropy) after ``set_state``: their draws are
    deterministic, but the pickled seed record is not.
    """
    fixed = np.random.RandomState(0)
    fixed.set_state(state.get_state())
    return fixed


class _SortedSet(set):
    """A set that pickles its items in sorted order (and unpickles as a plain set).

    A set of strings iterates in an order that follows Python's per-process hash seed.
    """

    def __reduce__(self):
        return set, (sorted(self, key=repr),)


def _stable(value):
    """``value`` with a reproducible pickle: RandomStates re-seeded as they are, sets sorted."""
    if isinstance(value, np.random.RandomState):
        return _fixed_random_state(value)
    if type(value) is set:
        return _SortedSet(value)
    return value


def _make_stable(node, seen: set, depth: int = 0) -> None:
    """Make every RandomState and set reachable through attributes, dicts and lists reproducible."""
    if id(node) in seen or depth > 12 or isinstance(node, np.ndarray | pd.DataFrame | pd.Series | type):
        return
    seen.add(id(node))
    if isinstance(node, dict):
        items = list(node.items())
        for key, value in items:
            node[key] = _stable(value)
            _make_stable(value, seen, depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            node[index] = _stable(value)
            _make_stable(value, seen, depth + 1)
    elif isinstance(node, tuple):
        for value in node:
            _make_stable(value, seen, depth + 1)
    elif hasattr(node, "__dict__") and type(node).__module__.split(".")[0] in _MODEL_PACKAGES:
        for name, value in list(vars(node).items()):
            setattr(node, name, _stable(value))
            _make_stable(value, seen, depth + 1)


_MODEL_PACKAGES = {"sdv", "rdt", "copulas", "ctgan", "utils", "sklearn"}


def make_reproducible(synthesizer, name: str) -> None:
    """Drop what SDV stores that differs between identical fits, so the pickle depends on the fit only.

    SDV gives each synthesizer a random id (``uuid4``) and stamps the creation and fit dates; the id
    becomes ``{class}_{sdv version}_{name}[_{part}]`` and the dates are cleared (the build's manifest
    records when it ran). The unused default PII transformer's Faker gets a fixed seed; sets and the
    HyperTransformer's field dicts are written in sorted order (their order follows Python's per-process
    hash seed). Nothing that sampling uses changes.
    """
    parts = _sdv_parts(synthesizer)
    _make_stable(synthesizer, set())
    for index, part in enumerate(parts):
        suffix = f"_{index}" if len(parts) > 1 else ""
        version = getattr(part, "_fitted_sdv_version", None) or "sdv"
        part._synthesizer_id = f"{type(part).__name__}_{version}_{name}{suffix}"
        for attribute in ("_creation_date", "_fitted_date"):
            if hasattr(part, attribute):
                setattr(part, attribute, None)
        # The default "pii" transformer carries a Faker whose Random is seeded from os.urandom at
        # import; no column of ours uses it, so give it a fixed state.
        processor = getattr(part, "_data_processor", None)
        # SDV builds the HyperTransformer's config by iterating set(data.columns), so these dicts'
        # order follows the per-process string hash seed; columns are looked up by name.
        hyper = getattr(processor, "_hyper_transformer", None)
        for attribute in ("field_sdtypes", "field_transformers"):
            fields = getattr(hyper, attribute, None)
            if isinstance(fields, dict):
                setattr(hyper, attribute, {key: fields[key] for key in sorted(fields, key=repr)})
        for transformer in getattr(processor, "_transformers_by_sdtype", {}).values():
            faker = getattr(transformer, "faker", None)
            if faker is not None and hasattr(faker, "seed_instance"):
                faker.seed_instance(0)


def synthesizer_bytes(synthesizer, name: str) -> bytes:
    """The pickled synthesizer (cloudpickle), made reproducible first (:func:`make_reproducible`).

    Pickled, read back with every string interned, pickled again: a pickle's bytes follow which
    equal strings are the same object and how arrays were built, and both depend on where the model
    was made (a model fitted on a Dask worker arrives rebuilt by Dask's serializers; a table that
    came from a worker carries its own copies of the column names). The copy has one object per
    distinct string and freshly built arrays, so a model has the same bytes wherever it was fitted.
    """
    import cloudpickle

    make_reproducible(synthesizer, name)
    copy = _InterningUnpickler(io.BytesIO(cloudpickle.dumps(synthesizer))).load()
    make_reproducible(copy, name)  # the copy's sets and random states, as the original's
    return cloudpickle.dumps(copy)


class _InterningUnpickler(pickle._Unpickler):
    """The pure-Python unpickler, interning every string it reads (equal strings: one object)."""

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)


def _interning(load):
    def wrapper(self):
        load(self)
        self.stack[-1] = sys.intern(self.stack[-1])

    return wrapper


for _opcode in (pickle.SHORT_BINUNICODE, pickle.BINUNICODE, pickle.BINUNICODE8, pickle.UNICODE):
    _InterningUnpickler.dispatch[_opcode[0]] = _interning(pickle._Unpickler.dispatch[_opcode[0]])


def save_synthesizer(synthesizer, path: str | os.PathLike) -> str:
    """Pickle a fitted synthesizer atomically, so it can be sampled again without refitting.

    Same fit, same bytes: the random id and dates SDV stores are normalised (:func:`make_reproducible`).
    """
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".pkl")
    return storage.write_bytes(synthesizer_bytes(synthesizer, name), path)
