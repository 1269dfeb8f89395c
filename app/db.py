"""The bridge's one SQLite file: opened here, its tables owned by the layers that use them.

Each layer creates its own tables with `create_tables` on the `Database` it is handed
(`slackbot/store.py`, `app/api/conversations.py`), so this module only knows how to open the
file safely: private permissions (it maps Slack threads to ChatGPT conversations), WAL so
readers never block the writer, a busy timeout so a second process waits instead of failing
at once, and one unit of work at a time on the shared connection.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from browser.private import private_file

logger = logging.getLogger(__name__)

Parameters = Iterable[Any]

LOCK_TIMEOUT = 10.0
"""Seconds a write waits for another program's lock before the bridge gives up."""


class DatabaseError(RuntimeError):
    """The database file cannot be used; the message says which file and what to do."""


class Database:
    """The shared connection, with every write grouped into a transaction of its own.

    The API and the Slack layer share one connection, and a connection has one transaction:
    without the lock, a commit issued by one layer at any `await` would commit the other's
    half-done writes, or fail with "cannot commit transaction - SQL statements in progress"
    while the other's statement is still being read.
    """

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()

    async def fetch_all(self, sql: str, parameters: Parameters = ()) -> list[sqlite3.Row]:
        """Rows of one query, read in a single step so no statement stays open."""
        async with self._lock:
            return list(await self._connection.execute_fetchall(sql, tuple(parameters)))

    async def fetch_one(self, sql: str, parameters: Parameters = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for one unit of work, committed together or rolled back together."""
        async with self._lock:
            try:
                yield self._connection
            except BaseException:
                await self._connection.rollback()
                raise
            await self._connection.commit()

    async def create_tables(self, schema: str) -> None:
        """Run a layer's `CREATE ... IF NOT EXISTS` script: the one way tables are made."""
        async with self.transaction() as connection:
            await connection.executescript(schema)

    async def write(self, sql: str, parameters: Parameters = ()) -> aiosqlite.Cursor:
        """One statement in a transaction of its own; the cursor tells rowcount/lastrowid."""
        async with self.transaction() as connection:
            cursor = await connection.execute(sql, tuple(parameters))
            await cursor.close()
            return cursor


def _unusable(path: Path, reason: str) -> DatabaseError:
    return DatabaseError(
        f"Cannot use the database {path}: {reason}. Check that the file and its folder are "
        "writable and that no other program holds it locked (another `chatgpt-bridge serve`?)."
    )


async def _prove_writable(connection: aiosqlite.Connection) -> None:
    """A real write now, so a locked or read-only file fails at startup, not at a Slack event."""
    await connection.execute("PRAGMA journal_mode=WAL")
    await connection.execute("PRAGMA synchronous=NORMAL")
    await connection.execute("CREATE TABLE IF NOT EXISTS bridge_meta (k TEXT PRIMARY KEY, v)")
    await connection.execute(
        "INSERT OR REPLACE INTO bridge_meta (k, v) VALUES ('last_start', ?)", (time.time(),)
    )
    await connection.commit()


@asynccontextmanager
async def open_database(path: Path) -> AsyncIterator[Database]:
    try:
        await asyncio.to_thread(private_file, path)
    except OSError as error:
        raise _unusable(path, error.strerror or str(error)) from error
    try:
        connection = await aiosqlite.connect(path, timeout=LOCK_TIMEOUT)
        try:
            await _prove_writable(connection)
        except BaseException:
            await connection.close()
            raise
    except sqlite3.Error as error:
        raise _unusable(path, str(error)) from error
    connection.row_factory = aiosqlite.Row
    logger.debug("database open at %s", path)
    try:
        yield Database(connection)
    finally:
        await connection.close()
