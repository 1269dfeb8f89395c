"""The JSON bodies of a chat completion and of its stream chunks, in OpenAI's exact shape.

Clients break on small deviations (a missing `object`, `logprobs` or `refusal` key, a role
repeated in later deltas, usage on every chunk), so every body is built here and nowhere
else, and the tests validate each against the official JSON Schemas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.api.citations import UrlCitation
from app.api.tool_calls import ToolCall
from app.api.usage import Usage


@dataclass(frozen=True)
class Completion:
    """What every chunk of one completion repeats: `id`, `created`, `model`."""

    id: str
    created: int
    model: str
    include_usage: bool = False

    def body(
        self,
        content: str,
        finish_reason: str,
        usage: Usage,
        tool_calls: Sequence[ToolCall] = (),
        annotations: Sequence[UrlCitation] = (),
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            # An answer that only calls tools has no content, as OpenAI's.
            "content": content if content or not tool_calls else None,
            "refusal": None,
            "annotations": [annotation.as_chat() for annotation in annotations],
        }
        if tool_calls:
            message["tool_calls"] = [call.as_chat() for call in tool_calls]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage.as_dict(),
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._chunk([choice], None)

    def tool_call_chunks(self, index: int, call: ToolCall) -> list[dict[str, Any]]:
        """The `index`-th call as OpenAI streams one: its id and name, then its arguments."""
        opening = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        arguments = {"index": index, "function": {"arguments": call.arguments}}
        return [self.chunk({"tool_calls": [opening]}), self.chunk({"tool_calls": [arguments]})]

    def annotations_chunk(self, annotations: Sequence[UrlCitation]) -> dict[str, Any]:
        """The answer's citations in a delta of their own, once its text is whole: the
        schema's delta names no `annotations`, but OpenAI's searched streams carry them there
        (and clients read them there: openai/openai-agents-python#4252)."""
        return self.chunk({"annotations": [annotation.as_chat() for annotation in annotations]})

    def usage_chunk(self, usage: Usage) -> dict[str, Any]:
        return self._chunk([], usage.as_dict())

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            chunk["usage"] = usage
        return chunk
