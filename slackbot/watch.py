"""Watch the bridge's state: tell the owner when ChatGPT needs them, and keep App Home live.

The bridge has no push for its state, so it is read every `SLACK_WATCH_INTERVAL` seconds.
When it becomes logged out, challenged or rate-limited (at start-up too, if it starts that
way) the owner (`SLACK_OWNER`) gets one DM saying what to do, and one more when it is fine
again: a DM per change, never one per poll. Every change republishes the App Home pages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from browser.contract import BridgeState
from browser.errors import BridgeError
from slackbot.home import STATE_TEXT, Home
from slackbot.writer import slack_error

if TYPE_CHECKING:
    from browser.contract import Bridge

logger = logging.getLogger(__name__)

Task = asyncio.Task[None]
ALERTED = frozenset({BridgeState.LOGIN_REQUIRED, BridgeState.CHALLENGE, BridgeState.RATE_LIMITED})


class StateWatch:
    def __init__(
        self,
        client: AsyncWebClient,
        bridge: Bridge,
        home: Home,
        *,
        owner: str | None,
        interval: float,
        limited_until: Callable[[], str | None],
    ) -> None:
        self._client = client
        self._bridge = bridge
        self._home = home
        self._owner = owner
        self._interval = interval
        self._limited_until = limited_until
        self._state: BridgeState | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = repeat(self.check, self._interval, name="slack-state-watch")

    async def close(self) -> None:
        await cancel(self._task)

    async def check(self) -> None:
        """Read the state once; on a change, alert the owner and republish App Home."""
        state = await self._bridge.state()
        before, self._state = self._state, state
        if state is before:
            return
        logger.info("bridge state: %s", state.value)
        if state in ALERTED or (before in ALERTED and state is BridgeState.READY):
            await self._alert(state)
        await self._home.refresh()

    async def _alert(self, state: BridgeState) -> None:
        if not self._owner:
            return
        text = STATE_TEXT[state]
        if state is BridgeState.READY:
            text = ":white_check_mark: ChatGPT is fine again: the bridge answers as before."
        elif state is BridgeState.RATE_LIMITED:
            until = self._limited_until()
            if until:
                text += f" ChatGPT names {until}."
        await tell_owner(self._client, self._owner, text)


def repeat(check: Callable[[], Awaitable[None]], interval: float, *, name: str) -> Task:
    """Run `check` now and every `interval` seconds; a failed run is logged, not fatal."""

    async def run() -> None:
        while True:
            try:
                await check()
            except (BridgeError, SlackApiError, OSError) as error:
                logger.warning("%s skipped a run: %s", name, error)
            await asyncio.sleep(interval)

    return asyncio.create_task(run(), name=name)


async def cancel(task: Task | None) -> None:
    if task is not None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def tell_owner(client: AsyncWebClient, owner: str, text: str) -> None:
    """One DM to the owner; a failure is logged (the next change will try again)."""
    try:
        opened = await client.conversations_open(users=owner)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=text)
    except SlackApiError as error:
        logger.warning("cannot DM the owner: %s", slack_error(error))
