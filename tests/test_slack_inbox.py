"""The inbox's group commit: a burst of envelopes stored by one statement, kept in order.

A burst is committed as one multi-row INSERT whose ids come back through RETURNING, in no
set order; each envelope must still be paired with its own row (dispatched in arrival
order, its row deleted after its listeners ran), or a crash would replay the wrong one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.db import open_database
from slackbot.inbox import Inbox


async def test_a_burst_is_dispatched_in_arrival_order_each_with_its_own_row(
    tmp_path: Path,
) -> None:
    bodies = [f'{{"n": {n}}}' for n in range(30)]
    left: list[list[str]] = []
    dispatched = asyncio.Event()
    async with open_database(tmp_path / "bridge.db") as db:
        inbox = Inbox(db)

        async def handler(body: str) -> None:
            # What is still stored when this one runs: itself and every later one.
            rows = await db.fetch_all("SELECT body FROM slack_inbox ORDER BY id")
            left.append([str(row[0]) for row in rows])
            if len(left) == len(bodies):
                dispatched.set()

        await inbox.start(handler)
        try:
            await asyncio.gather(*(inbox.put(body) for body in bodies))
            await asyncio.wait_for(dispatched.wait(), 30)
        finally:
            await inbox.close()
        assert left == [bodies[n:] for n in range(len(bodies))]
