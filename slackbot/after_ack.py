"""Work a listener starts once Slack has its ack: kept, failures logged, cancelled at stop.

Slack wants an answer to every request within three seconds, so a listener acknowledges
first and calls the Web API (or the browser) afterwards. Such work is nobody's awaitable any
more: it is kept here so that stopping the bridge cancels it instead of leaving it to die
with the loop, and a Slack refusal inside it is logged, never raised into bolt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from slack_sdk.errors import SlackApiError

from slackbot.writer import slack_error

logger = logging.getLogger(__name__)


class AfterAck:
    """The tasks one listener class started after its acks."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await work
            except SlackApiError as error:
                logger.warning("%s: a Slack call failed: %s", self._name, slack_error(error))

        task = asyncio.create_task(run(), name=self._name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
