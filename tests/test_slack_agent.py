"""The agent DM (`agent_view`, the Messages tab), on a FakeBridge through the fake Web API.

Each top-level DM message is a thread and a session: `processing` while ChatGPT works (Slack
shows its own Stop button, so ours is left out), `active` at the end, the thread named after
the question and then after ChatGPT's own title. Without sessions the legacy status line is
kept alive. Suggested prompts on the Messages tab, Slack's native Stop, the channel the
person looks at as context, and who may ask.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from browser.events import Progress, Title
from slackbot.session import Sessions, ThreadStatus
from tests.fakes.bridge import Answer, FakeBridge
from tests.fixtures.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    USER_ID,
    FakeSlack,
    RunSlack,
    SlackApp,
    answer,
    event_body,
    footer_of,
    message_event,
    text_of,
    wait_for,
)

DM = "DAGENT0001"
LOOKED_AT = "CLOOKED001"
CONTEXT = {"entities": [{"type": "slack#/types/channel_id", "value": LOOKED_AT}]}


def _dm(text: str, **extra: Any) -> dict[str, Any]:
    return message_event(text, channel=DM, channel_type="im", **extra)


async def _ask(app: SlackApp, text: str, **extra: Any) -> tuple[dict[str, Any], list[Any]]:
    event = _dm(text, **extra)
    response = await app.events.event(event)
    assert response.status_code == 200
    return event, await answer(app.slack, DM, event["ts"])


async def test_a_dm_thread_is_a_session_named_by_chatgpt(run_slack: RunSlack) -> None:
    bridge = FakeBridge()
    bridge.script(Answer(Progress("reasoning", "Thinking"), "Paris", Title("Capital of France")))
    async with run_slack(bridge) as app:
        event, messages = await _ask(app, "What is the capital of France?\nBe brief.")
        await wait_for(lambda: app.pending() == 0)
    session = app.slack.sessions[(DM, event["ts"])]
    assert session["history"] == ["processing", "active"]
    assert session["title"] == "Capital of France"
    first = app.slack.calls_to("agents.sessions.setStatus")[0].params
    assert first["title"] == "What is the capital of France?"  # until ChatGPT names it
    assert "Paris" in text_of(messages) and footer_of(messages)
    # Slack's own Stop button shows in the session: no control message of ours in the DM.
    assert not [m for m in app.slack.thread(DM, event["ts"]) if m.has_button()]
    assert not [m for m in app.slack.messages.values() if m.has_button()]


async def test_without_sessions_the_legacy_status_and_our_stop_button(
    run_slack: RunSlack,
) -> None:
    async with run_slack() as app:
        app.slack.sessions_error = "not_authorized"
        _, messages = await _ask(app, "legacy please")
        await wait_for(lambda: app.pending() == 0)
        assert "You said: legacy please" in text_of(messages)
        statuses = [c.params["status"] for c in app.slack.calls_to("assistant.threads.setStatus")]
        assert statuses[0] == "is thinking…" and statuses[-1] == ""
        buttons = [m for m in app.slack.messages.values() if m.has_button()]
        assert buttons and all(m.deleted for m in buttons)  # shown, then removed
        # The refusal is remembered: the next thread goes straight to the legacy line.
        await _ask(app, "again")
    assert len(app.slack.calls_to("agents.sessions.setStatus")) == 1


async def test_the_legacy_status_is_kept_alive_until_the_answer_shows(
    slack_api: FakeSlack,
) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_api.url)
    slack_api.sessions_error = "feature_disabled"
    sessions = Sessions()
    status = ThreadStatus(
        client, channel=DM, thread_ts="1.000001", sessions=sessions, keepalive=0.05
    )
    assert await status.working("A long think") is False and sessions.enabled is False
    await wait_for(lambda: len(slack_api.calls_to("assistant.threads.setStatus")) >= 3)
    status.shown()
    sent = len(slack_api.calls_to("assistant.threads.setStatus"))
    await asyncio.sleep(0.2)
    # No more re-sends: at most the one already on its way when the answer showed lands.
    assert len(slack_api.calls_to("assistant.threads.setStatus")) <= sent + 1
    await status.done()
    await asyncio.sleep(0.1)
    statuses = [call.params["status"] for call in slack_api.calls_to("assistant.threads.setStatus")]
    assert statuses[-1] == "", "the clear is the last word: no re-send lands after it"


async def test_suggested_prompts_when_the_messages_tab_opens(run_slack: RunSlack) -> None:
    prompts = [{"title": "Plan my day", "message": "Plan my day"}]
    async with run_slack(slack_suggested_prompts=prompts) as app:
        home = {"type": "app_home_opened", "user": USER_ID, "channel": DM, "tab": "home"}
        assert (await app.events.event(home)).status_code == 200
        opened = {**home, "tab": "messages", "event_ts": "1.1", "context": CONTEXT}
        assert (await app.events.event(opened)).status_code == 200
        await wait_for(lambda: app.slack.suggested_prompts.get(DM))
    assert app.slack.suggested_prompts[DM] == prompts
    calls = app.slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert len(calls) == 1 and "thread_ts" not in calls[0].params  # Slack drops it with one


async def test_slacks_native_stop_presses_stop_in_chatgpt(run_slack: RunSlack) -> None:
    bridge = FakeBridge()
    bridge.script(Answer("Counting: one, two", hang=True))
    async with run_slack(bridge) as app:
        event = _dm("count forever")
        await app.events.event(event)
        await wait_for(lambda: bridge.turns and bridge.turns[0].text)
        stopped = {
            "type": "agent_session_stopped",
            "channel": DM,
            "thread_ts": event["ts"],
            "user": USER_ID,
            "streaming_message_ts": [],
            "event_ts": "2.2",
        }
        assert (await app.events.event(stopped)).status_code == 200
        messages = await answer(app.slack, DM, event["ts"])
        await wait_for(lambda: app.pending() == 0)
    assert bridge.turns[0].cancelled.is_set()
    assert "Counting: one, two" in text_of(messages) and "Stopped" in footer_of(messages)
    assert app.slack.sessions[(DM, event["ts"])]["history"][-1] == "active"


async def test_this_channel_is_read_only_when_asked_about(run_slack: RunSlack) -> None:
    async with run_slack() as app:
        app.slack.channel_history[LOOKED_AT] = [
            {"type": "message", "user": "UALICE", "text": "ship it on Friday", "ts": "3.0"},
            {"type": "message", "user": "UBOB", "text": "tests are green", "ts": "2.0"},
            {"type": "message", "subtype": "channel_join", "user": "UBOB", "text": "joined"},
        ]
        changed = {"type": "app_context_changed", "channel": DM, "user": USER_ID}
        await app.events.event({**changed, "context": CONTEXT, "event_ts": "1.0"})
        await _ask(app, "what is the weather like")
        assert not app.slack.calls_to("conversations.history")  # not asked about: not read
        _, messages = await _ask(app, "Summarize this channel")
        await wait_for(lambda: app.pending() == 0)
    prompt = app.bridge.prompts[-1]
    assert prompt.index("UBOB: tests are green") < prompt.index("UALICE: ship it on Friday")
    assert "joined" not in prompt and prompt.endswith("Summarize this channel")
    assert "Summarize this channel" in text_of(messages)


async def test_a_channel_the_bot_is_not_in_says_how_to_invite_it(run_slack: RunSlack) -> None:
    async with run_slack() as app:
        # The message itself says where the person is (`app_context`, inline).
        event = _dm("Summarize this channel", app_context=CONTEXT)
        await app.events.event(event)
        messages = await wait_for(lambda: app.slack.thread(DM, event["ts"]))
        await wait_for(lambda: app.pending() == 0)
    assert "/invite @ChatGPT" in messages[0].text and LOOKED_AT in messages[0].text
    assert app.bridge.prompts == []


async def test_only_the_owner_and_allowed_users_and_only_our_team(run_slack: RunSlack) -> None:
    async with run_slack(slack_owner=USER_ID, slack_allowed_users=["UFRIEND01"]) as app:
        await _ask(app, "from the owner")
        await _ask(app, "from a friend", user="UFRIEND01")
        stranger = _dm("from a stranger", user="USTRANGER")
        await app.events.event(stranger)
        refusal = await wait_for(lambda: app.slack.thread(DM, stranger["ts"]))
        foreign = _dm("from another team")
        body = {**event_body(foreign), "team_id": "T0OTHER01"}
        response = await app.events.post(json.dumps(body))
        assert response.status_code == 200
        await wait_for(lambda: app.pending() == 0)
    assert app.bridge.prompts == ["from the owner", "from a friend"]
    assert "SLACK_ALLOWED_USERS" in refusal[0].text and f"<@{USER_ID}>" in refusal[0].text
    assert not app.slack.thread(DM, foreign["ts"])


async def test_a_long_answer_ends_with_a_mention_that_notifies(run_slack: RunSlack) -> None:
    bridge = FakeBridge()
    bridge.script(Answer("Slow", " and steady", delay=0.05))
    async with run_slack(bridge, slack_notify_after=0.05) as app:
        event, _ = await _ask(app, "take your time")
        await wait_for(lambda: app.pending() == 0)
        last = app.slack.thread(DM, event["ts"])[-1]
        assert last.text.startswith(f"<@{USER_ID}> ChatGPT's answer is above")
    async with run_slack(FakeBridge()) as app:  # the default: two minutes
        event, _ = await _ask(app, "quick one")
        await wait_for(lambda: app.pending() == 0)
    assert not [m for m in app.slack.thread(DM, event["ts"]) if "<@" in m.text]


async def test_the_agent_events_over_socket_mode(run_slack: RunSlack) -> None:
    socket = {"slack_app_token": APP_TOKEN, "slack_signing_secret": None}
    async with run_slack(**socket) as app:
        slack = app.slack
        await wait_for(lambda: slack.socket_connected, timeout=30)
        opened = {"type": "app_home_opened", "user": USER_ID, "channel": DM, "tab": "messages"}
        envelope = slack.send_envelope("events_api", event_body(opened))
        await wait_for(lambda: slack.acked(envelope) and slack.suggested_prompts.get(DM))
        event = _dm("over the socket")
        slack.send_envelope("events_api", event_body(event))
        messages = await answer(slack, DM, event["ts"])
        await wait_for(lambda: app.pending() == 0)
    assert "You said: over the socket" in text_of(messages)
    assert slack.sessions[(DM, event["ts"])]["history"] == ["processing", "active"]
