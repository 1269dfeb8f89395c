"""One bridge turn run in an asyncio task of its own, read by the HTTP response.

When a client goes away, Starlette cancels the streaming response through an anyio cancel
scope, and inside a cancelled scope every further `await` is cancelled again: the Stop click
and the tab release in `bridge.ask()`'s exit could never run there. So the turn lives in a
plain task; the response only reads deltas from it and, when it has to end the turn early
(client gone, stop string, token limit), asks it to stop, which is a synchronous call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from browser import Bridge, Turn
from browser.attachments import Attachment
from browser.channel import Channel
from browser.contract import AskOptions, FinishReason, OnSend, Update
from browser.errors import BridgeError
from browser.events import Citation
from browser.generated import GeneratedFile
from browser.models import mismatch_note

logger = logging.getLogger(__name__)

_tasks: set[asyncio.Task[None]] = set()
"""Running turns: asyncio keeps only weak references to tasks."""


class TurnRunner:
    def __init__(
        self,
        bridge: Bridge,
        prompt: str,
        *,
        conversation_id: str | None,
        options: AskOptions,
        temporary: bool,
        patient: bool = False,
        on_send: OnSend | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        self._ask = lambda: bridge.ask(
            prompt,
            conversation_id=conversation_id,
            options=options,
            temporary=temporary,
            patient=patient,
            on_send=on_send,
            attachments=attachments,
        )
        self._asked = options.model
        self._turn: Turn | None = None
        self._entered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items: Channel[Update] = Channel()
        self._task: asyncio.Task[None] | None = None
        self._on_done: Callable[[], None] | None = None
        self._ending = False
        """Stopped, or answered and releasing its tab: nothing may interrupt it any more."""

    @property
    def conversation_id(self) -> str | None:
        return self._turn.conversation_id if self._turn else None

    @property
    def model(self) -> str | None:
        """The model that answered, once known (else the one the turn runs with)."""
        if self._turn is None:
            return None
        return self._turn.answered_by or self._turn.model

    @property
    def model_note(self) -> str | None:
        """Says so when ChatGPT answered with another model than asked for."""
        return mismatch_note(self._asked, self._turn.answered_by if self._turn else None)

    @property
    def finish_reason(self) -> FinishReason | None:
        return self._turn.finish_reason if self._turn else None

    @property
    def text(self) -> str:
        """The answer's text so far."""
        return self._turn.text if self._turn else ""

    @property
    def citations(self) -> list[Citation]:
        """The sources the answer cites (ChatGPT names them once the answer is complete)."""
        events = self._turn.events if self._turn else []
        return [event for event in events if isinstance(event, Citation)]

    @property
    def files(self) -> list[GeneratedFile]:
        """What ChatGPT drew in the turn, once the answer is complete."""
        return list(self._turn.files) if self._turn else []

    async def start(self, on_done: Callable[[], None]) -> None:
        """Start the turn; return once `ask()` was entered, or raise its error as it is.

        `on_done` runs once when the turn is over: its answer complete, or the turn failed
        or was stopped.
        """
        self._on_done = on_done
        self._task = asyncio.create_task(self._run(), name="api-turn")
        _tasks.add(self._task)
        self._task.add_done_callback(_tasks.discard)
        self._task.add_done_callback(lambda _task: self._over())
        try:
            await asyncio.shield(self._entered)
        except asyncio.CancelledError:
            self.stop()
            raise

    async def next(self, timeout: float) -> str | None:
        """The next delta, or None after `timeout` seconds without one.

        Raises StopAsyncIteration when the answer is complete, or the error the turn failed
        with (a `browser.errors` type, or anything unexpected).
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = max(0.0, deadline - asyncio.get_running_loop().time())
            update = await self.next_update(left)
            if update is None or isinstance(update, str):
                return update

    async def next_update(self, timeout: float) -> Update | None:
        """Like `next`, but the turn's typed events come too, in their place among the deltas
        (`Turn.updates()`): a reasoning step or a search is known before the first delta."""
        try:
            # A timed-out wait is cancelled inside the channel's queue: nothing is lost.
            return await asyncio.wait_for(anext(self._items), timeout)
        except TimeoutError:
            return None

    def stop(self) -> None:
        """End the turn now: Stop is pressed in the page and the tab freed, in the task.

        Only once, and never after the answer is complete: a second cancellation, or one of
        a finished turn, would land in the release of the tab and could lose the tab.
        """
        if self._task is not None and not self._task.done() and not self._ending:
            self._ending = True
            self._task.cancel()

    def _over(self) -> None:
        """Report the turn over exactly once: at the end of its answer or of its task."""
        on_done, self._on_done = self._on_done, None
        if on_done is not None:
            on_done()

    async def _run(self) -> None:
        answered = False
        try:
            async with self._ask() as turn:
                self._turn = turn
                self._entered.set_result(None)
                try:
                    async for update in turn.updates():
                        if update:
                            self._items.put(update)
                except asyncio.CancelledError:
                    with contextlib.suppress(BridgeError):
                        await turn.cancel()
                    raise
                # The answer is complete: the client need not wait for the tab's release.
                self._items.close()
                answered = self._ending = True
                self._over()
        except asyncio.CancelledError:
            if not self._entered.done():
                self._entered.cancel()
            logger.debug("turn stopped before its end")
        except Exception as error:
            if answered:
                logger.warning("releasing the tab after an answer failed: %s", error)
            elif self._entered.done():
                self._items.fail(error)
            else:
                self._entered.set_exception(error)
