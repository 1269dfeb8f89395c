"""A restart of the app (same data directory) keeps Slack threads and resumes questions.

The crash is simulated the only honest way available: the first run is stopped, then the
SQLite file gets the two rows a crash would leave behind (a question accepted but never
sent, and one whose send was in flight), exactly as `SlackStore` writes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.db import open_database
from slackbot.routing import BotIdentity, question
from slackbot.store import JobState, SlackStore
from tests.fixtures.slack_api import (
    BOT_ID,
    BOT_USER_ID,
    HEADER,
    FakeSlack,
    SlackEvents,
    answer,
    conversation_of,
    follow_up,
    message_event,
    slack_settings,
    text_of,
    wait_for,
)

pytestmark = pytest.mark.browser

PERSONAL = "CPERSONAL2"


async def test_restart_keeps_threads_answers_queued_and_reports_interrupted(
    replica: Any,
    browser_executable: str,
    slack_api: FakeSlack,
    tmp_path: Path,
    start_app: Callable[..., Any],
) -> None:
    token = uuid.uuid4().hex[:8]
    settings = slack_settings(
        replica.url,
        browser_executable,
        tmp_path / "data",
        slack_api.url,
        slack_channels=[PERSONAL],
    )
    first = message_event(f"remember me {token}", channel=PERSONAL)
    async with start_app(settings) as server:
        await SlackEvents(server.url).event(first)
        conversation_id = conversation_of(await answer(slack_api, PERSONAL, first["ts"]))

    bot = BotIdentity(BOT_USER_ID, BOT_ID)
    queued_event = message_event(f"left in the queue {token}", channel=PERSONAL)
    sending_event = message_event(f"in flight {token}", channel=PERSONAL)
    async with open_database(settings.database_path) as db:
        store = SlackStore(db)
        queued = await store.accept(question(queued_event, bot=bot, team_id=None))
        sending = await store.accept(question(sending_event, bot=bot, team_id=None))
        assert queued is not None and sending is not None
        await store.set_state(sending.id, JobState.SENDING)

    async with start_app(settings) as server:
        resumed = await answer(slack_api, PERSONAL, queued_event["ts"])
        assert HEADER.search(text_of(resumed)).group(2) == "1"
        assert queued_event["text"] in text_of(resumed)
        interrupted = await answer(slack_api, PERSONAL, sending_event["ts"])
        assert len(interrupted) == 1
        assert "interrupted" in interrupted[0].text
        assert "not sent again" in interrupted[0].text

        events = SlackEvents(server.url)
        reply = message_event(f"still there? {token}", channel=PERSONAL, thread_ts=first["ts"])
        await events.event(reply)
        # A retry of an event from before the restart is still recognised.
        await events.event(first, retry_num=1)
        second = await wait_for(lambda: follow_up(slack_api, PERSONAL, first["ts"]), timeout=90)
        assert HEADER.search(text_of(second)).group(2) == "2"
        assert conversation_of(second) == conversation_id
        # The footer shows before the job's last bookkeeping: wait for it to settle.
        await wait_for(lambda: server.services.slack.health()["pending_jobs"] == 0)

    prompts = [send["prompt"] for send in await replica.sends() if token in send["prompt"]]
    assert sorted(prompts) == sorted([first["text"], queued_event["text"], reply["text"]]), (
        "the in-flight question must never be sent twice"
    )
    async with open_database(settings.database_path) as db:
        assert await SlackStore(db).unfinished_jobs() == []
