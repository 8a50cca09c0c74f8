"""Where outputs live: local folders or ``az://container/prefix`` URLs (Azure Blob via fsspec + adlfs).

Every write is atomic: locally the bytes go to a temporary sibling first and are renamed into place;
on Azure one blob upload commits whole or not at all. So a failed or interrupted run never leaves a
half-written file behind. Scripts call only the functions here, never ``open``/``to_csv`` on output
paths directly. Azure settings (``.env``) and error translation live in :mod:`utils.azure`.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pandas as pd

from utils.core import azure, schema
from utils.core.cli import UserError

TABLE_FORMATS = schema.TABLE_FORMATS


def is_remote(path: str | os.PathLike) -> bool:
    """True for a URL with a scheme such as ``az://``; False for a local path."""
    return "://" in str(path)


def join(base: str | os.PathLike, *names: str) -> str:
    """Join a folder (local path or URL) and file names with ``/``."""
    text = str(base)
    if not is_remote(text):
        return str(Path(text, *names))
    return "/".join([text.rstrip("/"), *names])


def ensure_dir(path: str | os.PathLike) -> str:
    """Create an output folder if needed and check it is writable; return it as a string.

    For ``az://`` this checks the credentials and creates the container, so a wrong key fails
    before any work is done.
    """
    text = str(path)
    if is_remote(text):
        return azure.check_access(text)
    folder = Path(text)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as error:
        raise UserError(f"output folder {text} is not writable: {error.strerror or error}") from None
    return text


def write_bytes(data: bytes, path: str | os.PathLike) -> str:
    """Write ``data`` to ``path`` atomically (temporary sibling, then rename)."""
    text = str(path)
    if is_remote(text):
        return azure.write_bytes(data, text)
    target = Path(text)
    ensure_dir(target.parent)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a finished file gets the usual mode
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return text


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(text: str, path: str | os.PathLike) -> str:
    """Write a UTF-8 text file atomically."""
    return write_bytes(text.encode("utf-8"), path)


def table_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The table format for ``path``: ``fmt`` if given, else from the file suffix."""
    fmt = fmt or Path(str(path)).suffix.lstrip(".").lower()
    if fmt not in TABLE_FORMATS:
        raise UserError(f"unknown table format {fmt!r} for {path}: choose csv or parquet")
    return fmt


def table_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """Serialise a DataFrame deterministically (same frame, same bytes) as CSV or Parquet."""
    buffer = io.BytesIO()
    if fmt == "csv":
        buffer.write(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    else:
        frame.to_parquet(buffer, index=False, engine="pyarrow", compression="snappy")
    return buffer.getvalue()


def write_table(frame: pd.DataFrame, path: str | os.PathLike, fmt: str | None = None) -> str:
    """Write ``frame`` to ``path`` atomically as CSV or Parquet (by ``fmt`` or the suffix)."""
    return write_bytes(table_bytes(frame, table_format(path, fmt)), path)


def read_table(path: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """Read a CSV or Parquet table written by :func:`write_table` (local or ``az://``)."""
    text = str(path)
    fmt = table_format(text)
    if not is_remote(text) and not Path(text).exists():
        raise UserError(f"{text} does not exist")
    source = io.BytesIO(read_bytes(text)) if is_remote(text) else text
    if fmt == "csv":
        return pd.read_csv(source, **kwargs)
    return pd.read_parquet(source, **kwargs)


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a local file or an ``az://`` blob; a UserError if it does not exist."""
    text = str(path)
    if is_remote(text):
        return azure.read_bytes(text)
    try:
        return Path(text).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{text} does not exist") from None


def exists(path: str | os.PathLike) -> bool:
    """True if a local path or an ``az://`` blob exists."""
    text = str(path)
    return azure.exists(text) if is_remote(text) else Path(text).exists()


def list_names(folder: str | os.PathLike) -> list[str]:
    """Names of the entries of a local folder or an ``az://`` prefix (empty if it does not exist)."""
    text = str(folder)
    if is_remote(text):
        return azure.list_names(text)
    return sorted(os.listdir(text)) if os.path.isdir(text) else []


def part_files(folder: str | os.PathLike) -> list[str]:
    """The Parquet part files of a partitioned table's folder (``part-00000.parquet``...), in
    partition order; empty when ``folder`` is a file or holds none."""
    text = str(folder)
    if text.endswith(tuple(f".{fmt}" for fmt in TABLE_FORMATS)):
        return []
    names = [name for name in list_names(text) if name.startswith("part-") and name.endswith(".parquet")]
    return [join(text, name) for name in sorted(names)]


def filesystem(path: str | os.PathLike):
    """The fsspec filesystem for ``path``: adlfs (configured from ``.env``) for ``az://``, else local."""
    if is_remote(path):
        azure.split_url(str(path))
        return azure.filesystem()
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem()


def remove(path: str | os.PathLike) -> None:
    """Delete a file or blob (nothing if it does not exist)."""
    text = str(path)
    if is_remote(text):
        azure.remove(text)
    else:
        Path(text).unlink(missing_ok=True)


def list_files(folder: str | os.PathLike) -> list[str]:
    """Every file under ``folder`` (recursively), as ``/``-separated paths relative to it, sorted."""
    text = str(folder)
    if is_remote(text):
        return azure.list_files(text)
    root = Path(text)
    if not root.is_dir():
        return []
    files = (path for path in root.rglob("*") if path.is_file())
    return sorted(str(path.relative_to(root)).replace(os.sep, "/") for path in files)


def move(source: str | os.PathLike, target: str | os.PathLike) -> str:
    """Move a file into place: an atomic rename locally, copy then delete on Azure (one blob commit)."""
    source, target = str(source), str(target)
    if is_remote(target):
        write_bytes(read_bytes(source), target)
        remove(source)
        return target
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return target


def remove_tree(folder: str | os.PathLike) -> None:
    """Delete a folder and everything under it (local or an ``az://`` prefix)."""
    text = str(folder)
    if is_remote(text):
        for name in list_files(text):
            remove(join(text, *name.split("/")))
        return
    import shutil

    shutil.rmtree(text, ignore_errors=True)


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's or blob's bytes (hex)."""
    import hashlib

    text = str(path)
    digest = hashlib.sha256()
    if is_remote(text):
        digest.update(read_bytes(text))
        return digest.hexdigest()
    with open(text, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
