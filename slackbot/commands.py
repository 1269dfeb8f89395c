"""`/chatgpt`: a channel's (or the DM's) defaults, a new chat, status and help.

Slack sends the command as a form POST (or a Socket Mode envelope) and shows the text of the
acknowledgement to the person alone (ephemeral): that is the reply. The command's settings
are stored before the ack, like a question. Slash commands typed in a thread never reach an
app, so a thread takes the same words on the first line of a message instead
(`slackbot/chat_settings.py`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from browser.models import ModelIdError
from slackbot.chat_settings import Directive, SettingsError, parse_words
from slackbot.mrkdwn import escape
from slackbot.personas import Personas, UnknownPersonaError
from slackbot.store import CHANNEL_SCOPE, SlackStore
from slackbot.writer import slack_error

logger = logging.getLogger(__name__)

HELP = """*`/chatgpt`* sets how ChatGPT answers in this channel (or this DM):
• `/chatgpt new [model] [search on] [think <effort>]`: start a new chat here, with its own settings
• `/chatgpt model <id>`: the model, as `slug` or `slug@effort` (e.g. `gpt-5@thinking`)
• `/chatgpt search on|off`: web search
• `/chatgpt think <effort>`: the thinking effort
• `/chatgpt gpt <g-id>`: a custom GPT
• `/chatgpt project <name>`: one of your ChatGPT projects (new chats start in it)
• `/chatgpt persona <name>`: standing instructions (`SLACK_PERSONAS`)
• `/chatgpt status`: what is set here
Slack does not send commands typed in a thread: write the same words (without `/chatgpt`) \
as the first line of a message in the thread to set that thread's, or paste a chatgpt.com \
chat link (`https://chatgpt.com/c/…`) as the first line to continue that chat there."""


class SlashCommand:
    """Turns one `/chatgpt` payload into the stored choice and the ephemeral reply."""

    def __init__(
        self, *, store: SlackStore, client: AsyncWebClient, personas: Personas, default_model: str
    ) -> None:
        self._store = store
        self._client = client
        self._personas = personas
        self._default_model = default_model

    async def run(self, command: dict[str, Any], *, channel_model: str | None) -> str:
        """The reply for `command` (Slack's payload), its choices stored."""
        text = str(command.get("text") or "").strip()
        channel = str(command.get("channel_id") or "")
        word = text.split(maxsplit=1)[0].lower() if text else "help"
        if word == "help" or not channel:
            return HELP
        if word == "status":
            return await self._status(channel, channel_model)
        try:
            directive = parse_words(text)
            if directive.conversation_id:
                raise SettingsError(
                    "A chat link binds a thread: paste it as the first line of a message there."
                )
            if directive.settings.persona:
                self._personas.check(directive.settings.persona)
        except (SettingsError, ModelIdError, UnknownPersonaError) as error:
            return f":warning: {escape(str(error))}\n\n{HELP}"
        if directive.new:
            return await self._new(channel, directive)
        await self._store.save_settings(channel, CHANNEL_SCOPE, directive.settings)
        chosen = await self._store.settings(channel)
        return (
            f"New chats here now use {escape(chosen.describe())}. "
            "A thread can choose otherwise on its first line."
        )

    async def _new(self, channel: str, directive: Directive) -> str:
        """Post the new chat's root, so its thread has its own settings from the start."""
        chosen = directive.settings.over(await self._store.settings(channel))
        try:
            root = await self._client.chat_postMessage(
                channel=channel,
                text=f":speech_balloon: New ChatGPT chat ({escape(chosen.describe())}). "
                "Reply in this thread to ask.",
            )
        except SlackApiError as error:
            code = slack_error(error)
            logger.warning("cannot start a chat in %s: %s", channel, code)
            if code == "not_in_channel":
                return ":warning: Invite me to this channel first: `/invite @ChatGPT`."
            return f":warning: Slack refused to post the new chat here ({code})."
        thread_ts = str(root["ts"])
        await self._store.save_settings(channel, thread_ts, directive.settings)
        await self._store.save_thread(channel, thread_ts)
        return "Started a new chat: reply in its thread."

    async def _status(self, channel: str, channel_model: str | None) -> str:
        chosen = await self._store.settings(channel)
        model = chosen.model or channel_model or self._default_model
        lines = [
            f"New chats here use model *{escape(model)}*"
            + (f", {escape(chosen.describe())}." if not chosen.empty else "."),
        ]
        if self._personas.names:
            lines.append(f"Personas: {', '.join(self._personas.names)}.")
        return "\n".join(lines)
