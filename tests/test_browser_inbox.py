"""The turn's tap inbox and stream reader without a browser: which tapped messages are ours,
in what order, and the answer they carry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from browser.errors import BrowserDownError
from browser.events import Handoff
from browser.pool import TAB_CRASHED, Tab
from browser.turn.inbox import TapInbox
from browser.turn.record import TurnRecord
from browser.turn.stream_reading import StreamReader

PROMPT = "Hello there"


def post(tap_id: str, message_id: str, text: str = PROMPT, **body: Any) -> dict[str, Any]:
    payload = {
        "messages": [{"id": message_id, "content": {"parts": [text]}}],
        "model": "gpt-5",
        **body,
    }
    return {
        "kind": "request",
        "id": tap_id,
        "seq": 0,
        "t": 5.0,
        "endpoint": "conversation",
        "url": "https://chatgpt.com/backend-api/f/conversation",
        "body": json.dumps(payload),
    }


def chunk(tap_id: str, seq: int, text: str) -> dict[str, Any]:
    return {"kind": "chunk", "id": tap_id, "seq": seq, "text": text}


def make() -> tuple[TapInbox, TurnRecord, asyncio.Queue[dict[str, Any]]]:
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    record = TurnRecord(PROMPT, None, None, temporary=False)
    return TapInbox(events, record, PROMPT), record, events


def test_the_first_request_after_send_is_adopted() -> None:
    inbox, record, events = make()
    events.put_nowait(post("a", "U1", conversation_id="C1"))
    inbox.collect()
    assert inbox.adopted and inbox.attempts == ["a"] and inbox.attempt == "a"
    assert (record.user_message_id, record.conversation_id, record.model) == ("U1", "C1", "gpt-5")
    assert record.page_timings["request"] == 5.0


def test_messages_come_out_in_their_attempts_order() -> None:
    inbox, _, events = make()
    for message in (post("a", "U1"), chunk("a", 3, "c"), chunk("a", 2, "b"), chunk("a", 1, "a")):
        events.put_nowait(message)
    assert [m.get("text") for m in inbox.ordered() if m["kind"] == "chunk"] == ["a", "b", "c"]


def test_a_retry_is_ours_only_with_our_message_id() -> None:
    inbox, _, events = make()
    events.put_nowait(post("a", "U1"))
    events.put_nowait(post("b", "OTHER"))
    events.put_nowait(post("c", "U1"))
    list(inbox.ordered())
    assert inbox.attempts == ["a", "c"]
    assert not inbox.superseded("c") and inbox.attempt == "c" and inbox.replaying
    assert inbox.superseded("a")  # the attempt the page gave up on


def test_socket_messages_about_our_turn_only() -> None:
    inbox, record, events = make()
    events.put_nowait(post("a", "U1", conversation_id="C1"))
    list(inbox.ordered())
    mine = {"kind": "ws", "id": "ws-1", "seq": 0, "text": '[{"topic_id": "conversation-turn-U1"}]'}
    other = {"kind": "ws", "id": "ws-2", "seq": 0, "text": '[{"topic_id": "presence"}]'}
    for message in (
        other,
        mine,
        {"kind": "ws_close", "id": "ws-2"},
        {"kind": "ws_close", "id": "ws-1"},
    ):
        events.put_nowait(message)
    assert [(m["kind"], m["id"]) for m in inbox.ordered()] == [("ws", "ws-1"), ("ws_close", "ws-1")]
    assert record.conversation_id == "C1"


def test_a_resume_is_ours_after_a_handoff_and_progress_before() -> None:
    inbox, _, events = make()
    events.put_nowait(post("a", "U1", conversation_id="C1"))
    resume = {
        "kind": "request",
        "id": "r",
        "seq": 0,
        "endpoint": "resume",
        "url": "https://chatgpt.com/backend-api/f/conversation/resume",
        "body": json.dumps({"conversation_id": "C1"}),
    }
    events.put_nowait(dict(resume))
    assert [m["id"] for m in inbox.ordered()] == ["a", "r"]
    assert "r" not in inbox.resume_ids  # no handoff yet: the page reconnecting, progress only
    inbox.decoder.feed('data: {"type": "stream_handoff", "conversation_id": "C1"}\n\n', "a")
    events.put_nowait(dict(resume, id="r2"))
    list(inbox.ordered())
    assert inbox.resume_ids == {"r2"} and "r2" in inbox.fetch_ids


def test_a_crashed_tab_raises_with_what_is_known() -> None:
    inbox, record, events = make()
    record.delivered = True
    events.put_nowait({"kind": TAB_CRASHED})
    with pytest.raises(BrowserDownError):
        list(inbox.ordered())


async def test_wait_wakes_on_the_next_message() -> None:
    inbox, _, events = make()
    asyncio.get_running_loop().call_later(0.01, events.put_nowait, post("a", "U1"))
    await inbox.wait(5.0)
    assert inbox.adopted


class _NoReadBack:
    """A page whose read-back is refused: the reader keeps what streamed."""

    async def evaluate(self, _script: str, _argument: Any) -> dict[str, Any]:
        return {"status": 404, "body": "", "challenged": False}


class _Settings:
    idle_timeout = 5.0
    answer_timeout = 10.0


STREAMS = Path(__file__).parent / "streams"


async def test_a_handoff_streams_on_from_the_websocket() -> None:
    """The captured handoff: the POST's text, then the socket's items (replays once)."""
    inbox, record, events = make()
    conversation = "6ad0c1e2-0000-83ea-9836-d2642f97cb6d"
    body = (STREAMS / "handoff_2026.sse").read_text(encoding="utf-8")
    items = json.loads((STREAMS / "handoff_2026.ws.json").read_text(encoding="utf-8"))["items"]
    events.put_nowait(post("a", "u-ours", conversation_id=conversation))
    events.put_nowait({"kind": "response", "id": "a", "seq": 1, "status": 200})
    frames = [f + "\n\n" for f in body.split("\n\n") if f]
    for seq, frame in enumerate(frames, start=2):
        events.put_nowait(chunk("a", seq, frame))
    events.put_nowait({"kind": "end", "id": "a", "seq": len(frames) + 2})
    for seq, batch in enumerate((items[:2], items)):  # the second batch replays the first
        events.put_nowait({"kind": "ws", "id": "ws-1", "seq": seq, "text": json.dumps(batch)})
    tab = Tab(page=_NoReadBack(), events=events)  # type: ignore[arg-type]
    await StreamReader(tab, _Settings(), record, inbox).read()
    assert record.text == "Working through the proof, step by step."
    assert record.source == "websocket" and record.finish_reason == "stop"
    record.out.close()
    updates = [item async for item in record.updates()]
    deltas = [item for item in updates if isinstance(item, str)]
    assert "".join(deltas) == record.text  # replays count once
    # Each event wakes the caller in its place: the handoff before the socket's first delta.
    assert [item for item in updates if not isinstance(item, str)] == record.events
    handoff = next(i for i, item in enumerate(updates) if isinstance(item, Handoff))
    assert handoff < updates.index(deltas[-1])
