"""Tools and structured output end to end: the official SDK -> the app -> real Chromium ->
the replica's tool-using model. The call is streamed back as `tool_calls` deltas, its
result continues the same ChatGPT chat (the replica's records show one chat, two user
messages, the second only the result and the instruction), and a JSON schema is answered
with JSON built from it. The detail: tests/test_api_tools.py, on the FakeBridge."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from app.api.tool_calls import RESULTS_SENTENCE
from tests.api_support import Api, module_api, settled_chat, unique, user

pytestmark = pytest.mark.browser

api = module_api("api-tools-e2e")

LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order by its number",
        "parameters": {
            "type": "object",
            "properties": {"order": {"type": "integer", "minimum": 1000}},
            "required": ["order"],
        },
    },
}


async def test_a_streamed_call_and_its_result_in_one_chat(api: Api, replica: Any) -> None:
    client = api.async_client()
    question = unique("Where is my order?")
    async with client.chat.completions.stream(
        model="auto",
        messages=[user(question)],
        tools=[LOOKUP],  # type: ignore[list-item]
    ) as stream:
        called = await stream.get_final_completion()
    choice = called.choices[0]
    [call] = choice.message.tool_calls or []
    assert choice.finish_reason == "tool_calls" and not choice.message.content
    assert (call.function.name, json.loads(call.function.arguments)) == (  # type: ignore[union-attr]
        "lookup_order",
        {"order": 1000},
    )
    raw = await client.chat.completions.with_raw_response.create(
        model="auto",
        tools=[LOOKUP],  # type: ignore[list-item]
        messages=[
            user(question),
            choice.message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "Shipped on Monday"},
        ],
    )
    answered = raw.parse()
    assert answered.choices[0].message.content == 'The tools answered: "Shipped on Monday".'
    assert answered.choices[0].finish_reason == "stop"
    chat = await settled_chat(replica, raw.headers["x-conversation-id"])
    typed = [message["text"] for message in chat["messages"] if message["role"] == "user"]
    assert len(typed) == 2 and question in typed[0] and "[Tools]" in typed[0]
    assert typed[1].startswith(f"Tool result ({call.id}): Shipped on Monday\n\n[Tools]")
    assert RESULTS_SENTENCE in typed[1] and question not in typed[1]


class Order(BaseModel):
    number: int
    status: str
    items: list[str]


async def test_a_json_schema_is_answered_with_json_built_from_it(api: Api) -> None:
    completion = await api.async_client().chat.completions.parse(
        model="auto", messages=[user(unique("Describe an order"))], response_format=Order
    )
    assert completion.choices[0].message.parsed == Order(number=1, status="status", items=["items"])
