"""What the replica's server remembers: conversations, their messages, and every send.

The store is the ground truth tests compare a driver against: the exact prompt the page
posted and the exact Markdown the model produced, independent of what any DOM shows.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from replica import sandbox
from replica.uploads import Upload

ROOT_ID = "client-created-root"
IMAGE_POINTER = "sediment://file_{id}"
ASYNC_STREAMING = 3
"""`conversation_async_status` / read-back `async_status` value for "still streaming"."""


CITE_MARKER = "\ue200cite\ue202turn0search0\ue201"
"""Where a searched answer cites its first search result, inside the text (docs/replica.md)."""


def content_references(sources: list[dict[str, str]], text: str) -> list[dict[str, Any]]:
    """A searched answer's sources as the message metadata carries them (docs/replica.md):
    one reference resolving the marker in `text` (its code-point span, as the stored one
    says), or an unplaced one when the text has no marker."""
    start = text.find(CITE_MARKER)
    if start < 0:
        return [{"type": "grouped_webpages", "matched_text": "", "items": sources}]
    return [
        {
            "type": "grouped_webpages",
            "matched_text": CITE_MARKER,
            "start_idx": start,
            "end_idx": start + len(CITE_MARKER),
            "items": sources,
        }
    ]


@dataclass
class Message:
    """One node of a conversation's message tree (a linear chain in the replica).

    A turn holds more than the user message and the answer: hidden system/context messages,
    the reasoning of a thinking model and tool messages come first (docs/replica.md)."""

    id: str
    role: str  # "user" | "assistant" | "system" | "tool"
    text: str
    parent: str
    model: str | None = None
    content_type: str = "text"
    """"text" | "thoughts" | "reasoning_recap" | "model_editable_context" | "code" |
    "multimodal_text"."""
    status: str = "finished_successfully"
    end_turn: bool | None = None
    finish_type: str | None = None
    hidden: bool = False
    requested_model: str | None = None
    author_name: str | None = None
    image_id: str | None = None
    image: bytes | None = None
    """The PNG an image turn drew (`replica.pictures`), served through a signed link."""
    image_prompt: str | None = None
    recipient: str = "all"
    create_time: float = field(default_factory=time.time)
    attachments: list[Upload] = field(default_factory=list)
    """A user message's files, as its `metadata.attachments` named them."""
    sources: list[dict[str, str]] = field(default_factory=list)
    """A searched answer's web sources (`title`, `url`), its `content_references`."""

    def links(self, sandbox_path: str) -> bool:
        """Whether this is an answer linking a code-tool file by `sandbox:<path>`."""
        return self.role == "assistant" and f"sandbox:{sandbox_path}" in self.text

    @property
    def is_answer(self) -> bool:
        """The visible text a person reads: a user prompt or the final assistant answer."""
        return (
            self.content_type == "text" and not self.hidden and self.role in ("user", "assistant")
        )

    def _content(self) -> dict[str, Any]:
        if self.content_type == "thoughts":
            return {
                "content_type": "thoughts",
                "thoughts": [{"summary": "Thinking", "content": self.text}],
                "source_analysis_msg_id": None,
            }
        if self.content_type == "reasoning_recap":
            return {"content_type": "reasoning_recap", "content": self.text}
        if self.content_type == "model_editable_context":
            return {"content_type": "model_editable_context", "model_set_context": self.text}
        if self.content_type == "code":
            return {"content_type": "code", "language": "unknown", "text": self.text}
        if self.content_type == "multimodal_text":
            parts: list[Any] = []
            if self.image_id and self.image is not None:
                parts.append(
                    {
                        "content_type": "image_asset_pointer",
                        "asset_pointer": IMAGE_POINTER.format(id=self.image_id),
                        "size_bytes": len(self.image),
                        "width": 1024,
                        "height": 1024,
                        "metadata": {"dalle": {"prompt": self.image_prompt, "gen_id": None}},
                    }
                )
            return {"content_type": "multimodal_text", "parts": parts}
        images = [upload.content_part() for upload in self.attachments if upload.is_image]
        if images:
            return {"content_type": "multimodal_text", "parts": [*images, self.text]}
        return {"content_type": "text", "parts": [self.text]}

    def _metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"parent_id": self.parent}
        if self.image is not None:
            metadata["image_gen_title"] = self.image_prompt
        if self.hidden:
            metadata["is_visually_hidden_from_conversation"] = True
        if self.attachments:
            metadata["attachments"] = [upload.metadata() for upload in self.attachments]
        if self.role in ("assistant", "tool") or (self.role == "system" and self.model):
            metadata |= {
                "model_slug": self.model,
                "resolved_model_slug": self.model,
                "default_model_slug": self.model,
                "requested_model_slug": self.requested_model or self.model,
                "model_switcher_deny": [],
            }
            if self.finish_type:
                metadata["finish_details"] = {"type": self.finish_type}
                metadata["is_complete"] = True
        if self.sources:
            metadata["content_references"] = content_references(self.sources, self.text)
        return metadata

    def to_api(self) -> dict[str, Any]:
        """The message as the stream, the read-back and the old tree show it."""
        final = self.content_type == "text" and self.role == "assistant" and not self.hidden
        return {
            "id": self.id,
            "author": {"role": self.role, "name": self.author_name, "metadata": {}},
            "create_time": self.create_time,
            "update_time": None,
            "content": self._content(),
            "status": self.status,
            "end_turn": self.end_turn,
            "weight": 0.0 if self.hidden and self.role == "system" else 1.0,
            "metadata": self._metadata(),
            "recipient": self.recipient,
            "channel": "final" if final else None,
        }


@dataclass
class Conversation:
    id: str
    model: str
    temporary: bool
    title: str = "New chat"
    anonymous: bool = False  # started by a logged-out visitor: nobody's history lists it
    messages: list[Message] = field(default_factory=list)
    create_time: float = field(default_factory=time.time)
    streaming: bool = False
    async_pending: int = 0
    """Image turns whose picture has not reached the store yet (`conversation_async_status`)."""
    failed: bool = False
    gizmo_id: str | None = None
    """The custom GPT or project the chat runs in (its first send's `conversation_mode`)."""

    @property
    def current_node(self) -> str:
        return self.messages[-1].id if self.messages else ROOT_ID

    @property
    def update_time(self) -> float:
        """When the chat last changed: its newest message (the sidebar's `order=updated`)."""
        return max([self.create_time, *(message.create_time for message in self.messages)])

    def user_message_count(self) -> int:
        return sum(1 for message in self.messages if message.role == "user")

    def stream_status(self) -> str:
        """`IS_STREAMING` | `COMPLETE` | `FAILURE`, as `/stream_status` reports it."""
        if self.streaming or self.async_pending:
            return "IS_STREAMING"
        return "FAILURE" if self.failed else "COMPLETE"

    def turns(self) -> list[list[Message]]:
        """The messages grouped by turn: each user message with everything after it."""
        turns: list[list[Message]] = [[]]
        for message in self.messages:
            if message.role == "user" and turns[-1]:
                turns.append([])
            turns[-1].append(message)
        return [turn for turn in turns if turn]

    def page(self, num_turns: int, before: str | None) -> dict[str, Any]:
        """The newest `num_turns` turns (older than message `before`), as the page reads."""
        turns = self.turns()
        end = len(turns)
        if before:
            end = next((i for i, turn in enumerate(turns) if turn[0].id == before), end)
        start = max(0, end - num_turns)
        shown = turns[start:end]
        return {
            "conversation_id": self.id,
            "title": self.title,
            "default_model_slug": self.model,
            "gizmo_id": self.gizmo_id,
            "is_temporary": self.temporary,
            "async_status": ASYNC_STREAMING if self.stream_status() == "IS_STREAMING" else None,
            "current_node": self.current_node,
            "messages": [message.to_api() for turn in shown for message in turn],
            "page_info": {
                "has_previous_page": start > 0,
                "before": shown[0][0].id if shown and start > 0 else None,
            },
        }

    def to_api(self) -> dict[str, Any]:
        """The shape of the older `GET /backend-api/conversation/<id>` tree."""
        mapping: dict[str, Any] = {
            ROOT_ID: {"id": ROOT_ID, "message": None, "parent": None, "children": []}
        }
        for message in self.messages:
            mapping[message.id] = {
                "id": message.id,
                "message": message.to_api(),
                "parent": message.parent,
                "children": [],
            }
            mapping[message.parent]["children"].append(message.id)
        return {
            "conversation_id": self.id,
            "id": self.id,
            "title": self.title,
            "create_time": self.create_time,
            "update_time": time.time(),
            "mapping": mapping,
            "current_node": self.current_node,
            "default_model_slug": self.model,
            "gizmo_id": self.gizmo_id,
            "is_archived": False,
            "is_temporary": self.temporary,
        }

    def to_test_view(self) -> dict[str, Any]:
        """The helper view for tests: the visible text messages only, exactly as stored."""
        return {
            "id": self.id,
            "model": self.model,
            "temporary": self.temporary,
            "title": self.title,
            "user_messages": self.user_message_count(),
            "messages": [
                {"id": m.id, "role": m.role, "text": m.text, "status": m.status, "model": m.model}
                for m in self.messages
                if m.is_answer
            ],
        }


class Store:
    """Conversations by id plus the log of every conversation POST, in arrival order."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.sends: list[dict[str, Any]] = []
        self.uploads: dict[str, Upload] = {}
        self.feedback: list[dict[str, Any]] = []
        """Every rating the thumbs sent (`replica.routes.feedback`), in arrival order."""

    def reset(self) -> None:
        self.conversations.clear()
        self.sends.clear()
        self.uploads.clear()
        self.feedback.clear()

    def create(self, model: str, temporary: bool) -> Conversation:
        conversation = Conversation(id=str(uuid.uuid4()), model=model, temporary=temporary)
        self.conversations[conversation.id] = conversation
        return conversation

    def picture(self, file_id: str) -> bytes | None:
        """The PNG an image turn stored under `file_id` (`file_<hex>`), if any."""
        for conversation in self.conversations.values():
            for message in conversation.messages:
                if message.image is not None and f"file_{message.image_id}" == file_id:
                    return message.image
        return None

    def sandbox_file(self, file_id: str) -> tuple[bytes, str] | None:
        """The code-tool file (`replica.sandbox`) a signed link names, with its MIME type:
        made from the prompt of the turn whose answer links it."""
        path = sandbox.SANDBOX_DIR + sandbox.FILE_NAME
        for conversation in self.conversations.values():
            prompt = ""
            for message in conversation.messages:
                if message.role == "user":
                    prompt = message.text
                elif sandbox.file_id(message.id, path) == file_id and message.links(path):
                    return sandbox.content(prompt), sandbox.MIME_TYPE
        return None

    def listed(self) -> list[Conversation]:
        """History entries, last changed first; temporary and anonymous chats are never listed."""
        items = [c for c in self.conversations.values() if not c.temporary and not c.anonymous]
        return sorted(items, key=lambda c: c.update_time, reverse=True)
