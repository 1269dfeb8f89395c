"""/v1/responses end to end: the official SDK and the OpenAI Agents SDK -> the app -> real
Chromium -> the replica, one browser for the module. Answers are compared with the
replica's deterministic model and its records of what was typed, so a wrong chat, a stale or
re-sent prompt shows. The breadth (events, errors, storage, tools) is on the FakeBridge:
tests/test_api_responses.py.
"""

from __future__ import annotations

from typing import Any

import agents
import openai
import pytest

from replica.model import answer
from tests.api_support import Api, module_api, unique
from tests.schemas import ResponseEvents

pytestmark = pytest.mark.browser

api = module_api("api-responses-e2e")


async def test_streamed_then_continued_by_previous_response_id(api: Api, replica: Any) -> None:
    before = len(await replica.sends())
    first, second = unique("first response"), unique("second response")
    events = ResponseEvents()
    body = {"model": "auto", "input": first, "instructions": "Be brief.", "stream": True}
    async with api.http() as http, http.stream("POST", "/v1/responses", json=body) as response:
        assert response.status_code == 200
        chat = response.headers["x-conversation-id"]
        async for line in response.aiter_lines():
            events.feed(line)
    assert events.types[-1] == "response.completed"
    raw = await api.async_client().responses.with_raw_response.create(
        model="auto",
        input=second,
        instructions="Be brief.",
        previous_response_id=events.final["id"],
    )
    assert raw.headers["x-conversation-id"] == chat
    continued = raw.parse()
    assert continued.output_text == answer(second, "auto", 2)  # ChatGPT saw the first turn
    sends = (await replica.sends())[before:]
    assert [send["conversation_id"] for send in sends] == [chat, chat]
    assert "Be brief." in sends[0]["prompt"] and first in sends[0]["prompt"]
    assert events.text == answer(sends[0]["prompt"], "auto", 1)
    assert sends[1]["prompt"] == second  # only the new input, typed into the same chat


async def test_an_agent_calls_a_function_tool_in_one_chat(api: Api, replica: Any) -> None:
    agents.set_tracing_disabled(True)
    cities: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        cities.append(city)
        return f"Sunny in {city}, 21C."

    before = len(await replica.sends())
    model = agents.OpenAIResponsesModel(model="auto", openai_client=api.async_client())
    agent = agents.Agent(
        name="weather", instructions="Use the tools.", tools=[get_weather], model=model
    )
    result = await agents.Runner.run(agent, unique("What is the weather in Lisbon?"))
    assert len(cities) == 1
    assert f"Sunny in {cities[0]}, 21C." in result.final_output  # the replica quotes results
    sends = (await replica.sends())[before:]
    assert len(sends) == 2 and sends[0]["conversation_id"] == sends[1]["conversation_id"]
    assert sends[1]["prompt"].startswith("Tool result (call_")


async def test_web_search_is_refused_before_anything_is_typed(api: Api, replica: Any) -> None:
    before = len(await replica.sends())
    with pytest.raises(openai.APIStatusError) as refused:
        await api.async_client(max_retries=0).responses.create(
            model="auto", input=unique("news"), tools=[{"type": "web_search"}]
        )
    assert refused.value.status_code == 502 and "web_search" in refused.value.message
    assert (await replica.sends())[before:] == []
