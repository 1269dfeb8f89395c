"""Rating an answer the way a person does: its chat opened, its thumb pressed, then proof.

The web app's thumbs post `POST /backend-api/conversation/message_feedback` with
`{conversation_id, message_id, rating}` (docs/replica.md, "Feedback"). The bridge could post
that itself, but a press in the page is what ChatGPT sees from a person, and the page's own
request (tee'd by the tap, `tap.js`, as endpoint "feedback") is the proof that the rating
went out and what ChatGPT answered. No prompt is typed: the chat is only opened.

Steps, each with its own typed failure: the chat is read first (no such chat:
`ConversationNotFoundError`; no such answer in it: `MessageNotFoundError`), then opened; the
answer's turn is found by the ids its renderer writes (`selectors.ANSWER_ID_ATTRIBUTES`) and
its thumb pressed with a real click (behind today's "Rate response" where the page shows
that); the tapped request must name our answer and rating and its response be a 2xx
(otherwise `FeedbackRefusedError`, or the login / challenge errors it means).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import quote

from playwright.async_api import Page

from browser import faults, selectors
from browser.contract import Rating
from browser.errors import (
    BrowserDownError,
    ChallengeError,
    ConversationNotFoundError,
    FeedbackRefusedError,
    LoginRequiredError,
    MessageNotFoundError,
    WebAppError,
)
from browser.history import shown_messages
from browser.page import fetch_signed_in
from browser.pool import BROWSER_CLOSED, TAB_CLOSED, TAB_CRASHED, Tab
from browser.stream.messages import role
from browser.turn import navigation

logger = logging.getLogger(__name__)

SHOW_WAIT = 15.0
"""Seconds the opened chat may take to show the answer's thumbs."""
CONFIRM_WAIT = 10.0
"""Seconds from the press to ChatGPT's answer to the page's feedback request."""
POLL = 0.1
MARK = "data-chatgpt-bridge-press"
"""Set for a moment on the control to press, so Playwright clicks exactly that element."""

THUMBS = {"thumbsUp": "good_response", "thumbsDown": "bad_response"}
"""Each rating's selector name."""


async def rate(tab: Tab, base: str, conversation_id: str, message_id: str, rating: Rating) -> None:
    """Press `rating`'s thumb under answer `message_id` in `tab` and wait for ChatGPT's yes.

    `tab`'s page must be on ChatGPT's origin (the chat is read from inside it)."""
    page = tab.page
    await _check_chat(page, conversation_id, message_id)
    await navigation.open_chat(tab, base, conversation_id, None, False)
    tab.drain()  # what the tap saw before the press is not the rating
    if not await _press(page, conversation_id, message_id, rating):
        logger.info("answer %s is rated %s already", message_id, rating)
        return
    await _confirmed(tab, message_id, rating)


def answer_ids(body: Any) -> set[str]:
    """The ids of the assistant messages of a stored chat's shown branch."""
    return {
        message["id"]
        for message in shown_messages(body) or []
        if isinstance(message.get("id"), str) and role(message) == "assistant"
    }


async def _check_chat(page: Page, conversation_id: str, message_id: str) -> None:
    path = selectors.CONVERSATION_READ_PATH.format(id=quote(conversation_id, safe=""))
    status, body = await fetch_signed_in(page, path)
    if status == 404:
        raise ConversationNotFoundError(conversation_id)
    if status != 200:
        raise WebAppError(f"ChatGPT did not give the chat back (HTTP {status}); try again.")
    if message_id not in answer_ids(body):
        raise MessageNotFoundError(conversation_id, message_id)


async def locate(page: Page, message_id: str, rating: Rating) -> str:
    """Find what to press for `rating` under answer `message_id` and mark it (`MARK`).

    "thumb" (the thumb is marked), "opener" ("Rate response" is marked), "pressed" (the
    thumb shows it is the rating already), "no-message" or "no-thumbs"."""
    arguments = {
        "id": message_id,
        "thumb": list(selectors.layers(THUMBS[rating])),
        "opener": list(selectors.layers("rate_response")),
        "turn": selectors.css("turn") + ", " + selectors.css("search_turn"),
        "attributes": list(selectors.ANSWER_ID_ATTRIBUTES),
        "mark": MARK,
    }
    return str(await page.evaluate(_FIND_JS, arguments))


async def _press(page: Page, conversation_id: str, message_id: str, rating: Rating) -> bool:
    """Click the thumb (opening "Rate response" first where needed); False: pressed already."""
    deadline = time.monotonic() + SHOW_WAIT
    opened = False
    while True:
        found = await locate(page, message_id, rating)
        if found == "pressed":
            return False
        if found == "thumb" or (found == "opener" and not opened):
            target = page.locator(f"[{MARK}]").first
            await target.click()  # a real click, where a person's pointer would go
            await target.evaluate(f"(node) => node.removeAttribute('{MARK}')")
            if found == "thumb":
                return True
            opened = True
        elif time.monotonic() > deadline:
            shown = "is not shown" if found == "no-message" else "shows no thumbs"
            raise MessageNotFoundError(
                conversation_id,
                message_id,
                f"The answer {message_id!r} {shown} in the chat's page (it may be too far "
                "back to be loaded). Rate it on chatgpt.com instead.",
            )
        await asyncio.sleep(POLL)


async def _confirmed(tab: Tab, message_id: str, rating: Rating) -> None:
    """The page's own feedback request for our answer, and ChatGPT's 2xx to it."""
    ours: str | None = None
    deadline = time.monotonic() + CONFIRM_WAIT
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await asyncio.wait_for(tab.events.get(), left)
        except asyncio.TimeoutError:
            break
        kind = message.get("kind")
        if kind in (BROWSER_CLOSED, TAB_CRASHED, TAB_CLOSED):
            raise BrowserDownError(f"The tab went away while rating the answer ({kind}).")
        if kind == "request" and message.get("endpoint") == "feedback":
            body = faults.json_object(message.get("body"))
            if body.get("message_id") == message_id and body.get("rating") == rating:
                ours = message.get("id")
            continue
        if ours is None or message.get("id") != ours:
            continue
        if kind == "challenge":
            raise ChallengeError()
        if kind == "response":
            _judge(int(message.get("status") or 0))
            return
        if kind in ("fetch_error", "abort"):
            raise FeedbackRefusedError(
                f"The page's feedback request failed ({message.get('message')}); try again."
            )
    said = "sent no rating" if ours is None else "got no answer to its rating"
    raise FeedbackRefusedError(
        f"The thumb was pressed but the page {said} within {CONFIRM_WAIT:.0f} s; "
        "try again, or rate the answer on chatgpt.com."
    )


def _judge(status: int) -> None:
    if 200 <= status < 300:
        return
    if status == 401:
        raise LoginRequiredError()
    raise FeedbackRefusedError(
        f"ChatGPT refused the rating (HTTP {status}); try again, or rate the answer on chatgpt.com."
    )


_FIND_JS = """
(A) => {
  const visible = (node) => node.getClientRects().length > 0;
  const all = (root, sel) => { try { return Array.from(root.querySelectorAll(sel)); }
                               catch (e) { return []; } };
  const first = (root, layers) => {
    for (const layer of layers) {
      const hit = all(root, layer).find(visible);
      if (hit) return hit;
    }
    return null;
  };
  const quoted = JSON.stringify(A.id);
  const answer = A.attributes.flatMap((name) => all(document, `[${name}~=${quoted}]`))
    .find(visible);
  const turn = answer && answer.closest(A.turn);
  if (!turn) return "no-message";
  const mark = (node, what) => {
    for (const old of all(document, `[${A.mark}]`)) old.removeAttribute(A.mark);
    node.setAttribute(A.mark, "");
    return what;
  };
  const thumb = first(turn, A.thumb);
  if (thumb && thumb.getAttribute("aria-pressed") === "true") return "pressed";
  if (thumb) return mark(thumb, "thumb");
  const opener = first(turn, A.opener);
  return opener ? mark(opener, "opener") : "no-thumbs";
}
"""
