"""The feedback buttons under an answer: a click passed on to ChatGPT's thumbs, and kept.

On a `FakeBridge` through the real HTTP fake of Slack with signed payloads: the buttons end
the last message whichever writer wrote it (native streaming, or edits), a click reaches
`Bridge.rate` for the job's chat and answer, is stored in SQLite, and is confirmed to the
clicker alone; a second click replaces it; failures say what happened and what to do; and
nothing is ever asked as a prompt. One test crosses into real Chromium on the replica: a
click in Slack ends as the replica's record of the page's own feedback request.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from browser.errors import LoginRequiredError
from tests.api_support import running_api
from tests.fakes.bridge import FakeBridge
from tests.fixtures.app_server import AppServer
from tests.fixtures.slack_api import (
    USER_ID,
    FakeSlack,
    Message,
    RunSlack,
    SlackEvents,
    answer,
    conversation_of,
    message_event,
    slack_values,
    text_of,
    wait_for,
    words,
)

CHANNEL = "CFEEDBACK1"
OWNER = "UOWNER0001"
STRANGER = "USTRANGER1"


async def _answered(slack: FakeSlack, events: SlackEvents, text: str) -> list[Message]:
    """Ask in the channel; the answer's messages (the last one has the buttons)."""
    event = message_event(text, channel=CHANNEL)
    await events.event(event)
    return await answer(slack, CHANNEL, event["ts"])


def _told(slack: FakeSlack, count: int) -> list[dict[str, Any]]:
    return slack.ephemerals if len(slack.ephemerals) >= count else []


def _stored(data_dir: Path) -> list[tuple[Any, ...]]:
    path = Settings(_env_file=None, data_dir=data_dir).database_path
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT conversation_id, message_id, rating, rated_by, passed_on FROM slack_feedback"
        ).fetchall()


async def test_a_click_rates_the_answer_in_chatgpt_and_is_kept(
    run_slack: RunSlack, tmp_path: Path
) -> None:
    bridge = FakeBridge()
    async with run_slack(bridge, slack_channels=[CHANNEL]) as app:
        [last] = await _answered(app.slack, app.events, "rate this")
        assert last.method == "chat.startStream", "the streamed writer"
        buttons = last.feedback_buttons()
        assert buttons is not None
        [turn] = bridge.turns

        assert (await app.events.press_feedback(last, "positive")).status_code == 200
        [thanks] = await wait_for(lambda: _told(app.slack, 1))
        assert bridge.ratings == [(turn.conversation_id, turn.message_id, "thumbsUp")]
        assert (thanks["user"], thanks["channel"]) == (USER_ID, CHANNEL)
        assert thanks["thread_ts"] == last.thread_ts
        assert ":thumbsup:" in thanks["text"] and "replaces" not in thanks["text"]

        await app.events.press_feedback(last, "negative")
        replaced = (await wait_for(lambda: _told(app.slack, 2)))[1]
        assert "replaces your earlier rating" in replaced["text"]
        assert bridge.rating_of(str(turn.message_id)) == "thumbsDown"
        assert bridge.prompts == ["rate this"], "a rating is never asked as a prompt"
    assert _stored(tmp_path / "data") == [
        (turn.conversation_id, turn.message_id, "thumbsDown", USER_ID, 1)
    ]


async def test_either_writer_ends_with_the_buttons_and_never_loses_the_answer_for_them(
    run_slack: RunSlack,
) -> None:
    async with run_slack(FakeBridge(), slack_channels=[CHANNEL]) as app:
        app.slack.refused_blocks = {"context_actions"}  # a workspace that shows none
        streamed = await _answered(app.slack, app.events, "streamed without buttons")
        app.slack.streaming_error = "not_allowed"
        app.slack.refused_blocks = set()
        edited = await _answered(app.slack, app.events, "edited with buttons")
        app.slack.refused_blocks = {"context_actions"}
        bare = await _answered(app.slack, app.events, "edited without buttons")
    assert streamed[-1].method == "chat.startStream"
    assert {edited[-1].method, bare[-1].method} <= {"chat.postMessage", "chat.update"}
    assert edited[-1].feedback_buttons() is not None, "under the footer"
    for messages, prompt in ((streamed, "streamed"), (edited, "edited"), (bare, "edited")):
        assert words(text_of(messages))[:3] == ["You", "said", prompt]
        assert messages[-1].footer(), "the footer stays"
    assert streamed[-1].feedback_buttons() is None and bare[-1].feedback_buttons() is None


async def test_what_goes_wrong_is_said_to_the_clicker_alone(
    run_slack: RunSlack, tmp_path: Path
) -> None:
    bridge = FakeBridge()
    async with run_slack(bridge, slack_channels=[CHANNEL], slack_owner=OWNER) as app:
        [last] = await _answered(app.slack, app.events, "rate me later")
        await app.events.press_feedback(last, "positive", user=STRANGER)
        [refused] = await wait_for(lambda: _told(app.slack, 1))
        assert refused["user"] == STRANGER and "Only the person who asked" in refused["text"]

        bridge.rate_error = LoginRequiredError()
        await app.events.press_feedback(last, "negative", user=OWNER)
        failed = (await wait_for(lambda: _told(app.slack, 2)))[1]
        assert "not passed on to ChatGPT" in failed["text"]
        assert "chatgpt-bridge login" in failed["text"], "what to do"

        elsewhere = [{"type": "context_actions", "elements": [_buttons(last, job="999999")]}]
        forged = Message(ts=last.ts, channel=CHANNEL, thread_ts=last.thread_ts, blocks=elsewhere)
        await app.events.press_feedback(forged, "positive")
        unknown = (await wait_for(lambda: _told(app.slack, 3)))[2]
        assert "does not know which ChatGPT answer" in unknown["text"]
        assert bridge.ratings == [] and bridge.prompts == ["rate me later"]
    [(_, _, rating, rated_by, passed_on)] = _stored(tmp_path / "data")
    assert (rating, rated_by, passed_on) == ("thumbsDown", OWNER, 0), "kept, not passed on"


def _buttons(message: Message, *, job: str) -> dict[str, Any]:
    """`message`'s feedback element with its values naming another job."""
    element = dict(message.feedback_buttons() or {})
    for half in ("positive_button", "negative_button"):
        button = dict(element[half])
        button["value"] = job + ":" + str(button["value"]).split(":")[1]
        element[half] = button
    return element


# --- real Chromium on the replica ---------------------------------------------------------


@pytest.fixture(scope="module")
def server(
    replica: Any,
    browser_executable: str,
    slack_api_server: FakeSlack,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppServer]:
    data_dir = tmp_path_factory.mktemp("slack-feedback") / "data"
    slack = slack_values(slack_api_server.url)
    with running_api(
        replica, browser_executable, data_dir, slack_channels=[CHANNEL], **slack
    ) as api:
        yield api.server


@pytest.mark.browser
async def test_in_chromium_a_click_ends_as_chatgpts_feedback(
    server: AppServer, slack_api: FakeSlack, replica: Any
) -> None:
    events = SlackEvents(server.url)
    messages = await _answered(slack_api, events, "Was this any good?")
    await events.press_feedback(messages[-1], "positive")
    [thanks] = await wait_for(lambda: _told(slack_api, 1), timeout=60)
    assert ":thumbsup:" in thanks["text"], thanks["text"]
    conversation_id = conversation_of(messages)
    recorded = [f for f in await replica.feedback() if f["conversation_id"] == conversation_id]
    conversation = await replica.conversation(conversation_id)
    assert [(f["message_id"], f["rating"]) for f in recorded] == [
        (conversation["messages"][-1]["id"], "thumbsUp")
    ]
    assert [m["text"] for m in conversation["messages"] if m["role"] == "user"] == [
        "Was this any good?"
    ], "the click typed nothing"
