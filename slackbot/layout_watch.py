"""A scheduled doctor: tell the owner when chatgpt.com's page changed, before a question fails.

Every `BRIDGE_DOCTOR_INTERVAL` seconds the composition root's `examine` runs the doctor's
page checks (`browser/doctor.py`) in a tab and returns what they matched: the renderer
adapter and, per control, the selector layer that found it (or the failure). The first run
is the baseline; when a later run matches something else, the owner gets one DM naming what
changed and how to look closer (`chatgpt-bridge doctor`). The web app changing its renderer
or a control's markup is what breaks the bridge, and a layer further down still matching is
the warning that comes before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from slack_sdk.web.async_client import AsyncWebClient

from slackbot.mrkdwn import escape
from slackbot.watch import cancel, repeat, tell_owner

logger = logging.getLogger(__name__)

Examine = Callable[[], Awaitable[Mapping[str, str]]]
"""One doctor run: check name (`renderer`, `composer`, ...) -> what it matched, in words;
empty when the run never got as far as the page's layout."""


class LayoutWatch:
    def __init__(
        self, client: AsyncWebClient, examine: Examine, *, owner: str, interval: float
    ) -> None:
        self._client = client
        self._examine = examine
        self._owner = owner
        self._interval = interval
        self._seen: dict[str, str] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = repeat(self.check, self._interval, name="slack-layout-watch")

    async def close(self) -> None:
        await cancel(self._task)

    async def check(self) -> None:
        found = dict(await self._examine())
        if not found:
            # The checks never reached the page's layout (logged out, a human check, the
            # usage limit): that is the state alerts' news, and the baseline stays as seen.
            logger.debug("doctor run: the page's layout was not reached")
            return
        logger.debug("doctor run: %s", found)
        before, self._seen = self._seen, found
        if before is None or found == before:
            return
        changed = [
            f"• *{escape(name)}*: {escape(before.get(name, 'not checked'))} → "
            f"{escape(found.get(name, 'not checked'))}"
            for name in sorted(before.keys() | found.keys())
            if before.get(name) != found.get(name)
        ]
        logger.warning("chatgpt.com's page changed: %s", ", ".join(sorted(found)))
        await tell_owner(
            self._client,
            self._owner,
            ":mag: chatgpt.com's page changed since the last doctor run:\n"
            + "\n".join(changed)
            + "\nRun `chatgpt-bridge doctor` on the bridge's machine for the details (a failing"
            " step names the page's diagnostic to write a selector layer from).",
        )
