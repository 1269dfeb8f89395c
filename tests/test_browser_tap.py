"""The stream tap (`browser/tap.js`) in real Chromium against the replica.

What it must report, each kind documented at the top of tap.js: every attempt of the
conversation request and of resume under its own id, in order; Cloudflare's 403
`cf-mitigated: challenge` as a kind of its own; the page's WebSockets to its own site. And
what the turn makes of it: a page that retries its request still gets the answer, sent once;
a challenged send is a `ChallengeError` that delivered nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from browser import Bridge
from browser.errors import AnswerTimeoutError, ChallengeError
from browser.pool import Tab

pytestmark = pytest.mark.browser

Messages = list[dict[str, Any]]

POST_JS = """
async ([paths, body]) => {
  const session = await (await fetch("/api/auth/session")).json();
  const headers = {"Content-Type": "application/json",
                   Authorization: "Bearer " + session.accessToken};
  const post = (path) => fetch(path, {method: "POST", headers, body}).then((r) => r.text());
  return await Promise.all(paths.map(post));
}
"""

SOCKET_JS = """
async (url) => await new Promise((resolve) => {
  // Like the page after a turn: read the items, then close the socket.
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const got = [];
  ws.onmessage = (event) => {
    got.push(typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data));
    if (got.length === 3) ws.close();
  };
  ws.onclose = () => resolve({got, isSocket: ws instanceof WebSocket, OPEN: WebSocket.OPEN});
})
"""

RETRY_ONCE_JS = """
(() => {
  // The front end's own retry, as seen live: the first attempt fails, the page sends again.
  const fetch = window.fetch;
  window.fetch = async function (input, init) {
    try {
      return await fetch.apply(this, arguments);
    } catch (error) {
      if (!String(input).endsWith("/backend-api/f/conversation")) throw error;
      return await fetch.apply(this, arguments);
    }
  };
})();
"""


def request_body(prompt: str) -> str:
    return json.dumps(
        {
            "action": "next",
            "messages": [
                {
                    "id": f"user-{time.monotonic_ns()}",
                    "author": {"role": "user"},
                    "content": {"content_type": "text", "parts": [prompt]},
                }
            ],
            "model": "auto",
            "parent_message_id": "client-created-root",
        }
    )


async def collect(tab: Tab, done: Callable[[Messages], bool], timeout: float = 30.0) -> Messages:
    """The tab's tap messages until `done(messages)`."""
    seen: Messages = []
    deadline = time.monotonic() + timeout
    while not done(seen):
        seen.append(await asyncio.wait_for(tab.events.get(), deadline - time.monotonic()))
    return seen


def by_id(messages: Messages) -> dict[str, Messages]:
    grouped: dict[str, Messages] = {}
    for message in messages:
        grouped.setdefault(message["id"], []).append(message)
    return {key: sorted(group, key=lambda m: m["seq"]) for key, group in grouped.items()}


def ended(count: int) -> Callable[[Messages], bool]:
    return lambda seen: sum(m["kind"] in ("end", "abort", "fetch_error") for m in seen) >= count


@pytest.fixture
async def tab(bridge: Bridge, replica: Any) -> AsyncIterator[Tab]:
    """A tab of the session bridge on the replica, held for this test alone."""
    async with bridge.pool.lease() as leased:
        assert leased is not None
        if not leased.page.url.startswith(replica.url):
            await leased.page.goto(replica.url)
        leased.drain()
        yield leased
        leased.clean = False


async def test_every_attempt_and_resume_has_its_own_id(tab: Tab) -> None:
    paths = ["/backend-api/f/conversation"] * 2 + ["/backend-api/f/conversation/resume"]
    await tab.page.evaluate(POST_JS, [paths, request_body("Tapped twice")])
    attempts = by_id(await collect(tab, ended(3)))
    assert len(attempts) == 3
    endpoints = sorted(group[0]["endpoint"] for group in attempts.values())
    assert endpoints == ["conversation", "conversation", "resume"]
    for group in attempts.values():
        assert [m["seq"] for m in group] == list(range(len(group))), "no gaps, page order"
        assert [m["kind"] for m in group[:2]] == ["request", "response"]
        assert group[-1]["kind"] == "end"
        if group[0]["endpoint"] == "conversation":
            assert "Tapped twice" in group[0]["body"]
            assert group[1]["status"] == 200
            assert "".join(m["text"] for m in group if m["kind"] == "chunk").endswith("[DONE]\n\n")
        else:
            assert group[1]["status"] == 404


async def test_a_cloudflare_challenge_is_its_own_kind(tab: Tab) -> None:
    async def challenge(route: Any) -> None:
        await route.fulfill(
            status=403,
            headers={"cf-mitigated": "challenge", "content-type": "text/html"},
            body="<html><title>Just a moment...</title></html>",
        )

    await tab.page.route("**/backend-api/f/conversation", challenge)
    try:
        await tab.page.evaluate(POST_JS, [["/backend-api/f/conversation"], request_body("cf")])
        (group,) = by_id(await collect(tab, ended(1))).values()
    finally:
        await tab.page.unroute("**/backend-api/f/conversation")
    kinds = [m["kind"] for m in group]
    assert kinds[:2] == ["request", "challenge"] and "response" not in kinds
    assert group[1]["status"] == 403


@pytest.fixture
async def socket_server() -> AsyncIterator[int]:
    """A WebSocket server on 127.0.0.1 that sends three items (one binary) and closes."""

    async def items(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str('{"type": "stream-item", "encoded_item": "data: {}\\n\\n"}')
        await socket.send_str("second")
        await socket.send_bytes(b"third, binary")
        async for message in socket:
            if message.type is WSMsgType.CLOSE:
                break
        return socket

    app = web.Application()
    app.router.add_get("/", items)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_the_pages_own_websockets_are_teed(tab: Tab, socket_server: int) -> None:
    seen = await tab.page.evaluate(SOCKET_JS, f"ws://127.0.0.1:{socket_server}/")
    assert seen["got"] == [
        '{"type": "stream-item", "encoded_item": "data: {}\\n\\n"}',
        "second",
        "third, binary",
    ]
    assert seen["isSocket"] is True and seen["OPEN"] == 1, "the page's WebSocket is intact"
    (group,) = by_id(await collect(tab, lambda s: any(m["kind"] == "ws_close" for m in s))).values()
    assert [m["kind"] for m in group] == ["ws_open", "ws", "ws", "ws", "ws_close"]
    assert [m["text"] for m in group[1:4]] == seen["got"]
    assert group[0]["id"].startswith("ws-")


async def test_sockets_to_other_sites_are_not_teed(tab: Tab, socket_server: int) -> None:
    seen = await tab.page.evaluate(SOCKET_JS, f"ws://localhost:{socket_server}/")
    assert len(seen["got"]) == 3
    # A socket the tap follows reports before the page sees its close: a round trip later,
    # anything it would have sent is in the queue.
    await tab.page.evaluate("1")
    reported = [tab.events.get_nowait() for _ in range(tab.events.qsize())]
    assert [m for m in reported if m["kind"].startswith("ws")] == []


async def test_a_retried_request_is_followed_and_sent_once(make_bridge: Any, replica: Any) -> None:
    own = await make_bridge(replica.url)
    context = own.session.context
    await context.add_init_script(script=RETRY_ONCE_JS)
    failed: list[str] = []

    async def fail_first(route: Any) -> None:
        if not failed:
            failed.append(route.request.url)
            await route.abort()
        else:
            await route.continue_()

    await context.route("**/backend-api/f/conversation", fail_first)
    prompt = "Retried by the page"
    async with own.ask(prompt) as turn:
        text = await turn.read()
    assert failed, "the first attempt really failed"
    assert f'You said: "{prompt}"' in text and turn.finish_reason == "stop"
    assert [s["prompt"] for s in await replica.sends()].count(prompt) == 1


async def test_a_challenged_send_delivered_nothing(make_bridge: Any, replica: Any) -> None:
    own = await make_bridge(replica.url)

    async def challenge(route: Any) -> None:
        await route.fulfill(status=403, headers={"cf-mitigated": "challenge"}, body="<html/>")

    await own.session.context.route("**/backend-api/f/conversation", challenge)
    with pytest.raises(ChallengeError) as caught:
        async with own.ask("Challenged"):
            pass
    assert caught.value.delivered is False
    assert "human-verification" in str(caught.value)


async def test_the_page_resuming_by_itself_is_progress(make_bridge: Any, replica: Any) -> None:
    """A thinking turn may be silent for minutes while the page keeps resuming it: only the
    page's own signals stopping is a stall."""
    own = await make_bridge(replica.url, idle_timeout=3.0, answer_timeout=60.0, max_tabs=1)
    await replica.configure(stall_next=1)
    async with own.ask("Think silently words:40") as turn:
        page = own.pool.tabs[0].page
        reader = asyncio.create_task(turn.read())
        for _ in range(400):  # the stream names the conversation before it stalls
            if turn.conversation_id:
                break
            await asyncio.sleep(0.05)
        body = json.dumps({"conversation_id": turn.conversation_id})
        for _ in range(6):  # every second, as if the page reconnected: 6 s > idle_timeout
            assert not reader.done(), "the turn gave up while the page was still resuming"
            await page.evaluate(POST_JS, [["/backend-api/f/conversation/resume"], body])
            await asyncio.sleep(1.0)
        with pytest.raises(AnswerTimeoutError):  # the page fell quiet: now it is a stall
            await reader
