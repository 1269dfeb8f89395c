"""The driver's core paths on each of today's renderers (and in Korean), real Chromium.

chatgpt.com serves `search-unit` and `legacy-turn` pages side by side and in many UI
languages, so every path a turn can take (new chat, follow-up, stop, the hand-off to the
WebSocket or the resume endpoint, a retried POST, each refusal) runs on each of them. One
replica and one bridge per renderer keep the module affordable on a loaded machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from browser import BrowserBridge
from browser.errors import (
    BridgeError,
    ChallengeError,
    LoginRequiredError,
    RateLimitedError,
    WebAppError,
)
from replica import ReplicaOptions, ReplicaServer
from tests.fixtures.bridge import bridge_settings
from tests.fixtures.replica import FAST, Replica

pytestmark = pytest.mark.browser

PAGES = [("search-unit", "en"), ("legacy-turn", "en"), ("search-unit", "ko")]
"""Both live renderers, and the Korean UI once: its labels are the same on both renderers
(`replica/static/labels.js`), and the suite's time is better spent elsewhere."""


class Site:
    """One replica serving one renderer, and a bridge driving it."""

    def __init__(self, replica: Replica, bridge: BrowserBridge) -> None:
        self.replica = replica
        self.bridge = bridge

    async def ask(self, prompt: str, **options: Any) -> tuple[Any, list[str]]:
        async with self.bridge.ask(prompt, **options) as turn:
            deltas = [delta async for delta in turn]
        return turn, deltas

    async def stored(self, conversation_id: str) -> dict[str, Any]:
        return (await self.replica.settled(conversation_id))["messages"][-1]


@pytest.fixture(scope="module", params=PAGES, ids=["-".join(p) for p in PAGES])
async def site(
    request: pytest.FixtureRequest,
    browser_executable: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Site]:
    renderer, lang = request.param
    server = ReplicaServer(ReplicaOptions(**FAST, renderer=renderer, lang=lang)).start()
    data: Path = tmp_path_factory.mktemp(f"bridge-{renderer}-{lang}") / "data"
    # One tab: a turn's follow-up runs where the test expects it (see the navigation test).
    bridge = BrowserBridge(bridge_settings(server.url, data, browser_executable, max_tabs=1))
    await bridge.start()
    try:
        yield Site(Replica(server), bridge)
    finally:
        await bridge.stop()
        server.stop()


@pytest.fixture(autouse=True)
async def _fresh_knobs(site: Site) -> AsyncIterator[None]:
    yield
    await site.replica.reset(conversations=False)


async def test_new_chat_then_follow_up(site: Site) -> None:
    first, deltas = await site.ask("Remember the number 7 markdown:code")
    assert first.source == "stream" and first.finish_reason == "stop"
    assert "".join(deltas) == first.text == (await site.stored(first.conversation_id))["text"]
    second, _ = await site.ask("What was it?", conversation_id=first.conversation_id)
    assert second.conversation_id == first.conversation_id
    assert "User messages so far: 2." in second.text
    assert second.text == (await site.stored(first.conversation_id))["text"]
    sends = await site.replica.sends()
    assert sends[-1]["message_id"] == second.user_message_id


async def test_a_follow_up_opens_through_the_pages_own_route_change(site: Site) -> None:
    first, _ = await site.ask("First chat")
    second, _ = await site.ask("Second chat")  # a full load: only its route is mounted
    page = second.page
    await page.evaluate("window.__sameDocument = true")
    third, _ = await site.ask("Back to the first", conversation_id=first.conversation_id)
    assert third.page is page and await page.evaluate("window.__sameDocument === true")
    assert "User messages so far: 2." in third.text
    stored = await site.replica.conversation(first.conversation_id)
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"] * 2


async def test_multiline_prompt_is_typed_exactly(site: Site) -> None:
    prompt = "Lines:\n\n  indented\ttab\n\n\nlast — ünïcode 日本語 🚀"
    turn, _ = await site.ask(prompt)
    assert (await site.replica.sends())[-1]["prompt"] == prompt
    assert turn.finish_reason == "stop"


async def test_stop_keeps_the_partial_answer(site: Site) -> None:
    await site.replica.configure(chunk_delay_ms=80, chunk_chars=8)
    async with site.bridge.ask("Long one words:400") as turn:
        async for _delta in turn:
            if len(turn.text) > 60:
                await turn.cancel()
        assert turn.finish_reason == "cancelled"
    stored = await site.stored(turn.conversation_id)
    assert stored["status"] == "finished_partial_completion"
    assert stored["text"] == turn.text and 60 < len(turn.text) < 1500


@pytest.mark.parametrize("handoff", ["ws", "resume"])
async def test_a_handed_off_answer_streams_from_where_it_went(site: Site, handoff: str) -> None:
    await site.replica.configure(handoff_next=1, handoff=handoff, handoff_silence_ms=200)
    turn, deltas = await site.ask("Handed off words:60")
    assert turn.source == ("websocket" if handoff == "ws" else "resume")
    assert turn.finish_reason == "stop"
    assert "".join(deltas) == turn.text == (await site.stored(turn.conversation_id))["text"]


async def test_a_thinking_turn_over_the_websocket(site: Site) -> None:
    await site.replica.configure(thinking=True, think_silence_ms=300, handoff_silence_ms=200)
    turn, deltas = await site.ask("Think first markdown:lists")
    assert turn.source == "websocket" and turn.finish_reason == "stop"
    assert "".join(deltas) == turn.text == (await site.stored(turn.conversation_id))["text"]


@pytest.mark.parametrize("failure", [404, 410])
async def test_a_refused_resume_is_read_back(site: Site, failure: int) -> None:
    await site.replica.configure(
        handoff_next=1, handoff="resume", resume_failure=failure, handoff_silence_ms=200
    )
    turn, _ = await site.ask("Resume refused words:40")
    assert turn.source == "read-back" and turn.finish_reason == "stop"
    assert turn.text == (await site.stored(turn.conversation_id))["text"]


async def test_a_retried_post_is_followed_and_sent_once(site: Site) -> None:
    await site.replica.configure(abort_post_next=1)
    prompt = "Retried by the page"
    turn, deltas = await site.ask(prompt)
    assert f'You said: "{prompt}"' in turn.text and "".join(deltas) == turn.text
    sends = [s for s in await site.replica.sends() if s["prompt"] == prompt]
    assert [s["status"] for s in sends][:1] == ["aborted"] and len(sends) == 2
    assert {s["message_id"] for s in sends} == {turn.user_message_id}


async def test_a_cloudflare_check_on_the_send_is_a_challenge(site: Site) -> None:
    first, _ = await site.ask("Open a chat")
    # The tab shows the chat already: the next backend fetches are the send's own.
    await site.replica.configure(cf_challenge_next=2)  # the prepare call and the POST
    with pytest.raises(ChallengeError) as caught:
        await site.ask("Challenged", conversation_id=first.conversation_id)
    assert caught.value.delivered is False
    assert "Challenged" not in [s["prompt"] for s in await site.replica.sends()]


async def test_a_prompt_over_the_composer_ceiling_is_refused(site: Site) -> None:
    await site.replica.configure(composer_limit_tokens=50)
    with pytest.raises(WebAppError) as caught:
        await site.ask("x" * 400)
    assert caught.value.delivered is False and "HTTP 400" in str(caught.value)


async def test_a_rate_limit_delivers_nothing(site: Site) -> None:
    await site.replica.configure(rate_limit_next=1)
    with pytest.raises(RateLimitedError) as caught:
        await site.ask("Too fast")
    assert caught.value.delivered is False
    site.bridge.pacer.release()  # as if the page's own wait were over
    turn, _ = await site.ask("Fine again?")
    assert turn.finish_reason == "stop"


@pytest.mark.parametrize(("status", "error_type"), [(401, LoginRequiredError), (500, WebAppError)])
async def test_a_refused_send_delivers_nothing(
    site: Site, status: int, error_type: type[BridgeError]
) -> None:
    await site.replica.configure(fail_next_status=status, fail_next_count=1)
    with pytest.raises(BridgeError) as caught:
        await site.ask(f"Fail with {status}")
    assert type(caught.value) is error_type and caught.value.delivered is False
    assert (await site.replica.sends())[-1]["status"] == status


async def test_an_error_mid_answer_was_delivered(site: Site) -> None:
    await site.replica.configure(sse_error_next=1, chunk_chars=4)
    with pytest.raises(WebAppError) as caught:
        await site.ask("Error mid-way words:30")
    assert caught.value.delivered is True and "Something went wrong" in str(caught.value)


async def test_a_dropped_stream_is_read_back(site: Site) -> None:
    await site.replica.configure(drop_stream_next=1)
    turn, _ = await site.ask("Dropped words:60")
    assert turn.source == "read-back" and turn.finish_reason == "stop"
    assert turn.text == (await site.stored(turn.conversation_id))["text"]


async def test_an_unknown_conversation_delivers_nothing(site: Site) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(WebAppError) as caught:
        await site.ask("Hi", conversation_id=unknown)
    assert caught.value.delivered is False and unknown in str(caught.value)
