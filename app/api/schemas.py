"""The chat completion request: parsed and checked before anything reaches the browser.

Every malformed request gets a 400 naming the offending `param` (OpenAI's convention,
e.g. `messages[1].content`), never a 422 or a 500. Fields the official API defines that
change nothing the bridge can show (temperature, seed, user, metadata, ...) are range-checked
where OpenAI checks them and otherwise ignored; unknown fields are ignored, because clients
send vendor extensions. Parameters that would change the shape of the response and cannot
be honoured by a web chat are refused with `unsupported_parameter`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.api.emulation import JsonFormat, schema_problem
from app.api.errors import APIError, invalid_request, unsupported
from app.api.inputs import FileSource, source_of_part
from app.api.reasoning import OpenAIEffort
from app.api.tool_calls import FunctionTool, ToolChoice, Toolset

Role = Literal["developer", "system", "user", "assistant", "tool", "function"]

_PART_TYPES: dict[str, frozenset[str]] = {
    "developer": frozenset({"text"}),
    "system": frozenset({"text"}),
    "user": frozenset({"text", "image_url", "input_audio", "file"}),
    "assistant": frozenset({"text", "refusal"}),
    "tool": frozenset({"text"}),
    "function": frozenset(),
}


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


@dataclass(frozen=True)
class ContentPart:
    """One part of a list content: text, or a file (`source`) that is attached, not typed."""

    type: str
    text: str
    source: FileSource | None = None


def _part(index: int, item: object, role: str) -> ContentPart:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise ValueError(f"part {index} must be an object with a string 'type'")
    kind = item["type"]
    allowed = _PART_TYPES[role]
    if kind not in allowed:
        raise ValueError(
            f"part {index} has type '{kind}'; {role} messages accept "
            f"{', '.join(sorted(allowed)) or 'only a string'}"
        )
    if kind in ("text", "refusal"):
        if not isinstance(item.get(kind), str):
            raise ValueError(f"part {index} of type '{kind}' needs a string '{kind}'")
        return ContentPart(kind, item[kind])
    return ContentPart(kind, "", source_of_part(kind, item, f"part {index}"))


def _content(value: object, info: ValidationInfo) -> str | tuple[ContentPart, ...] | None:
    role = info.data.get("role")
    if role is None:  # the role itself was invalid and is reported instead
        return None
    if value is None:
        optional = role == "function" or (
            role == "assistant" and (info.data.get("tool_calls") or info.data.get("function_call"))
        )
        if not optional:
            raise ValueError(f"{role} messages need a 'content'")
        return None
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not value or role == "function":
        raise ValueError(
            "expected a string"
            + ("" if role == "function" else " or a non-empty array of content parts")
        )
    return tuple(_part(index, item, role) for index, item in enumerate(value))


class ToolCallFunction(_Model):
    name: str
    arguments: str = ""


class ToolCall(_Model):
    id: str = ""
    type: str = "function"
    function: ToolCallFunction | None = None


class ChatMessage(_Model):
    # Field order matters: `content` is checked last, against the fields before it.
    role: Role
    name: str | None = Field(None, validate_default=True)
    tool_calls: list[ToolCall] | None = None
    function_call: ToolCallFunction | None = None
    tool_call_id: str | None = Field(None, validate_default=True)
    content: Annotated[
        str | tuple[ContentPart, ...] | None, PlainValidator(_content), Field(validate_default=True)
    ] = None

    @field_validator("name", "tool_call_id", mode="after")
    @classmethod
    def _required_by_role(cls, value: str | None, info: ValidationInfo) -> str | None:
        required_by = {"name": "function", "tool_call_id": "tool"}[info.field_name or ""]
        if value is None and info.data.get("role") == required_by:
            raise ValueError(f"{required_by} messages need a '{info.field_name}'")
        return value


class StreamOptions(_Model):
    include_usage: bool | None = None


class JsonSchemaSpec(_Model):
    name: str
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Model):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs a 'json_schema' object")
        return self


class FunctionDefinition(_Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ChatTool(_Model):
    type: Literal["function"]
    function: FunctionDefinition


def _tool_choice(value: object) -> ToolChoice | None:
    if value is None or isinstance(value, ToolChoice):
        return value
    return ToolChoice.parse(value)  # its ValueError becomes a 400 naming `tool_choice`


def _stop_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


Penalty = Annotated[float | None, Field(ge=-2, le=2)]


class ChatCompletionRequest(_Model):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    n: Annotated[int | None, Field(ge=1, le=128)] = None
    temperature: Annotated[float | None, Field(ge=0, le=2)] = None
    top_p: Annotated[float | None, Field(ge=0, le=1)] = None
    presence_penalty: Penalty = None
    frequency_penalty: Penalty = None
    # The length bounds sit on the list alone: an explicit `"stop": null` is valid.
    stop: Annotated[
        Annotated[list[str], Field(min_length=1, max_length=4)] | None,
        BeforeValidator(_stop_list),
    ] = None
    max_tokens: Annotated[int | None, Field(ge=1)] = None
    max_completion_tokens: Annotated[int | None, Field(ge=1)] = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int | None, Field(ge=0, le=20)] = None
    response_format: ResponseFormat | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    audio: dict[str, Any] | None = None
    tools: list[ChatTool] | None = None
    tool_choice: Annotated[ToolChoice | None, PlainValidator(_tool_choice)] = None
    parallel_tool_calls: bool | None = None
    web_search_options: dict[str, Any] | None = None
    """Present (even `{}`): ask with ChatGPT's web search; its fields have no page control."""
    reasoning_effort: OpenAIEffort | None = None
    """Mapped onto the model's thinking efforts by rank, as Responses' `reasoning.effort`."""
    function_call: Literal["none", "auto"] | dict[str, Any] | None = Field(
        None, union_mode="left_to_right"
    )

    @property
    def token_limit(self) -> int | None:
        limits = [limit for limit in (self.max_tokens, self.max_completion_tokens) if limit]
        return min(limits) if limits else None

    @property
    def json_format(self) -> JsonFormat | None:
        response_format = self.response_format
        if response_format is None or response_format.type == "text":
            return None
        spec = response_format.json_schema if response_format.type == "json_schema" else None
        return JsonFormat(schema=spec.schema_ if spec else None, name=spec.name if spec else None)

    @property
    def toolset(self) -> Toolset | None:
        """The function tools offered to ChatGPT, or None when the request offers none."""
        if not self.tools:
            return None
        tools = tuple(
            FunctionTool(
                tool.function.name,
                tool.function.description,
                tool.function.parameters,
                tool.function.strict,
            )
            for tool in self.tools
        )
        parallel = self.parallel_tool_calls is not False
        return Toolset(tools, self.tool_choice or ToolChoice(), parallel)


def json_body(body: bytes, fields: str) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says the API expects `fields` in one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # bad UTF-8 or JSON; absurdly deep nesting
        raise invalid_request(
            "We could not parse the JSON body of your request. The API expects a JSON object "
            f"(Content-Type: application/json) with at least {fields}."
        ) from None
    if not isinstance(data, dict):
        raise invalid_request(
            f"The request body must be a JSON object, not a JSON {_json_type(data)}."
        )
    return data


def parse_chat_request(body: bytes) -> ChatCompletionRequest:
    """The validated request, or an APIError (400) that names the offending parameter."""
    data = json_body(body, "'model' and 'messages'")
    try:
        request = ChatCompletionRequest.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None
    _check_supported(request)
    return request


def _json_type(value: object) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _param(location: tuple[int | str, ...]) -> str:
    param = ""
    for part in location:
        param += f"[{part}]" if isinstance(part, int) else (f".{part}" if param else part)
    return param


def validation_error(error: ValidationError) -> APIError:
    """The 400 for a failed pydantic validation, naming the param as OpenAI does."""
    first = error.errors(include_url=False)[0]
    location = tuple(first["loc"])
    # A failed union member adds its type name to the location; only fields make a param.
    while location and isinstance(location[-1], str) and not location[-1].isidentifier():
        location = location[:-1]
    param = _param(location)
    if first["type"] == "missing":
        return invalid_request(f"Missing required parameter: '{param}'.", param)
    reason = first["msg"].removeprefix("Value error, ")
    return invalid_request(f"Invalid '{param}': {reason}.", param)


def _check_supported(request: ChatCompletionRequest) -> None:
    if request.stream_options is not None and not request.stream:
        raise invalid_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    if request.n is not None and request.n > 1:
        raise unsupported(
            "n", "Only n=1 is supported: ChatGPT's web app writes one answer per message."
        )
    if request.logprobs:
        raise unsupported("logprobs", "logprobs are not available from ChatGPT's web app.")
    if request.top_logprobs:
        raise unsupported("top_logprobs", "logprobs are not available from ChatGPT's web app.")
    if request.audio is not None or (request.modalities and "audio" in request.modalities):
        raise unsupported(
            "modalities" if request.audio is None else "audio",
            "Audio output is not supported by the bridge; ask for text only.",
        )
    _check_tools(request)
    if isinstance(request.function_call, dict):
        raise unsupported(
            "function_call", "The bridge cannot force a function call; use 'auto' or 'none'."
        )
    _check_response_format(request)


def _check_tools(request: ChatCompletionRequest) -> None:
    names = [tool.function.name for tool in request.tools or ()]
    for index, tool in enumerate(request.tools or ()):
        if names.index(tool.function.name) != index:
            raise invalid_request(
                f"Invalid 'tools': the function name '{tool.function.name}' is given twice.",
                f"tools[{index}].function.name",
            )
        problem = schema_problem(tool.function.parameters or {})
        if problem:
            raise invalid_request(
                f"Invalid 'tools[{index}].function.parameters': {problem}.",
                f"tools[{index}].function.parameters",
            )
    choice = request.tool_choice
    if choice is None or choice.mode in ("none", "auto"):
        return
    if not names:
        raise invalid_request(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
            "tool_choice",
        )
    if choice.name is not None and choice.name not in names:
        raise invalid_request(
            f"Invalid value for 'tool_choice': no function named '{choice.name}' was specified "
            f"in the 'tools' parameter (the tools are: {', '.join(names)}).",
            "tool_choice",
        )


def _check_response_format(request: ChatCompletionRequest) -> None:
    json_format = request.json_format
    if json_format is None:
        return
    if json_format.schema is not None:
        problem = schema_problem(json_format.schema)
        if problem:
            raise invalid_request(
                f"Invalid 'response_format.json_schema.schema': {problem}.",
                "response_format.json_schema.schema",
            )
    elif not any(_mentions_json(message) for message in request.messages):
        raise invalid_request(
            "'messages' must contain the word 'json' in some form, to use 'response_format' "
            "of type 'json_object'.",
            "messages",
        )


def _mentions_json(message: ChatMessage) -> bool:
    content = message.content
    if isinstance(content, tuple):
        content = " ".join(part.text for part in content)
    return "json" in (content or "").lower()
