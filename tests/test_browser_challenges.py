"""Every challenge shape peers have seen on chatgpt.com is recognised, and nothing else.

steipete/oracle `src/browser/actions/navigation.ts` (2026-05): the Cloudflare interstitial
titles, its forms and running markers, its iframes, a short "verify you are human" page;
its challenge-platform script alone is on normal pages too ("weak" evidence only).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from browser.page import probe

COMPOSER = (
    '<form data-chatgpt-composer><div class="ProseMirror" contenteditable="true"></div></form>'
)
SHAPES = {
    "interstitial title": "<title>Just a moment...</title><p>Checking your browser</p>",
    "block page title": "<title>Attention Required! | Cloudflare</title><p>Sorry</p>",
    "challenge form": '<form id="challenge-form" action="/"></form>',
    "running marker": '<div id="challenge-running">Checking</div>',
    "cf running marker": '<div id="cf-challenge-running"></div>',
    "challenge class": '<div class="main cf-challenge-box"></div>',
    "turnstile iframe": '<iframe src="https://challenges.cloudflare.com/cdn-cgi/x"></iframe>',
    "platform iframe": '<iframe src="/cdn-cgi/challenge-platform/h/b/turnstile"></iframe>',
    "short verify page": "<h1>Verify you are human</h1><p>by completing the action below</p>",
}


@pytest.fixture
async def page(person_browser: Browser) -> AsyncIterator[Page]:
    opened = await person_browser.new_page()
    yield opened
    await opened.close()


@pytest.mark.browser
@pytest.mark.parametrize("shape", SHAPES)
async def test_each_challenge_shape_is_a_challenge(page: Page, shape: str) -> None:
    await page.set_content(SHAPES[shape])
    assert (await probe(page)).challenge == "strong"


@pytest.mark.browser
async def test_the_app_itself_is_never_a_challenge(page: Page) -> None:
    # ChatGPT titles the tab after the chat, and a chat may talk about human checks.
    talk = "<p>How do I make sure to verify you are human checks pass?</p>" * 3
    await page.set_content(f"<title>Just a moment</title>{COMPOSER}{talk}")
    assert (await probe(page)).challenge is None
    long_page = "<p>Verify you are human</p>" + "<p>" + "lorem ipsum " * 500 + "</p>"
    await page.set_content(long_page)
    assert (await probe(page)).challenge is None


@pytest.mark.browser
async def test_the_challenge_script_alone_is_weak_evidence(page: Page) -> None:
    await page.set_content(
        f'{COMPOSER}<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>'
    )
    assert (await probe(page)).challenge == "weak"
