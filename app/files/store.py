"""The bridge's one file store (`/v1/files`): bytes in the data directory, metadata in SQLite.

Batches read their input from it and write their output and error files to it; attachments
(`file_id` inputs) and the images ChatGPT draws live in it too, so one id names a file
everywhere and one retention rule bounds the disk it takes. The bytes are private files
named by their id (the person's uploads and answers), written before their row: a crash
leaves at worst an orphan file, swept at the next start, never a row without bytes.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal

from app.db import Database
from browser.private import private_dir, write_private

UPLOAD_PURPOSES = ("batch", "user_data", "vision")
"""What a client may upload with `POST /v1/files`."""
BATCH_OUTPUT = "batch_output"
"""A batch's output and error files, written by the bridge."""
GENERATED = "assistants_output"
"""Files ChatGPT made (drawn images, downloads): OpenAI's purpose for a model's own files."""

Order = Literal["asc", "desc"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    filename TEXT NOT NULL,
    purpose TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    mime TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS files_purpose ON files (purpose, seq);
"""
_COLUMNS = "id, filename, purpose, bytes, mime, created_at, expires_at"


class UnknownFileError(LookupError):
    """No file has this id (never stored, deleted, or expired)."""

    def __init__(self, file_id: str) -> None:
        super().__init__(f"No such File object: {file_id}")
        self.file_id = file_id


class FileTooLargeError(ValueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"The file is {size} bytes; this bridge stores files of up to {limit} bytes "
            "(BRIDGE_FILE_MAX_MB)."
        )


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str
    purpose: str
    bytes: int
    mime: str
    created_at: int
    expires_at: int | None

    def as_openai(self) -> dict[str, Any]:
        """OpenAI's file object (`OpenAIFile`); `expires_at` only when the file expires."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }
        if self.expires_at is not None:
            body["expires_at"] = self.expires_at
        return body


def _record(row: Any) -> StoredFile:
    return StoredFile(*tuple(row))


def _safe_name(filename: str) -> str:
    """The base name only: a client's "../../x" must never mean anything on disk or in logs."""
    name = PurePath(filename.replace("\\", "/")).name.strip()
    return name[:255] or "file"


class FileStore:
    """Typed access to the files; `setup()` once at start-up."""

    def __init__(self, db: Database, folder: Path, max_bytes: int) -> None:
        self._db = db
        self._folder = folder
        self.max_bytes = max_bytes

    async def setup(self) -> None:
        await self._db.create_tables(_SCHEMA)
        await asyncio.to_thread(private_dir, self._folder)
        await self._drop_expired()
        known = {row[0] for row in await self._db.fetch_all("SELECT id FROM files")}
        await asyncio.to_thread(self._sweep, known)

    async def put(
        self,
        data: bytes,
        filename: str,
        purpose: str,
        mime: str | None = None,
        *,
        expires_at: int | None = None,
        capped: bool = True,
    ) -> StoredFile:
        """Store `data`; raises FileTooLargeError past the size cap (nothing stored then).

        `capped=False` is for the bridge's own output that must not be lost to the upload
        cap (a batch's results); whatever a client or ChatGPT sends stays capped.
        """
        if capped and len(data) > self.max_bytes:
            raise FileTooLargeError(len(data), self.max_bytes)
        name = _safe_name(filename)
        record = StoredFile(
            id="file-" + uuid.uuid4().hex,
            filename=name,
            purpose=purpose,
            bytes=len(data),
            mime=mime or mimetypes.guess_type(name)[0] or "application/octet-stream",
            created_at=int(time.time()),
            expires_at=expires_at,
        )
        await asyncio.to_thread(write_private, self.path(record), data, exclusive=True)
        await self._db.write(
            f"INSERT INTO files ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.filename,
                record.purpose,
                record.bytes,
                record.mime,
                record.created_at,
                record.expires_at,
            ),
        )
        return record

    async def get(self, file_id: str) -> StoredFile:
        """The file's record; raises UnknownFileError."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM files WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)",
            (file_id, int(time.time())),
        )
        if row is None:
            raise UnknownFileError(file_id)
        return _record(row)

    def path(self, record: StoredFile) -> Path:
        """Where the bytes are (for a streamed response); read them with `read()` otherwise."""
        return self._folder / record.id

    async def read(self, file_id: str) -> bytes:
        record = await self.get(file_id)
        return await asyncio.to_thread(self.path(record).read_bytes)

    async def delete(self, file_id: str) -> bool:
        """Forget the file and remove its bytes; False if there was none."""
        cursor = await self._db.write("DELETE FROM files WHERE id = ?", (file_id,))
        if cursor.rowcount == 0:
            return False
        await asyncio.to_thread(self._unlink, file_id)
        return True

    async def list(
        self,
        *,
        purpose: str | None = None,
        after: str | None = None,
        limit: int = 10000,
        order: Order = "desc",
    ) -> list[StoredFile]:
        """Up to `limit` files, newest first by default; `after` is the last id already seen."""
        clauses, parameters = ["(expires_at IS NULL OR expires_at > ?)"], [int(time.time())]
        if purpose is not None:
            clauses.append("purpose = ?")
            parameters.append(purpose)
        if after is not None:
            clauses.append(
                f"seq {'<' if order == 'desc' else '>'} (SELECT seq FROM files WHERE id = ?)"
            )
            parameters.append(after)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM files WHERE {' AND '.join(clauses)}"
            f" ORDER BY seq {order.upper()} LIMIT ?",
            (*parameters, limit),
        )
        return [_record(row) for row in rows]

    async def prune(self, purpose: str, keep_bytes: int) -> list[str]:
        """The retention hook: delete the oldest files of `purpose` until they take at most
        `keep_bytes` in all. Returns the ids deleted."""
        rows = await self._db.fetch_all(
            "SELECT id, bytes FROM files WHERE purpose = ? ORDER BY seq DESC", (purpose,)
        )
        total, doomed = 0, []
        for file_id, size in rows:
            total += size
            if total > keep_bytes:
                doomed.append(file_id)
        for file_id in doomed:
            await self.delete(file_id)
        return doomed

    async def _drop_expired(self) -> None:
        rows = await self._db.fetch_all(
            "SELECT id FROM files WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (int(time.time()),),
        )
        for (file_id,) in rows:
            await self.delete(file_id)

    def _sweep(self, known: set[str]) -> None:
        """Remove bytes no row names (a crash between writing them and their row)."""
        for entry in os.scandir(self._folder):
            if entry.is_file() and entry.name not in known:
                os.unlink(entry.path)

    def _unlink(self, file_id: str) -> None:
        (self._folder / file_id).unlink(missing_ok=True)
