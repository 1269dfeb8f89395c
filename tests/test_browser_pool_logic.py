"""The pool's own asyncio logic on a fake session: no Chromium, every interleaving exact.

`FakeSession` hands out `FakePage`s (closing one fires its "close" listeners, as
Playwright's does) and can play the browser dying. The real-browser behaviour of the same
rules is in `test_browser_pool.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from browser.errors import BusyError
from browser.pool import BROWSER_CLOSED, TAB_CLOSED, TAB_CRASHED, Pool, Tab


class FakePage:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False
        self._listeners: dict[str, list[Callable[[Any], None]]] = {}

    def on(self, event: str, listener: Callable[[Any], None]) -> None:
        self._listeners.setdefault(event, []).append(listener)

    def is_closed(self) -> bool:
        return self.closed

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.fire("close")

    def fire(self, event: str) -> None:
        for listener in self._listeners.get(event, []):
            listener(self)


class FakeSession:
    """Opens pages on demand; `fail_next` makes the next opening raise."""

    def __init__(self) -> None:
        self.pages: list[FakePage] = []
        self.fail_next = False
        self.gate: asyncio.Event | None = None
        self._listeners: list[Callable[[], None]] = []

    def on_close(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def new_page(self, on_tap: Any = None) -> Any:
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)  # opening a tab takes a moment: others run meanwhile
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("no new tab")
        page = FakePage(len(self.pages) + 1)
        self.pages.append(page)
        return page

    def die(self) -> None:
        for listener in self._listeners:
            listener()


def pool(session: FakeSession, max_tabs: int = 2, max_queue: int = 4, **options: Any) -> Pool:
    return Pool(session, max_tabs, max_queue, **options)  # type: ignore[arg-type]


async def settle() -> None:
    """Let every ready task run until all of them wait again."""
    for _ in range(20):
        await asyncio.sleep(0)


class Holder:
    """A lease held until `release()`: a turn that takes as long as the test wants."""

    def __init__(self, tabs: Pool, conversation_id: str | None = None, **options: Any) -> None:
        self.tab: Tab | None = None
        self.error: BaseException | None = None
        self._done = asyncio.Event()
        self.task = asyncio.create_task(self._hold(tabs, conversation_id, options))

    async def _hold(self, tabs: Pool, conversation_id: str | None, options: Any) -> None:
        try:
            async with tabs.lease(conversation_id, **options) as tab:
                self.tab = tab
                if tab is not None:
                    tab.conversation_id = conversation_id or tab.conversation_id
                    tab.turns += 1
                await self._done.wait()
        except Exception as error:  # the test looks at it
            self.error = error

    @property
    def holding(self) -> bool:
        return self.tab is not None and not self.task.done()

    async def release(self) -> None:
        self._done.set()
        await self.task


async def test_a_lease_opens_a_tab_then_reuses_it() -> None:
    session = FakeSession()
    tabs = pool(session)
    first = Holder(tabs)
    await settle()
    assert first.holding and tabs.stats() == {"tabs_total": 1, "tabs_busy": 1, "queue_length": 0}
    await first.release()
    second = Holder(tabs)
    await settle()
    assert second.tab is first.tab and len(session.pages) == 1
    await second.release()
    assert tabs.stats() == {"tabs_total": 1, "tabs_busy": 0, "queue_length": 0}


async def test_the_tab_showing_the_conversation_is_preferred() -> None:
    session = FakeSession()
    tabs = pool(session)
    a, b = Holder(tabs, "conv-a"), Holder(tabs, "conv-b")
    await settle()
    await a.release()
    await b.release()
    again = Holder(tabs, "conv-a")
    await settle()
    assert again.tab is a.tab, "no navigation: that tab already shows conv-a"
    other = Holder(tabs)
    await settle()
    assert other.tab is b.tab
    await again.release()
    await other.release()


async def test_a_new_chat_takes_a_tab_that_opens_it_in_the_page() -> None:
    session = FakeSession()
    tabs = pool(session)
    a, b = Holder(tabs), Holder(tabs)
    await settle()
    assert a.tab is not None and b.tab is not None
    b.tab.clean, b.tab.document = True, ("auto", True)  # b's page opens such a chat in-page
    a.tab.clean, a.tab.document = True, ("auto", False)
    await a.release()
    await b.release()  # b is the most recently used: without a document, a is taken
    wanted = Holder(tabs, document=("auto", True))
    await settle()
    assert wanted.tab is b.tab
    other = Holder(tabs, document=("gpt-5-6", True))  # no tab opens it: least recently used
    await settle()
    assert other.tab is a.tab
    await wanted.release()
    await other.release()


async def test_one_conversation_runs_its_turns_in_arrival_order() -> None:
    tabs = pool(FakeSession(), max_tabs=3)
    order: list[int] = []

    async def turn(number: int) -> None:
        async with tabs.lease("conv"):
            order.append(number)
            await asyncio.sleep(0)  # the turn takes a while: the others must wait

    first = Holder(tabs, "conv")
    await settle()
    followers = [asyncio.create_task(turn(n)) for n in range(5)]
    await settle()
    assert order == [], "the conversation is busy: nobody may send into it"
    elsewhere = Holder(tabs, "other")
    await settle()
    assert elsewhere.holding, "another conversation is not held up"
    await first.release()
    await asyncio.gather(*followers)
    assert order == [0, 1, 2, 3, 4]
    await elsewhere.release()


async def test_the_queue_is_bounded_but_patient_callers_always_wait() -> None:
    tabs = pool(FakeSession(), max_tabs=1, max_queue=1)
    holder = Holder(tabs)
    await settle()
    waiter = Holder(tabs)
    await settle()
    assert tabs.stats()["queue_length"] == 1 and tabs.is_full()
    with pytest.raises(BusyError) as refused:
        async with tabs.lease():
            pass
    assert refused.value.delivered is False and "1 browser tabs" in str(refused.value)
    patient = Holder(tabs, patient=True)
    await settle()
    assert tabs.stats()["queue_length"] == 2 and patient.error is None
    async with tabs.lease(wait=False) as none:
        assert none is None, "a caller that will not wait is told at once"
    await holder.release()
    await settle()
    assert waiter.holding and not patient.holding, "first come, first served"
    await waiter.release()
    await settle()
    assert patient.holding
    await patient.release()
    assert tabs.stats() == {"tabs_total": 1, "tabs_busy": 0, "queue_length": 0}


async def test_a_tab_is_recycled_after_its_turns_and_a_new_one_opened() -> None:
    session = FakeSession()
    tabs = pool(session, max_tabs=1, turns_per_tab=2)
    for _ in range(2):
        holder = Holder(tabs)
        await settle()
        await holder.release()
    old = session.pages[0]
    assert old.closed and tabs.tabs == []
    fresh = Holder(tabs)
    await settle()
    assert fresh.tab is not None and fresh.tab.page is session.pages[1]
    await fresh.release()


async def test_a_worn_tab_is_replaced_by_a_fresh_one_even_with_its_conversation() -> None:
    """Its upkeep weighs a tab after it went back to the pool (`browser/tab_memory.py`):
    found worn, the tab is not leased again, not even for the chat it shows, and closes;
    its room goes to a fresh tab."""
    session = FakeSession()
    tabs = pool(session, max_tabs=2)
    holders = [Holder(tabs, "c1"), Holder(tabs, "c2")]
    await settle()
    for holder in holders:
        await holder.release()
    worn, kept = (holder.tab for holder in holders)
    assert worn is not None and kept is not None
    worn.worn = True
    again = Holder(tabs, "c1")
    await settle()
    assert again.tab is kept and session.pages[0].closed and tabs.tabs == [kept]
    other = Holder(tabs, "c3")
    await settle()
    assert other.tab is not None and other.tab.page is session.pages[2]
    for holder in (again, other):
        await holder.release()
    assert tabs.stats() == {"tabs_total": 2, "tabs_busy": 0, "queue_length": 0}


async def test_a_tab_found_worn_during_its_turn_closes_at_release() -> None:
    session = FakeSession()
    tabs = pool(session, max_tabs=1)
    holder = Holder(tabs)
    waiter = Holder(tabs)
    await settle()
    assert holder.tab is not None and not waiter.holding
    holder.tab.worn = True
    await holder.release()
    await settle()
    assert session.pages[0].closed and waiter.tab is not None
    assert waiter.tab.page is session.pages[1]
    await waiter.release()


async def test_idle_tabs_beyond_the_first_are_closed() -> None:
    session = FakeSession()
    tabs = pool(session, max_tabs=3, idle_ttl=60.0)
    holders = [Holder(tabs, f"c{n}") for n in range(3)]
    await settle()
    for holder in holders:
        await holder.release()
    for tab in tabs.tabs[1:]:
        tab.last_used -= 120.0
    assert await tabs.close_idle() == 2
    assert [page.closed for page in session.pages] == [False, True, True]
    assert await tabs.close_idle() == 0


async def test_waiters_go_on_when_every_tab_is_recycled() -> None:
    """After `turns_per_tab` every tab closes at release: the waiters must open new ones
    instead of queueing behind each other forever (found by the load benchmark)."""
    session = FakeSession()
    tabs = pool(session, max_tabs=2, max_queue=8, turns_per_tab=1)
    holders = [Holder(tabs) for _ in range(6)]
    await settle()
    assert sum(h.holding for h in holders) == 2 and tabs.stats()["queue_length"] == 4
    for _ in range(3):
        for holder in [h for h in holders if h.holding]:
            await holder.release()
        await settle()
    assert all(h.task.done() and h.error is None for h in holders)
    assert len(session.pages) == 6 and all(page.closed for page in session.pages)
    assert tabs.stats() == {"tabs_total": 0, "tabs_busy": 0, "queue_length": 0}


async def test_a_failed_opening_leaves_the_room_to_the_next_waiter() -> None:
    session = FakeSession()
    tabs = pool(session, max_tabs=1)
    session.fail_next = True
    failing = Holder(tabs)
    await settle()
    assert isinstance(failing.error, RuntimeError)
    after = Holder(tabs)
    await settle()
    assert after.holding and len(session.pages) == 1
    await after.release()


async def test_a_cancelled_waiter_passes_its_tab_on() -> None:
    tabs = pool(FakeSession(), max_tabs=1)
    holder = Holder(tabs)
    await settle()
    cancelled, next_in_line = Holder(tabs), Holder(tabs)
    await settle()
    cancelled.task.cancel()
    await holder.release()
    await settle()
    assert cancelled.task.cancelled()
    assert next_in_line.holding and next_in_line.tab is holder.tab
    await next_in_line.release()


async def test_a_closed_or_crashed_tab_is_not_leased_again() -> None:
    session = FakeSession()
    tabs = pool(session, max_tabs=2)
    holder = Holder(tabs)
    await settle()
    assert holder.tab is not None
    holder.tab.page.fire("crash")  # type: ignore[attr-defined]
    assert holder.tab.dead and holder.tab.events.get_nowait() == {"kind": TAB_CRASHED}
    await holder.release()
    assert holder.tab not in tabs.tabs, "a dead tab is dropped at release"
    other = Holder(tabs)
    await settle()
    assert other.tab is not holder.tab
    other.tab.page.fire("close")  # type: ignore[union-attr]
    assert other.tab.events.get_nowait() == {"kind": TAB_CLOSED}  # type: ignore[union-attr]
    await other.release()


async def test_the_browser_dying_fails_busy_tabs_and_frees_the_waiters() -> None:
    session = FakeSession()
    tabs = pool(session, max_tabs=1)
    holder = Holder(tabs)
    await settle()
    waiter = Holder(tabs)
    await settle()
    assert not waiter.holding
    session.die()
    assert holder.tab is not None and holder.tab.events.get_nowait() == {"kind": BROWSER_CLOSED}
    await settle()
    assert waiter.holding and waiter.tab is not holder.tab, "the waiter opened a new tab"
    await holder.release()
    await waiter.release()
    assert tabs.tabs == [waiter.tab]
