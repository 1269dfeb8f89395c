"""Message shortcuts: "Ask ChatGPT about this" and "Summarize thread", answered in the agent DM.

Both take a message (and, when it has one, its thread, read with `conversations.replies`
only then) to a new chat in the person's DM with the app, so a channel never sees what was
asked. "Summarize thread" asks at once. "Ask ChatGPT about this" opens the DM thread with
the message quoted and waits for the person's question there; the context opens the chat's
first prompt (stored with the thread, so a restart keeps it). A long thread is cut to fit,
oldest replies first after its first message, with a note of how many were left out.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.channel_context import fit_messages, unreadable
from slackbot.routing import Question, unescape

logger = logging.getLogger(__name__)

ASK = "ask_chatgpt_message"
SUMMARIZE = "summarize_thread"
SUMMARY_PROMPT = (
    "Summarize this Slack thread: the question or topic, what was decided, open points and "
    "who owns them. Be brief."
)


async def context_of(client: AsyncWebClient, payload: dict[str, Any]) -> str:
    """The message, or its whole thread, as ChatGPT should read it."""
    channel = str((payload.get("channel") or {}).get("id") or "")
    message = payload.get("message") or {}
    root = message.get("thread_ts") or (message.get("ts") if message.get("reply_count") else None)
    if not root:
        who = message.get("user") or message.get("bot_id") or "?"
        return f"A Slack message from {who}:\n{unescape(str(message.get('text') or ''))}"
    try:
        response = await client.conversations_replies(channel=channel, ts=root, limit=200)
    except SlackApiError as error:
        raise unreadable(error, f"that thread in <#{channel}>") from error
    messages = list(response.get("messages") or [])
    head, _ = fit_messages(messages[:1])
    # The first message always; then the newest replies that fit (Slack sends oldest first).
    replies, left_out = fit_messages(messages[1:][::-1])
    note = [f"({left_out} earlier replies left out to fit.)"] if left_out else []
    return "A Slack thread (oldest first):\n" + "\n".join([*head, *note, *replies])


async def open_in_dm(
    client: AsyncWebClient, payload: dict[str, Any], *, summarize: bool, context: str
) -> Question:
    """Post the DM thread's first message; the question a summary asks (or a prompt-less one)."""
    user = str((payload.get("user") or {}).get("id") or "")
    channel = str((payload.get("channel") or {}).get("id") or "")
    message = payload.get("message") or {}
    opened = await client.conversations_open(users=user)
    dm = str(opened["channel"]["id"])
    link = await _permalink(client, channel, str(message.get("ts") or ""))
    text = (
        f":memo: Summarizing {link}…"
        if summarize
        else f":speech_balloon: About {link}. Ask ChatGPT your question in this thread."
    )
    root = await client.chat_postMessage(channel=dm, text=text)
    ts = str(root["ts"])
    team = (payload.get("team") or {}).get("id")
    return Question(
        channel=dm,
        ts=ts,
        thread_ts=ts,
        user_id=user,
        team_id=team if isinstance(team, str) else None,
        prompt=f"{context}\n\n{SUMMARY_PROMPT}" if summarize else "",
        model=None,
        has_files=False,
    )


async def _permalink(client: AsyncWebClient, channel: str, ts: str) -> str:
    try:
        response = await client.chat_getPermalink(channel=channel, message_ts=ts)
        return f"<{response['permalink']}|this message>"
    except SlackApiError:
        return f"a message in <#{channel}>"
