"""The bolt listeners: accept a question durably, hand it to the runner, return.

The app runs with `process_before_response=True`, so Slack's acknowledgement is sent when a
listener returns: a question is therefore on disk before Slack hears "got it", and a crash
in between makes Slack retry instead of losing it. The listeners only touch SQLite (a few
milliseconds); the answer itself is written by the runner's tasks after the ack.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.context.ack.async_ack import AsyncAck

from slackbot.files_in import SharedFiles
from slackbot.jobs import JobRunner
from slackbot.routing import BotIdentity, Route, question, route
from slackbot.settings import SlackSettings
from slackbot.store import SlackStore
from slackbot.writer import STOP_ACTION

logger = logging.getLogger(__name__)


class Listeners:
    def __init__(
        self,
        *,
        settings: SlackSettings,
        store: SlackStore,
        runner: JobRunner,
        shared_files: SharedFiles,
    ) -> None:
        self._shared_files = shared_files
        self._channels = frozenset(settings.slack_channels)
        self._answer_bots = settings.slack_answer_bots
        self._store = store
        self._runner = runner

    def register(self, app: AsyncApp) -> None:
        app.event("message")(self.on_event)
        app.event("app_mention")(self.on_event)
        app.action(STOP_ACTION)(self.on_stop)

    async def on_event(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if not context.bot_user_id:
            logger.warning("Slack event before the bot's identity is known: ignored")
            return
        bot = BotIdentity(context.bot_user_id, context.bot_id)
        decision = route(event, bot=bot, channels=self._channels, answer_bots=self._answer_bots)
        if decision is Route.IF_KNOWN_THREAD and await self._store.is_known_thread(
            event["channel"], event["thread_ts"]
        ):
            decision = Route.ANSWER
        if decision is not Route.ANSWER:
            return
        team_id = body.get("team_id")
        asked = question(event, bot=bot, team_id=team_id if isinstance(team_id, str) else None)
        await self._shared_files.remember(event)  # before the job: a runner may take it at once
        job = await self._store.accept(asked)
        if job is None:
            logger.debug("duplicate delivery of %s/%s ignored", event["channel"], event["ts"])
            return
        logger.info("question accepted in %s (thread %s)", job.channel, job.thread_ts)
        self._runner.submit(job)

    async def on_stop(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        for action in body.get("actions") or []:
            if action.get("action_id") != STOP_ACTION:
                continue
            try:
                job_id = int(action.get("value", ""))
            except ValueError:
                continue
            stopped = self._runner.request_stop(job_id)
            logger.info("Stop pressed for job %d (%s)", job_id, "stopping" if stopped else "done")
