"""Every API feature once end to end: the official SDK -> the app -> real Chromium -> the
replica. Answers are compared with the replica's deterministic model and the replica's own
records, so a wrong, stale, cut or re-sent prompt shows. The API's own behaviour around
these paths (formats, errors, emulation, mapping) is tested on the FakeBridge next door.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import openai
import pytest

from browser.attachments import Attachment
from replica import pictures
from replica.model import answer
from tests.api_support import Api, ask_for_chat, assistant, module_api, settled_chat, unique, user
from tests.schemas import EventStream, parse_sse_line, validate

pytestmark = pytest.mark.browser


api = module_api("api-e2e")


async def _sends_since(replica: Any, before: int) -> list[dict[str, Any]]:
    return (await replica.sends())[before:]


async def test_models_are_listed_and_retrieved(api: Api) -> None:
    client = api.client()
    listed = await asyncio.to_thread(client.models.list)
    ids = [model.id for model in listed.data]
    assert {"auto", "gpt-5", "gpt-5-thinking", "gpt-4o"} <= set(ids)  # the replica's picker
    assert {"gpt-4o-mini", "gpt-3.5-turbo"} <= set(ids)  # aliases whose target exists
    async with api.http() as http:
        raw = (await http.get("/v1/models")).json()
    validate(raw, "ListModelsResponse")
    model = await asyncio.to_thread(client.models.retrieve, "gpt-4o-mini")
    assert (model.id, model.object, model.owned_by) == ("gpt-4o-mini", "model", "chatgpt-bridge")
    chosen = await api.async_client().chat.completions.create(
        model="gpt-5", messages=[user(prompt := unique("which model"))]
    )
    assert chosen.choices[0].message.content == answer(prompt, "gpt-5", 1)


async def test_non_streaming_completion(api: Api) -> None:
    prompt = unique("Hello there")
    completion = await asyncio.to_thread(
        api.client().chat.completions.create, model="gpt-4o-mini", messages=[user(prompt)]
    )
    choice = completion.choices[0]
    assert choice.message.content == answer(prompt, "auto", 1)
    assert (choice.finish_reason, completion.model) == ("stop", "auto")
    assert completion.usage is not None and completion.usage.completion_tokens > 0


async def test_streaming_completion(api: Api) -> None:
    prompt = unique("stream me words:12")
    payload = {
        "model": "auto",
        "messages": [user(prompt)],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with api.http() as http, http.stream("POST", "/v1/chat/completions", json=payload) as r:
        assert r.status_code == 200 and r.headers["x-conversation-id"]
        stream = EventStream()
        async for line in r.aiter_lines():
            parse_sse_line(stream, line)  # each chunk against OpenAI's schema
    assert stream.done and not stream.errors
    assert stream.content == answer(prompt, "auto", 1)
    assert len(stream.chunks) > 5  # forwarded in pieces, not as one block
    assert stream.chunks[-1]["usage"]["total_tokens"] > 0


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


async def test_json_object_is_asked_for_and_unfenced(api: Api, replica: Any) -> None:
    before = len(await replica.sends())
    prompt = unique("Describe yourself as JSON.")
    completion = await api.async_client().chat.completions.create(
        model="auto",
        messages=[{"role": "system", "content": "You answer in JSON."}, user(prompt)],
        response_format={"type": "json_object"},
    )
    content = completion.choices[0].message.content or ""
    assert json.loads(content)["model"] == "auto" and "```" not in content
    [sent] = await _sends_since(replica, before)
    assert "valid JSON" in sent["prompt"] and prompt in sent["prompt"]


async def test_follow_ups_type_only_the_new_message_into_the_same_chat(
    api: Api, replica: Any
) -> None:
    before = len(await replica.sends())
    first, second, third = unique("first"), unique("second"), unique("third")
    stream = await api.async_client().chat.completions.with_raw_response.create(
        model="auto", messages=[user(first)], stream=True
    )
    chat = stream.headers["x-conversation-id"]
    chunks = stream.parse()
    answer1 = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    answer2, chat2 = await ask_for_chat(api, [user(first), assistant(answer1), user(second)])
    answer3, chat3 = await ask_for_chat(
        api,
        [user(first), assistant(answer1), user(second), assistant(answer2), user(third)],
    )
    assert chat == chat2 == chat3
    assert answer2 == answer(second, "auto", 2)  # ChatGPT saw the earlier turn
    assert answer3 == answer(third, "auto", 3)
    sends = await _sends_since(replica, before)
    assert [send["prompt"] for send in sends] == [first, second, third]
    assert [send["conversation_id"] for send in sends] == [chat, chat, chat]
    assert [send["temporary"] for send in sends] == [True, True, True]
    stored = await replica.conversation(chat)
    texts = [message["text"] for message in stored["messages"]]
    assert texts == [first, answer1, second, answer2, third, answer3]


async def test_x_conversation_id_pins_a_chat(api: Api, replica: Any) -> None:
    first, second = unique("pinned start"), unique("pinned next")
    _, chat = await ask_for_chat(api, [user(first)])
    before = len(await replica.sends())
    raw = await api.async_client().chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "system", "content": "ignored for a pinned chat"}, user(second)],
        extra_headers={"X-Conversation-Id": chat},
    )
    assert raw.headers["x-conversation-id"] == chat
    assert raw.parse().choices[0].message.content == answer(second, "auto", 2)
    [send] = await _sends_since(replica, before)
    assert (send["conversation_id"], send["prompt"]) == (chat, second)


async def _failing_with_retries(api: Api, prompt: str) -> openai.APIStatusError:
    """The error of a request made by an SDK that would retry twice if allowed to."""
    with pytest.raises(openai.APIStatusError) as failure:
        await asyncio.to_thread(
            api.client(max_retries=2).chat.completions.create,
            model="auto",
            messages=[user(unique(prompt))],
        )
    return failure.value


async def test_logged_out_is_503_saying_what_to_do(api: Api, replica: Any) -> None:
    await replica.configure(logged_out=True, auto_login=False)
    before = len(await replica.sends())
    failure = await _failing_with_retries(api, "anyone there?")
    assert isinstance(failure, openai.InternalServerError) and failure.status_code == 503
    assert failure.code == "login_required"
    assert "chatgpt-bridge login" in failure.message
    assert failure.response.headers["x-should-retry"] == "false"
    assert await _sends_since(replica, before) == []


async def test_a_failure_after_delivery_is_not_retried(api: Api, replica: Any) -> None:
    await replica.configure(sse_error_next=3)
    before = len(await replica.sends())
    failure = await _failing_with_retries(api, "words:50")
    assert failure.status_code >= 500
    assert failure.response.headers["x-should-retry"] == "false"
    validate(failure.response.json(), "ErrorResponse")
    assert len(await _sends_since(replica, before)) == 1


async def test_a_client_that_disconnects_stops_the_answer(api: Api, replica: Any) -> None:
    await replica.configure(chunk_delay_ms=100)
    prompt = unique("long answer words:400")
    payload = {"model": "auto", "stream": True, "messages": [user(prompt)]}
    async with api.http() as http, http.stream("POST", "/v1/chat/completions", json=payload) as r:
        conversation_id = r.headers["x-conversation-id"]
        stream = EventStream()
        async for line in r.aiter_lines():
            parse_sse_line(stream, line)
            if len(stream.content) > 20:
                break  # the client goes away mid-answer
    chat = await settled_chat(replica, conversation_id)
    stopped = chat["messages"][-1]
    assert stopped["status"] == "finished_partial_completion"
    assert len(stopped["text"]) < len(answer(prompt, "auto", 1))
    async with api.http() as http:  # the tab was freed: /health counts it back
        for _ in range(100):
            if (await http.get("/health")).json()["browser"]["tabs_busy"] == 0:
                break
            await asyncio.sleep(0.1)
        assert (await http.get("/health")).json()["browser"]["tabs_busy"] == 0


async def test_an_image_and_a_file_reach_chatgpt_through_the_page(api: Api, replica: Any) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg=="
    )
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 8
    parts = [
        {"type": "text", "text": (prompt := unique("Compare these"))},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + _b64(png)}},
        {"type": "file", "file": {"filename": "spec.pdf", "file_data": _b64(pdf)}},
    ]
    completion = await api.async_client().chat.completions.create(
        model="auto", messages=[{"role": "user", "content": parts}]
    )
    content = completion.choices[0].message.content or ""
    assert content.startswith(answer(prompt, "auto", 1))
    for attachment in (Attachment("image-1.png", "image/png", png), Attachment.of("spec.pdf", pdf)):
        size, digest = attachment.size, attachment.sha256
        assert (
            f"- {attachment.name} ({attachment.mime_type}, {size} bytes, sha256 {digest})"
            in content
        )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_a_picture_is_drawn_downloaded_stored_and_served(api: Api, replica: Any) -> None:
    await replica.configure(image_delay_ms=200, image_link_ttl_ms=2000)
    client = api.async_client()
    prompt = unique("a lighthouse at dusk")
    result = await client.images.generate(prompt=prompt, size="1024x1024", response_format="url")
    assert result.data and result.data[0].url
    drawn = f"Generate an image: {prompt}\n\nMake it square, 1024x1024 pixels."
    async with api.http() as http:
        served = await http.get(result.data[0].url)
    assert served.content == pictures.picture(drawn)  # the replica's PNG for exactly this
    assert result.data[0].revised_prompt == drawn
    file_id = result.data[0].url.split("/")[-2]
    assert (await client.files.retrieve(file_id)).purpose == "assistants_output"

    reply = await client.chat.completions.create(
        model="auto", messages=[user(f"Draw a fox {unique()}")]
    )
    content = reply.choices[0].message.content or ""
    assert re.fullmatch(r"!\[Draw a fox \\\[\w+\\\]\]\(\S+/v1/files/file-\w+/content\)", content)
