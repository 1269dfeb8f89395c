"""The replica over plain HTTP: its model, its stream's frame shapes, its endpoints, its knobs."""

from __future__ import annotations

import asyncio
import copy
import json
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from replica import model, pictures

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

Frame = tuple[str | None, Any]


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


def parse_sse(text: str) -> list[Frame]:
    """(event name, decoded data) pairs; data is the raw string for `[DONE]`."""
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


async def events(response: httpx.Response) -> list[Frame]:
    return parse_sse((await response.aread()).decode())


async def converse(client: httpx.AsyncClient, body: dict) -> list[Frame]:
    async with client.stream("POST", "/backend-api/f/conversation", json=body) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        return await events(response)


class Decoder:
    """A reference decoder of delta v1: per-frame carry-over of `p`, `o` and `c`.

    It rebuilds every message of the turn by channel, so a test can compare what the frames
    add up to with what the store holds."""

    def __init__(self) -> None:
        self.p: str | None = None
        self.o: str | None = None
        self.c: int | None = None
        self.roots: dict[int, dict[str, Any]] = {}
        self.shapes: set[str] = set()
        self.types: list[str] = []

    def feed(self, frames: list[Frame]) -> Decoder:
        for name, data in frames:
            if name == "delta_encoding":
                self.p = self.o = self.c = None
            elif name == "delta":
                self._delta(data)
            elif isinstance(data, dict):
                self.types.append(data["type"])
            else:
                self.types.append(data)
        return self

    def _delta(self, frame: dict[str, Any]) -> None:
        self.shapes.add(shape_of(frame, self.o))
        self.p, self.o, self.c = (
            frame.get("p", self.p),
            frame.get("o", self.o),
            frame.get("c", self.c),
        )
        if self.o == "add":
            assert self.p == ""
            self.roots[self.c] = copy.deepcopy(frame["v"])  # frames stay as they came
        elif self.o == "patch":
            for op in frame["v"]:
                self._apply(op["p"], op["o"], op["v"])
        else:
            self._apply(self.p, self.o, frame["v"])

    def _apply(self, path: str, op: str, value: Any) -> None:
        *keys, last = [int(k) if k.isdigit() else k for k in path.strip("/").split("/")]
        target: Any = self.roots[self.c]
        for key in keys:
            target = target[key]
        if op == "replace":
            target[last] = value
        elif isinstance(value, dict):
            target[last] = {**(target.get(last) or {}), **value}
        else:
            target[last] += value

    def messages(self) -> list[dict[str, Any]]:
        return [root["message"] for _, root in sorted(self.roots.items()) if root["message"]]

    def answer(self) -> dict[str, Any]:
        [answer] = [m for m in self.messages() if m["channel"] == "final"]
        return answer


def shape_of(frame: dict[str, Any], carried_o: str | None) -> str:
    """A name for a delta frame's shape, e.g. `p,o,v,c:add` or `v:list-continuing-patch`."""
    keys = ",".join(k for k in ("p", "o", "v", "c") if k in frame)
    value = frame["v"]
    if set(frame) == {"v"}:
        if isinstance(value, list):
            return f"v:list-continuing-{carried_o}"
        return "v:text" if isinstance(value, str) else "v:message"
    return f"{keys}:{frame.get('o', carried_o)}" + (":root" if frame.get("p") == "" else "")


def conversation_id_of(found: list[Frame]) -> str:
    return next(d["conversation_id"] for _, d in found if isinstance(d, dict) and "type" in d)


def typed_events(found: list[Frame], kind: str) -> list[dict[str, Any]]:
    return [d for n, d in found if n is None and isinstance(d, dict) and d["type"] == kind]


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
    return raw.split('"conversation_id":"', 1)[1].split('"', 1)[0]


async def topic_items(client: httpx.AsyncClient, topic_id: str) -> list[dict[str, Any]]:
    """Every stream item of a topic read over the replica's WebSocket, replays included."""
    address = (await client.get("/backend-api/celsius/ws/user")).json()["websocket_url"]
    items: list[dict[str, Any]] = []
    async with connect(address) as socket:
        await socket.send(
            json.dumps({"type": "subscribe", "topic_id": topic_id, "offset": "0", "id": 1})
        )
        [reply] = json.loads(await socket.recv())
        assert reply == {
            "type": "reply",
            "id": 1,
            "payload": {"status": "ok", "topic_id": topic_id},
        }
        while not items or items[-1]["encoded_item"] != "data: [DONE]\n\n" or not replayed(items):
            for message in json.loads(await socket.recv()):
                assert message["type"] == "message" and message["topic_id"] == topic_id
                assert message["payload"]["type"] == "conversation-turn-stream"
                items.append(message["payload"]["payload"])
    return items


def replayed(items: list[dict[str, Any]]) -> bool:
    ids = [item["stream_item_id"] for item in items]
    return len(set(ids)) < len(ids)


def unique_frames(items: list[dict[str, Any]]) -> list[Frame]:
    """The topic's SSE frames, de-duplicated by `stream_item_id` as a reader must."""
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item["stream_item_id"], item["encoded_item"])
    return parse_sse("".join(seen.values()))


# ---------------------------------------------------------------- the stream

EVERY_SHAPE = {
    "p,o,v,c:add:root",  # {"p":"","o":"add","v":{message},"c":N}
    "o,v,c:add",  # {"o":"add","v":{message},"c":N}
    "v,c:add",  # {"v":{message},"c":N}
    "p,o,v:append",  # an explicit append without c
    "v:text",  # a bare continuation
    "p,o,v:patch:root",  # a patch with "p":""
    "o,v:patch",  # a patch without p
    "v:list-continuing-patch",  # a bare list continuing a patch
    "p,o,v:replace",  # top-level replaces
}


async def test_a_stream_uses_every_frame_shape_and_decodes_to_the_answer(client, replica):
    found = await converse(client, request_body("shapes words:60"))
    assert found[0] == ("delta_encoding", "v1") and found[-1] == (None, "[DONE]")
    decoder = Decoder().feed(found)
    assert decoder.shapes >= EVERY_SHAPE
    stored = await replica.conversation(conversation_id_of(found))
    answer = decoder.answer()
    assert answer["content"]["parts"][0] == stored["messages"][1]["text"]
    assert stored["messages"][1]["text"] == model.answer("shapes words:60", "gpt-5", 1)
    assert answer["status"] == "finished_successfully" and answer["end_turn"] is True
    assert answer["metadata"]["token_count"] > 0
    assert answer["metadata"]["finish_details"] == {"type": "stop"}
    assert answer["metadata"]["conversation_followup_suggestions_eligible"] is True
    assert decoder.types[:2] == ["resume_conversation_token", "input_message"]
    assert decoder.types[-4:] == [
        "server_ste_metadata",
        "message_stream_complete",
        "conversation_detail_metadata",
        "[DONE]",
    ]
    markers = [(d["marker"], d["event"]) for d in typed_events(found, "message_marker")]
    assert markers == [
        ("user_visible_token", "first"),
        ("final_channel_token", "first"),
        ("last_token", "last"),
    ]
    assert typed_events(found, "title_generation")[0]["title"] == "Shapes words:60"


async def test_a_turn_is_hidden_context_then_the_final_answer(client, replica):
    found = await converse(client, request_body("context"))
    messages = Decoder().feed(found).messages()
    kinds = [(m["author"]["role"], m["content"]["content_type"]) for m in messages]
    assert kinds == [
        ("system", "text"),
        ("user", "text"),
        ("assistant", "model_editable_context"),
        ("assistant", "text"),
    ]
    hidden = [m["metadata"].get("is_visually_hidden_from_conversation") for m in messages]
    assert hidden == [True, None, True, None]
    assert messages[2]["status"] == "finished_successfully"
    assert [m["channel"] for m in messages] == [None, None, None, "final"]
    assert messages[3]["recipient"] == "all" and messages[3]["metadata"]["model_slug"] == "gpt-5"
    [echo] = typed_events(found, "input_message")
    assert echo["input_message"]["content"]["parts"] == ["context"]
    follow_up = await converse(client, request_body("again", conversation_id_of(found)))
    roles = [m["author"]["role"] for m in Decoder().feed(follow_up).messages()]
    assert roles == ["user", "assistant", "assistant"], "a follow-up has no system message"
    assert "title_generation" not in Decoder().feed(follow_up).types


async def test_a_tool_call_turn_has_the_call_and_the_result_before_the_answer(client, replica):
    await replica.configure(tool_call_next=1)
    found = await converse(client, request_body("look it up"))
    messages = Decoder().feed(found).messages()
    steps = [(m["author"]["role"], m["content"]["content_type"], m["recipient"]) for m in messages]
    assert steps[-3:] == [
        ("assistant", "code", "web.run"),
        ("tool", "text", "all"),
        ("assistant", "text", "all"),
    ]
    assert messages[-1]["channel"] == "final"
    stored = await replica.conversation(conversation_id_of(found))
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
    assert stored["messages"][1]["text"] == model.answer("look it up", "gpt-5", 1)


async def test_thinking_hands_off_to_the_websocket_topic_with_replays(client, replica):
    await replica.configure(thinking=True, think_silence_ms=200, handoff_silence_ms=20)
    found = await converse(client, request_body("deep thought words:30"))
    [handoff] = typed_events(found, "stream_handoff")
    topic_id = handoff["topic_id"]
    assert handoff["options"][0] == {"type": "subscribe_ws_topic", "topic_id": topic_id}
    assert found[-1] == (None, "[DONE]")
    decoder = Decoder().feed(found)
    assert not [m for m in decoder.messages() if m["channel"] == "final"], "no answer over HTTP"
    items = await topic_items(client, topic_id)
    assert replayed(items), "catch-up replays repeat items"
    assert all(item["type"] == "stream-item" for item in items)
    rest = unique_frames(items)
    assert rest[0] == ("delta_encoding", "v1") and rest[-1] == (None, "[DONE]")
    decoder.feed(rest)
    kinds = [m["content"]["content_type"] for m in decoder.messages()]
    assert kinds[-3:] == ["thoughts", "reasoning_recap", "text"]
    assert "cot_token" in [d["marker"] for d in typed_events(rest, "message_marker")]
    stored = await replica.settled(conversation_id_of(found))
    text = model.answer("deep thought words:30", "gpt-5", 1)
    assert decoder.answer()["content"]["parts"][0] == stored["messages"][-1]["text"] == text
    late = await topic_items(client, topic_id)  # a late subscriber catches up on everything
    assert unique_frames(late) == rest


async def test_stop_cuts_a_long_thinking_silence_short(client, replica):
    await replica.configure(thinking=True, think_silence_ms=600_000, handoff_silence_ms=0)
    found = await converse(client, request_body("think forever"))
    conversation_id = conversation_id_of(found)
    [handoff] = typed_events(found, "stream_handoff")
    stop = {"conversation_id": conversation_id, "exclude_async_types": []}
    stopped = (await client.post("/backend-api/stop_conversation", json=stop)).json()
    assert stopped["status"] == "ok" and stopped["last_message_id"]
    rest = unique_frames(await topic_items(client, handoff["topic_id"]))
    decoder = Decoder().feed(found).feed(rest)
    assert not [m for m in decoder.messages() if m["channel"] == "final"]
    assert rest[-1] == (None, "[DONE]") and "message_stream_complete" in decoder.types
    status = f"/backend-api/conversation/{conversation_id}/stream_status"
    assert (await client.get(status)).json() == {"status": "COMPLETE"}


async def test_the_websocket_refuses_unknown_topics(client):
    address = (await client.get("/backend-api/celsius/ws/user")).json()["websocket_url"]
    async with connect(address) as socket:
        for command in ("not json", json.dumps({"type": "subscribe", "topic_id": "nope", "id": 7})):
            await socket.send(command)
            [reply] = json.loads(await socket.recv())
            assert reply["type"] == "reply" and reply["payload"]["status"] == "error"
        assert reply["id"] == 7


async def test_thinking_slug_with_resume_handoff(client, replica):
    await replica.configure(handoff="resume", think_silence_ms=10, handoff_silence_ms=10)
    body = request_body("resumed", model="gpt-5-6-thinking", thinking_effort="extended")
    found = await converse(client, body)
    [handoff] = typed_events(found, "stream_handoff")
    assert [option["type"] for option in handoff["options"]] == ["resume_sse_endpoint"]
    conversation_id = conversation_id_of(found)
    resume = {"conversation_id": conversation_id, "offset": 0}
    async with client.stream("POST", "/backend-api/f/conversation/resume", json=resume) as r:
        assert r.status_code == 200
        rest = await events(r)
    decoder = Decoder().feed(found).feed(rest)
    assert decoder.answer()["content"]["parts"][0] == model.answer("resumed", "gpt-5-6-thinking", 1)
    assert decoder.answer()["metadata"]["resolved_model_slug"] == "gpt-5-6-thinking"
    assert (await replica.sends())[-1]["thinking_effort"] == "extended"


@pytest.mark.parametrize(
    ("status", "code"), [(404, "tokenless_resume_unavailable"), (410, "persisted_final_available")]
)
async def test_resume_can_refuse(client, replica, status, code):
    nothing = await client.post("/backend-api/f/conversation/resume", json={"conversation_id": "x"})
    assert nothing.status_code == 404
    await replica.configure(resume_failure=status)
    refused = await client.post("/backend-api/f/conversation/resume", json={"conversation_id": "x"})
    assert refused.status_code == status and refused.json()["detail"]["code"] == code


async def test_handoff_next_moves_a_plain_answer_mid_stream(client, replica):
    await replica.configure(handoff_next=1, handoff="resume", handoff_silence_ms=0)
    first = await converse(client, request_body("handed off words:20"))
    assert first[-2][1]["type"] == "stream_handoff" and first[-1] == (None, "[DONE]")
    conversation_id = conversation_id_of(first)
    resume = {"conversation_id": conversation_id}
    async with client.stream("POST", "/backend-api/f/conversation/resume", json=resume) as r:
        rest = await events(r)
    assert rest[0] == ("delta_encoding", "v1")
    assert "p" in rest[1][1] and "o" in rest[1][1], "a continued stream restates p/o"
    stored = await replica.settled(conversation_id)
    decoded = Decoder().feed(first).feed(rest).answer()["content"]["parts"][0]
    assert (
        decoded == stored["messages"][-1]["text"] == model.answer("handed off words:20", "gpt-5", 1)
    )


# ---------------------------------------------------------------- endpoints and knobs


async def test_conversation_needs_the_bearer_token(replica):
    async with httpx.AsyncClient(base_url=replica.url) as http:
        response = await http.post("/backend-api/f/conversation", json=request_body("x"))
        assert response.status_code == 401
        assert response.json()["detail"]["code"] == "token_expired"
        assert (await http.get("/backend-api/conversation/nope")).status_code == 401


async def test_models_list_the_slider_slugs_with_their_efforts(client):
    listed = (await client.get("/backend-api/models")).json()
    efforts = {m["slug"]: m["thinking_efforts"] for m in listed["models"]}
    assert efforts["gpt-5-6"] == []
    assert efforts["gpt-5-6-thinking"] == ["standard", "extended", "max"]
    assert "gpt-6-pro" in efforts and {"auto", "gpt-5", "gpt-4o"} <= set(efforts)
    assert listed["default_model_slug"] == "auto"
    assert all(m["title"] for m in listed["models"])


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
        stop = {"conversation_id": conversation_id, "exclude_async_types": []}
        stopped = (await client.post("/backend-api/stop_conversation", json=stop)).json()
        assert stopped["status"] == "ok" and stopped["last_message_id"]
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
        seen = await read_until(chunks, '"o":"append"', "title_generation")
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


WITH_CTRL_C = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('app.cli', run_name='__main__', alter_sys=True)"
)
"""`python -m app.cli` with Ctrl-C's default handler: a shell that starts the suite in the
background hands it SIGINT ignored, and every child inherits that (Python keeps a SIGINT
ignored at its start), so Ctrl-C is given back as a terminal would give it."""


async def test_replica_command_serves_until_ctrl_c():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WITH_CTRL_C,
        "replica",
        "--auto-login",
        "--ttft-ms",
        "7",
        "--flicker-stop",
        "--thinking",
        "--handoff",
        "resume",
        "--resume-failure",
        "410",
        "--downgrade-to",
        "gpt-5-6",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        url = line.split("serving at ", 1)[1].split()[0]
        async with httpx.AsyncClient(base_url=url) as http:
            options = (await http.get("/_replica/options")).json()
            assert options["ttft_ms"] == 7 and options["flicker_stop"] is True
            assert options["thinking"] is True and options["handoff"] == "resume"
            assert options["resume_failure"] == 410 and options["downgrade_to"] == "gpt-5-6"
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


async def test_try_again_answers_the_same_user_message_anew(client, replica):
    first = await converse(client, request_body("again please"))
    conversation_id = conversation_id_of(first)
    stored = await replica.conversation(conversation_id)
    user_id = stored["messages"][0]["id"]
    body = request_body("again please", conversation_id, action="variant", model="gpt-4o")
    body["messages"][0]["id"] = user_id
    found = await converse(client, body)
    assert Decoder().feed(found).answer()["content"]["parts"][0] == model.answer(
        "again please", "gpt-4o", 1
    )
    stored = await replica.conversation(conversation_id)
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "assistant"]


async def test_prepare_gives_a_conduit_token_the_stream_echoes(client, replica):
    prepared = (await client.post("/backend-api/f/conversation/prepare", json={})).json()
    assert prepared["status"] == "ok" and prepared["conduit_token"]
    headers = {"X-Conduit-Token": prepared["conduit_token"]}
    async with client.stream(
        "POST", "/backend-api/f/conversation", json=request_body("conduit"), headers=headers
    ) as response:
        assert response.headers["x-conduit-token"] == prepared["conduit_token"]
        assert response.headers["cache-control"] == "no-store"
        await response.aread()
    assert (await replica.sends())[-1]["conduit_token"] == prepared["conduit_token"]


async def test_an_aborted_post_is_retried_as_the_same_turn(client, replica):
    await replica.configure(abort_post_next=1)
    body = request_body("retried")
    aborted = await converse(client, body)
    assert [n or d["type"] for n, d in aborted] == ["delta_encoding", "resume_conversation_token"]
    again = await converse(client, body)
    stored = await replica.conversation(conversation_id_of(again))
    assert stored["messages"][-1]["text"] == model.answer("retried", "gpt-5", 1)
    assert [s["status"] for s in (await replica.sends())[-2:]] == ["aborted", 200]


async def test_stream_status_follows_the_turn(client, replica):
    assert (await client.get("/backend-api/conversation/nope/stream_status")).status_code == 404
    await replica.configure(chunk_delay_ms=50)
    async with streaming(client, request_body("status words:80")) as chunks:
        conversation_id = conversation_id_in(await read_until(chunks, "resume_conversation_token"))
        path = f"/backend-api/conversation/{conversation_id}/stream_status"
        assert (await client.get(path)).json() == {"status": "IS_STREAMING"}
        async for _ in chunks:
            pass
    await replica.settled(conversation_id)
    assert (await client.get(path)).json() == {"status": "COMPLETE"}
    await replica.configure(sse_error_next=1)
    await converse(client, request_body("fails", conversation_id))
    await replica.settled(conversation_id)
    assert (await client.get(path)).json() == {"status": "FAILURE"}


async def test_read_back_pages_turns_and_the_old_tree_still_answers(client, replica):
    first = await converse(client, request_body("one"))
    conversation_id = conversation_id_of(first)
    for prompt in ("two", "three"):
        await converse(client, request_body(prompt, conversation_id))
    path = f"/backend-api/conversations/{conversation_id}"
    page = (await client.get(path, params={"include_has_versions": "true", "num_turns": 2})).json()
    users = [m for m in page["messages"] if m["author"]["role"] == "user"]
    assert [m["content"]["parts"][0] for m in users] == ["two", "three"]
    assert page["messages"][-1]["content"]["parts"][0] == model.answer("three", "gpt-5", 3)
    assert page["page_info"] == {"has_previous_page": True, "before": users[0]["id"]}
    older = await client.get(f"{path}/messages", params={"before": users[0]["id"], "num_turns": 2})
    older_page = older.json()
    assert older_page["messages"][0]["author"]["role"] == "system"
    assert [
        m["content"]["parts"][0] for m in older_page["messages"] if m["author"]["role"] == "user"
    ] == ["one"]
    assert older_page["page_info"] == {"has_previous_page": False, "before": None}
    tree = (await client.get(f"/backend-api/conversation/{conversation_id}")).json()
    chain, node = [], tree["current_node"]
    while node:
        entry = tree["mapping"][node]
        if entry["message"] and entry["message"]["channel"] == "final":
            chain.append(entry["message"]["content"]["parts"][0])
        node = entry["parent"]
    assert chain[::-1] == [
        model.answer(p, "gpt-5", n) for n, p in enumerate(["one", "two", "three"], 1)
    ]
    listed = (await client.get("/backend-api/conversations")).json()["items"]
    assert conversation_id in [item["id"] for item in listed]


async def test_backend_fetches_can_meet_a_cloudflare_challenge(client, replica):
    await replica.configure(cf_challenge_next=2)
    for path in ("/backend-api/models", "/backend-api/conversations"):
        challenged = await client.get(path)
        assert challenged.status_code == 403
        assert challenged.headers["cf-mitigated"] == "challenge"
        assert "Just a moment..." in challenged.text
    assert (await client.get("/backend-api/models")).status_code == 200


async def test_the_composer_ceiling_refuses_over_long_messages(client, replica):
    await replica.configure(composer_limit_tokens=10)
    refused = await client.post("/backend-api/f/conversation", json=request_body("x" * 41))
    assert refused.status_code == 400
    assert refused.json()["detail"]["code"] == "conversation_too_large"
    await converse(client, request_body("x" * 40))
    assert [s["status"] for s in (await replica.sends())[-2:]] == [400, 200]


async def test_an_image_turn_has_a_tool_card_and_the_picture_in_the_read_back(client, replica):
    await replica.configure(image_turn_next=1, image_delay_ms=300)
    found = await converse(client, request_body("draw a cat"))
    decoder = Decoder().feed(found)
    tool = decoder.messages()[-1]
    assert tool["author"]["role"] == "tool" and tool["content"]["content_type"] == "multimodal_text"
    assert not [m for m in decoder.messages() if m["channel"] == "final"], "no answer text"
    assert typed_events(found, "conversation_async_status")[0]["async_status"] == 3
    conversation_id = conversation_id_of(found)
    status_path = f"/backend-api/conversation/{conversation_id}/stream_status"
    assert (await client.get(status_path)).json() == {"status": "IS_STREAMING"}
    for _ in range(400):
        if (await client.get(status_path)).json()["status"] != "IS_STREAMING":
            break
        await asyncio.sleep(0.05)
    page = (await client.get(f"/backend-api/conversations/{conversation_id}")).json()
    [picture] = page["messages"][-1]["content"]["parts"]
    assert picture["content_type"] == "image_asset_pointer" and page["async_status"] is None
    file_id = picture["asset_pointer"].removeprefix("sediment://")
    download = (await client.get(f"/backend-api/files/download/{file_id}")).json()
    async with httpx.AsyncClient(base_url=replica.url) as anonymous:
        image = await anonymous.get(download["download_url"])
        forged = await anonymous.get(download["download_url"].replace("sig=", "sig=0"))
    assert image.headers["content-type"] == "image/png"
    assert image.content == pictures.picture("draw a cat")
    assert forged.status_code == 403


async def test_a_prompt_that_asks_for_a_picture_draws_it_and_its_link_expires(client, replica):
    await replica.configure(image_delay_ms=0, image_link_ttl_ms=0)
    found = await converse(client, request_body("Generate an image of a fox"))
    assert typed_events(found, "conversation_async_status")
    conversation_id = conversation_id_of(found)
    for _ in range(100):
        page = (await client.get(f"/backend-api/conversations/{conversation_id}")).json()
        if page["messages"][-1]["content"]["parts"]:
            break
        await asyncio.sleep(0.02)
    [part] = page["messages"][-1]["content"]["parts"]
    file_id = part["asset_pointer"].removeprefix("sediment://")
    path = f"/backend-api/conversation/{conversation_id}/attachment/{file_id}/download"
    link = (await client.get(path)).json()["download_url"]
    assert (await client.get(link)).status_code == 403, "a link past its expiry is refused"


async def test_a_downgrade_names_the_model_that_answered(client, replica):
    await replica.configure(downgrade_to="gpt-5-6")
    found = await converse(client, request_body("which model", model="gpt-5"))
    answer = Decoder().feed(found).answer()
    assert answer["content"]["parts"][0].startswith("Model: gpt-5-6. ")
    assert (
        answer["metadata"]["model_slug"] == answer["metadata"]["resolved_model_slug"] == "gpt-5-6"
    )
    assert answer["metadata"]["requested_model_slug"] == "gpt-5"
    [ste] = typed_events(found, "server_ste_metadata")
    assert ste["metadata"]["model_slug"] == "gpt-5-6"


async def test_limits_progress_counts_down_and_a_late_title(client, replica):
    await replica.configure(late_title=True)
    remaining = []
    for prompt in ("first", "second"):
        found = await converse(client, request_body(prompt))
        [details] = typed_events(found, "conversation_detail_metadata")
        [row] = details["limits_progress"]
        remaining.append(row["remaining"])
        assert row["model_slug"] == "gpt-5" and row["resets_after"]
        types = Decoder().feed(found).types
        assert types[-3:] == ["conversation_detail_metadata", "title_generation", "[DONE]"]
    assert remaining[1] == remaining[0] - 1


async def test_anonymous_chat_passes_the_guard_only_without_a_login(make_replica):
    replica = make_replica(anonymous_chat=True, ttft_ms=0, chunk_delay_ms=0)
    async with httpx.AsyncClient(base_url=replica.url, timeout=30) as http:
        body = request_body("hi anon")
        async with http.stream("POST", "/backend-anon/f/conversation", json=body) as response:
            assert response.status_code == 200
            found = await events(response)
        text = Decoder().feed(found).answer()["content"]["parts"][0]
        assert text == model.answer("hi anon", "gpt-5", 1)
        refused = await http.post("/backend-api/f/conversation", json=request_body("x"))
        assert refused.status_code == 401
