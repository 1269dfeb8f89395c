"""Tool calls over chat completions, through the official `openai` package and raw HTTP, on
the FakeBridge: what is typed for each `tool_choice`, the calls returned (whole and
streamed, every body and chunk checked against OpenAI's schemas), tool results continuing
the same chat, the one repair message and the error after it. The format itself:
tests/test_api_tools_calls.py; the real browser: tests/test_api_tools_e2e.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

from app.api.tool_calls import (
    BLOCK_TAG,
    FunctionTool,
    ToolCallError,
    ToolChoice,
    Toolset,
    repair_message,
)
from app.api.usage import count_tokens
from tests.api_support import (
    Api,
    Asks,
    StartApp,
    fake_app,
    module_fake_api,
    replica_answers,
    unique,
    user,
)
from tests.fakes.bridge import Answer, FakeBridge
from tests.schemas import EventStream, parse_sse_line, validate

api = module_fake_api("api-tools", replica_answers)

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
    "required": ["city"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": WEATHER_PARAMETERS,
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
TOOLS = [WEATHER, TIME]
TOOLSET = Toolset(
    (
        FunctionTool("get_weather", "Current weather in a city", WEATHER_PARAMETERS),
        FunctionTool("get_time", None, {"type": "object"}),
    )
)


def _block(*calls: tuple[str, dict[str, Any]]) -> str:
    entries = [{"name": name, "arguments": arguments} for name, arguments in calls]
    return f"```{BLOCK_TAG}\n" + json.dumps({"tool_calls": entries}) + "\n```"


def _deltas(text: str, size: int = 5) -> Answer:
    return Answer(*(text[start : start + size] for start in range(0, len(text), size)))


async def _stream(api: Api, payload: dict[str, Any]) -> EventStream:
    """A streamed completion read line by line, every chunk checked against the schema."""
    stream = EventStream()
    async with api.http() as http, http.stream("POST", "/v1/chat/completions", json=payload) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            parse_sse_line(stream, line)
    assert stream.done
    return stream


async def _raw(api: Api, **payload: Any) -> dict[str, Any]:
    async with api.http() as http:
        response = await http.post("/v1/chat/completions", json={"model": "auto", **payload})
    assert response.status_code == 200, response.text
    body = response.json()
    validate(body, "CreateChatCompletionResponse")
    return body


async def test_a_call_comes_back_as_tool_calls(api: Api) -> None:
    asks = Asks.of(api)
    question = unique("Weather in Paris?")
    api.bridge.script(_deltas("Let me look.\n\n" + _block(("get_weather", {"city": "Paris"}))))
    body = await _raw(api, messages=[user(question)], tools=TOOLS)
    [choice] = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] == "Let me look."
    [call] = message["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    [ask] = asks()
    assert ask.prompt == f"{question}\n\n{TOOLSET.instruction()}"
    assert body["usage"]["completion_tokens"] > 0
    plain = await _raw(api, messages=[user(question)])
    tools_tokens = sum(count_tokens(tool.as_json()) for tool in TOOLSET.tools)
    assert body["usage"]["prompt_tokens"] == plain["usage"]["prompt_tokens"] + tools_tokens


async def test_the_sdk_reads_calls_only_and_parallel(api: Api) -> None:
    api.bridge.script(
        Answer(_block(("get_weather", {"city": "Oslo", "unit": "c"}), ("get_time", {})))
    )
    completion = await api.async_client().chat.completions.create(
        model="auto",
        messages=[user(unique("two things"))],
        tools=TOOLS,  # type: ignore[list-item]
    )
    message = completion.choices[0].message
    assert message.content is None and completion.choices[0].finish_reason == "tool_calls"
    calls = message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [  # type: ignore[union-attr]
        ("get_weather", {"city": "Oslo", "unit": "c"}),
        ("get_time", {}),
    ]
    assert len({call.id for call in calls}) == 2


async def test_a_streamed_call_arrives_as_tool_call_deltas(api: Api) -> None:
    api.bridge.script(
        _deltas(
            "Checking.\n```json\n"
            + json.dumps({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Rome"}}]})
            + "\n```\n",
            size=3,
        )
    )
    payload = {
        "model": "auto",
        "messages": [user(unique("stream a call"))],
        "tools": TOOLS,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    stream = await _stream(api, payload)
    assert not stream.errors
    assert stream.content == "Checking."
    deltas = [
        delta
        for chunk in stream.chunks
        for choice in chunk["choices"]
        for delta in choice["delta"].get("tool_calls") or ()
    ]
    assert deltas[0]["index"] == 0 and deltas[0]["id"].startswith("call_")
    assert deltas[0]["function"] == {"name": "get_weather", "arguments": ""}
    assert "".join(d["function"].get("arguments", "") for d in deltas) == '{"city": "Rome"}'
    finishes = [c["choices"][0]["finish_reason"] for c in stream.chunks if c["choices"]]
    assert [reason for reason in finishes if reason] == ["tool_calls"]
    assert stream.chunks[-1]["usage"]["completion_tokens"] > 0


async def test_the_sdk_stream_helper_accumulates_the_call(api: Api) -> None:
    # The replica's model answers (the default handler): it calls the first tool.
    client = api.async_client()
    async with client.chat.completions.stream(
        model="auto",
        messages=[user(unique("stream helper"))],
        tools=TOOLS,  # type: ignore[arg-type]
    ) as stream:
        final = await stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "city", "unit": "c"}  # type: ignore[union-attr]
    assert final.choices[0].finish_reason == "tool_calls"


async def test_tool_results_continue_the_same_chat(api: Api) -> None:
    asks = Asks.of(api)
    question = unique("Weather in Lima?")
    first = await api.async_client().chat.completions.create(
        model="auto",
        messages=[user(question)],
        tools=TOOLS,  # type: ignore[list-item]
    )
    message = first.choices[0].message
    [call] = message.tool_calls or []
    messages: list[Any] = [
        user(question),
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 C"},
    ]
    second = await api.async_client().chat.completions.create(
        model="auto",
        messages=messages,
        tools=TOOLS,  # type: ignore[arg-type]
    )
    assert second.choices[0].message.content == 'The tools answered: "Sunny, 24 C".'
    assert second.choices[0].finish_reason == "stop"
    opened, continued = asks()
    assert continued.conversation_id is not None
    assert continued.conversation_id == api.bridge.turns[-2].conversation_id
    assert continued.prompt == (
        f"Tool result ({call.id}): Sunny, 24 C\n\n{TOOLSET.instruction(after_results=True)}"
    )
    assert opened.conversation_id is None


@pytest.mark.parametrize(
    ("tool_choice", "parallel", "sentence"),
    [
        ("required", None, "You must call at least one tool in this reply."),
        (
            {"type": "function", "function": {"name": "get_time"}},
            False,
            'You must call the tool "get_time" in this reply.',
        ),
        ("auto", False, "Call at most one tool in this reply."),
    ],
)
async def test_tool_choice_and_parallel_calls_are_typed(
    api: Api, tool_choice: Any, parallel: bool | None, sentence: str
) -> None:
    asks = Asks.of(api)
    extra = {} if parallel is None else {"parallel_tool_calls": parallel}
    body = await _raw(
        api, messages=[user(unique("choose"))], tools=TOOLS, tool_choice=tool_choice, **extra
    )
    [ask] = asks()
    choice = ToolChoice.parse(tool_choice)
    instruction = Toolset(TOOLSET.tools, choice, parallel is not False).instruction()
    assert instruction and ask.prompt.endswith(instruction) and sentence in instruction
    [call] = body["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == (choice.name or "get_weather")


async def test_tool_choice_none_types_no_instruction_and_keeps_prose(api: Api) -> None:
    asks = Asks.of(api)
    question = unique("no tools now")
    api.bridge.script(Answer(_block(("get_time", {}))))
    body = await _raw(api, messages=[user(question)], tools=TOOLS, tool_choice="none")
    assert asks()[0].prompt == question
    message = body["choices"][0]["message"]
    assert "tool_calls" not in message and message["content"] == _block(("get_time", {}))
    assert body["choices"][0]["finish_reason"] == "stop"


async def test_a_wrong_call_is_repaired_once_in_the_same_chat(api: Api) -> None:
    asks = Asks.of(api)
    api.bridge.script(
        Answer(_block(("get_wether", {"city": "Bern"})), " Anything after it is discarded."),
        _deltas(_block(("get_weather", {"city": "Bern"}))),
    )
    body = await _raw(api, messages=[user(unique("repair me"))], tools=TOOLS, stream=False)
    [call] = body["choices"][0]["message"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Bern"}'}
    _, repair = asks()
    assert repair.conversation_id == api.bridge.turns[-2].conversation_id
    assert repair.prompt.startswith("[Your last reply did not call the tools correctly: ")
    assert 'there is no tool "get_wether"' in repair.prompt and len(repair.prompt) < 300
    assert body["choices"][0]["message"]["content"] is None


async def test_a_prose_answer_to_a_required_call_is_repaired_in_a_stream(api: Api) -> None:
    asks = Asks.of(api)
    api.bridge.script(
        _deltas("I would rather just talk about it."),
        _deltas(_block(("get_time", {}))),
    )
    payload = {
        "model": "auto",
        "messages": [user(unique("must call"))],
        "tools": TOOLS,
        "tool_choice": "required",
        "stream": True,
    }
    stream = await _stream(api, payload)
    assert not stream.errors and stream.content == ""  # the prose was held, never sent
    names = [
        delta["function"].get("name")
        for chunk in stream.chunks
        for delta in chunk["choices"][0]["delta"].get("tool_calls") or ()
        if chunk["choices"]
    ]
    assert [name for name in names if name] == ["get_time"]
    problem = ToolCallError("the reply must call a tool, but it called none")
    assert asks()[1].prompt == repair_message(problem)


async def test_a_call_broken_twice_is_an_error_the_sdk_does_not_retry(api: Api) -> None:
    asks = Asks.of(api)
    broken = Answer(_block(("get_weather", {"city": 42})))
    api.bridge.script(broken, broken)
    client = api.async_client(max_retries=2)
    with pytest.raises(openai.InternalServerError) as failure:
        await client.chat.completions.create(
            model="auto",
            messages=[user(unique("broken"))],
            tools=TOOLS,  # type: ignore[list-item]
        )
    assert failure.value.code == "invalid_tool_call"
    assert failure.value.response.headers["x-should-retry"] == "false"
    validate(failure.value.response.json(), "ErrorResponse")
    assert "even after a repair message" in failure.value.message
    assert "$.city: 42 is not of type 'string'" in failure.value.message
    assert len(asks()) == 2  # the question and the one repair; the SDK did not retry


async def test_with_repair_off_a_wrong_call_is_an_error_at_once(
    start_app: StartApp, tmp_path: Path
) -> None:
    bridge = FakeBridge()
    bridge.script(Answer(_block(("nope", {}))))
    async with fake_app(start_app, tmp_path, bridge, tool_repair=False) as app:
        payload = {"model": "auto", "messages": [user("x")], "tools": TOOLS, "stream": True}
        stream = await _stream(app, payload)
    [error] = stream.errors
    assert error["code"] == "invalid_tool_call" and "BRIDGE_TOOL_REPAIR" in error["message"]
    assert len(bridge.asks) == 1
