"""The replica challenges a browser that shows automation tells, as chatgpt.com's Cloudflare
does; the bridge's own browser, headed on a virtual display, shows none and is let in.

The tells are the public ones (shared/research/browser-acceptance.md): `navigator.webdriver`,
`HeadlessChrome` in the user agent, its client hints or `userAgentData`, no plugins.
"""

from __future__ import annotations

from typing import Any

import pytest

from browser import BridgeState
from browser.errors import ChallengeError


@pytest.fixture
def server_without_a_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.browser
async def test_a_headless_browser_is_challenged(make_bridge: Any, make_replica: Any) -> None:
    site = make_replica(auto_login=True, bot_check=True)
    headless = await make_bridge(site.url, browser_headless=True)
    assert await headless.state() is BridgeState.CHALLENGE
    with pytest.raises(ChallengeError):
        async with headless.ask("Let me in"):
            pass
    seen = {tell for verdict in await site.tells() for tell in verdict["tells"]}
    assert "user-agent header" in seen


@pytest.mark.browser
async def test_the_bridges_own_browser_shows_no_tells(
    make_bridge: Any, make_replica: Any, server_without_a_screen: None
) -> None:
    site = make_replica(auto_login=True, bot_check=True, ttft_ms=30, chunk_delay_ms=10)
    served = await make_bridge(site.url, browser_headless=None)
    assert served.session.display_plan.virtual
    async with served.ask("Am I a person?") as turn:
        assert 'You said: "Am I a person?"' in await turn.read()
    verdicts = await site.tells()
    assert {verdict["source"] for verdict in verdicts} == {"headers", "page"}, verdicts
    assert not [verdict for verdict in verdicts if verdict["tells"]], verdicts


@pytest.mark.browser
async def test_tells_in_the_page_itself_are_caught(make_replica: Any, person_browser: Any) -> None:
    """A faked user agent gets past the headers; a faked `navigator.webdriver` does not."""
    site = make_replica(auto_login=True, bot_check=True)
    context = await person_browser.new_context(
        user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36"
    )
    await context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => true})"
    )
    page = await context.new_page()
    try:
        await page.goto(site.url)
        await page.wait_for_selector("#challenge-form", state="attached")
    finally:
        await context.close()
    page_tells = [v["tells"] for v in await site.tells() if v["source"] == "page"]
    assert page_tells and "navigator.webdriver" in page_tells[-1], page_tells
    assert "webdriver getter" in page_tells[-1]
