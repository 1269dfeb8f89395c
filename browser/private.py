"""Files and folders only their owner may read: the bridge's data holds secrets.

The data directory holds the Chrome profile (the ChatGPT session cookies), the SQLite file
(which Slack thread asked what), the generated API key and page diagnostics. Every one of
them is created through these helpers, so "private" means the same thing everywhere: 0700
folders, 0600 files, set at creation (no window in which another user could open them) and
set again when the path already existed with looser bits. Blocking: call from a thread.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """`path` (and its parents) created if needed, readable by the owner only."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """An existing or empty file in a private folder, readable by the owner only."""
    private_dir(path.parent)
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)
    return path


def write_private(path: Path, content: str | bytes, *, exclusive: bool = False) -> Path:
    """Write text (UTF-8) or bytes to a private file; `exclusive` refuses to replace one."""
    private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    data = content.encode("utf-8") if isinstance(content, str) else content
    with os.fdopen(os.open(path, flags, 0o600), "wb") as file:
        file.write(data)
    os.chmod(path, 0o600)
    return path
