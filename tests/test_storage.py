"""Atomic local writes: a failed write leaves nothing behind, an unwritable folder is a user error."""

import os

import pandas as pd
import pytest

from utils.core import storage
from utils.core.cli import UserError


def test_write_table_round_trip_and_no_temporary_left(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    for name in ("t.csv", "t.parquet"):
        path = storage.write_table(frame, tmp_path / name)
        pd.testing.assert_frame_equal(storage.read_table(path), frame)
    assert sorted(os.listdir(tmp_path)) == ["t.csv", "t.parquet"]


def test_failed_serialisation_leaves_no_file(tmp_path):

    with pytest.raises(TypeError):
        storage.write_bytes(object(), tmp_path / "x.csv")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


def test_unwritable_folder_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match="not writable"):
        storage.ensure_dir(blocker / "sub")


def test_unknown_format_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="unknown table format"):
        storage.write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.xlsx")


def test_written_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        path = storage.write_text("x", tmp_path / "report.json")
    finally:
        os.umask(previous)
    assert os.stat(path).st_mode & 0o777 == 0o644
