"""App Home and the owner's alerts (state changes, the scheduled doctor) via the fake Web API.

The Home tab is opened with a signed `app_home_opened` event and read back as the person
sees it (`views.publish`); the bridge's state is changed on the FakeBridge and the watch,
polling every 50 ms here, must DM the owner once per change and republish the page.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from browser.contract import BridgeState
from browser.errors import RateLimitedError
from slackbot.layout_watch import LayoutWatch
from tests.fakes.bridge import Answer, FakeBridge
from tests.fixtures.slack_api import (
    BOT_TOKEN,
    FakeSlack,
    RunSlack,
    answer,
    message_event,
    wait_for,
)

OWNER = "UOWNER001"
OTHER = "UOTHER001"
PERSONAL = "CPERSONAL6"
FAST = {"slack_owner": OWNER, "slack_watch_interval": 0.05, "slack_channels": [PERSONAL]}


def _home_opened(user: str) -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "DHOME0001",
        "tab": "home",
        "event_ts": "1.2",
    }


async def test_app_home_shows_the_bridge_and_the_account_to_the_owner_only(
    run_slack: RunSlack,
) -> None:
    bridge = FakeBridge(model_efforts={"gpt-5-thinking": ["standard", "extended"]})
    async with run_slack(bridge, **FAST) as app:
        for user in (OWNER, OTHER):
            assert (await app.events.event(_home_opened(user))).status_code == 200
        owners = await wait_for(lambda: app.slack.home_text(OWNER))
        others = await wait_for(lambda: app.slack.home_text(OTHER))
    assert "Logged in to ChatGPT" in owners and "Account: you@example.com" in owners
    assert "Logged in to ChatGPT" in others and "you@example.com" not in others
    for page in (owners, others):
        assert "Tabs: 0 busy, 3 free" in page
        assert "Batches running: 0 (0 lines waiting)" in page
        assert "`gpt-5-thinking@extended`" in page


async def test_the_owner_is_told_once_per_change_and_app_home_follows(
    run_slack: RunSlack,
) -> None:
    bridge = FakeBridge(state_value=BridgeState.CHALLENGE)
    bridge.script(Answer(error=RateLimitedError(retry_after=600)))
    async with run_slack(bridge, **FAST) as app:
        # Started challenged: said at start-up.
        await wait_for(lambda: app.slack.dms(OWNER))
        await app.events.event(_home_opened(OWNER))
        await wait_for(lambda: "human check" in app.slack.home_text(OWNER))
        bridge.state_value = BridgeState.LOGIN_REQUIRED
        await wait_for(lambda: "logged out" in app.slack.home_text(OWNER))
        bridge.state_value = BridgeState.READY
        await wait_for(lambda: "Logged in" in app.slack.home_text(OWNER))
        # A refused question names when the limit lifts; the alert repeats that time.
        event = message_event("one more", channel=PERSONAL)
        await app.events.event(event)
        await answer(app.slack, PERSONAL, event["ts"])
        bridge.state_value = BridgeState.RATE_LIMITED
        await wait_for(lambda: len(app.slack.dms(OWNER)) == 4)
        await asyncio.sleep(0.3)  # several more polls: no further DM for the same state
        dms = [message.text for message in app.slack.dms(OWNER)]
        assert "Last error: ChatGPT says you have sent too many" in app.slack.home_text(OWNER)
    assert len(dms) == 4, dms
    assert "human check" in dms[0] and "chatgpt-bridge login" in dms[0]
    assert "logged out" in dms[1]
    assert "fine again" in dms[2]
    assert "usage limit" in dms[3] and "ChatGPT names <!date^" in dms[3]


async def test_a_scheduled_doctor_run_tells_the_owner_what_changed_once(
    slack_api: FakeSlack,
) -> None:
    """The composition root's examine is the doctor's page checks; here, what they matched."""
    runs = iter(
        [
            {"renderer": "classic", "composer": "layer 1 `#prompt-textarea`"},
            {"renderer": "classic", "composer": "layer 1 `#prompt-textarea`"},
            {},  # logged out: the page's layout was not reached, nothing to compare
            {"renderer": "prose-2026", "composer": "layer 2 `form [contenteditable]`"},
            {"renderer": "prose-2026", "composer": "layer 2 `form [contenteditable]`"},
        ]
    )

    async def examine() -> dict[str, str]:
        return next(runs)

    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_api.url)
    watch = LayoutWatch(client, examine, owner=OWNER, interval=60)
    for _ in range(5):
        await watch.check()
    (dm,) = slack_api.dms(OWNER)
    assert "*renderer*: classic → prose-2026" in dm.text
    assert "layer 1 `#prompt-textarea` → layer 2 `form [contenteditable]`" in dm.text
    assert "chatgpt-bridge doctor" in dm.text
