"""One answer being generated: a task that writes into the store and queues SSE frames.

Generation is decoupled from the HTTP response, like the real service: a client that goes
away mid-answer does not stop the answer (a reload shows it complete), only
`stop_conversation` does. The stall fault is the exception: it waits for the client to go.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from replica import model
from replica.options import ReplicaOptions
from replica.store import Conversation, Message
from replica.stream import ERROR_TEXT, Encoder, handoff_event

logger = logging.getLogger(__name__)

FAULT_AFTER_CHUNKS = 2
"""Error and cut faults strike after this many answer chunks; a stall after the first."""


@dataclass(frozen=True)
class Timing:
    ttft: float
    chunk_delay: float
    chunk_chars: int

    @classmethod
    def of(cls, options: ReplicaOptions) -> Timing:
        return cls(options.ttft_ms / 1000, options.chunk_delay_ms / 1000, options.chunk_chars)


@dataclass(frozen=True)
class Faults:
    """The faults one send suffers, decided (and counters decremented) when it arrives."""

    sse_error: bool = False
    cut: bool = False
    stall: bool = False
    drop: bool = False
    handoff: bool = False


def split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass(eq=False)
class Generation:
    """Produces one assistant answer; `frames()` streams it to one HTTP response.

    Creating it starts the answer at once on the running loop (`task`)."""

    conversation: Conversation
    user: Message
    encoder: Encoder
    timing: Timing
    faults: Faults
    thinking: bool
    announce_title: bool
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    detached: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._parent = self.user.id  # a regenerated answer hangs off the same user message
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._resumed: asyncio.Queue[str | None] = asyncio.Queue()
        self._outlet: asyncio.Queue[str | None] | None = self._queue
        self.handed_off = False
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def frames(self) -> AsyncIterator[str]:
        try:
            while (frame := await self._queue.get()) is not None:
                yield frame
        finally:
            self.detached.set()

    async def resumed_frames(self) -> AsyncIterator[str]:
        """The rest of a handed-off stream, for `/backend-api/f/conversation/resume`."""
        while (frame := await self._resumed.get()) is not None:
            yield frame

    def _emit(self, frames: list[str]) -> None:
        if self._outlet is None:
            return  # the stream was dropped: the answer goes on in the store only
        for frame in frames:
            self._outlet.put_nowait(frame)

    def _end_stream(self, then: asyncio.Queue[str | None] | None) -> None:
        """End the current HTTP stream here; later frames go to `then` (None: nowhere)."""
        if self._outlet is not None:
            self._outlet.put_nowait(None)
        self._outlet = then

    async def _pause(self, seconds: float) -> bool:
        """Sleep, waking early when stopped; True means the answer must stop now."""
        if self.stop.is_set():
            return True
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        try:
            await self._produce()
        except Exception:
            logger.exception("replica generation failed")
        finally:
            if self._outlet is not None:
                self._outlet.put_nowait(None)

    def _new_message(self, content_type: str, text: str = "") -> Message:
        message = Message(
            id=str(uuid.uuid4()),
            role="assistant",
            text=text,
            parent=self._parent,
            model=self.conversation_model,
            content_type=content_type,
            status="in_progress",
        )
        self._parent = message.id
        self.conversation.messages.append(message)
        return message

    @property
    def conversation_model(self) -> str:
        return self.user.model or self.conversation.model

    async def _think(self) -> None:
        """Stream a thoughts message and a reasoning recap, both finished without end_turn."""
        thoughts = self._new_message("thoughts")
        self._emit(self.encoder.begin(self.conversation, thoughts))
        for chunk in split(model.thoughts(self.user.text), 16):
            if await self._pause(self.timing.chunk_delay):
                break
            thoughts.text += chunk
            self._emit(self.encoder.append(self.conversation, thoughts, chunk))
        thoughts.status = "finished_successfully"
        self._emit(self.encoder.finish(self.conversation, thoughts, ""))
        recap = self._new_message("reasoning_recap", "Thought for 1s")
        recap.status = "finished_successfully"
        self._emit(self.encoder.begin(self.conversation, recap))

    async def _produce(self) -> None:
        conversation = self.conversation
        self._emit(self.encoder.opening(conversation, self.user))
        if self.thinking:
            await self._think()
        answer = self._new_message("text")
        self._emit(self.encoder.begin(conversation, answer))
        text = model.answer(
            self.user.text, self.conversation_model, conversation.user_message_count()
        )
        chunks = split(text, self.timing.chunk_chars)
        body, last = chunks[:-1], chunks[-1]
        fault_at = min(1 if self.faults.stall else FAULT_AFTER_CHUNKS, len(body))
        stopped = await self._pause(self.timing.ttft)
        for index in range(len(body) + 1):
            if stopped:
                break
            if index == fault_at:
                if await self._strike(answer):
                    return
                if self.stop.is_set():
                    break
            if index == len(body):
                break
            chunk = body[index]
            answer.text += chunk
            self._emit(self.encoder.append(conversation, answer, chunk))
            if index == 0 and self.announce_title:
                self._emit(self.encoder.title(conversation))
            stopped = await self._pause(self.timing.chunk_delay)
        if stopped or self.stop.is_set():
            answer.status = "finished_partial_completion"
            answer.finish_type = "interrupted"
            self._emit(self.encoder.finish(conversation, answer, ""))
        else:
            answer.text += last
            answer.status = "finished_successfully"
            answer.end_turn = True
            answer.finish_type = "stop"
            self._emit(self.encoder.finish(conversation, answer, last))
        self._emit(self.encoder.closing(conversation))

    async def _strike(self, answer: Message) -> bool:
        """Apply this send's fault, if any; True when the stream must end right here."""
        if self.faults.sse_error:
            answer.status = "finished_with_error"
            self._emit(self.encoder.error(self.conversation, ERROR_TEXT))
            return True
        if self.faults.cut:
            return True
        if self.faults.drop:
            self._end_stream(None)
        elif self.faults.handoff:
            self._emit([handoff_event(self.conversation)])
            self.handed_off = True
            self._end_stream(self._resumed)
            self._emit(self.encoder.resumed())
        if self.faults.stall:
            stop = asyncio.ensure_future(self.stop.wait())
            gone = asyncio.ensure_future(self.detached.wait())
            await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            gone.cancel()
            return not self.stop.is_set()
        return False
