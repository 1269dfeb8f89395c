"""The batch worker: one line at a time, only when no interactive question is waiting.

Batches are the bridge's background work: a line is asked only when a tab is free and no
Slack or API caller is waiting in the pool's line (`Bridge.is_busy()` / `stats()`), one at a
time, so the person's own questions always go first and the other tabs stay theirs.
A line refused before it reached ChatGPT (rate limit, logged out, busy, a web-app error
that delivered nothing) goes back in line and the worker pauses (ChatGPT's `retry_after`,
else a growing backoff): a batch waits out a limit instead of failing every line, until its
completion window ends. A line that may have reached ChatGPT is never asked again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from app.api.errors import APIError, api_error_from
from app.batches import results
from app.batches.store import ACTIVE, BatchRecord, BatchStore, Line, LineState
from app.files import BATCH_OUTPUT, FileStore
from browser.errors import (
    BridgeError,
    BrowserDownError,
    BusyError,
    ChallengeError,
    LoginRequiredError,
    RateLimitedError,
    WebAppError,
)

if TYPE_CHECKING:
    from app.batches.endpoints import LineAsker
    from app.batches.webhook import Webhook
    from browser import Bridge

logger = logging.getLogger(__name__)

IDLE_POLL = 0.1
"""Seconds between two looks at the tabs while interactive callers hold them."""
FIRST_PAUSE = 5.0
MAX_PAUSE = 300.0
"""The backoff after refusals that gave no retry time: 5 s, doubled, at most 5 minutes."""
ASK_LATER = (
    BusyError,
    RateLimitedError,
    LoginRequiredError,
    ChallengeError,
    BrowserDownError,
    WebAppError,
)
"""Refusals that say nothing about the line itself: when undelivered, it is asked later."""


class LineWithdrawn(BridgeError):
    """The line's batch was cancelled while it waited for a tab: nothing was sent."""

    def __init__(self) -> None:
        super().__init__("The batch was cancelled before this request was sent.")


class BatchRunner:
    def __init__(
        self,
        *,
        store: BatchStore,
        files: FileStore,
        asker: LineAsker,
        bridge: Bridge,
        webhook: Webhook | None,
    ) -> None:
        self._store = store
        self._files = files
        self._asker = asker
        self._bridge = bridge
        self._webhook = webhook
        self._wake = asyncio.Event()
        self._finalizing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._refusals = 0
        self.current: Line | None = None
        """The line being asked now, if any."""

    async def start(self) -> None:
        """Resume what a previous run left: uncertain lines end, queued ones are asked."""
        for batch in await self._store.active():
            uncertain = await self._store.end_open_lines(
                batch.id,
                LineState.FAILED,
                lambda custom_id: results.not_asked(custom_id, results.UNCERTAIN),
                only=LineState.SENDING,
            )
            if uncertain:
                logger.warning(
                    "batch %s: %d request(s) may have reached ChatGPT before the restart; "
                    "they are not asked again",
                    batch.id,
                    uncertain,
                )
            await self.finalize_if_done(batch.id)
        self._task = asyncio.create_task(self._work(), name="batch-runner")

    async def stop(self) -> None:
        """Stop at once; a line being asked stays `sending` (uncertain at the next start)."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._webhook is not None:
            await self._webhook.close()

    def wake(self) -> None:
        """New lines are queued."""
        self._wake.set()

    async def finalize_if_done(self, batch_id: str) -> None:
        """Write the output files and end the batch once none of its lines is open."""
        async with self._finalizing:
            batch = await self._store.get(batch_id)
            if batch is None or batch.status not in ACTIVE or batch.counts.open:
                return
            await self._finalize(
                batch, "cancelled" if batch.status == "cancelling" else "completed"
            )

    def announce(self, batch_id: str, status: str) -> None:
        """Tell the webhook, if one is configured, that a batch ended with `status`."""
        if self._webhook is not None:
            self._webhook.batch_ended(batch_id, status)

    async def _work(self) -> None:
        while True:
            self._wake.clear()
            await self._expire_due()
            line = await self._store.next_line()
            if line is None:
                await self._wake.wait()
                continue
            await self._wait_for_room()
            pause = await self._run(line)
            if pause:
                await asyncio.sleep(pause)

    async def _wait_for_room(self) -> None:
        """Until a tab is free and nobody waits for one: interactive callers go first.

        Polled: the contract tells how the tabs are, not when they change, and a look every
        tenth of a second costs nothing beside an answer that takes seconds.
        """
        while self._bridge.is_busy() or self._bridge.stats().get("queue_length", 0) > 0:  # noqa: ASYNC110
            await asyncio.sleep(IDLE_POLL)

    async def _run(self, line: Line) -> float:
        """Ask one line and store its result; returns the seconds to pause after it."""
        withdrawn = False

        async def sending() -> None:
            nonlocal withdrawn
            if not await self._store.mark_sending(line):
                withdrawn = True
                raise LineWithdrawn()

        self.current = line
        try:
            body = await self._asker.ask(line.endpoint, line.body, sending)
        except APIError as error:
            if withdrawn:
                return 0.0  # cancelled while it waited: its result is written already
            if _not_sent(error):
                return await self._ask_later(line, error)
            state, result = LineState.FAILED, results.refused(line.custom_id, error)
        except Exception as error:
            state, result = LineState.FAILED, results.refused(line.custom_id, api_error_from(error))
        else:
            state, result = LineState.SUCCEEDED, results.answered(line.custom_id, body)
        finally:
            self.current = None
        self._refusals = 0
        await self._store.end_line(line, state, result)
        await self.finalize_if_done(line.batch_id)
        return 0.0

    async def _ask_later(self, line: Line, error: APIError) -> float:
        await self._store.requeue(line)
        self._refusals += 1
        retry_after: float | None = getattr(error.__cause__, "retry_after", None)
        pause = retry_after or min(MAX_PAUSE, FIRST_PAUSE * 2 ** (self._refusals - 1))
        logger.warning(
            "batch %s line %d was not sent (%s); asking it again in %.0f s",
            line.batch_id,
            line.line,
            error.code or error.type,
            pause,
        )
        return pause

    async def _expire_due(self) -> None:
        now = time.time()
        for batch in await self._store.active():
            if batch.status == "in_progress" and batch.expires_at <= now:
                await self._store.end_open_lines(
                    batch.id,
                    LineState.FAILED,
                    lambda custom_id: results.not_asked(custom_id, results.EXPIRED),
                    only=LineState.QUEUED,
                )
                async with self._finalizing:
                    await self._finalize(batch, "expired")

    async def _finalize(self, batch: BatchRecord, status: str) -> None:
        """Write the output and error files, then end the batch (call under the lock).

        Idempotent: a restart during it does it again (the files of a half-done first try
        are left unreferenced, never half-written into a finished batch).
        """
        if status == "completed":
            await self._store.set_status(batch.id, "finalizing", only_from=("in_progress",))
        lines = await self._store.results(batch.id)
        output = await self._write(
            batch.id, "output", [r for s, r in lines if s is LineState.SUCCEEDED]
        )
        errors = await self._write(
            batch.id, "error", [r for s, r in lines if s is LineState.FAILED]
        )
        await self._store.finish(batch.id, status, output, errors)
        logger.info("batch %s %s: %d answered, %d failed", batch.id, status, *_split(lines))
        self.announce(batch.id, status)

    async def _write(self, batch_id: str, kind: str, lines: list[str]) -> str | None:
        if not lines:
            return None
        data = "".join(line + "\n" for line in lines).encode()
        stored = await self._files.put(
            data, f"{batch_id}_{kind}.jsonl", BATCH_OUTPUT, "application/jsonl", capped=False
        )
        return stored.id


def _not_sent(error: APIError) -> bool:
    """The line surely never reached ChatGPT, for a reason that will pass: ask it later.

    Only the browser's own error can say so (`delivered`); both pipelines raise the API
    error `from` it when the send was refused.
    """
    cause = error.__cause__
    return isinstance(cause, ASK_LATER) and cause.delivered is False


def _split(lines: list[tuple[LineState, Any]]) -> tuple[int, int]:
    answered = sum(state is LineState.SUCCEEDED for state, _ in lines)
    return answered, len(lines) - answered
