"""The replica's page in real Chromium, driven like a person: type, press Enter, read.

These tests pin what a driver relies on: the DOM of the research notes, the page's own
network traffic, and each knob's visible effect.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from replica import catalog, model

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


@pytest.fixture(autouse=True)
async def _classic_page_by_default(request: pytest.FixtureRequest) -> None:
    """The tests up to "today's page" are the 2025 page's, whatever the default renderer."""
    if "replica" in request.fixturenames:
        await request.getfixturevalue("replica").configure(renderer="classic")


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


async def copied(page: Page) -> str:
    """What the last answer's copy button puts on the clipboard."""
    await page.get_by_test_id("copy-turn-action-button").last.click()
    return await page.evaluate("navigator.clipboard.readText()")


async def assert_exact_answer(page: Page, replica: Any, conversation_id: str, expected: str):
    """The model's Markdown, byte for byte, in the store and behind the copy button."""
    assert await last_answer(replica, conversation_id) == expected
    assert await copied(page) == expected


async def test_logging_in_through_the_form_keeps_the_visitor_in(make_replica, person_page):
    replica = make_replica(renderer="classic", ttft_ms=10, chunk_delay_ms=5)
    page = person_page
    await page.goto(replica.url)
    await expect(page.get_by_test_id("login-button")).to_be_visible()
    await expect(page.get_by_test_id("signup-button")).to_be_visible()
    assert await page.locator("#prompt-textarea").count() == 0
    assert await page.evaluate("fetch('/api/auth/session').then(r => r.json())") == {}
    welcome = page.get_by_role("dialog")
    await expect(welcome).to_contain_text("Thanks for trying ChatGPT")
    await welcome.get_by_text("Stay logged out").click()
    await expect(welcome).to_have_count(0)

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
    assert await page.title() == "Hello after login"

    await page.get_by_test_id("accounts-profile-button").click()
    await page.get_by_role("menuitem", name="Log out").click()
    await expect(page.get_by_test_id("login-button")).to_be_visible()


async def test_a_chat_streams_moves_to_its_url_and_answers_follow_ups(replica, person_page):
    page = person_page
    await replica.configure(chunk_delay_ms=60)
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
    assert (await replica.sends())[-1]["model"] == "gpt-5"
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
    assert stored["user_messages"] == 2
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
    await assert_exact_answer(page, replica, conversation_id, model.answer(prompt, "auto", 1))

    answer = page.locator(ANSWER)
    await expect(answer.locator("pre code.language-python")).to_contain_text("def greet")
    await expect(answer.locator("table th")).to_have_text(["Model", "Context", "Notes"])
    await expect(answer.locator("ol > li > ul > li > ul > li")).to_have_text("deeper detail")
    await expect(answer.locator('a[href="https://example.com/docs?q=1"]')).to_have_text("link")
    await expect(answer.locator("strong").first).to_have_text("bold")
    await expect(answer.locator("h2")).to_have_text("A rich answer")
    stored = await replica.conversation(conversation_id)
    assert stored["messages"][0]["text"] == prompt


async def test_layout_is_sidebar_column_and_composer_pill(replica, person_page):
    page = person_page
    await open_chat(page, replica.url)
    await ask(page, "layout check")
    sidebar = await page.locator("#sidebar").bounding_box()
    answer = await page.locator(ANSWER).bounding_box()
    composer = await page.locator("#composer-form").bounding_box()
    viewport = page.viewport_size
    assert sidebar["x"] == 0 and 200 <= sidebar["width"] <= 320
    assert sidebar["height"] == viewport["height"]
    main_center = sidebar["width"] + (viewport["width"] - sidebar["width"]) / 2
    assert abs(composer["x"] + composer["width"] / 2 - main_center) < 4
    assert abs(answer["x"] - composer["x"]) < 40
    assert composer["y"] + composer["height"] > viewport["height"] - 80
    radius = await page.locator("#composer-form").evaluate("e => getComputedStyle(e).borderRadius")
    assert float(radius.removesuffix("px")) >= 20


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

    prompt = "alpha\n\n  beta \t tab  \ngamma 👋🏽 日本語 <b>&amp;</b>\n"
    conversation_id = await ask(page, prompt)
    stored = await replica.conversation(conversation_id)
    assert stored["messages"][0]["text"] == prompt
    user_text = page.locator('[data-message-author-role="user"] .whitespace-pre-wrap')
    assert await user_text.text_content() == prompt


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
    assert await copied(page) == answer["text"]
    await expect(page.get_by_test_id("composer-speech-button")).to_be_visible()


async def send_only(page: Page, text: str) -> None:
    await type_prompt(page, text)
    await page.keyboard.press("Enter")


async def send_with(page: Page, replica: Any, text: str, **knobs: Any) -> None:
    """Set `knobs`, open a new chat and send `text`, without waiting for the answer."""
    await replica.configure(**knobs)
    await open_chat(page, replica.url)
    await send_only(page, text)


async def test_rate_limit_shows_the_dialog_and_gives_the_prompt_back(replica, person_page):
    page = person_page
    await send_with(page, replica, "limited prompt", rate_limit_next=1)
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Too many requests")
    await expect(dialog).to_contain_text("You've reached our limit of messages per hour")
    await dialog.get_by_role("button", name="Got it").click()
    await expect(dialog).to_have_count(0)
    assert await page.locator("#prompt-textarea").inner_text() == "limited prompt"
    assert [s["status"] for s in await replica.sends()][-1] == 429

    await page.locator("#prompt-textarea").click()
    await page.keyboard.press("Enter")
    await expect(page.locator(ACTIONS)).to_have_count(1)


IN_THREAD_ERRORS = [
    ({"fail_next_status": 403}, "Unusual activity has been detected from your device"),
    ({"fail_next_status": 401}, "Your authentication token has expired"),
    ({"fail_next_status": 500}, "Internal server error"),
    ({"sse_error_next": 1}, "Something went wrong while generating the response"),
    ({"cut_stream_next": 1}, "Network connection lost"),
]


async def test_in_thread_errors_offer_retry(replica, person_page):
    """One chat meets each failure in turn; Retry answers every time."""
    page = person_page
    await open_chat(page, replica.url)
    error = page.locator(".text-token-text-error")
    for answered, (knobs, text) in enumerate(IN_THREAD_ERRORS):
        await replica.configure(**knobs)
        await send_only(page, f"unlucky {answered}")
        await expect(error).to_contain_text(text)
        await expect(page.locator(ACTIONS)).to_have_count(answered)
        await expect(page.get_by_test_id("composer-speech-button")).to_be_visible()
        await page.get_by_test_id("regenerate-thread-error-button").click()
        await expect(page.locator(ACTIONS)).to_have_count(answered + 1)
        await expect(error).to_have_count(0)
        await expect(page.locator(ANSWER).last).to_contain_text(f'You said: "unlucky {answered}"')


async def test_toast_error_leaves_nothing_in_the_thread(replica, person_page):
    page = person_page
    await send_with(page, replica, "toasted", toast_error_next=1)
    await expect(page.get_by_test_id("toast-error")).to_contain_text("Something went wrong")
    await expect(page.locator("[data-message-author-role]")).to_have_count(0)
    assert await page.locator("#prompt-textarea").inner_text() == "toasted"


async def test_a_stall_shows_one_chunk_until_stopped(replica, person_page):
    page = person_page
    await send_with(page, replica, "stall here", stall_next=1)
    await expect(page.locator(ANSWER)).to_have_text(re.compile(r"^Model: auto"))
    await page.wait_for_timeout(300)
    text = await page.locator(ANSWER).text_content()
    assert len(text) <= 12, "a stalled stream sends only its first chunk"
    await expect(page.get_by_test_id("stop-button")).to_be_visible()
    await page.get_by_test_id("stop-button").click()
    await expect(page.locator(ACTIONS)).to_have_count(1)
    conversation_id = page.url.rsplit("/", 1)[1]
    stored = await replica.conversation(conversation_id)
    assert stored["messages"][-1]["status"] == "finished_partial_completion"


async def test_flickering_stop_button_turns_back_while_streaming(replica, person_page):
    """Stalled after one chunk, the answer is still streaming yet the stop button is gone."""
    page = person_page
    await replica.configure(flicker_stop=True, stall_next=1)
    await open_chat(page, replica.url)
    await page.evaluate(WATCH)
    await send_only(page, "flicker")
    await expect(page.locator(ANSWER)).to_have_text(re.compile(r"^Model: auto"))
    button = page.locator("#composer-submit-button")
    await expect(button).to_have_attribute("data-testid", "composer-speech-button")
    assert await page.locator(ACTIONS).count() == 0
    seen = await page.evaluate("window.__seen")
    assert "stop-button" in {s["button"] for s in seen}


async def test_markdown_stays_empty_until_the_turn_settles(replica, person_page):
    page = person_page
    await send_with(page, replica, "settle", markdown_empty_until_settled=True, stall_next=1)
    await expect(page.locator(ANSWER)).to_have_count(1)
    await expect(page.get_by_test_id("stop-button")).to_be_visible()
    await page.wait_for_url(re.compile(r"/c/"))
    conversation_id = page.url.rsplit("/", 1)[1]
    for _ in range(200):  # the first chunk has been sent once the store holds it
        if await last_answer(replica, conversation_id):
            break
        await asyncio.sleep(0.05)
    await page.wait_for_timeout(300)
    assert await page.locator(ANSWER).text_content() == ""
    await page.get_by_test_id("stop-button").click()
    await expect(page.locator(ACTIONS)).to_have_count(1)
    await expect(page.locator(ANSWER)).to_have_text(re.compile(r"^Model: auto"))


async def test_article_turns(replica, person_page):
    page = person_page
    await replica.configure(use_article=True)
    await open_chat(page, replica.url)
    await ask(page, "articles please")
    turns = page.locator('article[data-testid^="conversation-turn-"]')
    await expect(turns).to_have_count(2)
    assert await page.locator('section[data-testid^="conversation-turn-"]').count() == 0
    assert await turns.nth(0).get_attribute("data-turn") == "user"
    await replica.configure(use_article=False)  # a tab that stays open follows the change
    await ask(page, "sections again")
    sections = page.locator('section[data-testid^="conversation-turn-"]')
    await expect(sections).to_have_count(2)
    await expect(sections.nth(0)).to_have_attribute("data-turn", "user")


async def test_a_thinking_turn_renders_the_same_answer(replica, person_page):
    page = person_page
    # The classic page follows a handoff through the resume endpoint only.
    await replica.configure(thinking=True, handoff="resume", think_silence_ms=0)
    await open_chat(page, replica.url)
    prompt = "shapes markdown:table"
    conversation_id = await ask(page, prompt)
    await assert_exact_answer(page, replica, conversation_id, model.answer(prompt, "auto", 1))
    await expect(page.locator(".thoughts summary")).to_have_text("Thought for a few seconds")


async def test_challenge_page_and_the_false_positive_trap(replica, person_page):
    page = person_page
    await page.goto(replica.url)
    assert await page.locator('script[src*="/challenge-platform/"]').count() == 1
    await replica.configure(challenge=True)
    await page.goto(replica.url + "/c/whatever")
    assert await page.title() == "Just a moment..."
    await expect(page.locator("#challenge-form")).to_have_count(1)
    await expect(page.locator("#challenge-running")).to_contain_text("Verify you are human")


async def test_logged_out_knob_hides_the_composer(replica, person_page):
    page = person_page
    await replica.configure(logged_out=True)
    await page.goto(replica.url)
    await expect(page.get_by_test_id("login-button")).to_be_visible()
    assert await page.locator("#prompt-textarea").count() == 0


async def test_temporary_chat_is_flagged_and_not_listed(replica, person_page):
    page = person_page
    await open_chat(page, replica.url + "/?temporary-chat=true")
    await expect(page.locator("#temporary-banner")).to_contain_text("Temporary Chat")
    conversation_id = await ask(page, "off the record")
    send = (await replica.sends())[-1]
    assert send["temporary"] is True
    assert send["conversation_id"] == conversation_id
    assert (await replica.conversation(conversation_id))["temporary"] is True
    await page.goto(replica.url)
    await page.wait_for_function("document.body.dataset.ready === 'true'")
    assert await page.locator(f'#history a[href="/c/{conversation_id}"]').count() == 0


async def test_model_preselection_and_switcher(replica, person_page):
    page = person_page
    await open_chat(page, replica.url + "/?model=gpt-5-thinking")
    switcher = page.get_by_test_id("model-switcher-dropdown-button")
    await switcher.click()
    checked = page.locator('[role="menuitemradio"][aria-checked="true"]')
    await expect(checked).to_have_attribute("data-testid", "model-switcher-gpt-5-thinking")
    await page.get_by_test_id("model-switcher-gpt-4o").click()
    await expect(switcher).to_contain_text("GPT-4o")
    conversation_id = await ask(page, "which model")
    assert (await replica.sends())[-1]["model"] == "gpt-4o"
    assert "Model: gpt-4o." in await last_answer(replica, conversation_id)
    node = page.locator('[data-message-author-role="assistant"]')
    await expect(node).to_have_attribute("data-message-model-slug", "gpt-4o")
    await expect(page.get_by_test_id("create-new-chat-button")).to_have_attribute("href", "/")


async def test_try_again_regenerates_the_same_user_message(replica, person_page):
    page = person_page
    await open_chat(page, replica.url)
    conversation_id = await ask(page, "again please")
    await page.get_by_test_id("regenerate-turn-action-button").click()
    await expect(page.locator(ACTIONS)).to_have_count(1)
    await expect(page.locator(ANSWER)).to_have_count(1)
    stored = await replica.conversation(conversation_id)
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "assistant"]
    send = (await replica.sends())[-1]
    assert send["message_id"] == stored["messages"][0]["id"]
    await page.reload()
    await expect(page.locator(ANSWER)).to_have_count(1)
    await expect(page.locator(ANSWER)).to_contain_text("User messages so far: 1.")


async def test_handed_off_stream_is_resumed_by_the_page(replica, person_page):
    page = person_page
    await replica.configure(handoff_next=1, handoff="resume")
    await open_chat(page, replica.url)
    resumed = []
    page.on("request", lambda r: resumed.append(r.url) if r.url.endswith("/resume") else None)
    prompt = "hand me off words:30"
    conversation_id = await ask(page, prompt)
    assert len(resumed) == 1
    await assert_exact_answer(page, replica, conversation_id, model.answer(prompt, "auto", 1))


async def test_dropped_stream_shows_an_error_but_the_answer_completes(replica, person_page):
    page = person_page
    await send_with(page, replica, "dropped words:20", drop_stream_next=1)
    await expect(page.locator(".text-token-text-error")).to_contain_text("Network connection lost")
    await replica.settled(page.url.rsplit("/", 1)[1])
    await page.reload()
    await expect(page.locator(ACTIONS)).to_have_count(1)
    await expect(page.locator(ANSWER)).to_contain_text("lorem ipsum")


async def test_anonymous_chat_has_a_composer_and_login_buttons(make_replica, person_page):
    replica = make_replica(renderer="classic", anonymous_chat=True, ttft_ms=10, chunk_delay_ms=5)
    page = person_page
    await page.goto(replica.url)
    await page.get_by_role("dialog").get_by_text("Stay logged out").click()
    await expect(page.get_by_test_id("login-button")).to_be_visible()
    await expect(page.locator("#prompt-textarea")).to_be_visible()
    posted = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    await type_prompt(page, "anonymous question")
    await page.keyboard.press("Enter")
    await expect(page.locator(ACTIONS)).to_have_count(1)
    assert [url.removeprefix(replica.url) for url in posted] == ["/backend-anon/f/conversation"]
    assert page.url == replica.url + "/"
    send = (await replica.sends())[-1]
    stored = await replica.conversation(send["conversation_id"])
    assert stored["messages"][-1]["text"] == model.answer("anonymous question", "auto", 1)
    async with httpx.AsyncClient(base_url=replica.url) as http:
        assert (await http.post("/backend-api/f/conversation", json={})).status_code == 401


# ---------------------------------------------------------------- today's page (2026)
# The classic tests above run against `renderer="classic"` (the default of ReplicaOptions
# for now); the tests below ask the session replica for today's renderers.

ACTIVE = '[data-app-shell-active-page="true"]'
TEXTBOX = f'{ACTIVE} form[data-chatgpt-composer] div[contenteditable="true"][role="textbox"]'
TODAY = {"think_silence_ms": 0, "handoff_silence_ms": 0}
"""Today's default effort (Medium) thinks and hands every answer off: keep that quick."""
RENDERERS = ["search-unit", "legacy-turn"]
FINISHED = {
    "search-unit": f"{ACTIVE} [data-chatgpt-search-unit-key] .turn-action-controls > :first-child",
    "legacy-turn": f'{ACTIVE} [data-testid="copy-turn-action-button"]',
}
LAST_EXCHANGE = {
    "search-unit": (
        f"{ACTIVE} [data-turn-key]:last-child [data-user-message-bubble]",
        f"{ACTIVE} [data-turn-key]:last-child .turn-action-controls > :first-child",
    ),
    "legacy-turn": (
        f'{ACTIVE} section:nth-last-child(2) [data-message-author-role="user"]',
        f'{ACTIVE} section:last-child [data-testid="copy-turn-action-button"]',
    ),
}


async def open_today(page: Page, replica: Any, renderer: str = "search-unit", **knobs: Any):
    await replica.reset()
    await replica.configure(renderer=renderer, **TODAY, **knobs)
    await page.goto(replica.url)
    await page.wait_for_function("document.body.dataset.ready === 'true'")
    await expect(page.locator(TEXTBOX)).to_be_visible()


async def send_today(page: Page, text: str, renderer: str = "search-unit") -> None:
    """Type and send `text` in the active page; wait until its answer is finished."""
    await page.locator(TEXTBOX).click()
    await page.keyboard.insert_text(text)
    await page.keyboard.press("Enter")
    user, finished = LAST_EXCHANGE[renderer]
    await expect(page.locator(user)).to_have_text(text)
    await expect(page.locator(finished)).to_have_count(1)


async def ask_today(page: Page, text: str, renderer: str = "search-unit") -> str:
    """`send_today`; returns the conversation id from the URL."""
    await send_today(page, text, renderer)
    match = re.search(r"/c/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


async def test_a_search_unit_chat_is_keyed_by_its_user_message(replica, person_page):
    page = person_page
    await open_today(page, replica)
    conversation_id = await ask_today(page, "first question")
    stored = await replica.conversation(conversation_id)
    user_id = next(m["id"] for m in stored["messages"] if m["role"] == "user")
    answer = stored["messages"][-1]
    exchange = page.locator(f"{ACTIVE} [data-turn-key]")
    await expect(exchange).to_have_count(1)
    assert await exchange.get_attribute("data-turn-key") == user_id
    user_unit = exchange.locator('[data-chatgpt-search-unit-key$=":0:user"]')
    assert await user_unit.get_attribute("data-chatgpt-search-message-ids") == user_id
    await expect(user_unit.locator("[data-user-message-bubble]")).to_have_text("first question")
    assistant = exchange.locator('[data-chatgpt-search-unit-key$=":assistant"]')
    ids = (await assistant.get_attribute("data-chatgpt-search-message-ids")).split()
    assert ids[-1] == answer["id"], "the last id of an assistant unit is the reply"
    body = assistant.locator('[data-markdown-text-style="assistant-message"]')
    await expect(body).to_contain_text('You said: "first question"')
    await expect(body).to_contain_text("Model: gpt-5-6-thinking. User messages so far: 1.")
    # The reasoning shows as an activity header, never as the answer.
    await expect(assistant.locator(".activity-header")).to_have_text("Thought for a few seconds")
    assert "I will answer" not in await body.inner_text()
    assert await page.locator("[data-message-author-role]").count() == 0
    controls = assistant.locator(".turn-action-controls > button")
    await expect(controls).to_have_count(2)  # Copy, then "Rate response" where thumbs were
    await expect(controls.first).to_have_attribute("aria-label", "Copy")
    await expect(controls.last).to_have_attribute("aria-label", "Rate response")

    assert await ask_today(page, "second question") == conversation_id
    await expect(page.locator(f"{ACTIVE} [data-turn-key]")).to_have_count(2)
    await expect(page.locator(f"{ACTIVE} [data-turn-key]").last).to_contain_text(
        "User messages so far: 2."
    )


@pytest.mark.parametrize("renderer", RENDERERS)
async def test_follow_ups_and_a_reload_keep_the_renderers_structure(replica, person_page, renderer):
    page = person_page
    await open_today(page, replica, renderer)
    conversation_id = await ask_today(page, "one", renderer)
    assert await ask_today(page, "two", renderer) == conversation_id
    stored = await replica.conversation(conversation_id)
    assert stored["user_messages"] == 2
    user_ids = [m["id"] for m in stored["messages"] if m["role"] == "user"]
    await page.reload()
    await page.wait_for_function("document.body.dataset.ready === 'true'")
    if renderer == "search-unit":
        keys = page.locator(f"{ACTIVE} [data-turn-key]")
        await expect(keys).to_have_count(2)
        assert [await k.get_attribute("data-turn-key") for k in await keys.all()] == user_ids
    else:
        users = page.locator(f'{ACTIVE} section [data-message-author-role="user"]')
        await expect(users).to_have_count(2)
        assert [await u.get_attribute("data-message-id") for u in await users.all()] == user_ids
        await expect(
            page.locator(f'{ACTIVE} section[data-testid="conversation-turn-4"]')
        ).to_contain_text("User messages so far: 2.")


async def test_the_app_shell_keeps_left_pages_mounted_and_hidden(replica, person_page):
    page = person_page
    await open_today(page, replica)
    first = await ask_today(page, "the first chat")
    await page.evaluate("window.__same_document = true")
    await page.get_by_test_id("create-new-chat-button").click()
    await expect(page).to_have_url(replica.url + "/")
    pages = page.locator("[data-app-shell-page]")
    await expect(pages).to_have_count(2)
    await expect(page.locator(ACTIVE)).to_have_count(1)
    old = page.locator(f'[data-app-shell-page][data-route="/c/{first}"]')
    await expect(old).to_be_hidden()
    assert await old.evaluate("e => getComputedStyle(e).display") == "none"
    assert await old.get_attribute("data-app-shell-active-page") == "false"
    await expect(old.locator("[data-turn-key]")).to_have_count(1)  # still mounted
    second = await ask_today(page, "the second chat")
    assert second != first
    await page.locator(f'#history a[href="/c/{first}"]').click()
    await expect(page).to_have_url(f"{replica.url}/c/{first}")
    await expect(page.locator(ACTIVE)).to_have_attribute("data-route", f"/c/{first}")
    await expect(page.locator(f"{ACTIVE} [data-user-message-bubble]")).to_have_text(
        "the first chat"
    )
    assert await page.evaluate("window.__same_document") is True, "no reload in the page"
    await page.go_back()  # Back shows the mounted page again, still without a reload
    await expect(page.locator(ACTIVE)).to_have_attribute("data-route", f"/c/{second}")
    assert await page.evaluate("window.__same_document") is True
    await page.goto(f"{replica.url}/c/{second}")  # a typed URL loads the page anew
    assert await page.evaluate("window.__same_document") is None
    await expect(page.locator("[data-app-shell-page]")).to_have_count(1)


async def test_the_page_weight_is_paid_per_load_not_per_route(replica, person_page):
    page = person_page
    await open_today(page, replica, page_weight_ms=200)
    weight = await page.evaluate("window.__REPLICA_WEIGHT__")
    assert weight["weight"] == 200 and weight["burned"] >= 200
    bundle = await page.evaluate(
        "performance.getEntriesByType('resource')"
        ".find((e) => e.name.endsWith('/assets/app-bundle.js')).decodedBodySize"
    )
    assert bundle >= 20 * 2**20  # chatgpt.com's size (docs/replica.md, "Page weight")
    await page.evaluate("window.__REPLICA_WEIGHT__.seen = true")
    await page.get_by_test_id("create-new-chat-button").click()  # in the page: nothing runs
    await expect(page).to_have_url(replica.url + "/")
    assert await page.evaluate("window.__REPLICA_WEIGHT__.seen") is True
    await page.reload()  # a load pays again
    await page.wait_for_function("document.body.dataset.ready === 'true'")
    assert await page.evaluate("window.__REPLICA_WEIGHT__.seen") is None
    assert await page.evaluate("window.__REPLICA_WEIGHT__.burned") >= 200


async def test_a_long_chat_mounts_only_its_tail(replica, person_page):
    page = person_page
    await open_today(page, replica, ttft_ms=0, chunk_delay_ms=0)
    for n in range(8):
        await ask_today(page, f"message {n}")
    keys = page.locator(f"{ACTIVE} [data-turn-key]")
    await expect(keys).to_have_count(6)
    await expect(keys.first.locator("[data-user-message-bubble]")).to_have_text("message 2")
    units = page.locator(f"{ACTIVE} [data-chatgpt-search-unit-key]")
    assert (
        await units.first.get_attribute("data-chatgpt-search-unit-key") == "fallback-turn-0:0:user"
    )


@pytest.mark.parametrize("knobs", [{}, {"send_without_label": True}])
async def test_send_appears_only_with_text(replica, person_page, knobs):
    page = person_page
    # Slow chunks keep the answer, and its Stop button, up for a second or more: at full
    # speed it ends within ~0.1 s, which a loaded machine's first look can miss.
    await open_today(page, replica, chunk_delay_ms=200, **knobs)
    composer = page.locator(f"{ACTIVE} form[data-chatgpt-composer]")
    send = composer.locator('button[type="submit"]')
    await expect(send).to_have_count(0)
    await expect(composer.get_by_role("button", name="Dictate")).to_be_visible()
    await page.locator(TEXTBOX).click()
    await page.keyboard.insert_text("hello")
    await expect(send).to_be_visible()
    if knobs:
        assert await send.get_attribute("aria-label") is None
        assert await send.get_attribute("id") == "composer-submit-button"
    else:
        await expect(composer.get_by_role("button", name="Send", exact=True)).to_be_visible()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Backspace")
    await expect(send).to_have_count(0)
    await page.keyboard.insert_text("now send it")
    await send.click()
    stop = composer.locator('button[type="button"][aria-label="Stop"]')
    await expect(stop).to_be_visible()
    legacy_stop = page.get_by_test_id("stop-button")
    assert await legacy_stop.count() == 1
    await expect(legacy_stop).to_be_hidden()
    await expect(page.locator(FINISHED["search-unit"])).to_have_count(1)
    await expect(stop).to_have_count(0)


@pytest.mark.parametrize("without_id", [False, True])
async def test_the_hidden_fallback_textarea_ignores_typing(replica, person_page, without_id):
    page = person_page
    await open_today(page, replica, composer_without_id=without_id)
    target = page.locator("#prompt-textarea")
    fallback = page.locator(f'{ACTIVE} textarea[name="prompt-textarea"]')
    await expect(fallback).to_be_hidden()
    if without_id:
        assert await target.evaluate("e => e.tagName") == "TEXTAREA"
        assert await page.locator(TEXTBOX).get_attribute("id") is None
    else:
        assert await target.evaluate("e => e.getAttribute('role')") == "textbox"
    await fallback.evaluate(
        "e => { e.value = 'typed into the fallback';"
        " e.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    await page.locator(TEXTBOX).press("Enter")
    await expect(page.locator(f'{ACTIVE} button[type="submit"]')).to_have_count(0)
    assert await replica.sends() == []
    assert await page.locator(TEXTBOX).inner_text() == ""


@pytest.mark.parametrize("renderer", RENDERERS)
async def test_korean_labels(replica, person_page, renderer):
    page = person_page
    await open_today(page, replica, renderer, lang="ko")
    assert await page.evaluate("document.documentElement.lang") == "ko"
    composer = page.locator(f"{ACTIVE} form[data-chatgpt-composer]")
    await expect(composer.get_by_role("textbox", name="ChatGPT에게 물어보세요")).to_be_visible()
    await expect(composer.get_by_role("button", name="ChatGPT 모델 선택")).to_be_visible()
    await expect(composer.get_by_role("button", name="음성 입력")).to_be_visible()
    await page.locator(TEXTBOX).click()
    await page.keyboard.insert_text("안녕하세요")
    await expect(composer.get_by_role("button", name="보내기")).to_be_visible()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Backspace")
    conversation_id = await ask_today(page, "안녕하세요", renderer)
    assert "안녕하세요" in (await replica.conversation(conversation_id))["messages"][-1]["text"]
    await expect(page.locator(FINISHED[renderer])).to_have_attribute("aria-label", "복사")


async def test_a_refused_send_gives_the_prompt_back(replica, person_page):
    page = person_page
    await open_today(page, replica, rate_limit_next=1)
    await page.locator(TEXTBOX).click()
    await page.keyboard.insert_text("too many")
    await page.keyboard.press("Enter")
    await expect(page.locator(".toast")).to_contain_text("limit")
    await expect(page.locator(TEXTBOX)).to_have_text("too many")
    await expect(page.locator(f"{ACTIVE} [data-turn-key]")).to_have_count(0)
    assert [s["status"] for s in await replica.sends()] == [429]


async def choose_effort(page: Page, keys: list[str]) -> None:
    await page.locator(f"{ACTIVE} button[data-codex-intelligence-trigger]").click()
    slider = page.locator(
        '[role=menu] [role=menuitem][aria-label="Power"][data-reasoning-slider] span[role=slider]'
    )
    await slider.focus()
    for key in keys:
        await slider.press(key)


async def test_the_picker_decides_model_and_effort(replica, person_page):
    page = person_page
    await open_today(page, replica)
    trigger = page.locator(f"{ACTIVE} button[data-codex-intelligence-trigger]")
    assert await trigger.get_attribute("aria-label") == "Select ChatGPT model"
    assert await trigger.get_attribute("data-selected-reasoning-effort") == "medium"
    await choose_effort(page, ["ArrowLeft"])
    await expect(page.locator("#effort-status")).to_have_text("Instant, 1 of 5.")
    await expect(trigger).to_have_attribute("data-selected-reasoning-effort", "instant")
    await page.keyboard.press("Escape")
    await ask_today(page, "instant please")
    await choose_effort(page, ["ArrowRight", "ArrowRight"])
    await expect(page.locator("[role=slider]")).to_have_attribute("aria-valuetext", "High")
    await page.keyboard.press("Escape")
    await ask_today(page, "think harder")
    await trigger.click()
    await page.locator("[role=menu] [role=menuitem][data-model-picker-view-toggle]").click()
    radios = page.locator("[role=menu] [role=menuitemradio]")
    await expect(radios).to_have_text([m["title"] for m in catalog.MODELS])
    await radios.filter(has_text="GPT-4o").click()
    await expect(trigger).to_have_text("GPT-4o")
    await ask_today(page, "an older model")
    sends = [(s["model"], s["thinking_effort"]) for s in await replica.sends()]
    assert sends == [("gpt-5-6", None), ("gpt-5-6-thinking", "extended"), ("gpt-4o", None)]


async def test_an_aborted_first_post_is_sent_again(replica, person_page):
    page = person_page
    await open_today(page, replica, abort_post_next=1)
    conversation_id = await ask_today(page, "retry me")
    first, second = await replica.sends()
    assert first["message_id"] == second["message_id"]
    assert first["prompt"] == second["prompt"] == "retry me"
    assert (first["status"], second["status"]) == ("aborted", 200)
    await expect(page.locator(f"{ACTIVE} [data-turn-key]")).to_have_count(1)
    stored = await replica.conversation(conversation_id)
    assert stored["user_messages"] == 1


@pytest.mark.parametrize("via", ["ws", "resume"])
async def test_a_handed_off_answer_is_followed(replica, person_page, via):
    page = person_page
    await open_today(page, replica, handoff_next=1, handoff=via)
    await choose_effort(page, ["Home"])  # Instant: no thinking, the knob hands off mid-answer
    await page.keyboard.press("Escape")
    sockets: list[str] = []
    resumed: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.on("request", lambda r: resumed.append(r.url) if r.url.endswith("/resume") else None)
    prompt = "hand me off words:30"
    conversation_id = await ask_today(page, prompt)
    expected = model.answer(prompt, "gpt-5-6", 1)
    assert await last_answer(replica, conversation_id) == expected
    assert await copied_today(page) == expected
    assert (len(sockets), len(resumed)) == ((1, 0) if via == "ws" else (0, 1))


async def copied_today(page: Page) -> str:
    await page.locator(FINISHED["search-unit"]).last.click()
    return await page.evaluate("navigator.clipboard.readText()")


async def test_tool_steps_are_activity_and_the_last_id_is_the_reply(replica, person_page):
    page = person_page
    await open_today(page, replica, tool_call_next=1)
    await choose_effort(page, ["Home"])
    await page.keyboard.press("Escape")
    conversation_id = await ask_today(page, "look it up")
    stored = await replica.conversation(conversation_id)
    answer = stored["messages"][-1]
    assistant = page.locator(f'{ACTIVE} [data-chatgpt-search-unit-key$=":assistant"]')
    ids = (await assistant.get_attribute("data-chatgpt-search-message-ids")).split()
    assert len(ids) >= 3 and ids[-1] == answer["id"], ids
    await expect(assistant.locator(".activity-header")).to_have_count(1)
    body = assistant.locator('[data-markdown-text-style="assistant-message"]')
    assert await body.inner_text() == answer["text"]
    assert "1 result" not in await body.inner_text()


async def test_a_refused_resume_falls_back_to_the_read_back(replica, person_page):
    page = person_page
    await open_today(page, replica, handoff="resume", resume_failure=410)
    conversation_id = await ask_today(page, "think and come back")
    expected = model.answer("think and come back", "gpt-5-6-thinking", 1)
    assert await last_answer(replica, conversation_id) == expected
    assert await copied_today(page) == expected


async def test_stop_keeps_the_partial_answer_in_todays_page(replica, person_page):
    page = person_page
    await open_today(page, replica, stall_next=1)
    await choose_effort(page, ["Home"])
    await page.keyboard.press("Escape")
    await page.locator(TEXTBOX).click()
    await page.keyboard.insert_text("stall words:50")
    await page.keyboard.press("Enter")
    body = page.locator(f'{ACTIVE} [data-markdown-text-style="assistant-message"]')
    await expect(body).to_contain_text("Model:")
    await page.locator(f'{ACTIVE} form[data-chatgpt-composer] button[aria-label="Stop"]').click()
    await expect(page.locator(FINISHED["search-unit"])).to_have_count(1)
    conversation_id = page.url.rsplit("/", 1)[1]
    stored = await replica.settled(conversation_id)
    assert stored["messages"][-1]["status"] == "finished_partial_completion"
    assert await body.inner_text() == stored["messages"][-1]["text"]


async def test_todays_page_logged_out_and_anonymous(make_replica, person_page):
    replica = make_replica(anonymous_chat=True, renderer="search-unit", ttft_ms=10)
    page = person_page
    await page.goto(replica.url)
    await expect(page.get_by_test_id("login-button")).to_be_visible()
    await expect(page.get_by_test_id("signup-button")).to_be_visible()
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    await send_today(page, "anonymous question")
    assert [url.removeprefix(replica.url) for url in posted] == ["/backend-anon/f/conversation"]
    assert page.url == replica.url + "/"
    send = (await replica.sends())[-1]
    assert send["model"] == "gpt-5-6"
    assert (
        "anonymous question"
        in (await replica.conversation(send["conversation_id"]))["messages"][-1]["text"]
    )
