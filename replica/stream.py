"""Server-sent-event frames of today's conversation stream ("delta v1", 2026 captures).

`V1Encoder` varies its frame shapes within one stream the way the captured streams do
(docs/replica.md, "Stream"): a message is installed as `{"p":"","o":"add","v":..,"c":N}`,
`{"o":"add","v":..,"c":N}` or `{"v":..,"c":N}`; text comes as an explicit append without
`c`, then bare `{"v":"text"}` continuations, patches with and without `"p":""` and bare
`{"v":[..]}` lists continuing a patch; top-level replaces set `status` and `end_turn`.
It remembers the carried-over `p`/`o`/`c` so that every frame it sends decodes exactly.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from replica.store import Conversation, Message, content_references

DONE = "data: [DONE]\n\n"
ERROR_TEXT = (
    "Something went wrong while generating the response. If this issue persists please "
    "contact us through our help center at help.openai.com."
)


def sse(data: Any, event: str | None = None) -> str:
    """One SSE event with JSON `data` (only the `[DONE]` sentinel is sent raw)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def typed(kind: str, conversation_id: str, /, **fields: Any) -> str:
    """A typed (non-delta) event: `data: {"type": kind, ..., "conversation_id": id}`."""
    return sse({"type": kind, **fields, "conversation_id": conversation_id})


def text_path(message: Message) -> str:
    """Where a message's streamed text lives inside the stream's root object."""
    if message.content_type == "thoughts":
        return "/message/content/thoughts/0/content"
    if message.content_type == "reasoning_recap":
        return "/message/content/content"
    return "/message/content/parts/0"


def marker(conversation: Conversation, message: Message, name: str, event: str) -> str:
    return typed("message_marker", conversation.id, message_id=message.id, marker=name, event=event)


def title_event(conversation: Conversation) -> str:
    return typed("title_generation", conversation.id, title=conversation.title)


def handoff_event(conversation: Conversation, topic_id: str, via: str) -> str:
    """The rest of this answer continues on the turn's WebSocket topic or resume endpoint."""
    resume = {"type": "resume_sse_endpoint", "url": "/backend-api/f/conversation/resume"}
    subscribe = {"type": "subscribe_ws_topic", "topic_id": topic_id}
    options = [subscribe, resume] if via == "ws" else [resume]
    return typed("stream_handoff", conversation.id, topic_id=topic_id, options=options)


def ste_metadata(conversation: Conversation, user: Message, answered_by: str) -> str:
    metadata = {
        "model_slug": answered_by,
        "requested_model_slug": user.model,
        "message_id": user.id,
        "turn_exchange_id": user.id,
        "plan_type": "plus",
        "resume_with_websockets": True,
        "streaming_async_status": True,
    }
    return typed("server_ste_metadata", conversation.id, metadata=metadata)


def closing(conversation: Conversation, remaining: int, reset_after: str) -> list[str]:
    """`message_stream_complete` and `conversation_detail_metadata` (with the quotas)."""
    limits = [
        {"model_slug": conversation.model, "remaining": remaining, "resets_after": reset_after}
    ]
    return [
        typed("message_stream_complete", conversation.id),
        typed(
            "conversation_detail_metadata",
            conversation.id,
            banner_info=None,
            blocked_features=[],
            model_limits=[],
            limits_progress=limits,
            default_model_slug=conversation.model,
        ),
    ]


class V1Encoder:
    """Delta-v1 frames of one stream; tracks the carried-over `p`, `o` and `c`."""

    def __init__(self) -> None:
        self._p: str | None = None
        self._o: str | None = None
        self._c: int | None = None
        self._channels = 0
        self._appends = 0

    def _delta(self, frame: dict[str, Any]) -> str:
        if self._c is None and "c" not in frame and self._channels:
            frame = {**frame, "c": self._channels - 1}  # a continued stream restates `c`
        self._p = frame.get("p", self._p)
        self._o = frame.get("o", self._o)
        self._c = frame.get("c", self._c)
        return sse(frame, event="delta")

    def restart(self) -> list[str]:
        """A continued stream (topic, resume) announces its encoding and carries nothing."""
        self._p = self._o = self._c = None
        return [sse("v1", event="delta_encoding")]

    def install(
        self, conversation: Conversation, message: Message | None, error: Any = None
    ) -> str:
        """A new message on the next channel, in the shortest shape carry-over allows."""
        channel = self._channels
        self._channels += 1
        self._appends = 0
        root = {
            "message": message.to_api() if message else None,
            "conversation_id": conversation.id,
            "error": error,
            "error_code": None,
        }
        frame: dict[str, Any] = {"v": root, "c": channel}
        if self._o != "add":
            frame = {"o": "add", **frame}
        if self._p != "":
            frame = {"p": "", **frame}
        return self._delta(frame)

    def install_spelled_out(self, conversation: Conversation, message: Message) -> str:
        """`{"o":"add","v":..,"c":N}`: add restated, root path carried over."""
        self._o = None
        return self.install(conversation, message)

    def append(self, message: Message, chunk: str) -> str:
        """A text chunk; consecutive chunks cycle through the shapes the captures use."""
        path = text_path(message)
        op = {"p": path, "o": "append", "v": chunk}
        shape = self._appends % 5
        self._appends += 1
        if self._o == "patch" and shape == 4:
            return self._delta({"v": [op]})  # a bare list continues the last patch
        if shape == 3:
            return self._delta({"p": "", "o": "patch", "v": [op]})
        if self._p == path and self._o == "append":
            return self._delta({"v": chunk})
        return self._delta(op)  # no `c`: the channel carries over from the install

    def replace(self, path: str, value: Any) -> str:
        """A top-level replace of one field of the current message."""
        return self._delta({"p": path, "o": "replace", "v": value})

    def settle(self, message: Message) -> list[str]:
        """Finish a message with top-level replaces of `status` and `end_turn`."""
        return [
            self.replace("/message/status", message.status),
            self.replace("/message/end_turn", message.end_turn),
        ]

    def close(self, message: Message, chunk: str, token_count: int) -> list[str]:
        """The answer's closing patch without `p`: last text, status, end_turn, metadata."""
        ops: list[dict[str, Any]] = []
        if chunk:
            ops.append({"p": text_path(message), "o": "append", "v": chunk})
        ops += [
            {"p": "/message/status", "o": "replace", "v": message.status},
            {"p": "/message/end_turn", "o": "replace", "v": message.end_turn},
            {"p": "/message/metadata/token_count", "o": "replace", "v": token_count},
        ]
        metadata: dict[str, Any] = {"is_complete": True, "can_save": True}
        if message.finish_type:
            metadata["finish_details"] = {"type": message.finish_type}
        if message.sources:
            metadata["content_references"] = content_references(message.sources, message.text)
        ops.append({"p": "/message/metadata", "o": "append", "v": metadata})
        self._p = None  # the patch leaves `p` ambiguous to a careless reader: restate next
        return [
            self._delta({"o": "patch", "v": ops}),
            self.replace("/message/metadata/conversation_followup_suggestions_eligible", True),
        ]

    def failure(self, conversation: Conversation, text: str) -> list[str]:
        """An in-stream error: a root without a message, then `[DONE]`."""
        return [self.install(conversation, None, text), DONE]


def new_token() -> str:
    return uuid.uuid4().hex
