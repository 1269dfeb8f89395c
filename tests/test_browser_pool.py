"""Many conversations at once: tabs in parallel, order within a conversation, limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Page

from browser import Bridge, tab_memory
from browser.errors import BrowserDownError, BusyError
from browser.turn import navigation

pytestmark = pytest.mark.browser


async def timed_ask(bridge: Bridge, prompt: str, **options: Any) -> dict[str, Any]:
    started = time.monotonic()
    first = None
    async with bridge.ask(prompt, **options) as turn:
        async for _delta in turn:
            first = first or time.monotonic() - started
    return {"turn": turn, "first": first, "end": time.monotonic() - started}


async def eventually(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never became true")


async def test_parallel_conversations_on_several_tabs(bridge: Bridge, replica: Any) -> None:
    await replica.configure(chunk_delay_ms=40, chunk_chars=10)
    prompts = [f"Conversation {name} words:200" for name in ("alpha", "bravo", "charlie")]
    busy: list[int] = []

    async def watch() -> None:
        while True:
            busy.append(bridge.stats()["tabs_busy"])
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    try:
        results = await asyncio.gather(*(timed_ask(bridge, p) for p in prompts))
    finally:
        watcher.cancel()
    assert max(busy) == 3
    # Parallel, not one after the other: every answer started before any finished.
    assert max(r["first"] for r in results) < min(r["end"] for r in results)
    ids = {r["turn"].conversation_id for r in results}
    assert len(ids) == 3
    for prompt, result in zip(prompts, results, strict=True):
        turn = result["turn"]
        conversation = await replica.conversation(turn.conversation_id)
        assert conversation["messages"][0]["text"] == prompt, "no cross-talk"
        assert turn.text == conversation["messages"][-1]["text"]
        assert f'You said: "{prompt}"' in turn.text


async def test_same_conversation_runs_in_arrival_order(bridge: Bridge, replica: Any) -> None:
    async with bridge.ask("First of a series") as turn:
        await turn.read()
    conversation_id = turn.conversation_id
    await replica.configure(chunk_delay_ms=30)
    prompts = ["second", "third", "fourth", "fifth"]
    tasks = [
        asyncio.create_task(timed_ask(bridge, p, conversation_id=conversation_id)) for p in prompts
    ]
    results = await asyncio.gather(*tasks)
    for number, result in enumerate(results, start=2):
        assert result["turn"].text.startswith(f"Model: auto. User messages so far: {number}.")
    conversation = await replica.conversation(conversation_id)
    users = [m["text"] for m in conversation["messages"] if m["role"] == "user"]
    assert users == ["First of a series", *prompts]


async def test_more_conversations_than_tabs_wait_in_the_queue(bridge: Bridge, replica: Any) -> None:
    await replica.configure(chunk_delay_ms=30)
    queued: list[int] = []

    async def watch() -> None:
        while True:
            queued.append(bridge.stats()["queue_length"])
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    try:
        results = await asyncio.gather(*(timed_ask(bridge, f"Queued {i}") for i in range(6)))
    finally:
        watcher.cancel()
    assert max(queued) >= 1
    assert bridge.stats()["tabs_total"] <= 3
    for i, result in enumerate(results):
        assert f'You said: "Queued {i}"' in result["turn"].text


async def test_busy_when_the_queue_is_full(make_bridge: Any, replica: Any) -> None:
    small = await make_bridge(replica.url, max_tabs=1, max_queue=1)
    await replica.configure(chunk_delay_ms=60)
    holder = asyncio.create_task(timed_ask(small, "Hold the tab words:80"))
    await eventually(lambda: small.stats()["tabs_busy"] == 1)
    waiter = asyncio.create_task(timed_ask(small, "Wait for it"))
    await eventually(lambda: small.stats()["queue_length"] == 1)
    with pytest.raises(BusyError) as caught:
        async with small.ask("One too many"):
            pass
    assert caught.value.delivered is False and caught.value.retry_after > 0
    # A caller that stores its question (a Slack job) waits in line instead.
    assert small.is_busy()
    patient = asyncio.create_task(timed_ask(small, "Patient one", patient=True))
    _, second, third = await asyncio.gather(holder, waiter, patient)
    assert 'You said: "Wait for it"' in second["turn"].text
    assert 'You said: "Patient one"' in third["turn"].text
    assert not small.is_busy()
    assert small.stats() == {"tabs_total": 1, "tabs_busy": 0, "queue_length": 0}


async def test_tabs_are_reused_recycled_and_replaced(make_bridge: Any, replica: Any) -> None:
    small = await make_bridge(replica.url, max_tabs=2)
    pool = small.pool
    navigations: list[str] = []

    async with small.ask("Start") as turn:
        await turn.read()
    tab = next(t for t in pool.tabs if t.conversation_id == turn.conversation_id)
    turns = tab.turns
    tab.page.on("framenavigated", lambda frame: navigations.append(frame.url))
    async with small.ask("Follow", conversation_id=turn.conversation_id) as follow:
        await follow.read()
    assert "User messages so far: 2." in follow.text
    assert tab in pool.tabs and tab.turns == turns + 1, (
        "the tab showing the conversation was reused"
    )
    assert navigations == [], "no reload: the tab already showed the conversation"

    # After `turns_per_tab` turns a tab is closed and a fresh one takes its place.
    pool.turns_per_tab = tab.turns + 1
    async with small.ask("Recycle me", conversation_id=turn.conversation_id) as last:
        await last.read()
    assert tab not in pool.tabs and tab.page.is_closed()
    async with small.ask("Fresh tab") as fresh:
        assert 'You said: "Fresh tab"' in await fresh.read()

    # Idle tabs beyond the first are closed.
    await asyncio.gather(*(timed_ask(small, f"Two at once {i}") for i in range(2)))
    assert len(pool.tabs) == 2
    pool.idle_ttl = 0.0
    assert await pool.close_idle() == 1
    assert len(pool.tabs) == 1


async def test_a_tab_is_weighed_after_a_full_load_and_replaced_when_worn(
    make_bridge: Any, replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = await make_bridge(replica.url, max_tabs=1)
    async with small.ask("Weigh me") as turn:
        await turn.read()
    tab = small.pool.tabs[0]
    await navigation.settle(tab)  # the upkeep after the turn, off its path
    assert not tab.loaded and tab.first_heap_mb and tab.first_heap_mb > 0 and not tab.worn
    assert tab.live_heap_mb == tab.first_heap_mb
    # From now on every full load is collected, and any live heap counts as grown too far.
    monkeypatch.setattr(tab_memory, "GARBAGE_RATIO", 0.0)
    monkeypatch.setattr(tab_memory, "HEAP_HEADROOM_MB", -tab.first_heap_mb)
    async with small.ask("A temporary chat is a full load", temporary=True) as other:
        await other.read()
    await navigation.settle(tab)
    assert tab.worn and tab in small.pool.tabs
    async with small.ask("On a fresh tab") as fresh:
        assert 'You said: "On a fresh tab"' in await fresh.read()
    assert tab.page.is_closed() and small.pool.tabs[0] is not tab


async def test_queued_turns_go_on_when_every_tab_is_recycled(
    make_bridge: Any, replica: Any
) -> None:
    """Found by the load benchmark: after 50 turns per tab the pool had no tab left and its
    waiters re-queued behind each other forever instead of opening new ones."""
    small = await make_bridge(replica.url, max_tabs=2)
    small.pool.turns_per_tab = 1
    prompts = [f"Recycled queue {i}" for i in range(6)]
    results = await asyncio.wait_for(
        asyncio.gather(*(timed_ask(small, prompt) for prompt in prompts)), timeout=120
    )
    for prompt, result in zip(prompts, results, strict=True):
        assert f'You said: "{prompt}"' in result["turn"].text
    assert small.stats() == {"tabs_total": 0, "tabs_busy": 0, "queue_length": 0}


async def test_crashed_tab_is_replaced(make_bridge: Any, replica: Any) -> None:
    small = await make_bridge(replica.url, max_tabs=1)
    await replica.configure(chunk_delay_ms=60)
    crash: asyncio.Task[Any] | None = None
    async with small.ask("Crash during words:200") as turn:
        page: Page = small.pool.tabs[0].page
        with pytest.raises(BrowserDownError) as caught:
            async for _delta in turn:
                if turn.conversation_id and crash is None:
                    cdp = await page.context.new_cdp_session(page)
                    # The command never answers: its renderer is gone.
                    crash = asyncio.create_task(cdp.send("Page.crash"))
    assert crash is not None
    crash.cancel()
    assert caught.value.delivered is True and "tab crashed" in str(caught.value)
    await replica.configure(chunk_delay_ms=15)
    async with small.ask("After the crash") as after:
        assert 'You said: "After the crash"' in await after.read()
    assert small.pool.tabs[0].page is not page
