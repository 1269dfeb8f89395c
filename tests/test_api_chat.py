"""/v1/chat/completions and /v1/models on the wire: the official SDK, strict, and raw SSE.

Every body and chunk is validated against OpenAI's published JSON Schemas; answers are
compared with the replica's deterministic model, so a wrong, stale or cut answer shows.
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
from replica.model import answer
from tests.api_support import Api, module_api, settled_chat, unique, user
from tests.schemas import EventStream, parse_sse_line, validate

pytestmark = pytest.mark.browser


api = module_api("api-chat")


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


async def test_models_are_listed_and_retrieved(api: Api) -> None:
    client = api.client()
    listed = await asyncio.to_thread(client.models.list)
    ids = [model.id for model in listed.data]
    assert {"auto", "gpt-5", "gpt-5-thinking", "gpt-4o"} <= set(ids)  # the replica's picker
    assert {"gpt-4o-mini", "gpt-3.5-turbo"} <= set(ids)  # aliases whose target exists

    async with api.http() as http:
        raw = (await http.get("/v1/models")).json()
        validate(raw, "ListModelsResponse")
        for entry in raw["data"]:
            validate(entry, "Model")
        one = await http.get("/v1/models/gpt-5")
        validate(one.json(), "Model")

    model = await asyncio.to_thread(client.models.retrieve, "gpt-4o-mini")
    assert (model.id, model.object, model.owned_by) == ("gpt-4o-mini", "model", "chatgpt-bridge")
    with pytest.raises(openai.NotFoundError) as missing:
        await asyncio.to_thread(client.models.retrieve, "no-such-model")
    assert missing.value.code == "model_not_found"
    assert missing.value.body["param"] == "model"  # type: ignore[index]


async def test_every_listed_model_is_accepted(api: Api) -> None:
    client = api.async_client()
    aliases = api.server.settings.model_aliases
    ids = [model.id async for model in client.models.list()]
    async with api.http() as http:
        for model_id in ids:  # the same resolver as chat completions
            assert (await http.get(f"/v1/models/{model_id}")).status_code == 200
    # One real answer per distinct ChatGPT model, plus one through an alias.
    assert "gpt-4o-mini" in ids
    asked = [model_id for model_id in ids if model_id not in aliases] + ["gpt-4o-mini"]
    prompt = unique("which model")

    async def ask(model_id: str) -> tuple[str, str | None]:
        completion = await client.chat.completions.create(model=model_id, messages=[user(prompt)])
        return model_id, completion.choices[0].message.content

    for model_id, content in await asyncio.gather(*(ask(model_id) for model_id in asked)):
        assert content == answer(prompt, aliases.get(model_id, model_id), 1), model_id


async def test_non_streaming_completion(api: Api) -> None:
    prompt = unique("Hello there")
    completion = await asyncio.to_thread(
        api.client().chat.completions.create, model="gpt-4o-mini", messages=[user(prompt)]
    )
    choice = completion.choices[0]
    assert choice.message.content == answer(prompt, "auto", 1)
    assert (choice.message.role, choice.finish_reason, choice.index) == ("assistant", "stop", 0)
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.model == "auto"
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0
    assert usage.completion_tokens == count_tokens(choice.message.content)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    body, with_system = await asyncio.gather(
        _completion(api, {"model": "auto", "messages": [user(prompt)]}),
        _completion(
            api,
            {
                "model": "auto",
                "messages": [{"role": "system", "content": "Be kind."}, user(prompt)],
            },
        ),
    )
    # Usage is estimated over the whole messages array, the same way every time.
    assert body["usage"]["prompt_tokens"] == usage.prompt_tokens
    assert usage.prompt_tokens == prompt_tokens([("user", prompt, None)])
    assert with_system["usage"]["prompt_tokens"] > usage.prompt_tokens
    raw_choice = body["choices"][0]
    assert raw_choice["logprobs"] is None and raw_choice["message"]["refusal"] is None
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}


async def test_stream_wire_format(api: Api) -> None:
    prompt = unique("stream me words:12")
    payload = {
        "model": "auto",
        "messages": [user(prompt)],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
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
    assert len(choice_chunks) > 5  # forwarded in pieces, not as one block
    assert all(c["usage"] is None for c in choice_chunks)
    assert trailer["choices"] == [] and trailer["usage"]["total_tokens"] > 0

    body = await _completion(api, {"model": "auto", "messages": [user(prompt)]})
    assert stream.content == body["choices"][0]["message"]["content"] == answer(prompt, "auto", 1)
    assert trailer["usage"] == body["usage"]

    _, plain = await _raw_stream(api, {"model": "auto", "messages": [user(prompt)], "stream": True})
    assert all("usage" not in chunk for chunk in plain.chunks)
    assert plain.content == stream.content


async def test_deltas_are_forwarded_while_chatgpt_still_writes(api: Api, replica: Any) -> None:
    await replica.configure(chunk_delay_ms=250)
    payload = {"model": "auto", "stream": True, "messages": [user(unique("slow words:40"))]}
    async with api.http() as http, http.stream("POST", "/v1/chat/completions", json=payload) as r:
        conversation_id = r.headers["x-conversation-id"]
        stream = EventStream()
        async for line in r.aiter_lines():
            parse_sse_line(stream, line)
            if stream.content:
                break
        chat = await replica.conversation(conversation_id)
    assert chat["messages"][-1]["role"] == "assistant"
    assert chat["messages"][-1]["status"] == "in_progress"


async def test_sdk_streaming_sync_async_and_helpers(api: Api) -> None:
    client, aclient = api.client(), api.async_client()
    prompt = unique("sdk streaming words:12")
    expected = answer(prompt, "auto", 1)
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


async def test_keep_alive_comments_during_pauses(
    api: Api, replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "KEEPALIVE_INTERVAL", 0.1)
    await replica.configure(chunk_delay_ms=300)
    prompt = unique("pauses")
    _, stream = await _raw_stream(
        api, {"model": "auto", "stream": True, "messages": [user(prompt)]}
    )
    assert stream.comments >= 1
    assert stream.content == answer(prompt, "auto", 1)


async def test_stop_cuts_before_a_split_stop_string_and_stops_chatgpt(
    api: Api, replica: Any
) -> None:
    await replica.configure(chunk_delay_ms=120)
    prompt = unique("stop here words:300")
    # The replica sends 12-character chunks: "Model: auto." | " User messag" | "es so far..."
    request = {"model": "auto", "messages": [user(prompt)], "stop": ["zzz", "User messages"]}
    async with api.http() as http:
        response = await http.post("/v1/chat/completions", json=request)
    body = response.json()
    validate(body, "CreateChatCompletionResponse")
    assert body["choices"][0]["message"]["content"] == "Model: auto. "
    assert body["choices"][0]["finish_reason"] == "stop"

    _, stream = await _raw_stream(api, {**request, "stream": True})
    assert stream.content == "Model: auto. "
    assert "User" not in json.dumps(stream.chunks)
    assert stream.chunks[-1]["choices"][0]["finish_reason"] == "stop"

    chat = await settled_chat(replica, response.headers["x-conversation-id"])
    assert chat["messages"][-1]["status"] == "finished_partial_completion"


async def test_max_tokens_truncates_with_the_usage_counter(api: Api) -> None:
    prompt = unique("long words:80")
    full = answer(prompt, "auto", 1)
    expected = truncate_tokens(full, 7)
    assert expected is not None
    body = await _completion(api, {"model": "auto", "messages": [user(prompt)], "max_tokens": 7})
    assert body["choices"][0]["message"]["content"] == expected
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 7

    _, stream = await _raw_stream(
        api,
        {
            "model": "auto",
            "messages": [user(prompt)],
            "max_completion_tokens": 7,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert stream.content == expected
    assert stream.chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert stream.chunks[-1]["usage"]["completion_tokens"] == 7


async def test_json_object_is_asked_for_and_unfenced(api: Api, replica: Any) -> None:
    before = len(await replica.sends())
    prompt = unique("Describe yourself as JSON.")
    body = await _completion(
        api,
        {
            "model": "auto",
            "messages": [{"role": "system", "content": "You answer in JSON."}, user(prompt)],
            "response_format": {"type": "json_object"},
        },
    )
    content = body["choices"][0]["message"]["content"]
    assert json.loads(content)["model"] == "auto"
    assert "```" not in content
    [sent] = (await replica.sends())[before:]
    assert "valid JSON" in sent["prompt"] and prompt in sent["prompt"]


class ReplicaJson(BaseModel):
    model: str
    user_messages: int
    prompt_chars: int


async def test_json_schema_with_the_sdk_parse_helper(api: Api) -> None:
    client = api.client()
    completion = await asyncio.to_thread(
        client.chat.completions.parse,
        model="auto",
        messages=[user(unique("Who are you?"))],
        response_format=ReplicaJson,
    )
    parsed = completion.choices[0].message.parsed
    assert parsed is not None and (parsed.model, parsed.user_messages) == ("auto", 1)

    _, stream = await _raw_stream(
        api,
        {
            "model": "auto",
            "stream": True,
            "messages": [user(unique("stream it"))],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "replica", "schema": ReplicaJson.model_json_schema()},
            },
        },
    )
    assert ReplicaJson.model_validate_json(stream.content).model == "auto"


async def test_json_schema_mismatch_is_an_error_that_is_not_retried(api: Api, replica: Any) -> None:
    before = len(await replica.sends())
    client = api.client(max_retries=2)
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    with pytest.raises(openai.InternalServerError) as failure:
        await asyncio.to_thread(
            client.chat.completions.create,
            model="auto",
            messages=[user(unique("Who?"))],
            response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
        )
    assert failure.value.code == "invalid_response_format"
    assert failure.value.response.headers["x-should-retry"] == "false"
    assert "'name' is a required property" in failure.value.message
    assert len(await replica.sends()) == before + 1  # the SDK honoured x-should-retry


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
        tool_choice="auto",
        extra_body={"vendor_extension": {"x": 1}, "metadata": {"k": "v"}},
    )
    assert completion.choices[0].message.content == answer(prompt, "auto", 1)
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
