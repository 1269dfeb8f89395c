"""Load and failures on a FakeBridge: every typed failure of the browser layer -> its HTTP
answer, the retry rules that keep a prompt from being typed twice, a full queue, clients
that go away, failures mid-answer and concurrent clients. The same paths against real
Chromium (logged out, an error after delivery, a disconnect): tests/test_api_e2e.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from app.api import routes
from browser.errors import (
    AnswerTimeoutError,
    AttachmentRejectedError,
    AttachmentTooLargeError,
    AttachmentUploadError,
    BridgeError,
    BrowserDownError,
    BusyError,
    ChallengeError,
    LoginRequiredError,
    RateLimitedError,
    SendUncertainError,
    WebAppError,
)
from tests.api_support import (
    Api,
    Asks,
    StartApp,
    eventually,
    fake_app,
    module_fake_api,
    unique,
    user,
)
from tests.fakes.bridge import Answer, Ask, FakeBridge
from tests.schemas import EventStream, parse_sse_line, validate

api = module_fake_api("api-failures")


class ComposerGoneError(WebAppError):
    """A failure type the mapping has no row for: it is answered like its base class."""


@dataclass(frozen=True)
class Case:
    error: BridgeError
    status: int
    code: str
    no_retry: bool
    """`x-should-retry: false`: the prompt may be in ChatGPT, or only a person can help."""
    retry_after: str | None = None

    def __str__(self) -> str:
        delivered = {False: "", None: ", maybe delivered", True: ", delivered"}
        return f"{type(self.error).__name__}{delivered[self.error.delivered]}"


CASES = [
    Case(BusyError(), 429, "rate_limit_exceeded", False, "5"),
    Case(RateLimitedError(retry_after=41.2), 429, "rate_limit_exceeded", False, "42"),
    Case(RateLimitedError(), 429, "rate_limit_exceeded", False, "60"),
    Case(AttachmentRejectedError("a.exe", "application/x-sh"), 400, "unsupported_file", True),
    Case(AttachmentTooLargeError("a.png", 30_000_000, 20_971_520), 400, "file_too_large", True),
    Case(AttachmentUploadError("a.pdf", "HTTP 500"), 502, "upload_failed", False),
    Case(LoginRequiredError(), 503, "login_required", True),
    Case(ChallengeError(), 503, "challenge_required", True),
    Case(BrowserDownError(), 503, "browser_unavailable", False),
    Case(BrowserDownError(delivered=None), 503, "browser_unavailable", True),
    Case(AnswerTimeoutError(), 504, "answer_timeout", True),
    Case(SendUncertainError(), 502, "send_uncertain", True),
    Case(WebAppError("ChatGPT says: something went wrong."), 502, "chatgpt_error", False),
    Case(WebAppError("ChatGPT failed.", delivered=True), 502, "chatgpt_error", True),
    Case(ComposerGoneError("The composer is gone."), 502, "chatgpt_error", False),
    Case(BridgeError("Something in the browser failed."), 500, "bridge_error", False),
]


async def _post(api: Api, payload: dict[str, Any]) -> httpx.Response:
    async with api.http() as http:
        return await http.post("/v1/chat/completions", json=payload)


def _assert_maps(response: httpx.Response, case: Case) -> None:
    assert response.status_code == case.status, response.text
    body = response.json()
    validate(body, "ErrorResponse")
    assert body["error"]["code"] == case.code
    assert body["error"]["message"] == str(case.error)
    kinds = {429: "requests", 400: "invalid_request_error"}
    assert body["error"]["type"] == kinds.get(case.status, "server_error")
    assert response.headers.get("x-should-retry") == ("false" if case.no_retry else None)
    assert response.headers.get("retry-after") == case.retry_after


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_every_typed_failure_at_send_has_its_http_answer(
    api: Api, case: Case, stream: bool
) -> None:
    """Also for `stream: true`: a refused send is a status, not an error event."""
    api.bridge.script(Answer(error=case.error))
    payload = {"model": "auto", "messages": [user(unique())], "stream": stream}
    _assert_maps(await _post(api, payload), case)


DELIVERED = [case for case in CASES if case.error.delivered is not False]


@pytest.mark.parametrize("case", DELIVERED, ids=str)
async def test_a_failure_mid_answer_has_the_same_answer(api: Api, case: Case) -> None:
    api.bridge.script(Answer("Half an", " answer", fail=case.error))
    _assert_maps(await _post(api, {"model": "auto", "messages": [user(unique())]}), case)


@pytest.mark.parametrize("case", DELIVERED, ids=str)
async def test_a_prompt_that_may_be_in_chatgpt_is_never_retried(api: Api, case: Case) -> None:
    asks = Asks.of(api)
    api.bridge.script(Answer(error=case.error))
    with pytest.raises(openai.APIStatusError) as failure:
        await api.async_client(max_retries=2).chat.completions.create(
            model="auto", messages=[user(unique())]
        )
    assert failure.value.status_code == case.status
    assert len(asks()) == 1  # the SDK would have retried twice without x-should-retry


async def test_a_prompt_that_surely_did_not_arrive_may_be_retried(api: Api) -> None:
    asks = Asks.of(api)
    api.bridge.script(*[Answer(error=BrowserDownError())] * 2)
    completion = await api.async_client(max_retries=2).chat.completions.create(
        model="auto", messages=[user(prompt := unique())]
    )
    assert completion.choices[0].message.content == f"You said: {prompt}"
    assert [ask.prompt for ask in asks()] == [prompt] * 3  # the SDK's own retries


async def test_an_unexpected_failure_is_500_and_never_retried(
    start_app: StartApp, tmp_path: Path
) -> None:
    def broken(ask: Ask) -> Answer:
        raise KeyError("a bug")

    bridge = FakeBridge(broken)
    async with fake_app(start_app, tmp_path, bridge) as own:
        response = await _post(own, {"model": "auto", "messages": [user("hi")]})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "bridge_error"
    assert "KeyError" in response.json()["error"]["message"]
    assert response.headers["x-should-retry"] == "false"


async def test_an_error_after_the_stream_started_is_an_sse_error_event(api: Api) -> None:
    api.bridge.script(Answer("Some", " text", fail=WebAppError("Broke.", delivered=True)))
    payload = {"model": "auto", "stream": True, "messages": [user(unique())]}
    async with api.http() as http, http.stream("POST", "/v1/chat/completions", json=payload) as r:
        assert r.status_code == 200
        stream = EventStream()
        async for line in r.aiter_lines():
            parse_sse_line(stream, line)
    assert stream.done and stream.content == "Some text"
    [error] = stream.errors
    assert (error["type"], error["code"], error["message"]) == (
        "server_error",
        "chatgpt_error",
        "Broke.",
    )
    assert all(c["choices"][0]["finish_reason"] is None for c in stream.chunks)

    api.bridge.script(Answer("Some", fail=SendUncertainError()))
    sdk_stream = await api.async_client().chat.completions.create(
        model="auto", stream=True, messages=[user(unique())]
    )
    with pytest.raises(openai.APIError):
        async for _ in sdk_stream:
            pass


async def test_a_full_queue_is_429_with_retry_after(
    start_app: StartApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "KEEPALIVE_INTERVAL", 0.05)  # notice the holder leaving soon
    bridge = FakeBridge(lambda ask: Answer("held", hang=ask.prompt.startswith("hold")))
    bridge.tabs, bridge.max_queue = 1, 1
    async with fake_app(start_app, tmp_path, bridge) as own:
        client = own.async_client()
        holder = asyncio.create_task(
            client.chat.completions.create(model="auto", messages=[user("hold the tab")])
        )
        await eventually(lambda: bridge.stats()["tabs_busy"] == 1, "a tab busy")
        queued = asyncio.create_task(
            client.chat.completions.create(model="auto", messages=[user("wait in line")])
        )
        await eventually(lambda: bridge.stats()["queue_length"] == 1, "one waiting")
        refused = await _post(own, {"model": "auto", "messages": [user("third")]})
        assert refused.status_code == 429
        validate(refused.json(), "ErrorResponse")
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused.headers["retry-after"] == "5"
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model="auto", messages=[user("fourth")])
        holder.cancel()  # the client gives up: its turn is stopped and the tab freed
        completion = await queued
        assert completion.choices[0].message.content == "held"
        assert bridge.prompts == ["hold the tab", "wait in line"]


async def test_ten_concurrent_clients_on_three_tabs(api: Api) -> None:
    client = api.async_client()
    prompts = [unique(f"client {number}") for number in range(10)]

    async def ask(number: int, prompt: str) -> str:
        if number % 2:
            stream = await client.chat.completions.create(
                model="auto", messages=[user(prompt)], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        completion = await client.chat.completions.create(model="auto", messages=[user(prompt)])
        return completion.choices[0].message.content or ""

    answers = await asyncio.gather(*(ask(n, prompt) for n, prompt in enumerate(prompts)))
    assert answers == [f"You said: {prompt}" for prompt in prompts]  # none interleaved
    assert api.bridge.stats()["tabs_busy"] == 0


async def test_a_streaming_client_that_disconnects_stops_the_answer(api: Api) -> None:
    turns = len(api.bridge.turns)
    api.bridge.script(Answer("Partial", " answer", hang=True))
    payload = {"model": "auto", "stream": True, "messages": [user(unique())]}
    async with api.http() as http, http.stream("POST", "/v1/chat/completions", json=payload) as r:
        stream = EventStream()
        async for line in r.aiter_lines():
            parse_sse_line(stream, line)
            if stream.content == "Partial answer":
                break  # the client goes away mid-answer
    turn = api.bridge.turns[turns]
    await eventually(turn.cancelled.is_set, "the answer stopped")
    await eventually(lambda: api.bridge.stats()["tabs_busy"] == 0, "the tab freed")


async def test_a_waiting_client_that_disconnects_stops_the_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `stream` nothing is written until the end: the bridge polls the connection."""
    monkeypatch.setattr(routes, "KEEPALIVE_INTERVAL", 0.05)
    turns = len(api.bridge.turns)
    api.bridge.script(Answer("Thinking", hang=True))
    async with api.http() as http:
        request = asyncio.create_task(
            http.post("/v1/chat/completions", json={"model": "auto", "messages": [user("q")]})
        )
        await eventually(lambda: len(api.bridge.turns) > turns, "the turn started")
        request.cancel()  # closes the connection
    await eventually(api.bridge.turns[turns].cancelled.is_set, "the answer stopped")


async def test_the_tab_release_is_never_interrupted(start_app: StartApp, tmp_path: Path) -> None:
    """Neither by the end of a complete answer nor by a second stop after a cut."""
    bridge = FakeBridge(release_delay=0.05)
    async with fake_app(start_app, tmp_path, bridge) as own:
        client = own.async_client()
        await client.chat.completions.create(model="auto", messages=[user("complete")])
        await eventually(lambda: bridge.released == 1, "the first tab released")
        bridge.script(Answer(*[f" word{i}" for i in range(50)], delay=0.01))
        cut = await client.chat.completions.create(
            model="auto", messages=[user("cut")], max_tokens=3
        )
        assert cut.choices[0].finish_reason == "length"
        await eventually(lambda: bridge.released == 2, "the cut turn's tab released")
