"""What the Slack layer needs of the bridge's database (it never imports `app/`).

The composition root owns the SQLite file and hands the same `app.db.Database` to every
layer; this Protocol is the part of it the Slack tables use, so that `slackbot/` depends on a
shape it declares rather than on the layer above it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import aiosqlite


class Database(Protocol):
    async def fetch_all(self, sql: str, parameters: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one query, read in a single step."""

    async def fetch_one(self, sql: str, parameters: Iterable[Any] = ()) -> sqlite3.Row | None:
        """The first row of one query, or None."""

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        """The connection for one unit of work, committed or rolled back together."""

    async def write(self, sql: str, parameters: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """One statement in a transaction of its own."""

    async def create_tables(self, schema: str) -> None:
        """Run a `CREATE ... IF NOT EXISTS` script."""
