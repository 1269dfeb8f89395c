"""The JSON bodies of a chat completion and of its stream chunks, in OpenAI's exact shape.

Clients break on small deviations (a missing `object`, `logprobs` or `refusal` key, a role
repeated in later deltas, usage on every chunk), so every body is built here and nowhere
else, and the tests validate each against the official JSON Schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.api.usage import Usage


@dataclass(frozen=True)
class Completion:
    """What every chunk of one completion repeats: `id`, `created`, `model`."""

    id: str
    created: int
    model: str
    include_usage: bool = False

    def body(self, content: str, finish_reason: str, usage: Usage) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage.as_dict(),
        }

    def chunk(self, delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._chunk([choice], None)

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
