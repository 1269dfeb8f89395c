"""Store, then ack: Slack's events reach SQLite before Slack hears "got it", nothing more.

Slack expects an HTTP event acknowledged within 3 seconds and retries (then disables the
subscription of an app that is often late). Running bolt's listeners before the ack costs a
few milliseconds per event, and events that arrive together wait for one another, so a burst
of fifty took a quarter of a second each. Instead the raw envelope is written to
`slack_inbox` and acknowledged; bolt dispatches it afterwards, one event at a time in arrival
order (which keeps a thread's questions in order). Envelopes that arrive together share one
commit (a group commit), so a burst costs one fsync, not fifty, and acks go first: dispatch
waits while any envelope is still being stored, since its listeners' SQLite writes and CPU
would otherwise sit between a waiting request and its ack.

An envelope leaves the inbox only after its listeners ran: a crash in between replays it at
the next start, and the listeners' own duplicate check (`slack_seen`) makes the replay of an
already accepted question harmless. Nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from slackbot import phases
from slackbot.database import Database

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slack_inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    received_at REAL NOT NULL
);
"""

Handler = Callable[[str], Awaitable[None]]
BATCH = 200
"""Envelopes committed by one statement at most (two SQL parameters each, well under
SQLite's limit of 32766)."""
QUIET_FOR = 0.01
"""Seconds without a new envelope before dispatch resumes: requests of a burst that are still
being read off their sockets would otherwise wait behind a dispatch."""


class Inbox:
    """The durable queue between the HTTP route and bolt's dispatch."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: list[tuple[str, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._ready: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._storing = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    async def start(self, handler: Handler) -> None:
        """Replay what a previous run stored and did not dispatch, then dispatch new ones."""
        await self._db.create_tables(_SCHEMA)
        rows = await self._db.fetch_all("SELECT id, body FROM slack_inbox ORDER BY id")
        if rows:
            logger.info("replaying %d Slack event(s) received before the restart", len(rows))
        for row in rows:
            self._ready.put_nowait((int(row[0]), str(row[1])))
        self._worker = asyncio.create_task(self._dispatch(handler), name="slack-inbox")

    async def close(self) -> None:
        for task in (self._worker, self._flushing):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

    async def put(self, body: str) -> None:
        """Return once `body` is committed (together with whatever arrived alongside it)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((body, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="slack-inbox-commit")
        self._storing += 1
        self._quiet.clear()
        try:
            await done
        finally:
            self._storing -= 1
            if not self._storing:
                self._quiet.set()

    async def _flush(self) -> None:
        while self._waiting:
            # Let the requests already read off the socket join this commit.
            await asyncio.sleep(0)
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            now = time.time()
            try:
                # One statement for the whole batch: each statement is a hop to SQLite's
                # thread and back, which a burst would otherwise pay once per envelope.
                async with self._db.transaction() as connection:
                    rows = await connection.execute_fetchall(
                        "INSERT INTO slack_inbox (body, received_at) VALUES "
                        + ", ".join("(?, ?)" for _ in batch)
                        + " RETURNING id",
                        [value for body, _ in batch for value in (body, now)],
                    )
                # RETURNING lists the rows in no set order; AUTOINCREMENT numbers them in
                # the order of VALUES.
                ids = sorted(int(row[0]) for row in rows)
            except Exception as error:  # the requests answer 500 and Slack retries them
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            phases.reached(phases.STORED)
            for (body, done), row_id in zip(batch, ids, strict=True):
                self._ready.put_nowait((row_id, body))
                if not done.done():
                    done.set_result(None)

    async def _settled(self) -> None:
        """Wait until no envelope has been stored for QUIET_FOR: a burst is acked first."""
        while True:
            await self._quiet.wait()
            await asyncio.sleep(QUIET_FOR)
            if self._quiet.is_set():
                return

    async def _dispatch(self, handler: Handler) -> None:
        while True:
            row_id, body = await self._ready.get()
            await self._settled()
            phases.reached(phases.DISPATCHED)
            try:
                await handler(body)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("a stored Slack event could not be handled; it is dropped")
            await self._db.write("DELETE FROM slack_inbox WHERE id = ?", (row_id,))
