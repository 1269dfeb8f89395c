"""/v1/chat/completions and /v1/models on the wire, on a FakeBridge: the official SDK,
strict, and raw SSE. Every body and chunk is validated against OpenAI's published JSON
Schemas; the fake says exactly what "ChatGPT" answered, so the API's shaping (chunks, usage,
stop, max_tokens, JSON emulation) is compared with it. End to end: tests/test_api_e2e.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from jsonschema import ValidationError
from pydantic import BaseModel

from app.api import streaming
from app.api.usage import count_tokens, prompt_tokens, truncate_tokens
from browser.events import Citation
from browser.models import split_search
from tests.api_support import Api, Asks, eventually, module_fake_api, unique, user
from tests.fakes.bridge import Answer
from tests.schemas import EventStream, parse_sse_line, validate

api = module_fake_api("api-chat")

WORDS = [f"{'' if i == 0 else ' '}word{i}" for i in range(40)]
"""An answer in 40 deltas of one word each."""


async def _raw_stream(api: Api, payload: dict[str, Any]) -> tuple[dict[str, str], EventStream]:
    async with api.http() as http, http.stream("POST", "/v1/chat/completions", json=payload) as r:
        assert r.status_code == 200, await r.aread()
        stream = EventStream()
        async for line in r.aiter_lines():
            parse_sse_line(stream, line)
        return dict(r.headers), stream


async def _completion(api: Api, payload: dict[str, Any]) -> dict[str, Any]:
    async with api.http() as http:
        response = await http.post("/v1/chat/completions", json=payload)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    validate(body, "CreateChatCompletionResponse")
    return body


async def _until_cancelled(api: Api, turns_before: int) -> None:
    """Wait until the turn started after `turns_before` was cancelled (Stop pressed)."""
    turns = api.bridge.turns
    await eventually(
        lambda: len(turns) > turns_before and turns[turns_before].cancelled.is_set(),
        "the turn was stopped",
    )


async def test_models_follow_the_account_and_its_aliases(api: Api) -> None:
    client = api.client()
    listed = await asyncio.to_thread(client.models.list)
    ids = [model.id for model in listed.data]
    assert ids[:3] == api.bridge.model_slugs  # the account's picker, in its order
    assert {"gpt-4o-mini", "gpt-3.5-turbo"} <= set(ids)  # aliases of "auto"
    assert "gpt-4o" not in ids and "chatgpt-4o-latest" not in ids  # their target is missing
    async with api.http() as http:
        raw = (await http.get("/v1/models")).json()
        validate(raw, "ListModelsResponse")
        for entry in raw["data"]:
            validate(entry, "Model")
        validate((await http.get("/v1/models/gpt-5")).json(), "Model")
    model = await asyncio.to_thread(client.models.retrieve, "gpt-4o-mini")
    assert (model.id, model.object, model.owned_by) == ("gpt-4o-mini", "model", "chatgpt-bridge")
    assert (await asyncio.to_thread(client.models.retrieve, "gpt-5")).owned_by == "chatgpt"
    with pytest.raises(openai.NotFoundError) as missing:
        await asyncio.to_thread(client.models.retrieve, "gpt-4o")
    assert missing.value.code == "model_not_found"
    assert missing.value.body["param"] == "model"  # type: ignore[index]
    assert "alias of 'gpt-4o'" in missing.value.message


async def test_every_listed_model_is_asked_for_by_its_target(api: Api) -> None:
    client = api.async_client()
    aliases = api.server.settings.model_aliases
    ids = [model.id async for model in client.models.list()]
    asks = Asks.of(api)
    for model_id in ids:
        await client.chat.completions.create(model=model_id, messages=[user(unique())])
    bases = [split_search(name) for name in ids]
    assert [ask.model for ask in asks()] == [aliases.get(base, base) for base, _ in bases]
    assert [bool(ask.options.web_search) for ask in asks()] == [search for _, search in bases]


async def test_non_streaming_body_and_usage(api: Api) -> None:
    prompt = unique("Hello there")
    api.bridge.script(Answer("Hello", " back", model="gpt-5-thinking"))
    completion = await asyncio.to_thread(
        api.client().chat.completions.create, model="gpt-4o-mini", messages=[user(prompt)]
    )
    choice = completion.choices[0]
    assert choice.message.content == "Hello back"
    assert (choice.message.role, choice.finish_reason, choice.index) == ("assistant", "stop", 0)
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-5-thinking"  # the model the web app reports
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens == prompt_tokens([("user", prompt, None)])
    assert usage.completion_tokens == count_tokens("Hello back")
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    body, with_system = await asyncio.gather(
        _completion(api, {"model": "auto", "messages": [user(prompt)]}),
        _completion(
            api,
            {"model": "auto", "messages": [{"role": "system", "content": "Be."}, user(prompt)]},
        ),
    )
    assert body["usage"]["prompt_tokens"] == usage.prompt_tokens  # the same way every time
    assert with_system["usage"]["prompt_tokens"] > usage.prompt_tokens
    raw_choice = body["choices"][0]
    assert raw_choice["logprobs"] is None and raw_choice["message"]["refusal"] is None
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}


async def test_chatgpt_stopping_at_its_length_limit_is_finish_reason_length(
    api: Api,
) -> None:
    api.bridge.script(Answer("Cut", " short", finish_reason="length"))
    body = await _completion(api, {"model": "auto", "messages": [user(unique())]})
    assert body["choices"][0]["finish_reason"] == "length"


async def test_stream_wire_format(api: Api) -> None:
    prompt = unique("stream me")
    payload = {
        "model": "auto",
        "messages": [user(prompt)],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    api.bridge.script(Answer(*WORDS[:12]))
    headers, stream = await _raw_stream(api, payload)
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-cache" and headers["x-accel-buffering"] == "no"
    assert headers["x-request-id"].startswith("req_") and headers["x-conversation-id"]
    assert stream.done and not stream.errors

    *choice_chunks, trailer = stream.chunks
    assert len({(c["id"], c["created"], c["model"], c["object"]) for c in stream.chunks}) == 1
    assert choice_chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all("role" not in c["choices"][0]["delta"] for c in choice_chunks[1:])
    finishing = [c for c in choice_chunks if c["choices"][0]["finish_reason"] is not None]
    assert finishing == [choice_chunks[-1]]
    assert choice_chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert [c["choices"][0]["delta"]["content"] for c in choice_chunks[1:-1]] == WORDS[:12]
    assert all(c["usage"] is None for c in choice_chunks)
    assert trailer["choices"] == [] and trailer["usage"]["total_tokens"] > 0

    api.bridge.script(Answer(*WORDS[:12]))
    body = await _completion(api, {"model": "auto", "messages": [user(prompt)]})
    assert stream.content == body["choices"][0]["message"]["content"] == "".join(WORDS[:12])
    assert trailer["usage"] == body["usage"]

    api.bridge.script(Answer(*WORDS[:12]))
    _, plain = await _raw_stream(api, {"model": "auto", "messages": [user(prompt)], "stream": True})
    assert all("usage" not in chunk for chunk in plain.chunks)
    assert plain.content == stream.content


async def test_sdk_streaming_sync_async_and_helpers(api: Api) -> None:
    client, aclient = api.client(), api.async_client()
    prompt = unique("sdk streaming")
    expected = f"You said: {prompt}"  # the fake's echo
    request: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [user(prompt)]}

    def sync_stream() -> str:
        chunks = client.chat.completions.create(**request, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    def sync_helper() -> str | None:
        with client.chat.completions.stream(**request) as stream:
            return stream.get_final_completion().choices[0].message.content

    async def async_stream() -> str:
        chunks = await aclient.chat.completions.create(**request, stream=True)
        return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])

    async def async_helper() -> str | None:
        async with aclient.chat.completions.stream(**request) as stream:
            final = await stream.get_final_completion()
        return final.choices[0].message.content

    results = await asyncio.gather(
        asyncio.to_thread(sync_stream),
        asyncio.to_thread(sync_helper),
        async_stream(),
        async_helper(),
    )
    assert results == [expected] * 4


async def test_keep_alive_comments_during_pauses(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "KEEPALIVE_INTERVAL", 0.05)
    api.bridge.script(Answer("thinking", " done", delay=0.3))
    _, stream = await _raw_stream(
        api, {"model": "auto", "stream": True, "messages": [user(unique("pauses"))]}
    )
    assert stream.comments >= 1
    assert stream.content == "thinking done"


async def test_stop_cuts_before_a_split_stop_string_and_stops_chatgpt(api: Api) -> None:
    pieces = ("Model: auto.", " User messag", "es so far", *WORDS)
    request = {"model": "auto", "messages": [user(unique())], "stop": ["zzz", "User messages"]}
    for stream in (False, True):
        turns = len(api.bridge.turns)
        api.bridge.script(Answer(*pieces, delay=0.02))
        if stream:
            _, events = await _raw_stream(api, {**request, "stream": True})
            content = events.content
            assert "User" not in json.dumps(events.chunks)
            assert events.chunks[-1]["choices"][0]["finish_reason"] == "stop"
        else:
            body = await _completion(api, request)
            content = body["choices"][0]["message"]["content"]
            assert body["choices"][0]["finish_reason"] == "stop"
        assert content == "Model: auto. "
        await _until_cancelled(api, turns)  # ChatGPT was stopped, not read to the end


async def test_max_tokens_truncates_with_the_usage_counter(api: Api) -> None:
    full = "".join(WORDS)
    expected = truncate_tokens(full, 7)
    assert expected is not None
    turns = len(api.bridge.turns)
    api.bridge.script(Answer(*WORDS, delay=0.01))
    body = await _completion(api, {"model": "auto", "messages": [user(unique())], "max_tokens": 7})
    assert body["choices"][0]["message"]["content"] == expected
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 7
    await _until_cancelled(api, turns)

    api.bridge.script(Answer(*WORDS))
    _, stream = await _raw_stream(
        api,
        {
            "model": "auto",
            "messages": [user(unique())],
            "max_completion_tokens": 7,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert stream.content == expected
    assert stream.chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert stream.chunks[-1]["usage"]["completion_tokens"] == 7


async def test_json_object_is_asked_for_and_unfenced(api: Api) -> None:
    asks = Asks.of(api)
    prompt = unique("Describe yourself as JSON.")
    api.bridge.script(Answer('Sure:\n```json\n{"name": ', '"fake"}\n```'))
    body = await _completion(
        api,
        {
            "model": "auto",
            "messages": [{"role": "system", "content": "You answer in JSON."}, user(prompt)],
            "response_format": {"type": "json_object"},
        },
    )
    assert json.loads(body["choices"][0]["message"]["content"]) == {"name": "fake"}
    [ask] = asks()
    assert "valid JSON" in ask.prompt and prompt in ask.prompt


class Person(BaseModel):
    name: str
    age: int


async def test_json_schema_with_the_sdk_parse_helper(api: Api) -> None:
    asks = Asks.of(api)
    api.bridge.script(Answer('```json\n{"name": "Ada", ', '"age": 36}\n```'))
    completion = await asyncio.to_thread(
        api.client().chat.completions.parse,
        model="auto",
        messages=[user(unique("Who are you?"))],
        response_format=Person,
    )
    assert completion.choices[0].message.parsed == Person(name="Ada", age=36)
    assert '"age"' in asks()[0].prompt  # the schema was typed into ChatGPT

    api.bridge.script(Answer('{"name": "Bob",', ' "age": 7}'))
    _, stream = await _raw_stream(
        api,
        {
            "model": "auto",
            "stream": True,
            "messages": [user(unique("stream it"))],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "person", "schema": Person.model_json_schema()},
            },
        },
    )
    assert Person.model_validate_json(stream.content) == Person(name="Bob", age=7)


async def test_json_schema_mismatch_is_an_error_that_is_not_retried(api: Api) -> None:
    asks = Asks.of(api)
    api.bridge.script(Answer('{"nom": "x"}'))
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    with pytest.raises(openai.InternalServerError) as failure:
        await asyncio.to_thread(
            api.client(max_retries=2).chat.completions.create,
            model="auto",
            messages=[user(unique("Who?"))],
            response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
        )
    assert failure.value.code == "invalid_response_format"
    assert failure.value.response.headers["x-should-retry"] == "false"
    assert "'name' is a required property" in failure.value.message
    assert len(asks()) == 1  # the SDK honoured x-should-retry


async def test_unknown_fields_tools_and_sampling_options_are_accepted(api: Api) -> None:
    prompt = unique("with extras")
    completion = await api.async_client().chat.completions.create(
        model="auto",
        messages=[user(prompt)],
        temperature=0.2,
        top_p=0.9,
        seed=7,
        user="someone",
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
        tool_choice="none",  # offered, not called: no tool instruction is typed
        extra_body={"vendor_extension": {"x": 1}, "metadata": {"k": "v"}},
    )
    assert completion.choices[0].message.content == f"You said: {prompt}"
    assert completion.choices[0].finish_reason == "stop"


async def test_request_id_on_every_response(api: Api) -> None:
    async with api.http() as http:
        responses = [
            await http.get("/v1/models"),
            await http.get("/v1/models/nope"),
            await http.post("/v1/chat/completions", content=b"{"),
            await http.get("/v1/engines"),
            await http.post(
                "/v1/chat/completions", json={"model": "auto", "messages": [user(unique())]}
            ),
        ]
    ids = [response.headers["x-request-id"] for response in responses]
    assert all(request_id.startswith("req_") for request_id in ids)
    assert len(set(ids)) == len(ids)


def test_schema_helper_can_fail() -> None:
    """The conformance helper itself rejects a chunk without `object`."""
    with pytest.raises(ValidationError, match="'object' is a required property"):
        parse_sse_line(EventStream(), 'data: {"id":"x","created":1,"model":"m","choices":[]}')


CITED_TEXT = [
    "Rain today ([Weather \\[UK\\]](https://w.example/uk)).",
    " Wind too ([Weather \\[UK\\]](https://w.example/uk), ",
    "[News](https://n.example/wind)).",
]
"""A searched answer as the browser hands it over: ChatGPT's markers as Markdown links."""
CITATIONS = (
    Citation("https://w.example/uk", "Weather [UK]"),
    Citation("https://n.example/wind", "News"),
    Citation("https://footnote.example", "Only in a footnote"),  # linked nowhere: no annotation
)


def _cited(text: str, annotations: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(url, title, the text the indexes span) of each chat annotation."""
    assert all(a["type"] == "url_citation" for a in annotations)
    return [
        (c["url"], c["title"], text[c["start_index"] : c["end_index"]])
        for c in (a["url_citation"] for a in annotations)
    ]


async def test_cited_sources_are_url_citations_indexing_the_content(api: Api) -> None:
    expected = [
        ("https://w.example/uk", "Weather [UK]", "[Weather \\[UK\\]](https://w.example/uk)"),
        ("https://w.example/uk", "Weather [UK]", "[Weather \\[UK\\]](https://w.example/uk)"),
        ("https://n.example/wind", "News", "[News](https://n.example/wind)"),
    ]
    payload = {"model": "auto:search", "messages": [user(unique("weather"))]}
    api.bridge.script(Answer(*CITED_TEXT, events=CITATIONS))
    body = await _completion(api, payload)
    message = body["choices"][0]["message"]
    assert _cited(message["content"], message["annotations"]) == expected

    api.bridge.script(Answer(*CITED_TEXT, events=CITATIONS))
    _, stream = await _raw_stream(api, {**payload, "stream": True})
    deltas = [chunk["choices"][0]["delta"] for chunk in stream.chunks]
    [cited] = [delta for delta in deltas if "annotations" in delta]
    assert _cited(stream.content, cited["annotations"]) == expected
    assert deltas.index(cited) == len(deltas) - 2  # after the text, before the finish chunk

    api.bridge.script(Answer(*CITED_TEXT, events=CITATIONS))
    sdk = await api.async_client().chat.completions.create(
        model="auto:search", messages=[user(unique())], stop=[" Wind"]
    )
    [only] = sdk.choices[0].message.annotations or []  # the cut text links the first source
    assert (only.url_citation.url, only.url_citation.start_index) == ("https://w.example/uk", 12)

    api.bridge.script(Answer("No sources."))
    plain = await _completion(api, payload)
    assert plain["choices"][0]["message"]["annotations"] == []
