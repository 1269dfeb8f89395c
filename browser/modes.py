"""The composer's modes beside the model: web search, chosen the way a person does it.

A person turns search on in the composer's "+" menu ("Web search"); the composer then shows
a "Search" pill and the send carries `system_hints: ["search"]` (docs/replica.md "Modes").
The bridge does the same and reads the pill back before typing, so a page that ignored the
click, or a plan without search (no such menu entry), fails the turn with nothing sent,
never as a silent answer without search. `web_search=False` removes a pill a person left
on; None leaves the page as it is.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from browser import diagnostics, selectors
from browser.errors import WebAppError
from browser.page import control

CLICK_TIMEOUT = 10_000
MENU_WAIT = 3_000
"""Milliseconds for the tools menu to open after the "+" click."""


async def choose_search(page: Page, web_search: bool | None, data_dir: Path) -> None:
    """Make the composer's web search match `web_search`; raise before typing if it cannot."""
    if web_search is None:
        return
    try:
        if await _search_on(page) == web_search:
            return
        if web_search:
            await _turn_on(page)
        else:
            await (await control(page, "search_pill")).click(timeout=CLICK_TIMEOUT)
        if await _search_on(page) != web_search:
            raise LookupError("the composer did not show the change")
    except PlaywrightError as error:
        if page.is_closed():
            raise
        raise WebAppError(
            f"Could not turn web search {'on' if web_search else 'off'} in ChatGPT's composer: "
            f"{str(error).splitlines()[0]}."
            + await diagnostics.explain(page, "web-search", data_dir),
            delivered=False,
        ) from None
    except LookupError as error:
        raise WebAppError(
            f"Could not turn web search {'on' if web_search else 'off'}: {error}.",
            delivered=False,
        ) from None


async def _search_on(page: Page) -> bool:
    return bool(
        await page.locator(selectors.any_of(selectors.SEARCH_PILL)).filter(visible=True).count()
    )


async def _turn_on(page: Page) -> None:
    await (await control(page, "tools_button")).click(timeout=CLICK_TIMEOUT)
    menu = page.locator(selectors.any_of(selectors.TOOLS_MENU)).filter(visible=True).last
    item = menu.get_by_role("menuitemradio", name=selectors.WEB_SEARCH_ITEM, exact=True)
    await menu.wait_for(state="visible", timeout=MENU_WAIT)
    if not await item.count():  # the menu is built whole: what it lacks now, it lacks
        await page.keyboard.press("Escape")
        raise LookupError(
            "this ChatGPT account offers no web search (the composer's menu has no "
            f"{selectors.WEB_SEARCH_ITEM!r}); ask without it"
        )
    await item.click(timeout=CLICK_TIMEOUT)
