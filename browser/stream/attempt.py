"""One attempt of a turn: the frames of one POST (and of its resume/WebSocket continuation).

Delta v1 is JSON-pointer operations on a small root document `{message, conversation_id,
error}` per channel `c` (one channel per message). What a frame leaves out carries over from
the frames before it, per source (one HTTP body or one WebSocket topic), as the 2026-09-28
captures show (k1liang/ChatGPT-Web2API `docs/send-post-stream-protocol.md`, fixtures s1/s3):

- `{"p":"","o":"add","v":{root},"c":N}`, `{"o":"add","v":{root},"c":N}` and
  `{"v":{root},"c":N}` all install a message on channel N, which later frames continue;
- `{"p":"/message/content/parts/0","o":"append","v":"..."}` (no `c`) appends on the channel;
- a bare `{"v":"text"}` continues the last *explicit string append*; patches and replaces do
  not move that target (the Rust parser's "hazard" note, and S3: an append, then bare frames,
  then a patch);
- `{"o":"patch","v":[...]}` with or without `"p":""` is a batch, and a bare `{"v":[...]}` is
  one more batch;
- any other frame missing `p` or `o` reuses the previous frame's.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from browser.events import Handoff, Progress, ProgressKind, Quota, Title, TurnEvent
from browser.stream import messages as msgs
from browser.stream import pointer

logger = logging.getLogger(__name__)


@dataclass
class Cursor:
    """What the next frame of one source inherits."""

    channel: Any = None
    path: str | None = None
    operation: str | None = None
    append_path: str | None = None


@dataclass
class Attempt:
    """The messages and typed events of one POST of the turn."""

    roots: dict[Any, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By id, in the order they first appeared."""
    prompt_ids: list[str] = field(default_factory=list)
    """Ids of the user's `input_message`s: which question this attempt answers."""
    conversation_id: str | None = None
    stream_complete: bool = False
    handoff: Handoff | None = None
    async_turn: bool = False
    """`conversation_async_status`: the result (an image...) arrives later, not as text.

    [KOBA] KobaProduction/browser-extensions `docs/CHATGPT_RUNTIME_CONTRACTS.md` (2026-10)."""
    server_model: str | None = None
    error: str | None = None
    events: list[TurnEvent] = field(default_factory=list)
    """Typed events not yet taken by the decoder."""
    _progress: set[tuple[str, str]] = field(default_factory=set)
    _last_progress: Progress | None = None

    # --- typed events ------------------------------------------------------------------------

    def typed(self, kind: str, frame: dict[str, Any]) -> None:
        self.note_conversation(frame.get("conversation_id"))
        handler = _TYPED.get(kind)
        if handler is not None:
            handler(self, frame)

    def _title(self, frame: dict[str, Any]) -> None:
        if isinstance(frame.get("title"), str):
            self.events.append(Title(frame["title"]))

    def _complete(self, frame: dict[str, Any]) -> None:
        self.stream_complete = True

    def _input_message(self, frame: dict[str, Any]) -> None:
        # The event also echoes hidden system messages: only a user's counts [K1].
        message = frame.get("input_message")
        if not isinstance(message, dict) or not isinstance(message.get("id"), str):
            return
        if msgs.role(message) in ("user", None):
            self.prompt_ids.append(message["id"])

    def _server_metadata(self, frame: dict[str, Any]) -> None:
        data = frame.get("metadata") or {}
        if isinstance(data, dict) and isinstance(data.get("model_slug"), str):
            self.server_model = data["model_slug"]

    def _detail_metadata(self, frame: dict[str, Any]) -> None:
        for item in frame.get("limits_progress") or []:
            if not isinstance(item, dict):
                continue
            # Rows name a model (`model_slug`, `resets_after`: the shape docs/replica.md
            # cites) or a feature (`feature_name`, `reset_after`): take either.
            feature = item.get("feature_name") or item.get("model_slug")
            if isinstance(feature, str):
                remaining = item.get("remaining")
                reset = item.get("reset_after") or item.get("resets_after")
                self.events.append(
                    Quota(
                        feature=feature,
                        remaining=remaining if isinstance(remaining, int) else None,
                        reset_after=reset if isinstance(reset, str) else None,
                    )
                )

    def _handoff(self, frame: dict[str, Any]) -> None:
        topics = {"subscribe_ws_topic": None, "resume_sse_endpoint": None}
        for option in frame.get("options") or []:
            if isinstance(option, dict) and option.get("type") in topics:
                topics[option["type"]] = option.get("topic_id")
        self.handoff = Handoff(
            topic_id=topics["subscribe_ws_topic"], resume_topic_id=topics["resume_sse_endpoint"]
        )
        self.events.append(self.handoff)

    def _async_status(self, frame: dict[str, Any]) -> None:
        # The server's own async axis (STREAMING, UNREAD... [KOBA]), not a kind of work: the
        # image tool's message says "drawing"; this only says the result comes later.
        self.async_turn = True

    def _marker(self, frame: dict[str, Any]) -> None:
        # `cot_token`/`first`: reasoning started; thinking turns may then be silent for minutes.
        if frame.get("marker") == "cot_token" and frame.get("event") == "first":
            self._progress_once(f"marker:{frame.get('message_id')}", "reasoning", "")

    def _error(self, frame: dict[str, Any]) -> None:
        self.error = error_text(frame) or "the stream reported an error"

    # --- delta frames ------------------------------------------------------------------------

    def delta(self, frame: dict[str, Any], cursor: Cursor) -> None:
        if "c" in frame:
            cursor.channel = frame["c"]
        value = frame.get("v")
        path, operation = frame.get("p"), frame.get("o")
        if _is_root(value) and path in (None, "") and operation in (None, "add"):
            self.install(value, cursor.channel)
            cursor.path, cursor.operation = "", "add"
        elif operation == "patch" or (path is None and operation is None and _is_batch(value)):
            for item in value if isinstance(value, list) else []:
                if isinstance(item, dict):
                    self._operation(item, cursor)  # items carry over among themselves
            cursor.path, cursor.operation = "", "patch"
        elif path is None and operation is None and isinstance(value, str):
            if cursor.append_path is not None:
                self._apply(cursor.channel, cursor.append_path, "append", value)
        else:
            self._operation(frame, cursor)

    def _operation(self, frame: dict[str, Any], cursor: Cursor) -> None:
        path = frame.get("p", cursor.path)
        operation = frame.get("o", cursor.operation)
        cursor.path, cursor.operation = path, operation
        if not isinstance(path, str) or not isinstance(operation, str) or operation == "patch":
            logger.debug("ignoring a delta frame without path or operation: %r", frame)
            return
        if operation == "append" and isinstance(frame.get("v"), str):
            cursor.append_path = path
        if path == "" and operation in ("add", "replace"):
            if isinstance(frame.get("v"), dict):
                self.install(frame["v"], cursor.channel)
            return
        self._apply(cursor.channel, path, operation, frame.get("v"))

    def _apply(self, channel: Any, path: str, operation: str, value: Any) -> None:
        root = self.roots.get(channel)
        if root is None:
            logger.debug("delta for unknown channel %r", channel)
            return
        try:
            pointer.apply(root, path, operation, value)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            logger.debug("cannot apply %s %s: %s", operation, path, error)
            return
        if path.startswith("/message"):
            self._noted(root.get("message"))
        elif path == "/error" and root.get("error"):
            self.error = error_text(root["error"])
        elif path == "/conversation_id":
            self.note_conversation(root.get("conversation_id"))

    def install(self, root: dict[str, Any], channel: Any) -> None:
        """A new root on `channel`; a message seen before (by id) is replaced in place."""
        root = json.loads(json.dumps(root))  # our own copy: ops mutate it
        self.roots[channel] = root
        self.note_conversation(root.get("conversation_id"))
        if root.get("error"):
            self.error = error_text(root["error"])
        message = root.get("message")
        if isinstance(message, dict) and isinstance(message.get("id"), str):
            previous = self.messages.get(message["id"])
            if previous is not None and previous is not message:
                previous.clear()
                previous.update(message)
                root["message"] = previous
            else:
                self.messages[message["id"]] = message
            self._noted(root["message"])

    def note_conversation(self, conversation_id: Any) -> None:
        if isinstance(conversation_id, str) and conversation_id:
            self.conversation_id = conversation_id

    # --- what the messages say ---------------------------------------------------------------

    def answers(self, prompt_id: str | None) -> list[dict[str, Any]]:
        """The answer messages of our question: final-channel text after our prompt."""
        ordered = list(self.messages.values())
        start = -1
        for index, message in enumerate(ordered):
            if message.get("id") == prompt_id or (prompt_id is None and msgs.is_prompt(message)):
                start = index
        return [m for m in ordered[start + 1 :] if msgs.is_answer(m)]

    def prompt_id(self) -> str | None:
        """Our question's id as this attempt knows it: its `input_message`, else its echo."""
        if self.prompt_ids:
            return self.prompt_ids[-1]
        prompts = [m["id"] for m in self.messages.values() if msgs.is_prompt(m)]
        return prompts[-1] if prompts else None

    def _noted(self, message: Any) -> None:
        """Progress a message shows: reasoning, a tool call or its result."""
        if not isinstance(message, dict) or not isinstance(message.get("id"), str):
            return
        kind = msgs.content_type(message)
        if kind == "reasoning_recap":
            recap = (message.get("content") or {}).get("content")
            if isinstance(recap, str) and recap:
                self._progress_once(message["id"], "reasoning", recap)
        elif kind == "thoughts":
            self._progress_once(message["id"], "reasoning", "")
        elif msgs.role(message) == "tool":
            name = str((message.get("author") or {}).get("name") or "tool")
            self._progress_once(message["id"], _tool_kind(name), name)
        elif msgs.role(message) == "assistant" and message.get("recipient") not in (None, "all"):
            recipient = str(message["recipient"])
            self._progress_once(message["id"], _tool_kind(recipient), recipient)

    def _progress_once(self, key: str, kind: ProgressKind, text: str) -> None:
        """Once per message; a tool's result repeating its call's step is not news."""
        if (key, kind) in self._progress:
            return
        self._progress.add((key, kind))
        step = Progress(kind, text)
        if step != self._last_progress:
            self._last_progress = step
            self.events.append(step)


_TYPED = {
    "title_generation": Attempt._title,
    "message_stream_complete": Attempt._complete,
    "input_message": Attempt._input_message,
    "server_ste_metadata": Attempt._server_metadata,
    "conversation_detail_metadata": Attempt._detail_metadata,
    "stream_handoff": Attempt._handoff,
    "conversation_async_status": Attempt._async_status,
    "message_marker": Attempt._marker,
    "error": Attempt._error,
}
"""Typed events that matter here; `resume_conversation_token` (a JWT: never kept), the other
markers (`user_visible_token`, `final_channel_token`, `last_token`), `main_stream_complete`,
`perf_stats`... are deliberately ignored."""


def _tool_kind(name: str) -> ProgressKind:
    lowered = name.lower()
    if "search" in lowered or lowered.startswith("web"):
        return "search"
    if "image" in lowered or "dalle" in lowered:
        return "image"
    return "tool"


def _is_root(value: Any) -> bool:
    return isinstance(value, dict) and ("message" in value or "error" in value)


def _is_batch(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and ("o" in item or "p" in item) for item in value)
    )


def error_text(error: Any) -> str | None:
    """A readable sentence from the many shapes an error takes in the stream."""
    if error is None:
        return None
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        for key in ("message", "detail", "error"):
            if key in error:
                return error_text(error[key])
    return json.dumps(error)[:500]
