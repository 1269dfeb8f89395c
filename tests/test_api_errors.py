"""Errors in OpenAI's envelope, on a FakeBridge: every malformed request, the API key,
unknown models, a full queue, and every typed failure of the browser layer -> its HTTP
status, code and retry headers. The app here has an API key."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest

from tests.api_support import Api, Asks, module_fake_api, user
from tests.schemas import validate

KEY = "test-key-0123456789"
USER = [user("hello json")]


api = module_fake_api("api-errors", api_key=KEY)


def _chat(**fields: Any) -> dict[str, Any]:
    return {"model": "auto", "messages": USER, **fields}


def _tool(name: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": parameters or {}}}


MALFORMED: list[tuple[str, bytes | dict[str, Any], str | None, str | None]] = [
    ("not JSON", b"{model: auto", None, None),
    ("not an object", b'["model", "auto"]', None, None),
    ("no model", {"messages": USER}, "model", None),
    ("model not a string", _chat(model=4), "model", None),
    ("no messages", {"model": "auto"}, "messages", None),
    ("empty messages", _chat(messages=[]), "messages", None),
    ("messages not a list", _chat(messages="hi"), "messages", None),
    ("message not an object", _chat(messages=["hi"]), "messages[0]", None),
    ("bad role", _chat(messages=[{"role": "bot", "content": "x"}]), "messages[0].role", None),
    ("no role", _chat(messages=[{"content": "x"}]), "messages[0].role", None),
    (
        "content a number",
        _chat(messages=[{"role": "user", "content": 2}]),
        "messages[0].content",
        None,
    ),
    ("content missing", _chat(messages=[{"role": "user"}]), "messages[0].content", None),
    (
        "content empty list",
        _chat(messages=[{"role": "user", "content": []}]),
        "messages[0].content",
        None,
    ),
    (
        "unknown part",
        _chat(messages=[{"role": "user", "content": [{"type": "video", "video": "x"}]}]),
        "messages[0].content",
        None,
    ),
    (
        "text part without text",
        _chat(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        "messages[0].content",
        None,
    ),
    (
        "image in a system message",
        _chat(
            messages=[
                {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
                user("x"),
            ]
        ),
        "messages[0].content",
        None,
    ),
    (
        "tool message without id",
        _chat(messages=[user("x"), {"role": "tool", "content": "r"}]),
        "messages[1].tool_call_id",
        None,
    ),
    ("temperature > 2", _chat(temperature=2.5), "temperature", None),
    ("temperature a string", _chat(temperature="hot"), "temperature", None),
    ("top_p > 1", _chat(top_p=1.5), "top_p", None),
    ("presence_penalty < -2", _chat(presence_penalty=-3), "presence_penalty", None),
    ("frequency_penalty > 2", _chat(frequency_penalty=3), "frequency_penalty", None),
    ("n = 0", _chat(n=0), "n", None),
    ("n > 128", _chat(n=129), "n", None),
    ("five stop strings", _chat(stop=["a", "b", "c", "d", "e"]), "stop", None),
    ("stop a number", _chat(stop=3), "stop", None),
    ("max_tokens 0", _chat(max_tokens=0), "max_tokens", None),
    ("max_completion_tokens -1", _chat(max_completion_tokens=-1), "max_completion_tokens", None),
    ("top_logprobs > 20", _chat(top_logprobs=21), "top_logprobs", None),
    ("stream not a boolean", _chat(stream="yes"), "stream", None),
    (
        "stream_options without stream",
        _chat(stream_options={"include_usage": True}),
        "stream_options",
        None,
    ),
    (
        "unknown response_format",
        _chat(response_format={"type": "xml"}),
        "response_format.type",
        None,
    ),
    (
        "json_schema without schema object",
        _chat(response_format={"type": "json_schema"}),
        "response_format",
        None,
    ),
    (
        "json_schema with an invalid schema",
        _chat(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": 5}},
            }
        ),
        "response_format.json_schema.schema",
        None,
    ),
    (
        "json_object without the word json",
        _chat(messages=[user("hi")], response_format={"type": "json_object"}),
        "messages",
        None,
    ),
    ("bad tool_choice", _chat(tool_choice="sometimes"), "tool_choice", None),
    ("n > 1", _chat(n=2), "n", "unsupported_parameter"),
    ("logprobs", _chat(logprobs=True), "logprobs", "unsupported_parameter"),
    ("top_logprobs", _chat(top_logprobs=3), "top_logprobs", "unsupported_parameter"),
    ("audio output", _chat(modalities=["text", "audio"]), "modalities", "unsupported_parameter"),
    (
        "audio parameters",
        _chat(audio={"voice": "alloy", "format": "mp3"}),
        "audio",
        "unsupported_parameter",
    ),
    ("tool_choice required without tools", _chat(tool_choice="required"), "tool_choice", None),
    (
        "named tool_choice of no tool",
        _chat(tools=[_tool("g")], tool_choice={"type": "function", "function": {"name": "f"}}),
        "tool_choice",
        None,
    ),
    ("a tool of another type", _chat(tools=[{"type": "custom"}]), "tools[0].type", None),
    ("a bad function name", _chat(tools=[_tool("has space")]), "tools[0].function.name", None),
    (
        "a function name twice",
        _chat(tools=[_tool("f"), _tool("f")]),
        "tools[1].function.name",
        None,
    ),
    (
        "tool parameters that are no schema",
        _chat(tools=[_tool("f", {"type": "thing"})]),
        "tools[0].function.parameters",
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
async def test_malformed_requests_are_400_with_the_param(
    api: Api, body: bytes | dict[str, Any], param: str | None, code: str | None
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with api.http() as http:
        response = await http.post(
            "/v1/chat/completions", content=content, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    error = response.json()
    validate(error, "ErrorResponse")
    assert error["error"]["type"] == "invalid_request_error"
    assert (error["error"]["param"], error["error"]["code"]) == (param, code)


async def test_the_sdk_raises_bad_request_error(api: Api) -> None:
    asks = Asks.of(api)
    client = api.client(max_retries=2)
    with pytest.raises(openai.BadRequestError) as unsupported:
        await asyncio.to_thread(client.chat.completions.create, model="auto", messages=USER, n=3)
    assert unsupported.value.code == "unsupported_parameter"
    assert unsupported.value.body["param"] == "n"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        await asyncio.to_thread(
            client.chat.completions.create, model="auto", messages=[], stream=True
        )
    assert asks() == []  # nothing reached ChatGPT


async def test_unknown_model_is_404(api: Api) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        await api.async_client().chat.completions.create(model="gpt-17-ultra", messages=USER)
    assert missing.value.code == "model_not_found"
    assert missing.value.body["param"] == "model"  # type: ignore[index]
    assert "auto" in missing.value.message  # says what is available


async def test_the_api_key_is_required(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            response = await http.get("/v1/models", headers=headers)
            assert response.status_code == 401
            validate(response.json(), "ErrorResponse")
            assert response.json()["error"]["code"] == "invalid_api_key"
            assert KEY not in response.text
        unknown_url = await http.post("/v1/chat/completions", json=_chat())
        assert unknown_url.status_code == 401
    wrong = openai.AsyncOpenAI(base_url=f"{api.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as denied:
        await wrong.models.list()
    assert denied.value.code == "invalid_api_key"
    assert [model.id async for model in api.async_client().models.list()]


async def test_no_fastapi_error_shapes(api: Api) -> None:
    async with api.http() as http:
        responses = [
            await http.get("/v1/models/a/b"),
            await http.delete("/v1/models"),
            await http.post("/v1/chat/completions", content=b"\xff\xfe"),
            await http.post("/v1/chat/completions", content=b""),
        ]
    for response in responses:
        assert response.status_code in (400, 404), response.text
        validate(response.json(), "ErrorResponse")
        assert "detail" not in response.json()
