"""A small pool of tabs: parallel conversations, one turn at a time per conversation.

One ChatGPT account tolerates only a few concurrent generations, and each tab is a renderer
process, so the pool holds at most `max_tabs` tabs. A conversation's turns are serialized by
a per-conversation FIFO lock (the web app rejects a second message while one is answered,
and order matters in a chat). A lease reuses the tab already showing its conversation (no
navigation, no re-hydration), else any free tab, else waits in a bounded FIFO queue; beyond
that the caller gets `BusyError` at once instead of an unbounded wait.

Tabs are recycled: closed after sitting idle, and replaced when their own measured memory
says so (`worn`: the live script heap after a collection, `browser/tab_memory.py`), so
renderer memory stays bounded after hundreds of conversations; a long turn count is only
the backstop for what a script heap does not show. A crashed or closed tab is replaced on
demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from browser.errors import BusyError
from browser.session import TapCallback

logger = logging.getLogger(__name__)

IDLE_TAB_TTL = 300.0
"""Seconds an unused tab (beyond the first) stays open."""
TURNS_PER_TAB = 500
"""A tab is replaced after this many turns even when its heap looks healthy: what the page
holds outside the script heap (images, layout, caches) is not weighed."""

PAGE_CLOSE_TIMEOUT = 10.0
"""Seconds to wait for a tab to close; a renderer stuck closing is left to the browser."""

TAB_CLOSED = "tab_closed"
TAB_CRASHED = "tab_crashed"
BROWSER_CLOSED = "browser_closed"
"""Kinds of the lifecycle messages put in a tab's event queue beside the tap's messages."""


class TabSource(Protocol):
    """What the pool needs of the browser: new tabs, and word when it dies.

    `browser.session.Session` is the real one; the pool's own logic is tested on a fake.
    """

    async def new_page(self, on_tap: TapCallback | None = None) -> Page: ...

    def on_close(self, listener: Callable[[], None]) -> None: ...


@dataclass(eq=False)
class Tab:
    """One browser tab and what the pool knows about it."""

    page: Page
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    """Tap messages of this tab's page, and lifecycle messages (closed, crashed)."""
    conversation_id: str | None = None
    """The conversation the tab shows."""
    clean: bool = False
    """The tab shows `conversation_id`, fully loaded, with no generation running."""
    busy: bool = False
    dead: bool = False
    turns: int = 0
    """Prompts sent from this tab (health checks do not count)."""
    last_used: float = field(default_factory=time.monotonic)
    document: tuple[str | None, bool] | None = None
    """(model, temporary) an in-page "New chat" of this document opens with: set by a full
    load of the new-chat page; None once the document showed another chat or ran a
    follow-up (the page adopts a reopened chat's model, a follow-up may pick another)."""
    routes: int = 0
    """Routes this document opened in the page: each one stays mounted, hidden."""
    preparing: asyncio.Task[None] | None = None
    """Upkeep started off the request path after a turn (a full load, a garbage collection):
    the next turn on this tab awaits it."""
    loaded: bool = False
    """A full load happened since the tab's heap was last collected and weighed."""
    first_heap_mb: float | None = None
    """The live script heap of the tab's first weighed document, the measure of its growth."""
    live_heap_mb: float | None = None
    """The live script heap at the tab's last garbage collection."""
    worn: bool = False
    """Its live heap outgrew its first document's: replaced rather than leased again."""

    def drain(self) -> None:
        """Forget messages left over from earlier turns."""
        while not self.events.empty():
            self.events.get_nowait()

    def kill(self, kind: str) -> None:
        if self.preparing is not None:
            self.preparing.cancel()
        if not self.dead:
            self.dead = True
            self.events.put_nowait({"kind": kind})


class Pool:
    def __init__(
        self,
        session: TabSource,
        max_tabs: int,
        max_queue: int,
        *,
        idle_ttl: float = IDLE_TAB_TTL,
        turns_per_tab: int = TURNS_PER_TAB,
    ) -> None:
        self.idle_ttl = idle_ttl
        self.turns_per_tab = turns_per_tab
        self._session = session
        self._max_tabs = max_tabs
        self._max_queue = max_queue
        self._tabs: list[Tab] = []
        self._opening = 0
        self._waiting = 0
        self._impatient = 0  # the waiting callers that are not `patient`
        self._waiters: deque[asyncio.Future[Tab | None]] = deque()
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        session.on_close(self._browser_closed)

    @property
    def tabs(self) -> list[Tab]:
        return list(self._tabs)

    def stats(self) -> dict[str, int]:
        return {
            "tabs_total": len(self._tabs),
            "tabs_busy": sum(tab.busy for tab in self._tabs),
            "queue_length": self._waiting,
        }

    def start(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap(), name="tab-reaper")

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        for tab in list(self._tabs):
            await self._discard(tab)
        await asyncio.gather(*self._closing)

    @contextlib.asynccontextmanager
    async def lease(
        self,
        conversation_id: str | None = None,
        *,
        wait: bool = True,
        patient: bool = False,
        document: tuple[str | None, bool] | None = None,
    ) -> AsyncIterator[Tab | None]:
        """A tab for one turn of `conversation_id`, held under that conversation's lock.

        A new chat names the `document` (model, temporary) it wants: a free tab whose page
        opens it in the page (`Tab.document`) is taken first, so it needs no full load.

        With `wait=False` the lease yields None instead of waiting for a busy pool. A
        `patient` caller keeps its question itself (a stored Slack job): it waits in line
        however long the line is and does not count toward `max_queue`, so callers that are
        refused and retry later (HTTP clients) are not starved by ones that never leave.
        """
        if not self._has_room():
            if not wait:
                yield None
                return
            if not patient and self._impatient >= self._max_queue:
                raise BusyError(
                    f"All {self._max_tabs} browser tabs are answering and {self._waiting} "
                    "requests are already waiting. Try again in a few seconds."
                )
        self._join_line(patient, +1)
        in_line = True
        try:
            async with self._conversation_lock(conversation_id):
                tab = await self._take(conversation_id, document)
                self._join_line(patient, -1)
                in_line = False
                try:
                    yield tab
                finally:
                    await self._release(tab)
        finally:
            if in_line:
                self._join_line(patient, -1)

    def _join_line(self, patient: bool, step: int) -> None:
        self._waiting += step
        if not patient:
            self._impatient += step

    def is_full(self) -> bool:
        """No free tab and no room to open one: a new lease would wait."""
        return not self._has_room()

    def _has_room(self) -> bool:
        if self._waiters:
            return False
        idle = any(not tab.busy and not tab.dead for tab in self._tabs)
        return idle or self._can_open()

    def _can_open(self) -> bool:
        # A dead tab whose turn has not noticed yet holds no renderer: it takes no room, so
        # waiters open new tabs at once when the browser dies under busy tabs.
        live = sum(not tab.dead for tab in self._tabs)
        return live + self._opening < self._max_tabs

    @contextlib.asynccontextmanager
    async def _conversation_lock(self, conversation_id: str | None) -> AsyncIterator[None]:
        if conversation_id is None:
            yield
            return
        lock, users = self._locks.get(conversation_id, (asyncio.Lock(), 0))
        self._locks[conversation_id] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock wakes waiters first-in, first-out
                yield
        finally:
            lock, users = self._locks[conversation_id]
            if users <= 1:
                del self._locks[conversation_id]
            else:
                self._locks[conversation_id] = (lock, users - 1)

    async def _take(
        self, conversation_id: str | None, document: tuple[str | None, bool] | None = None
    ) -> Tab:
        # A waiter woken with None was handed the room a discarded tab left: it opens the
        # new tab itself even though others queue behind it, or nobody ever would.
        handed_room = False
        while True:
            if handed_room or not self._waiters:
                tab = self._pick(conversation_id, document)
                if tab is not None:
                    tab.busy = True
                    return tab
                if self._can_open():
                    return await self._open()
            waiter: asyncio.Future[Tab | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    await self._pass_on(waiter.result())  # handed over as we were cancelled
                raise
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if handed is not None:
                return handed
            handed_room = True

    def _pick(
        self, conversation_id: str | None, document: tuple[str | None, bool] | None = None
    ) -> Tab | None:
        for tab in [tab for tab in self._tabs if tab.worn and not tab.busy]:
            self._retire(tab)  # its upkeep found it worn after it went back to the pool
        free = [tab for tab in self._tabs if not tab.busy and not tab.dead]
        if not free:
            return None
        if conversation_id is not None:
            for tab in free:
                if tab.conversation_id == conversation_id:
                    return tab
        elif document is not None:
            ready = [tab for tab in free if tab.clean and tab.document == document]
            free = ready or free
        # Least recently used first, so a tab holding a recent conversation stays reusable.
        return min(free, key=lambda tab: tab.last_used)

    async def _open(self) -> Tab:
        self._opening += 1
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        try:
            page = await self._session.new_page(events.put_nowait)
        except BaseException:
            self._wake(None)  # the room is still free: the next waiter tries
            raise
        finally:
            self._opening -= 1
        tab = Tab(page=page, events=events, busy=True)
        page.on("close", lambda _: tab.kill(TAB_CLOSED))
        page.on("crash", lambda _: tab.kill(TAB_CRASHED))
        self._tabs.append(tab)
        logger.debug("opened tab %d of %d", len(self._tabs), self._max_tabs)
        return tab

    async def _release(self, tab: Tab) -> None:
        tab.busy = False
        tab.last_used = time.monotonic()
        if tab.dead or tab.worn or tab.turns >= self.turns_per_tab:
            # Room first, closing second: a renderer slow to close must not hold up the line.
            self._forget(tab)
            self._wake(None)  # room for a new tab: the first waiter opens it
            await self._close_page(tab)
            return
        if tab in self._tabs:
            self._wake(tab)

    def _retire(self, tab: Tab) -> None:
        """A free tab leaves the pool now; its renderer closes in the background."""
        self._forget(tab)
        closing = asyncio.create_task(self._close_page(tab), name="tab-retire")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _pass_on(self, handed: Tab | None) -> None:
        """What a cancelled waiter was handed goes to the next one: a tab, or room for one."""
        if handed is None:
            self._wake(None)
        else:
            await self._release(handed)

    def _wake(self, tab: Tab | None) -> None:
        """Hand `tab` (busy from now on) to the first waiter, or None: "go open one"."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                if tab is not None:
                    tab.busy = True
                waiter.set_result(tab)
                return

    async def _discard(self, tab: Tab) -> None:
        self._forget(tab)
        await self._close_page(tab)

    def _forget(self, tab: Tab) -> None:
        if tab in self._tabs:
            self._tabs.remove(tab)
        tab.dead = True

    async def _close_page(self, tab: Tab) -> None:
        if not tab.page.is_closed():
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(tab.page.close(), PAGE_CLOSE_TIMEOUT)

    def _browser_closed(self) -> None:
        """Every tab died with the browser: fail their turns, let waiters open new tabs."""
        for tab in self._tabs:
            tab.kill(BROWSER_CLOSED)
        self._tabs = [tab for tab in self._tabs if tab.busy]
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, self.idle_ttl))
            await self.close_idle()

    async def close_idle(self) -> int:
        """Close tabs unused for `idle_ttl` seconds, keeping one; returns how many closed."""
        now = time.monotonic()
        idle = [t for t in self._tabs[1:] if not t.busy and now - t.last_used > self.idle_ttl]
        for tab in idle:
            logger.debug("closing a tab idle for %.0f s", now - tab.last_used)
            await self._discard(tab)
        return len(idle)
