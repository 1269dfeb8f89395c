"""A stateless `messages` array -> a ChatGPT chat, proved by what the replica received.

`replica.sends()` records every conversation POST the page made (prompt, conversation id,
temporary flag): a follow-up must type only the new message into the same chat; anything
that does not continue an exchange exactly must open a new chat.
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from replica.model import answer
from tests.api_support import Api, assistant, module_api, unique, user
from tests.schemas import validate

pytestmark = pytest.mark.browser


api = module_api("api-conversations", max_prompt_chars=2000)


class Recorder:
    """Sends made to the replica since the recorder was created."""

    def __init__(self, replica: Any, start: int) -> None:
        self.replica = replica
        self.start = start

    @classmethod
    async def of(cls, replica: Any) -> Recorder:
        return cls(replica, len(await replica.sends()))

    async def sends(self) -> list[dict[str, Any]]:
        return (await self.replica.sends())[self.start :]


async def _ask(api: Api, messages: list[dict[str, Any]], **options: Any) -> tuple[str, str]:
    """(answer, X-Conversation-Id) through the SDK's raw-response API."""
    raw = await api.async_client().chat.completions.with_raw_response.create(
        model="auto", messages=messages, **options
    )
    completion = raw.parse()
    content = completion.choices[0].message.content
    assert content is not None
    return content, raw.headers["x-conversation-id"]


async def test_follow_ups_type_only_the_new_message_into_the_same_chat(
    api: Api, replica: Any
) -> None:
    recorder = await Recorder.of(replica)
    first, second, third = unique("first"), unique("second"), unique("third")
    stream = await api.async_client().chat.completions.with_raw_response.create(
        model="auto", messages=[user(first)], stream=True
    )
    chat = stream.headers["x-conversation-id"]
    chunks = stream.parse()
    answer1 = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    answer2, chat2 = await _ask(api, [user(first), assistant(answer1), user(second)])
    answer3, chat3 = await _ask(
        api,
        [user(first), assistant(answer1), user(second), assistant(answer2), user(third)],
    )
    assert chat == chat2 == chat3
    assert answer2 == answer(second, "auto", 2)  # ChatGPT saw the earlier turn
    assert answer3 == answer(third, "auto", 3)

    sends = await recorder.sends()
    assert [send["prompt"] for send in sends] == [first, second, third]
    assert [send["conversation_id"] for send in sends] == [chat, chat, chat]
    assert [send["temporary"] for send in sends] == [True, True, True]
    stored = await replica.conversation(chat)
    texts = [message["text"] for message in stored["messages"]]
    assert texts == [first, answer1, second, answer2, third, answer3]


async def test_a_new_conversation_is_one_flattened_prompt(api: Api, replica: Any) -> None:
    recorder = await Recorder.of(replica)
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
    content, chat = await _ask(api, messages)
    [send] = await recorder.sends()
    assert send["temporary"] and send["conversation_id"] == chat
    prompt = send["prompt"]
    assert prompt.startswith(
        "[System instructions]\nAnswer like a pirate.\n[End of system instructions]\n\n"
        "[Conversation so far]\nUser: Hi\n\nAssistant: Arr, hello.\n\n"
        'Assistant: [Called tool weather with arguments {"city": "Oslo"}]\n\n'
        "Tool result (call_1): Sunny, 21 C\n[End of conversation so far]\n\n"
        f"{question}\n\n[Reply to the last message above as the assistant"
    )
    assert content == answer(prompt, "auto", 1)


async def test_an_edited_history_opens_a_new_chat(api: Api, replica: Any) -> None:
    first, second = unique("original"), unique("after edit")
    answer1, chat = await _ask(api, [user(first)])
    recorder = await Recorder.of(replica)
    _, other = await _ask(api, [user(first), assistant(answer1 + " (edited)"), user(second)])
    assert other != chat
    [send] = await recorder.sends()
    assert send["conversation_id"] == other and "(edited)" in send["prompt"]
    assert len((await replica.conversation(chat))["messages"]) == 2


async def test_resending_the_same_request_never_stacks_answers(api: Api, replica: Any) -> None:
    first, second = unique("base"), unique("regenerate me")
    answer1, chat = await _ask(api, [user(first)])
    follow_up = [user(first), assistant(answer1), user(second)]
    recorder = await Recorder.of(replica)
    replies = await asyncio.gather(_ask(api, follow_up), _ask(api, follow_up))
    chats = sorted(chat_id for _, chat_id in replies)
    assert chat in chats and len(set(chats)) == 2  # one continued, one new chat
    sends = await recorder.sends()
    assert sorted(send["conversation_id"] for send in sends) == chats
    assert len((await replica.conversation(chat))["messages"]) == 4


async def test_cut_answers_are_not_continued(api: Api, replica: Any) -> None:
    first, second = unique("cut me words:40"), unique("next")
    cut, chat = await _ask(api, [user(first)], max_tokens=3)
    recorder = await Recorder.of(replica)
    _, other = await _ask(api, [user(first), assistant(cut), user(second)])
    assert other != chat
    [send] = await recorder.sends()
    assert send["conversation_id"] == other and first in send["prompt"]


async def test_x_conversation_id_pins_a_chat(api: Api, replica: Any) -> None:
    first, second = unique("pinned start"), unique("pinned next")
    _, chat = await _ask(api, [user(first)])
    recorder = await Recorder.of(replica)
    raw = await api.async_client().chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "system", "content": "ignored for a pinned chat"}, user(second)],
        extra_headers={"X-Conversation-Id": chat},
    )
    assert raw.headers["x-conversation-id"] == chat
    assert raw.parse().choices[0].message.content == answer(second, "auto", 2)
    [send] = await recorder.sends()
    assert (send["conversation_id"], send["prompt"]) == (chat, second)

    async with api.http() as http:
        bad = await http.post(
            "/v1/chat/completions",
            json={"model": "auto", "messages": [user("x")]},
            headers={"X-Conversation-Id": "../../etc"},
        )
    assert bad.status_code == 400
    validate(bad.json(), "ErrorResponse")


async def test_a_prompt_too_long_for_the_composer_is_rejected(api: Api, replica: Any) -> None:
    recorder = await Recorder.of(replica)
    with pytest.raises(openai.BadRequestError) as rejected:
        await api.async_client().chat.completions.create(model="auto", messages=[user("x" * 2500)])
    assert rejected.value.code == "context_length_exceeded"
    assert rejected.value.body["param"] == "messages"  # type: ignore[index]
    assert "BRIDGE_MAX_PROMPT_CHARS" in rejected.value.message
    assert await recorder.sends() == []
