"""`Bridge.rate`: an answer's thumb pressed in real Chromium, proven by the replica's record.

The replica records every `POST /backend-api/conversation/message_feedback` the page makes
(`GET /_replica/feedback`): a rating counts only when it is there, sent by the page, for the
answer the turn named (`Turn.message_id`), and no prompt was typed for it. The saved pages
(`shared/research/dom-snapshots`) show where the thumbs are in both of today's renderers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page

from browser import Bridge, feedback
from browser.errors import ConversationNotFoundError, FeedbackRefusedError, MessageNotFoundError
from tests.test_browser_adapters import snapshot

pytestmark = pytest.mark.browser


async def answered(bridge: Bridge, prompt: str) -> tuple[str, str]:
    """Ask; the chat's id and the answer's message id as the turn reported them."""
    async with bridge.ask(prompt) as turn:
        await turn.read()
    assert turn.conversation_id is not None and turn.message_id is not None
    return turn.conversation_id, turn.message_id


async def test_a_thumb_pressed_in_the_page_reaches_chatgpt(bridge: Bridge, replica: Any) -> None:
    conversation_id, message_id = await answered(bridge, "Rate me")
    stored = await replica.conversation(conversation_id)
    assert message_id == stored["messages"][-1]["id"], "the turn names the stored answer"
    sends = len(await replica.sends())

    await bridge.rate(conversation_id, message_id, "thumbsUp")
    await bridge.rate(conversation_id, message_id, "thumbsDown")  # a second verdict replaces

    recorded = await replica.feedback()
    ratings = [(f["conversation_id"], f["message_id"], f["rating"]) for f in recorded]
    assert ratings[-2:] == [
        (conversation_id, message_id, "thumbsUp"),
        (conversation_id, message_id, "thumbsDown"),
    ]
    assert len(await replica.sends()) == sends, "rating typed no prompt"


async def test_what_cannot_be_rated_says_why(bridge: Bridge, replica: Any) -> None:
    conversation_id, message_id = await answered(bridge, "Rate me too")
    before = len(await replica.feedback())
    with pytest.raises(ConversationNotFoundError):
        await bridge.rate("00000000-0000-4000-8000-000000000000", message_id, "thumbsUp")
    with pytest.raises(MessageNotFoundError):
        await bridge.rate(conversation_id, "no-such-message", "thumbsUp")
    await replica.configure(feedback_fail_next=1)
    with pytest.raises(FeedbackRefusedError, match="HTTP 500"):
        await bridge.rate(conversation_id, message_id, "thumbsDown")
    assert len(await replica.feedback()) == before, "nothing was recorded"


@pytest.mark.parametrize(
    ("number", "message_id", "found", "label"),
    [
        (5, "d6c3824e-9c23-4bfe-b8fb-9127dfc0ee9a", "thumb", "Good response"),
        (2, None, "thumb", "좋은 응답"),
        (1, "c5c904ce-7b66-49f5-a45a-d0ac3fad6a59", "opener", "응답 평가"),
    ],
)
async def test_the_saved_pages_show_where_to_press(
    person_page: Page, number: int, message_id: str | None, found: str, label: str
) -> None:
    await person_page.set_content(snapshot(number), wait_until="domcontentloaded")
    answer = message_id or await person_page.get_attribute(
        '[data-message-author-role="assistant"]', "data-message-id"
    )
    assert answer is not None
    assert await feedback.locate(person_page, answer, "thumbsUp") == found
    marked = person_page.locator(f"[{feedback.MARK}]")
    assert await marked.count() == 1
    assert await marked.get_attribute("aria-label") == label
    assert await feedback.locate(person_page, "not-an-answer", "thumbsUp") == "no-message"


async def test_the_classic_pages_thumbs_send_the_rating_too(
    bridge: Bridge, replica: Any, person_page: Page
) -> None:
    conversation_id, message_id = await answered(bridge, "Rate me on the 2025 page")
    await replica.configure(renderer="classic")
    await person_page.goto(f"{replica.url}/c/{conversation_id}")
    await until(lambda: feedback.locate(person_page, message_id, "thumbsDown"), "thumb")
    thumb = person_page.locator(f"[{feedback.MARK}]")
    await thumb.click()
    await until(lambda: thumb.get_attribute("aria-pressed"), "true")
    [record] = [f for f in await replica.feedback() if f["message_id"] == message_id]
    assert (record["conversation_id"], record["rating"]) == (conversation_id, "thumbsDown")


async def until(read: Callable[[], Awaitable[Any]], expected: Any, timeout: float = 10) -> None:
    """Poll an async `read()` until it returns `expected`."""
    deadline = time.monotonic() + timeout
    while (value := await read()) != expected:
        assert time.monotonic() < deadline, f"still {value!r}, not {expected!r}"
        await asyncio.sleep(0.05)
