"""`/chatgpt`, a thread's settings line, chat links and personas, through the fake Web API.

The slash command is POSTed signed, as Slack sends it (and once over Socket Mode); its reply
is the acknowledgement's text. What it chose is read back where it matters: the options and
prompt the `FakeBridge` was asked with.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.db import open_database
from browser.contract import AskOptions
from browser.models import Gizmo
from slackbot.chat_settings import ChatSettings, SettingsError, first_line, parse_words
from slackbot.store import CHANNEL_SCOPE, SlackStore
from tests.fakes.bridge import FakeBridge
from tests.fixtures.slack_api import (
    APP_TOKEN,
    BOT_USER_ID,
    RunSlack,
    answer,
    command_payload,
    event_body,
    follow_up,
    message_event,
    text_of,
    wait_for,
)

PERSONAL = "CPERSONAL5"
CHANNELS = {"slack_channels": [PERSONAL]}
CHAT = "6a1f0c2e-1b2c-4d5e-8f90-0123456789ab"
PERSONAS = {"coder": "You are a terse senior engineer.", "poet": "Answer in verse."}


def test_the_words_parse_into_one_set_of_choices() -> None:
    assert parse_words("model gpt-5@thinking search on").settings == ChatSettings(
        model="gpt-5@thinking", web_search=True
    )
    assert parse_words("new gpt-5 think high").settings == ChatSettings(
        model="gpt-5", effort="high"
    )
    assert parse_words(f"<https://chatgpt.com/c/{CHAT}>").conversation_id == CHAT
    for bad in ("model", "search maybe", "gpt abc", "volume 11", ""):
        with pytest.raises(SettingsError):
            parse_words(bad)
    # A first line that is no settings is the question; `new` means nothing in a thread.
    assert first_line("model trains are fun\nright?")[0] is None
    assert first_line("new gpt-5\nhi")[0] is None
    directive, rest = first_line("search on\nWhat changed today?")
    assert directive is not None and directive.settings.web_search and rest == "What changed today?"
    assert ChatSettings(effort="high").over(ChatSettings(model="gpt-5", effort="low")) == (
        ChatSettings(model="gpt-5", effort="high")
    )
    assert ChatSettings(web_search=False).options("gpt-5@max") == AskOptions(
        model="gpt-5", effort="max"
    )
    # A project's name is the rest of the line; a sentence is a question.
    assert parse_words("search on project Trip to Rome").settings == ChatSettings(
        web_search=True, project="Trip to Rome"
    )
    assert parse_words("new project Research").settings == ChatSettings(project="Research")
    assert first_line("Project update: we shipped\nthoughts?")[0] is None


async def test_slash_command_sets_the_channels_defaults(run_slack: RunSlack) -> None:
    async with run_slack(**CHANNELS) as app:
        reply = await app.events.command("model gpt-5-thinking@extended", channel=PERSONAL)
        assert "model gpt-5-thinking@extended" in reply
        reply = await app.events.command("think high", channel=PERSONAL)
        assert "thinking effort high" in reply
        status = await app.events.command("status", channel=PERSONAL)
        assert "gpt-5-thinking@extended" in status and "thinking effort high" in status
        assert "/chatgpt model" in await app.events.command("help", channel=PERSONAL)
        assert ":warning:" in await app.events.command("volume 11", channel=PERSONAL)
        event = message_event("Plan my week", channel=PERSONAL)
        await app.events.event(event)
        await answer(app.slack, PERSONAL, event["ts"])
    (asked,) = app.bridge.asks
    assert asked.options == AskOptions(model="gpt-5-thinking", effort="high")


async def test_a_threads_first_line_sets_that_thread_and_a_refused_choice_is_said(
    run_slack: RunSlack,
) -> None:
    """Web search and a custom GPT are asked for; a GPT the account lacks is said in the
    thread, with nothing sent (the bridge's `GptNotFoundError`)."""
    bridge = FakeBridge(gizmo_list=[Gizmo("g-abc123", "Reviewer", "gpt")])
    async with run_slack(bridge, **CHANNELS) as app:
        root = message_event("search on gpt g-abc123", channel=PERSONAL)
        await app.events.event(root)
        confirmed = await wait_for(lambda: app.slack.thread(PERSONAL, root["ts"]))
        assert "web search on" in text_of(confirmed) and "g-abc123" in text_of(confirmed)
        reply = message_event("What is new in Rust?", channel=PERSONAL, thread_ts=root["ts"])
        await app.events.event(reply)
        await wait_for(lambda: app.pending() == 0)
        other = message_event("gpt g-gone99", channel=PERSONAL)
        await app.events.event(other)
        await wait_for(lambda: app.slack.thread(PERSONAL, other["ts"]))
        question = message_event("Still there?", channel=PERSONAL, thread_ts=other["ts"])
        await app.events.event(question)
        refused = await wait_for(
            lambda: [
                m for m in app.slack.thread(PERSONAL, other["ts"]) if "no custom GPT" in m.text
            ]
        )
        assert "g-gone99" in text_of(refused) and "Nothing was sent" in text_of(refused)
        await wait_for(lambda: app.pending() == 0)
    (asked,) = bridge.asks
    assert (asked.prompt, asked.options.web_search, asked.options.gpt) == (
        "What is new in Rust?",
        True,
        "g-abc123",
    )


async def test_a_project_chosen_for_the_channel_starts_its_new_chats(
    run_slack: RunSlack,
) -> None:
    bridge = FakeBridge(gizmo_list=[Gizmo("g-p-aa11", "Trip to Rome", "project")])
    async with run_slack(bridge, **CHANNELS) as app:
        reply = await app.events.command("project Trip to Rome", channel=PERSONAL)
        assert "project Trip to Rome" in reply
        assert "/chatgpt project" in await app.events.command("help", channel=PERSONAL)
        event = message_event("Where to eat?", channel=PERSONAL)
        await app.events.event(event)
        await answer(app.slack, PERSONAL, event["ts"])
    (asked,) = bridge.asks
    assert asked.options.project == "Trip to Rome"


async def test_a_chat_link_binds_that_chat_to_the_thread(run_slack: RunSlack) -> None:
    async with run_slack(**CHANNELS) as app:
        event = message_event(f"<https://chatgpt.com/c/{CHAT}>\nWhere were we?", channel=PERSONAL)
        await app.events.event(event)
        await answer(app.slack, PERSONAL, event["ts"])
    (asked,) = app.bridge.asks
    assert (asked.conversation_id, asked.prompt) == (CHAT, "Where were we?")


async def test_new_starts_a_chat_whose_thread_has_its_own_model(run_slack: RunSlack) -> None:
    async with run_slack(**CHANNELS) as app:
        reply = await app.events.command("new gpt-5 search off", channel=PERSONAL)
        assert "Started a new chat" in reply
        (root,) = [m for m in app.slack.messages.values() if m.text.startswith(":speech_balloon:")]
        assert "model gpt-5" in root.text and root.thread_ts is None
        question = message_event("hello", channel=PERSONAL, thread_ts=root.ts)
        await app.events.event(question)
        await wait_for(lambda: "You said: hello" in text_of(app.slack.answers(PERSONAL, root.ts)))
    (asked,) = app.bridge.asks
    assert asked.options == AskOptions(model="gpt-5")


async def test_a_persona_opens_the_chat_once(run_slack: RunSlack) -> None:
    personas = {"slack_personas": json.dumps(PERSONAS)}
    async with run_slack(slack_channel_personas={PERSONAL: "poet"}, **personas, **CHANNELS) as app:
        assert "no persona 'pirate'" in await app.events.command("persona pirate", channel=PERSONAL)
        first = message_event("Tell me about tides", channel=PERSONAL)
        await app.events.event(first)
        await answer(app.slack, PERSONAL, first["ts"])
        again = message_event("And the moon?", channel=PERSONAL, thread_ts=first["ts"])
        await app.events.event(again)
        await wait_for(lambda: follow_up(app.slack, PERSONAL, first["ts"]))
        # A thread picks another persona on its first line.
        coder = message_event("persona coder\nReview this loop", channel=PERSONAL)
        await app.events.event(coder)
        await answer(app.slack, PERSONAL, coder["ts"])
        await wait_for(lambda: app.pending() == 0)
    prompts = [ask.prompt for ask in app.bridge.asks]
    assert prompts == [
        "Answer in verse.\n\nTell me about tides",
        "And the moon?",
        "You are a terse senior engineer.\n\nReview this loop",
    ]


async def test_slash_command_over_socket_mode(run_slack: RunSlack) -> None:
    async with run_slack(slack_app_token=APP_TOKEN, slack_signing_secret=None) as app:
        await wait_for(lambda: app.slack.socket_connected, timeout=30)
        envelope = app.slack.send_envelope(
            "slash_commands", command_payload("model gpt-5", channel="DSOCKET02")
        )
        await wait_for(lambda: app.slack.acked(envelope))
        (ack,) = [a for a in app.slack.acks if a.get("envelope_id") == envelope]
        assert "model gpt-5" in ack["payload"]["text"]
        event = message_event(f"<@{BOT_USER_ID}> hi", channel="DSOCKET02", channel_type="im")
        app.slack.send_envelope("events_api", event_body(event))
        await answer(app.slack, "DSOCKET02", event["ts"])
    (asked,) = app.bridge.asks
    assert asked.options.model == "gpt-5"


async def test_a_database_from_before_projects_gains_the_column(tmp_path: Path) -> None:
    async with open_database(tmp_path / "bridge.db") as db:
        await db.create_tables(
            "CREATE TABLE slack_chat_settings (channel TEXT NOT NULL, thread_ts TEXT NOT NULL,"
            " model TEXT, effort TEXT, web_search INTEGER, gpt TEXT, persona TEXT,"
            " updated_at REAL NOT NULL, PRIMARY KEY (channel, thread_ts));"
        )
        store = SlackStore(db)
        await store.setup()
        await store.setup()  # once added, the column is left alone
        await store.save_settings(PERSONAL, CHANNEL_SCOPE, ChatSettings(project="Research"))
        assert (await store.settings(PERSONAL)).project == "Research"
