"""Responses input items -> chat messages (what the pipeline types) and stored item resources.

`input` is a string or a list of items: messages (`user`, `system`, `developer`, `assistant`),
the client's record of earlier `function_call` items and their `function_call_output`. The
bridge already knows how to type a chat `messages` array into ChatGPT (conversations.py), so
each item becomes the chat message a chat-completions client would have sent: a function
call joins the assistant message before it as a `tool_calls` entry, an output becomes a
`tool` message. Sent back unchanged, the same history therefore continues the same ChatGPT
chat through either API.

Content parts are translated one by one in `_part`, the one place that knows part types:
`input_image` and `input_file` become the chat parts the chat pipeline reads (which is where
their upload is handled). Items the web chat cannot carry (`reasoning`, references, other
tools' calls) are skipped with a log line, never refused: agents replay whatever they got.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from app.api.errors import invalid_request

logger = logging.getLogger(__name__)

ChatMessage = dict[str, Any]
"""One message of a chat completion request's `messages`, as JSON."""

_ROLES = ("user", "system", "developer", "assistant")
_TEXT_PARTS = {"input_text": "text", "output_text": "text", "refusal": "refusal"}
_SILENTLY_SKIPPED = frozenset({"reasoning"})
"""ChatGPT keeps its own reasoning; the bridge never returns reasoning items to replay."""


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


@dataclass
class Input:
    """The request's input as chat messages, and as the items `input_items` lists."""

    messages: list[ChatMessage] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)

    def add_message(self, message: ChatMessage, item: dict[str, Any]) -> None:
        self.messages.append(message)
        self.items.append(item)

    def add_call(self, call: dict[str, Any], item: dict[str, Any]) -> None:
        """A function call belongs to the assistant message it follows (or a new one)."""
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": None}
            self.messages.append(last)
        last.setdefault("tool_calls", []).append(call)
        self.items.append(item)


def read_input(value: str | list[Any]) -> Input:
    """The checked input; a 400 names the offending item (`input[2].call_id`)."""
    read = Input()
    if isinstance(value, str):
        read.add_message({"role": "user", "content": value}, _message_item("user", value))
        return read
    if not value:
        raise invalid_request("Invalid 'input': expected a string or a non-empty array.", "input")
    for index, item in enumerate(value):
        _read_item(read, item, f"input[{index}]")
    if not read.messages:
        raise invalid_request(
            "'input' holds no message or function call output the bridge can type.", "input"
        )
    return read


def _read_item(read: Input, item: object, where: str) -> None:
    if not isinstance(item, dict):
        raise invalid_request(f"Invalid '{where}': expected an object.", where)
    kind = item.get("type", "message" if "role" in item else None)
    if kind == "message":
        _read_message(read, item, where)
    elif kind == "function_call":
        call_id, name, arguments = (
            _string(item, key, where) for key in ("call_id", "name", "arguments")
        )
        call = {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        resource = {
            "type": "function_call",
            "id": _item_id(item, "fc"),
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
            "status": "completed",
        }
        read.add_call(call, resource)
    elif kind == "function_call_output":
        call_id = _string(item, "call_id", where)
        output = item.get("output")
        text = output if isinstance(output, str) else _output_text(output, f"{where}.output")
        resource = {
            "type": "function_call_output",
            "id": _item_id(item, "fco"),
            "call_id": call_id,
            "output": output,
            "status": "completed",
        }
        read.add_message({"role": "tool", "tool_call_id": call_id, "content": text}, resource)
    elif isinstance(kind, str):
        log = logger.debug if kind in _SILENTLY_SKIPPED else logger.warning
        log("input item of type %r skipped: a web chat cannot carry it", kind)
    else:
        raise invalid_request(f"Invalid '{where}': an item needs a string 'type'.", where)


def _read_message(read: Input, item: dict[str, Any], where: str) -> None:
    role = item.get("role")
    if role not in _ROLES:
        raise invalid_request(
            f"Invalid '{where}.role': expected one of {', '.join(_ROLES)}.", f"{where}.role"
        )
    content = item.get("content")
    if isinstance(content, str):
        read.add_message({"role": role, "content": content}, _message_item(role, content, item))
        return
    if not isinstance(content, list) or not content:
        raise invalid_request(
            f"Invalid '{where}.content': expected a string or a non-empty array of parts.",
            f"{where}.content",
        )
    parts = [_part(part, role, f"{where}.content[{i}]") for i, part in enumerate(content)]
    chat_parts = [chat for chat, _ in parts]
    resource_parts = [resource for _, resource in parts]
    read.add_message(
        {"role": role, "content": chat_parts}, _message_item(role, resource_parts, item)
    )


def _part(part: object, role: str, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One content part: (the chat part the pipeline reads, the part as `input_items` lists)."""
    kind = part.get("type") if isinstance(part, dict) else None
    if not isinstance(part, dict) or not isinstance(kind, str):
        raise invalid_request(f"Invalid '{where}': a part needs a string 'type'.", where)
    if kind in _TEXT_PARTS:
        text = _string(part, _TEXT_PARTS[kind], where)
        resource_type = "output_text" if role == "assistant" else "input_text"
        return {"type": "text", "text": text}, _text_part(resource_type, text)
    if role != "user" or kind not in ("input_image", "input_file"):
        raise invalid_request(
            f"Invalid '{where}': {role} messages take text parts (input_text, output_text)"
            + ("; images and files go in user messages." if role != "user" else "."),
            where,
        )
    if kind == "input_image":
        detail = part.get("detail") or "auto"
        if isinstance(part.get("file_id"), str):  # chat names stored files in `file` parts
            return {"type": "file", "file": {"file_id": part["file_id"]}}, {
                **part,
                "detail": detail,
            }
        url = part.get("image_url")
        if not isinstance(url, str):
            raise invalid_request(
                f"Invalid '{where}': an input_image needs an 'image_url' or a 'file_id'.", where
            )
        return (
            {"type": "image_url", "image_url": {"url": url, "detail": detail}},
            {**part, "detail": detail},
        )
    chat_file = {
        key: part[key]
        for key in ("filename", "file_data", "file_id", "file_url")
        if isinstance(part.get(key), str)
    }
    return {"type": "file", "file": chat_file}, dict(part)


def _output_text(output: object, where: str) -> str:
    """A `function_call_output`'s list output, as the text a tool message carries."""
    if not isinstance(output, list):
        raise invalid_request(
            f"Invalid '{where}': expected a string or an array of content parts.", where
        )
    texts = []
    for index, part in enumerate(output):
        if isinstance(part, dict) and part.get("type") == "input_text":
            texts.append(_string(part, "text", f"{where}[{index}]"))
        elif isinstance(part, dict) and isinstance(part.get("type"), str):
            texts.append(f"[{part['type']}: the bridge passes tool outputs as text only]")
        else:
            raise invalid_request(f"Invalid '{where}[{index}]': a part needs a 'type'.", where)
    return "\n".join(texts)


def _string(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        problem = "Missing required parameter" if value is None else "Expected a string for"
        raise invalid_request(f"{problem} '{where}.{key}'.", f"{where}.{key}")
    return value


def _item_id(item: dict[str, Any], prefix: str) -> str:
    given = item.get("id")
    return given if isinstance(given, str) and given else new_id(prefix)


def _text_part(kind: str, text: str) -> dict[str, Any]:
    if kind == "output_text":
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "input_text", "text": text}


def _message_item(
    role: str, content: str | list[dict[str, Any]], given: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A message as `input_items` returns it (an input message, or an assistant's output)."""
    if isinstance(content, str):
        content = [_text_part("output_text" if role == "assistant" else "input_text", content)]
    return {
        "type": "message",
        "id": _item_id(given or {}, "msg"),
        "role": role,
        "content": content,
        "status": "completed",
    }
