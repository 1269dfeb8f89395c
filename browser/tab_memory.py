"""A tab's memory after a full load: free the document it replaced, and weigh what is left.

Measured on the replica at chatgpt.com's bundle size (`bench/bench_load.py`, docs/browser.md
"Tab memory"): a full load leaves the replaced document's whole script heap behind as
garbage, and V8 collects it late. A renderer that stays at ~110 MB after a collection sat
at 160-350 MB under load, holding two or three dead documents, so Chromium's memory
swung by hundreds of MB from one round of turns to the next. Nothing was leaked: forcing
a collection brought every tab back to one document and the same heap. So after a turn
whose tab loaded a page, off the request path (the next turn on the tab waits for it, no
one else does), the tab collects its garbage and reads its live heap.

The heap after that collection is the tab's own measured memory: what the page keeps alive
(chatgpt.com keeps visited routes mounted, hidden). A tab whose live heap has grown by
more than `HEAP_HEADROOM_MB` beyond what its first document held is worn: the pool replaces
it with a fresh renderer rather than wait for a fixed count of turns.
"""

from __future__ import annotations

import logging

from playwright.async_api import Error as PlaywrightError

from browser.pool import Tab

logger = logging.getLogger(__name__)

HEAP_HEADROOM_MB = 128.0
"""Live heap a tab may gain over its first document's before it is replaced: the replica's
pages hold 26 MB at chatgpt.com's bundle size and gain under 2 MB over 20 mounted routes."""
MB = 2**20


async def collect(tab: Tab) -> None:
    """Collect the garbage of the documents this tab's loads replaced; weigh the live heap."""
    tab.loaded = False
    page = tab.page
    try:
        cdp = await page.context.new_cdp_session(page)
        try:
            await cdp.send("HeapProfiler.collectGarbage")
            heap = await cdp.send("Runtime.getHeapUsage")
        finally:
            await cdp.detach()
    except PlaywrightError as error:  # the tab closed meanwhile: nothing left to weigh
        logger.debug("could not weigh a tab's heap: %s", error)
        return
    live = heap["usedSize"] / MB
    if tab.first_heap_mb is None:
        tab.first_heap_mb = live
    elif live > tab.first_heap_mb + HEAP_HEADROOM_MB:
        logger.info(
            "replacing a tab whose page holds %.0f MB of live script heap (%.0f MB at first)",
            live,
            tab.first_heap_mb,
        )
        tab.worn = True
