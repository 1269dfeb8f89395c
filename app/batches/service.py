"""`/v1/batches` behind the routes: create (check the input, queue its lines), cancel, read.

The composition root builds one `BatchService` at start-up; `start()` resumes the batches a
previous run left (`runner.py`), `stop()` leaves the unfinished ones in SQLite for the next.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from app.api.errors import APIError, invalid_request
from app.batches import results
from app.batches.endpoints import ENDPOINTS
from app.batches.input import parse_input
from app.batches.runner import BatchRunner
from app.batches.store import BatchRecord, BatchStore, LineState
from app.files import FileStore, UnknownFileError

WINDOWS = {"24h": 24 * 3600}
"""Completion windows OpenAI accepts (only `24h`), in seconds."""


class BatchService:
    def __init__(self, store: BatchStore, files: FileStore, runner: BatchRunner) -> None:
        self._store = store
        self._files = files
        self.runner = runner

    async def start(self) -> None:
        await self._store.setup()
        await self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()

    async def create(
        self,
        *,
        input_file_id: str,
        endpoint: str,
        completion_window: str,
        metadata: dict[str, str] | None,
    ) -> BatchRecord:
        """Check the request and the whole input file, then queue every line.

        Request mistakes are 4xx errors and store nothing; a file whose lines break the
        input rules makes a `failed` batch listing them (OpenAI's behaviour).
        """
        if endpoint not in ENDPOINTS:
            raise invalid_request(
                f"endpoint '{endpoint}' cannot be batched here; use one of {', '.join(ENDPOINTS)}.",
                "endpoint",
            )
        if completion_window not in WINDOWS:
            raise invalid_request(
                f"completion_window must be one of {', '.join(WINDOWS)}.", "completion_window"
            )
        try:
            record = await self._files.get(input_file_id)
            data = await self._files.read(input_file_id)
        except UnknownFileError as error:
            raise APIError(404, str(error), param="input_file_id") from None
        if record.purpose != "batch":
            raise invalid_request(
                f"The file {input_file_id} was uploaded with purpose '{record.purpose}'; a batch's "
                "input must be uploaded with purpose 'batch'.",
                "input_file_id",
            )
        parsed = await asyncio.to_thread(parse_input, data, endpoint)
        batch_id = "batch_" + uuid.uuid4().hex
        await self._store.create(
            batch_id,
            endpoint=endpoint,
            input_file_id=input_file_id,
            completion_window=completion_window,
            window_seconds=WINDOWS[completion_window],
            metadata=metadata,
            lines=parsed.lines,
            errors=parsed.errors,
        )
        if parsed.errors:
            self.runner.announce(batch_id, "failed")
        else:
            self.runner.wake()
        return await self.get(batch_id)

    async def get(self, batch_id: str) -> BatchRecord:
        batch = await self._store.get(batch_id)
        if batch is None:
            raise APIError(404, f"No such Batch object: {batch_id}", param="batch_id")
        return batch

    async def list(self, *, after: str | None, limit: int) -> list[BatchRecord]:
        return await self._store.list(after=after, limit=limit)

    async def cancel(self, batch_id: str) -> BatchRecord:
        """Stop asking its lines; the one being asked finishes, then the batch ends
        `cancelled` with the results so far (the rest as `batch_cancelled` errors)."""
        batch = await self.get(batch_id)
        if batch.status == "in_progress":
            await self._store.set_status(batch_id, "cancelling", only_from=("in_progress",))
            await self._store.end_open_lines(
                batch_id,
                LineState.FAILED,
                lambda custom_id: results.not_asked(custom_id, results.CANCELLED),
                only=LineState.QUEUED,
            )
            await self.runner.finalize_if_done(batch_id)
        elif batch.status not in ("cancelling", "cancelled"):
            raise APIError(
                409,
                f"The batch {batch_id} is {batch.status}; only a batch in progress can be "
                "cancelled.",
                code="batch_not_cancellable",
            )
        return await self.get(batch_id)

    async def health(self, *, detailed: bool) -> dict[str, Any]:
        """Progress of the batches not over yet (ids only in a detailed report)."""
        active = await self._store.active()
        current = self.runner.current
        report: dict[str, Any] = {
            "active": len(active),
            "lines_waiting": sum(batch.counts.open for batch in active),
        }
        if detailed:
            report["batches"] = [
                {
                    "id": batch.id,
                    "status": batch.status,
                    "total": batch.counts.total,
                    "completed": batch.counts.completed,
                    "failed": batch.counts.failed,
                    "asking": current.line if current and current.batch_id == batch.id else None,
                }
                for batch in active
            ]
        return report
