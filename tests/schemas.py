"""The official OpenAI JSON Schemas (tests/conformance/, MIT) and strict SSE readers.

`validate(body, "CreateChatCompletionResponse")` checks one body against
`urn:openai-chat-completions#/$defs/<Name>`, `validate(body, "Response", MORE)` against
`urn:openai-more` (Responses, batches, files, images); `read_sse(response)` parses a raw
chat event stream the way a careful client would and validates every chunk it carries,
`ResponseEvents` does the same for a Responses stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONFORMANCE = Path(__file__).parent / "conformance"
CHAT = "urn:openai-chat-completions"
MORE = "urn:openai-more"
_FILES = {CHAT: "openai-chat-schemas.json", MORE: "openai-more-schemas.json"}


@cache
def _registry() -> Registry:
    registry = Registry()
    for urn, name in _FILES.items():
        document = json.loads((CONFORMANCE / name).read_text())
        assert document["$id"] == urn
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        registry = registry.with_resource(urn, resource)
    return registry


@cache
def _validator(name: str, base: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{base}#/$defs/{name}"}, registry=_registry())


def validate(instance: Any, name: str, base: str = CHAT) -> None:
    """Raise jsonschema.ValidationError unless `instance` is a valid `name` of `base`."""
    _validator(name, base).validate(instance)


@dataclass
class EventStream:
    """A parsed `text/event-stream` body: chunks, error events, keep-alive comments."""

    chunks: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    comments: int = 0
    done: bool = False

    @property
    def content(self) -> str:
        return "".join(
            choice["delta"].get("content") or ""
            for chunk in self.chunks
            for choice in chunk["choices"]
        )


def parse_sse_line(stream: EventStream, line: str) -> None:
    """Feed one line; every `data:` chunk is validated, nothing may follow `[DONE]`."""
    if not line:
        return
    assert not stream.done, f"data after [DONE]: {line!r}"
    if line.startswith(":"):
        stream.comments += 1
        return
    assert line.startswith("data: "), f"not an SSE data line: {line!r}"
    data = line.removeprefix("data: ")
    if data == "[DONE]":
        stream.done = True
        return
    event = json.loads(data)
    if "error" in event:
        validate(event, "ErrorResponse")
        stream.errors.append(event["error"])
    else:
        validate(event, "CreateChatCompletionStreamResponse")
        stream.chunks.append(event)


def read_sse(response: httpx.Response) -> EventStream:
    stream = EventStream()
    for line in response.iter_lines():
        parse_sse_line(stream, line)
    return stream


@cache
def _event_definitions() -> dict[str, str]:
    """Event type -> the name of its definition in `urn:openai-more`."""
    definitions = json.loads((CONFORMANCE / _FILES[MORE]).read_text())["$defs"]
    names = [ref["$ref"].rsplit("/", 1)[1] for ref in definitions["ResponseStreamEvent"]["anyOf"]]
    return {definitions[name]["properties"]["type"]["enum"][0]: name for name in names}


@dataclass
class ResponseEvents:
    """A parsed Responses stream: each event validated as a `ResponseStreamEvent`, named by
    its `event:` line, numbered from 0 without gaps."""

    events: list[dict[str, Any]] = field(default_factory=list)
    comments: int = 0
    _name: str | None = None

    def feed(self, line: str) -> None:
        if not line:
            return
        if line.startswith(":"):
            self.comments += 1
        elif line.startswith("event: "):
            self._name = line.removeprefix("event: ")
        else:
            assert line.startswith("data: "), f"not an SSE line: {line!r}"
            event = json.loads(line.removeprefix("data: "))
            # The event's own definition first: its errors say more than the union's.
            validate(event, _event_definitions()[event["type"]], MORE)
            validate(event, "ResponseStreamEvent", MORE)
            assert event["type"] == self._name, (event["type"], self._name)
            assert event["sequence_number"] == len(self.events), event
            self.events.append(event)
            self._name = None

    @property
    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    @property
    def text(self) -> str:
        return "".join(
            event["delta"] for event in self.events if event["type"] == "response.output_text.delta"
        )

    @property
    def final(self) -> dict[str, Any]:
        """The response the terminal event carries."""
        return self.events[-1]["response"]
