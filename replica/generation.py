"""One turn being generated: a task that writes into the store and streams SSE frames.

Generation is decoupled from the HTTP response, like the real service: a client that goes
away mid-answer does not stop the answer (a reload shows it complete), only
`stop_conversation` does. The stall fault is the exception: it waits for the client to go.

A turn is several messages (docs/replica.md, "A turn"): hidden context, the reasoning of a
thinking model, an optional tool message, then the `channel: "final"` answer. A thinking
turn (or a `handoff_next` send) ends its HTTP stream with `stream_handoff` and continues on
the turn's `Topic`, read over the WebSocket or the resume endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from replica import gizmos, model, pictures, uploads
from replica.store import ASYNC_STREAMING, CITE_MARKER, Conversation, Message
from replica.stream import (
    DONE,
    ERROR_TEXT,
    V1Encoder,
    closing,
    handoff_event,
    marker,
    new_token,
    ste_metadata,
    title_event,
    typed,
)
from replica.topic import TOPIC_PREFIX, Topic

logger = logging.getLogger(__name__)

FAULT_AFTER_CHUNKS = 2
"""Error, cut and handoff faults strike after this many answer chunks; a stall after one."""
THOUGHT_CHUNK = 16
TOOL = "web.run"
"""The tool a `tool_call_next` turn calls (the name is (no evidence))."""


@dataclass(frozen=True)
class Timing:
    ttft: float
    chunk_delay: float
    chunk_chars: int
    think_silence: float
    handoff_silence: float
    image_delay: float


@dataclass(frozen=True)
class Faults:
    """The faults one send suffers, decided (and counters decremented) when it arrives."""

    sse_error: bool = False
    cut: bool = False
    stall: bool = False
    drop: bool = False
    handoff: bool = False


@dataclass(frozen=True)
class Plan:
    """What this turn does, decided from the request and the knobs when it arrives."""

    answered_by: str
    thinking: bool
    handoff_via: str
    image: bool
    tool_call: bool
    announce_title: bool
    late_title: bool
    quota_remaining: int
    search: bool = False


def split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _Pipe:
    """The HTTP response's side of a stream: frames until None."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()

    async def publish(self, frames: list[str]) -> None:
        for frame in frames:
            self.queue.put_nowait(frame)

    async def close(self) -> None:
        self.queue.put_nowait(None)


@dataclass(eq=False)
class Generation:
    """Produces one turn; `frames()` streams it to the HTTP response that asked for it.

    Creating it starts the turn at once on the running loop (`task`)."""

    conversation: Conversation
    user: Message
    timing: Timing
    faults: Faults
    plan: Plan
    new_conversation: bool
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    detached: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.encoder = V1Encoder()
        self.topic = Topic(TOPIC_PREFIX + self.user.id, self.conversation.id)
        self.last_message_id: str | None = None
        self._parent = self.user.id
        self._pipe = _Pipe()
        self._outlet: _Pipe | Topic | None = self._pipe
        self._picture: asyncio.Task[None] | None = None  # held: the loop keeps weak refs only
        self.conversation.streaming = True
        self.conversation.failed = False
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def frames(self) -> AsyncIterator[str]:
        try:
            while (frame := await self._pipe.queue.get()) is not None:
                yield frame
        finally:
            self.detached.set()

    async def _emit(self, *frames: str | list[str]) -> None:
        if self._outlet is None:
            return  # the stream was dropped: the turn goes on in the store only
        flat = [f for group in frames for f in ([group] if isinstance(group, str) else group)]
        await self._outlet.publish(flat)

    async def _move_to(self, outlet: Topic | None) -> None:
        """End the HTTP stream here; later frames go to `outlet` (None: nowhere)."""
        await self._pipe.close()
        self._outlet = outlet

    async def _pause(self, seconds: float) -> bool:
        """Sleep, waking early when stopped; True means the turn must stop now."""
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
            self.conversation.failed = True
        finally:
            self.conversation.streaming = False
            await self._pipe.close()
            await self.topic.close()

    def _new_message(self, role: str, content_type: str, text: str = "", **extra: Any) -> Message:
        message = Message(
            id=str(uuid.uuid4()),
            role=role,
            text=text,
            parent=self._parent,
            model=self.plan.answered_by,
            requested_model=self.user.model,
            content_type=content_type,
            status="in_progress",
            **extra,
        )
        self._parent = message.id
        self.conversation.messages.append(message)
        self.last_message_id = message.id
        return message

    async def _opening(self) -> None:
        """Encoding, resume token, the user message (and a new chat's hidden system prompt)."""
        conversation, encoder = self.conversation, self.encoder
        frames = [
            *encoder.restart(),
            typed("resume_conversation_token", conversation.id, kind="topic", token=new_token()),
        ]
        if self.new_conversation:
            system = conversation.messages[0]
            frames.append(encoder.install(conversation, system))
        frames += [
            encoder.install(conversation, self.user),
            typed("input_message", conversation.id, input_message=self.user.to_api()),
        ]
        await self._emit(frames)

    async def _context(self) -> None:
        """The hidden context message every turn carries before any reasoning or answer."""
        context = self._new_message("assistant", "model_editable_context", hidden=True)
        install = self.encoder.install_spelled_out(self.conversation, context)
        context.status = "finished_successfully"
        await self._emit(install, self.encoder.settle(context))

    async def _hand_off(self) -> None:
        await self._emit(
            handoff_event(self.conversation, self.topic.topic_id, self.plan.handoff_via), DONE
        )
        self.topic.handed_off = True
        await self._move_to(self.topic)
        await self._pause(self.timing.handoff_silence)
        await self._emit(self.encoder.restart())

    async def _think(self) -> bool:
        """The hidden reasoning phase: thoughts, a long silence, a recap. True if stopped."""
        conversation, encoder = self.conversation, self.encoder
        thoughts = self._new_message("assistant", "thoughts", hidden=True)
        await self._emit(
            marker(conversation, thoughts, "cot_token", "first"),
            encoder.install(conversation, thoughts),
        )
        for chunk in split(model.thoughts(self.user.text), THOUGHT_CHUNK):
            thoughts.text += chunk
            await self._emit(encoder.append(thoughts, chunk))
        stopped = await self._pause(self.timing.think_silence)
        thoughts.status = "finished_successfully"
        thoughts.end_turn = False
        await self._emit(encoder.settle(thoughts))
        recap = self._new_message("assistant", "reasoning_recap", "Thought for a few seconds")
        recap.status, recap.end_turn = "finished_successfully", False
        await self._emit(encoder.install(conversation, recap))
        return stopped

    async def _tool_call(self) -> None:
        """A tool step before the answer: the model's call, then the tool's result."""
        conversation, encoder = self.conversation, self.encoder
        call = self._new_message(
            "assistant",
            "code",
            f"search({model.quote(self.user.text)[:60]!r})",
            recipient=TOOL,
        )
        call.status, call.end_turn = "finished_successfully", False
        result = self._new_message("tool", "text", "1 result", author_name=TOOL)
        result.status = "finished_successfully"
        await self._emit(encoder.install(conversation, call), encoder.install(conversation, result))

    async def _image(self) -> None:
        """An image turn: a tool card and an async status; the picture lands later."""
        conversation = self.conversation
        tool = self._new_message("tool", "multimodal_text", author_name="image_gen")
        conversation.async_pending += 1
        await self._emit(
            self.encoder.install(conversation, tool),
            typed("conversation_async_status", conversation.id, async_status=ASYNC_STREAMING),
        )
        self._picture = asyncio.get_running_loop().create_task(self._deliver_picture(tool))

    async def _deliver_picture(self, tool: Message) -> None:
        await asyncio.sleep(self.timing.image_delay)
        tool.image_id = uuid.uuid4().hex
        tool.image_prompt = self.user.text
        tool.image = pictures.picture(self.user.text)
        tool.status = "finished_successfully"
        tool.end_turn = True
        self.conversation.async_pending -= 1

    async def _finish(self) -> None:
        conversation, plan = self.conversation, self.plan
        reset = (datetime.now(timezone.utc) + timedelta(hours=3)).isoformat()
        frames = [ste_metadata(conversation, self.user, plan.answered_by)]
        frames += closing(conversation, plan.quota_remaining, reset)
        if plan.late_title and plan.announce_title:
            frames.append(title_event(conversation))
        await self._emit(frames, DONE)

    async def _produce(self) -> None:
        await self._opening()
        await self._context()
        if self.plan.thinking:
            await self._hand_off()
            if await self._think():
                await self._finish()
                return
        if self.plan.tool_call:
            await self._tool_call()
        if self.plan.image:
            await self._image()
        elif not await self._answer():
            return
        await self._finish()

    async def _answer(self) -> bool:
        """Stream the final answer; False when a fault ended the stream before its end."""
        conversation, encoder = self.conversation, self.encoder
        answer = self._new_message("assistant", "text")
        await self._emit(encoder.install(conversation, answer))
        text = model.answer(
            self.user.text, self.plan.answered_by, conversation.user_message_count()
        )
        if self.user.attachments:
            text += "\n\n" + uploads.describe(self.user.attachments)
        if conversation.gizmo_id:
            text += "\n\n" + gizmos.describe(conversation.gizmo_id)
        if self.plan.search:  # it cites its source where the answer ends, as ChatGPT marks it
            answer.sources = model.search_sources(self.user.text)
            text += " " + CITE_MARKER
        chunks = split(text, self.timing.chunk_chars)
        body, last = chunks[:-1], chunks[-1]
        fault_at = min(1 if self.faults.stall else FAULT_AFTER_CHUNKS, len(body))
        stopped = await self._pause(self.timing.ttft)
        for index in range(len(body) + 1):
            if stopped:
                break
            if index == fault_at:
                if await self._strike(answer):
                    return False
                if self.stop.is_set():
                    break
            if index == len(body):
                break
            chunk = body[index]
            answer.text += chunk
            first = [
                marker(conversation, answer, "user_visible_token", "first"),
                marker(conversation, answer, "final_channel_token", "first"),
            ]
            await self._emit(first if index == 0 else [], encoder.append(answer, chunk))
            if index == 0 and self.plan.announce_title and not self.plan.late_title:
                await self._emit(title_event(conversation))
            stopped = await self._pause(self.timing.chunk_delay)
        if stopped or self.stop.is_set():
            answer.status = "finished_partial_completion"
            answer.finish_type = "interrupted"
            last = ""
        else:
            answer.text += last
            answer.status = "finished_successfully"
            answer.end_turn = True
            answer.finish_type = "stop"
        await self._emit(
            encoder.close(answer, last, len(answer.text) // 4),
            marker(conversation, answer, "last_token", "last"),
        )
        return True

    async def _strike(self, answer: Message) -> bool:
        """Apply this send's fault, if any; True when the stream must end right here."""
        if self.faults.sse_error:
            answer.status = "finished_with_error"
            self.conversation.failed = True
            await self._emit(self.encoder.failure(self.conversation, ERROR_TEXT))
            return True
        if self.faults.cut:
            return True
        if self.faults.drop:
            await self._move_to(None)
        elif self.faults.handoff:
            await self._hand_off()
        if self.faults.stall:
            stop = asyncio.ensure_future(self.stop.wait())
            gone = asyncio.ensure_future(self.detached.wait())
            await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            gone.cancel()
            return not self.stop.is_set()
        return False
