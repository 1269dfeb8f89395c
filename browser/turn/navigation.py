"""Opening the chat a turn runs in: the app's own in-page route change wherever it is safe.

chatgpt.com is a single-page app: a full load parses megabytes of script (seconds of CPU on
a small machine), a route change inside the page costs milliseconds. So both kinds of turn
use the page's own navigation when it can be trusted, and a full load otherwise:
- a new chat clicks the page's "New chat" when the tab's last turn ended well (no dialog,
  toast or error left on the page), this document was loaded as a new chat with
  the same model and temporary mode (`/?model=<slug>` and `temporary-chat=true` are the
  only way to make them certain, and an in-page new chat keeps the document's choice), it
  has opened fewer than `ROUTES_PER_DOCUMENT` routes (each stays mounted, hidden: a
  document of endless in-page chats would only grow) and the page then shows an empty chat;
- a follow-up clicks its sidebar link when its route is not mounted in this document yet
  (a mounted one shows what it showed when it was left, and a turn sent from a stale page
  would branch the chat); a follow-up opened in a document makes its new chats unsure;
- a new chat in a custom GPT or project clicks its sidebar link under the same conditions
  (and never for a temporary chat), then checks the page shows an empty chat under
  `/g/<id>`; its document is then no plain new chat's (the GPT may choose the model);
- anything else is a full load, and the load a document's age calls for is started after
  the turn that used it up (`prepare`), so the next request finds a fresh composer. After a
  full load, the same upkeep weighs the tab and collects the garbage of the documents it
  replaced when it has piled up (`browser/tab_memory.py`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError

from browser import selectors
from browser.errors import WebAppError
from browser.page import probe, same_origin
from browser.pool import Tab
from browser.session import first_line
from browser.tab_memory import upkeep

logger = logging.getLogger("browser.turn")

ROUTES_PER_DOCUMENT = 20
"""In-page route changes one document makes before the next new chat loads it afresh."""
IN_PAGE_WAIT = 2.0
"""Seconds an in-page "New chat" may take to show an empty chat before a full load."""
LOAD_TIMEOUT = 60_000

_IN_APP_JS = """
([links, routes, path]) => {
  const all = (sel) => { try { return Array.from(document.querySelectorAll(sel)); }
                         catch (e) { return []; } };
  // Only an app shell changes routes in the page; elsewhere a click would reload it anyway.
  const pages = routes.flatMap(all);
  if (!pages.length || pages.some((page) => page.dataset.route === path && path !== "/")) {
    return false;
  }
  const link = links.flatMap(all).find((a) => a.getAttribute("href") === path
                                              && a.getClientRects().length > 0);
  if (link) link.click();
  return !!link;
}
"""


_GIZMO_LINK_JS = r"""
([links, routes, gizmo]) => {
  const all = (sel) => { try { return Array.from(document.querySelectorAll(sel)); }
                         catch (e) { return []; } };
  if (!routes.flatMap(all).length) return false;  // no app shell: a click would reload
  const start = "/g/" + gizmo;
  // `/g/<id>`, `/g/<id>-<name>`, either with `/project`: never a chat of it.
  const link = links.flatMap(all).find((a) => {
    const href = a.getAttribute("href") || "";
    return href.startsWith(start) && /^(-[^/]*)?(\/project)?$/.test(href.slice(start.length))
      && a.getClientRects().length > 0;
  });
  if (link) link.click();
  return !!link;
}
"""


async def open_chat(
    tab: Tab,
    base: str,
    follow_up: str | None,
    model: str | None,
    temporary: bool,
    gizmo: str | None = None,
) -> None:
    """Show the new chat or the conversation `follow_up` in `tab`, in custom GPT or
    project `gizmo` when one is given (a new one through its sidebar link when it can)."""
    await settle(tab)
    healthy = tab.clean  # the last turn here ended well: no dialog, toast or error left
    if follow_up:
        shown = selectors.conversation_id_from_url(tab.page.url)
        settled = healthy and tab.conversation_id == follow_up == shown
        tab.document = None  # the picker may change for it, and may not change back
        if settled:
            return  # this tab shows the conversation already
        path = selectors.conversation_path(follow_up, gizmo)
    else:
        path = selectors.new_chat_path(model, temporary, gizmo)
    tab.clean = False
    tab.conversation_id = follow_up
    if gizmo is None:
        in_app = (
            await _in_app(tab, base, list(selectors.HISTORY_LINK), path)
            if follow_up
            else healthy and await _new_chat_in_app(tab, base, (model, temporary))
        )
        if in_app:
            return
    elif not follow_up and healthy and await _gizmo_in_app(tab, base, gizmo, (model, temporary)):
        tab.document = None
        return
    await _load(tab, base + path)
    # A GPT's or project's page is no plain new chat (it may choose another model).
    tab.document = None if follow_up or gizmo else (model, temporary)


async def on_origin(tab: Tab, base: str) -> None:
    """Load ChatGPT in a tab that shows something else, so the page's own fetches work."""
    await settle(tab)
    if not same_origin(tab.page.url, base):
        tab.clean, tab.document = False, None
        await _load(tab, base + "/")


async def _new_chat_in_app(tab: Tab, base: str, document: tuple[str | None, bool]) -> bool:
    """The page's own "New chat", when it opens what a load of the new-chat page would."""
    if tab.document != document or tab.routes >= ROUTES_PER_DOCUMENT:
        return False
    if not await _in_app(tab, base, list(selectors.layers("new_chat")), "/"):
        return False
    if await _shows_empty_chat(tab, "/"):
        return True
    # An anonymous chat keeps its route, say: "New chat" showed no empty chat.
    logger.info("the page's New chat showed no empty chat; loading a new one")
    return False


async def _gizmo_in_app(tab: Tab, base: str, gizmo: str, document: tuple[str | None, bool]) -> bool:
    """The sidebar's link to GPT or project `gizmo`, from a plain (not temporary) new-chat
    document of the same model: what a load of `/g/<gizmo>` would show."""
    if document[1] or tab.document != document or tab.routes >= ROUTES_PER_DOCUMENT:
        return False
    if not same_origin(tab.page.url, base):
        return False
    arguments = [list(selectors.GIZMO_LINK), list(selectors.APP_SHELL_ROUTE), gizmo]
    if not await tab.page.evaluate(_GIZMO_LINK_JS, arguments):
        return False
    tab.routes += 1
    if await _shows_empty_chat(tab, f"/g/{gizmo}"):
        logger.debug("opened %s through the sidebar's link", gizmo)
        return True
    logger.info("the sidebar's link to %s showed no empty chat; loading it", gizmo)
    return False


async def _shows_empty_chat(tab: Tab, path: str) -> bool:
    """Within `IN_PAGE_WAIT`, the page shows an empty chat at a path starting with `path`."""
    deadline = time.monotonic() + IN_PAGE_WAIT
    while time.monotonic() < deadline:
        state = await probe(tab.page)
        at = urlsplit(tab.page.url).path.startswith(path)
        if at and state.composer and state.conversation_id is None and not state.user_ids:
            return True
        await asyncio.sleep(0.05)
    return False


async def _in_app(tab: Tab, base: str, links: list[str], path: str) -> bool:
    """Click the page's visible link to `path` when the page can change route to it."""
    if not same_origin(tab.page.url, base):
        return False
    arguments = [links, list(selectors.APP_SHELL_ROUTE), path]
    followed = bool(await tab.page.evaluate(_IN_APP_JS, arguments))
    if followed:
        tab.routes += 1
        logger.debug("opened %s through the page's own route change", path)
    return followed


async def _load(tab: Tab, url: str) -> None:
    """A full load of `url`: a new document with only that route mounted."""
    page = tab.page
    tab.routes, tab.loaded = 0, True
    try:
        await page.goto(url, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT)
    except PlaywrightError as error:
        if page.is_closed() or "closed" in str(error):
            raise
        raise WebAppError(
            f"Could not open {url}: {first_line(error)}. Check CHATGPT_URL and the network.",
            delivered=False,
        ) from None


def prepare(tab: Tab, base: str) -> None:
    """After a turn: load a fresh new chat now when the next one would need a full load,
    and weigh the tab after a full load (`tab_memory.upkeep`).

    Off the request path: the tab goes back to the pool at once and the next turn on it
    waits for this upkeep (`settle`) rather than doing it.
    """
    if tab.dead or tab.preparing:
        return
    document = tab.document
    url = None
    if document is not None and tab.routes >= ROUTES_PER_DOCUMENT:
        tab.clean, tab.conversation_id = False, None
        url = base + selectors.new_chat_path(*document)
    if url or tab.loaded:
        tab.preparing = asyncio.create_task(_prepare(tab, url), name="tab-prepare")


async def _prepare(tab: Tab, url: str | None) -> None:
    if url is not None:
        document, tab.document = tab.document, None
        try:
            await _load(tab, url)
        except (PlaywrightError, WebAppError) as error:
            logger.info("preparing a fresh new chat failed: %s", error)
            return
        tab.document = document
    await upkeep(tab)


async def settle(tab: Tab) -> None:
    """Wait for a load `prepare` started (its failure only means the next turn loads)."""
    preparing, tab.preparing = tab.preparing, None
    if preparing is not None:
        await asyncio.wait({preparing})  # never raises: not even the load's own cancellation
