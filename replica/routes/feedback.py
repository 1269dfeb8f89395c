"""The thumbs' request: `POST /backend-api/conversation/message_feedback`, and its record.

The page's thumbs under an answer post `{conversation_id, message_id, rating}` with
`rating` "thumbsUp" or "thumbsDown" (optional `tags`, `text`), and ChatGPT answers with the
rating it stored (docs/replica.md, "Feedback"). The replica keeps every rating in
`store.feedback`, which `GET /_replica/feedback` shows to tests: the ground truth that a
driver's press reached ChatGPT, whatever the page showed.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from replica.errors import FAILURES, ReplicaError
from replica.routes.backend import found
from replica.state import Guarded, ReplicaDep

router = APIRouter()

FEEDBACK_PATH = "/backend-api/conversation/message_feedback"
NO_SUCH_MESSAGE = {"message": "Message not found", "code": "message_not_found"}
"""The wording of a rating of an unknown message (no public evidence: a stand-in)."""


class MessageFeedback(BaseModel):
    """The body the thumbs post (transitive-bullshit/chatgpt-api `MessageFeedbackJSONBody`)."""

    conversation_id: str
    message_id: str
    rating: Literal["thumbsUp", "thumbsDown"]
    tags: list[str] = []
    text: str | None = None


@router.post(FEEDBACK_PATH)
async def message_feedback(request: Request, replica: Guarded) -> dict[str, Any]:
    try:
        rated = MessageFeedback.model_validate(await request.json())
    except (ValidationError, ValueError):
        raise ReplicaError(422, {"message": "Invalid feedback"}) from None
    if replica.take("feedback_fail_next"):
        raise ReplicaError(500, FAILURES[500])
    conversation = found(replica, rated.conversation_id)
    answers = {m.id for m in conversation.messages if m.role == "assistant"}
    if rated.message_id not in answers:
        raise ReplicaError(404, NO_SUCH_MESSAGE)
    user = replica.bearer(request)
    record = {
        "message_id": rated.message_id,
        "conversation_id": rated.conversation_id,
        "user_id": user.email if user else None,
        "rating": rated.rating,
        "tags": rated.tags,
        "text": rated.text,
    }
    replica.store.feedback.append(record)
    return {key: record[key] for key in ("message_id", "conversation_id", "user_id", "rating")}


@router.get("/_replica/feedback")
async def recorded(replica: ReplicaDep) -> list[dict[str, Any]]:
    """Every rating the page sent, oldest first (tests only; never called by the page)."""
    return replica.store.feedback
