"""What ChatGPT drew, posted into the thread as real Slack files, after the answer's text.

Slack retired `files.upload` (new apps could not use it after 2024-05-16; sunset
2025-11-12): files go up in three steps, `files.getUploadURLExternal`, the bytes POSTed to
the URL it gives, then `files.completeUploadExternal` sharing them into the thread
(shared/research/slack-2026.md; `files_upload_v2` in slack_sdk does exactly these). Each
picture carries the prompt it was drawn from as its alt text (`alt_txt`) and title, so a
screen reader says what it shows. Needs the `files:write` scope.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from browser.generated import GeneratedFile
from slackbot.writer import slack_error

logger = logging.getLogger(__name__)

ALT_TEXT_LIMIT = 1000
"""Slack's longest `alt_txt`."""
TITLE_LIMIT = 200
IMAGE_ONLY = "_ChatGPT drew this:_"
"""The answer's text when the turn is only a picture (the image tool writes no text)."""


async def post_files(
    client: AsyncWebClient, *, channel: str, thread_ts: str, files: Sequence[GeneratedFile]
) -> str | None:
    """Upload `files` into the thread; None when done, else what went wrong, for the thread."""
    if not files:
        return None
    uploads = [
        {
            "content": file.data,
            "filename": file.name,
            "title": _short(file.alt, TITLE_LIMIT) or file.name,
            "alt_txt": _short(file.alt, ALT_TEXT_LIMIT) or None,
        }
        for file in files
    ]
    try:
        await client.files_upload_v2(file_uploads=uploads, channel=channel, thread_ts=thread_ts)
    except SlackClientError as error:
        code = slack_error(error) if isinstance(error, SlackApiError) else "upload_failed"
        logger.warning("cannot upload %d drawn file(s) to %s: %s", len(files), channel, code)
        hint = " (the app needs the files:write scope)" if code == "missing_scope" else ""
        return f"ChatGPT drew {_count(files)}, but Slack refused the upload: {code}{hint}."
    return None


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(files: Sequence[GeneratedFile]) -> str:
    return "an image" if len(files) == 1 else f"{len(files)} images"
