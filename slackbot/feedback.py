"""The thumbs at the end of an answer: passed on to ChatGPT's own feedback, and kept.

An answer's last message ends with Slack's feedback buttons (a `context_actions` block with
a `feedback_buttons` element; shared/research/slack-2026.md §4), whose values name the job.
A click arrives as `block_actions`; it is acknowledged at once, then, in the background,
the job's ChatGPT chat and answer are looked up, the rating is pressed in the web app
through the bridge (`Bridge.rate`: the thumbs under that answer, as a person would; nothing
is ever typed as a prompt) and stored, and the person who clicked is told, ephemerally,
what happened or what to do. A second click replaces the rating, in ChatGPT and here.

Only the person who asked, or the bridge's owner, may rate: the verdict goes to the
owner's ChatGPT account.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.blocks import (
    ContextActionsBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
)
from slack_sdk.web.async_client import AsyncWebClient

from browser.contract import Rating
from browser.errors import BridgeError
from slackbot.after_ack import AfterAck
from slackbot.database import Database

if TYPE_CHECKING:
    from browser.contract import Bridge

logger = logging.getLogger(__name__)

FEEDBACK_ACTION = "chatgpt_bridge_feedback"
VERDICTS: dict[str, Rating] = {"good": "thumbsUp", "bad": "thumbsDown"}
"""The button value's suffix -> the web app's rating."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slack_feedback (
    job_id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    asked_by TEXT,
    rating TEXT,
    rated_by TEXT,
    passed_on INTEGER NOT NULL DEFAULT 0,
    answered_at REAL NOT NULL,
    rated_at REAL
);
"""
"""One row per answer that shows the buttons: which ChatGPT answer it is, and its rating
(`passed_on`: ChatGPT took it; 0 after a failed attempt, whose rating is kept all the same)."""


def feedback_block(job_id: int) -> dict[str, Any]:
    """The buttons under job `job_id`'s answer."""
    element = FeedbackButtonsElement(
        action_id=FEEDBACK_ACTION,
        positive_button=FeedbackButtonObject(
            text="Good answer",
            value=f"{job_id}:good",
            accessibility_label="Tell ChatGPT this answer was good",
        ),
        negative_button=FeedbackButtonObject(
            text="Bad answer",
            value=f"{job_id}:bad",
            accessibility_label="Tell ChatGPT this answer was bad",
        ),
    )
    return ContextActionsBlock(elements=[element]).to_dict()


def parse_value(value: Any) -> tuple[int, Rating] | None:
    """`"<job>:good"` -> (job, "thumbsUp"); None for anything else."""
    job, _, verdict = str(value).partition(":")
    if not job.isdigit() or verdict not in VERDICTS:
        return None
    return int(job), VERDICTS[verdict]


@dataclass(frozen=True)
class RatedAnswer:
    """What a click needs: the ChatGPT answer, who asked, and the rating stored so far."""

    conversation_id: str
    message_id: str
    asked_by: str | None
    rating: Rating | None


class FeedbackStore:
    """The `slack_feedback` table, on the connection the composition root hands over."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.create_tables(_SCHEMA)

    async def save_answer(
        self, job_id: int, conversation_id: str, message_id: str, asked_by: str | None
    ) -> None:
        """The answer job `job_id` showed (before its buttons are shown)."""
        await self._db.write(
            "INSERT OR REPLACE INTO slack_feedback"
            " (job_id, conversation_id, message_id, asked_by, answered_at) VALUES (?, ?, ?, ?, ?)",
            (job_id, conversation_id, message_id, asked_by, time.time()),
        )

    async def answer(self, job_id: int) -> RatedAnswer | None:
        row = await self._db.fetch_one(
            "SELECT conversation_id, message_id, asked_by, rating FROM slack_feedback"
            " WHERE job_id = ?",
            (job_id,),
        )
        return RatedAnswer(row[0], row[1], row[2], row[3]) if row else None

    async def save_rating(self, job_id: int, rating: Rating, user: str, passed_on: bool) -> None:
        await self._db.write(
            "UPDATE slack_feedback SET rating = ?, rated_by = ?, passed_on = ?, rated_at = ?"
            " WHERE job_id = ?",
            (rating, user, int(passed_on), time.time(), job_id),
        )


@dataclass(frozen=True)
class _Click:
    job_id: int
    rating: Rating
    user: str
    channel: str
    thread_ts: str | None


class FeedbackButtons:
    """Serves the clicks: ack, then rate in ChatGPT, store, and tell the clicker."""

    def __init__(
        self,
        *,
        store: FeedbackStore,
        bridge: Bridge,
        client: AsyncWebClient,
        owner: str | None,
        chatgpt_url: str,
    ) -> None:
        self._store = store
        self._bridge = bridge
        self._client = client
        self._owner = owner
        self._chatgpt_url = chatgpt_url
        self._after_ack = AfterAck("slack-feedback")

    def register(self, app: AsyncApp) -> None:
        app.action(FEEDBACK_ACTION)(self.on_click)

    async def close(self) -> None:
        await self._after_ack.close()

    async def on_click(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Acknowledged first: pressing a thumb in the browser takes longer than Slack waits."""
        await ack()
        for action in body.get("actions") or []:
            click = _click(action, body)
            if click is not None:
                self._after_ack.spawn(self._rate(click))

    async def _rate(self, click: _Click) -> None:
        answer = await self._store.answer(click.job_id)
        if answer is None:
            await self._tell(
                click,
                ":warning: The bridge does not know which ChatGPT answer this is (it may have "
                "been written before ratings were kept, or its database was reset). Rate it "
                "with the thumbs under the answer on chatgpt.com.",
            )
            return
        if click.user not in (answer.asked_by, self._owner):
            await self._tell(
                click,
                ":no_entry: Only the person who asked (or the bridge's owner) can rate this "
                "answer: the rating goes to the owner's ChatGPT account.",
            )
            return
        try:
            await self._bridge.rate(answer.conversation_id, answer.message_id, click.rating)
        except BridgeError as error:
            await self._store.save_rating(click.job_id, click.rating, click.user, False)
            logger.info("rating of job %d not passed on: %s", click.job_id, error)
            await self._tell(
                click,
                f":warning: Your rating was kept here but not passed on to ChatGPT: {error} "
                f"Click the button again to retry, or rate it on {self._link(answer)}.",
            )
            return
        await self._store.save_rating(click.job_id, click.rating, click.user, True)
        logger.info("job %d rated %s", click.job_id, click.rating)
        replaced = answer.rating not in (None, click.rating)
        await self._tell(click, _thanks(click.rating, replaced))

    def _link(self, answer: RatedAnswer) -> str:
        return f"<{self._chatgpt_url}/c/{answer.conversation_id}|chatgpt.com>"

    async def _tell(self, click: _Click, text: str) -> None:
        """To the clicker alone, in the answer's thread."""
        await self._client.chat_postEphemeral(
            channel=click.channel, user=click.user, text=text, thread_ts=click.thread_ts
        )


def _click(action: dict[str, Any], body: dict[str, Any]) -> _Click | None:
    """One feedback click from a `block_actions` payload (None: not ours, or malformed)."""
    parsed = parse_value(action.get("value"))
    user = (body.get("user") or {}).get("id")
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    if action.get("action_id") != FEEDBACK_ACTION or parsed is None or not user or not channel:
        return None
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    return _Click(parsed[0], parsed[1], str(user), str(channel), thread_ts)


def _thanks(rating: Rating, replaced: bool) -> str:
    said = (
        ":thumbsup: ChatGPT was told this answer was good"
        if rating == "thumbsUp"
        else ":thumbsdown: ChatGPT was told this answer was bad"
    )
    return said + (" (this replaces your earlier rating)." if replaced else ".")
