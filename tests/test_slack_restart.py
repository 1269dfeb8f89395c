"""A restart of the app (same data directory) keeps Slack threads and resumes questions.

A crash is simulated the only honest way available: the first run is stopped, then the
SQLite file gets the rows a crash would leave behind (a question accepted but never sent,
one whose send was in flight, one being answered), exactly as `SlackStore` writes them. On
a `FakeBridge` a shutdown in the middle of an answer is also real, and every prompt the
second run types is known. The last test does it all once with real Chromium.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.db import open_database
from browser.errors import SendUncertainError
from slackbot.inbox import Inbox
from slackbot.routing import BotIdentity, question
from slackbot.store import JobState, SlackStore
from tests.fakes.bridge import Answer, FakeBridge
from tests.fixtures.slack_api import (
    BOT_ID,
    BOT_USER_ID,
    HEADER,
    FakeSlack,
    Message,
    RunSlack,
    SlackEvents,
    answer,
    conversation_of,
    event_body,
    follow_up,
    message_event,
    slack_settings,
    text_of,
    wait_for,
)

PERSONAL = "CPERSONAL2"
CHANNELS = {"slack_channels": [PERSONAL]}
BOT = BotIdentity(BOT_USER_ID, BOT_ID)


def _interrupted(messages: list[Message]) -> bool:
    """A thread that holds only the bridge's honest "interrupted, not sent again" notice."""
    text = text_of(messages)
    return len(messages) == 1 and "interrupted" in text and "not sent again" in text


async def _leave_behind(database: Path, states: dict[str, JobState]) -> list[dict[str, Any]]:
    """Store one question per prompt, in the state a crash would have left it in."""
    events = [message_event(prompt, channel=PERSONAL) for prompt in states]
    async with open_database(database) as db:
        store = SlackStore(db)
        for event in events:
            job = await store.accept(question(event, bot=BOT, team_id=None))
            assert job is not None
            if states[event["text"]] is not JobState.QUEUED:
                await store.set_state(job.id, states[event["text"]])
    return events


async def _unfinished(database: Path) -> list[Any]:
    async with open_database(database) as db:
        return await SlackStore(db).unfinished_jobs()


async def test_restart_answers_queued_reports_interrupted_and_keeps_threads(
    run_slack: RunSlack,
) -> None:
    first = message_event("remember me", channel=PERSONAL)
    async with run_slack(**CHANNELS) as app:
        await app.events.event(first)
        conversation_id = conversation_of(await answer(app.slack, PERSONAL, first["ts"]))
        database = app.server.settings.database_path

    states = {
        "left in the queue": JobState.QUEUED,
        "in flight": JobState.SENDING,
        "half answered": JobState.DELIVERED,
    }
    queued, sending, delivered = await _leave_behind(database, states)

    async with run_slack(**CHANNELS) as app:
        resumed = await answer(app.slack, PERSONAL, queued["ts"])
        assert "You said: left in the queue" in text_of(resumed)
        for event in (sending, delivered):
            assert _interrupted(await answer(app.slack, PERSONAL, event["ts"]))
        reply = message_event("still there?", channel=PERSONAL, thread_ts=first["ts"])
        await app.events.event(reply)
        # A retry of an event from before the restart is still recognised.
        await app.events.event(first, retry_num=1)
        second = await wait_for(lambda: follow_up(app.slack, PERSONAL, first["ts"]))
        assert conversation_of(second) == conversation_id
        await wait_for(lambda: app.pending() == 0)
    asked = {ask.prompt: ask.conversation_id for ask in app.bridge.asks}
    assert asked == {"left in the queue": None, "still there?": conversation_id}
    assert await _unfinished(database) == []


async def test_a_shutdown_mid_answer_interrupts_it_and_the_question_behind_it_is_answered(
    run_slack: RunSlack,
) -> None:
    """One tab: the first answer is cut by the shutdown, the second waited still queued."""
    bridge = FakeBridge(tabs=1)
    bridge.script(Answer("Partial", hang=True))
    first = message_event("cut short", channel=PERSONAL)
    second = message_event("behind it", channel=PERSONAL)
    async with run_slack(bridge, max_tabs=1, **CHANNELS) as app:
        await app.events.event(first)
        await wait_for(lambda: "Partial" in text_of(app.slack.answers(PERSONAL, first["ts"])))
        await app.events.event(second)
        await wait_for(lambda: "queued" in text_of(app.slack.thread(PERSONAL, second["ts"])))
    assert bridge.prompts == ["cut short"]

    async with run_slack(max_tabs=1, **CHANNELS) as app:
        waited = await answer(app.slack, PERSONAL, second["ts"])
        assert "You said: behind it" in text_of(waited)
        cut = await wait_for(
            lambda: [m for m in app.slack.thread(PERSONAL, first["ts"]) if "interrupted" in m.text]
        )
        assert "not sent again" in cut[0].text
        await wait_for(lambda: app.pending() == 0)
    assert app.bridge.prompts == ["behind it"]


async def test_a_failure_whose_delivery_is_unknown_is_never_asked_again(
    run_slack: RunSlack,
) -> None:
    """`delivered` None (at send or mid-answer): the thread is told, the job is over."""
    bridge = FakeBridge()
    bridge.script(Answer(error=SendUncertainError()), Answer("Half", fail=SendUncertainError()))
    at_send = message_event("maybe sent", channel=PERSONAL)
    mid_answer = message_event("maybe answered", channel=PERSONAL)
    async with run_slack(bridge, **CHANNELS) as app:
        await app.events.event(at_send)
        assert "may have reached ChatGPT" in text_of(
            await answer(app.slack, PERSONAL, at_send["ts"])
        )
        await app.events.event(mid_answer)
        broken = await answer(app.slack, PERSONAL, mid_answer["ts"])
        assert "Half" in text_of(broken) and "may have reached ChatGPT" in text_of(broken)
        await wait_for(lambda: app.pending() == 0)
        database = app.server.settings.database_path
    assert bridge.prompts == ["maybe sent", "maybe answered"]
    assert await _unfinished(database) == []

    async with run_slack(**CHANNELS) as app:
        later = message_event("a new question", channel=PERSONAL)
        await app.events.event(later)
        await answer(app.slack, PERSONAL, later["ts"])
        await wait_for(lambda: app.pending() == 0)
    assert app.bridge.prompts == ["a new question"]


@pytest.mark.browser
async def test_in_chromium_a_restart_keeps_threads_and_resumes_questions(
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

    states = {f"left in the queue {token}": JobState.QUEUED, f"in flight {token}": JobState.SENDING}
    queued_event, sending_event = await _leave_behind(settings.database_path, states)

    async with start_app(settings) as server:
        resumed = await answer(slack_api, PERSONAL, queued_event["ts"])
        assert HEADER.search(text_of(resumed)).group(2) == "1"
        assert queued_event["text"] in text_of(resumed)
        assert _interrupted(await answer(slack_api, PERSONAL, sending_event["ts"]))

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
    assert await _unfinished(settings.database_path) == []


async def test_an_event_acknowledged_but_not_dispatched_is_answered_after_a_restart(
    run_slack: RunSlack,
) -> None:
    """Store, then ack: an envelope the crash left in the inbox is replayed once at start."""
    async with run_slack(**CHANNELS) as app:
        database = app.server.settings.database_path
    stored = message_event("acked before the crash", channel=PERSONAL)
    async with open_database(database) as db:
        inbox = Inbox(db)  # the first run made its table; nothing dispatches here
        await inbox.put(json.dumps(event_body(stored)))
        await inbox.put(json.dumps(event_body(stored)))  # Slack's retry, stored too

    async with run_slack(**CHANNELS) as app:
        replayed = await answer(app.slack, PERSONAL, stored["ts"])
        assert "You said: acked before the crash" in text_of(replayed)
        await wait_for(lambda: app.pending() == 0)
    assert app.bridge.prompts == ["acked before the crash"]
    async with open_database(database) as db:
        assert await db.fetch_all("SELECT id FROM slack_inbox") == []
