"""Load and failures: concurrent clients, a client that goes away, ChatGPT logged out,
rate-limiting, failing mid-answer. The app here has the default three tabs."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from replica.model import answer
from tests.api_support import Api, module_api, settled_chat, unique, user
from tests.schemas import EventStream, parse_sse_line, validate

pytestmark = pytest.mark.browser


api = module_api("api-failures", max_tabs=3)


async def test_ten_concurrent_clients_on_three_tabs(api: Api, replica: Any) -> None:
    await replica.configure(chunk_delay_ms=30)
    client = api.async_client()
    prompts = [unique(f"client {number} words:10") for number in range(10)]

    async def ask(number: int, prompt: str) -> str:
        if number % 2:
            stream = await client.chat.completions.create(
                model="auto", messages=[user(prompt)], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        completion = await client.chat.completions.create(model="auto", messages=[user(prompt)])
        return completion.choices[0].message.content or ""

    answers = await asyncio.gather(*(ask(n, prompt) for n, prompt in enumerate(prompts)))
    for prompt, text in zip(prompts, answers, strict=True):
        assert text == answer(prompt, "auto", 1)  # its own prompt, not interleaved
    async with api.http() as http:
        assert (await http.get("/health")).json()["browser"]["tabs_total"] == 3


async def test_a_client_that_disconnects_stops_the_answer(api: Api, replica: Any) -> None:
    await replica.configure(chunk_delay_ms=100)
    prompt = unique("long answer words:400")
    payload = {"model": "auto", "stream": True, "messages": [user(prompt)]}
    async with api.http() as http, http.stream("POST", "/v1/chat/completions", json=payload) as r:
        conversation_id = r.headers["x-conversation-id"]
        stream = EventStream()
        async for line in r.aiter_lines():
            parse_sse_line(stream, line)
            if len(stream.content) > 20:
                break  # the client goes away mid-answer
    chat = await settled_chat(replica, conversation_id)
    stopped = chat["messages"][-1]
    assert stopped["status"] == "finished_partial_completion"
    assert len(stopped["text"]) < len(answer(prompt, "auto", 1))

    # The tab is free again: three more clients are all served at once.
    client = api.async_client()
    prompts = [unique(f"after {number}") for number in range(3)]
    replies = await asyncio.gather(
        *(client.chat.completions.create(model="auto", messages=[user(p)]) for p in prompts)
    )
    assert [r.choices[0].message.content for r in replies] == [
        answer(p, "auto", 1) for p in prompts
    ]


async def test_an_error_after_the_stream_started_is_an_sse_error_event(
    api: Api, replica: Any
) -> None:
    await replica.configure(sse_error_next=1)
    payload = {"model": "auto", "stream": True, "messages": [user(unique("words:50"))]}
    async with api.http() as http, http.stream("POST", "/v1/chat/completions", json=payload) as r:
        assert r.status_code == 200
        stream = EventStream()
        async for line in r.aiter_lines():
            parse_sse_line(stream, line)
    assert stream.done and stream.content  # some text came before the failure
    [error] = stream.errors
    assert error["type"] == "server_error" and error["message"]
    assert all(c["choices"][0]["finish_reason"] is None for c in stream.chunks)

    await replica.configure(sse_error_next=1)
    sdk_stream = await api.async_client().chat.completions.create(
        model="auto", stream=True, messages=[user(unique("words:50"))]
    )
    with pytest.raises(openai.APIError):
        async for _ in sdk_stream:
            pass


async def _failing_with_retries(api: Api, prompt: str) -> openai.APIStatusError:
    """The error of a request made by an SDK that would retry twice if allowed to."""
    with pytest.raises(openai.APIStatusError) as failure:
        await asyncio.to_thread(
            api.client(max_retries=2).chat.completions.create,
            model="auto",
            messages=[user(unique(prompt))],
        )
    return failure.value


async def test_a_failure_after_delivery_is_not_retried(api: Api, replica: Any) -> None:
    await replica.configure(sse_error_next=3)
    before = len(await replica.sends())
    failure = await _failing_with_retries(api, "words:50")
    assert failure.status_code >= 500
    assert failure.response.headers["x-should-retry"] == "false"
    validate(failure.response.json(), "ErrorResponse")
    assert len(await replica.sends()) == before + 1


async def test_logged_out_is_503_saying_what_to_do(api: Api, replica: Any) -> None:
    await replica.configure(logged_out=True, auto_login=False)
    before = len(await replica.sends())
    failure = await _failing_with_retries(api, "anyone there?")
    assert isinstance(failure, openai.InternalServerError) and failure.status_code == 503
    assert failure.code == "login_required"
    assert "chatgpt-bridge login" in failure.message
    assert failure.response.headers["x-should-retry"] == "false"
    assert len(await replica.sends()) == before


async def test_chatgpt_rate_limit_is_429_with_retry_after(api: Api, replica: Any) -> None:
    await replica.configure(rate_limit_next=1)
    with pytest.raises(openai.RateLimitError) as limited:
        await api.async_client().chat.completions.create(
            model="auto", messages=[user(unique("too many"))]
        )
    assert limited.value.code == "rate_limit_exceeded"
    assert int(limited.value.response.headers["retry-after"]) >= 1
    validate(limited.value.response.json(), "ErrorResponse")
