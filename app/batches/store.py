"""The batches and their lines in the bridge's SQLite file: a durable queue.

The same discipline as Slack's jobs (`slackbot/store.py`): every line is stored before any
work starts and its state is written before the step it names, so a restart is honest:
- `queued`: never handed to ChatGPT: asked after a restart;
- `sending`: set in the bridge's `on_send` hook, just before typing: it may sit in ChatGPT
  already, so a restart never asks it again (it ends as a "delivery uncertain" error line);
- `succeeded` / `failed`: the line's output or error line is stored with it.
A batch's own status follows OpenAI's (`in_progress`, `cancelling`, `finalizing`, then
`completed`, `cancelled`, `expired` or `failed`); its output files are written at the end.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from app.db import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    endpoint TEXT NOT NULL,
    input_file_id TEXT NOT NULL,
    completion_window TEXT NOT NULL,
    status TEXT NOT NULL,
    metadata TEXT,
    errors TEXT,
    output_file_id TEXT,
    error_file_id TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    in_progress_at INTEGER,
    finalizing_at INTEGER,
    completed_at INTEGER,
    failed_at INTEGER,
    expired_at INTEGER,
    cancelling_at INTEGER,
    cancelled_at INTEGER
);
CREATE TABLE IF NOT EXISTS batch_lines (
    batch_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    custom_id TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (batch_id, line)
);
CREATE INDEX IF NOT EXISTS batch_lines_open ON batch_lines (state)
    WHERE state IN ('queued', 'sending');
"""

_TIMES = (
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)
_BATCH_COLUMNS = (
    "id, endpoint, input_file_id, completion_window, status, metadata, errors, "
    "output_file_id, error_file_id, created_at, expires_at, " + ", ".join(_TIMES)
)
ACTIVE = ("in_progress", "cancelling", "finalizing")
"""Statuses of a batch that is not over: resumed after a restart."""
_STATUS_TIME = {
    "in_progress": "in_progress_at",
    "finalizing": "finalizing_at",
    "completed": "completed_at",
    "failed": "failed_at",
    "expired": "expired_at",
    "cancelling": "cancelling_at",
    "cancelled": "cancelled_at",
}


class LineState(str, Enum):
    QUEUED = "queued"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Line:
    batch_id: str
    line: int
    """1-based, as the input file numbers it (and OpenAI's `errors[].line`)."""
    custom_id: str
    body: str
    """The request body as the input file had it (JSON text)."""
    endpoint: str


@dataclass(frozen=True)
class Counts:
    total: int
    completed: int
    failed: int
    open: int
    """Lines not done yet (queued or being asked)."""


@dataclass(frozen=True)
class BatchRecord:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    status: str
    metadata: dict[str, str] | None
    errors: list[dict[str, Any]] | None
    output_file_id: str | None
    error_file_id: str | None
    created_at: int
    expires_at: int
    times: dict[str, int]
    """The `*_at` timestamps reached so far."""
    counts: Counts

    def as_openai(self) -> dict[str, Any]:
        """OpenAI's `Batch` object; fields that do not apply (yet) are left out."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "metadata": self.metadata,
            "request_counts": {
                "total": self.counts.total,
                "completed": self.counts.completed,
                "failed": self.counts.failed,
            },
            **self.times,
        }
        if self.output_file_id:
            body["output_file_id"] = self.output_file_id
        if self.error_file_id:
            body["error_file_id"] = self.error_file_id
        if self.errors:
            body["errors"] = {"object": "list", "data": self.errors}
        return body


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


class BatchStore:
    """Typed access to the batch tables; every write commits at once (see the docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.create_tables(_SCHEMA)

    async def create(
        self,
        batch_id: str,
        *,
        endpoint: str,
        input_file_id: str,
        completion_window: str,
        window_seconds: int,
        metadata: dict[str, str] | None,
        lines: list[tuple[str, str]],
        errors: list[dict[str, Any]],
    ) -> None:
        """Store a batch and its lines (custom_id, body) in one transaction.

        With `errors` (the input failed validation) it is stored `failed` and has no lines.
        """
        now = int(time.time())
        status = "failed" if errors else "in_progress"
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT INTO batches (id, endpoint, input_file_id, completion_window, status,"
                f" metadata, errors, created_at, expires_at, {_STATUS_TIME[status]})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    batch_id,
                    endpoint,
                    input_file_id,
                    completion_window,
                    status,
                    _json(metadata),
                    _json(errors or None),
                    now,
                    now + window_seconds,
                    now,
                ),
            )
            if not errors:
                await connection.executemany(
                    "INSERT INTO batch_lines (batch_id, line, custom_id, body, state, updated_at)"
                    " VALUES (?, ?, ?, ?, 'queued', ?)",
                    [
                        (batch_id, number, custom_id, body, time.time())
                        for number, (custom_id, body) in enumerate(lines, start=1)
                    ],
                )

    async def get(self, batch_id: str) -> BatchRecord | None:
        rows = await self._db.fetch_all(
            f"SELECT {_BATCH_COLUMNS} FROM batches WHERE id = ?", (batch_id,)
        )
        return (await self._records(rows))[0] if rows else None

    async def list(self, *, after: str | None, limit: int) -> list[BatchRecord]:
        """Newest first; `after` is the last id already seen."""
        where, parameters = "", []
        if after is not None:
            where = "WHERE seq < (SELECT seq FROM batches WHERE id = ?)"
            parameters.append(after)
        rows = await self._db.fetch_all(
            f"SELECT {_BATCH_COLUMNS} FROM batches {where} ORDER BY seq DESC LIMIT ?",
            (*parameters, limit),
        )
        return await self._records(rows)

    async def active(self) -> list[BatchRecord]:
        """Batches not over yet, oldest first."""
        placeholders = ", ".join("?" for _ in ACTIVE)
        rows = await self._db.fetch_all(
            f"SELECT {_BATCH_COLUMNS} FROM batches WHERE status IN ({placeholders}) ORDER BY seq",
            ACTIVE,
        )
        return await self._records(rows)

    async def set_status(self, batch_id: str, status: str, *, only_from: tuple[str, ...]) -> bool:
        """Move a batch to `status` (stamping its time) if it is in one of `only_from`."""
        placeholders = ", ".join("?" for _ in only_from)
        cursor = await self._db.write(
            f"UPDATE batches SET status = ?, {_STATUS_TIME[status]} = ?"
            f" WHERE id = ? AND status IN ({placeholders})",
            (status, int(time.time()), batch_id, *only_from),
        )
        return cursor.rowcount == 1

    async def finish(
        self, batch_id: str, status: str, output_file_id: str | None, error_file_id: str | None
    ) -> None:
        await self._db.write(
            f"UPDATE batches SET status = ?, {_STATUS_TIME[status]} = ?, output_file_id = ?,"
            " error_file_id = ? WHERE id = ?",
            (status, int(time.time()), output_file_id, error_file_id, batch_id),
        )

    async def next_line(self) -> Line | None:
        """The oldest queued line of a batch in progress."""
        row = await self._db.fetch_one(
            "SELECT l.batch_id, l.line, l.custom_id, l.body, b.endpoint FROM batch_lines l"
            " JOIN batches b ON b.id = l.batch_id"
            " WHERE l.state = 'queued' AND b.status = 'in_progress' ORDER BY b.seq, l.line LIMIT 1"
        )
        return Line(*tuple(row)) if row else None

    async def mark_sending(self, line: Line) -> bool:
        """`queued` -> `sending`, durable before anything is typed; False if it is no longer
        queued (its batch was cancelled while it waited for a tab)."""
        return await self._move(line, LineState.QUEUED, LineState.SENDING)

    async def requeue(self, line: Line) -> None:
        """Back in line: ChatGPT surely never got it (refused before the send)."""
        await self._move(line, LineState.SENDING, LineState.QUEUED)

    async def end_line(self, line: Line, state: LineState, result: dict[str, Any]) -> None:
        await self._db.write(
            "UPDATE batch_lines SET state = ?, result = ?, updated_at = ?"
            " WHERE batch_id = ? AND line = ?",
            (state.value, json.dumps(result), time.time(), line.batch_id, line.line),
        )

    async def end_open_lines(
        self, batch_id: str, state: LineState, result: Any, *, only: LineState
    ) -> int:
        """End every line of a batch in state `only` with `result(custom_id)` (a dict)."""
        rows = await self._db.fetch_all(
            "SELECT line, custom_id FROM batch_lines WHERE batch_id = ? AND state = ?",
            (batch_id, only.value),
        )
        async with self._db.transaction() as connection:
            for number, custom_id in rows:
                await connection.execute(
                    "UPDATE batch_lines SET state = ?, result = ?, updated_at = ?"
                    " WHERE batch_id = ? AND line = ? AND state = ?",
                    (
                        state.value,
                        json.dumps(result(custom_id)),
                        time.time(),
                        batch_id,
                        number,
                        only.value,
                    ),
                )
        return len(rows)

    async def results(self, batch_id: str) -> list[tuple[LineState, str]]:
        """Every ended line's state and result line (JSON), in input order."""
        rows = await self._db.fetch_all(
            "SELECT state, result FROM batch_lines WHERE batch_id = ? AND result IS NOT NULL"
            " ORDER BY line",
            (batch_id,),
        )
        return [(LineState(state), result) for state, result in rows]

    async def _move(self, line: Line, before: LineState, after: LineState) -> bool:
        cursor = await self._db.write(
            "UPDATE batch_lines SET state = ?, updated_at = ?"
            " WHERE batch_id = ? AND line = ? AND state = ?",
            (after.value, time.time(), line.batch_id, line.line, before.value),
        )
        return cursor.rowcount == 1

    async def _records(self, rows: list[Any]) -> list[BatchRecord]:
        if not rows:
            return []
        ids = [row[0] for row in rows]
        placeholders = ", ".join("?" for _ in ids)
        counted = await self._db.fetch_all(
            "SELECT batch_id, COUNT(*), SUM(state = 'succeeded'), SUM(state = 'failed')"
            f" FROM batch_lines WHERE batch_id IN ({placeholders}) GROUP BY batch_id",
            ids,
        )
        counts = {
            row[0]: Counts(row[1], row[2] or 0, row[3] or 0, row[1] - (row[2] or 0) - (row[3] or 0))
            for row in counted
        }
        records = []
        for row in rows:
            values = tuple(row)
            times = dict(zip(_TIMES, values[11:], strict=True))
            records.append(
                BatchRecord(
                    id=values[0],
                    endpoint=values[1],
                    input_file_id=values[2],
                    completion_window=values[3],
                    status=values[4],
                    metadata=json.loads(values[5]) if values[5] else None,
                    errors=json.loads(values[6]) if values[6] else None,
                    output_file_id=values[7],
                    error_file_id=values[8],
                    created_at=values[9],
                    expires_at=values[10],
                    times={name: value for name, value in times.items() if value is not None},
                    counts=counts.get(values[0], Counts(0, 0, 0, 0)),
                )
            )
        return records
