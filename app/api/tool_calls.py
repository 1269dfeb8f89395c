"""Function tools emulated over a web chat: the instruction, and reading calls out of answers.

ChatGPT's web app has no function calling for API callers, so the bridge describes the
caller's tools in the prompt and asks for calls in one documented format: a fenced block
tagged `tool_calls` holding `{"tool_calls": [{"name": ..., "arguments": {...}}]}`
(docs/api.md, "Tools"; the replica's tool model answers in it). The format is read
leniently where ChatGPT is known to drift (the fence tagged `json` or untagged, no fence at
all, prose around the block, arguments as a JSON string, OpenAI's own
`{"function": {...}}` item shape) and strictly where the caller depends on it: a known
tool, arguments that validate against its schema, the tool choice and `parallel_tool_calls`
obeyed. What breaks those is a `ToolCallError`, which the caller may repair once in the same
chat with `repair_message()`.

`CallStream` reads a streamed answer: text that may be the start of a call (a fence or a
brace at the start of a line) is held back until it is known, then released as text or as
calls; `parse()` is the same reading of a whole answer. Nothing here does I/O.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.api.emulation import json_problem, schema_violation

BLOCK_TAG = "tool_calls"
"""The info string of the fenced block the instruction asks for."""
INSTRUCTION_START = "[Tools]"
INSTRUCTION_END = "[End of tools]"
MUST_CALL_NAMED = 'You must call the tool "{name}" in this reply.'
"""The sentence of a named `tool_choice` (the replica reads the name from it)."""
RESULTS_SENTENCE = (
    "The tool results above answer your earlier calls: use them to answer, or call tools "
    "again if more is needed."
)

_ACCEPTED_TAGS = ("", "json", "json5", "jsonc", BLOCK_TAG, "tool_call", "tool-calls", "tools")
_CALL_OPENING = '{"tool_calls"'
_FENCE = "```"
_CLOSING_FENCE = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)
_CLOSING_FENCE_AT_END = re.compile(r"^[ \t]*```[ \t]*\Z", re.MULTILINE)


@dataclass(frozen=True)
class FunctionTool:
    """One function tool of a request: its name, description and JSON Schema parameters."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    def as_json(self) -> str:
        """The tool as the instruction lists it: one line of JSON."""
        data: dict[str, Any] = {"name": self.name}
        if self.description:
            data["description"] = self.description
        data["parameters"] = self.parameters or {"type": "object", "properties": {}}
        return json.dumps(data, ensure_ascii=False)


@dataclass(frozen=True)
class ToolChoice:
    """`tool_choice`: `none`, `auto`, `required`, or one named function (`mode="function"`)."""

    mode: Literal["none", "auto", "required", "function"] = "auto"
    name: str | None = None

    @classmethod
    def parse(cls, value: object) -> ToolChoice:
        """From a request's `tool_choice`: a string, or a named function in either API's
        shape (`{"type": "function", "function": {"name"}}` or `{"type": "function", "name"}`).

        Raises ValueError naming what is wrong.
        """
        if value is None:
            return cls()
        if value in ("none", "auto", "required"):
            return cls(value)  # type: ignore[arg-type]
        if isinstance(value, dict) and value.get("type") == "function":
            function = value.get("function")
            name = function.get("name") if isinstance(function, dict) else value.get("name")
            if isinstance(name, str) and name:
                return cls("function", name)
            raise ValueError("a named tool_choice needs 'function.name'")
        raise ValueError(
            "tool_choice must be 'none', 'auto', 'required' or "
            '{"type": "function", "function": {"name": ...}}'
        )


@dataclass(frozen=True)
class ToolCall:
    """One call ChatGPT asked for: `arguments` is the JSON text returned to the caller."""

    id: str
    name: str
    arguments: str

    def as_chat(self) -> dict[str, Any]:
        """The call as a chat completion's `message.tool_calls` item."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


class ToolCallError(Exception):
    """ChatGPT's answer calls tools wrongly (unknown tool, bad arguments, a choice ignored)."""


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


@dataclass(frozen=True)
class Toolset:
    """The tools of one request, the choice among them and whether calls may be parallel."""

    tools: tuple[FunctionTool, ...]
    choice: ToolChoice = field(default_factory=ToolChoice)
    parallel: bool = True

    @property
    def active(self) -> bool:
        """Whether ChatGPT is offered the tools at all (`tool_choice: none` offers none)."""
        return bool(self.tools) and self.choice.mode != "none"

    @property
    def must_call(self) -> bool:
        return self.choice.mode in ("required", "function")

    def tool(self, name: str) -> FunctionTool | None:
        return next((tool for tool in self.tools if tool.name == name), None)

    def instruction(self, *, after_results: bool = False) -> str | None:
        """The instruction typed after the messages, or None when no tool is offered.

        `after_results`: the messages typed end with tool results (the instruction says so).
        """
        if not self.active:
            return None
        lines = [
            INSTRUCTION_START,
            "You can call these tools. Each line is one tool as JSON: its name, what it does, "
            "and the JSON Schema of its arguments.",
            *(tool.as_json() for tool in self.tools),
            "To call tools, reply with only this block and no other text, one entry per call:",
            f"{_FENCE}{BLOCK_TAG}",
            '{"tool_calls": [{"name": "<tool name>", "arguments": {<arguments>}}]}',
            _FENCE,
            "The arguments must be a JSON object valid against the tool's schema. The caller "
            'runs the tools and sends their results back as "Tool result" messages.',
        ]
        if self.choice.mode == "auto":
            lines.append(
                "Call a tool only when it is needed to answer; otherwise answer normally in "
                f"plain text, without a {BLOCK_TAG} block."
            )
        elif self.choice.mode == "required":
            lines.append("You must call at least one tool in this reply.")
        else:
            lines.append(MUST_CALL_NAMED.format(name=self.choice.name))
        lines.append(
            "You may call several tools at once: put every call in the one block."
            if self.parallel
            else "Call at most one tool in this reply."
        )
        if after_results:
            lines.append(RESULTS_SENTENCE)
        lines.append(INSTRUCTION_END)
        return "\n".join(lines)

    def stream(self) -> CallStream:
        return CallStream(self)

    def parse(self, answer: str) -> ParsedAnswer:
        """A whole answer read as a stream would read it. Raises ToolCallError."""
        stream = self.stream()
        pieces = [*stream.feed(answer), *stream.close()]
        text = "".join(piece for piece in pieces if isinstance(piece, str))
        return ParsedAnswer(text, tuple(piece for piece in pieces if isinstance(piece, ToolCall)))

    def check(self, calls: Sequence[ToolCall], *, complete: bool = True) -> None:
        """Raise ToolCallError unless `calls` obey the tool choice and `parallel_tool_calls`.

        `complete=False`: more calls may follow (a stream), so none yet is no fault.
        """
        if complete and not calls and self.must_call:
            wanted = f'the tool "{self.choice.name}"' if self.choice.name else "a tool"
            raise ToolCallError(f"the reply must call {wanted}, but it called none")
        if self.choice.mode == "function":
            others = sorted({call.name for call in calls if call.name != self.choice.name})
            if others:
                raise ToolCallError(
                    f'only the tool "{self.choice.name}" may be called, not {", ".join(others)}'
                )
        if len(calls) > 1 and not self.parallel:
            raise ToolCallError(f"the reply called {len(calls)} tools; at most one is allowed")

    def call_from(self, item: object) -> ToolCall:
        """One entry of a `tool_calls` list, validated against its tool."""
        if isinstance(item, dict) and isinstance(item.get("function"), dict):
            item = item["function"]  # OpenAI's own item shape
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ToolCallError('each entry of "tool_calls" needs a "name" and "arguments"')
        name = item["name"]
        tool = self.tool(name)
        if tool is None:
            known = ", ".join(tool.name for tool in self.tools)
            raise ToolCallError(f'there is no tool "{name}" (the tools are: {known})')
        arguments = item.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                raise ToolCallError(f'the arguments of "{name}" are not valid JSON') from None
        if not isinstance(arguments, dict):
            raise ToolCallError(f'the arguments of "{name}" must be a JSON object')
        if tool.parameters:
            problem = schema_violation(arguments, tool.parameters)
            if problem:
                raise ToolCallError(f'the arguments of "{name}" break its schema {problem}')
        return ToolCall(new_call_id(), name, json.dumps(arguments, ensure_ascii=False))


@dataclass(frozen=True)
class ParsedAnswer:
    """An answer split into its prose (without the call block) and its calls."""

    text: str
    calls: tuple[ToolCall, ...]


def repair_message(error: ToolCallError) -> str:
    """The one short message that asks ChatGPT, in the same chat, to call tools correctly."""
    return (
        f"[Your last reply did not call the tools correctly: {error}. Reply again, following "
        f"the tool instructions above: only the corrected {BLOCK_TAG} block.]"
    )


def _could_open_call(text: str) -> bool | None:
    """Whether JSON text starting here opens a call: True, False, or None (too short)."""
    squeezed = text.lstrip()
    if squeezed.startswith("{"):
        squeezed = "{" + squeezed[1:].lstrip()
    if squeezed.startswith(_CALL_OPENING):
        return True
    if _CALL_OPENING.startswith(squeezed):
        return None
    return False


def _at_line_start(text: str, index: int) -> bool:
    line_start = text.rfind("\n", 0, index) + 1
    return not text[line_start:index].strip(" \t")


Piece = str | ToolCall
"""What a `CallStream` releases: text, or one call."""


@dataclass(frozen=True)
class _Decision:
    """How the text at a candidate start reads: `end` is where that reading ends."""

    kind: Literal["text", "calls", "code"]
    end: int
    calls: tuple[ToolCall, ...] = ()


class CallStream:
    """Reads one answer delta by delta, releasing text and calls in order.

    A fence or a `{` at the start of a line may open a call: from there text is held until
    the block is known to be something else (another code block, prose) or complete. Other
    code blocks are passed through whole, so JSON inside them is never taken for a call.
    Whitespace next to a call block is dropped; when a call is mandatory, prose is held
    until the first call (and a reply without one is a ToolCallError at `close()`).
    """

    def __init__(self, toolset: Toolset) -> None:
        self._toolset = toolset
        self._raw = ""
        self._position = 0
        self._in_code = False
        self._held: list[str] = []
        self._trim = False
        """Text right after a call block: its leading whitespace goes with the block."""
        self.calls: list[ToolCall] = []
        self.text = ""
        """Everything released as text so far."""

    def feed(self, delta: str) -> list[Piece]:
        """Take one delta; return what may be released now. Raises ToolCallError."""
        self._raw += delta
        return self._scan(final=False)

    def close(self) -> list[Piece]:
        """The answer ended: release the rest. Raises ToolCallError."""
        pieces = self._scan(final=True)
        tail = self._raw[self._position :]
        self._position = len(self._raw)
        if tail.strip() or not self.calls:
            pieces += self._text(tail)
        self._toolset.check(self.calls)
        pieces += self._release_held()
        return pieces

    def _scan(self, *, final: bool) -> list[Piece]:
        pieces: list[Piece] = []
        while True:
            if self._in_code:
                closing = _CLOSING_FENCE.search(self._raw, self._position)
                if closing:
                    end = closing.end()
                elif final:
                    end = len(self._raw)
                else:  # a closing fence may be growing on the last line: keep it whole
                    end = max(self._position, self._raw.rfind("\n") + 1)
                pieces += self._text(self._raw[self._position : end])
                self._position = end
                if closing is None:
                    return pieces
                self._in_code = False
            start = self._candidate()
            if start is None:
                # Trailing whitespace waits: it is dropped if a call block follows.
                end = len(self._raw.rstrip())
                if end > self._position:
                    pieces += self._text(self._raw[self._position : end])
                    self._position = end
                return pieces
            before = self._raw[self._position : start]
            if before.strip():
                kept = before.rstrip()
                pieces += self._text(kept)
                self._position += len(kept)
            decision = self._decide(start, final=final)
            if decision is None:
                return pieces
            if decision.kind == "calls":
                self._position = decision.end
                self.calls += decision.calls
                pieces += [*self._release_held(), *decision.calls]
                self._trim = True
            else:
                pieces += self._text(self._raw[self._position : decision.end])
                self._position = decision.end
                self._in_code = decision.kind == "code"

    def _candidate(self) -> int | None:
        """The first start of a line at or after the position that begins with ` or {."""
        for index in range(self._position, len(self._raw)):
            if self._raw[index] in "`{" and _at_line_start(self._raw, index):
                return index
        return None

    def _decide(self, start: int, *, final: bool) -> _Decision | None:
        """How the text at `start` reads, or None while it cannot be known yet."""
        text = self._raw[start:]
        if text.startswith("{"):
            return self._decide_bare(start, final=final)
        if not text.startswith(_FENCE):
            if not final and _FENCE.startswith(text):
                return None
            return _Decision("text", start + 1)
        newline = text.find("\n")
        tag = (text[3:] if newline < 0 else text[3:newline]).strip().lower()
        if newline < 0:
            if final or not any(accepted.startswith(tag) for accepted in _ACCEPTED_TAGS):
                return _Decision("code", start + len(text))
            return None
        if tag not in _ACCEPTED_TAGS:
            return _Decision("code", start + newline + 1)
        body = text[newline + 1 :]
        opens = _could_open_call(body)
        if opens is False or (opens is None and final):
            return _Decision("code", start + newline + 1)
        if opens is None:
            return None
        closing = _CLOSING_FENCE.search(body)
        if closing is None and not final:
            return None
        if closing is None:
            # A block the answer never closed: read up to the end (or a fence at the end).
            at_end = _CLOSING_FENCE_AT_END.search(body)
            content = body[: at_end.start()] if at_end else body
            return _Decision("calls", len(self._raw), self._calls(content))
        end = start + newline + 1 + closing.end()
        return _Decision("calls", end, self._calls(body[: closing.start()]))

    def _decide_bare(self, start: int, *, final: bool) -> _Decision | None:
        text = self._raw[start:]
        opens = _could_open_call(text)
        if opens is None and not final:
            return None
        if not opens:
            return _Decision("text", start + 1)
        try:
            value, length = json.JSONDecoder().raw_decode(text)
        except json.JSONDecodeError:
            if not final:
                return None
            raise ToolCallError(f"the {BLOCK_TAG} JSON is incomplete or invalid") from None
        return _Decision("calls", start + length, self._calls_of(value))

    def _calls(self, content: str) -> tuple[ToolCall, ...]:
        try:
            value = json.loads(content)
        except json.JSONDecodeError as error:
            raise ToolCallError(
                f"the {BLOCK_TAG} block is not valid JSON ({json_problem(error)})"
            ) from None
        return self._calls_of(value)

    def _calls_of(self, value: object) -> tuple[ToolCall, ...]:
        items = value.get("tool_calls") if isinstance(value, dict) else None
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            raise ToolCallError(f'the {BLOCK_TAG} block needs a non-empty "tool_calls" list')
        calls = tuple(self._toolset.call_from(item) for item in items)
        self._toolset.check([*self.calls, *calls], complete=False)
        return calls

    def _text(self, text: str) -> list[Piece]:
        if self._trim:
            text = text.lstrip()
            self._trim = not text
        if not text:
            return []
        if self._toolset.must_call and not self.calls:
            self._held.append(text)
            return []
        self.text += text
        return [text]

    def _release_held(self) -> list[Piece]:
        held, self._held = "".join(self._held), []
        if not held.strip():
            return []
        self.text += held
        return [held]
