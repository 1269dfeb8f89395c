"""Stored responses (`store: true`, the default): retrieve, list input items, delete, continue.

One row per response in the bridge's SQLite file: the last snapshot of the Response object,
its input items as `input_items` lists them, its transcript: the chat messages the
response saw plus its own answer, which a later `previous_response_id` puts in front of its
input (the pipeline then continues the same ChatGPT chat), and, once it ended, its stream
events (which `GET ...?stream=true` replays), in a table of their own. Rows live as long as OpenAI
keeps responses, 30 days. A response still being written when the bridge stopped can never
finish: at start-up it is marked failed, saying where the answer may be.
"""

from __future__ import annotations

import json
import time
from typing import Any

from app.api.responses_api.items import ChatMessage
from app.db import Database

LIFETIME = 30 * 24 * 3600.0
"""Seconds a stored response can be retrieved or continued."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_responses (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    input_items TEXT NOT NULL,
    transcript TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_response_events (
    id TEXT PRIMARY KEY,
    events TEXT NOT NULL
);
"""
_UNFINISHED = ("queued", "in_progress")
_INTERRUPTED = {
    "code": "server_error",
    "message": "The bridge stopped while this response was being written. The question may "
    "have reached ChatGPT: see the chat in your ChatGPT history before asking again.",
}


class ResponseStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        """Create the table and close the responses a previous run left unfinished."""
        await self._db.create_tables(_SCHEMA)
        rows = await self._db.fetch_all(
            "SELECT id, body FROM api_responses WHERE status IN (?, ?)", _UNFINISHED
        )
        for row in rows:
            body = {**json.loads(row["body"]), "status": "failed", "error": _INTERRUPTED}
            await self._db.write(
                "UPDATE api_responses SET status = 'failed', body = ? WHERE id = ?",
                (json.dumps(body), row["id"]),
            )

    async def save(
        self,
        body: dict[str, Any],
        items: list[dict[str, Any]],
        transcript: list[ChatMessage],
        events: list[dict[str, Any]] | None = None,
    ) -> None:
        """Keep the response as it is now; `events`: all of them, once it ended."""
        now = time.time()
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT OR REPLACE INTO api_responses"
                " (id, created, status, body, input_items, transcript) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    body["id"],
                    body["created_at"],
                    body["status"],
                    json.dumps(body, ensure_ascii=False),
                    json.dumps(items, ensure_ascii=False),
                    json.dumps(transcript, ensure_ascii=False),
                ),
            )
            if events is not None:
                await connection.execute(
                    "INSERT OR REPLACE INTO api_response_events (id, events) VALUES (?, ?)",
                    (body["id"], json.dumps(events, ensure_ascii=False)),
                )
            await connection.execute(
                "DELETE FROM api_responses WHERE created < ?", (now - LIFETIME,)
            )
            await connection.execute(
                "DELETE FROM api_response_events WHERE id NOT IN (SELECT id FROM api_responses)"
            )

    async def body(self, response_id: str) -> dict[str, Any] | None:
        return await self._column(response_id, "body")

    async def input_items(self, response_id: str) -> list[dict[str, Any]] | None:
        return await self._column(response_id, "input_items")

    async def transcript(self, response_id: str) -> list[ChatMessage] | None:
        return await self._column(response_id, "transcript")

    async def events(self, response_id: str) -> list[dict[str, Any]] | None:
        """The events of an ended response, in order; None when they were not kept."""
        row = await self._db.fetch_one(
            "SELECT events FROM api_response_events WHERE id = ?", (response_id,)
        )
        return None if row is None else json.loads(row[0])

    async def delete(self, response_id: str) -> bool:
        async with self._db.transaction() as connection:
            await connection.execute("DELETE FROM api_response_events WHERE id = ?", (response_id,))
            cursor = await connection.execute(
                "DELETE FROM api_responses WHERE id = ?", (response_id,)
            )
        return cursor.rowcount > 0

    async def _column(self, response_id: str, column: str) -> Any:
        row = await self._db.fetch_one(
            f"SELECT {column} FROM api_responses WHERE id = ?",  # `column` is one of ours
            (response_id,),
        )
        return None if row is None else json.loads(row[0])
