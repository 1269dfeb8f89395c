"""One meaning of "private" for everything in the data directory: 0700 folders, 0600 files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from browser.private import private_dir, private_file, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_loose_bits_left_by_someone_else_are_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    (folder / "bridge.sqlite3").write_text("")
    (folder / "bridge.sqlite3").chmod(0o644)
    assert mode(private_dir(folder)) == 0o700
    assert mode(private_file(folder / "bridge.sqlite3")) == 0o600


def test_written_files_are_private_from_the_start(tmp_path: Path) -> None:
    key = write_private(tmp_path / "new" / "api-key", "cgb-secret\n", exclusive=True)
    assert key.read_text() == "cgb-secret\n"
    assert mode(key) == 0o600 and mode(key.parent) == 0o700
    with pytest.raises(FileExistsError):
        write_private(key, "another", exclusive=True)
    assert write_private(key, "replaced").read_text() == "replaced"
