"""The writer: how a streaming answer lands in a Slack thread (on a FakeBridge, no browser).

Native streaming where the workspace allows it, `chat.update` edits where it does not or
once a stream expires, long answers continued in further messages, `msg_too_long` and 429s
from Slack. The answer is scripted, so each test compares the thread with exactly what
"ChatGPT" wrote; the real-Chromium answers are in `test_slack_http.py`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from browser.events import Progress
from slackbot.session import Sessions, ThreadStatus
from slackbot.split import SLACK_TEXT_LIMIT
from slackbot.writer import AnswerWriter, Recipient, Streaming
from tests.fakes.bridge import Answer, Ask, FakeBridge
from tests.fixtures.slack_api import (
    BOT_TOKEN,
    TEAM_ID,
    USER_ID,
    FakeSlack,
    Message,
    RunSlack,
    SlackApp,
    answer,
    footer_of,
    message_event,
    new_ts,
    text_of,
    wait_for,
    words,
)

CHANNEL = "CWRITER001"


def _essay(paragraphs: int) -> list[str]:
    """Deltas of a long answer: numbered paragraphs of about 300 characters each."""
    return [
        f"Paragraph {n}: " + " ".join(f"word{n}x{w}" for w in range(40)) + "\n\n"
        for n in range(paragraphs)
    ]


async def _ask(app: SlackApp, text: str) -> list[Message]:
    event = message_event(text, channel=CHANNEL)
    await app.events.event(event)
    return await answer(app.slack, CHANNEL, event["ts"])


async def test_a_long_answer_streams_natively_into_several_messages(run_slack: RunSlack) -> None:
    deltas = _essay(36)
    bridge = FakeBridge()
    bridge.script(Answer(*deltas, delay=0.02))
    async with run_slack(bridge, slack_channels=[CHANNEL]) as app:
        messages = await _ask(app, "write a lot")
    assert len(messages) >= 3
    assert all(len(message.text) <= SLACK_TEXT_LIMIT for message in messages)
    assert messages[0].method == "chat.startStream"
    assert words(text_of(messages)) == words("".join(deltas))
    assert footer_of(messages), "the last part ends with the footer"


async def test_without_native_streaming_edits_and_splits_on_msg_too_long(
    run_slack: RunSlack,
) -> None:
    deltas = _essay(10)
    bridge = FakeBridge()
    bridge.script(Answer(*deltas, delay=0.05))
    async with run_slack(bridge, slack_channels=[CHANNEL]) as app:
        app.slack.streaming_error = "not_allowed"
        app.slack.max_text = 1200
        messages = await _ask(app, "write without streaming")
        assert not app.server.services.slack.streaming.enabled, "refused once: edits from now"
    assert {message.method for message in messages} <= {"chat.postMessage", "chat.update"}
    assert len(messages) >= 3
    assert all(len(message.text) <= 1200 for message in messages)
    assert any(call.error == "msg_too_long" for call in app.slack.calls)
    assert words(text_of(messages)) == words("".join(deltas))


async def test_edits_are_in_slack_formatting(run_slack: RunSlack) -> None:
    bridge = FakeBridge()
    bridge.script(Answer("Some **bold**", " and `a<b`."))
    async with run_slack(bridge, slack_channels=[CHANNEL]) as app:
        app.slack.streaming_error = "not_allowed"
        messages = await _ask(app, "format it")
    assert messages[0].text == "Some *bold* and `a&lt;b`."


def _streamed(messages: list[Message]) -> str:
    """What the thread's streamed messages say together, exactly as streamed."""
    return "".join(message.text for message in messages)


async def test_a_sealed_stream_rolls_over_without_losing_or_repeating_a_character(
    run_slack: RunSlack,
) -> None:
    deltas = [f"Line {n} of a slow answer.\n" for n in range(12)]
    bridge = FakeBridge()
    bridge.script(Answer(*deltas, delay=0.25))
    async with run_slack(bridge, slack_channels=[CHANNEL]) as app:
        app.slack.stream_seal = 1.2  # Slack's ~5 minutes, scaled down
        messages = await _ask(app, "slowly")
    sealed = [c for c in app.slack.calls_to("chat.appendStream") if c.error]
    assert sealed and {c.error for c in sealed} == {"message_not_in_streaming_state"}
    assert len(messages) >= 2 and all(m.method == "chat.startStream" for m in messages[:-1])
    assert _streamed(messages).rstrip() == "".join(deltas).rstrip()
    assert footer_of(messages)


async def test_a_full_stream_continues_below(run_slack: RunSlack) -> None:
    deltas = [f"Sentence {n} fills the streamed message a little more. " for n in range(16)]
    bridge = FakeBridge()
    bridge.script(Answer(*deltas, delay=0.2))
    async with run_slack(bridge, slack_channels=[CHANNEL]) as app:
        app.slack.stream_cap = 500  # Slack's undocumented cumulative cap, scaled down
        messages = await _ask(app, "a lot")
    refused = [c for c in app.slack.calls_to("chat.appendStream") if c.error]
    assert refused and {c.error for c in refused} == {"msg_too_long"}
    assert len(messages) >= 2 and all(len(m.text) <= 500 for m in messages)
    assert "continued below" in messages[0].footer()
    assert _streamed(messages).rstrip() == "".join(deltas).rstrip()


async def test_slack_rate_limits_are_waited_out(run_slack: RunSlack) -> None:
    async with run_slack(slack_channels=[CHANNEL]) as app:
        app.slack.rate_limit("chat.postMessage", count=1, retry_after=1)
        app.slack.rate_limit("agents.sessions.setStatus", count=1, retry_after=1)
        messages = await _ask(app, "patience")
        assert "You said: patience" in text_of(messages)
        for method in ("chat.postMessage", "agents.sessions.setStatus"):
            statuses = [call.status for call in app.slack.calls_to(method)]
            assert statuses[:2] == [429, 200]


async def test_the_prompt_does_not_wait_for_the_stop_button(
    run_slack: RunSlack, slack_api: FakeSlack
) -> None:
    """The status and the Stop button are Slack round trips taken while ChatGPT is asked;
    the answer's first text still waits for them, so the Stop button comes first."""
    event = message_event("be quick", channel=CHANNEL)
    shown_when_asked: list[list[Message]] = []

    def handler(ask: Ask) -> Answer:
        shown_when_asked.append(slack_api.thread(CHANNEL, event["ts"]))
        return Answer("Asked at once")

    async with run_slack(FakeBridge(handler), slack_channels=[CHANNEL]) as app:
        app.slack.rate_limit("chat.postMessage", count=1, retry_after=2)  # a slow Stop button
        await app.events.event(event)
        messages = await answer(app.slack, CHANNEL, event["ts"])
    assert shown_when_asked == [[]], "ChatGPT was asked before the thread showed anything"
    assert "Asked at once" in text_of(messages)
    controls = [m for m in slack_api.messages.values() if m.has_button()]
    assert len(controls) == 1 and controls[0].deleted
    assert controls[0].started < messages[0].started


async def test_an_empty_answer_says_so_and_keeps_the_footer(run_slack: RunSlack) -> None:
    bridge = FakeBridge()
    bridge.script(Answer(conversation_id="c-empty"))
    async with run_slack(bridge, slack_channels=[CHANNEL]) as app:
        messages = await _ask(app, "say nothing")
    assert [message.text for message in messages] == ["_(empty answer)_"]
    assert "/c/c-empty|" in footer_of(messages)


def _writer(slack: FakeSlack, thread_ts: str, **limits: Any) -> AnswerWriter:
    """A writer on its own, against the fake Web API, with Slack's limits scaled down."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.url)
    status = ThreadStatus(client, channel=CHANNEL, thread_ts=thread_ts, sessions=Sessions())
    return AnswerWriter(
        client,
        channel=CHANNEL,
        thread_ts=thread_ts,
        recipient=Recipient(USER_ID, TEAM_ID),
        streaming=Streaming(),
        status=status,
        interval=0.02,
        **limits,
    )


async def _grow(writer: AnswerWriter, pieces: list[str]) -> str:
    text = ""
    for piece in pieces:
        text += piece
        writer.update(text)
        await asyncio.sleep(0.08)  # the answer's pace, so the writer streams piece by piece
    return text


async def test_steps_show_as_tasks_and_old_streams_roll_over_before_the_seal(
    slack_api: FakeSlack,
) -> None:
    thread = new_ts()
    writer = _writer(slack_api, thread, stream_age=0.3)
    await writer.open(1)
    writer.step(Progress("reasoning"))
    await wait_for(
        lambda: slack_api.thread(CHANNEL, thread) and slack_api.calls_to("chat.startStream")
    )
    writer.step(Progress("search", "Searching: tide tables"))
    text = await _grow(writer, [f"Part {n} of the answer. " for n in range(10)])
    await writer.finish(text, footer="gpt-5")
    messages = slack_api.answers(CHANNEL, thread)
    tasks = [(c["id"], c["title"], c["status"]) for c in messages[0].chunks]
    assert tasks[:4] == [
        ("step-1", "Thinking", "in_progress"),
        ("step-1", "Thinking", "complete"),
        ("step-2", "Searching: tide tables", "in_progress"),
        ("step-2", "Searching: tide tables", "complete"),
    ]
    assert len(messages) >= 2 and "continued below" in messages[0].footer()
    assert not [c for c in slack_api.calls_to("chat.appendStream") if c.error]  # never sealed
    assert _streamed(messages) == text and "gpt-5" in messages[-1].footer()


async def test_a_stream_rolls_over_before_slacks_size_cap_in_bytes(slack_api: FakeSlack) -> None:
    thread = new_ts()
    writer = _writer(slack_api, thread, stream_bytes=120)
    await writer.open(1)
    text = await _grow(writer, ["日本語のテキスト。" for _ in range(10)])  # 3 bytes a character
    await writer.finish(text, footer="gpt-5")
    messages = slack_api.answers(CHANNEL, thread)
    assert len(messages) >= 2 and all(len(m.text.encode()) <= 120 for m in messages)
    assert not [c for c in slack_api.calls_to("chat.appendStream") if c.error]
    assert _streamed(messages) == text
