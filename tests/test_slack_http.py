"""Slack over HTTP, end to end: signed events -> the running app -> real Chromium on the
replica -> answers in the fake Slack workspace.

One app serves the whole module (starting Chromium is the slow part); every test uses its
own thread and unique prompts, so tests never read each other's answers.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.app_server import AppServer
from tests.fixtures.slack_api import (
    BOT_ID,
    BOT_USER_ID,
    HEADER,
    FakeSlack,
    Message,
    SlackEvents,
    answer,
    conversation_of,
    follow_up,
    footer_of,
    message_event,
    new_ts,
    slack_settings,
    text_of,
    wait_for,
)

pytestmark = pytest.mark.browser

PERSONAL = "CPERSONAL1"
OTHER = "COTHER0001"
MODELS = "CMODELS001"


@pytest.fixture(scope="module")
def server(
    replica: Any,
    browser_executable: str,
    slack_api_server: FakeSlack,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppServer]:
    settings = slack_settings(
        replica.url,
        browser_executable,
        tmp_path_factory.mktemp("slack-http") / "data",
        slack_api_server.url,
        slack_channels=[PERSONAL],
        slack_channel_models={MODELS: "gpt-4o"},
    )
    app = AppServer(settings)
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture
def slack(server: AppServer, slack_api: FakeSlack) -> FakeSlack:
    """The fake workspace, reset, with native streaming allowed."""
    server.app.state.slack.streaming.enabled = True
    return slack_api


@pytest.fixture
def events(server: AppServer) -> SlackEvents:
    return SlackEvents(server.url)


def _token() -> str:
    return uuid.uuid4().hex[:8]


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", text)


async def _sent(replica: Any, token: str) -> list[dict[str, Any]]:
    return [send for send in await replica.sends() if token in send["prompt"]]


async def test_bad_signature_and_stale_timestamp_are_rejected(events: SlackEvents) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc"})
    bad = await events.post(body, signature="v0=" + "0" * 64)
    assert bad.status_code == 401
    stale = await events.post(body, timestamp=int(time.time()) - 600)
    assert stale.status_code == 401
    good = await events.post(body)
    assert good.status_code == 200
    assert good.json() == {"challenge": "abc"} or good.text == "abc"


async def test_two_threads_two_conversations_and_follow_ups_keep_context(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    token = _token()
    first = message_event(f"first {token}", channel=PERSONAL)
    second = message_event(f"second {token}", channel=PERSONAL)
    for event in (first, second):
        assert (await events.event(event)).status_code == 200
    answers = [await answer(slack, PERSONAL, e["ts"]) for e in (first, second)]
    for event, messages in zip((first, second), answers, strict=True):
        assert HEADER.search(text_of(messages)).group(2) == "1"
        assert event["text"] in text_of(messages)
    links = [conversation_of(messages) for messages in answers]
    assert links[0] != links[1]

    follow = message_event(f"and more {token}", channel=PERSONAL, thread_ts=first["ts"])
    await events.event(follow)
    messages = await wait_for(lambda: follow_up(slack, PERSONAL, first["ts"]), timeout=90)
    assert HEADER.search(text_of(messages)).group(2) == "2"
    assert f"/c/{links[0]}|" in footer_of(messages)
    conversation = await replica.conversation(links[0])
    prompts = [m["text"] for m in conversation["messages"] if m["role"] == "user"]
    assert prompts == [first["text"], follow["text"]]


async def test_retries_and_double_delivery_give_one_answer(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    token = _token()
    text = f"<@{BOT_USER_ID}> once only {token}"
    as_message = message_event(text, channel=OTHER)
    as_mention = {**as_message, "type": "app_mention"}
    for event, retry in ((as_mention, None), (as_message, None), (as_mention, 1), (as_message, 2)):
        assert (await events.event(event, retry_num=retry)).status_code == 200
    messages = await answer(slack, OTHER, as_message["ts"])
    assert len([m for m in messages if m.footer()]) == 1
    assert len(await _sent(replica, token)) == 1
    assert HEADER.search(text_of(messages)).group(2) == "1"
    # The mention is not part of the question.
    assert (await _sent(replica, token))[0]["prompt"] == f"once only {token}"

    reply = message_event(f"no mention needed {token}", channel=OTHER, thread_ts=as_message["ts"])
    await events.event(reply)
    await wait_for(lambda: follow_up(slack, OTHER, as_message["ts"]), timeout=90)
    assert len(await _sent(replica, token)) == 2


async def test_ignored_messages_are_not_asked(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    token = _token()
    ignored = [
        message_event(f"not for the bot {token}", channel=OTHER),
        message_event(f"own {token}", channel=PERSONAL, user=BOT_USER_ID, bot_id=BOT_ID),
        message_event(f"other bot {token}", channel=PERSONAL, user="UBOT2", bot_id="B2"),
        message_event(f"edited {token}", channel=PERSONAL, subtype="message_changed"),
        message_event(f"unknown thread {token}", channel=OTHER, thread_ts=new_ts()),
    ]
    for event in ignored:
        assert (await events.event(event)).status_code == 200
    shared = message_event(
        f"with a file {token}", channel=PERSONAL, subtype="file_share", files=[{"id": "F1"}]
    )
    direct = message_event(f"direct {token}", channel="DDIRECT01", channel_type="im")
    for event in (shared, direct):
        await events.event(event)
    shared_answer = await answer(slack, PERSONAL, shared["ts"])
    assert "not supported yet" in footer_of(shared_answer)
    await answer(slack, "DDIRECT01", direct["ts"])
    prompts = sorted(send["prompt"] for send in await _sent(replica, token))
    assert prompts == sorted([f"with a file {token}", f"direct {token}"])
    for event in ignored:
        assert slack.thread(event["channel"], event.get("thread_ts") or event["ts"]) == []


async def test_model_per_channel_and_per_thread(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    token = _token()
    by_channel = message_event(f"<@{BOT_USER_ID}> channel model {token}", channel=MODELS)
    by_line = message_event(f"model: gpt-4o-mini\nline model {token}", channel=PERSONAL)
    for event in (by_channel, by_line):
        await events.event(event)
    channel_answer = await answer(slack, MODELS, by_channel["ts"])
    line_answer = await answer(slack, PERSONAL, by_line["ts"])
    assert HEADER.search(text_of(channel_answer)).group(1) == "gpt-4o"
    assert HEADER.search(text_of(line_answer)).group(1) == "gpt-4o-mini"
    sends = {send["prompt"]: send["model"] for send in await _sent(replica, token)}
    assert sends[f"line model {token}"] == "gpt-4o-mini"
    # A follow-up keeps the thread's model.
    await events.event(message_event(f"again {token}", channel=PERSONAL, thread_ts=by_line["ts"]))
    follow = await wait_for(lambda: follow_up(slack, PERSONAL, by_line["ts"]), timeout=90)
    assert HEADER.search(text_of(follow)).groups() == ("gpt-4o-mini", "2")
    sends = {send["prompt"]: send["model"] for send in await _sent(replica, token)}
    assert sends[f"again {token}"] == "gpt-4o-mini"


async def test_long_answer_arrives_complete_in_several_messages(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    await replica.configure(chunk_chars=160)
    event = message_event(f"words:1600 {_token()}", channel=PERSONAL)
    await events.event(event)
    messages = await answer(slack, PERSONAL, event["ts"], timeout=150)
    assert len(messages) >= 3
    assert [len(message.text) for message in messages if len(message.text) > 3500] == []
    assert messages[0].method == "chat.startStream"
    conversation_id = conversation_of(messages)
    stored = (await replica.conversation(conversation_id))["messages"][-1]["text"]
    assert len(stored) > 9000
    assert _words(text_of(messages)) == _words(stored)


async def test_without_native_streaming_edits_split_on_msg_too_long(
    server: AppServer, slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    await replica.configure(chunk_chars=80)
    slack.streaming_error = "not_allowed"
    slack.max_text = 1200
    event = message_event(f"words:400 {_token()}", channel=PERSONAL)
    await events.event(event)
    messages = await answer(slack, PERSONAL, event["ts"], timeout=120)
    assert not server.app.state.slack.streaming.enabled
    assert {message.method for message in messages} <= {"chat.postMessage", "chat.update"}
    assert len(messages) >= 3
    assert all(len(message.text) <= 1200 for message in messages)
    assert any(call.error == "msg_too_long" for call in slack.calls)
    conversation_id = conversation_of(messages)
    stored = (await replica.conversation(conversation_id))["messages"][-1]["text"]
    assert _words(text_of(messages)) == _words(stored)


async def test_slack_rate_limits_are_waited_out(slack: FakeSlack, events: SlackEvents) -> None:
    slack.rate_limit("chat.postMessage", count=1, retry_after=1)
    slack.rate_limit("assistant.threads.setStatus", count=1, retry_after=1)
    event = message_event(f"patience {_token()}", channel=PERSONAL)
    await events.event(event)
    messages = await answer(slack, PERSONAL, event["ts"])
    assert "patience" in text_of(messages)
    for method in ("chat.postMessage", "assistant.threads.setStatus"):
        statuses = [call.status for call in slack.calls_to(method)]
        assert statuses[:2] == [429, 200]


async def test_stop_button_stops_the_generation(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    await replica.configure(chunk_delay_ms=120, chunk_chars=8)
    event = message_event(f"words:600 {_token()}", channel=PERSONAL)
    await events.event(event)

    def control_and_text() -> tuple[Message, Message] | None:
        messages = slack.thread(PERSONAL, event["ts"])
        controls = [m for m in messages if m.has_button()]
        texts = [m for m in messages if not m.has_button() and len(m.text) > 80]
        return (controls[0], texts[0]) if controls and texts else None

    control, _ = await wait_for(control_and_text, timeout=90)
    job = next(
        element["value"]
        for block in control.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    )
    response = await events.press_stop(job, channel=PERSONAL, message_ts=control.ts)
    assert response.status_code == 200
    messages = await answer(slack, PERSONAL, event["ts"], timeout=90)
    footer = footer_of(messages)
    assert "Stopped" in footer
    conversation_id = conversation_of(messages)
    stored = (await replica.conversation(conversation_id))["messages"][-1]["text"]
    assert len(_words(stored)) < 600
    assert _words(text_of(messages))[:20] == _words(stored)[:20]


async def test_chatgpt_failures_are_explained_in_the_thread(
    slack: FakeSlack, events: SlackEvents, replica: Any, server: AppServer
) -> None:
    await replica.configure(rate_limit_next=1)
    limited = message_event(f"rate me {_token()}", channel=PERSONAL)
    await events.event(limited)
    messages = await answer(slack, PERSONAL, limited["ts"])
    warning = next(m.text for m in messages if m.text.startswith(":warning:"))
    assert "limit" in warning
    assert "(until <!date^" in warning
    server.app.state.bridge.pacer.release()  # as if ChatGPT's wait were over: no tab sends before

    await replica.configure(logged_out=True)
    logged_out = message_event(f"anyone there {_token()}", channel=PERSONAL)
    await events.event(logged_out)
    messages = await answer(slack, PERSONAL, logged_out["ts"])
    warning = next(m.text for m in messages if m.text.startswith(":warning:"))
    assert "chatgpt-bridge login" in warning
