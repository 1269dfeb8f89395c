"""The writer: how a streaming answer lands in a Slack thread (on a FakeBridge, no browser).

Native streaming where the workspace allows it, `chat.update` edits where it does not or
once a stream expires, long answers continued in further messages, `msg_too_long` and 429s
from Slack. The answer is scripted, so each test compares the thread with exactly what
"ChatGPT" wrote; the real-Chromium answers are in `test_slack_http.py`.
"""

from __future__ import annotations

from slackbot.split import SLACK_TEXT_LIMIT
from tests.fakes.bridge import Answer, FakeBridge
from tests.fixtures.slack_api import (
    Message,
    RunSlack,
    SlackApp,
    answer,
    footer_of,
    message_event,
    text_of,
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


async def test_an_expired_stream_is_finished_with_edits(run_slack: RunSlack) -> None:
    deltas = [f"Line {n} of a slow answer.\n" for n in range(8)]
    bridge = FakeBridge()
    bridge.script(Answer(*deltas, delay=0.3))
    async with run_slack(bridge, slack_channels=[CHANNEL]) as app:
        app.slack.expire_streams_after = 0
        messages = await _ask(app, "slowly")
    appends = app.slack.calls_to("chat.appendStream")
    assert appends and appends[0].error == "message_not_in_streaming_state"
    assert app.slack.calls_to("chat.startStream")
    assert messages[0].method == "chat.update", "the streamed message is edited from then on"
    assert words(text_of(messages)) == words("".join(deltas))
    assert footer_of(messages)


async def test_slack_rate_limits_are_waited_out(run_slack: RunSlack) -> None:
    async with run_slack(slack_channels=[CHANNEL]) as app:
        app.slack.rate_limit("chat.postMessage", count=1, retry_after=1)
        app.slack.rate_limit("agents.sessions.setStatus", count=1, retry_after=1)
        messages = await _ask(app, "patience")
        assert "You said: patience" in text_of(messages)
        for method in ("chat.postMessage", "agents.sessions.setStatus"):
            statuses = [call.status for call in app.slack.calls_to(method)]
            assert statuses[:2] == [429, 200]


async def test_an_empty_answer_says_so_and_keeps_the_footer(run_slack: RunSlack) -> None:
    bridge = FakeBridge()
    bridge.script(Answer(conversation_id="c-empty"))
    async with run_slack(bridge, slack_channels=[CHANNEL]) as app:
        messages = await _ask(app, "say nothing")
    assert [message.text for message in messages] == ["_(empty answer)_"]
    assert "/c/c-empty|" in footer_of(messages)
