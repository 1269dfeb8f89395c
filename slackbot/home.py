"""App Home (the app's Home tab): the bridge's live state, one page per person.

Published with `views.publish` when someone opens the tab, and again for everyone who opened
it when the bridge's state changes (`slackbot/watch.py`), so the page is never a stale
screenshot. Who is logged in to ChatGPT is the owner's business: only `SLACK_OWNER` sees the
account's name. Batches come from the composition root through `BatchReport`, a shape this
layer declares (it never imports `app/`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from browser.contract import BridgeState
from browser.errors import BridgeError
from browser.models import all_ids
from slackbot.mrkdwn import escape
from slackbot.writer import slack_error

if TYPE_CHECKING:
    from browser.contract import Bridge

logger = logging.getLogger(__name__)
T = TypeVar("T")

READ_TIMEOUT = 3.0
"""Seconds the page waits for a tab to read the account or its models; it must stay quick."""

STATE_TEXT: dict[BridgeState, str] = {
    BridgeState.READY: ":large_green_circle: Logged in to ChatGPT and ready.",
    BridgeState.LOGIN_REQUIRED: ":red_circle: ChatGPT is logged out. On the bridge's machine "
    "run `chatgpt-bridge login` and log in again.",
    BridgeState.CHALLENGE: ":large_orange_circle: chatgpt.com shows a human check. Run "
    "`chatgpt-bridge login` on the bridge's machine and solve it in the window.",
    BridgeState.RATE_LIMITED: ":hourglass: ChatGPT's usage limit is reached; questions wait "
    "until it lifts.",
    BridgeState.DOWN: ":black_circle: The bridge's browser is down. Restart "
    "`chatgpt-bridge serve` and see its log.",
    BridgeState.WRONG_WORKSPACE: ":red_circle: CHATGPT_WORKSPACE names no workspace of this "
    "ChatGPT login. Fix it (`chatgpt-bridge status` lists them) and restart the bridge.",
}


class BatchReport(Protocol):
    """What App Home reads of the API's batches (the app's batch service has this method)."""

    async def health(self, *, detailed: bool) -> dict[str, Any]: ...


class Home:
    def __init__(
        self,
        client: AsyncWebClient,
        bridge: Bridge,
        *,
        owner: str | None,
        batches: BatchReport | None,
        pending: Callable[[], int],
        last_error: Callable[[], str | None],
    ) -> None:
        self._client = client
        self._bridge = bridge
        self._owner = owner
        self._batches = batches
        self._pending = pending
        self._last_error = last_error
        self._viewers: set[str] = set()
        self._models: list[str] = []

    async def opened(self, user_id: str) -> None:
        self._viewers.add(user_id)
        await self.publish(user_id)

    async def refresh(self) -> None:
        """The state changed: every page that was opened is published again."""
        for user_id in sorted(self._viewers):
            await self.publish(user_id)

    async def publish(self, user_id: str) -> None:
        try:
            view = {"type": "home", "blocks": await self.blocks(user_id)}
            await self._client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            logger.warning("App Home for %s not published: %s", user_id, slack_error(error))

    async def blocks(self, user_id: str) -> list[dict[str, Any]]:
        state = await self._bridge.state()
        lines = [STATE_TEXT[state]]
        if state is BridgeState.READY and user_id == self._owner:
            who = await self._read(self._bridge.whoami())
            if who:
                lines.append(f"Account: {escape(who)}")
        stats = self._bridge.stats()
        busy, total = stats.get("tabs_busy", 0), stats.get("tabs_total", 0)
        lines.append(
            f"Tabs: {busy} busy, {max(0, total - busy)} free · waiting for a tab: "
            f"{stats.get('queue_length', 0)} · Slack questions not answered yet: {self._pending()}"
        )
        if self._batches is not None:
            report = await self._batches.health(detailed=False)
            lines.append(
                f"Batches running: {report.get('active', 0)} "
                f"({report.get('lines_waiting', 0)} lines waiting)"
            )
        error = self._last_error()
        if error:
            lines.append(f"Last error: {error}")
        if state is BridgeState.READY:
            infos = await self._read(self._bridge.model_infos())
            if infos:
                self._models = all_ids(infos)
        if self._models:
            lines.append("Models: " + ", ".join(f"`{m}`" for m in self._models))
        now = int(time.time())
        return [
            {"type": "header", "text": {"type": "plain_text", "text": "ChatGPT bridge"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Updated <!date^{now}^{{time}}|{time.strftime('%H:%M UTC')}>."
                        " Settings per channel: `/chatgpt help`.",
                    }
                ],
            },
        ]

    async def _read(self, call: Awaitable[T]) -> T | None:
        """A read that needs a tab: skipped (None) when none frees up quickly."""
        try:
            return await asyncio.wait_for(call, READ_TIMEOUT)
        except (BridgeError, TimeoutError) as error:
            logger.debug("App Home read skipped: %s", error)
            return None
