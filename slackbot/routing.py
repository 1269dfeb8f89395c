"""Which Slack messages are questions for ChatGPT, and what exactly is asked.

Pure functions over the event payload, so the rules can be read (and tested) in one place:
- answered: every top-level message in the configured personal channels, direct messages,
  @mentions anywhere, and replies in a thread the bot already answers (no mention needed);
- ignored: the bot's own messages, other bots (unless configured), edits, deletions, the
  `message_replied` notices, and every other subtype except `file_share` and
  `thread_broadcast` (both carry a real question).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from slackbot.chat_settings import ChatSettings, Directive, first_line

_ANSWERED_SUBTYPES = (None, "file_share", "thread_broadcast")
_STRING_FIELDS = (
    *("channel", "ts", "thread_ts", "text", "subtype", "channel_type"),
    *("user", "bot_id", "team", "user_team"),
)


class Route(str, Enum):
    IGNORE = "ignore"
    ANSWER = "answer"
    IF_KNOWN_THREAD = "if_known_thread"
    """A reply in a thread: answered only when the bot is already answering that thread."""


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    bot_id: str | None


@dataclass(frozen=True)
class Question:
    channel: str
    ts: str
    thread_ts: str
    user_id: str | None
    team_id: str | None
    prompt: str
    """The text sent to ChatGPT: the bot's mention and a leading settings line removed."""
    model: str | None
    """The model id asked for with a first line `model <slug>[@<effort>]`, if any."""
    has_files: bool
    directive: Directive | None = None
    """The first line's other settings for the thread (`search on`, a chat link...)."""


def route(
    event: dict[str, Any],
    *,
    bot: BotIdentity,
    channels: frozenset[str],
    answer_bots: bool,
) -> Route:
    """Decide what to do with a `message` or `app_mention` event."""
    if event.get("type") not in ("message", "app_mention") or not _well_formed(event):
        return Route.IGNORE
    if event.get("subtype") not in _ANSWERED_SUBTYPES:
        return Route.IGNORE
    if _is_own(event, bot):
        return Route.IGNORE
    if (event.get("bot_id") or event.get("bot_profile")) and not answer_bots:
        return Route.IGNORE
    if not event.get("channel") or not event.get("ts"):
        return Route.IGNORE
    if (
        event["type"] == "app_mention"
        or event.get("channel_type") == "im"
        or f"<@{bot.user_id}>" in (event.get("text") or "")
    ):
        return Route.ANSWER
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != event["ts"]:
        return Route.IF_KNOWN_THREAD
    return Route.ANSWER if event["channel"] in channels else Route.IGNORE


def _well_formed(event: dict[str, Any]) -> bool:
    """Slack sends these fields as strings; an event that does not is no question to answer
    (and would otherwise fail deep in the routing with a 500 that Slack retries)."""
    return all(isinstance(event.get(name), str | None) for name in _STRING_FIELDS)


def _is_own(event: dict[str, Any], bot: BotIdentity) -> bool:
    return event.get("user") == bot.user_id or bool(
        bot.bot_id and event.get("bot_id") == bot.bot_id
    )


def question(event: dict[str, Any], *, bot: BotIdentity, team_id: str | None) -> Question:
    """The question an answered event asks; every reply goes into the message's thread."""
    text = (event.get("text") or "").replace(f"<@{bot.user_id}>", " ")
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    directive, text = first_line(text)
    chosen = directive.settings if directive else ChatSettings()
    rest = directive and replace(directive, settings=replace(chosen, model=None))
    return Question(
        channel=event["channel"],
        ts=event["ts"],
        thread_ts=event.get("thread_ts") or event["ts"],
        user_id=event.get("user"),
        team_id=event.get("team") or event.get("user_team") or team_id,
        prompt=unescape(text),
        model=chosen.model,
        has_files=bool(event.get("files")) or event.get("subtype") == "file_share",
        directive=rest if rest and (rest.conversation_id or not rest.settings.empty) else None,
    )


_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def unescape(text: str) -> str:
    # Slack sends links as `<url|label>` and `&`, `<`, `>` escaped; ChatGPT must see what the
    # person typed.
    text = _SLACK_LINK.sub(
        lambda m: (
            m.group(1).removeprefix("mailto:") if m.group(1).startswith("mailto:") else m.group(1)
        ),
        text,
    )
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def context_channel(context: Any) -> str | None:
    """The channel an `app_context` names first (Slack orders its entities by relevance)."""
    entities = context.get("entities") if isinstance(context, dict) else None
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict):
            continue
        value = entity.get("value")
        if entity.get("type") == "slack#/types/channel_id" and isinstance(value, str):
            return value
        if entity.get("type") == "slack#/types/message_context" and isinstance(value, dict):
            channel = value.get("channel_id")
            if isinstance(channel, str):
                return channel
    return None
