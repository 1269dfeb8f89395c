"""Who gets answered, what is asked, and the durable store (no browser, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from app.db import open_database
from slackbot.routing import BotIdentity, Route, context_channel, question, route
from slackbot.store import JobState, SlackStore
from tests.fixtures.slack_api import BOT_ID, BOT_USER_ID, message_event

BOT = BotIdentity(BOT_USER_ID, BOT_ID)
PERSONAL = frozenset({"CPERSONAL"})


def _route(event: dict, *, answer_bots: bool = False) -> Route:
    return route(event, bot=BOT, channels=PERSONAL, answer_bots=answer_bots)


def test_top_level_message_in_personal_channel_is_answered() -> None:
    assert _route(message_event("hi", channel="CPERSONAL")) is Route.ANSWER


def test_top_level_message_elsewhere_needs_a_mention() -> None:
    assert _route(message_event("hi", channel="COTHER")) is Route.IGNORE
    assert _route(message_event(f"<@{BOT_USER_ID}> hi", channel="COTHER")) is Route.ANSWER
    mention = {**message_event("<@UBOT00001> hi", channel="COTHER"), "type": "app_mention"}
    assert _route(mention) is Route.ANSWER


def test_direct_messages_are_answered() -> None:
    assert _route(message_event("hi", channel="D1", channel_type="im")) is Route.ANSWER


def test_thread_replies_depend_on_the_thread() -> None:
    reply = message_event("more", channel="COTHER", thread_ts="1.000001")
    assert _route(reply) is Route.IF_KNOWN_THREAD
    reply_personal = message_event("more", channel="CPERSONAL", thread_ts="1.000001")
    assert _route(reply_personal) is Route.IF_KNOWN_THREAD


@pytest.mark.parametrize("subtype", ["message_changed", "message_deleted", "message_replied"])
def test_edits_deletions_and_reply_notices_are_ignored(subtype: str) -> None:
    assert _route(message_event("x", channel="CPERSONAL", subtype=subtype)) is Route.IGNORE


@pytest.mark.parametrize(
    "malformed",
    [{"ts": 1}, {"thread_ts": [None]}, {"text": {"a": 1}}, {"channel": ["C1"]}, {"team": []}],
)
def test_events_with_mistyped_fields_are_ignored(malformed: dict) -> None:
    """Found by fuzzing: a signed event with a list for thread_ts was a 500 Slack retries."""
    event = message_event("hi", channel="CPERSONAL") | malformed
    assert _route(event) is Route.IGNORE


def test_file_share_and_broadcast_are_answered() -> None:
    shared = message_event("look", channel="CPERSONAL", subtype="file_share", files=[{"id": "F1"}])
    assert _route(shared) is Route.ANSWER
    assert question(shared, bot=BOT, team_id=None).has_files


def test_own_and_other_bots() -> None:
    own = message_event("answer", channel="CPERSONAL", user=BOT_USER_ID, bot_id=BOT_ID)
    assert _route(own) is Route.IGNORE
    assert _route(own, answer_bots=True) is Route.IGNORE
    other = message_event("beep", channel="CPERSONAL", user="UOTHERBOT", bot_id="BOTHER")
    assert _route(other) is Route.IGNORE
    assert _route(other, answer_bots=True) is Route.ANSWER


def test_question_strips_mention_reads_model_line_and_unescapes() -> None:
    event = message_event(
        f"<@{BOT_USER_ID}> model: gpt-4o\nIs 1 &lt; 2 &amp;&amp; see <https://ex.com/a|this>?",
        channel="COTHER",
        thread_ts=None,
    )
    asked = question(event, bot=BOT, team_id="T9")
    assert asked.model == "gpt-4o"
    assert asked.prompt == "Is 1 < 2 && see https://ex.com/a?"
    assert asked.thread_ts == event["ts"]
    assert asked.team_id == event["team"]


def test_model_line_only_counts_first() -> None:
    asked = question(message_event("hello\nmodel: gpt-4o", channel="C"), bot=BOT, team_id=None)
    assert asked.model is None
    assert asked.prompt == "hello\nmodel: gpt-4o"


async def test_store_dedupes_and_keeps_threads(tmp_path: Path) -> None:
    async with open_database(tmp_path / "s.sqlite3") as db:
        store = SlackStore(db)
        await store.setup()
        event = message_event("hi", channel="CPERSONAL")
        asked = question(event, bot=BOT, team_id=None)
        job = await store.accept(asked)
        assert job is not None and job.state is JobState.QUEUED
        assert await store.accept(asked) is None  # a retry or the app_mention twin
        assert await store.is_known_thread("CPERSONAL", event["ts"])
        await store.set_state(job.id, JobState.SENDING)
        await store.save_thread("CPERSONAL", event["ts"], model="auto")
        await store.save_thread("CPERSONAL", event["ts"], conversation_id="c-1")
        info = await store.thread("CPERSONAL", event["ts"])
        assert info is not None and (info.conversation_id, info.model) == ("c-1", "auto")
        (left,) = await store.unfinished_jobs()
        assert (left.id, left.state, left.prompt) == (job.id, JobState.SENDING, "hi")
        await store.set_state(job.id, JobState.ANSWERED)
        assert await store.unfinished_jobs() == []


MANIFESTS = Path(__file__).resolve().parent.parent / "slackbot"


@pytest.mark.parametrize("name", ["manifest.yaml", "manifest-socket.yaml"])
def test_manifests_subscribe_to_what_the_bridge_handles(name: str) -> None:
    manifest = yaml.safe_load((MANIFESTS / name).read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "channels:history", "im:history", "chat:write"} <= scopes
    assert "assistant:write" in scopes
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.channels", "message.groups", "message.im"} <= events
    assert {"app_home_opened", "app_context_changed", "agent_session_stopped"} <= events
    assert manifest["features"]["agent_view"]["agent_description"]
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/chatgpt" and "commands" in scopes
    callbacks = {shortcut["callback_id"] for shortcut in manifest["features"]["shortcuts"]}
    assert callbacks == {"ask_chatgpt_message", "summarize_thread"}
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "im:write" in scopes  # conversations.open for the owner's alerts
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    socket = manifest["settings"]["socket_mode_enabled"]
    assert socket is (name == "manifest-socket.yaml")
    if not socket:
        assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/events")
        assert command["url"].endswith("/slack/events")
        assert manifest["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")


SCHEMA = (
    Path(__file__).resolve().parent.parent.parent / "shared/conformance/slack-manifest-schema.json"
)


@pytest.mark.parametrize("name", ["manifest.yaml", "manifest-socket.yaml"])
def test_manifests_validate_against_slacks_own_schema(name: str) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    manifest = yaml.safe_load((MANIFESTS / name).read_text())
    assert list(validator.iter_errors(manifest)) == []
    # The schema does bite: five suggested prompts are one too many for agent_view.
    prompts = [{"title": "t", "message": "m"}] * 5
    wrong = {
        **manifest,
        "features": {**manifest["features"], "agent_view": {"suggested_prompts": prompts}},
    }
    assert not validator.is_valid(wrong)


def test_the_channel_of_an_app_context() -> None:
    channel = {"type": "slack#/types/channel_id", "value": "C0LOOKED", "team_id": "T1"}
    message = {
        "type": "slack#/types/message_context",
        "value": {"message_ts": "1.2", "channel_id": "C0MSG"},
    }
    canvas = {"type": "slack#/types/canvas_id", "value": "F0CANVAS"}
    assert context_channel({"entities": [canvas, channel, message]}) == "C0LOOKED"
    assert context_channel({"entities": [message]}) == "C0MSG"
    assert context_channel({}) is None and context_channel({"entities": [canvas]}) is None
    assert context_channel("garbage") is None
