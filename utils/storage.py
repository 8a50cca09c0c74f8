"""Where outputs live: local folders today, ``az://container/prefix`` URLs through fsspec.

Every write is atomic: the bytes go to a temporary sibling first and are renamed into place, so a
failed or interrupted run never leaves a half-written file behind. Scripts call only the functions
here, never ``open``/``to_csv`` on output paths directly.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pandas as pd

from utils.cli import UserError

TABLE_FORMATS = ("csv", "parquet")


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
    """Create a local output folder if needed and check it is writable; return it as a string."""
    text = str(path)
    if is_remote(text):
        return text
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
        raise UserError(f"remote storage is not configured for {text}")
    target = Path(text)
    ensure_dir(target.parent)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return text


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
    """Read a CSV or Parquet table written by :func:`write_table`."""
    text = str(path)
    if not is_remote(text) and not Path(text).exists():
        raise UserError(f"{text} does not exist")
    if table_format(text) == "csv":
        return pd.read_csv(text, **kwargs)
    return pd.read_parquet(text, **kwargs)
