"""`/chatgpt`, App Home, the message shortcuts and the scheduled doctor, in real Chromium.

`test_slack_commands.py`, `test_slack_home.py` and `test_slack_shortcuts.py` cover the
detail on a FakeBridge; here each surface runs once through everything real: signed payloads
to the app's `/slack/events`, the browser bridge on the replica, the fake Web API. One app
serves the whole module (its doctor scheduled every second, `SLACK_OWNER` set), so the
tests pay for one browser start. Each test reads what the person sees (the messages, the
ephemeral reply, the published Home view, the owner's DMs) and what reached ChatGPT (the
replica's recorded sends and conversations; the doctor's runs by its debug log).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from browser.adapters import REGISTRY
from browser.models import all_ids, models_from_payload
from replica import catalog
from replica.auth import AUTO_USER
from tests.fixtures.app_server import AppServer
from tests.fixtures.slack_api import (
    HEADER,
    USER_ID,
    FakeSlack,
    Message,
    SlackEvents,
    answer,
    conversation_of,
    footer_of,
    message_event,
    new_ts,
    slack_settings,
    text_of,
    wait_for,
)

pytestmark = pytest.mark.browser

OWNER = USER_ID
"""The person who asks is the owner: the DM (where shortcuts answer) is theirs."""
OTHER = "UOTHERE2E1"
DM = "D" + OWNER.removeprefix("U")
PEER = "UPEERE2E01"
TEAM = "CTEAME2E01"
"""A channel that is not a personal one: shortcuts take its messages to the DM."""
MODEL, SEARCH, NEW, LINE, LINK = (
    f"CE2E{name}" for name in ("MODEL", "SEARCH", "NEW", "LINE", "LINK")
)
RENDERERS = {adapter.name for adapter in REGISTRY}
MAX_TABS = 2
"""One tab for a question while the scheduled doctor holds the other."""
DOCTOR_EVERY = 1.0
"""Seconds between scheduled doctor runs: short, so a change is told within the test."""


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
        tmp_path_factory.mktemp("slack-e2e") / "data",
        slack_api_server.url,
        slack_channels=[MODEL, SEARCH, NEW, LINE, LINK],
        slack_owner=OWNER,
        bridge_doctor_interval=DOCTOR_EVERY,
        max_tabs=MAX_TABS,
    )
    app = AppServer(settings)
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture
def slack(server: AppServer, slack_api: FakeSlack) -> FakeSlack:
    return slack_api


@pytest.fixture
def events(server: AppServer) -> SlackEvents:
    return SlackEvents(server.url)


def _token() -> str:
    return uuid.uuid4().hex[:8]


async def _sent(replica: Any, token: str) -> list[dict[str, Any]]:
    """The conversation POSTs whose prompt carries `token`, oldest first."""
    return [send for send in await replica.sends() if token in send["prompt"]]


async def _ask(
    events: SlackEvents, slack: FakeSlack, channel: str, text: str, **extra: Any
) -> list[Message]:
    event = message_event(text, channel=channel, **extra)
    assert (await events.event(event)).status_code == 200
    return await answer(slack, channel, extra.get("thread_ts") or event["ts"])


def _model_of(messages: list[Message]) -> str:
    """The model the replica says answered (the first line of its answer)."""
    found = HEADER.search(text_of(messages))
    assert found, text_of(messages)
    return found.group(1)


# --- /chatgpt and a thread's first line ------------------------------------------------


async def test_in_chromium_slash_model_is_the_model_chatgpt_answers_with(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    reply = await events.command("model gpt-4o", channel=MODEL)
    assert "New chats here now use model gpt-4o" in reply
    assert "model *gpt-4o*" in await events.command("status", channel=MODEL)
    token = _token()
    messages = await _ask(events, slack, MODEL, f"Which model? {token}")
    assert _model_of(messages) == "gpt-4o"
    [send] = await _sent(replica, token)
    assert send["model"] == "gpt-4o" and send["conversation_id"]


async def test_in_chromium_slash_search_on_gives_a_searched_answer(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    assert "web search on" in await events.command("search on", channel=SEARCH)
    token = _token()
    messages = await _ask(events, slack, SEARCH, f"News about tides {token}")
    assert f'You said: "News about tides {token}"' in text_of(messages)
    [send] = await _sent(replica, token)
    assert send["system_hints"] == ["search"]  # the composer's Web search was on


async def test_in_chromium_slash_new_starts_a_chat_on_its_own_model(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    assert "Started a new chat" in await events.command("new gpt-5", channel=NEW)
    [root] = await wait_for(lambda: slack.thread(NEW, None))  # type: ignore[arg-type]
    assert root.text.startswith(":speech_balloon: New ChatGPT chat (model gpt-5)")
    token = _token()
    messages = await _ask(events, slack, NEW, f"hello {token}", thread_ts=root.ts)
    assert _model_of(messages) == "gpt-5"
    assert HEADER.search(text_of(messages)).group(2) == "1"  # type: ignore[union-attr]
    [send] = await _sent(replica, token)
    assert send["model"] == "gpt-5"


async def test_in_chromium_a_threads_first_line_sets_its_model_and_is_not_asked(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    token = _token()
    messages = await _ask(events, slack, LINE, f"model gpt-5\nWhat is a tide? {token}")
    assert _model_of(messages) == "gpt-5"
    [send] = await _sent(replica, token)
    assert (send["prompt"], send["model"]) == (f"What is a tide? {token}", "gpt-5")


async def test_in_chromium_a_chat_link_binds_that_chat_to_the_thread(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    token = _token()
    first = await _ask(events, slack, LINK, f"Remember the word kelp {token}")
    chat = conversation_of(first)
    link = f"<https://chatgpt.com/c/{chat}>\nWhich word? {token}"
    messages = await _ask(events, slack, LINK, link)
    assert HEADER.search(text_of(messages)).group(2) == "2"  # type: ignore[union-attr]
    assert f"/c/{chat}|" in footer_of(messages)
    stored = await replica.conversation(chat)
    prompts = [m["text"] for m in stored["messages"] if m["role"] == "user"]
    assert prompts == [f"Remember the word kelp {token}", f"Which word? {token}"]


# --- App Home -------------------------------------------------------------------------


async def test_in_chromium_app_home_shows_the_bridge_as_it_is(
    slack: FakeSlack, events: SlackEvents
) -> None:
    for user in (OWNER, OTHER):
        opened = {"type": "app_home_opened", "user": user, "tab": "home", "event_ts": new_ts()}
        assert (await events.event({**opened, "channel": "D" + user[1:]})).status_code == 200
    owners = await wait_for(lambda: slack.home_text(OWNER))
    others = await wait_for(lambda: slack.home_text(OTHER))
    assert f"Account: {AUTO_USER['email']}" in owners and AUTO_USER["email"] not in others
    ids = all_ids(models_from_payload(catalog.models_payload()))
    for page in (owners, others):
        assert "Logged in to ChatGPT and ready." in page
        tabs = re.search(r"Tabs: (\d+) busy, (\d+) free · waiting for a tab: (\d+)", page)
        assert tabs, page
        # The browser's own tabs at that moment: the scheduled doctor may hold one, and a
        # doctor run or the home's own read of the models may be waiting for one.
        assert 1 <= int(tabs[1]) + int(tabs[2]) <= MAX_TABS and int(tabs[3]) <= MAX_TABS
        assert "Batches running: 0 (0 lines waiting)" in page
        # The models are the replica's own catalog, read through the page.
        assert "Models: " + ", ".join(f"`{model_id}`" for model_id in ids) in page


# --- message shortcuts ----------------------------------------------------------------


def _said(user: str, text: str, ts: str, thread_ts: str | None = None) -> dict[str, str]:
    message = {"type": "message", "user": user, "text": text, "ts": ts}
    return message | ({"thread_ts": thread_ts} if thread_ts else {})


async def test_in_chromium_summarize_thread_takes_a_trimmed_thread_to_the_dm(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    token = _token()
    root = new_ts()
    head = _said(PEER, f"Ship on Friday? {token}", root, root)
    replies = [_said(PEER, f"reply {i} " + "x" * 400, new_ts(), root) for i in range(60)]
    slack.threads[(TEAM, root)] = [head, *replies]
    response = await events.shortcut("summarize_thread", channel=TEAM, message=head)
    assert response.status_code == 200
    [opened] = await wait_for(lambda: slack.dms(OWNER))
    assert opened.text.startswith(f":memo: Summarizing <https://fake.slack.com/archives/{TEAM}/")
    messages = await answer(slack, DM, opened.ts)
    assert HEADER.search(text_of(messages)) and not [m for m in slack.thread(TEAM, root)]
    [send] = await _sent(replica, token)
    prompt = send["prompt"]
    assert prompt.startswith(f"A Slack thread (oldest first):\n{PEER}: Ship on Friday? {token}")
    assert "earlier replies left out to fit." in prompt
    assert "reply 59 " in prompt and "reply 0 " not in prompt
    assert prompt.endswith("who owns them. Be brief.")


async def test_in_chromium_ask_about_a_message_opens_the_chat_with_it_in_the_dm(
    slack: FakeSlack, events: SlackEvents, replica: Any
) -> None:
    token = _token()
    said = _said(PEER, f"The build is red since &lt;v2&gt; {token}", new_ts())
    await events.shortcut("ask_chatgpt_message", channel=TEAM, message=said)
    [opened] = await wait_for(lambda: slack.dms(OWNER))
    assert "Ask ChatGPT your question in this thread" in opened.text
    assert await _sent(replica, token) == []  # nothing is asked before the question
    question = message_event("Why is that?", channel=DM, thread_ts=opened.ts, channel_type="im")
    await events.event(question)
    messages = await answer(slack, DM, opened.ts)
    assert HEADER.search(text_of(messages)).group(2) == "1"  # type: ignore[union-attr]
    [send] = await _sent(replica, token)
    assert send["prompt"] == (
        f"A Slack message from {PEER}:\nThe build is red since <v2> {token}\n\nWhy is that?"
    )


# --- the scheduled doctor ---------------------------------------------------------------


def _doctor_runs(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The scheduled doctor's runs so far, as its debug log tells them (page loads would not
    do: the bridge's own state checks load the page too)."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "slackbot.layout_watch" and record.getMessage().startswith("doctor")
    ]


async def _more_doctor_runs(caplog: pytest.LogCaptureFixture, count: int, *, reached: bool) -> None:
    """Until `count` more runs ended that did (or did not) reach the page's layout."""
    start = len(_doctor_runs(caplog))

    def ended() -> int:
        runs = _doctor_runs(caplog)[start:]
        return sum(("not reached" not in run) == reached for run in runs)

    await wait_for(lambda: ended() >= count, timeout=30)


def _layout_dms(slack: FakeSlack) -> list[str]:
    return [m.text for m in slack.dms(OWNER) if "chatgpt.com's page changed" in m.text]


async def test_in_chromium_the_scheduled_doctor_tells_the_owner_once_per_page_change(
    slack: FakeSlack, replica: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The replica serves another page (renderer); the doctor's next run says so, once. A
    logout is no page change (the state alerts tell it): the baseline outlives it."""
    caplog.set_level(logging.DEBUG, logger="slackbot.layout_watch")
    await _more_doctor_runs(caplog, 1, reached=True)  # the page as it is: the baseline
    await replica.configure(logged_out=True)
    await _more_doctor_runs(caplog, 2, reached=False)  # runs stopped at the session
    assert _layout_dms(slack) == []
    await replica.configure(logged_out=False, renderer="classic")
    [changed] = await wait_for(lambda: _layout_dms(slack), timeout=30)
    renderer = re.search(r"\*renderer\*: (\S+) → (\S+)", changed)
    assert renderer, changed
    today, classic = renderer.groups()
    assert today in RENDERERS and classic in RENDERERS and today != classic
    assert "not checked" not in changed, "the logged-out run is no baseline"
    assert "*composer*: layer " in changed and "chatgpt-bridge doctor" in changed
    await _more_doctor_runs(caplog, 2, reached=True)  # the same page: nothing to say
    assert len(_layout_dms(slack)) == 1
