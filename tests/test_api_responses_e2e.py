"""/v1/responses end to end (and chat completions' citations): the official SDK and the
OpenAI Agents SDK -> the app -> real Chromium -> the replica, one browser for the module.
Answers are compared with the replica's deterministic model and its records of what was
typed, so a wrong chat, a stale or re-sent prompt shows. The breadth (events, errors,
storage, tools, citations) is on the FakeBridge: tests/test_api_responses.py.
"""

from __future__ import annotations

from typing import Any

import agents
import pytest

from replica.model import answer, search_sources
from tests.api_support import Api, module_api, unique, user
from tests.schemas import EventStream, ResponseEvents, parse_sse_line, validate

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


def _searched(prompt: str) -> tuple[str, str, str]:
    """What the API returns for the replica's searched answer: its text, with ChatGPT's
    citation marker as the Markdown link the browser makes of it, and the link."""
    [source] = search_sources(prompt)
    label = source["title"].replace("[", "\\[").replace("]", "\\]")
    link = f"[{label}]({source['url']})"
    return f"{answer(prompt, 'auto', 1)} ({link})", source["url"], link


async def test_the_web_search_tool_turns_on_chatgpts_search_and_cites(
    api: Api, replica: Any
) -> None:
    """Searched answers carry url_citation annotations, chat and Responses, streamed and not;
    a finished streamed response is streamed again by `retrieve(stream=True)`."""
    client = api.async_client(max_retries=0)
    prompt = unique("news")
    response = await client.responses.create(
        model="auto", input=prompt, tools=[{"type": "web_search"}]
    )
    sent = (await replica.sends())[-1]
    assert sent["prompt"] == prompt and sent["system_hints"] == ["search"]
    text, url, link = _searched(prompt)
    assert response.output_text == text
    [annotation] = response.output[0].content[0].annotations
    assert (annotation.type, annotation.url) == ("url_citation", url)
    assert text[annotation.start_index : annotation.end_index] == link

    prompt = unique("streamed news")
    text, url, link = _searched(prompt)
    events = ResponseEvents()
    body = {"model": "auto", "input": prompt, "stream": True, "tools": [{"type": "web_search"}]}
    async with api.http() as http, http.stream("POST", "/v1/responses", json=body) as streamed:
        async for line in streamed.aiter_lines():
            events.feed(line)
    assert events.text == text
    [added] = [e for e in events.events if e["type"] == "response.output_text.annotation.added"]
    assert text[added["annotation"]["start_index"] : added["annotation"]["end_index"]] == link
    replayed = await client.responses.retrieve(events.final["id"], stream=True)
    assert [event.to_dict() async for event in replayed] == events.events

    for stream in (False, True):
        prompt = unique("chat news")
        text, url, link = _searched(prompt)
        payload = {"model": "auto:search", "messages": [user(prompt)], "stream": stream}
        async with api.http() as http:
            raw = await http.post("/v1/chat/completions", json=payload)
        if stream:
            chunks = EventStream()
            for line in raw.text.splitlines():
                parse_sse_line(chunks, line)
            content = chunks.content
            [annotations] = [
                c["choices"][0]["delta"]["annotations"]
                for c in chunks.chunks
                if "annotations" in c["choices"][0]["delta"]
            ]
        else:
            validate(raw.json(), "CreateChatCompletionResponse")
            content = raw.json()["choices"][0]["message"]["content"]
            annotations = raw.json()["choices"][0]["message"]["annotations"]
        assert content == text
        [cited] = [a["url_citation"] for a in annotations]
        assert (cited["url"], content[cited["start_index"] : cited["end_index"]]) == (url, link)
