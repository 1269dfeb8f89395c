"""The DOM adapters on real saved chatgpt.com pages and on small pages written to prove a rule.

Each saved page (`../shared/research/dom-snapshots/`, see its README) is loaded into real
Chromium with every network request refused (the pages have no working scripts): its
renderer must be recognised and its composer, controls and messages found by structure.
"""

from __future__ import annotations

import json
import logging
import re
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Route

from browser import Bridge, adapters, diagnostics, selectors
from browser.errors import WebAppError
from browser.page import control, probe

pytestmark = pytest.mark.browser

SNAPSHOTS = next(
    (
        folder / "shared" / "research" / "dom-snapshots"
        for folder in Path(__file__).resolve().parents
        if (folder / "shared" / "research" / "dom-snapshots").is_dir()
    ),
    Path("../shared/research/dom-snapshots"),
)
"""`../shared/research/dom-snapshots` from the checkout (a worktree sits one level deeper)."""

LEGACY, SEARCH = "legacy-turn-v1", "search-unit-v2"


def snapshot(number: int) -> str:
    return (SNAPSHOTS / f"snap-{number}.html").read_text(encoding="utf-8")


def legacy_ids(html: str) -> list[tuple[str, str]]:
    """(role, id) of every legacy message, read from the markup independently of the adapter."""
    found = re.findall(r'data-message-author-role="(\w+)"\s+data-message-id="([^"]+)"', html)
    return [(role, message_id) for role, message_id in found]


def written_file(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture
async def page(person_browser: Browser) -> AsyncIterator[Page]:
    context = await person_browser.new_context(viewport={"width": 1280, "height": 800})
    await context.route("**/*", _refuse)
    page = await context.new_page()
    page.set_default_timeout(20_000)
    yield page
    await context.close()


async def _refuse(route: Route) -> None:
    await route.abort()


@pytest.fixture
def no_user_layers() -> Iterator[None]:
    yield
    selectors.use_file(None)


async def described(page: Page, name: str) -> dict[str, object] | None:
    """What the control `name` resolves to: tag, attributes, visibility (None: not found)."""
    locator = await control(page, name)
    if not await locator.count():
        return None
    return await locator.evaluate(
        """(el) => ({tag: el.tagName, visible: el.getClientRects().length > 0,
                     attributes: Object.fromEntries(Array.from(el.attributes)
                       .filter((a) => a.name !== "class").map((a) => [a.name, a.value]))})"""
    )


# --- the saved pages ------------------------------------------------------------------------

EXPECTED = {
    1: (SEARCH, 1, 1, False),
    2: (LEGACY, 1, 1, False),
    3: (LEGACY, 2, 2, False),
    4: (LEGACY, 0, 0, True),
    5: (LEGACY, 5, 6, False),
}
"""renderer, user and assistant messages (from the README), whether Send exists."""


@pytest.mark.parametrize("number", sorted(EXPECTED))
async def test_saved_page(page: Page, number: int) -> None:
    renderer, users, answers, has_send = EXPECTED[number]
    html = snapshot(number)
    await page.set_content(html, wait_until="domcontentloaded")
    state = await probe(page)

    assert state.detection.renderer == renderer, state.detection.seen
    assert await adapters.detect(page) == state.detection
    matching = [a.name for a in adapters.REGISTRY if await a.matches(page)]
    assert matching[:1] == [renderer]
    roles = [m.role for m in state.messages]
    assert (roles.count("user"), roles.count("assistant")) == (users, answers)
    if renderer == LEGACY:
        assert [(m.role, m.id) for m in state.messages] == legacy_ids(html)
    assert all(m.done and m.text for m in state.messages if m.role == "assistant")

    composer = await described(page, "composer")
    assert composer and composer["visible"] and composer["tag"] == "DIV"
    assert composer["attributes"]["contenteditable"] == "true"
    assert state.composer and state.composer_text is not None

    send = await described(page, "send")
    assert (send is not None) == has_send
    assert await described(page, "stop") is None and not state.stop
    assert await described(page, "model_trigger") is not None


async def test_search_unit_page_reads_units_and_korean_controls(page: Page) -> None:
    await page.set_content(snapshot(1), wait_until="domcontentloaded")
    state = await probe(page)
    assert [(m.role, m.id) for m in state.messages] == [
        ("user", "11994a7c-da62-4f49-8551-b9c7ef9a6cce"),
        ("assistant", "c5c904ce-7b66-49f5-a45a-d0ac3fad6a59"),
    ]
    assert "Markdown" in state.messages[0].text or state.messages[0].text
    assert "```" not in state.messages[1].text and "bold" in state.messages[1].text
    composer = await described(page, "composer")
    # The answer holds a code editor with role=textbox earlier in the page: not the composer.
    assert composer and composer["attributes"]["aria-label"] == "ChatGPT에게 물어보세요"
    assert "data-composer-markdown" in composer["attributes"]
    trigger = await described(page, "model_trigger")
    assert trigger and trigger["attributes"]["aria-label"] == "ChatGPT 모델 선택"
    assert "data-codex-intelligence-trigger" in trigger["attributes"]
    assert state.detection.seen[0] == "scope [data-app-shell-main-surface]"


async def test_legacy_composer_is_the_editor_not_the_hidden_textarea(page: Page) -> None:
    await page.set_content(snapshot(4), wait_until="domcontentloaded")
    assert await page.locator('textarea[name="prompt-textarea"]').count() == 1
    composer = await described(page, "composer")
    assert composer and composer["attributes"]["id"] == "prompt-textarea"
    send = await described(page, "send")
    assert send and send["attributes"]["data-testid"] == "send-button"
    state = await probe(page)
    assert state.composer_text == "Please respond with exactly: streamed response from ChatGPT."


# --- rules, on pages written for them -------------------------------------------------------

SEARCH_EXCHANGE = """
<div data-turn-key="{id}-u">
  <div data-chatgpt-search-unit-key="t:0:user" data-chatgpt-search-message-ids="{id}-u">
    <div data-user-message-bubble="true">question {id}</div></div>
  <div data-chatgpt-search-unit-key="t:1:assistant"
       data-chatgpt-search-message-ids="{id}-tool {id}-a">
    <div data-markdown-text-style="assistant-message">answer {id}</div></div>
  <div class="turn-action-controls"><button>Copy</button></div>
</div>
"""
COMPOSER = """
<form data-chatgpt-composer>
  <div class="ProseMirror" contenteditable="true" role="textbox">{text}</div>
  <button type="button" aria-label="Stop">stop</button>
</form>
"""


async def test_reads_only_the_active_page(page: Page) -> None:
    hidden = SEARCH_EXCHANGE.format(id="old") + COMPOSER.format(text="old draft")
    active = SEARCH_EXCHANGE.format(id="new") + COMPOSER.format(text="")
    await page.set_content(
        f'<div data-app-shell-active-page="false" style="display:none">{hidden}</div>'
        f'<div data-app-shell-active-page="true">{active}</div>'
    )
    state = await probe(page)
    assert state.detection.renderer == SEARCH
    assert [(m.role, m.id, m.text) for m in state.messages] == [
        ("user", "new-u", "question new"),
        ("assistant", "new-a", "answer new"),
    ]
    assert state.messages[1].done
    assert state.composer_text == ""
    await (await control(page, "composer")).type("hello")
    assert (await probe(page)).composer_text == "hello"


async def test_an_unknown_renderer_is_reported_not_guessed(
    page: Page, caplog: pytest.LogCaptureFixture
) -> None:
    await page.set_content(
        '<main><div class="msg" data-role="user">hi</div>'
        '<div contenteditable="true" aria-label="Ask ChatGPT"></div></main>'
    )
    with caplog.at_level(logging.WARNING, logger="browser.page"):
        state = await probe(page)
    assert state.detection == adapters.Detection("unknown", ("scope document",))
    assert not state.detection.known and state.messages == []
    assert state.composer, "the composer is found by its label layer all the same"
    assert any("unrecognised ChatGPT page renderer" in r.getMessage() for r in caplog.records)
    for adapter in adapters.REGISTRY:
        assert not await adapter.matches(page)


async def test_a_selectors_file_layer_wins(
    page: Page, tmp_path: Path, no_user_layers: None
) -> None:
    await page.set_content(
        COMPOSER.format(text="") + '<div id="new-composer" contenteditable="true"></div>'
    )
    assert (await described(page, "composer") or {})["attributes"].get("id") is None
    fix = tmp_path / "selectors.json"
    fix.write_text('{"composer": ["div#new-composer"]}\n')
    selectors.use_file(fix)
    assert (await described(page, "composer") or {})["attributes"]["id"] == "new-composer"
    fix.write_text('{"composer": ["div[[broken"], "send": ["button[[broken"]}\n')
    selectors.use_file(fix)  # invalid CSS matches nothing: the defaults still work
    assert (await described(page, "composer") or {})["attributes"].get("id") is None
    assert await described(page, "send") is None  # and a missing one is no error either


async def test_a_hidden_stop_button_is_not_a_stop_button(page: Page) -> None:
    hidden_stop = '<button data-testid="stop-button" style="display:none">x</button>'
    await page.set_content(hidden_stop + '<form data-type="unified-composer"></form>')
    assert not (await probe(page)).stop
    assert await described(page, "stop") is None
    await page.set_content(hidden_stop + COMPOSER.format(text=""))
    assert (await probe(page)).stop
    stop = await described(page, "stop")
    assert stop and stop["attributes"]["aria-label"] == "Stop" and stop["visible"]


# --- diagnostics ----------------------------------------------------------------------------

FAKE_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJlMTIzNDU2Nzg5"


async def test_diagnostic_of_a_saved_page_has_no_message_text(page: Page, tmp_path: Path) -> None:
    await page.set_content(snapshot(3), wait_until="domcontentloaded")
    texts = [m.text for m in (await probe(page)).messages]
    path = await diagnostics.write(page, "send", tmp_path)
    assert path.parent == tmp_path / "diagnostics" and path.name.endswith("-send.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    written = written_file(path)
    report = json.loads(written)
    assert report["renderer"] == LEGACY
    assert report["layers_matched"]["composer"]
    assert {"data-message-id", "data-message-author-role"} <= {
        name for node in report["message_nodes"] for name in node["attributes"]
    }
    assert any(c["testid"] == "model-switcher-dropdown-button" for c in report["controls"])
    for text in texts:
        for line in filter(None, (part.strip() for part in text.splitlines())):
            # As a word: a short message ("hi") also spells parts of selector names ("chip").
            assert not re.search(rf"(?<!\w){re.escape(line)}(?!\w)", written)


async def test_diagnostic_never_carries_tokens_or_queries(page: Page, tmp_path: Path) -> None:
    secret_page = f"""
      <script>window.__session = {{accessToken: "{FAKE_TOKEN}"}};</script>
      <div data-message-author-role="user" data-message-id="m1" data-token="{FAKE_TOKEN}">
        my secret question {FAKE_TOKEN}</div>
      <button aria-label="Share {FAKE_TOKEN}" data-testid="share-{FAKE_TOKEN}">Share</button>
      <nav><a aria-label="Conversation about my secret plans" href="/c/1">x</a></nav>
      <form data-type="unified-composer"><div class="ProseMirror" contenteditable="true">
        draft secret</div></form>
    """

    async def serve(route: Route) -> None:
        await route.fulfill(content_type="text/html", body=secret_page)

    await page.route("https://chatgpt.test/**", serve)
    await page.goto(f"https://chatgpt.test/c/abc?session={FAKE_TOKEN}&q=secret")
    await page.context.add_cookies(
        [{"name": "session", "value": FAKE_TOKEN, "url": "https://chatgpt.test/"}]
    )
    message = await diagnostics.explain(page, "Choose model", tmp_path)
    path = Path(message.split(" is in ")[1].rstrip("."))
    written = written_file(path)
    assert path.name.endswith("-choose-model.json")
    report = json.loads(written)
    assert report["path"] == "/c/abc" and report["renderer"] == LEGACY
    assert any(c["label"] == "Share [redacted]" for c in report["controls"])
    assert "data-token" in report["message_nodes"][0]["attributes"]
    for secret in ("eyJ", "c2lnbmF0dXJl", "secret", "session="):
        assert secret not in written, secret


async def test_a_step_that_misses_its_element_names_a_diagnostic(bridge: Bridge) -> None:
    """End to end on the replica: a model the menu does not offer leaves a redacted file."""
    async with bridge.ask("remember the word pelican") as turn:
        await turn.read()
    with pytest.raises(WebAppError) as caught:
        async with bridge.ask("and the colour teal", turn.conversation_id, "no-such-model"):
            pass
    assert caught.value.delivered is False
    found = re.search(r"is in (\S+\.json)\.", caught.value.message)
    assert found, caught.value.message
    written = written_file(Path(found.group(1)))
    report = json.loads(written)
    assert report["step"] == "choose-model" and report["renderer"] == SEARCH  # the default page
    assert report["path"] == f"/c/{turn.conversation_id}"
    assert "pelican" not in written and "teal" not in written and turn.text[:20] not in written
