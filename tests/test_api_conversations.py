"""A stateless `messages` array -> a ChatGPT chat, proved by what the FakeBridge was asked.

Every ask is recorded (prompt, conversation id, temporary flag): a follow-up must type only
the new message into the same chat; anything that does not continue an exchange exactly
must open a new chat. The same against real Chromium: tests/test_api_e2e.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import openai
import pytest

from browser.errors import RateLimitedError
from tests.api_support import (
    Api,
    Asks,
    StartApp,
    ask_for_chat,
    assistant,
    fake_app,
    module_fake_api,
    unique,
    user,
)
from tests.fakes.bridge import Answer, FakeBridge
from tests.schemas import validate

api = module_fake_api("api-conversations", max_prompt_chars=2000)


async def test_follow_ups_type_only_the_new_message_into_the_same_chat(api: Api) -> None:
    asks = Asks.of(api)
    first, second, third = unique("first"), unique("second"), unique("third")
    answer1, chat = await ask_for_chat(api, [user(first)])
    answer2, chat2 = await ask_for_chat(api, [user(first), assistant(answer1), user(second)])
    _, chat3 = await ask_for_chat(
        api, [user(first), assistant(answer1), user(second), assistant(answer2), user(third)]
    )
    assert chat == chat2 == chat3
    assert [(ask.prompt, ask.temporary) for ask in asks()] == [
        (first, True),
        (second, True),
        (third, True),
    ]
    assert [ask.conversation_id for ask in asks()] == [None, chat, chat]


async def test_a_new_conversation_is_one_flattened_prompt(api: Api) -> None:
    asks = Asks.of(api)
    question = unique("and now?")
    messages = [
        {"role": "developer", "content": "Answer like a pirate."},
        user("Hi"),
        assistant("Arr, hello."),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
        user(question),
    ]
    await ask_for_chat(api, messages)
    [ask] = asks()
    assert ask.temporary and ask.conversation_id is None
    assert ask.prompt == (
        "[System instructions]\nAnswer like a pirate.\n[End of system instructions]\n\n"
        "[Conversation so far]\nUser: Hi\n\nAssistant: Arr, hello.\n\n"
        'Assistant: [Called tool weather with arguments {"city": "Oslo"}]\n\n'
        "Tool result (call_1): Sunny, 21 C\n[End of conversation so far]\n\n"
        f"{question}\n\n[Reply to the last message above as the assistant, following the "
        "system instructions if there are any. Write only the reply, without a role label.]"
    )


async def test_an_edited_history_opens_a_new_chat(api: Api) -> None:
    first, second = unique("original"), unique("after edit")
    answer1, chat = await ask_for_chat(api, [user(first)])
    asks = Asks.of(api)
    _, other = await ask_for_chat(
        api, [user(first), assistant(answer1 + " (edited)"), user(second)]
    )
    assert other != chat
    [ask] = asks()
    assert ask.conversation_id is None and "(edited)" in ask.prompt


async def test_resending_the_same_request_never_stacks_answers(api: Api) -> None:
    first, second = unique("base"), unique("regenerate me")
    answer1, chat = await ask_for_chat(api, [user(first)])
    follow_up = [user(first), assistant(answer1), user(second)]
    asks = Asks.of(api)
    replies = await asyncio.gather(ask_for_chat(api, follow_up), ask_for_chat(api, follow_up))
    chats = sorted(chat_id for _, chat_id in replies)
    assert chat in chats and len(set(chats)) == 2  # one continued, one new chat
    assert sorted(str(ask.conversation_id) for ask in asks()) == sorted([chat, "None"])


async def test_cut_or_reformatted_answers_are_not_continued(api: Api) -> None:
    cases: list[dict[str, Any]] = [
        {"max_tokens": 3},
        {"stop": ["third"]},
        {"response_format": {"type": "json_object"}},
    ]
    for options in cases:
        first, second = unique("first second third fourth, as JSON"), unique("next")
        api.bridge.script(Answer('{"a": "first second third fourth"}'))
        cut, _ = await ask_for_chat(api, [user(first)], **options)
        asks = Asks.of(api)
        await ask_for_chat(api, [user(first), assistant(cut), user(second)])
        [ask] = asks()
        assert ask.conversation_id is None and first in ask.prompt, options


async def test_a_refused_follow_up_can_continue_the_chat_later(api: Api) -> None:
    """A send that never reached ChatGPT gives the history back: the retry continues it."""
    first, second = unique("first"), unique("second")
    answer1, chat = await ask_for_chat(api, [user(first)])
    follow_up = [user(first), assistant(answer1), user(second)]
    api.bridge.script(Answer(error=RateLimitedError(retry_after=1)))
    with pytest.raises(openai.RateLimitError):
        await ask_for_chat(api, follow_up)
    asks = Asks.of(api)
    _, again = await ask_for_chat(api, follow_up)
    assert again == chat
    assert [(ask.conversation_id, ask.prompt) for ask in asks()] == [(chat, second)]


async def test_x_conversation_id_pins_a_chat(api: Api) -> None:
    asks = Asks.of(api)
    question = unique("pinned next")
    raw = await api.async_client().chat.completions.with_raw_response.create(
        model="auto",
        messages=[
            {"role": "system", "content": "ignored for a pinned chat"},
            user("earlier"),
            assistant("answer"),
            user(question),
        ],
        extra_headers={"X-Conversation-Id": "chat-42"},
    )
    assert raw.headers["x-conversation-id"] == "chat-42"
    [ask] = asks()
    assert (ask.conversation_id, ask.prompt, ask.temporary) == ("chat-42", question, False)

    async with api.http() as http:
        for bad in ("../../etc", "", "x" * 101, "a b"):
            response = await http.post(
                "/v1/chat/completions",
                json={"model": "auto", "messages": [user("x")]},
                headers={"X-Conversation-Id": bad},
            )
            assert response.status_code == 400, bad
            validate(response.json(), "ErrorResponse")
            assert "X-Conversation-Id" in response.json()["error"]["message"]
    assert len(asks()) == 1


async def test_a_prompt_too_long_for_the_composer_reaches_the_bridge_whole(api: Api) -> None:
    """Past BRIDGE_MAX_PROMPT_CHARS the browser attaches it as a file: never cut, never a 400."""
    asks = Asks.of(api)
    long = "x" * 2500  # the module's limit is 2000
    answer = await api.async_client().chat.completions.create(model="auto", messages=[user(long)])
    assert answer.choices[0].message.content
    assert [ask.prompt for ask in asks()] == [long]


async def test_the_conversation_table_exists_before_the_first_request(
    start_app: StartApp, tmp_path: Path
) -> None:
    async with fake_app(start_app, tmp_path, FakeBridge()) as api:
        tables = await asyncio.to_thread(_tables, api.server.settings.database_path)
    assert "api_conversations" in tables


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}
