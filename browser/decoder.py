"""Decode the conversation endpoint's SSE stream into the answer's Markdown.

The web app's stream is "delta v1": JSON-pointer operations on a small root document
`{message, conversation_id, error}`, where `p`, `o` and `c` carry over from the previous frame
when omitted, `patch` frames and `{"v": [...]}` frames are batches, and `p: ""` + `add`
installs a new root (one per message: the echoed user message, thoughts, the answer...).
Older streams send every event as the full cumulative root instead ("legacy"). Both feed the
same model here: messages by id, in the order they appeared.

Only the assistant's `text` messages addressed to everyone count as the answer: thinking
models also stream `thoughts` / `reasoning_recap` messages and tool calls, and the user's own
message is echoed with status `finished_successfully` too, so "a message finished" alone is
never "the answer finished".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

FINISHED_STATUSES = frozenset({"finished_successfully", "finished_partial_completion"})
FINISH_REASONS = {"stop": "stop", "max_tokens": "length", "interrupted": "cancelled"}


class SSEParser:
    """Incremental `text/event-stream` parser: feed text, get `(event, data)` pairs."""

    def __init__(self) -> None:
        self._buffer = ""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, text: str) -> list[tuple[str | None, str]]:
        self._buffer += text
        events: list[tuple[str | None, str]] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return events
            line, self._buffer = self._buffer[: cut[0]], self._buffer[cut[1] :]
            self._line(line, events)

    def close(self) -> list[tuple[str | None, str]]:
        """The stream ended: a last event without its blank line still counts."""
        events: list[tuple[str | None, str]] = []
        if self._buffer:
            self._line(self._buffer, events)
            self._buffer = ""
        self._line("", events)
        return events

    def _line(self, line: str, events: list[tuple[str | None, str]]) -> None:
        if not line:
            if self._data:
                events.append((self._event, "\n".join(self._data)))
            self._event, self._data = None, []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)


def _line_end(buffer: str) -> tuple[int, int] | None:
    """Position and length-inclusive end of the first complete line (\\n, \\r\\n or \\r)."""
    for index, char in enumerate(buffer):
        if char == "\n":
            return index, index + 1
        if char == "\r":
            if index + 1 == len(buffer):
                return None  # a "\n" may follow in the next chunk
            return index, index + (2 if buffer[index + 1] == "\n" else 1)
    return None


@dataclass
class StreamState:
    """What the stream has said so far. Read it after each `feed`."""

    conversation_id: str | None = None
    user_message_id: str | None = None
    answer_message_id: str | None = None
    model: str | None = None
    title: str | None = None
    text: str = ""
    status: str | None = None
    end_turn: bool | None = None
    finish_type: str | None = None
    error: str | None = None
    stream_complete: bool = False
    """`message_stream_complete` or `[DONE]` arrived."""
    ended: bool = False
    """The HTTP body ended (normally or not)."""
    handoff: bool = False
    """The rest of the stream moved elsewhere (`stream_handoff`)."""
    rewritten: bool = False
    """Already-emitted text was changed by the stream (truncate/replace): deltas diverge."""

    @property
    def answer_finished(self) -> bool:
        return finished(self.status, self.end_turn)

    @property
    def done(self) -> bool:
        """Terminal: the answer finished and the stream said so, or the stream failed."""
        if self.error is not None:
            return True
        return self.answer_finished and self.stream_complete

    @property
    def finish_reason(self) -> str | None:
        if self.finish_type in FINISH_REASONS:
            return FINISH_REASONS[self.finish_type]
        if self.status == "finished_partial_completion":
            return "cancelled"
        if self.status == "finished_successfully":
            return "stop"
        return None


class StreamDecoder:
    """Stateful decoder of one conversation response. `feed` returns the new answer text."""

    def __init__(self) -> None:
        self.state = StreamState()
        self._sse = SSEParser()
        self._roots: dict[Any, dict[str, Any]] = {}
        self._messages: dict[str, dict[str, Any]] = {}
        self._p: str | None = None
        self._o: str | None = None
        self._c: Any = None

    def feed(self, text: str) -> str:
        before = self.state.text
        for event, data in self._sse.feed(text):
            self._event(event, data)
        return self._refresh(before)

    def close(self) -> str:
        """The body ended; returns text from a final event that lacked its blank line."""
        before = self.state.text
        for event, data in self._sse.close():
            self._event(event, data)
        self.state.ended = True
        return self._refresh(before)

    # --- events -----------------------------------------------------------------------------

    def _event(self, event: str | None, data: str) -> None:
        state = self.state
        if data.strip() == "[DONE]":
            state.stream_complete = True
            return
        try:
            payload = json.loads(data)
        except ValueError:
            if event == "error":
                state.error = data.strip() or "the stream reported an error"
            else:
                logger.debug("ignoring a non-JSON event %r", data[:80])
            return
        if event == "delta_encoding":
            return
        if event == "error":
            state.error = _error_text(payload) or "the stream reported an error"
            return
        if isinstance(payload, dict):
            self._frame(payload)

    def _frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if isinstance(kind, str):
            self._typed(kind, frame)
        elif "v" in frame or "o" in frame:
            self._delta(frame)
        elif "message" in frame or "error" in frame:
            self._legacy(frame)

    def _typed(self, kind: str, frame: dict[str, Any]) -> None:
        state = self.state
        _note_conversation(state, frame.get("conversation_id"))
        if kind == "title_generation" and isinstance(frame.get("title"), str):
            state.title = frame["title"]
        elif kind == "message_stream_complete":
            state.stream_complete = True
        elif kind == "stream_handoff":
            state.handoff = True
        elif kind == "input_message":
            message = frame.get("input_message")
            if isinstance(message, dict) and isinstance(message.get("id"), str):
                state.user_message_id = message["id"]
        elif kind == "server_ste_metadata":
            metadata = frame.get("metadata") or {}
            if isinstance(metadata, dict) and isinstance(metadata.get("model_slug"), str):
                state.model = state.model or metadata["model_slug"]
        elif kind == "error":
            state.error = _error_text(frame) or "the stream reported an error"

    def _legacy(self, root: dict[str, Any]) -> None:
        """A full cumulative root: it replaces what we knew of that message."""
        self._install(root, channel=("legacy", _message_id(root)))

    def _delta(self, frame: dict[str, Any]) -> None:
        if "c" in frame:
            self._c = frame["c"]
        value = frame.get("v")
        operation = frame.get("o", self._o)
        if frame.get("o") == "patch" or (
            "o" not in frame and "p" not in frame and _is_operation_list(value)
        ):
            # A batch: its items carry over among themselves, and the last one is what a
            # following bare `{"v": ...}` continues.
            path, operation = "", "append"
            for item in value if isinstance(value, list) else []:
                if isinstance(item, dict):
                    path, operation = item.get("p", path), item.get("o", operation)
                    self._apply(path, operation, item.get("v"))
            self._p, self._o = path, operation
            return
        path = frame.get("p", self._p)
        self._p, self._o = path, operation
        if path is None or operation is None:
            logger.debug("ignoring a delta frame without path or operation: %r", frame)
            return
        self._apply(path, operation, value)

    def _apply(self, path: str, operation: str, value: Any) -> None:
        if path == "" and operation in ("add", "replace"):
            if isinstance(value, dict):
                self._install(value, channel=self._c)
            return
        root = self._roots.get(self._c)
        if root is None:
            logger.debug("delta for unknown channel %r", self._c)
            return
        try:
            _apply_pointer(root, _pointer(path), operation, value)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            logger.debug("cannot apply %s %s: %s", operation, path, error)
            return
        if path.startswith("/message"):
            self._note(root)
        elif path == "/error" and root.get("error"):
            self.state.error = _error_text(root["error"])
        elif path == "/conversation_id":
            _note_conversation(self.state, root.get("conversation_id"))

    def _install(self, root: dict[str, Any], channel: Any) -> None:
        root = json.loads(json.dumps(root))  # our own copy: ops mutate it
        self._roots[channel] = root
        _note_conversation(self.state, root.get("conversation_id"))
        if root.get("error"):
            self.state.error = _error_text(root["error"])
        message = root.get("message")
        if isinstance(message, dict) and isinstance(message.get("id"), str):
            previous = self._messages.get(message["id"])
            if previous is not None and previous is not message:
                previous.clear()
                previous.update(message)
                root["message"] = previous
            else:
                self._messages[message["id"]] = message
            self._note(root)

    def _note(self, root: dict[str, Any]) -> None:
        """Update the state from a root whose message changed."""
        message = root.get("message")
        if not isinstance(message, dict):
            return
        role = (message.get("author") or {}).get("role")
        state = self.state
        if role == "user" and isinstance(message.get("id"), str):
            state.user_message_id = message["id"]
        if not is_answer(message):
            return
        state.answer_message_id = message.get("id")
        metadata = message.get("metadata") or {}
        if isinstance(metadata.get("model_slug"), str):
            state.model = metadata["model_slug"]
        state.status = message.get("status")
        state.end_turn = message.get("end_turn")
        details = metadata.get("finish_details")
        if isinstance(details, dict) and isinstance(details.get("type"), str):
            state.finish_type = details["type"]

    def _refresh(self, before: str) -> str:
        """Recompute the answer text; return what was appended since `before`."""
        text = "\n\n".join(
            filter(None, (message_text(m) for m in self._messages.values() if is_answer(m)))
        )
        self.state.text = text
        if text.startswith(before):
            return text[len(before) :]
        if not self.state.rewritten:
            logger.warning("the stream rewrote text it had already sent; deltas diverge")
        self.state.rewritten = True
        return ""


def finished(status: str | None, end_turn: bool | None) -> bool:
    """An answer message is over: it ended the turn, or was stopped part-way."""
    if status not in FINISHED_STATUSES:
        return False
    return bool(end_turn) or status == "finished_partial_completion"


def message_text(message: dict[str, Any]) -> str:
    """The text of a message's `parts` (non-text parts, e.g. images, are skipped)."""
    content = message.get("content") or {}
    parts = content.get("parts") or []
    return "".join(part for part in parts if isinstance(part, str))


def is_answer(message: dict[str, Any]) -> bool:
    """An assistant `text` message for everyone: what the person reads as the answer."""
    if (message.get("author") or {}).get("role") != "assistant":
        return False
    if (message.get("content") or {}).get("content_type") != "text":
        return False
    if message.get("recipient", "all") not in ("all", None):
        return False
    return message.get("channel") in (None, "final")


def _is_operation_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and ("o" in item or "p" in item) for item in value)
    )


def _message_id(root: dict[str, Any]) -> Any:
    message = root.get("message")
    return message.get("id") if isinstance(message, dict) else None


def _note_conversation(state: StreamState, conversation_id: Any) -> None:
    if isinstance(conversation_id, str) and conversation_id:
        state.conversation_id = conversation_id


def _error_text(error: Any) -> str | None:
    """A readable sentence from the many shapes an error takes in the stream."""
    if error is None:
        return None
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        for key in ("message", "detail", "error"):
            if key in error:
                return _error_text(error[key])
    return json.dumps(error)[:500]


def _pointer(path: str) -> list[str]:
    if not path:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in path.lstrip("/").split("/")]


def _apply_pointer(root: Any, tokens: list[str], operation: str, value: Any) -> None:
    """Apply one JSON-pointer operation of the delta encoding to `root` in place."""
    *parents, last = tokens
    container = root
    for token in parents:
        container = container[int(token)] if isinstance(container, list) else container[token]
    key: Any = last
    if isinstance(container, list):
        key = len(container) if last == "-" else int(last)
    if operation == "add":
        if isinstance(container, list):
            container.insert(key, value)
        else:
            container[key] = value
    elif operation == "replace":
        container[key] = value
    elif operation == "remove":
        del container[key]
    elif operation == "append":
        current = container[key] if _has(container, key) else None
        if current is None:
            container[key] = value
        elif isinstance(current, str):
            container[key] = current + str(value)
        elif isinstance(current, list):
            current.extend(value if isinstance(value, list) else [value])
        elif isinstance(current, dict) and isinstance(value, dict):
            current.update(value)
        else:
            raise TypeError(f"cannot append to {type(current).__name__}")
    elif operation == "truncate":
        current = container[key]
        container[key] = current[: int(value)]
    else:
        raise ValueError(f"unknown operation {operation!r}")


def _has(container: Any, key: Any) -> bool:
    if isinstance(container, list):
        return 0 <= key < len(container)
    return key in container
