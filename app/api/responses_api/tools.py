"""Which of a Responses request's `tools` the bridge can honour, and how.

- `function` tools are the client's own code: they become chat-completions function tools,
  so the chat pipeline's tool-call emulation serves both APIs.
- `web_search` (and the `web_search_preview` names) is ChatGPT's own search: the turn is
  asked with web search on (`AskOptions.web_search`), never emulated in the prompt.
- `image_generation` is ChatGPT's own too: it draws when asked in words, so the tool is
  accepted and logged, but its images are not returned as `image_generation_call` items.
- Anything else (Codex sends `local_shell`, `custom`, MCP servers...) has no counterpart in
  a web chat: skipped with a warning, never a 400, so such clients keep working.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from app.api.errors import invalid_request

logger = logging.getLogger(__name__)

WEB_SEARCH = frozenset(
    {"web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"}
)
IMAGE_GENERATION = "image_generation"


@dataclass
class ToolPlan:
    """The request's tools sorted out: the client's functions, ChatGPT's own search."""

    functions: list[dict[str, Any]] = field(default_factory=list)
    """The function tools, in the chat-completions shape."""
    origins: list[int] = field(default_factory=list)
    """The index in the request's `tools` of each function tool."""
    echo: list[dict[str, Any]] = field(default_factory=list)
    """The tools in effect, as the Response object lists them."""
    web_search: bool = False
    tool_choice: str | dict[str, Any] | None = None
    """The chat-completions `tool_choice`; None: the default."""


def plan_tools(tools: list[Any] | None, tool_choice: str | dict[str, Any] | None) -> ToolPlan:
    """The plan for a request's `tools` and `tool_choice`; a malformed tool is a 400."""
    plan = ToolPlan()
    for index, tool in enumerate(tools or ()):
        _add_tool(plan, tool, index)
    _choose(plan, tool_choice)
    return plan


def _add_tool(plan: ToolPlan, tool: object, index: int) -> None:
    where = f"tools[{index}]"
    kind = tool.get("type") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or not isinstance(kind, str):
        raise invalid_request(f"Invalid '{where}': a tool needs a string 'type'.", where)
    if kind == "function":
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise invalid_request(f"Missing required parameter: '{where}.name'.", f"{where}.name")
        parameters = tool.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise invalid_request(
                f"Invalid '{where}.parameters': expected a JSON Schema object.",
                f"{where}.parameters",
            )
        function = {"name": name, "parameters": parameters or {"type": "object", "properties": {}}}
        description = tool.get("description")
        if isinstance(description, str):
            function["description"] = description
        strict = tool.get("strict")
        if isinstance(strict, bool):
            function["strict"] = strict
        plan.functions.append({"type": "function", "function": function})
        plan.origins.append(index)
        plan.echo.append(
            {
                "type": "function",
                "name": name,
                "description": description if isinstance(description, str) else None,
                "parameters": function["parameters"],
                "strict": strict if isinstance(strict, bool) else True,
            }
        )
    elif kind in WEB_SEARCH:
        plan.web_search = True
        plan.echo.append({key: value for key, value in tool.items() if key in _WEB_SEARCH_FIELDS})
    elif kind == IMAGE_GENERATION:
        logger.info(
            "tool image_generation: ChatGPT draws when asked in words; its images are not "
            "returned as image_generation_call items"
        )
    else:
        logger.warning("tool of type %r skipped: ChatGPT's web app has no such tool", kind)


_WEB_SEARCH_FIELDS = frozenset({"type", "search_context_size", "user_location", "filters"})


def _choose(plan: ToolPlan, choice: str | dict[str, Any] | None) -> None:
    """The chat `tool_choice` for OpenAI's Responses `tool_choice`."""
    if choice is None or isinstance(choice, str):
        plan.tool_choice = choice
        return
    kind = choice.get("type")
    if kind == "function":
        plan.tool_choice = {"type": "function", "function": {"name": choice.get("name")}}
    elif kind == "allowed_tools":
        allowed = {tool.get("name") for tool in choice.get("tools") or () if isinstance(tool, dict)}
        kept = [i for i, tool in enumerate(plan.functions) if tool["function"]["name"] in allowed]
        plan.functions = [plan.functions[i] for i in kept]
        plan.origins = [plan.origins[i] for i in kept]
        plan.tool_choice = choice.get("mode")
    elif kind in WEB_SEARCH:
        plan.web_search = True
    else:
        logger.warning("tool_choice %r ignored: ChatGPT's web app has no such tool", kind)
