"""Slack over HTTP: signed events -> the running app -> answers in the fake Slack workspace.

Most tests run the real app on a `FakeBridge` (`run_slack`): the Slack layer's own logic
(signatures, routing, dedupe, models, errors, Stop, the waiting line) with ChatGPT scripted.
The `browser` tests at the end cross into real Chromium on the replica, one per feature:
a personal-channel question answered in its thread and a thread reply continuing the same
ChatGPT chat, and Stop. One app serves those (starting Chromium is the slow part); each uses
its own thread and unique prompts, so tests never read each other's answers.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from browser.errors import (
    AnswerTimeoutError,
    BridgeError,
    BrowserDownError,
    BusyError,
    ChallengeError,
    LoginRequiredError,
    RateLimitedError,
    SendUncertainError,
    WebAppError,
)
from replica import pictures
from slackbot.mrkdwn import escape
from tests.fakes.bridge import Answer, Ask, FakeBridge
from tests.fixtures.app_server import AppServer
from tests.fixtures.slack_api import (
    BOT_ID,
    BOT_USER_ID,
    HEADER,
    FakeSlack,
    Message,
    RunSlack,
    SlackApp,
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
    words,
)

PERSONAL = "CPERSONAL1"
OTHER = "COTHER0001"
MODELS = "CMODELS001"
CHANNELS = {"slack_channels": [PERSONAL], "slack_channel_models": {MODELS: "gpt-4o"}}


def _token() -> str:
    return uuid.uuid4().hex[:8]


def _warning(messages: list[Message]) -> str:
    return next(m.text for m in messages if m.text.startswith(":warning:"))


def _stop_value(control: Message) -> str:
    """The job id the Stop button of a control message carries."""
    return next(
        element["value"]
        for block in control.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    )


def _control(slack: FakeSlack, channel: str, ts: str) -> Message | None:
    return next((m for m in slack.thread(channel, ts) if m.has_button()), None)


# --- on the FakeBridge -------------------------------------------------------------------


async def test_unsigned_forged_stale_and_malformed_requests_are_refused(
    run_slack: RunSlack,
) -> None:
    """The service's check is the only one (bolt's is off): every way around it is tried."""
    async with run_slack(**CHANNELS) as app:
        events = app.events
        challenge = json.dumps({"type": "url_verification", "challenge": "abc"})
        good = await events.post(challenge)
        assert good.status_code == 200
        assert good.json() == {"challenge": "abc"} or good.text == "abc"

        event = json.dumps(
            {"type": "event_callback", "event": message_event("x", channel=PERSONAL)}
        )
        refused = {
            "bad signature": await events.post(event, signature="v0=" + "0" * 64),
            "stale": await events.post(event, timestamp=int(time.time()) - 600),
            "from the future": await events.post(event, timestamp=int(time.time()) + 600),
            "not a timestamp": await events.post(event, signature="v0=1", timestamp=-1),
            "forged": await SlackEvents(app.server.url, secret="guessed").post(event),
            "tampered": await events.post(
                event, signature=events.headers(challenge)["X-Slack-Signature"]
            ),
            "unsigned": await events.post(event, signature=""),
        }
        assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 401)
        # Signed, yet not a request bolt can read: refused as malformed, not a 500.
        garbage = urlencode({"payload": "{not json"})
        malformed = await events.post(garbage, content_type="application/x-www-form-urlencoded")
        assert malformed.status_code == 400
        assert app.bridge.asks == []


async def test_two_threads_two_conversations_and_a_reply_continues_its_own(
    run_slack: RunSlack,
) -> None:
    async with run_slack(**CHANNELS) as app:
        first = message_event("first question", channel=PERSONAL)
        second = message_event("second question", channel=PERSONAL)
        for event in (first, second):
            assert (await app.events.event(event)).status_code == 200
        answers = [await answer(app.slack, PERSONAL, e["ts"]) for e in (first, second)]
        for event, messages in zip((first, second), answers, strict=True):
            assert f"You said: {event['text']}" in text_of(messages)
        links = [conversation_of(messages) for messages in answers]
        assert links[0] != links[1]

        reply = message_event("and more", channel=PERSONAL, thread_ts=first["ts"])
        await app.events.event(reply)
        messages = await wait_for(lambda: follow_up(app.slack, PERSONAL, first["ts"]))
        assert "You said: and more" in text_of(messages)
        assert conversation_of(messages) == links[0]
        asked = {ask.prompt: ask for ask in app.bridge.asks}
        assert asked["and more"].conversation_id == links[0]
        assert asked["first question"].conversation_id is None
        assert all(ask.patient for ask in app.bridge.asks), "a stored question waits in line"


async def test_retries_and_double_delivery_give_one_answer(run_slack: RunSlack) -> None:
    async with run_slack(**CHANNELS) as app:
        as_message = message_event(f"<@{BOT_USER_ID}> once only", channel=OTHER)
        as_mention = {**as_message, "type": "app_mention"}
        for event, retry in (
            (as_mention, None),
            (as_message, None),
            (as_mention, 1),
            (as_message, 2),
        ):
            assert (await app.events.event(event, retry_num=retry)).status_code == 200
        messages = await answer(app.slack, OTHER, as_message["ts"])
        assert len([m for m in messages if m.footer()]) == 1
        # The mention is not part of the question.
        assert app.bridge.prompts == ["once only"]

        reply = message_event("no mention needed", channel=OTHER, thread_ts=as_message["ts"])
        await app.events.event(reply)
        await wait_for(lambda: follow_up(app.slack, OTHER, as_message["ts"]))
        assert app.bridge.prompts == ["once only", "no mention needed"]


async def test_ignored_messages_are_not_asked(run_slack: RunSlack) -> None:
    async with run_slack(**CHANNELS) as app:
        ignored = [
            message_event("not for the bot", channel=OTHER),
            message_event("own", channel=PERSONAL, user=BOT_USER_ID, bot_id=BOT_ID),
            message_event("other bot", channel=PERSONAL, user="UBOT2", bot_id="B2"),
            message_event("edited", channel=PERSONAL, subtype="message_changed"),
            message_event("unknown thread", channel=OTHER, thread_ts=new_ts()),
        ]
        for event in ignored:
            assert (await app.events.event(event)).status_code == 200
        shared = message_event(
            "with a file", channel=PERSONAL, subtype="file_share", files=[{"id": "F1"}]
        )
        direct = message_event("direct", channel="DDIRECT01", channel_type="im")
        for event in (shared, direct):
            await app.events.event(event)
        shared_answer = await answer(app.slack, PERSONAL, shared["ts"])
        assert "*F1*: cannot be downloaded: Slack gave no download link" in text_of(shared_answer)
        await answer(app.slack, "DDIRECT01", direct["ts"])
        assert sorted(app.bridge.prompts) == ["direct", "with a file"]
        for event in ignored:
            assert app.slack.thread(event["channel"], event.get("thread_ts") or event["ts"]) == []


def _keeps_models() -> FakeBridge:
    """A bridge whose conversations keep the model they started with, as chatgpt.com does."""
    models: dict[str, str] = {}

    def handler(ask: Ask) -> Answer:
        conversation = ask.conversation_id or f"conv-{len(models) + 1}"
        model = ask.model or models.get(conversation, "auto")
        models.setdefault(conversation, model)
        return Answer(f"{model} says hi", conversation_id=conversation, model=model)

    # `model:` lines are checked against the account's list, as /v1/models lists it.
    return FakeBridge(handler, model_slugs=["auto", "gpt-4o", "gpt-4o-mini", "gpt-5"])


async def test_a_model_line_is_checked_against_the_account(run_slack: RunSlack) -> None:
    bridge = FakeBridge(model_slugs=["gpt-5-6", "gpt-5-6-thinking"])
    bridge.model_efforts = {"gpt-5-6-thinking": ["standard", "max"]}
    async with run_slack(bridge, **CHANNELS) as app:
        unknown = message_event("model: gpt-9\nhello", channel=PERSONAL)
        await app.events.event(unknown)
        refused = "no model 'gpt-9'. Choose one of: gpt-5-6, gpt-5-6-thinking, "
        await wait_for(lambda: refused in text_of(app.slack.thread(PERSONAL, unknown["ts"])))
        chosen = message_event("model: gpt-5-6-thinking@max\nthink", channel=PERSONAL)
        await app.events.event(chosen)
        assert "gpt-5-6-thinking" in footer_of(await answer(app.slack, PERSONAL, chosen["ts"]))
        await wait_for(lambda: app.pending() == 0)
    assert bridge.prompts == ["think"]  # the refused question was never asked
    assert (bridge.asks[0].options.model, bridge.asks[0].options.effort) == (
        "gpt-5-6-thinking",
        "max",
    )


async def test_an_answer_from_another_model_is_noted(run_slack: RunSlack) -> None:
    bridge = FakeBridge(model_slugs=["gpt-6-pro", "gpt-5-6"])
    bridge.script(Answer("Hi", model="gpt-5-6"))
    async with run_slack(bridge, **CHANNELS) as app:
        event = message_event("model: gpt-6-pro\nhard one", channel=PERSONAL)
        await app.events.event(event)
        footer = footer_of(await answer(app.slack, PERSONAL, event["ts"]))
    assert "gpt-5-6" in footer
    assert escape("ChatGPT answered with gpt-5-6, not gpt-6-pro as asked.") in footer


async def test_model_per_channel_per_thread_and_switched_by_a_line(run_slack: RunSlack) -> None:
    bridge = _keeps_models()
    async with run_slack(bridge, **CHANNELS) as app:
        by_channel = message_event(f"<@{BOT_USER_ID}> channel model", channel=MODELS)
        by_line = message_event("model: gpt-4o-mini\nline model", channel=PERSONAL)
        for event in (by_channel, by_line):
            await app.events.event(event)
        assert "gpt-4o says hi" in text_of(await answer(app.slack, MODELS, by_channel["ts"]))
        assert "gpt-4o-mini" in footer_of(await answer(app.slack, PERSONAL, by_line["ts"]))
        # A follow-up keeps the thread's model: ChatGPT's conversation has it already.
        await app.events.event(message_event("again", channel=PERSONAL, thread_ts=by_line["ts"]))
        follow = await wait_for(lambda: follow_up(app.slack, PERSONAL, by_line["ts"]))
        assert "gpt-4o-mini" in footer_of(follow)
        # A message that is only a `model:` line switches the thread without asking.
        switch = message_event("model: gpt-5", channel=PERSONAL, thread_ts=by_line["ts"])
        await app.events.event(switch)
        switched = "This thread now uses the model *gpt-5*"
        await wait_for(lambda: switched in text_of(app.slack.thread(PERSONAL, by_line["ts"])))
        await wait_for(lambda: app.pending() == 0)
    # The two threads run side by side, so only the follow-up's place is certain.
    asked = {ask.prompt: ask.model for ask in bridge.asks}
    assert asked == {"channel model": "gpt-4o", "line model": "gpt-4o-mini", "again": None}
    assert bridge.prompts[-1] == "again"


ERRORS: list[BridgeError] = [
    LoginRequiredError(),
    ChallengeError(),
    RateLimitedError(retry_after=90),
    BusyError(),
    SendUncertainError(),
    WebAppError("Something went wrong while generating the response."),
    AnswerTimeoutError(),
    BrowserDownError(),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
async def test_each_bridge_error_is_explained_in_the_thread(
    run_slack: RunSlack, error: BridgeError
) -> None:
    bridge = FakeBridge()
    bridge.script(Answer(error=error))
    async with run_slack(bridge, **CHANNELS) as app:
        event = message_event("will it work", channel=PERSONAL)
        await app.events.event(event)
        messages = await answer(app.slack, PERSONAL, event["ts"])
        warning = _warning(messages)
        assert warning.startswith(f":warning: {escape(str(error))}")
        if isinstance(error, RateLimitedError):
            assert "(until <!date^" in warning
        await wait_for(lambda: app.pending() == 0)
    assert bridge.prompts == ["will it work"], "asked once, never retried by the bridge"


async def test_an_answer_that_breaks_off_keeps_its_text_and_link(run_slack: RunSlack) -> None:
    bridge = FakeBridge()
    bridge.script(Answer("Half of", " an answer", fail=AnswerTimeoutError(), conversation_id="c-9"))
    async with run_slack(bridge, **CHANNELS) as app:
        event = message_event("go on", channel=PERSONAL)
        await app.events.event(event)
        messages = await answer(app.slack, PERSONAL, event["ts"])
    assert "Half of an answer" in text_of(messages)
    assert escape(str(AnswerTimeoutError())) in _warning(messages)
    assert conversation_of(messages) == "c-9"


async def test_stop_button_stops_the_generation_and_keeps_the_partial_text(
    run_slack: RunSlack,
) -> None:
    bridge = FakeBridge()
    bridge.script(Answer("Partial", " answer", hang=True))
    async with run_slack(bridge, **CHANNELS) as app:
        event = message_event("write forever", channel=PERSONAL)
        await app.events.event(event)

        def control_after_text() -> Message | None:
            shown = "Partial answer" in text_of(app.slack.answers(PERSONAL, event["ts"]))
            return _control(app.slack, PERSONAL, event["ts"]) if shown else None

        control = await wait_for(control_after_text)
        response = await app.events.press_stop(
            _stop_value(control), channel=PERSONAL, message_ts=control.ts
        )
        assert response.status_code == 200
        messages = await answer(app.slack, PERSONAL, event["ts"])
    assert "Stopped" in footer_of(messages)
    assert "Partial answer" in text_of(messages)
    assert bridge.turns[0].finish_reason == "cancelled"


async def _hold_the_tab(app: SlackApp) -> dict[str, Any]:
    """A first question that holds the bridge's only tab until its Stop is pressed."""
    first = message_event("hold the tab", channel=PERSONAL)
    await app.events.event(first)
    await wait_for(app.bridge.is_busy)
    return first


async def _press_stop(app: SlackApp, ts: str) -> None:
    control = await wait_for(lambda: _control(app.slack, PERSONAL, ts))
    await app.events.press_stop(_stop_value(control), channel=PERSONAL, message_ts=control.ts)


def _told_queued(app: SlackApp, ts: str) -> list[Message]:
    return [m for m in app.slack.thread(PERSONAL, ts) if m.text.startswith(":hourglass:")]


async def test_a_question_waits_its_turn_in_the_pool_instead_of_being_refused(
    run_slack: RunSlack,
) -> None:
    """No free tab, no room in the line: an API client would get a 429, a Slack question waits.

    The pool has one tab where the settings allow three, as when API requests hold the other
    two: the question goes to the pool's line (`patient`), the thread is told, and it is
    answered in turn.
    """
    bridge = FakeBridge(tabs=1, max_queue=0)
    bridge.script(Answer("Held", hang=True))
    async with run_slack(bridge, **CHANNELS) as app:
        first = await _hold_the_tab(app)
        second = message_event("wait for it", channel=PERSONAL)
        await app.events.event(second)
        await wait_for(lambda: bridge.stats()["queue_length"] == 1)
        await wait_for(lambda: _told_queued(app, second["ts"]))
        await _press_stop(app, first["ts"])
        waited = await answer(app.slack, PERSONAL, second["ts"])
        held = await answer(app.slack, PERSONAL, first["ts"])
    assert "You said: wait for it" in text_of(waited) and "Held" in text_of(held)
    assert not any(m.text.startswith(":warning:") for m in waited)
    assert bridge.prompts == ["hold the tab", "wait for it"]


async def test_a_question_behind_another_is_told_and_can_be_stopped_before_it_is_sent(
    run_slack: RunSlack,
) -> None:
    """With every tab answering, the next question waits in the pool's line, still `queued`.

    It becomes `sending` only when the bridge calls its `on_send` with a tab in hand, so a
    restart would answer it (tests/test_reliability_faults.py) and Stop withdraws it unsent.
    """
    bridge = FakeBridge(tabs=1)
    bridge.script(Answer("Held", hang=True))
    async with run_slack(bridge, max_tabs=1, **CHANNELS) as app:
        first = await _hold_the_tab(app)
        second = message_event("never mind", channel=PERSONAL)
        await app.events.event(second)
        await wait_for(lambda: _told_queued(app, second["ts"]))
        assert bridge.stats()["queue_length"] == 1, "the pool is the only line it waits in"
        await _press_stop(app, second["ts"])  # takes effect when its turn comes
        await _press_stop(app, first["ts"])
        stopped = await answer(app.slack, PERSONAL, second["ts"])
        assert "Stopped before it was sent to ChatGPT." in _warning(stopped)
        await answer(app.slack, PERSONAL, first["ts"])
        await wait_for(lambda: app.pending() == 0)
    assert bridge.prompts == ["hold the tab"]


# --- real Chromium on the replica ---------------------------------------------------------


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
        **CHANNELS,
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
    server.services.slack.streaming.enabled = True
    return slack_api


@pytest.fixture
def events(server: AppServer) -> SlackEvents:
    return SlackEvents(server.url)


@pytest.mark.browser
async def test_in_chromium_threads_are_conversations_and_replies_keep_context(
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


@pytest.mark.browser
async def test_in_chromium_the_stop_button_stops_the_generation(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    await replica.configure(chunk_delay_ms=120, chunk_chars=8)
    event = message_event(f"words:600 {_token()}", channel=PERSONAL)
    await events.event(event)

    def control_after_text() -> Message | None:
        texts = [m for m in slack.answers(PERSONAL, event["ts"]) if len(m.text) > 80]
        return _control(slack, PERSONAL, event["ts"]) if texts else None

    control = await wait_for(control_after_text, timeout=90)
    response = await events.press_stop(
        _stop_value(control), channel=PERSONAL, message_ts=control.ts
    )
    assert response.status_code == 200
    messages = await answer(slack, PERSONAL, event["ts"], timeout=90)
    assert "Stopped" in footer_of(messages)
    conversation_id = conversation_of(messages)
    stored = (await replica.conversation(conversation_id))["messages"][-1]["text"]
    assert len(words(stored)) < 600
    assert words(text_of(messages))[:20] == words(stored)[:20]


@pytest.mark.browser
async def test_in_chromium_a_drawn_picture_is_uploaded_into_the_thread(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    await replica.configure(image_delay_ms=200)
    event = message_event(f"Draw a fox {_token()}", channel=PERSONAL)
    await events.event(event)
    messages = await answer(slack, PERSONAL, event["ts"])
    [upload] = await wait_for(lambda: slack.shared_uploads(PERSONAL, event["ts"]))
    assert upload.data == pictures.picture(event["text"])
    assert upload.alt_txt == event["text"] and upload.filename.endswith(".png")
    assert "ChatGPT drew this" in text_of(messages)


@pytest.mark.browser
async def test_in_chromium_the_agent_dm_session_and_slacks_own_stop(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    """A DM thread is a session named by ChatGPT's title; Slack's Stop stops the page."""
    await replica.configure(chunk_delay_ms=120, chunk_chars=8)
    dm = "DAGENTE2E1"
    event = message_event(f"words:600 {_token()}", channel=dm, channel_type="im")
    await events.event(event)
    await wait_for(
        lambda: [m for m in slack.answers(dm, event["ts"]) if len(m.text) > 80], timeout=90
    )
    assert slack.sessions[(dm, event["ts"])]["status"] == "processing"
    stopped = {
        "type": "agent_session_stopped",
        "channel": dm,
        "thread_ts": event["ts"],
        "user": "UHUMAN001",
        "streaming_message_ts": [],
        "event_ts": new_ts(),
    }
    assert (await events.event(stopped)).status_code == 200
    messages = await answer(slack, dm, event["ts"], timeout=90)
    assert "Stopped" in footer_of(messages)
    stored = await replica.conversation(conversation_of(messages))
    assert len(words(stored["messages"][-1]["text"])) < 600
    session = slack.sessions[(dm, event["ts"])]
    assert session["history"][0] == "processing" and session["status"] == "active"
    assert session["title"] in (stored["title"], event["text"])
