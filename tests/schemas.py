"""The official OpenAI JSON Schemas (tests/conformance/, MIT) and a strict SSE reader.

`validate(body, "CreateChatCompletionResponse")` checks one body against
`urn:openai-chat-completions#/$defs/<Name>`, `validate_more(body, "Batch")` against
`urn:openai-more#/$defs/<Name>` (Responses, files, batches, images); `read_sse(response)`
parses a raw event stream the way a careful client would and validates every chunk it carries.
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

SCHEMA_FILE = Path(__file__).parent / "conformance" / "openai-chat-schemas.json"
MORE_SCHEMA_FILE = Path(__file__).parent / "conformance" / "openai-more-schemas.json"


@cache
def _registry(schema_file: Path) -> tuple[Registry, str]:
    document = json.loads(schema_file.read_text())
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    return Registry().with_resource(document["$id"], resource), document["$id"]


def validate(instance: Any, name: str, schema_file: Path = SCHEMA_FILE) -> None:
    """Raise jsonschema.ValidationError unless `instance` is a valid `name`."""
    registry, base = _registry(schema_file)
    validator = Draft202012Validator({"$ref": f"{base}#/$defs/{name}"}, registry=registry)
    validator.validate(instance)


def validate_more(instance: Any, name: str) -> None:
    """`validate` against the Responses/files/batches/images schemas (urn:openai-more)."""
    validate(instance, name, MORE_SCHEMA_FILE)


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
