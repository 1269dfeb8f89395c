"""A stateless OpenAI `messages` array -> a ChatGPT web chat, and which chat to continue.

OpenAI clients resend the whole history on every call; ChatGPT keeps it server-side in a
chat. After each finished answer the bridge stores a hash of the complete history (system
text, every turn, the answer exactly as returned) -> that chat. A later request whose
history up to its last assistant message hashes to a stored key is the natural follow-up:
only its new trailing messages are typed into that chat. The key is dropped when claimed,
so re-sending the same request (a "regenerate") cannot stack a second answer into the chat.

Anything else (an edited history, a first message, a chat already busy) opens a new
temporary chat with the history flattened into one prompt. A client can also pin a chat
explicitly (`X-Conversation-Id`); then only the trailing messages are typed, as in a
follow-up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.api.inputs import FileSource
from app.api.schemas import ChatMessage
from app.db import Database

logger = logging.getLogger(__name__)

KEY_LIFETIME = 30 * 24 * 3600.0
"""Seconds a stored history stays continuable; older keys are pruned."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_conversations (
    key TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    temporary INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS api_conversations_chat ON api_conversations (conversation_id);
"""

_LABELS = {"user": "User", "assistant": "Assistant", "tool": "Tool result"}
_REPLY_INSTRUCTION = (
    "[Reply to the last message above as the assistant, following the system instructions "
    "if there are any. Write only the reply, without a role label.]"
)


@dataclass(frozen=True)
class Message:
    """One message reduced to what a web chat can carry: a role, plain text, attachments."""

    role: Literal["system", "user", "assistant", "tool"]
    text: str
    name: str | None = None
    files: tuple[FileSource, ...] = ()

    @property
    def label(self) -> str:
        label = _LABELS.get(self.role, self.role.title())
        return f"{label} ({self.name})" if self.name else label

    @property
    def transcript(self) -> str:
        """The message in a transcript: its label, its text, the files it attached."""
        attached = f" [attached: {', '.join(f.label for f in self.files)}]" if self.files else ""
        return f"{self.label}: {self.text}{attached}"


def files_of(messages: Sequence[Message]) -> tuple[FileSource, ...]:
    return tuple(source for message in messages for source in message.files)


def normalise(messages: Sequence[ChatMessage]) -> list[Message]:
    """developer -> system, function -> tool, text parts joined, tool calls written out."""
    normalised = []
    for message in messages:
        content = message.content
        parts = () if isinstance(content, str) else content or ()
        lines = [content] if isinstance(content, str) else [p.text for p in parts if not p.source]
        files = tuple(part.source for part in parts if part.source)
        calls = [call.function for call in message.tool_calls or () if call.function]
        if message.function_call:
            calls.append(message.function_call)
        lines += [f"[Called tool {call.name} with arguments {call.arguments}]" for call in calls]
        text = "\n".join(lines)
        if message.role in ("system", "developer"):
            normalised.append(Message("system", text, message.name))
        elif message.role in ("tool", "function"):
            normalised.append(Message("tool", text, message.tool_call_id or message.name))
        else:
            normalised.append(Message(message.role, text, message.name, files))
    return normalised


@dataclass(frozen=True)
class Dialogue:
    """System text S, history H (up to the last assistant message) and trailing messages T."""

    system: str
    turns: tuple[Message, ...]

    @classmethod
    def of(cls, messages: Sequence[Message]) -> Dialogue:
        system = "\n\n".join(message.text for message in messages if message.role == "system")
        turns = tuple(message for message in messages if message.role != "system")
        if not turns:  # only system text: that text is the question
            return cls("", (Message("user", system),))
        return cls(system, turns)

    @property
    def _split(self) -> int:
        assistant = [i for i, message in enumerate(self.turns) if message.role == "assistant"]
        return assistant[-1] + 1 if assistant else 0

    @property
    def history(self) -> tuple[Message, ...]:
        return self.turns[: self._split]

    @property
    def trailing(self) -> tuple[Message, ...]:
        return self.turns[self._split :]

    def key(self, model: str, turns: Sequence[Message]) -> str:
        canonical = [model, self.system.strip()]
        canonical += [
            [message.role, message.name, message.text.strip(), [f.identity for f in message.files]]
            for message in turns
        ]
        return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


class PromptRejectedError(ValueError):
    """The request holds nothing to ask ChatGPT."""


@dataclass(frozen=True)
class ChatPlan:
    """Where and what to type for one request."""

    prompt: str
    conversation_id: str | None
    temporary: bool
    how: Literal["new", "continued", "pinned"]
    claimed_key: str | None = None
    files: tuple[FileSource, ...] = ()
    """What the typed messages attach (a new chat: every message's files)."""


def flatten(dialogue: Dialogue, instruction: str | None = None) -> str:
    """One prompt for a new chat: system block, transcript, last message, instruction."""
    *earlier, last = dialogue.turns
    if not dialogue.system and not earlier:
        return continuation((last,), instruction)
    sections = []
    if dialogue.system:
        sections.append(f"[System instructions]\n{dialogue.system}\n[End of system instructions]")
    if earlier:
        transcript = "\n\n".join(message.transcript for message in earlier)
        sections.append(f"[Conversation so far]\n{transcript}\n[End of conversation so far]")
    sections.append(continuation((last,)))
    sections.append(_REPLY_INSTRUCTION)
    if instruction:
        sections.append(instruction)
    return "\n\n".join(sections)


def continuation(messages: Sequence[Message], instruction: str | None = None) -> str:
    """What to type into a chat that already holds the history: just the new messages."""
    if len(messages) == 1 and messages[0].role == "user" and not messages[0].name:
        text = messages[0].text
    else:
        text = "\n\n".join(message.transcript for message in messages)
    return f"{text}\n\n{instruction}" if instruction else text


class ConversationMap:
    """History hashes -> ChatGPT chats, in the bridge's SQLite database (`setup()` first)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._busy: Counter[str] = Counter()

    async def setup(self) -> None:
        """Create the table: once, when the app starts, before the first request."""
        await self._db.create_tables(_SCHEMA)

    async def plan(
        self,
        dialogue: Dialogue,
        model: str,
        *,
        pinned: str | None = None,
        instruction: str | None = None,
    ) -> ChatPlan:
        """Decide where the request goes. Call `release()` when its turn is over."""
        if pinned:
            typed = dialogue.trailing or dialogue.turns[-1:]
            files = files_of(typed)
            prompt = _checked(continuation(typed, instruction), files)
            # The pinned chat grows by this turn: every stored history of it is stale now.
            await self._db.write(
                "DELETE FROM api_conversations WHERE conversation_id = ?", (pinned,)
            )
            plan = ChatPlan(prompt, pinned, temporary=False, how="pinned", files=files)
        else:
            files = files_of(dialogue.turns)
            plan = await self._continue(dialogue, model, instruction) or ChatPlan(
                _checked(flatten(dialogue, instruction), files),
                None,
                temporary=True,
                how="new",
                files=files,
            )
        if plan.conversation_id:
            self._busy[plan.conversation_id] += 1
        logger.debug("request -> %s chat %s", plan.how, plan.conversation_id or "(new)")
        return plan

    def release(self, plan: ChatPlan) -> None:
        """The plan's turn is over (synchronous: it runs in cancelled contexts too)."""
        if plan.conversation_id:
            self._busy[plan.conversation_id] -= 1
            if self._busy[plan.conversation_id] <= 0:
                del self._busy[plan.conversation_id]

    async def restore(self, plan: ChatPlan) -> None:
        """The prompt never reached ChatGPT: make the claimed history continuable again."""
        if plan.claimed_key and plan.conversation_id:
            await self._store(plan.claimed_key, plan.conversation_id, plan.temporary)

    async def remember(
        self,
        dialogue: Dialogue,
        model: str,
        reply: str,
        conversation_id: str,
        *,
        temporary: bool,
    ) -> None:
        """The chat now holds exactly this history plus `reply`: a follow-up may continue it."""
        key = dialogue.key(model, (*dialogue.turns, Message("assistant", reply)))
        await self._store(key, conversation_id, temporary)

    async def _continue(
        self, dialogue: Dialogue, model: str, instruction: str | None
    ) -> ChatPlan | None:
        if not dialogue.history or not dialogue.trailing:
            return None
        files = files_of(dialogue.trailing)
        prompt = _checked(continuation(dialogue.trailing, instruction), files)
        key = dialogue.key(model, dialogue.history)
        found = await self._db.fetch_one(
            "SELECT conversation_id FROM api_conversations WHERE key = ?", (key,)
        )
        if found is None or found[0] in self._busy:
            return None
        # Claiming deletes the key: of two identical requests only one continues the chat.
        async with self._db.transaction() as connection:
            claimed = await connection.execute_fetchall(
                "DELETE FROM api_conversations WHERE key = ? RETURNING conversation_id, temporary",
                (key,),
            )
        if not claimed:
            return None
        (conversation_id, temporary), *_ = claimed
        return ChatPlan(
            prompt,
            conversation_id,
            temporary=bool(temporary),
            how="continued",
            claimed_key=key,
            files=files,
        )

    async def _store(self, key: str, conversation_id: str, temporary: bool) -> None:
        now = time.time()
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT OR REPLACE INTO api_conversations"
                " (key, conversation_id, temporary, created) VALUES (?, ?, ?, ?)",
                (key, conversation_id, int(temporary), now),
            )
            await connection.execute(
                "DELETE FROM api_conversations WHERE created < ?", (now - KEY_LIFETIME,)
            )


def _checked(prompt: str, files: Sequence[FileSource]) -> str:
    """A prompt with something to ask: text, or files (a long one is the browser's to send)."""
    if not prompt.strip() and not files:
        raise PromptRejectedError("The last message is empty: there is nothing to ask.")
    return prompt
