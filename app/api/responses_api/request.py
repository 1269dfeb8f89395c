"""`POST /v1/responses`: the request checked, then translated into a chat completion.

A Responses request is a chat completion in other words: `instructions` is the system
message, `input` the messages (items.py), `text.format` the `response_format`,
`max_output_tokens` the token limit, function tools the chat tools (tools.py). Translated,
it runs through the very pipeline chat completions use (`CompletionJob`: which chat, the
turn, stop/limit/JSON shaping, tool calls), so both APIs behave alike by construction.

What is Responses-only stays here: `previous_response_id` (the stored transcript goes in
front of `input`), `store`, `background`, `reasoning.effort` (a thinking effort of the
model), hosted tools (ChatGPT's own web search). Fields the web chat cannot show
(`temperature`, `top_p`, `metadata`, `truncation`, `include`, ...) are checked where
OpenAI checks them, echoed in the Response, and otherwise ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.api.emulation import schema_problem
from app.api.errors import APIError, invalid_request, unsupported
from app.api.reasoning import OpenAIEffort
from app.api.responses_api.items import ChatMessage, Input, read_input
from app.api.responses_api.tools import ToolPlan, plan_tools
from app.api.schemas import ChatCompletionRequest, json_body, parse_chat_request, validation_error

_CHAT_PARAMS = {
    "messages": "input",
    "response_format": "text.format",
    "response_format.json_schema.schema": "text.format.schema",
    "max_completion_tokens": "max_output_tokens",
}
"""A chat-completions check that refuses the translated request names the Responses param."""
_CHAT_TOOL = re.compile(r"tools\[(\d+)\](?:\.function)?(?:\.(.+))?$")


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class TextFormat(_Model):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> TextFormat:
        if self.type == "json_schema" and (self.schema_ is None or not self.name):
            raise ValueError("type 'json_schema' needs a 'name' and a 'schema'")
        return self

    def echo(self) -> dict[str, Any]:
        if self.type != "json_schema":
            return {"type": self.type}
        echo = {"type": "json_schema", "name": self.name, "schema": self.schema_}
        if self.description is not None:
            echo["description"] = self.description
        return {**echo, "strict": self.strict}


class TextOptions(_Model):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningOptions(_Model):
    effort: OpenAIEffort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None


class CreateResponse(_Model):
    model: str
    input: str | list[Any]
    instructions: str | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    stream: bool | None = None
    background: bool | None = None
    text: TextOptions | None = None
    reasoning: ReasoningOptions | None = None
    max_output_tokens: Annotated[int | None, Field(ge=16)] = None
    tools: list[Any] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = Field(
        None, union_mode="left_to_right"
    )
    parallel_tool_calls: bool | None = None
    temperature: Annotated[float | None, Field(ge=0, le=2)] = None
    top_p: Annotated[float | None, Field(ge=0, le=1)] = None
    top_logprobs: Annotated[int | None, Field(ge=0, le=20)] = None
    metadata: dict[str, str] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    conversation: str | dict[str, Any] | None = None
    prompt: dict[str, Any] | None = None


@dataclass(frozen=True)
class ResponseRequest:
    """A checked request: what to ask, and what the Response object echoes back."""

    body: CreateResponse
    input: Input
    tools: ToolPlan

    @property
    def store(self) -> bool:
        return self.body.store is not False

    @property
    def text_format(self) -> TextFormat:
        return (self.body.text and self.body.text.format) or TextFormat(type="text")

    def chat_request(self, history: list[ChatMessage]) -> ChatCompletionRequest:
        """The chat completion this asks: `history` (a previous response's), then the input."""
        body = self.body
        messages = [{"role": "system", "content": body.instructions}] if body.instructions else []
        chat: dict[str, Any] = {"model": body.model, "messages": messages + history}
        chat["messages"] += self.input.messages
        text_format = self.text_format
        if text_format.type == "json_object":
            chat["response_format"] = {"type": "json_object"}
        elif text_format.type == "json_schema":
            spec = {"name": text_format.name, "schema": text_format.schema_}
            chat["response_format"] = {"type": "json_schema", "json_schema": spec}
        if body.max_output_tokens is not None:
            chat["max_completion_tokens"] = body.max_output_tokens
        if self.tools.functions:
            chat["tools"] = self.tools.functions
            if self.tools.tool_choice is not None:
                chat["tool_choice"] = self.tools.tool_choice
            if body.parallel_tool_calls is not None:
                chat["parallel_tool_calls"] = body.parallel_tool_calls
        try:
            return parse_chat_request(json.dumps(chat).encode())
        except APIError as error:
            error.param = self._responses_param(error.param)
            raise

    def _responses_param(self, param: str | None) -> str | None:
        """A chat-completions param (of the translated request) as this request names it."""
        tool = _CHAT_TOOL.match(param or "")
        if tool:
            origin = self.tools.origins[int(tool.group(1))]
            return f"tools[{origin}]" + (f".{tool.group(2)}" if tool.group(2) else "")
        return _CHAT_PARAMS.get(param or "", param)

    def echo(self) -> dict[str, Any]:
        """The request's settings as every Response object repeats them."""
        body = self.body
        return {
            "instructions": body.instructions,
            "max_output_tokens": body.max_output_tokens,
            "metadata": body.metadata or {},
            "parallel_tool_calls": body.parallel_tool_calls is not False,
            "previous_response_id": body.previous_response_id,
            "reasoning": {"effort": _effort(body), "summary": None},
            "store": self.store,
            "background": bool(body.background),
            "temperature": 1.0 if body.temperature is None else body.temperature,
            "top_p": 1.0 if body.top_p is None else body.top_p,
            "text": {"format": self.text_format.echo(), "verbosity": _verbosity(body)},
            "tool_choice": body.tool_choice or "auto",
            "tools": self.tools.echo,
            "truncation": body.truncation or "disabled",
        }


def _effort(body: CreateResponse) -> OpenAIEffort | None:
    return body.reasoning.effort if body.reasoning else None


def _verbosity(body: CreateResponse) -> str:
    return (body.text and body.text.verbosity) or "medium"


def parse_response_request(raw: bytes | dict[str, Any]) -> ResponseRequest:
    """The checked request, or an APIError (400) naming the offending parameter."""
    data = raw if isinstance(raw, dict) else json_body(raw, "'model' and 'input'")
    try:
        body = CreateResponse.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None
    _check_supported(body)
    return ResponseRequest(body, read_input(body.input), plan_tools(body.tools, body.tool_choice))


def _check_supported(body: CreateResponse) -> None:
    if body.conversation is not None:
        raise unsupported(
            "conversation",
            "OpenAI's Conversations API is not available; continue with "
            "'previous_response_id', or pin a ChatGPT chat with the X-Conversation-Id header.",
        )
    if body.prompt is not None:
        raise unsupported("prompt", "Stored prompt templates are not available from ChatGPT.")
    if body.top_logprobs:
        raise unsupported("top_logprobs", "logprobs are not available from ChatGPT's web app.")
    if body.background and body.store is False:
        raise invalid_request("Background responses need 'store': true.", "background")
    text_format = body.text.format if body.text else None
    if text_format is not None and text_format.schema_ is not None:
        problem = schema_problem(text_format.schema_)
        if problem:
            raise invalid_request(f"Invalid 'text.format.schema': {problem}.", "text.format.schema")
