"""The replica's page in real Chromium, driven like a person: type, press Enter, read.

These tests pin what a driver relies on: the DOM of the research notes, the page's own
network traffic, and each knob's visible effect.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from browser.replica import model

pytestmark = pytest.mark.browser

ACTIONS = 'div[role="group"][aria-label="Response actions"]'
ANSWER = '[data-message-author-role="assistant"] .markdown.prose'

# Records what a person would have seen at every DOM change: the last answer's text, the
# URL and the submit button, so a test can assert on the intermediate states afterwards.
WATCH = """() => {
  window.__seen = [];
  const record = () => {
    const answers = document.querySelectorAll('[data-message-author-role="assistant"] .markdown');
    const button = document.querySelector('#composer-submit-button');
    window.__seen.push({
      text: answers.length ? answers[answers.length - 1].textContent : null,
      path: location.pathname,
      button: button ? button.dataset.testid : null,
      done: document.querySelectorAll('div[role="group"][aria-label="Response actions"]').length,
    });
  };
  new MutationObserver(record).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true});
}"""


async def open_chat(page: Page, url: str) -> None:
    await page.goto(url)
    await expect(page.locator("#prompt-textarea")).to_be_visible()
    await page.wait_for_function("document.body.dataset.ready === 'true'")


async def type_prompt(page: Page, text: str) -> None:
    composer = page.locator("#prompt-textarea")
    await composer.click()
    await page.keyboard.insert_text(text)
    assert await composer.evaluate("e => e.innerText") == text


async def ask(page: Page, text: str) -> str:
    """Type and send `text`, wait for the answer's action bar; returns the conversation id."""
    finished = await page.locator(ACTIONS).count()
    await type_prompt(page, text)
    await page.keyboard.press("Enter")
    await expect(page.locator(ACTIONS)).to_have_count(finished + 1)
    match = re.search(r"/c/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


async def last_answer(replica: Any, conversation_id: str) -> str:
    conversation = await replica.conversation(conversation_id)
    return conversation["messages"][-1]["text"]


async def test_logging_in_through_the_form_keeps_the_visitor_in(make_replica, person_page):
    replica = make_replica(ttft_ms=10, chunk_delay_ms=5)
    page = person_page
    await page.goto(replica.url)
    await expect(page.get_by_test_id("login-button")).to_be_visible()
    await expect(page.get_by_test_id("signup-button")).to_be_visible()
    assert await page.locator("#prompt-textarea").count() == 0
    assert await page.evaluate("fetch('/api/auth/session').then(r => r.json())") == {}

    await page.get_by_test_id("login-button").click()
    await page.fill('input[name="name"]', "Ada Lovelace")
    await page.fill('input[name="password"]', "anything")
    await page.click('button[type="submit"]')
    await page.wait_for_url(replica.url + "/")
    await expect(page.locator("#prompt-textarea")).to_be_visible()
    await expect(page.get_by_test_id("accounts-profile-button")).to_contain_text("Ada Lovelace")

    cookies = await page.context.cookies()
    (session,) = [c for c in cookies if c["name"] == "next-auth.session-token"]
    assert session["httpOnly"]
    assert session["expires"] > __import__("time").time() + 7 * 24 * 3600
    conversation_id = await ask(page, "hello after login")
    assert "User messages so far: 1." in await last_answer(replica, conversation_id)


async def test_a_chat_streams_moves_to_its_url_and_answers_follow_ups(replica, person_page):
    page = person_page
    await replica.configure(chunk_delay_ms=40)
    await open_chat(page, replica.url + "/?model=gpt-5")
    assert await page.get_by_test_id("composer-speech-button").count() == 1
    await type_prompt(page, "first question words:40")
    await expect(page.get_by_test_id("send-button")).to_have_attribute("aria-label", "Send prompt")
    await page.evaluate(WATCH)
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("stop-button")).to_have_attribute(
        "aria-label", "Stop streaming"
    )
    await expect(page.locator(ACTIONS)).to_have_count(1)
    conversation_id = page.url.rsplit("/", 1)[1]
    expected = model.answer("first question words:40", "gpt-5", 1)
    assert await last_answer(replica, conversation_id) == expected

    seen = await page.evaluate("window.__seen")
    partial = {s["text"] for s in seen if s["text"] and not s["done"]}
    assert len(partial) >= 3, "the answer should arrive in several visible steps"
    assert any(s["path"] == f"/c/{conversation_id}" for s in seen if not s["done"]), (
        "the URL should become /c/<id> while the answer streams"
    )
    await expect(page.locator(ANSWER)).to_contain_text("User messages so far: 1.")

    section = page.locator('section[data-testid^="conversation-turn-"][data-turn="assistant"]')
    await expect(section).to_have_count(1)
    assert await section.get_attribute("data-turn-id")
    node = section.locator("[data-message-author-role=assistant]")
    assert await node.get_attribute("data-message-model-slug") == "gpt-5"

    assert await ask(page, "second question") == conversation_id
    await expect(page.locator(ANSWER).last).to_contain_text("User messages so far: 2.")
    stored = await replica.conversation(conversation_id)
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"] * 2
    assert stored["messages"][2]["text"] == "second question"
    await expect(page.locator(f'#history a[href="/c/{conversation_id}"]')).to_have_text(
        "First question words:40"
    )

    await page.reload()
    await expect(page.locator(ANSWER)).to_have_count(2)
    await expect(page.locator(ANSWER).last).to_contain_text("User messages so far: 2.")
    users = page.locator('[data-message-author-role="user"] .whitespace-pre-wrap')
    await expect(users).to_have_text(["first question words:40", "second question"])
    await ask(page, "third after reload")
    assert "User messages so far: 3." in await last_answer(replica, conversation_id)


async def test_copy_button_copies_the_exact_markdown(replica, person_page):
    page = person_page
    await open_chat(page, replica.url)
    prompt = 'rich please markdown:rich with "quotes"\nand a second line'
    conversation_id = await ask(page, prompt)
    expected = model.answer(prompt, "auto", 1)
    assert await last_answer(replica, conversation_id) == expected
    await page.get_by_test_id("copy-turn-action-button").click()
    assert await page.evaluate("navigator.clipboard.readText()") == expected

    answer = page.locator(ANSWER)
    await expect(answer.locator("pre code.language-python")).to_contain_text("def greet")
    await expect(answer.locator("table th")).to_have_text(["Model", "Context", "Notes"])
    await expect(answer.locator("ol > li > ul > li > ul > li")).to_have_text("deeper detail")
    await expect(answer.locator('a[href="https://example.com/docs?q=1"]')).to_have_text("link")
    await expect(answer.locator("strong").first).to_have_text("bold")
    await expect(answer.locator("h2")).to_have_text("A rich answer")
    stored = await replica.conversation(conversation_id)
    assert stored["messages"][0]["text"] == prompt


async def test_shift_enter_is_a_newline_and_the_fallback_textarea_is_inert(replica, person_page):
    page = person_page
    await open_chat(page, replica.url)
    composer = page.locator("#prompt-textarea")
    await composer.click()
    await page.keyboard.type("line one")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("line two")
    assert await composer.evaluate("e => e.innerText") == "line one\nline two"
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Backspace")
    assert await composer.evaluate("e => e.innerText") == ""
    await expect(page.get_by_test_id("composer-speech-button")).to_be_visible()

    fallback = page.locator('textarea[name="prompt-textarea"]')
    assert not await fallback.is_visible()
    await fallback.evaluate("e => { e.value = 'ignored'; e.dispatchEvent(new Event('input')); }")
    await expect(page.get_by_test_id("composer-speech-button")).to_be_visible()

    conversation_id = await ask(page, "alpha\n\n  beta  \ngamma")
    stored = await replica.conversation(conversation_id)
    assert stored["messages"][0]["text"] == "alpha\n\n  beta  \ngamma"
    user_text = page.locator('[data-message-author-role="user"] .whitespace-pre-wrap')
    assert await user_text.text_content() == "alpha\n\n  beta  \ngamma"


async def test_stop_keeps_the_partial_answer(replica, person_page):
    page = person_page
    await replica.configure(chunk_delay_ms=80)
    await open_chat(page, replica.url)
    await type_prompt(page, "a long one words:300")
    await page.keyboard.press("Enter")
    await expect(page.locator(ANSWER)).to_contain_text("You said")
    await page.wait_for_url(re.compile(r"/c/"))
    await page.get_by_test_id("stop-button").click()
    await expect(page.locator(ACTIONS)).to_have_count(1)
    conversation_id = page.url.rsplit("/", 1)[1]
    stored = await replica.conversation(conversation_id)
    answer = stored["messages"][-1]
    full = model.answer("a long one words:300", "auto", 1)
    assert answer["status"] == "finished_partial_completion"
    assert 0 < len(answer["text"]) < len(full)
    assert full.startswith(answer["text"])
    await page.get_by_test_id("copy-turn-action-button").click()
    assert await page.evaluate("navigator.clipboard.readText()") == answer["text"]
    await expect(page.get_by_test_id("composer-speech-button")).to_be_visible()
