"""A tab's memory after a full load: free the documents it replaced, and weigh what is left.

Measured on the replica at chatgpt.com's bundle size (`bench/bench_load.py`, docs/browser.md
"Tab memory"): a full load leaves the replaced document's whole script heap behind as
garbage, and V8 collects it late: a renderer that holds ~100 MB after a collection sat at
250-350 MB under load, holding dead documents, so Chromium's memory swung by hundreds of MB
from one round of turns to the next. Nothing leaked: a forced collection brought every tab
back to one document and the same heap.

So after a turn whose tab loaded a page, off the request path (the next turn on that tab
waits for it, no one else does), the tab reads its heap, which costs nothing. Only once the
heap holds `GARBAGE_RATIO` times what was live at the last collection does it collect: a
full collection takes a second or more of the page's main thread on a 60 MB heap, and its
cost grows with the heap, so collecting when the heap has doubled keeps both the memory and
the time spent collecting in proportion to what the page keeps alive.

The heap after a collection is the tab's own measured memory: what the page keeps alive
(chatgpt.com keeps visited routes mounted, hidden). A tab whose live heap has grown by more
than `HEAP_HEADROOM_MB` beyond what its first document held is worn: the pool replaces it
with a fresh renderer rather than wait for a fixed count of turns.
"""

from __future__ import annotations

import logging

from playwright.async_api import CDPSession
from playwright.async_api import Error as PlaywrightError

from browser.pool import Tab

logger = logging.getLogger(__name__)

GARBAGE_RATIO = 2.0
"""The heap a tab may reach, as a multiple of its last live heap, before it is collected."""
HEAP_HEADROOM_MB = 128.0
"""Live heap a tab may gain over its first document's before it is replaced: the replica's
pages hold 26 MB at chatgpt.com's bundle size and gain under 2 MB over 20 mounted routes."""
MB = 2**20


async def upkeep(tab: Tab) -> None:
    """After a full load: collect the tab's garbage when it has piled up, then weigh it."""
    tab.loaded = False
    page = tab.page
    try:
        cdp = await page.context.new_cdp_session(page)
        try:
            await _collect_when_due(tab, cdp)
        finally:
            await cdp.detach()
    except PlaywrightError as error:  # the tab closed meanwhile: nothing left to weigh
        logger.debug("could not weigh a tab's heap: %s", error)


async def _collect_when_due(tab: Tab, cdp: CDPSession) -> None:
    if tab.live_heap_mb is not None:
        used = (await cdp.send("Runtime.getHeapUsage"))["usedSize"] / MB
        if used < GARBAGE_RATIO * tab.live_heap_mb:
            return
    await cdp.send("HeapProfiler.collectGarbage")
    live = (await cdp.send("Runtime.getHeapUsage"))["usedSize"] / MB
    tab.live_heap_mb = live
    if tab.first_heap_mb is None:
        tab.first_heap_mb = live
    elif live > tab.first_heap_mb + HEAP_HEADROOM_MB:
        logger.info(
            "replacing a tab whose page holds %.0f MB of live script heap (%.0f MB at first)",
            live,
            tab.first_heap_mb,
        )
        tab.worn = True
