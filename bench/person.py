"""A person's own browser on the account, used before the bridge is, as every real account is.

A plain Playwright Chromium (its own profile, no bridge) opens the replica, and for each
question clicks "New chat", types it and clicks Send, the way a person does. It also
measures the page's own time to first token: from the click on Send to the first answer
text in the active page (a MutationObserver in the page, on the page's own clock), which is
what the bridge's time to first token is compared with.
"""

from __future__ import annotations

import statistics
import uuid

from playwright.async_api import Page, async_playwright

from browser import selectors

_SEND_AND_TIME_JS = """
async ([active, send]) => {
  const page = () => document.querySelector(active) || document;
  const answered = () => Array.from(page().querySelectorAll(".markdown"))
    .some((node) => node.textContent.trim());
  return await new Promise((resolve) => {
    let started = 0;
    const seen = () => {
      if (!answered()) return;
      observer.disconnect();
      resolve(performance.now() - started);
    };
    const observer = new MutationObserver(seen);
    observer.observe(document.body, {subtree: true, childList: true, characterData: true});
    started = performance.now();
    page().querySelector(send).click();
  });
}
"""

_IDLE_JS = """
(active) => !(document.querySelector(active) || document).querySelector(".composer-stop")
"""


async def _ask(page: Page, text: str) -> float:
    active = selectors.ACTIVE_PAGE[0]
    await page.locator(selectors.any_of(selectors.NEW_CHAT)).first.click()
    composer = page.locator(f"{active} [contenteditable='true'][role='textbox']").first
    await composer.click()
    await page.keyboard.type(text)
    ms = float(await page.evaluate(_SEND_AND_TIME_JS, [active, "button[type=submit]"]))
    await page.wait_for_function(_IDLE_JS, arg=active, timeout=60_000)
    return ms


async def use_account(url: str, chats: int, executable: str, model: str = "auto") -> list[float]:
    """`chats` new chats typed in a person's own browser; the page's own TTFT of each, ms."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            page = await (await browser.new_context()).new_page()
            await page.goto(f"{url}/?model={model}")
            await page.wait_for_selector("body[data-ready=true]")
            return [
                await _ask(page, f"a person's question {uuid.uuid4().hex[:6]} words:60")
                for _ in range(chats)
            ]
        finally:
            await browser.close()


def describe(ttfts: list[float]) -> str:
    return (
        f"the page's own time to first token (click on Send to first answer text), "
        f"{len(ttfts)} new chats in a person's browser: median {statistics.median(ttfts):.0f} ms"
    )
