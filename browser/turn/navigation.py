"""Opening the chat a turn runs in: the app's own in-page route change where it is safe.

Today's page changes routes without a reload when a sidebar link is clicked: the new route
reads its conversation from the server, which is cheaper than loading the whole app again.
A full load is still used when it is needed:
- a new chat: only `/?model=<slug>` (and `temporary-chat=true`) make the model and the
  temporary mode certain; the in-page "New chat" link carries neither;
- a follow-up whose route is already mounted (hidden) in this document: it shows what it
  showed when it was left, and a turn sent from a stale page would branch the chat;
- no sidebar link for it (older chats, the classic page, another site).
"""

from __future__ import annotations

import logging

from playwright.async_api import Error as PlaywrightError

from browser import selectors
from browser.errors import WebAppError
from browser.page import same_origin
from browser.pool import Tab
from browser.session import first_line

logger = logging.getLogger("browser.turn")

_FOLLOW_LINK_JS = """
([links, routes, path]) => {
  const all = (sel) => { try { return Array.from(document.querySelectorAll(sel)); }
                         catch (e) { return []; } };
  // Only an app shell changes routes in the page; elsewhere a click would reload it anyway.
  const pages = routes.flatMap(all);
  if (!pages.length || pages.some((page) => page.dataset.route === path)) return false;
  const link = links.flatMap(all).find((a) => a.getAttribute("href") === path
                                              && a.getClientRects().length > 0);
  if (link) link.click();
  return !!link;
}
"""


async def open_chat(
    tab: Tab, base: str, follow_up: str | None, model: str | None, temporary: bool
) -> None:
    """Show the new chat or the conversation `follow_up` in `tab`."""
    page = tab.page
    if follow_up:
        shown = selectors.conversation_id_from_url(page.url)
        if tab.clean and tab.conversation_id == follow_up == shown:
            return  # this tab shows the conversation already, settled
        path = selectors.conversation_path(follow_up)
    else:
        path = selectors.new_chat_path(model, temporary)
    tab.clean = False
    tab.conversation_id = follow_up
    if follow_up and await _follow_link(tab, base, path):
        return
    try:
        await page.goto(base + path, wait_until="domcontentloaded", timeout=60_000)
    except PlaywrightError as error:
        if page.is_closed() or "closed" in str(error):
            raise
        raise WebAppError(
            f"Could not open {base + path}: {first_line(error)}. Check CHATGPT_URL and "
            "the network.",
            delivered=False,
        ) from None


async def _follow_link(tab: Tab, base: str, path: str) -> bool:
    """Click the sidebar's link to `path` when its route is not mounted yet."""
    if not same_origin(tab.page.url, base):
        return False
    arguments = [list(selectors.HISTORY_LINK), list(selectors.APP_SHELL_ROUTE), path]
    followed = bool(await tab.page.evaluate(_FOLLOW_LINK_JS, arguments))
    if followed:
        logger.debug("opened %s through the page's own route change", path)
    return followed
