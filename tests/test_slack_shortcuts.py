"""Message shortcuts ("Ask ChatGPT about this", "Summarize thread") through the fake Web API.

The shortcut payload is POSTed signed, as Slack sends it; the chat it starts lives in the
person's DM with the app, and what ChatGPT was asked is read back from the `FakeBridge`.
"""

from __future__ import annotations

from tests.fixtures.slack_api import (
    USER_ID,
    RunSlack,
    answer,
    message_event,
    new_ts,
    wait_for,
)

CHANNEL = "CTEAM00001"
DM = "D" + USER_ID.removeprefix("U")


def _said(user: str, text: str, ts: str, thread_ts: str | None = None) -> dict[str, str]:
    message = {"type": "message", "user": user, "text": text, "ts": ts}
    return message | ({"thread_ts": thread_ts} if thread_ts else {})


async def test_summarize_thread_trims_a_long_thread_and_answers_in_the_dm(
    run_slack: RunSlack,
) -> None:
    root = new_ts()
    replies = [_said("UPEER0001", f"reply {i} " + "x" * 400, new_ts(), root) for i in range(60)]
    async with run_slack() as app:
        app.slack.threads[(CHANNEL, root)] = [_said("UPEER0001", "Ship on Friday?", root, root)]
        app.slack.threads[(CHANNEL, root)] += replies
        response = await app.events.shortcut(
            "summarize_thread", channel=CHANNEL, message=_said("UPEER0001", "Ship?", root, root)
        )
        assert response.status_code == 200
        (opened,) = await wait_for(lambda: app.slack.dms(USER_ID))
        assert opened.text.startswith(":memo: Summarizing <https://fake.slack.com/archives/")
        await answer(app.slack, DM, opened.ts)
    (asked,) = app.bridge.asks
    assert asked.prompt.startswith("A Slack thread (oldest first):\nUPEER0001: Ship on Friday?")
    assert "earlier replies left out to fit." in asked.prompt
    assert "reply 59 " in asked.prompt and "reply 0 " not in asked.prompt
    assert asked.prompt.endswith("who owns them. Be brief.")
    assert len(asked.prompt) < 14000


async def test_ask_about_a_message_opens_a_dm_thread_whose_first_question_has_it(
    run_slack: RunSlack,
) -> None:
    said = _said("UPEER0001", "The build is red since &lt;v2&gt;", new_ts())
    async with run_slack() as app:
        await app.events.shortcut("ask_chatgpt_message", channel=CHANNEL, message=said)
        (opened,) = await wait_for(lambda: app.slack.dms(USER_ID))
        assert "Ask ChatGPT your question in this thread" in opened.text
        assert app.bridge.asks == []
        question = message_event("Why?", channel=DM, thread_ts=opened.ts, channel_type="im")
        await app.events.event(question)
        await wait_for(lambda: app.bridge.asks)
        again = message_event("And now?", channel=DM, thread_ts=opened.ts, channel_type="im")
        await app.events.event(again)
        await wait_for(lambda: len(app.bridge.asks) == 2)
        await wait_for(lambda: app.pending() == 0)
    first, second = (ask.prompt for ask in app.bridge.asks)
    assert first == "A Slack message from UPEER0001:\nThe build is red since <v2>\n\nWhy?"
    assert second == "And now?"
