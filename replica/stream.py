"""Server-sent-event frames of the conversation stream, in both encodings the web app uses.

`V1Encoder` speaks "delta v1" and deliberately uses every frame shape the real stream uses
(explicit `p`/`o`/`c`, bare `{"v": ..}` relying on carry-over, `patch` batches, `{"v": [..]}`
batches, root `add`), so a decoder that only handles the common case fails against it.
`LegacyEncoder` sends every event as the full cumulative `{message, conversation_id, error}`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Protocol

from replica.store import Conversation, Message

DONE = "data: [DONE]\n\n"
ERROR_TEXT = (
    "Something went wrong while generating the response. If this issue persists please "
    "contact us through our help center at help.openai.com."
)


def sse(data: Any, event: str | None = None) -> str:
    """One SSE event with JSON `data` (only the `[DONE]` sentinel is sent raw)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def text_path(message: Message) -> str:
    """Where a message's streamed text lives inside the stream's root object."""
    if message.content_type == "thoughts":
        return "/message/content/thoughts/0/content"
    if message.content_type == "reasoning_recap":
        return "/message/content/content"
    return "/message/content/parts/0"


class Encoder(Protocol):
    def opening(self, conversation: Conversation, user: Message) -> list[str]: ...
    def begin(self, conversation: Conversation, message: Message) -> list[str]: ...
    def append(self, conversation: Conversation, message: Message, chunk: str) -> list[str]: ...
    def title(self, conversation: Conversation) -> list[str]: ...
    def finish(self, conversation: Conversation, message: Message, chunk: str) -> list[str]: ...
    def error(self, conversation: Conversation, text: str) -> list[str]: ...
    def closing(self, conversation: Conversation) -> list[str]: ...
    def resumed(self) -> list[str]: ...


def handoff_event(conversation: Conversation) -> str:
    """The rest of this answer continues on `/backend-api/f/conversation/resume`."""
    return sse(
        {
            "type": "stream_handoff",
            "conversation_id": conversation.id,
            "options": [{"type": "resume", "url": "/backend-api/f/conversation/resume"}],
        }
    )


def _title_event(conversation: Conversation) -> str:
    return sse(
        {
            "type": "title_generation",
            "title": conversation.title,
            "conversation_id": conversation.id,
        }
    )


def _closing_events(conversation: Conversation) -> list[str]:
    return [
        sse({"type": "message_stream_complete", "conversation_id": conversation.id}),
        sse(
            {
                "type": "conversation_detail_metadata",
                "banner_info": None,
                "blocked_features": [],
                "model_limits": [],
                "limits_progress": [],
                "default_model_slug": conversation.model,
                "conversation_id": conversation.id,
            }
        ),
        DONE,
    ]


class V1Encoder:
    """Delta-v1 frames; remembers the carried-over `p`, `o` and `c` of the last frame."""

    def __init__(self) -> None:
        self._p: str | None = None
        self._o: str | None = None
        self._c: int | None = None
        self._channels = 0
        self._appends = 0

    def _delta(self, frame: dict[str, Any]) -> str:
        self._p = frame.get("p", self._p)
        self._o = frame.get("o", self._o)
        self._c = frame.get("c", self._c)
        return sse(frame, event="delta")

    def _root(self, conversation: Conversation, message: Message | None, error: Any) -> str:
        channel = self._channels
        self._channels += 1
        root = {
            "message": message.to_api() if message else None,
            "conversation_id": conversation.id,
            "error": error,
        }
        return self._delta({"p": "", "o": "add", "v": root, "c": channel})

    def opening(self, conversation: Conversation, user: Message) -> list[str]:
        return [
            sse("v1", event="delta_encoding"),
            sse(
                {
                    "type": "resume_conversation_token",
                    "kind": "topic",
                    "token": uuid.uuid4().hex,
                    "conversation_id": conversation.id,
                }
            ),
            self._root(conversation, user, None),
            sse(
                {
                    "type": "input_message",
                    "input_message": user.to_api(),
                    "conversation_id": conversation.id,
                }
            ),
        ]

    def begin(self, conversation: Conversation, message: Message) -> list[str]:
        self._appends = 0
        return [
            self._root(conversation, message, None),
            sse(
                {
                    "type": "server_ste_metadata",
                    "metadata": {"model_slug": message.model, "turn_exchange_id": message.id},
                    "conversation_id": conversation.id,
                }
            ),
        ]

    def append(self, conversation: Conversation, message: Message, chunk: str) -> list[str]:
        """A text chunk, in a shape that cycles through every shape the real stream uses."""
        path = text_path(message)
        channel = self._channels - 1
        shape = self._appends % 6
        self._appends += 1
        if shape == 5 and len(chunk) > 1:
            half = len(chunk) // 2
            ops = [
                {"p": path, "o": "append", "v": chunk[:half]},
                {"p": path, "o": "append", "v": chunk[half:]},
            ]
            return [self._delta({"p": "", "o": "patch", "v": ops})]
        carried = self._p == path and self._o == "append" and self._c == channel
        if not carried:
            return [self._delta({"p": path, "o": "append", "v": chunk, "c": channel})]
        if shape == 2:
            frame = self._delta({"v": [{"p": path, "o": "append", "v": chunk}]})
            self._p = None  # a batch's carry-over is ambiguous: restate in the next frame
            return [frame]
        return [self._delta({"v": chunk})]

    def title(self, conversation: Conversation) -> list[str]:
        return [_title_event(conversation)]

    def finish(self, conversation: Conversation, message: Message, chunk: str) -> list[str]:
        ops: list[dict[str, Any]] = []
        if chunk:
            ops.append({"p": text_path(message), "o": "append", "v": chunk})
        ops.append({"p": "/message/status", "o": "replace", "v": message.status})
        if message.end_turn is not None:
            ops.append({"p": "/message/end_turn", "o": "replace", "v": message.end_turn})
        metadata: dict[str, Any] = {"is_complete": True}
        if message.finish_type:
            metadata["finish_details"] = {"type": message.finish_type}
        ops.append({"p": "/message/metadata", "o": "append", "v": metadata})
        return [self._delta({"p": "", "o": "patch", "v": ops, "c": self._channels - 1})]

    def error(self, conversation: Conversation, text: str) -> list[str]:
        return [self._root(conversation, None, text), DONE]

    def resumed(self) -> list[str]:
        """A resumed stream announces its encoding again and relies on no carry-over."""
        self._p = self._o = self._c = None
        return [sse("v1", event="delta_encoding")]

    def closing(self, conversation: Conversation) -> list[str]:
        return _closing_events(conversation)


class LegacyEncoder:
    """The pre-2024 encoding: each event is the whole message so far."""

    @staticmethod
    def _full(conversation: Conversation, message: Message | None, error: Any = None) -> str:
        return sse(
            {
                "message": message.to_api() if message else None,
                "conversation_id": conversation.id,
                "error": error,
            }
        )

    def opening(self, conversation: Conversation, user: Message) -> list[str]:
        return [self._full(conversation, user)]

    def begin(self, conversation: Conversation, message: Message) -> list[str]:
        return [self._full(conversation, message)]

    def append(self, conversation: Conversation, message: Message, chunk: str) -> list[str]:
        return [self._full(conversation, message)]

    def title(self, conversation: Conversation) -> list[str]:
        return [_title_event(conversation)]

    def finish(self, conversation: Conversation, message: Message, chunk: str) -> list[str]:
        return [self._full(conversation, message)]

    def error(self, conversation: Conversation, text: str) -> list[str]:
        return [self._full(conversation, None, text), DONE]

    def resumed(self) -> list[str]:
        return []  # every legacy event is whole already

    def closing(self, conversation: Conversation) -> list[str]:
        return _closing_events(conversation)
