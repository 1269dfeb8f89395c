"""The bolt listeners: accept a question durably, hand it to the runner, return.

Over HTTP an event is on disk (the inbox, `slackbot/inbox.py`) before Slack hears "got it",
and these listeners run after the ack; in Socket Mode the app runs with
`process_before_response=True`, so the ack is sent when a listener returns. Either way a
crash before the question is stored makes Slack retry (or the inbox replay) instead of losing
it. The listeners only touch SQLite; the answer itself is written by the runner's tasks, and
the other Web API calls a listener causes (suggested prompts, a refusal) run in the background.

Only the workspace the bot token belongs to talks to the bridge: an envelope or a person
from another team (a Slack Connect channel, a foreign installation) is refused before any
listener runs. `SLACK_OWNER` and `SLACK_ALLOWED_USERS` say who may ask.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot import phases, shortcuts
from slackbot.after_ack import AfterAck
from slackbot.channel_context import ContextUnavailable
from slackbot.commands import SlashCommand
from slackbot.files_in import SharedFiles
from slackbot.home import Home
from slackbot.jobs import JobRunner
from slackbot.mrkdwn import escape
from slackbot.routing import BotIdentity, Question, Route, context_channel, question, route
from slackbot.settings import SlackSettings
from slackbot.store import SlackStore
from slackbot.writer import STOP_ACTION, slack_error

logger = logging.getLogger(__name__)

COMMAND = "/chatgpt"


class Listeners:
    def __init__(
        self,
        *,
        settings: SlackSettings,
        store: SlackStore,
        runner: JobRunner,
        shared_files: SharedFiles,
        client: AsyncWebClient,
        command: SlashCommand,
        home: Home,
    ) -> None:
        self._command = command
        self._home = home
        self._channel_models = settings.slack_channel_models
        self._shared_files = shared_files
        self._channels = frozenset(settings.slack_channels)
        self._answer_bots = settings.slack_answer_bots
        self._owner = settings.slack_owner
        self._allowed = frozenset(settings.slack_allowed_users)
        self._prompts = settings.slack_suggested_prompts
        self._chatgpt_url = settings.chatgpt_url
        self._store = store
        self._runner = runner
        self._client = client
        self._after_ack = AfterAck("slack-after-ack")

    def register(self, app: AsyncApp) -> None:
        app.use(self.same_team)
        app.event("message")(self.on_event)
        app.event("app_mention")(self.on_event)
        app.event("app_home_opened")(self.on_home_opened)
        app.event("app_context_changed")(self.on_context_changed)
        app.event("agent_session_stopped")(self.on_session_stopped)
        app.action(STOP_ACTION)(self.on_stop)
        app.command(COMMAND)(self.on_command)
        app.shortcut(shortcuts.ASK)(self.on_shortcut)
        app.shortcut(shortcuts.SUMMARIZE)(self.on_shortcut)

    async def close(self) -> None:
        await self._after_ack.close()

    async def same_team(
        self, body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Refuse (and acknowledge) what another workspace sends."""
        ours = context.authorize_result.team_id if context.authorize_result else None
        team = _team_of(body)
        if ours and team and team != ours:
            logger.warning("Slack request from another workspace (%s) refused", team)
            return BoltResponse(status=200, body="")
        await next()
        return None

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
        ours = context.authorize_result.team_id if context.authorize_result else None
        if ours and asked.team_id and asked.team_id != ours:
            logger.warning("question from a person of another workspace ignored")
            return
        if not self._may_ask(asked.user_id, direct=asked.channel.startswith("D")):
            await self._refuse(asked.channel, asked.ts, asked.thread_ts)
            return
        seen = context_channel(event.get("app_context"))
        if seen and asked.user_id:
            await self._store.save_context(asked.user_id, seen)
        if asked.directive is not None:
            await self._apply(asked)
            if not asked.prompt and not asked.model and not asked.has_files:
                return
        await self._shared_files.remember(event)  # before the job: a runner may take it at once
        job = await self._store.accept(asked)
        if job is None:
            logger.debug("duplicate delivery of %s/%s ignored", event["channel"], event["ts"])
            return
        logger.info("question accepted in %s (thread %s)", job.channel, job.thread_ts)
        phases.reached(phases.ACCEPTED, job.id)
        self._runner.submit(job)

    async def _apply(self, asked: Question) -> None:
        """A thread's settings line, stored before the ack; alone, it is confirmed."""
        directive = asked.directive
        assert directive is not None
        await self._store.save_settings(asked.channel, asked.thread_ts, directive.settings)
        await self._store.save_thread(
            asked.channel, asked.thread_ts, conversation_id=directive.conversation_id
        )
        if (
            asked.prompt
            or asked.model
            or asked.has_files
            or not await self._store.mark_seen(asked.channel, asked.ts)
        ):
            return
        if directive.conversation_id:
            text = (
                "This thread now continues your ChatGPT chat "
                f"<{self._chatgpt_url}/c/{directive.conversation_id}|{directive.conversation_id}>."
                " Ask your question here."
            )
        else:
            chosen = escape(directive.settings.describe())
            text = f"This thread now uses {chosen}. Ask your question here."
        self._after_ack.spawn(
            self._client.chat_postMessage(
                channel=asked.channel, thread_ts=asked.thread_ts, text=text
            )
        )

    def _may_ask(self, user_id: str | None, *, direct: bool) -> bool:
        """The owner and the allowed users; everyone when neither list says otherwise."""
        chosen = self._allowed | ({self._owner} if self._owner else set())
        if not chosen or (not direct and not self._allowed):
            return True
        return user_id in chosen

    async def _refuse(self, channel: str, ts: str, thread_ts: str) -> None:
        if not channel.startswith("D") or not await self._store.mark_seen(channel, ts):
            logger.info("question from a user who may not ask ignored in %s", channel)
            return
        owner = f"<@{self._owner}>" if self._owner else "the bridge's owner"
        text = (
            ":no_entry: This ChatGPT answers only the people its owner chose. Ask "
            f"{owner} to add your Slack user id to SLACK_ALLOWED_USERS."
        )
        self._after_ack.spawn(
            self._client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
        )

    async def on_home_opened(self, event: dict[str, Any]) -> None:
        """The Home tab opened: publish its page. The Messages tab: offer the suggested
        prompts (never with a thread_ts: an agent app's call with one is dropped unsaid)."""
        seen = context_channel(event.get("context"))
        if seen and event.get("user"):
            await self._store.save_context(event["user"], seen)
        if event.get("tab") == "home" and isinstance(event.get("user"), str):
            self._after_ack.spawn(self._home.opened(event["user"]))
            return
        if event.get("tab") != "messages" or not event.get("channel") or not self._prompts:
            return
        self._after_ack.spawn(
            self._client.assistant_threads_setSuggestedPrompts(
                channel_id=event["channel"], prompts=self._prompts
            )
        )

    async def on_context_changed(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """The person looks at another channel beside the agent DM: remember which."""
        user = event.get("user") or next(
            (a.get("user_id") for a in body.get("authorizations") or [] if not a.get("is_bot")),
            None,
        )
        seen = context_channel(event.get("context"))
        if isinstance(user, str) and seen:
            await self._store.save_context(user, seen)

    async def on_session_stopped(self, event: dict[str, Any]) -> None:
        """Slack's native Stop button: press Stop in ChatGPT, as our own button does."""
        channel, thread_ts = event.get("channel"), event.get("thread_ts")
        if isinstance(channel, str) and isinstance(thread_ts, str):
            stopped = self._runner.stop_thread(channel, thread_ts)
            logger.info("native Stop in %s (%s)", channel, "stopping" if stopped else "idle")

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

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        """`/chatgpt`: its choices stored, then the ephemeral reply as the ack itself."""
        user = command.get("user_id")
        channel = str(command.get("channel_id") or "")
        if not self._may_ask(
            user if isinstance(user, str) else None, direct=channel.startswith("D")
        ):
            await ack(
                text=":no_entry: Only the people the bridge's owner chose may use /chatgpt.",
                response_type="ephemeral",
            )
            return
        model = self._channel_models.get(channel)
        reply = await self._command.run(command, channel_model=model)
        await ack(text=reply, response_type="ephemeral")

    async def on_shortcut(self, ack: AsyncAck, shortcut: dict[str, Any]) -> None:
        """A message shortcut: a new chat in the person's DM, stored before the ack."""
        user = (shortcut.get("user") or {}).get("id")
        if not self._may_ask(user if isinstance(user, str) else None, direct=True):
            await ack()
            return
        summarize = shortcut.get("callback_id") == shortcuts.SUMMARIZE
        try:
            context = await shortcuts.context_of(self._client, shortcut)
            asked = await shortcuts.open_in_dm(
                self._client, shortcut, summarize=summarize, context=context
            )
        except ContextUnavailable as error:
            await ack()
            self._after_ack.spawn(self._tell(shortcut, str(error)))
            return
        except SlackApiError as error:
            logger.warning("shortcut not served: %s", slack_error(error))
            await ack()
            return
        if summarize:
            job = await self._store.accept(asked)
            if job is not None:
                self._runner.submit(job)
        else:
            await self._store.save_opening(asked.channel, asked.thread_ts, context)
            await self._store.mark_seen(asked.channel, asked.ts)
        await ack()

    async def _tell(self, shortcut: dict[str, Any], text: str) -> None:
        """Why a shortcut did nothing, to the person alone, where they used it."""
        await self._client.chat_postEphemeral(
            channel=str((shortcut.get("channel") or {}).get("id") or ""),
            user=str((shortcut.get("user") or {}).get("id") or ""),
            text=f":warning: {text}",
        )


def _team_of(body: dict[str, Any]) -> str | None:
    """The workspace a request comes from: events say `team_id`, interactions `team.id`."""
    team = body.get("team_id")
    if not isinstance(team, str):
        nested = body.get("team")
        team = nested.get("id") if isinstance(nested, dict) else None
    return team if isinstance(team, str) and team else None
