"""`stop`, `max_tokens` and `response_format`, emulated on top of an answer ChatGPT streams.

The web app knows none of these parameters, so the bridge shapes the answer as it arrives:
it releases text to the client only once no stop string can still begin in it, cuts at the
earliest stop string or at the token limit (then the caller stops the generation in the
page), and for JSON formats asks for JSON in the prompt and checks what came back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema import validators
from jsonschema.exceptions import SchemaError

from app.api.usage import TokenBudget

_FENCED_BLOCK = re.compile(r"```[ \t]*(?:json)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


class OutputFormatError(Exception):
    """ChatGPT's answer does not have the format the request's `response_format` demands."""


@dataclass(frozen=True)
class JsonFormat:
    """`response_format` json_object (schema None) or json_schema."""

    schema: dict[str, Any] | None = None
    name: str | None = None

    def instruction(self) -> str:
        text = (
            "Reply with valid JSON only: a single JSON object in one ```json code block, "
            "with no other text before or after it."
        )
        if self.schema is not None:
            text += (
                f" The JSON must validate against this JSON Schema"
                f"{f' ({self.name})' if self.name else ''}:\n"
                f"{json.dumps(self.schema, ensure_ascii=False)}"
            )
        return text

    def extract(self, answer: str) -> str:
        """The JSON text of `answer` without Markdown fences, checked against the format."""
        block = _FENCED_BLOCK.search(answer)
        text = (block.group(1) if block else answer).strip()
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise OutputFormatError(
                f"ChatGPT's answer is not valid JSON ({json_problem(error)}) although the prompt "
                "asked for JSON only"
            ) from None
        if not isinstance(value, dict):
            raise OutputFormatError(
                f"ChatGPT answered a JSON {type(value).__name__}, not the JSON object asked for"
            )
        if self.schema is not None:
            problem = schema_violation(value, self.schema)
            if problem:
                raise OutputFormatError(
                    f"ChatGPT's JSON does not match the json_schema "
                    f"{self.name or 'of the request'}: {problem}"
                )
        return text


def json_problem(error: json.JSONDecodeError) -> str:
    """Where JSON text breaks and why, as every message about ChatGPT's JSON says it."""
    return f"{error.msg} at line {error.lineno} column {error.colno}"


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why `schema` is not a usable JSON Schema, or None."""
    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as error:
        return str(error.message)
    return None


def schema_violation(value: object, schema: dict[str, Any]) -> str | None:
    validator = validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path))
    if not errors:
        return None
    first = errors[0]
    where = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in first.absolute_path
    )
    return f"at ${where}: {first.message}"


class OutputShaper:
    """Releases an answer delta by delta with `stop` and the token limit applied.

    While streaming, the last `max(len(stop)) - 1` characters are held back so that a stop
    string split over two deltas never reaches the client. In JSON mode nothing is released
    before the end: the whole answer must be seen to strip its fences and check it.
    """

    def __init__(
        self,
        stop: Sequence[str] = (),
        max_tokens: int | None = None,
        json_format: JsonFormat | None = None,
    ) -> None:
        self._stops = [stop_string for stop_string in stop if stop_string]
        self._hold_back = max((len(stop_string) for stop_string in self._stops), default=1) - 1
        self._budget = TokenBudget(max_tokens) if max_tokens is not None else None
        self._json_format = json_format
        self._raw = ""
        self.content = ""
        """Everything released so far."""
        self.cut: Literal["stop", "length"] | None = None
        """Set when the shaper ended the answer: the page must stop generating."""

    def feed(self, delta: str) -> str:
        """Take one delta; return the text that may be released now."""
        if self.cut:
            return ""
        self._raw += delta
        if self._json_format is not None:
            return ""
        return self._release(self._raw, final=False)

    def close(self) -> str:
        """The answer ended naturally: release the rest. Raises OutputFormatError."""
        if self.cut:
            return ""
        raw = self._raw if self._json_format is None else self._json_format.extract(self._raw)
        return self._release(raw, final=True)

    def _release(self, raw: str, *, final: bool) -> str:
        visible = self._before_stop(raw)
        if visible is not None:
            self.cut = "stop"
        elif final or not self._hold_back:
            visible = raw
        else:
            visible = raw[: max(len(self.content), len(raw) - self._hold_back)]
        if self._budget is not None:
            shorter = self._budget.cut(visible)
            if shorter is not None:
                visible = shorter
                self.cut = "length"
        released = visible[len(self.content) :]
        self.content = visible
        return released

    def _before_stop(self, raw: str) -> str | None:
        # Released text was held back enough that no stop string can begin inside it.
        start = len(self.content)
        positions = [raw.find(stop_string, start) for stop_string in self._stops]
        found = [position for position in positions if position >= 0]
        return raw[: min(found)] if found else None
