"""The replica's tool-using model: it answers the bridge's tool and JSON instructions.

ChatGPT follows an instruction in the prompt to call tools in a fenced `tool_calls` block, or
to answer with JSON valid against a schema; the replica plays that part deterministically, so
an agent loop can run end to end against it. It recognises the instructions by their
documented wording (docs/api.md, "Tools"; docs/replica.md, "The tool-using model"), never by
importing the bridge: the replica is a program of its own.

- A prompt with a `[Tools]` ... `[End of tools]` section calls the tool the instruction
  names (`You must call the tool "X"`), else the first one, with arguments built from its
  JSON Schema; except that after tool results (the instruction says "The tool results
  above ...") without a named or required tool, it answers in prose quoting the results.
- A prompt asking for JSON valid against a JSON Schema gets JSON built from that schema.
"""

from __future__ import annotations

import json
import re
from typing import Any

from replica import model  # its `quote`; model.py calls this module's answer()

TOOLS_START = "[Tools]\n"
TOOLS_END = "\n[End of tools]"
_NAMED = re.compile(r'You must call the tool "([^"]+)" in this reply\.')
_REQUIRED = "You must call at least one tool in this reply."
_AFTER_RESULTS = "The tool results above answer your earlier calls"
_RESULT = re.compile(r"Tool result \(([^)]*)\): (.*?)(?=\n\n|\n\[|\Z)", re.DOTALL)
_JSON_SCHEMA = re.compile(r"must validate against this JSON Schema(?: \([^)\n]*\))?:\n(.+)")
_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00",
    "email": "someone@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def answer(prompt: str) -> str | None:
    """The answer to a prompt carrying a tool or JSON-schema instruction, else None."""
    tools = _tools(prompt)
    if tools:
        named = _NAMED.search(prompt)
        must_call = named is not None or _REQUIRED in prompt
        results = _RESULT.findall(prompt)
        if results and _AFTER_RESULTS in prompt and not must_call:
            quoted = "; ".join(f'"{model.quote(text.strip())}"' for _, text in results)
            return f"The tools answered: {quoted}."
        tool = next((tool for tool in tools if named and tool["name"] == named.group(1)), tools[0])
        schema = tool.get("parameters") or {}
        call = {"name": tool["name"], "arguments": example(schema, schema)}
        return "```tool_calls\n" + json.dumps({"tool_calls": [call]}) + "\n```"
    match = _JSON_SCHEMA.search(prompt)
    if match:
        try:
            schema = json.loads(match.group(1))
        except json.JSONDecodeError:
            return None
        return "```json\n" + json.dumps(example(schema, schema)) + "\n```"
    return None


def _tools(prompt: str) -> list[dict[str, Any]]:
    """The tool definitions of the prompt's `[Tools]` section: one JSON object per line."""
    start = prompt.rfind(TOOLS_START)
    end = prompt.find(TOOLS_END, start)
    if start < 0 or end < 0:
        return []
    tools = []
    for line in prompt[start + len(TOOLS_START) : end].splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            tools.append(value)
    return tools


def example(schema: Any, root: Any, name: str = "value") -> Any:
    """A value valid against `schema` (local `$ref`s resolved in `root`), made up plainly:
    strings are the property's name, numbers the least allowed, every property present."""
    if not isinstance(schema, dict):
        return name
    if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        target = root
        for part in schema["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return example(target, root, name)
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    for key in ("enum", "examples"):
        if schema.get(key):
            return schema[key][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [option for option in schema.get(key) or () if option.get("type") != "null"]
        if options:
            return example(options[0], root, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    return _typed(kind, schema, root, name)


def _typed(kind: str, schema: dict[str, Any], root: Any, name: str) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        return {key: example(value, root, key) for key, value in properties.items()}
    if kind == "array":
        item = example(schema.get("items", {}), root, name)
        return [item] * max(1, schema.get("minItems", 1))
    if kind in ("integer", "number"):
        least = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        value = min(least, schema.get("maximum", least))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = _FORMATS.get(schema.get("format", ""), name)
    text = text.ljust(schema.get("minLength", 0), "x")
    return text[: schema["maxLength"]] if "maxLength" in schema else text
