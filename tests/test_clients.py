"""Real clients no one here wrote, each driving the bridge over HTTP as its users would:
LangChain (`bind_tools` agent loop, streaming, `with_structured_output`), the OpenAI Agents
SDK (an agent with a function tool over chat completions), LiteLLM and the `llm` CLI.

The app runs on a FakeBridge that answers as the replica's model does (its tool-using model
included), so each client's whole loop runs in milliseconds; the real browser path is
tests/test_api_tools_e2e.py. Nothing here needs the network: no client path used counts
tokens with tiktoken (whose vocabularies would be downloaded), LiteLLM reads its bundled
model cost map (`LITELLM_LOCAL_MODEL_COST_MAP`), and tracing of the Agents SDK is off.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from replica.model import answer
from tests.api_support import Api, Asks, module_fake_api, replica_answers, unique

api = module_fake_api("clients", replica_answers)

TOOLED_ANSWER = 'The tools answered: "Sunny in city".'
"""The replica's answer once `get_weather` returned for the argument it made up."""


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"Sunny in {city}"


class Person(BaseModel):
    name: str
    age: int


def _chat_model(api: Api) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini", base_url=f"{api.url}/v1", api_key="not-needed", max_retries=0
    )


def _continued_the_chat(api: Api, asks: Asks) -> None:
    """The last request typed only the tool results (and the instruction) into the chat
    the call was made in."""
    *_, call_ask, result_ask = asks()
    call_turn, result_turn = api.bridge.turns[-2:]
    assert call_ask.conversation_id is None and result_ask.conversation_id is not None
    assert result_ask.conversation_id == call_turn.conversation_id
    assert result_turn.conversation_id == call_turn.conversation_id
    assert result_ask.prompt.startswith("Tool result (call_")


async def test_langchain_bind_tools_agent_loop(api: Api) -> None:
    asks = Asks.of(api)
    model = _chat_model(api).bind_tools([get_weather])
    messages: list[BaseMessage] = [HumanMessage(unique("What is the weather in Paris?"))]
    reply = await model.ainvoke(messages)
    steps = 0
    while isinstance(reply, AIMessage) and reply.tool_calls:
        steps += 1
        messages.append(reply)
        for call in reply.tool_calls:
            result = await get_weather.ainvoke(call["args"])
            messages.append(ToolMessage(result, tool_call_id=call["id"]))
        reply = await model.ainvoke(messages)
    assert steps == 1 and reply.content == TOOLED_ANSWER
    assert isinstance(messages[1], AIMessage)
    assert messages[1].tool_calls[0]["args"] == {"city": "city"}
    _continued_the_chat(api, asks)


async def test_langchain_streams_a_tool_call(api: Api) -> None:
    model = _chat_model(api).bind_tools([get_weather], tool_choice="get_weather")
    chunks = [chunk async for chunk in model.astream(unique("Weather, streamed"))]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert [(call["name"], call["args"]) for call in merged.tool_calls] == [  # type: ignore[attr-defined]
        ("get_weather", {"city": "city"})
    ]


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
async def test_langchain_structured_output(api: Api, method: str) -> None:
    structured = _chat_model(api).with_structured_output(Person, method=method)  # type: ignore[arg-type]
    person = await structured.ainvoke(unique("Make up a person"))
    assert person == Person(name="name", age=1)  # built from the schema by the replica


async def test_agents_sdk_agent_with_a_function_tool(api: Api) -> None:
    import agents
    from openai import AsyncOpenAI

    agents.set_tracing_disabled(True)
    cities: list[str] = []

    @agents.function_tool
    def weather(city: str) -> str:
        """The current weather in a city."""
        cities.append(city)
        return f"Sunny in {city}"

    asks = Asks.of(api)
    client = AsyncOpenAI(base_url=f"{api.url}/v1", api_key="not-needed", max_retries=0)
    agent = agents.Agent(
        name="forecaster",
        instructions="Answer weather questions with the tool.",
        tools=[weather],
        model=agents.OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client),
    )
    result = await agents.Runner.run(agent, unique("Weather in Oslo?"))
    assert result.final_output == TOOLED_ANSWER and cities == ["city"]
    _continued_the_chat(api, asks)
    streamed = agents.Runner.run_streamed(agent, unique("Weather in Bergen?"))
    kinds = {event.type async for event in streamed.stream_events()}
    assert streamed.final_output == TOOLED_ANSWER and cities == ["city", "city"]
    assert "run_item_stream_event" in kinds


@pytest.fixture
def litellm(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else it is fetched
    import litellm

    return litellm


async def test_litellm_completion_stream_and_tools(api: Api, litellm: Any) -> None:
    options = {"model": "openai/auto", "api_base": f"{api.url}/v1", "api_key": "not-needed"}
    prompt = unique("hello through litellm")
    reply = await litellm.acompletion(messages=[{"role": "user", "content": prompt}], **options)
    assert reply.choices[0].message.content == answer(prompt, "auto", 1)
    stream = await litellm.acompletion(
        messages=[{"role": "user", "content": prompt}], stream=True, **options
    )
    assert "".join([c.choices[0].delta.content or "" async for c in stream]) == answer(
        prompt, "auto", 1
    )
    tools = [{"type": "function", "function": get_weather_schema()}]
    called = await litellm.acompletion(
        messages=[{"role": "user", "content": unique("weather?")}], tools=tools, **options
    )
    [call] = called.choices[0].message.tool_calls
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "city"}')
    assert called.choices[0].finish_reason == "tool_calls"


def get_weather_schema() -> dict[str, Any]:
    return {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }


def _printed(output: str) -> str:
    """What the CLI printed, without LiteLLM's own log lines: its background logging thread
    (from the LiteLLM test before, in this process) may write into the captured stdout."""
    lines = [line for line in output.splitlines() if not _LITELLM_LOG.match(line)]
    return "\n".join(lines).strip()


_LITELLM_LOG = re.compile(r"^\d\d:\d\d:\d\d - LiteLLM:")


@pytest.fixture
def llm_home(api: Api, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An `llm` user directory whose one extra model is the bridge."""
    (tmp_path / "extra-openai-models.yaml").write_text(
        f'- model_id: bridge\n  model_name: auto\n  api_base: "{api.url}/v1"\n'
    )
    yield {"LLM_USER_PATH": str(tmp_path), "OPENAI_API_KEY": "not-needed"}


async def test_llm_cli_chats_and_continues_the_chat(api: Api, llm_home: dict[str, str]) -> None:
    from llm.cli import cli

    asks = Asks.of(api)
    prompt, follow_up = unique("hello from llm"), unique("and again")
    runner = CliRunner()
    first = await asyncio.to_thread(runner.invoke, cli, ["-m", "bridge", prompt], env=llm_home)
    assert first.exit_code == 0, first.output
    assert _printed(first.output) == answer(prompt, "auto", 1)
    second = await asyncio.to_thread(
        runner.invoke, cli, ["-c", "--no-stream", follow_up], env=llm_home
    )
    assert second.exit_code == 0, second.output
    opened, continued = asks()
    assert opened.prompt == prompt and continued.prompt == follow_up
    assert continued.conversation_id == api.bridge.turns[-2].conversation_id
