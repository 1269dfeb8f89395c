"""The bridge's own headers on `/v1` answers: which ChatGPT chat, which model answered.

Chat completions and Responses both say in which chat an answer was written and which model
wrote it, and both let a client pin a chat with `X-Conversation-Id` (docs/api.md).
"""

from __future__ import annotations

import logging
import re

from fastapi import Request

from app.api.completions import CompletionJob
from app.api.errors import APIError

logger = logging.getLogger(__name__)

FIRST_DELTA_GRACE = 10.0
"""Seconds a stream waits for ChatGPT's first delta before sending its status line, so
that a refused send is still a proper HTTP error rather than an error event."""

CONVERSATION_HEADER = "X-Conversation-Id"
MODEL_USED_HEADER = "X-ChatGPT-Model-Used"
"""The model slug that answered (`resolved_model_slug`), once the web app named it."""
MODEL_NOTE_HEADER = "X-ChatGPT-Model-Note"
"""Present when ChatGPT answered with another model than asked for (e.g. a downgrade)."""
CONVERSATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_:-]{0,99}")


def pinned_conversation(request: Request) -> str | None:
    """The chat the client pins with `X-Conversation-Id`, checked; None when not pinned."""
    value = request.headers.get(CONVERSATION_HEADER)
    if value is None:
        return None
    if not CONVERSATION_ID.fullmatch(value):
        raise APIError(
            400,
            f"The {CONVERSATION_HEADER} header must be a ChatGPT conversation id (the value a "
            "previous response returned in that header, or the <id> of chatgpt.com/c/<id>).",
        )
    return value


def answer_headers(job: CompletionJob) -> dict[str, str]:
    """The chat's id, the model that answered, and a note when it is not the one asked for.

    The body names the model too; a header also reaches clients that keep only the text.
    A streamed answer's headers leave before the answer: they carry what is known by then.
    """
    conversation_id = job.conversation_id
    headers = {CONVERSATION_HEADER: conversation_id} if conversation_id else {}
    runner = job.runner
    if runner.model:
        headers[MODEL_USED_HEADER] = runner.model
    note = runner.model_note
    if note:
        logger.warning("%s: %s", job.id, note)
        headers[MODEL_NOTE_HEADER] = note
    return headers
