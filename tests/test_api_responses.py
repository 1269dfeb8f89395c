"""/v1/responses on the wire, on a FakeBridge: the official SDK (strict), raw SSE, and every
body and stream event validated against OpenAI's published schemas (`urn:openai-more`).
The fake says what "ChatGPT" answered and records what was typed, so the translation onto
the chat pipeline (which chat, what prompt, which options) is checked exactly. End to end
through Chromium: tests/test_api_responses_e2e.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import agents
import httpx
import openai
import pytest

from app.api.conversations import ConversationMap
from app.api.errors import APIError
from app.api.inputs import file_inputs
from app.api.models import ModelCatalog
from app.api.responses_api import ResponsesService, ResponseStore
from app.api.tool_calls import BLOCK_TAG
from app.api.usage import count_tokens
from app.db import open_database
from app.files import FileStore
from browser.errors import RateLimitedError, SendUncertainError, WebAppError
from browser.events import Citation
from tests.api_support import (
    Api,
    Asks,
    StartApp,
    api_settings,
    eventually,
    fake_app,
    module_fake_api,
    replica_answers,
    unique,
)
from tests.fakes.bridge import Answer, FakeBridge
from tests.schemas import MORE, ResponseEvents, validate

api = module_fake_api("api-responses")

TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
]
TEXT_END = [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]


async def _create(api: Api, payload: dict[str, Any], status: int = 200) -> httpx.Response:
    async with api.http() as http:
        response = await http.post("/v1/responses", json={"model": "auto", **payload})
    assert response.status_code == status, response.text
    if status == 200:
        validate(response.json(), "Response", MORE)
    else:
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    return response


async def _stream(api: Api, payload: dict[str, Any]) -> tuple[httpx.Headers, ResponseEvents]:
    events = ResponseEvents()
    body = {"model": "auto", "stream": True, **payload}
    async with api.http() as http, http.stream("POST", "/v1/responses", json=body) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            events.feed(line)
        return response.headers, events


async def _get(api: Api, path: str, status: int = 200) -> dict[str, Any]:
    async with api.http() as http:
        response = await http.get(path)
    assert response.status_code == status, response.text
    return response.json()


async def test_string_input_answers_as_a_response_object(api: Api) -> None:
    asks = Asks.of(api)
    prompt = unique("Hello there")
    response = await api.async_client().responses.create(model="auto", input=prompt)
    assert response.output_text == f"You said: {prompt}"
    assert (response.status, response.object, response.model) == ("completed", "response", "auto")
    message = response.output[0]
    assert message.type == "message" and message.role == "assistant"
    usage = response.usage
    assert usage is not None and usage.output_tokens == count_tokens(response.output_text)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    (ask,) = asks()
    assert (ask.prompt, ask.conversation_id, ask.temporary) == (prompt, None, True)
    raw = await _create(api, {"input": "raw"})
    assert raw.headers["x-conversation-id"].startswith("fake-")
    assert raw.headers["x-chatgpt-model-used"] == "auto"
    assert raw.json()["completed_at"] >= raw.json()["created_at"]
    api.bridge.script(Answer("Downgraded", model="gpt-5"))
    downgraded = await api.async_client().responses.create(model="gpt-5-thinking", input="x")
    assert downgraded.model == "gpt-5"  # the model that answered, as the web app said


async def test_items_and_instructions_become_one_prompt(api: Api) -> None:
    asks = Asks.of(api)
    items: list[dict[str, Any]] = [
        {"role": "developer", "content": "Answer tersely."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello!"}],
        },
        {"role": "user", "content": "What is 2+2?"},
    ]
    response = await _create(api, {"input": items, "instructions": "You are a calculator."})
    (ask,) = asks()
    assert ask.prompt.startswith(
        "[System instructions]\nYou are a calculator.\n\nAnswer tersely.\n"
    )
    assert "User: Hi\n\nAssistant: Hello!" in ask.prompt
    assert "What is 2+2?" in ask.prompt
    body = response.json()
    assert body["instructions"] == "You are a calculator."
    listed = await _get(api, f"/v1/responses/{body['id']}/input_items?order=asc")
    validate(listed, "ResponseItemList", MORE)
    assert [(item["role"], item["content"][0]["text"]) for item in listed["data"]] == [
        ("developer", "Answer tersely."),
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "What is 2+2?"),
    ]
    newest = await _get(api, f"/v1/responses/{body['id']}/input_items?limit=2")
    assert [item["content"][0]["text"] for item in newest["data"]] == ["What is 2+2?", "Hello!"]
    assert newest["has_more"] is True
    after = await _get(
        api, f"/v1/responses/{body['id']}/input_items?limit=2&after={newest['last_id']}"
    )
    assert [item["role"] for item in after["data"]] == ["user", "developer"]
    sdk = await api.async_client().responses.input_items.list(body["id"], order="asc")
    assert [item.id for item in sdk.data] == [item["id"] for item in listed["data"]]


async def test_stream_emits_the_whole_event_sequence(api: Api) -> None:
    api.bridge.script(Answer("One", " two", " three"))
    headers, events = await _stream(api, {"input": "count"})
    assert headers["content-type"].startswith("text/event-stream")
    assert events.types == [
        *TEXT_EVENTS,
        *["response.output_text.delta"] * 3,
        *TEXT_END,
        "response.completed",
    ]
    assert events.text == "One two three"
    final = events.final
    assert (
        final["status"] == "completed" and final["output"][0]["content"][0]["text"] == events.text
    )
    item_ids = {event["item_id"] for event in events.events if "item_id" in event}
    assert item_ids == {final["output"][0]["id"]}
    stored = await _get(api, f"/v1/responses/{final['id']}")
    assert stored == final


async def test_sdk_streams_both_ways(api: Api) -> None:
    client = api.async_client()
    api.bridge.script(Answer("Streamed", " by", " helper"))
    async with client.responses.stream(model="auto", input="go") as stream:
        deltas = [
            event.delta async for event in stream if event.type == "response.output_text.delta"
        ]
        final = await stream.get_final_response()
    assert (deltas, final.output_text) == (["Streamed", " by", " helper"], "Streamed by helper")
    api.bridge.script(Answer("Raw", " events"))
    seen = [
        event.type
        async for event in await client.responses.create(model="auto", input="x", stream=True)
    ]
    assert seen[0] == "response.created" and seen[-1] == "response.completed"


async def test_previous_response_id_continues_the_same_chat(api: Api) -> None:
    client = api.async_client()
    asks = Asks.of(api)
    first = await client.responses.create(
        model="auto", input=unique("first"), instructions="Be brief."
    )
    second = await client.responses.create(
        model="auto", input="second", instructions="Be brief.", previous_response_id=first.id
    )
    one, two = asks()
    assert (
        two.conversation_id is not None
        and two.conversation_id == api.bridge.turns[-2].conversation_id
    )
    assert two.prompt == "second"  # only the new input is typed into that chat
    assert second.previous_response_id == first.id
    # A fork from `first` (its chat has moved on) and changed instructions get new chats,
    # with the earlier turns written out.
    fork = await client.responses.create(
        model="auto", input="other", instructions="Be brief.", previous_response_id=first.id
    )
    renamed = await client.responses.create(
        model="auto", input="third", instructions="Be long.", previous_response_id=second.id
    )
    _, _, forked, new_instructions = asks()
    assert forked.conversation_id is None and one.prompt in forked.prompt
    assert first.output_text in forked.prompt and forked.prompt.endswith(
        "Write only the reply, without a role label.]"
    )
    assert new_instructions.conversation_id is None
    assert "[System instructions]\nBe long." in new_instructions.prompt
    assert "User: second" in new_instructions.prompt
    assert fork.output_text and renamed.output_text
    with pytest.raises(openai.NotFoundError) as missing:
        await client.responses.create(model="auto", input="x", previous_response_id="resp_nope")
    assert missing.value.code == "previous_response_not_found"


async def test_store_false_keeps_nothing(api: Api) -> None:
    client = api.async_client()
    response = await client.responses.create(model="auto", input="secret", store=False)
    assert response.store is False
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.create(model="auto", input="x", previous_response_id=response.id)


async def test_json_schema_format_returns_the_json(api: Api) -> None:
    asks = Asks.of(api)
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    api.bridge.script(Answer('```json\n{"city": "Paris"}\n```'))
    text = {"format": {"type": "json_schema", "name": "place", "schema": schema, "strict": True}}
    body = (await _create(api, {"input": "Where?", "text": text})).json()
    assert json.loads(body["output"][0]["content"][0]["text"]) == {"city": "Paris"}
    assert body["text"]["format"]["name"] == "place"
    assert "validate against this JSON Schema (place)" in asks()[0].prompt
    api.bridge.script(Answer("not json"))
    async with api.http() as http:
        failed = await http.post(
            "/v1/responses", json={"model": "auto", "input": "Where?", "text": text}
        )
    assert (failed.status_code, failed.json()["error"]["code"]) == (500, "invalid_response_format")
    bad = {"format": {"type": "json_schema", "name": "x", "schema": {"type": "nonsense"}}}
    refused = await _create(api, {"input": "x", "text": bad}, 400)
    assert refused.json()["error"]["param"] == "text.format.schema"


async def test_max_output_tokens_ends_incomplete(api: Api) -> None:
    turns = len(api.bridge.turns)
    api.bridge.script(Answer(*[f" word{i}" for i in range(40)], delay=0.01))
    _, events = await _stream(api, {"input": "long", "max_output_tokens": 16})
    assert events.types[-1] == "response.incomplete"
    final = events.final
    assert (final["status"], final["incomplete_details"]) == (
        "incomplete",
        {"reason": "max_output_tokens"},
    )
    assert final["output"][0]["status"] == "incomplete"
    assert final["usage"]["output_tokens"] == 16
    await eventually(lambda: api.bridge.turns[turns].cancelled.is_set(), "Stop was pressed")


async def test_tools_web_search_on_and_unknown_tools_skipped(api: Api) -> None:
    asks = Asks.of(api)
    tools = [
        {"type": "web_search"},
        {"type": "image_generation"},
        {"type": "local_shell"},
        {"type": "custom", "name": "apply_patch"},
        {"type": "mcp", "server_label": "x", "server_url": "http://127.0.0.1:1"},
    ]
    body = (await _create(api, {"input": "news?", "tools": tools})).json()
    assert asks()[0].options.web_search is True
    assert body["tools"] == [{"type": "web_search"}]
    plain = (await _create(api, {"input": "no tools", "tools": [{"type": "local_shell"}]})).json()
    assert asks()[1].options.web_search is None and plain["tools"] == []


async def test_reasoning_effort_picks_the_models_thinking_effort(
    start_app: StartApp, tmp_path: Path
) -> None:
    bridge = FakeBridge(model_efforts={"gpt-5-thinking": ["standard", "extended", "max"]})
    async with fake_app(start_app, tmp_path, bridge) as app:
        client = app.async_client()
        for model, effort in [
            ("gpt-5-thinking", "low"),
            ("gpt-5-thinking", "medium"),
            ("gpt-5-thinking", "high"),
            ("gpt-5-thinking", "xhigh"),
            ("gpt-5-thinking@max", "low"),  # the id's own effort wins
            ("gpt-5", "high"),  # no effort levels: nothing to choose
        ]:
            response = await client.responses.create(
                model=model, input="think", reasoning={"effort": effort}
            )
            assert response.reasoning is not None and response.reasoning.effort == effort
        assert [ask.options.effort for ask in bridge.asks] == [
            "standard",
            "standard",
            "extended",
            "max",
            "max",
            None,
        ]


async def test_bridge_errors_keep_their_http_mapping(api: Api) -> None:
    client = api.async_client()
    api.bridge.script(Answer(error=RateLimitedError(retry_after=30)))
    with pytest.raises(openai.RateLimitError) as limited:
        await client.responses.create(model="auto", input="x")
    assert limited.value.response.headers["retry-after"] == "30"
    api.bridge.script(Answer(error=WebAppError("Choosing web_search is not supported yet.")))
    with pytest.raises(openai.InternalServerError) as refused:
        await client.responses.create(model="auto", input="x", tools=[{"type": "web_search"}])
    assert refused.value.status_code == 502 and "web_search" in refused.value.message
    api.bridge.script(Answer("Half", fail=SendUncertainError()))
    with pytest.raises(openai.APIStatusError) as uncertain:
        await client.responses.create(model="auto", input="x")
    assert uncertain.value.status_code == 502
    assert uncertain.value.response.headers["x-should-retry"] == "false"


async def test_failure_mid_stream_is_error_then_response_failed(api: Api) -> None:
    api.bridge.script(Answer("Half", " an answer", fail=SendUncertainError()))
    _, events = await _stream(api, {"input": "x"})
    assert events.types[-2:] == ["error", "response.failed"]
    error = events.events[-2]
    assert error["code"] == "send_uncertain"
    final = events.final
    assert final["status"] == "failed" and final["error"]["code"] == "server_error"
    assert final["error"]["message"].startswith("[send_uncertain] ")
    assert final["output"][0]["content"][0]["text"] == "Half an answer"
    assert (await _get(api, f"/v1/responses/{final['id']}"))["status"] == "failed"


async def test_background_response_is_polled_and_cancelled(api: Api) -> None:
    client = api.async_client()
    turns = len(api.bridge.turns)
    api.bridge.script(Answer("Thinking", " hard", hang=True))
    queued = await client.responses.create(model="auto", input="slow", background=True)
    assert queued.status == "queued" and queued.background is True
    await eventually(lambda: len(api.bridge.turns) > turns, "the turn started")
    running = await client.responses.retrieve(queued.id)
    assert running.status == "in_progress"
    cancelled = await client.responses.cancel(queued.id)
    assert cancelled.status == "cancelled"
    assert api.bridge.turns[turns].cancelled.is_set()  # Stop was pressed
    stored = await _get(api, f"/v1/responses/{queued.id}")
    validate(stored, "Response", MORE)
    assert stored["status"] == "cancelled"
    assert stored["output"][0]["content"][0]["text"] == "Thinking hard"
    again = await client.responses.cancel(queued.id)  # idempotent once cancelled
    assert again.status == "cancelled"
    done = await client.responses.create(model="auto", input="quick")
    with pytest.raises(openai.BadRequestError):
        await client.responses.cancel(done.id)


async def test_background_failure_is_stored(api: Api) -> None:
    api.bridge.script(Answer(error=RateLimitedError()))
    queued = (await _create(api, {"input": "x", "background": True})).json()
    for _ in range(200):
        body = await _get(api, f"/v1/responses/{queued['id']}")
        if body["status"] != "queued" and body["status"] != "in_progress":
            break
        await asyncio.sleep(0.01)
    validate(body, "Response", MORE)
    assert body["status"] == "failed" and body["error"]["code"] == "rate_limit_exceeded"


async def test_delete(api: Api) -> None:
    client = api.async_client()
    response = await client.responses.create(model="auto", input="forget me")
    async with api.http() as http:
        deleted = await http.delete(f"/v1/responses/{response.id}")
        assert deleted.json() == {"id": response.id, "object": "response", "deleted": True}
        assert (await http.delete(f"/v1/responses/{response.id}")).status_code == 404
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(response.id)
    await client.responses.delete((await client.responses.create(model="auto", input="and me")).id)


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"model": "auto"}, "input"),
        ({"model": "auto", "input": []}, "input"),
        ({"model": "auto", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "auto", "input": [{"type": "function_call_output"}]}, "input[0].call_id"),
        (
            {"model": "auto", "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
            "input[0].content[0].text",
        ),
        ({"model": "auto", "input": "x", "max_output_tokens": 5}, "max_output_tokens"),
        ({"model": "auto", "input": "x", "tools": [{"name": "no type"}]}, "tools[0]"),
        ({"model": "auto", "input": "x", "conversation": "conv_1"}, "conversation"),
        ({"model": "auto", "input": "x", "reasoning": {"effort": "huge"}}, "reasoning.effort"),
        ({"model": "auto", "input": "x", "background": True, "store": False}, "background"),
    ],
)
async def test_bad_requests_name_their_param(api: Api, payload: dict[str, Any], param: str) -> None:
    asks = Asks.of(api)
    async with api.http() as http:
        response = await http.post("/v1/responses", json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert asks() == []


async def test_unknown_response_ids(api: Api) -> None:
    client = api.async_client()
    for call in (
        client.responses.retrieve("resp_missing"),
        client.responses.cancel("resp_missing"),
        client.responses.input_items.list("resp_missing"),
    ):
        with pytest.raises(openai.NotFoundError):
            await call


async def test_create_without_http(tmp_path: Path) -> None:
    """What batches call: a request body in, the Response object out."""
    bridge = FakeBridge()
    settings = api_settings(tmp_path)
    async with open_database(tmp_path / "bridge.db") as db:
        conversations = ConversationMap(db)
        await conversations.setup()
        models = ModelCatalog(bridge, settings)
        files = FileStore(db, tmp_path / "files", settings.file_max_bytes)
        await files.setup()
        service = ResponsesService(
            bridge=bridge,
            conversations=conversations,
            models=models,
            store=ResponseStore(db),
            inputs=file_inputs(settings, files),
        )
        await service.setup()
        body = await service.create({"model": "auto", "input": "offline"})
        validate(body, "Response", MORE)
        assert body["output"][0]["content"][0]["text"] == "You said: offline"
        assert await service.body(body["id"]) == body
        with pytest.raises(APIError) as streamed:
            await service.create({"model": "auto", "input": "x", "stream": True})
        assert streamed.value.status == 400


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


def _call_block(name: str, arguments: dict[str, Any]) -> Answer:
    text = (
        f"```{BLOCK_TAG}\n"
        + json.dumps({"tool_calls": [{"name": name, "arguments": arguments}]})
        + "\n```"
    )
    return Answer(*(text[start : start + 6] for start in range(0, len(text), 6)))


async def test_function_tool_calls_and_their_outputs(api: Api) -> None:
    asks = Asks.of(api)
    api.bridge.script(_call_block("get_weather", {"city": "Paris"}))
    _, events = await _stream(api, {"input": unique("Weather in Paris?"), "tools": [WEATHER]})
    assert events.types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    call = events.final["output"][0]
    assert (call["type"], call["name"], json.loads(call["arguments"])) == (
        "function_call",
        "get_weather",
        {"city": "Paris"},
    )
    assert events.final["tools"][0]["name"] == "get_weather"
    assert "get_weather" in asks()[0].prompt  # the tool instruction was typed
    # The result goes back by previous_response_id: only it is typed, into the same chat.
    api.bridge.script(Answer("It is sunny in Paris."))
    result = {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny, 21C"}
    answered = (
        await _create(
            api,
            {"input": [result], "tools": [WEATHER], "previous_response_id": events.final["id"]},
        )
    ).json()
    _, second = asks()
    assert second.conversation_id == api.bridge.turns[-2].conversation_id
    assert second.prompt.startswith(f"Tool result ({call['call_id']}): sunny, 21C")
    assert answered["output"][0]["content"][0]["text"] == "It is sunny in Paris."
    listed = await _get(api, f"/v1/responses/{answered['id']}/input_items")
    validate(listed, "ResponseItemList", MORE)
    assert listed["data"][0]["type"] == "function_call_output"


async def test_a_resent_history_with_calls_continues_the_chat(api: Api) -> None:
    """Codex's way (store false): the whole input every time, never previous_response_id."""
    asks = Asks.of(api)
    question = {"role": "user", "content": unique("Weather in Oslo?")}
    api.bridge.script(_call_block("get_weather", {"city": "Oslo"}))
    first = (await _create(api, {"input": [question], "tools": [WEATHER], "store": False})).json()
    call = first["output"][0]
    replay = [
        question,
        {k: call[k] for k in ("type", "call_id", "name", "arguments")},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "snow"},
    ]
    api.bridge.script(Answer("Snow in Oslo."))
    again = (await _create(api, {"input": replay, "tools": [WEATHER], "store": False})).json()
    assert again["output"][0]["content"][0]["text"] == "Snow in Oslo."
    _, second = asks()
    assert second.conversation_id == api.bridge.turns[-2].conversation_id
    assert second.prompt.startswith(f"Tool result ({call['call_id']}): snow")


async def test_an_agents_sdk_agent_calls_a_function_tool(
    start_app: StartApp, tmp_path: Path
) -> None:
    """The OpenAI Agents SDK over Responses, against the replica's tool-using model."""
    agents.set_tracing_disabled(True)
    calls: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        calls.append(city)
        return f"The weather in {city} is sunny."

    bridge = FakeBridge(replica_answers)
    async with fake_app(start_app, tmp_path, bridge) as app:
        model = agents.OpenAIResponsesModel(model="auto", openai_client=app.async_client())
        agent = agents.Agent(
            name="weather", instructions="Use the tools.", tools=[get_weather], model=model
        )
        result = await agents.Runner.run(agent, "What is the weather in Lisbon?")
        streamed = agents.Runner.run_streamed(agent, "And in Porto?")
        async for _ in streamed.stream_events():
            pass
    assert len(calls) == 2  # one call per run, with arguments built from the schema
    assert "sunny" in result.final_output and "sunny" in streamed.final_output
    assert len(bridge.asks) == 4
    assert bridge.asks[1].conversation_id == bridge.turns[0].conversation_id
    assert bridge.asks[3].conversation_id == bridge.turns[2].conversation_id


async def test_a_codex_shaped_request_is_answered(api: Api) -> None:
    """What Codex CLI sends (store false, streamed, extra items, tools and fields)."""
    shell = {
        "type": "function",
        "name": "shell",
        "description": "Runs a shell command",
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "array", "items": {"type": "string"}}},
            "required": ["command"],
        },
    }
    payload = {
        "instructions": "You are Codex.",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "<env>"}],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "x"},
        ],
        "tools": [shell, {"type": "custom", "name": "apply_patch", "format": {"type": "grammar"}}],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "session-1",
        "text": {"verbosity": "low"},
    }
    api.bridge.script(Answer("Hello from the bridge."))
    _, events = await _stream(api, payload)
    assert events.text == "Hello from the bridge."
    assert [tool["name"] for tool in events.final["tools"]] == ["shell"]


CITED = ("Rain ([Met](https://met.example/rain)).", " Sun ([Met](https://met.example/rain)).")
MET = Citation("https://met.example/rain", "Met Office")
MET_LINK = "[Met](https://met.example/rain)"


async def test_cited_sources_are_output_text_annotations(api: Api) -> None:
    api.bridge.script(Answer(*CITED, events=(MET,)))
    response = await api.async_client().responses.create(
        model="auto", input=unique("weather"), tools=[{"type": "web_search"}]
    )
    [part] = response.output[0].content
    assert part.type == "output_text"
    spans = [
        (a.type, a.url, a.title, part.text[a.start_index : a.end_index]) for a in part.annotations
    ]
    assert spans == [("url_citation", MET.url, MET.title, MET_LINK)] * 2

    api.bridge.script(Answer(*CITED, events=(MET,)))
    _, events = await _stream(api, {"input": unique("weather")})
    added = [e for e in events.events if e["type"] == "response.output_text.annotation.added"]
    assert [e["annotation_index"] for e in added] == [0, 1]
    assert events.types[-6:] == [*[added[0]["type"]] * 2, *TEXT_END, "response.completed"]
    final = events.final["output"][0]["content"][0]
    assert final["annotations"] == [e["annotation"] for e in added]
    assert [events.text[a["start_index"] : a["end_index"]] for a in final["annotations"]] == [
        MET_LINK
    ] * 2


async def test_retrieve_stream_replays_the_stored_events(api: Api) -> None:
    client = api.async_client()
    api.bridge.script(Answer("One", " two", events=(Citation("https://x.example", "X"),)))
    _, original = await _stream(api, {"input": "count"})
    response_id = original.final["id"]
    async with api.http() as http:
        replay = ResponseEvents()  # validated and numbered from 0 without gaps
        async with http.stream("GET", f"/v1/responses/{response_id}?stream=true") as raw:
            assert raw.headers["content-type"].startswith("text/event-stream")
            async for line in raw.aiter_lines():
                replay.feed(line)
    assert replay.events == original.events
    later = await client.responses.retrieve(response_id, stream=True, starting_after=3)
    assert [e.sequence_number async for e in later] == list(range(4, len(original.events)))
    past = await client.responses.retrieve(response_id, stream=True, starting_after=10_000)
    assert [e async for e in past] == []
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve("resp_missing", stream=True)
    api.bridge.script(Answer("Kept nowhere"))
    unstored = await client.responses.create(model="auto", input="x", store=False)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(unstored.id, stream=True)


async def test_retrieve_stream_follows_a_background_response_live(api: Api) -> None:
    client = api.async_client()
    turns = len(api.bridge.turns)
    api.bridge.script(Answer("Slow", " and", " steady", delay=0.2))
    queued = await client.responses.create(model="auto", input="slow", background=True)
    await eventually(lambda: len(api.bridge.turns) > turns, "the turn started")
    first = await client.responses.retrieve(queued.id, stream=True)
    types, statuses = [], []
    async for event in first:
        if not types:  # the replay starts while the answer is still being written
            statuses.append((await client.responses.retrieve(queued.id)).status)
        types.append(event.type)
    assert statuses == ["in_progress"]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert types.count("response.output_text.delta") == 3
    again = await client.responses.retrieve(queued.id, stream=True, starting_after=0)
    assert [event.type async for event in again] == types[1:]  # the same events, once stored
