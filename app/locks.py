"""One bridge per profile: an exclusive lock on a file in the data directory.

Two browsers on one Chrome profile corrupt it, and two `chatgpt-bridge mcp` processes
started together by two agents would each start a bridge. An OS file lock (`flock`, or
`msvcrt.locking` on Windows) is released by the OS when its process ends, however it ends,
so a crash never leaves a stale lock behind. Blocking: call from a thread.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO

from browser.private import private_file

SERVE_LOCK = "serve.lock"
"""Held by the serving bridge for as long as it runs."""
LAUNCH_LOCK = "launch.lock"
"""Held by a `chatgpt-bridge mcp` while it looks for a bridge and starts one."""


def try_lock(path: Path) -> IO[bytes] | None:
    """The open, locked file (keep it open to hold the lock), or None if another holds it."""
    file = open(private_file(path), "r+b")  # noqa: SIM115 (the caller keeps it open)
    try:
        _lock(file)
    except OSError:
        file.close()
        return None
    return file


def wait_lock(path: Path, poll: float = 0.2) -> IO[bytes]:
    """The locked file, waiting as long as another process holds it."""
    while (file := try_lock(path)) is None:
        time.sleep(poll)
    return file


if sys.platform == "win32":
    import msvcrt

    def _lock(file: IO[bytes]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(file: IO[bytes]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
