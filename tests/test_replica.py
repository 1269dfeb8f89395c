"""The replica over plain HTTP: its model, its stream's frame shapes, its endpoints, its knobs."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from replica import model
from replica.store import Conversation, Message
from replica.stream import V1Encoder

# ---------------------------------------------------------------- the model


def test_answer_header_and_quote():
    answer = model.answer("hello\nthere", "gpt-5", 3)
    assert answer == 'Model: gpt-5. User messages so far: 3.\n\nYou said: "hello there"'


def test_long_prompts_are_cut_at_300_characters():
    prompt = "x" * 299 + "\nyz"
    assert model.quote(prompt) == "x" * 299 + " …"
    assert model.answer(prompt, "auto", 1).endswith('You said: "' + "x" * 299 + ' …"')


def test_valid_json_answer_is_one_json_fence():
    prompt = "Reply with VALID JSON only"
    answer = model.answer(prompt, "gpt-4o", 2)
    assert answer.startswith("```json\n") and answer.endswith("\n```")
    payload = json.loads(answer.removeprefix("```json\n").removesuffix("\n```"))
    assert payload == {"model": "gpt-4o", "user_messages": 2, "prompt_chars": len(prompt)}


def test_triggers_add_rich_markdown():
    rich = model.answer("markdown:rich", "auto", 1)
    for piece in ("## ", "**bold**", "*italic*", "](https://", "```python", "| --- |", "   - "):
        assert piece in rich
    assert "```python" in model.answer("markdown:code", "auto", 1)
    assert "| Model |" not in model.answer("markdown:code", "auto", 1)
    words = model.answer("words:95", "auto", 1).split("\n\n", 2)[2]
    assert len(words.split()) == 95
    assert words.count("\n\n") == 2  # 40 + 40 + 15 words


# ---------------------------------------------------------------- HTTP helpers


@pytest.fixture
async def client(replica) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=replica.url, timeout=30) as http:
        session = (await http.get("/api/auth/session")).json()
        http.headers["Authorization"] = f"Bearer {session['accessToken']}"
        yield http


def request_body(prompt: str, conversation_id: str | None = None, **extra: Any) -> dict:
    body = {
        "action": "next",
        "messages": [
            {
                "id": str(uuid.uuid4()),
                "author": {"role": "user"},
                "content": {"content_type": "text", "parts": [prompt]},
            }
        ],
        "model": "gpt-5",
        "parent_message_id": "client-created-root",
        "supported_encodings": ["v1"],
        **extra,
    }
    if conversation_id:
        body["conversation_id"] = conversation_id
    return body


async def events(response: httpx.Response) -> list[tuple[str | None, Any]]:
    """(event name, decoded data) pairs; data is the raw string for `[DONE]`."""
    text = (await response.aread()).decode()
    found = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        raw = "\n".join(data)
        found.append((name, raw if raw == "[DONE]" else json.loads(raw)))
    return found


async def converse(client: httpx.AsyncClient, body: dict) -> list[tuple[str | None, Any]]:
    async with client.stream("POST", "/backend-api/f/conversation", json=body) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        return await events(response)


def answer_text(deltas: list[dict[str, Any]]) -> str:
    """A reference decode of the answer's appends, with `p`/`o` carried over."""
    text, carried = "", {}
    for data in deltas:
        batch = isinstance(data["v"], list) and "o" not in data
        if not batch:
            carried.update({k: data[k] for k in ("p", "o") if k in data})
        ops = data["v"] if batch or data.get("o") == "patch" else [{**carried, "v": data["v"]}]
        for op in ops:
            if op.get("o") == "append" and op["p"] == "/message/content/parts/0":
                text += op["v"]
    return text


def deltas_of(found: list[tuple[str | None, Any]]) -> list[dict[str, Any]]:
    return [data for name, data in found if name == "delta"]


def conversation_id_of(found: list[tuple[str | None, Any]]) -> str:
    return next(d["conversation_id"] for _, d in found if isinstance(d, dict) and "type" in d)


@asynccontextmanager
async def streaming(client: httpx.AsyncClient, body: dict) -> AsyncIterator[AsyncIterator[str]]:
    """An open answer stream, as text chunks; closing the block is the client going away."""
    async with client.stream("POST", "/backend-api/f/conversation", json=body) as response:
        assert response.status_code == 200
        yield response.aiter_text()


async def read_until(chunks: AsyncIterator[str], *needles: str, count: int = 1) -> str:
    """Raw stream text up to the point where every needle occurred `count` times."""
    seen = ""
    while any(seen.count(needle) < count for needle in needles):
        seen += await anext(chunks)
    return seen


def conversation_id_in(raw: str) -> str:
    return raw.split('"conversation_id": "', 1)[1].split('"', 1)[0]


# ---------------------------------------------------------------- the stream


async def test_delta_v1_stream_uses_every_frame_shape(client, replica):
    found = await converse(client, request_body("shapes words:60"))
    assert found[0] == ("delta_encoding", "v1")
    assert found[-1] == (None, "[DONE]")
    deltas = [data for name, data in found if name == "delta"]
    assert any(set(d) == {"v"} and isinstance(d["v"], str) for d in deltas), "bare text"
    assert any(set(d) == {"v"} and isinstance(d["v"], list) for d in deltas), "v-list batch"
    assert any(d.get("o") == "patch" and "c" not in d for d in deltas), "patch batch"
    roots = [d for d in deltas if d.get("p") == "" and d.get("o") == "add"]
    assert [r["v"]["message"]["author"]["role"] for r in roots] == ["user", "assistant"]
    assert roots[0]["v"]["message"]["status"] == "finished_successfully"  # the echo trap
    assert roots[1]["v"]["message"]["status"] == "in_progress"

    final = deltas[-1]
    ops = {op["p"]: op["v"] for op in final["v"]}
    assert final["o"] == "patch"
    assert ops["/message/status"] == "finished_successfully"
    assert ops["/message/end_turn"] is True
    assert ops["/message/metadata"]["finish_details"] == {"type": "stop"}
    types = [d.get("type") for name, d in found if name is None and isinstance(d, dict)]
    assert types[:2] == ["resume_conversation_token", "input_message"]
    assert types[-2:] == ["message_stream_complete", "conversation_detail_metadata"]
    assert "title_generation" in types

    stored = await replica.conversation(conversation_id_of(found))
    assert stored["messages"][1]["text"] == model.answer("shapes words:60", "gpt-5", 1)
    assert answer_text(deltas) == stored["messages"][1]["text"]


def test_v1_frames_decode_to_the_answer_with_carry_over():
    """A reference decode of carried-over p/o/c proves the encoder's shapes add up."""
    conversation = Conversation(id="c1", model="auto", temporary=False)
    answer = Message(id="a1", role="assistant", text="", parent="u1", model="auto")
    encoder = V1Encoder()
    encoder.opening(conversation, Message(id="u1", role="user", text="q", parent="root"))
    frames = encoder.begin(conversation, answer)
    chunks = [f"chunk{i} " for i in range(20)]
    for chunk in chunks:
        answer.text += chunk
        frames += encoder.append(conversation, answer, chunk)
    decoded = [json.loads(frame.split("data: ", 1)[1]) for frame in frames]
    assert answer_text([data for data in decoded if "type" not in data]) == "".join(chunks)


async def test_follow_up_counts_messages_and_conversation_endpoint(client, replica):
    first = await converse(client, request_body("one"))
    conversation_id = conversation_id_of(first)
    await converse(client, request_body("two", conversation_id))
    response = await client.get(f"/backend-api/conversation/{conversation_id}")
    data = response.json()
    assert data["title"] == "One"
    node = data["current_node"]
    chain = []
    while node:
        entry = data["mapping"][node]
        if entry["message"]:
            chain.append(entry["message"])
        node = entry["parent"]
    texts = [m["content"]["parts"][0] for m in reversed(chain)]
    assert texts == ["one", model.answer("one", "gpt-5", 1), "two", model.answer("two", "gpt-5", 2)]
    assert chain[0]["end_turn"] is True
    listed = (await client.get("/backend-api/conversations")).json()["items"]
    assert conversation_id in [item["id"] for item in listed]


async def test_legacy_encoding_sends_cumulative_messages(client, replica):
    await replica.configure(legacy_encoding=True)
    found = await converse(client, request_body("old style"))
    assert all(name is None for name, _ in found)
    messages = [d["message"] for _, d in found if isinstance(d, dict) and d.get("message")]
    answers = [m for m in messages if m["author"]["role"] == "assistant"]
    texts = [m["content"]["parts"][0] for m in answers]
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))
    assert texts[-1] == model.answer("old style", "gpt-5", 1)
    assert answers[-1]["status"] == "finished_successfully" and answers[-1]["end_turn"]


async def test_thinking_streams_thoughts_before_the_answer(client):
    found = await converse(client, request_body("think", model="gpt-5-thinking"))
    roots = [d["v"]["message"] for n, d in found if n == "delta" and d.get("o") == "add"]
    kinds = [m["content"]["content_type"] for m in roots if m and m["author"]["role"] != "user"]
    assert kinds == ["thoughts", "reasoning_recap", "text"]
    assert roots[-1]["channel"] == "final" and roots[-1]["recipient"] == "all"


# ---------------------------------------------------------------- endpoints and knobs


async def test_conversation_needs_the_bearer_token(replica):
    async with httpx.AsyncClient(base_url=replica.url) as http:
        response = await http.post("/backend-api/f/conversation", json=request_body("x"))
        assert response.status_code == 401
        assert response.json()["detail"]["code"] == "token_expired"
        assert (await http.get("/backend-api/conversation/nope")).status_code == 401


async def test_models_are_listed(client):
    models = (await client.get("/backend-api/models")).json()["models"]
    slugs = [m["slug"] for m in models]
    assert {"auto", "gpt-5", "gpt-5-thinking", "gpt-4o"} <= set(slugs)
    assert all(m["title"] for m in models)


async def test_rate_limit_and_failures_count_down_per_send(client, replica):
    await replica.configure(rate_limit_next=2, fail_next_status=403, fail_next_count=1)
    statuses = []
    for _ in range(4):
        response = await client.post("/backend-api/f/conversation", json=request_body("hi"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json() == {
                "detail": {
                    "message": "You've reached our limit of messages per hour. "
                    "Please try again later.",
                    "clears_in": 3600,
                }
            }
        if response.status_code == 403:
            assert "Unusual activity" in response.json()["detail"]["message"]
    assert statuses == [429, 429, 403, 200]
    assert [s["status"] for s in (await replica.sends())[-4:]] == statuses


async def test_stop_conversation_ends_with_a_partial_completion(client, replica):
    await replica.configure(chunk_delay_ms=50)
    async with streaming(client, request_body("long words:400")) as chunks:
        seen = await read_until(chunks, "event: delta", count=6)
        conversation_id = conversation_id_in(seen)
        stopped = await client.post(
            "/backend-api/stop_conversation", json={"conversation_id": conversation_id}
        )
        assert stopped.json() == {"success": True}
        rest = seen + "".join([text async for text in chunks])
    assert '"finished_partial_completion"' in rest
    assert '"interrupted"' in rest and rest.endswith("data: [DONE]\n\n")
    stored = await replica.conversation(conversation_id)
    assert stored["messages"][-1]["status"] == "finished_partial_completion"
    assert model.answer("long words:400", "gpt-5", 1).startswith(stored["messages"][-1]["text"])


async def test_one_message_at_a_time_per_conversation(client, replica):
    first = await converse(client, request_body("a"))
    conversation_id = conversation_id_of(first)
    await replica.configure(chunk_delay_ms=200)
    async with streaming(client, request_body("b", conversation_id)):
        busy = await client.post(
            "/backend-api/f/conversation", json=request_body("c", conversation_id)
        )
        assert busy.status_code == 409
        assert "Only one message at a time" in busy.json()["detail"]
        await client.post(
            "/backend-api/stop_conversation", json={"conversation_id": conversation_id}
        )


async def test_cut_stream_has_no_terminal_events(client, replica):
    await replica.configure(cut_stream_next=1)
    found = await converse(client, request_body("cut"))
    types = [d.get("type") for _, d in found if isinstance(d, dict)]
    assert "message_stream_complete" not in types
    assert (None, "[DONE]") not in found
    assert any(n == "delta" and set(d) == {"v"} for n, d in found)


async def test_sse_error_event_carries_the_error(client, replica):
    await replica.configure(sse_error_next=1)
    found = await converse(client, request_body("err"))
    errors = [d["v"]["error"] for n, d in found if n == "delta" and d.get("o") == "add"]
    assert errors[-1].startswith("Something went wrong")
    assert found[-1] == (None, "[DONE]")


async def test_stall_sends_one_chunk_then_waits_for_the_client(client, replica):
    await replica.configure(stall_next=1)
    async with streaming(client, request_body("stall")) as chunks:
        seen = await read_until(chunks, '"o": "append"', "title_generation")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(anext(chunks), 0.5)
    conversation_id = conversation_id_in(seen)
    for _ in range(100):
        stored = await replica.conversation(conversation_id)
        if stored["messages"][-1]["text"]:
            break
        await asyncio.sleep(0.05)
    assert stored["messages"][-1]["status"] == "in_progress"
    assert len(stored["messages"][-1]["text"]) == 12


async def test_temporary_chats_are_not_listed(client, replica):
    found = await converse(client, request_body("secret", history_and_training_disabled=True))
    conversation_id = conversation_id_of(found)
    listed = (await client.get("/backend-api/conversations")).json()["items"]
    assert conversation_id not in [item["id"] for item in listed]
    assert (await replica.sends())[-1]["temporary"] is True


async def test_login_sets_a_persistent_http_only_cookie(make_replica):
    replica = make_replica()
    async with httpx.AsyncClient(base_url=replica.url) as http:
        assert (await http.get("/api/auth/session")).json() == {}
        response = await http.post(
            "/log-in",
            content="name=grace%40example.com&password=x",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "max-age=2592000" in cookie
        session = (await http.get("/api/auth/session")).json()
        assert session["user"]["email"] == "grace@example.com"
        assert session["accessToken"] and session["expires"]


async def test_challenge_knob_and_the_challenge_platform_script(replica):
    async with httpx.AsyncClient(base_url=replica.url) as http:
        normal = await http.get("/")
        assert "/cdn-cgi/challenge-platform/scripts/jsd/main.js" in normal.text
        script = await http.get("/cdn-cgi/challenge-platform/scripts/jsd/main.js")
        assert script.status_code == 200 and script.text == ""
        await replica.configure(challenge=True)
        page = await http.get("/?model=gpt-5")
        assert page.status_code == 403
        assert "<title>Just a moment...</title>" in page.text
        assert 'id="challenge-form"' in page.text and "Verify you are human" in page.text


async def test_reset_restores_knobs_and_forgets_conversations(make_replica):
    replica = make_replica(auto_login=True, ttft_ms=0, chunk_delay_ms=0)
    assert (await replica.configure(rate_limit_next=3))["rate_limit_next"] == 3
    async with httpx.AsyncClient(base_url=replica.url) as http:
        token = (await http.get("/api/auth/session")).json()["accessToken"]
        http.headers["Authorization"] = f"Bearer {token}"
        await http.post("/backend-api/f/conversation", json=request_body("x"))
    assert len(await replica.sends()) == 1
    options = await replica.reset(conversations=False)
    assert options["rate_limit_next"] == 0 and options["auto_login"] is True
    assert len(await replica.sends()) == 1
    await replica.reset()
    assert await replica.sends() == []


async def test_replica_command_serves_until_ctrl_c():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "replica",
        "--auto-login",
        "--ttft-ms",
        "7",
        "--flicker-stop",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        url = line.split("serving at ", 1)[1].split()[0]
        async with httpx.AsyncClient(base_url=url) as http:
            options = (await http.get("/_replica/options")).json()
            assert options["ttft_ms"] == 7 and options["flicker_stop"] is True
            assert (await http.get("/api/auth/session")).json()["accessToken"]
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == 130
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_dropped_stream_still_finishes_the_answer_in_the_store(client, replica):
    await replica.configure(drop_stream_next=1)
    found = await converse(client, request_body("dropped words:20"))
    types = [d.get("type") for _, d in found if isinstance(d, dict)]
    assert "message_stream_complete" not in types and (None, "[DONE]") not in found
    stored = await replica.settled(conversation_id_of(found))
    assert stored["messages"][-1]["status"] == "finished_successfully"
    assert stored["messages"][-1]["text"] == model.answer("dropped words:20", "gpt-5", 1)


async def test_handoff_moves_the_rest_to_the_resume_endpoint(client, replica):
    await replica.configure(handoff_next=1)
    first = await converse(client, request_body("handed off words:20"))
    assert first[-1][1]["type"] == "stream_handoff"
    conversation_id = conversation_id_of(first)
    resume = {"conversation_id": conversation_id, "offset": len(first)}
    async with client.stream("POST", "/backend-api/f/conversation/resume", json=resume) as r:
        assert r.status_code == 200
        rest = await events(r)
    assert rest[0] == ("delta_encoding", "v1")
    assert "c" in rest[1][1] and "p" in rest[1][1], "a resumed stream restates p/o/c"
    assert rest[-1] == (None, "[DONE]")
    again = await client.post("/backend-api/f/conversation/resume", json=resume)
    assert again.status_code == 404
    stored = await replica.conversation(conversation_id)
    assert stored["messages"][-1]["text"] == model.answer("handed off words:20", "gpt-5", 1)
    assert answer_text(deltas_of(first) + deltas_of(rest)) == stored["messages"][-1]["text"]
