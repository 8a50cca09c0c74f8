"""Cached, chunked loading of CSV and Parquet tables, local or on Azure Blob (``az://container/path``).

    from utils.core.loader import DataLoader
    loader = DataLoader(cache_dir="cache/")
    df = loader.load("data/transactions.csv")              # first call parses the CSV, caches Parquet
    df = loader.load("data/transactions.csv", columns=["customer_id", "amount"])   # cache hit
    for chunk in loader.iter_chunks("az://bucket/run1/engagements.csv"):           # bounded memory
        ...

CSV is read with pyarrow's streaming reader, block by block. Types are restored: ``*_id`` columns
as strings (leading zeros kept), dates and timestamps as ``datetime64[ns]``, booleans as ``bool``,
low-cardinality text as ``category`` (sorted categories), other text as pandas' Arrow-backed
``string`` dtype. The parsed table is cached as Parquet in ``cache_dir`` under a key made of the
source's identity: its path, size, modification time (and, locally, change time) or ETag, and a
content fingerprint; any change to the source gives a new key, so a stale copy is never served.
On top sits a bounded in-process LRU cache. A corrupt cache entry is logged, deleted and rebuilt;
a cache folder that cannot be written means loading without a disk cache, with a warning.
Every problem with a source is a one-line :class:`DataLoaderError` naming the file.

The command line is ``data_loader.py`` at the top of the project.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import constants
from utils.core import azure, storage
from utils.core.errors import UserError

log = logging.getLogger("data_loader")

CACHE_FORMAT_VERSION = 1  # bump when the cached layout or the type rules change
BLOCK_BYTES = 8 << 20  # CSV bytes parsed per chunk
CATEGORY_MAX_UNIQUE = 1_000  # text with at most this many distinct values ...
CATEGORY_MAX_RATIO = 0.5  # ... that are at most this share of its non-null values becomes category
FINGERPRINT_BLOCK = 64 << 10  # bytes hashed at each sampled offset of a local source
FINGERPRINT_SAMPLES = 16
ROW_GROUP_ROWS = 256 * 1024  # rows per cached row group (one iter_chunks chunk from the cache)
DTYPES = ("string", "category", "int64", "float64", "bool", "datetime")
_STRING = pd.StringDtype("pyarrow")
_METADATA_KEY = b"data_loader"


class DataLoaderError(UserError):
    """A source that cannot be loaded: missing, empty, malformed, wrong encoding, unknown columns."""


@dataclass(frozen=True)
class Source:
    """What identifies one version of a source file; any change gives another :attr:`key`."""

    path: str
    format: str
    size: int
    version: str  # local: mtime_ns/ctime_ns; remote: ETag/last-modified
    fingerprint: str  # local: BLAKE2b of sampled blocks (all of a small file); remote: Content-MD5 or ETag

    @property
    def key(self) -> str:
        """The cache key: a hash of the identity, the cache format and the type rules."""
        text = json.dumps([CACHE_FORMAT_VERSION, asdict(self)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def path_key(self) -> str:
        """A hash of the path alone: the prefix shared by every cache entry of this source."""
        return hashlib.sha256(self.path.encode()).hexdigest()[:16]


def describe(path: str | os.PathLike, fmt: str | None = None) -> Source:
    """The current identity of the file at ``path`` (one ``stat`` or one blob HEAD request)."""
    text = str(path)
    fmt = _format(text, fmt)
    if storage.is_remote(text):
        info = azure.info(text)
        settings = info.get("content_settings") or {}
        md5 = settings.get("content_md5")
        etag = str(info.get("etag", ""))
        return Source(
            text, fmt, int(info["size"]), f"{etag}/{info.get('last_modified')}", md5.hex() if md5 else etag
        )
    local = os.path.realpath(text)
    try:
        stat = os.stat(local)
    except FileNotFoundError:
        raise DataLoaderError(f"{text} does not exist") from None
    if not os.path.isfile(local):
        raise DataLoaderError(f"{text} is not a file")
    return Source(local, fmt, stat.st_size, f"{stat.st_mtime_ns}/{stat.st_ctime_ns}", _fingerprint(local))


def _format(path: str, fmt: str | None) -> str:
    try:
        return storage.table_format(path, fmt)
    except UserError:
        raise DataLoaderError(f"{path}: unsupported file type (use .csv or .parquet)") from None


def _fingerprint(path: str) -> str:
    """BLAKE2b of the whole file when small, else of evenly spaced blocks (first and last included)."""
    digest = hashlib.blake2b(digest_size=16)
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        if size <= FINGERPRINT_BLOCK * FINGERPRINT_SAMPLES:
            digest.update(stream.read())
        else:
            step = (size - FINGERPRINT_BLOCK) / (FINGERPRINT_SAMPLES - 1)
            for index in range(FINGERPRINT_SAMPLES):
                stream.seek(int(index * step))
                digest.update(stream.read(FINGERPRINT_BLOCK))
    return digest.hexdigest()


class DataLoader:
    """Load CSV/Parquet tables with restored dtypes, a Parquet disk cache and a bounded memory cache.

    ``cache_dir=None`` disables the disk cache; ``memory_cache_items=0`` the memory cache.
    ``storage_options`` is accepted for symmetry with fsspec but Azure settings come from ``.env``
    (see :mod:`utils.azure`); pass ``{"block_size": ...}`` to tune remote reads.
    ``stats`` counts ``memory_hits``, ``cache_hits``, ``cache_builds``, ``cache_rebuilds`` and
    ``source_reads``.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike | None = constants.CACHE_DIR,
        *,
        memory_cache_items: int = 8,
        memory_cache_bytes: int = 1 << 30,
        storage_options: Mapping | None = None,
        block_size: int = BLOCK_BYTES,
    ):
        self.memory_cache_items = memory_cache_items
        self.memory_cache_bytes = memory_cache_bytes
        self.storage_options = dict(storage_options or {})
        self.block_size = block_size
        self.stats: Counter = Counter()
        self._memory: OrderedDict[tuple, tuple[pa.Table, list[str], int]] = OrderedDict()
        self.cache_dir = _usable_cache_dir(cache_dir)

    def __repr__(self) -> str:
        return f"DataLoader(cache_dir={self.cache_dir!r}, memory_cache_items={self.memory_cache_items})"

    # --- public API ---------------------------------------------------------------------------------

    def load(
        self,
        path: str | os.PathLike,
        columns: Sequence[str] | None = None,
        *,
        dtypes: Mapping[str, str] | None = None,
        encoding: str = "utf-8",
        fmt: str | None = None,
    ) -> pd.DataFrame:
        """The whole table at ``path`` (only ``columns`` if given) as a DataFrame with restored dtypes.

        ``dtypes`` forces column types (one of ``DTYPES``); ``encoding`` is the CSV's text encoding.
        A folder of Parquet parts (``engagements/part-00000.parquet``...) is read part by part and
        concatenated in partition order.
        """
        parts = storage.part_files(path)
        if parts:
            frames = [self.load(part, columns, dtypes=dtypes, encoding=encoding) for part in parts]
            return pd.concat(frames, ignore_index=True)
        source = describe(path, fmt)
        options = _options(dtypes, encoding)
        memory_key = (source.key, tuple(columns) if columns else None, options)
        if memory_key in self._memory:
            self._memory.move_to_end(memory_key)
            self.stats["memory_hits"] += 1
            table, categories, _ = self._memory[memory_key]
            return _to_pandas(table, categories)  # a new DataFrame: callers cannot change the cache
        cached = self._read_cache(source, options, columns, whole=True)
        if cached is not None:
            table, categories = cached
        else:
            table = self._read_source(source, dtypes, encoding)
            categories = _category_columns(table, dtypes)
            if self.cache_dir is not None and (source.format == "csv" or storage.is_remote(source.path)):
                self._write_cache(source, options, table, categories)
            table = _select(table, columns, source.path)
        self._remember(memory_key, table, categories)
        return _to_pandas(table, categories)

    def iter_chunks(
        self,
        path: str | os.PathLike,
        columns: Sequence[str] | None = None,
        *,
        dtypes: Mapping[str, str] | None = None,
        encoding: str = "utf-8",
        fmt: str | None = None,
    ) -> Iterator[pd.DataFrame]:
        """The table at ``path`` as DataFrames of about ``block_size`` bytes of CSV (or one row group).

        Memory stays bounded by one chunk. A cached copy is iterated when present; otherwise the
        source is streamed (CSV column types are inferred from the first block). Category columns
        hold the categories present in their chunk. A folder of Parquet parts yields its parts' row
        groups in partition order.
        """
        parts = storage.part_files(path)
        if parts:
            for part in parts:
                yield from self.iter_chunks(part, columns, dtypes=dtypes, encoding=encoding)
            return
        source = describe(path, fmt)
        options = _options(dtypes, encoding)
        cached = self._read_cache(source, options, columns, whole=False)
        if cached is not None:
            parquet, categories = cached
            for index in range(parquet.num_row_groups):
                yield _to_pandas(_select(parquet.read_row_group(index), columns, source.path), categories)
            return
        if source.format == "parquet":
            with self._open(source) as stream:
                parquet = pq.ParquetFile(stream)
                for index in range(parquet.num_row_groups):
                    table = _normalise(_select(parquet.read_row_group(index), columns, source.path), dtypes)
                    yield _to_pandas(table, _category_columns(table, dtypes))
            return
        self.stats["source_reads"] += 1
        forced = _forced_types(dtypes)
        categories = None
        try:
            for batch in self._csv_batches(source, forced, encoding):
                table = _select(pa.Table.from_batches([batch]), columns, source.path)
                categories = _category_columns(table, dtypes) if categories is None else categories
                yield _to_pandas(table, categories)
        except _TypeConflict as conflict:
            raise DataLoaderError(
                f"{source.path}: column {conflict.column} has values that do not fit the type of its first "
                f"block; pass dtypes={{{conflict.column!r}: 'string'}} or load() it"
            ) from None

    def clear_memory_cache(self) -> None:
        """Forget every table held in memory."""
        self._memory.clear()

    # --- the disk cache -----------------------------------------------------------------------------

    def _entry(self, source: Source, options) -> Path:
        options_key = hashlib.sha256(repr(options).encode()).hexdigest()[:8]
        return Path(self.cache_dir, f"{source.path_key}-{source.key}-{options_key}.parquet")

    def _read_cache(self, source: Source, options, columns, *, whole: bool):
        """``(table, categories)`` (or ``(ParquetFile, categories)`` when not ``whole``) from the cache.

        An entry that cannot be read back, fails its page checksums or describes another source
        version is logged, deleted and reported as absent, so the caller rebuilds it.
        """
        if self.cache_dir is None:
            return None
        entry = self._entry(source, options)
        if not entry.exists():
            return None
        try:
            parquet = pq.ParquetFile(entry, page_checksum_verification=True)
            meta = json.loads(parquet.schema_arrow.metadata[_METADATA_KEY])
            if meta["source"] != asdict(source):
                raise ValueError("the entry describes another version of the source")
            names = parquet.schema_arrow.names
            table = None
            if whole:
                _select(parquet.schema_arrow.empty_table(), columns, source.path)  # unknown columns
                table = pq.ParquetFile(
                    entry,
                    memory_map=True,
                    read_dictionary=[name for name in meta["categories"] if name in names],
                    page_checksum_verification=True,
                ).read(columns=None if columns is None else list(columns))
        except DataLoaderError:
            raise
        except Exception as error:  # any failure to read back means the entry cannot be trusted
            log.warning(
                "cache entry %s for %s is corrupt (%s); rebuilding", entry.name, source.path, _one_line(error)
            )
            self.stats["cache_rebuilds"] += 1
            entry.unlink(missing_ok=True)
            return None
        self.stats["cache_hits"] += 1
        return (table if whole else parquet), meta["categories"]

    def _write_cache(self, source: Source, options, table: pa.Table, categories: list[str]) -> None:
        """Write the cache entry atomically and drop older entries of the same source."""
        entry = self._entry(source, options)
        meta = json.dumps({"source": asdict(source), "categories": categories}).encode()
        try:
            handle, temporary = tempfile.mkstemp(dir=self.cache_dir, prefix=f".{entry.name}.", suffix=".tmp")
            os.close(handle)
            try:
                pq.write_table(
                    _cache_layout(table, categories).replace_schema_metadata({_METADATA_KEY: meta}),
                    temporary,
                    compression="lz4",
                    use_dictionary=categories,  # plain pages decode fastest for the other columns
                    row_group_size=ROW_GROUP_ROWS,
                    write_page_checksum=True,
                )
                os.replace(temporary, entry)
            finally:
                Path(temporary).unlink(missing_ok=True)
        except OSError as error:
            log.warning("could not write cache entry for %s (%s); continuing", source.path, _one_line(error))
            return
        self.stats["cache_builds"] += 1
        for stale in Path(self.cache_dir).glob(f"{source.path_key}-*.parquet"):
            if stale.name.split("-")[1] != source.key:  # an older version of this source
                stale.unlink(missing_ok=True)

    def _remember(self, key: tuple, table: pa.Table, categories: list[str]) -> None:
        """Keep the (immutable) Arrow table in the LRU memory cache if it fits the bounds."""
        if self.memory_cache_items <= 0 or table.nbytes > self.memory_cache_bytes:
            return
        self._memory[key] = (table, categories, table.nbytes)
        while len(self._memory) > self.memory_cache_items or (
            sum(size for *_, size in self._memory.values()) > self.memory_cache_bytes
        ):
            self._memory.popitem(last=False)

    # --- reading sources ----------------------------------------------------------------------------

    def _open(self, source: Source):
        if storage.is_remote(source.path):
            return azure.open_input(source.path, self.storage_options.get("block_size", self.block_size))
        return open(source.path, "rb")

    def _read_source(self, source: Source, dtypes, encoding: str) -> pa.Table:
        """The whole source as one normalised Arrow table (CSV types widened until every block fits)."""
        self.stats["source_reads"] += 1
        if source.format == "parquet":
            try:
                with self._open(source) as stream:
                    return _normalise(pq.read_table(stream), dtypes)
            except (pa.ArrowException, OSError) as error:
                if isinstance(error, UserError):
                    raise
                raise DataLoaderError(
                    f"{source.path}: not a readable Parquet file ({_one_line(error)})"
                ) from None
        forced = _forced_types(dtypes)
        for _ in range(64):
            try:
                batches = list(self._csv_batches(source, forced, encoding))
            except _TypeConflict as conflict:
                forced[conflict.column] = _wider(conflict.type)
                log.info(
                    "%s: column %s does not fit %s; reading it as %s",
                    source.path,
                    conflict.column,
                    conflict.type,
                    forced[conflict.column],
                )
                continue
            if not batches:  # a header line and no rows: an empty table of text columns
                names = self._csv_header(source, encoding)
                return pa.table({name: pa.array([], forced.get(name, pa.string())) for name in names})
            return pa.Table.from_batches(batches)
        raise DataLoaderError(f"{source.path}: column types keep changing between blocks")

    def _csv_batches(self, source: Source, forced: dict, encoding: str) -> Iterator[pa.RecordBatch]:
        """Normalised record batches of a CSV source, streamed block by block."""
        if source.size == 0:
            raise DataLoaderError(f"{source.path} is empty (0 bytes)")
        names = self._csv_header(source, encoding)
        ids = {name: pa.string() for name in names if _is_id(name) and name not in forced}
        options = {
            "read_options": pacsv.ReadOptions(
                block_size=self.block_size, encoding=_codec(encoding, source.path)
            ),
            "parse_options": pacsv.ParseOptions(newlines_in_values=True),
            "convert_options": pacsv.ConvertOptions(column_types={**ids, **forced}, strings_can_be_null=True),
        }
        with self._open(source) as stream:
            try:
                reader = pacsv.open_csv(stream, **options)
            except pa.ArrowInvalid as error:
                raise _csv_error(source.path, error, names, 0) from None
            done = 0
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as error:
                    raise _csv_error(source.path, error, reader.schema.names, done) from None
                done += batch.num_rows
                yield _normalise_batch(batch)

    def _csv_header(self, source: Source, encoding: str) -> list[str]:
        """The column names on the first line (read from the first MiB)."""
        import codecs
        import csv
        import io

        with self._open(source) as stream:
            head = stream.read(1 << 20)
        try:
            text = codecs.getincrementaldecoder(_codec(encoding, source.path))().decode(head, final=False)
        except UnicodeDecodeError:
            raise _encoding_error(source.path, encoding) from None
        return next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])


class _TypeConflict(Exception):
    def __init__(self, column: str, type_: pa.DataType):
        super().__init__(column)
        self.column, self.type = column, type_


def _csv_error(path: str, error: Exception, names: Sequence[str], rows_done: int) -> Exception:
    """A one-line error for a CSV problem, or a :class:`_TypeConflict` if a block needs a wider type."""
    text = str(error)
    conversion = re.search(r"In CSV column #(\d+): CSV conversion error to (\w+)", text)
    if conversion and "invalid UTF8" not in text and names:
        column = names[int(conversion.group(1))]
        return _TypeConflict(column, _type_named(conversion.group(2)))
    if "invalid UTF8" in text or "UnicodeDecodeError" in text or "codec can't decode" in text:
        return _encoding_error(path, "utf-8")
    if "Empty CSV file" in text:
        return DataLoaderError(f"{path} is empty (no header line)")
    where = f" after row {rows_done}" if rows_done else ""
    return DataLoaderError(f"{path}: malformed or truncated CSV{where}: {_one_line(error)}")


def _encoding_error(path: str, encoding: str) -> DataLoaderError:
    return DataLoaderError(f"{path} is not valid {encoding.upper()} text (wrong encoding? pass encoding=...)")


def _type_named(name: str) -> pa.DataType:
    return {"int64": pa.int64(), "double": pa.float64(), "bool": pa.bool_(), "null": pa.null()}.get(
        name, pa.timestamp("s") if name.startswith("timestamp") else pa.string()
    )


def _wider(type_: pa.DataType) -> pa.DataType:
    """The next type to try for a column whose later values do not fit ``type_``."""
    return pa.float64() if pa.types.is_integer(type_) else pa.string()


def _one_line(error: Exception, limit: int = 160) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _codec(encoding: str, path: str) -> str:
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise DataLoaderError(f"{path}: unknown encoding {encoding!r}") from None
    return "utf8" if name == "utf-8" else name  # pyarrow transcodes anything but its own "utf8"


def _options(dtypes: Mapping[str, str] | None, encoding: str) -> tuple:
    for column, dtype in (dtypes or {}).items():
        if dtype not in DTYPES:
            raise DataLoaderError(f"dtype {dtype!r} for column {column} is not one of {', '.join(DTYPES)}")
    return (tuple(sorted((dtypes or {}).items())), encoding.lower())


def _is_id(name: str) -> bool:
    lowered = name.lower()
    return lowered == "id" or lowered.endswith("_id")


def _is_id_number(field: pa.Field, type_: pa.DataType) -> bool:
    return _is_id(field.name) and pa.types.is_integer(type_)


def _forced_types(dtypes: Mapping[str, str] | None) -> dict[str, pa.DataType]:
    arrow = {
        "string": pa.string(),
        "category": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "datetime": pa.timestamp("ns"),
    }
    return {column: arrow[dtype] for column, dtype in (dtypes or {}).items()}


def _normalise_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    return _normalise(pa.Table.from_batches([batch]), None).to_batches()[0] if batch.num_rows else batch


def _normalise(table: pa.Table, dtypes: Mapping[str, str] | None) -> pa.Table:
    """Dates and timestamps as ``timestamp[ns]``, all-null columns as strings, ids as strings."""
    forced = _forced_types(dtypes)
    for index, field in enumerate(table.schema):
        column, type_ = table.column(index), field.type
        if field.name in forced and type_ != forced[field.name] and not pa.types.is_dictionary(type_):
            target = forced[field.name]
        elif pa.types.is_date(type_) or (pa.types.is_timestamp(type_) and type_.unit != "ns"):
            target = pa.timestamp("ns", tz=getattr(type_, "tz", None))
        elif pa.types.is_null(type_) or _is_id_number(field, type_):
            target = pa.string()
        else:
            continue
        table = table.set_column(index, field.name, column.cast(target))
    return table


def _category_columns(table: pa.Table, dtypes: Mapping[str, str] | None) -> list[str]:
    """Text columns that become ``category``: forced ones, and low-cardinality non-id text."""
    forced = dict(dtypes or {})
    chosen = []
    for field in table.schema:
        wanted = forced.get(field.name)
        if wanted == "category" or pa.types.is_dictionary(field.type):
            chosen.append(field.name)
            continue
        if wanted or _is_id(field.name) or not _is_text(field.type):
            continue
        column = table.column(field.name)
        present = len(column) - column.null_count
        distinct = pc.count_distinct(column).as_py()
        if present and distinct <= CATEGORY_MAX_UNIQUE and distinct <= CATEGORY_MAX_RATIO * present:
            chosen.append(field.name)
    return chosen


def _select(table: pa.Table, columns: Sequence[str] | None, path: str) -> pa.Table:
    if columns is None:
        return table
    missing = [column for column in columns if column not in table.column_names]
    if missing:
        raise DataLoaderError(f"{path} has no column(s) {', '.join(missing)}")
    return table.select(list(columns))


def _is_text(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_)


def _cache_layout(table: pa.Table, categories: Sequence[str]) -> pa.Table:
    """The table as cached: categories as one sorted dictionary, other text as ``large_string``.

    Both are what :func:`_to_pandas` needs, so a warm load converts nothing: every row group reads
    back with the same sorted dictionary, and pandas' Arrow strings are ``large_string`` inside.
    """
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if field.name in categories and _is_text(field.type):
            values = pc.unique(column).drop_null().sort()
            codes = pc.index_in(column.combine_chunks(), value_set=values).cast(pa.int32())
            table = table.set_column(index, field.name, pa.DictionaryArray.from_arrays(codes, values))
        elif pa.types.is_string(field.type):  # large_string already is
            table = table.set_column(index, field.name, column.cast(pa.large_string()))
    return table


def _to_pandas(table: pa.Table, categories: Sequence[str]) -> pd.DataFrame:
    """A DataFrame with Arrow-backed strings, sorted categories, nanosecond datetimes."""
    for name in categories:
        if name in table.column_names and not pa.types.is_dictionary(table.schema.field(name).type):
            index = table.column_names.index(name)
            table = table.set_column(index, name, pc.dictionary_encode(table.column(index)))
    frame = table.to_pandas(
        types_mapper={pa.string(): _STRING, pa.large_string(): _STRING}.get, ignore_metadata=True
    )
    for name in categories:
        if name in frame and isinstance(frame[name].dtype, pd.CategoricalDtype):
            values = frame[name].cat.categories
            if not values.is_monotonic_increasing:
                frame[name] = frame[name].cat.reorder_categories(sorted(values))
    return frame


def _usable_cache_dir(cache_dir: str | os.PathLike | None) -> str | None:
    """``cache_dir`` if it can be created and written, else None with a warning."""
    if cache_dir is None:
        return None
    text = str(cache_dir)
    if storage.is_remote(text):
        log.warning("cache folder %s is remote; the cache must be local, loading without a cache", text)
        return None
    try:
        Path(text).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=text, prefix=".write-check-"):
            pass
    except OSError as error:
        log.warning("cache folder %s is not writable (%s); loading without a cache", text, _one_line(error))
        return None
    return text
