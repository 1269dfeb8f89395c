"""A question about "this channel", asked from the agent DM, gets that channel as context.

Slack tells the app which channel the person has open beside the agent DM (`app_context`,
kept by the store). Its messages are read with `conversations.history` only when a question
names it, never in advance: reading a channel is the person's choice, and Slack asks apps to
use `conversations.*` sparingly. A long channel is cut to fit the prompt, oldest messages
first, with a note saying how many were left out. When the bot is not in that channel
(`not_in_channel`), the thread is told how to invite it.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.routing import unescape
from slackbot.writer import slack_error

THIS_CHANNEL = re.compile(r"\bthis channel\b", re.IGNORECASE)
HISTORY_LIMIT = 100
"""Messages read at most (one page of `conversations.history`)."""
BUDGET = 12000
"""Characters of channel text at most, well inside the bridge's prompt limit."""


class ContextUnavailable(Exception):
    """The channel cannot be read; the message says what the person can do."""


def asks_about_channel(prompt: str) -> bool:
    return bool(THIS_CHANNEL.search(prompt))


async def with_channel(client: AsyncWebClient, channel: str | None, prompt: str) -> str:
    """`prompt` with the messages of `channel` before it, as ChatGPT should read them."""
    if channel is None:
        raise ContextUnavailable(
            "I don't know which channel you mean: open it in Slack beside this conversation "
            "(the agent view follows the channel you look at), then ask again."
        )
    try:
        response = await client.conversations_history(channel=channel, limit=HISTORY_LIMIT)
    except SlackApiError as error:
        raise unreadable(error, f"<#{channel}>") from error
    lines, left_out = fit_messages(response.get("messages") or [])
    note = f"({left_out} older messages left out to fit.)\n" if left_out else ""
    history = "\n".join(lines) or "(no messages)"
    return f"Messages of the Slack channel (oldest first):\n{note}{history}\n\n{prompt}"


def unreadable(error: SlackApiError, what: str) -> ContextUnavailable:
    """Why `what` (a channel, a thread in one) cannot be read, and what to do."""
    code = slack_error(error)
    if code in ("not_in_channel", "channel_not_found"):
        return ContextUnavailable(
            f"I can't read {what}: I'm not a member there. Invite me with `/invite @ChatGPT` "
            "(or mention me there and accept the invitation), then try again."
        )
    return ContextUnavailable(f"Slack did not let me read {what} ({code}). Try again in a moment.")


def fit_messages(messages: list[dict[str, Any]]) -> tuple[list[str], int]:
    """The newest messages (given newest first) that fit the budget, oldest first, and how
    many did not fit."""
    kept: list[str] = []
    used = 0
    texts = [m for m in messages if isinstance(m, dict) and m.get("text") and not m.get("subtype")]
    for message in texts:  # newest first, as Slack returns them
        line = f"{message.get('user') or message.get('bot_id') or '?'}: {unescape(message['text'])}"
        if used + len(line) > BUDGET:
            break
        kept.append(line)
        used += len(line) + 1
    return kept[::-1], len(texts) - len(kept)
