"""What the replica's server remembers: conversations, their messages, and every send.

The store is the ground truth tests compare a driver against: the exact prompt the page
posted and the exact Markdown the model produced, independent of what any DOM shows.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

ROOT_ID = "client-created-root"


@dataclass
class Message:
    """One node of a conversation's message tree (a linear chain in the replica)."""

    id: str
    role: str  # "user" | "assistant"
    text: str
    parent: str
    model: str | None = None
    content_type: str = "text"  # "text" | "thoughts" | "reasoning_recap"
    status: str = "finished_successfully"
    end_turn: bool | None = None
    finish_type: str | None = None
    create_time: float = field(default_factory=time.time)

    def to_api(self) -> dict[str, Any]:
        """The message as `/backend-api/conversation/<id>` and the stream show it."""
        if self.content_type == "thoughts":
            content: dict[str, Any] = {
                "content_type": "thoughts",
                "thoughts": [{"summary": "Thinking", "content": self.text}],
                "source_analysis_msg_id": None,
            }
        elif self.content_type == "reasoning_recap":
            content = {"content_type": "reasoning_recap", "content": self.text}
        else:
            content = {"content_type": "text", "parts": [self.text]}
        metadata: dict[str, Any] = {}
        if self.role == "assistant":
            metadata = {"model_slug": self.model, "default_model_slug": self.model}
            if self.finish_type:
                metadata["finish_details"] = {"type": self.finish_type}
                metadata["is_complete"] = True
        return {
            "id": self.id,
            "author": {"role": self.role, "name": None, "metadata": {}},
            "create_time": self.create_time,
            "update_time": None,
            "content": content,
            "status": self.status,
            "end_turn": self.end_turn,
            "weight": 1.0,
            "metadata": metadata,
            "recipient": "all",
            "channel": "final"
            if self.content_type == "text" and self.role == "assistant"
            else None,
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

    @property
    def current_node(self) -> str:
        return self.messages[-1].id if self.messages else ROOT_ID

    def user_message_count(self) -> int:
        return sum(1 for message in self.messages if message.role == "user")

    def to_api(self) -> dict[str, Any]:
        """The shape of `GET /backend-api/conversation/<id>`."""
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
            "is_archived": False,
            "is_temporary": self.temporary,
        }

    def to_test_view(self) -> dict[str, Any]:
        """The helper view for tests: the text messages only, exactly as stored."""
        return {
            "id": self.id,
            "model": self.model,
            "temporary": self.temporary,
            "title": self.title,
            "user_messages": self.user_message_count(),
            "messages": [
                {"id": m.id, "role": m.role, "text": m.text, "status": m.status}
                for m in self.messages
                if m.content_type == "text"
            ],
        }


class Store:
    """Conversations by id plus the log of every conversation POST, in arrival order."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.sends: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.conversations.clear()
        self.sends.clear()

    def create(self, model: str, temporary: bool) -> Conversation:
        conversation = Conversation(id=str(uuid.uuid4()), model=model, temporary=temporary)
        self.conversations[conversation.id] = conversation
        return conversation

    def listed(self) -> list[Conversation]:
        """History entries, newest first; temporary and anonymous chats are never listed."""
        items = [c for c in self.conversations.values() if not c.temporary and not c.anonymous]
        return sorted(items, key=lambda c: c.create_time, reverse=True)
