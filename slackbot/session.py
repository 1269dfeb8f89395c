"""A thread's agent session: Slack's own "working" state, native Stop button and title.

Under `agent_view` (the app's Messages tab) every thread is an agent session:
`agents.sessions.setStatus("processing")` shows Slack's native Stop button while ChatGPT
works (a click arrives as `agent_session_stopped`), and the session must be set back to
`active` explicitly: it never clears by itself. The thread takes ChatGPT's own generated
title with `agents.sessions.rename`.

A workspace or an app without sessions (an app not declared as an agent: `not_authorized`;
`feature_disabled`; an older Slack: `unknown_method`) gets the legacy
`assistant.threads.setStatus` line instead. Slack removes that line after two minutes
without a message, so it is re-sent while ChatGPT thinks and nothing is shown yet. The first
refusal switches the whole service to the legacy line, as `Streaming` does for streams.
Everything here is a nicety beside the answer: a failure is logged, never raised.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.writer import slack_error

logger = logging.getLogger(__name__)

KEEPALIVE = 90.0
"""Seconds between two sends of the legacy status: under Slack's two-minute timeout."""
LEGACY_STATUS = "is thinking…"
TITLE_LIMIT = 200

SESSIONS_REFUSED = frozenset(
    {
        "unknown_method",
        "not_authorized",
        "feature_disabled",
        "not_agent_app",
        "missing_scope",
        "not_allowed_token_type",
        "method_not_supported_for_channel_type",
    }
)
"""Errors of `agents.sessions.setStatus` that mean this app or workspace has no sessions."""


@dataclass
class Sessions:
    """Whether agent sessions are worth trying; shared by every thread of one service."""

    enabled: bool = True


class ThreadStatus:
    """The session of one thread while one answer is written: `working()`, then `done()`."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        thread_ts: str,
        sessions: Sessions,
        keepalive: float = KEEPALIVE,
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._sessions = sessions
        self._keepalive = keepalive
        self._legacy: asyncio.Task[None] | None = None
        self._answer_shown = asyncio.Event()
        self._legacy_used = False
        self.native = False
        """The session is `processing`: Slack shows its own Stop button in the thread."""

    async def working(self, title: str | None) -> bool:
        """Show that ChatGPT works on the thread; True when Slack's native Stop shows."""
        if self._sessions.enabled:
            try:
                await self._client.agents_sessions_setStatus(
                    channel_id=self._channel,
                    thread_ts=self._thread_ts,
                    status="processing",
                    title=_title(title),
                )
                self.native = True
                return True
            except SlackApiError as error:
                code = slack_error(error)
                if code in SESSIONS_REFUSED:
                    logger.info("no agent sessions (%s): using the legacy status line", code)
                    self._sessions.enabled = False
                else:
                    logger.warning("agents.sessions.setStatus failed (%s)", code)
        self._legacy_used = True
        self._legacy = asyncio.create_task(self._keep_legacy(), name="slack-status")
        return False

    def shown(self) -> None:
        """The answer's first words are in the thread: the legacy line has done its job.

        Its re-sends stop between two requests, never by cancelling one: a request already
        on its way still reaches Slack, and `done()` must know it landed before the clear.
        """
        self._answer_shown.set()

    async def rename(self, title: str) -> None:
        """The thread takes ChatGPT's own title for the chat."""
        name = _title(title)
        if not self.native or not name:
            return
        try:
            await self._client.agents_sessions_rename(
                channel_id=self._channel, thread_ts=self._thread_ts, title=name
            )
        except SlackApiError as error:
            logger.info("agents.sessions.rename failed: %s", slack_error(error))

    async def done(self) -> None:
        """The answer is over (finished, stopped or failed): never leave `processing`."""
        self.shown()
        if self._legacy is not None:
            await asyncio.wait({self._legacy})  # its last re-send lands before the clear
        try:
            if self.native:
                self.native = False
                await self._client.agents_sessions_setStatus(
                    channel_id=self._channel, thread_ts=self._thread_ts, status="active"
                )
            elif self._legacy_used:
                await self._legacy_status("")
        except SlackApiError as error:
            logger.info("cannot end the thread's status: %s", slack_error(error))

    async def _keep_legacy(self) -> None:
        with suppress(SlackApiError):
            while not self._answer_shown.is_set():
                await self._legacy_status(LEGACY_STATUS)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._answer_shown.wait(), self._keepalive)

    async def _legacy_status(self, status: str) -> None:
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self._channel, thread_ts=self._thread_ts, status=status
            )
        except SlackApiError as error:
            logger.debug("assistant.threads.setStatus failed: %s", slack_error(error))
            raise


def _title(text: str | None) -> str | None:
    """A session title: the first line, at most Slack's 200 characters."""
    line = (text or "").strip().split("\n", 1)[0].strip()
    if len(line) > TITLE_LIMIT:
        line = line[: TITLE_LIMIT - 1].rstrip() + "…"
    return line or None
