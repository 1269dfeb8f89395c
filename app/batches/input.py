"""A batch's input file, checked line by line before any of it is asked.

OpenAI's rules (the Batch API's request input): one JSON object per line with a unique
`custom_id`, `method` "POST", the batch's own `url` and a `body`. A file that breaks them
fails the whole batch with every problem listed by line (`errors`), and nothing is asked:
a person fixes the file and sends it again, rather than finding half a batch answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_LINES = 50_000
"""OpenAI's limit per batch."""
MAX_ERRORS = 100
"""Listed in the batch's `errors`; a file with more is wrong throughout."""


@dataclass
class ParsedInput:
    lines: list[tuple[str, str]] = field(default_factory=list)
    """(custom_id, body as JSON text), in file order."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    """OpenAI's `BatchError` objects: code, message, param, line."""

    def error(self, code: str, message: str, line: int | None, param: str | None = None) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"code": code, "message": message, "param": param, "line": line})


def parse_input(data: bytes, endpoint: str) -> ParsedInput:
    parsed = ParsedInput()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        parsed.error("invalid_file", f"The input file is not UTF-8 text ({error}).", None)
        return parsed
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            _line(parsed, number, raw, endpoint, seen)
    if not parsed.lines and not parsed.errors:
        parsed.error("empty_file", "The input file has no request lines.", None)
    if len(parsed.lines) > MAX_LINES:
        parsed.error(
            "too_many_requests",
            f"The input file has {len(parsed.lines)} requests; a batch takes up to {MAX_LINES}.",
            None,
        )
    return parsed


def _line(parsed: ParsedInput, number: int, raw: str, endpoint: str, seen: set[str]) -> None:
    try:
        request = json.loads(raw)
    except json.JSONDecodeError as error:
        parsed.error("invalid_json_line", f"Line {number} is not valid JSON ({error.msg}).", number)
        return
    if not isinstance(request, dict):
        parsed.error("invalid_json_line", f"Line {number} must be a JSON object.", number)
        return
    custom_id = request.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        parsed.error(
            "missing_custom_id", f"Line {number} needs a string custom_id.", number, "custom_id"
        )
        return
    if custom_id in seen:
        parsed.error(
            "duplicate_custom_id",
            f"Line {number} repeats the custom_id '{custom_id}'; each must be unique.",
            number,
            "custom_id",
        )
        return
    seen.add(custom_id)
    if request.get("method") != "POST":
        parsed.error("invalid_method", f"Line {number}: method must be POST.", number, "method")
    elif request.get("url") != endpoint:
        parsed.error(
            "mismatched_endpoint",
            f"Line {number} asks {request.get('url')!r}; this batch's endpoint is {endpoint}.",
            number,
            "url",
        )
    elif not isinstance(request.get("body"), dict):
        parsed.error("invalid_body", f"Line {number} needs a JSON object body.", number, "body")
    else:
        parsed.lines.append((custom_id, json.dumps(request["body"])))
