"""The bridge's one SQLite file: opened here, its tables owned by the layers that use them.

Each layer creates its own tables on the connection it is handed (`slackbot/store.py`,
`app/conversations.py`), so this module only knows how to open the file safely: private
permissions (it maps Slack threads to ChatGPT conversations), WAL so readers never block the
writer, and a busy timeout so a second process waits instead of failing at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

logger = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The database file cannot be used; the message says which file and what to do."""


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) readable by the owner only: it holds cookies and history."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _prepare_private_file(path: Path) -> None:
    ensure_private_dir(path.parent)
    path.touch(mode=0o600, exist_ok=True)


@asynccontextmanager
async def open_database(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    await asyncio.to_thread(_prepare_private_file, path)
    try:
        connection = await aiosqlite.connect(path, timeout=10)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA synchronous=NORMAL")
            # A throwaway write proves now, not at the first Slack event, that we can write.
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS bridge_meta (k TEXT PRIMARY KEY, v)"
            )
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
    except sqlite3.OperationalError as error:
        raise DatabaseError(
            f"Cannot use the database {path}: {error}. Check that the file is writable and "
            "that no other program holds it locked (another `chatgpt-bridge serve`?)."
        ) from error
    connection.row_factory = aiosqlite.Row
    logger.debug("database open at %s", path)
    try:
        yield connection
    finally:
        await connection.close()
