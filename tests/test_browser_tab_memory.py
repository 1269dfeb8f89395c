"""When a tab's upkeep collects its garbage, and when it calls the tab worn: on a fake CDP.

The heaps are scripted: what `Runtime.getHeapUsage` reads before a collection (live heap +
garbage) and after one (live heap). The real browser's side is in `test_browser_pool.py`.
"""

from __future__ import annotations

from typing import Any

from browser.pool import Tab
from browser.tab_memory import HEAP_HEADROOM_MB, MB, upkeep


class FakeCDP:
    def __init__(self, page: FakePage) -> None:
        self._page = page

    async def send(self, method: str, params: Any = None) -> dict[str, Any]:
        self._page.calls.append(method)
        if method == "HeapProfiler.collectGarbage":
            self._page.garbage = 0.0
            return {}
        assert method == "Runtime.getHeapUsage"
        return {"usedSize": (self._page.live + self._page.garbage) * MB}

    async def detach(self) -> None:
        self._page.detached += 1


class FakePage:
    """A page whose heap holds `live` MB kept alive and `garbage` MB a collection frees."""

    def __init__(self, live: float, garbage: float) -> None:
        self.live, self.garbage = live, garbage
        self.calls: list[str] = []
        self.detached = 0
        self.context = self

    async def new_cdp_session(self, page: Any) -> FakeCDP:
        return FakeCDP(self)


async def loaded(tab: Tab, page: FakePage, *, live: float, garbage: float) -> list[str]:
    """A full load left `garbage`; the upkeep runs; the CDP calls it made."""
    page.live, page.garbage, page.calls = live, page.garbage + garbage, []
    tab.loaded = True
    await upkeep(tab)
    assert not tab.loaded and page.detached
    return page.calls


async def test_garbage_is_collected_once_it_doubles_the_live_heap() -> None:
    page = FakePage(live=26.0, garbage=10.0)
    tab = Tab(page=page)  # type: ignore[arg-type]
    await upkeep(tab)  # the first load is always weighed, collected
    assert page.calls == ["HeapProfiler.collectGarbage", "Runtime.getHeapUsage"]
    assert tab.first_heap_mb == tab.live_heap_mb == 26.0
    # One dead document (20 MB): under twice the live heap, only read.
    assert await loaded(tab, page, live=26.0, garbage=20.0) == ["Runtime.getHeapUsage"]
    assert page.garbage == 20.0
    # A second one: 66 MB is past 52, collected, and the live heap measured again.
    calls = await loaded(tab, page, live=27.0, garbage=20.0)
    assert calls == ["Runtime.getHeapUsage", "HeapProfiler.collectGarbage", "Runtime.getHeapUsage"]
    assert page.garbage == 0.0 and tab.live_heap_mb == 27.0 and not tab.worn


async def test_a_tab_whose_live_heap_outgrows_its_first_document_is_worn() -> None:
    page = FakePage(live=26.0, garbage=0.0)
    tab = Tab(page=page)  # type: ignore[arg-type]
    await upkeep(tab)
    grown = 26.0 + HEAP_HEADROOM_MB
    await loaded(tab, page, live=grown - 1, garbage=grown)
    assert tab.live_heap_mb == grown - 1 and not tab.worn, "within the headroom: kept"
    await loaded(tab, page, live=grown + 1, garbage=grown + 1)
    assert tab.worn and tab.first_heap_mb == 26.0
