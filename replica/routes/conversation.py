"""The turn: prepare, the conversation POST and its stream, resume, stop.

A send is `POST /backend-api/f/conversation/prepare` (a conduit token), then `POST
/backend-api/f/conversation` carrying the token as `X-Conduit-Token`; the stream answers
with the same header. Knobs decide each send's faults when it arrives (counters count down
per send) so a test can aim a fault at exactly the next send.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from replica import catalog, gizmos, model, pictures, workspaces
from replica.errors import (
    BUSY_MESSAGE,
    FAILURES,
    GIZMO_NOT_FOUND,
    NOT_FOUND,
    RESUME_FAILURES,
    TOAST_MESSAGE,
    TOO_LARGE,
    ReplicaError,
)
from replica.generation import Faults, Generation, Plan, Timing
from replica.options import ReplicaOptions
from replica.routes.files import attachments_of
from replica.state import Guarded, Replica, page_knobs
from replica.store import Conversation, Message
from replica.stream import V1Encoder, new_token, typed
from replica.uploads import Upload

router = APIRouter()

CONDUIT_HEADER = "x-conduit-token"
CHARS_PER_TOKEN = 4
"""No tokenizer offline: the composer ceiling counts about four characters a token."""


def event_stream(frames: AsyncIterator[str], headers: dict[str, str] | None = None) -> Response:
    """A flushed SSE response: nothing on the way may buffer it."""
    no_buffering = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(
        frames, media_type="text/event-stream", headers={**no_buffering, **(headers or {})}
    )


@router.post("/backend-api/f/conversation/prepare")
async def prepare(replica: Guarded) -> dict[str, str]:
    """The composer's preflight: a short-lived conduit token for the next POST."""
    return {"status": "ok", "conduit_token": new_token()}


def _user_message(body: dict[str, Any]) -> dict[str, Any]:
    """The request's (last) user message."""
    return (body.get("messages") or [{}])[-1]


def _user_prompt(message: dict[str, Any]) -> tuple[str, str]:
    """The prompt text and message id of a user message (image parts are not text)."""
    parts = (message.get("content") or {}).get("parts") or [""]
    text = "".join(part for part in parts if isinstance(part, str))
    return text, message.get("id") or str(uuid.uuid4())


def _timing(options: ReplicaOptions) -> Timing:
    return Timing(
        ttft=options.ttft_ms / 1000,
        chunk_delay=options.chunk_delay_ms / 1000,
        chunk_chars=options.chunk_chars,
        think_silence=options.think_silence_ms / 1000,
        handoff_silence=options.handoff_silence_ms / 1000,
        image_delay=options.image_delay_ms / 1000,
    )


def _searches(body: dict[str, Any]) -> bool:
    """The composer's "Web search" choice travels as a system hint (docs/replica.md)."""
    return "search" in (body.get("system_hints") or [])


def _gizmo_of(body: dict[str, Any]) -> str | None:
    """The custom GPT or project a send runs in: `conversation_mode` `gizmo_interaction`."""
    mode = body.get("conversation_mode") or {}
    if mode.get("kind") != "gizmo_interaction":
        return None
    gizmo_id = str(mode.get("gizmo_id") or "")
    if gizmos.find(gizmo_id) is None:
        raise ReplicaError(404, GIZMO_NOT_FOUND)
    return gizmo_id


def _refuse(replica: Replica, conversation_id: str | None, prompt: str) -> None:
    """Raise the error this send meets before any answer starts, if any."""
    if conversation_id and conversation_id in replica.running:
        raise ReplicaError(409, BUSY_MESSAGE)
    if len(prompt) > replica.options.composer_limit_tokens * CHARS_PER_TOKEN:
        raise ReplicaError(400, TOO_LARGE)
    status = replica.injected_failure()
    if status is not None:
        raise ReplicaError(status, FAILURES[status])
    if replica.take("toast_error_next"):
        raise ReplicaError(502, TOAST_MESSAGE)


def _conversation(
    replica: Replica, request: Request, body: dict[str, Any], prompt: str, gizmo_id: str | None
) -> tuple[Conversation, bool]:
    """The conversation this send continues, or a new one (with its hidden system prompt)."""
    store = replica.store
    slug = body.get("model") or catalog.DEFAULT_MODEL
    conversation_id = body.get("conversation_id")
    if conversation_id:
        conversation = store.conversations.get(conversation_id)
        if conversation is None:
            raise ReplicaError(404, NOT_FOUND)
        return conversation, False
    conversation = store.create(slug, bool(body.get("history_and_training_disabled")))
    conversation.gizmo_id = gizmo_id
    conversation.title = model.title(prompt)
    conversation.anonymous = request.url.path.startswith("/backend-anon/")
    system = Message(
        id=str(uuid.uuid4()),
        role="system",
        text="",
        parent=conversation.current_node,
        hidden=True,
    )
    conversation.messages.append(system)
    return conversation, True


def _user(
    conversation: Conversation,
    body: dict[str, Any],
    prompt: str,
    message_id: str,
    attachments: list[Upload],
) -> Message:
    slug = body.get("model") or conversation.model
    if body.get("action") == "variant":
        # "Try again": a new answer to a user message the conversation already holds.
        user = next((m for m in conversation.messages if m.id == message_id), None)
        if user is None or user.role != "user":
            raise ReplicaError(404, NOT_FOUND)
        user.model = slug
        return user
    user = Message(
        id=message_id,
        role="user",
        text=prompt,
        parent=conversation.current_node,
        model=slug,
        attachments=attachments,
    )
    conversation.messages.append(user)
    return user


def _plan(replica: Replica, user: Message, new: bool, search: bool) -> Plan:
    options = replica.options
    asked = user.model or catalog.DEFAULT_MODEL
    options.quota_remaining = max(options.quota_remaining - 1, 0)
    answered_by = options.downgrade_to or asked
    return Plan(
        answered_by=answered_by,
        thinking=options.thinking or catalog.thinks(answered_by),
        handoff_via=options.handoff,
        image=replica.take("image_turn_next") or pictures.asks_for_picture(user.text),
        tool_call=replica.take("tool_call_next"),
        announce_title=new,
        late_title=options.late_title,
        quota_remaining=options.quota_remaining,
        search=search,
    )


def _faults(replica: Replica) -> Faults:
    return Faults(
        sse_error=replica.take("sse_error_next"),
        cut=replica.take("cut_stream_next"),
        stall=replica.take("stall_next"),
        drop=replica.take("drop_stream_next"),
        handoff=replica.take("handoff_next"),
    )


async def _aborted(conversation_id: str | None) -> AsyncIterator[str]:
    """An attempt the front end gives up on: the opening, then the connection just ends."""
    for frame in V1Encoder().restart():
        yield frame
    yield typed("resume_conversation_token", conversation_id or "", kind="topic", token=new_token())


@router.post("/backend-api/f/conversation")
@router.post("/backend-api/conversation")
@router.post("/backend-anon/f/conversation")
async def post_conversation(request: Request, replica: Guarded) -> Response:
    body = await request.json()
    message = _user_message(body)
    prompt, message_id = _user_prompt(message)
    conduit = request.headers.get(CONDUIT_HEADER) or new_token()
    record: dict[str, Any] = {
        "conversation_id": body.get("conversation_id"),
        "message_id": message_id,
        "prompt": prompt,
        "model": body.get("model"),
        "thinking_effort": body.get("thinking_effort"),
        "conduit_token": request.headers.get(CONDUIT_HEADER),
        "temporary": bool(body.get("history_and_training_disabled")),
        "parent_message_id": body.get("parent_message_id"),
        "attachments": (message.get("metadata") or {}).get("attachments") or [],
        "content_type": (message.get("content") or {}).get("content_type"),
        "system_hints": body.get("system_hints") or [],
        "conversation_mode": body.get("conversation_mode"),
        "workspace": workspaces.current(request, replica.options.workspaces).id,
        "time": time.time(),
        "status": 200,
    }
    replica.store.sends.append(record)
    try:
        attachments = attachments_of(replica, message)
        gizmo_id = _gizmo_of(body)
        _refuse(replica, body.get("conversation_id"), prompt)
    except ReplicaError as refused:
        record["status"] = refused.status
        raise
    headers = {
        "x-conduit-token": conduit,
        "x-replica-page": json.dumps(page_knobs(replica.options)),
    }
    if replica.take("abort_post_next"):
        record["status"] = "aborted"
        return event_stream(_aborted(body.get("conversation_id")), headers)
    conversation, new = _conversation(replica, request, body, prompt, gizmo_id)
    record["conversation_id"] = conversation.id
    user = _user(conversation, body, prompt, message_id, attachments)
    generation = Generation(
        conversation,
        user,
        _timing(replica.options),
        _faults(replica),
        _plan(replica, user, new, _searches(body)),
        new_conversation=new,
    )
    replica.running[conversation.id] = generation
    replica.topics[generation.topic.topic_id] = generation.topic
    generation.task.add_done_callback(lambda _: replica.running.pop(conversation.id, None))
    return event_stream(generation.frames(), headers)


def _latest_topic(replica: Replica, conversation_id: str) -> Any:
    """The newest handed-off topic of a conversation, if any."""
    topics = [
        t for t in replica.topics.values() if t.conversation_id == conversation_id and t.handed_off
    ]
    return topics[-1] if topics else None


@router.post("/backend-api/f/conversation/resume")
async def resume(request: Request, replica: Guarded) -> Response:
    """The rest of a handed-off turn as SSE, from its start (the body's `offset` is
    ignored: what it counts is unpublished); knobs make it 404 (tokenless) or 410."""
    body = await request.json()
    failure = replica.options.resume_failure
    if failure is not None:
        raise ReplicaError(failure, RESUME_FAILURES[failure])
    topic = _latest_topic(replica, body.get("conversation_id") or "")
    if topic is None:
        raise ReplicaError(404, RESUME_FAILURES[404])
    return event_stream(topic.frames())


@router.post("/backend-api/stop_conversation")
@router.post("/backend-anon/stop_conversation")
async def stop_conversation(request: Request, replica: Guarded) -> dict[str, Any]:
    """Stop the running turn of the named conversation (`{conversation_id, ...}`)."""
    body = await request.json()
    generation = replica.generation_of(body.get("conversation_id"))
    if generation is None:
        return {"status": "ok", "last_message_id": None}
    generation.stop.set()
    return {"status": "ok", "last_message_id": generation.last_message_id}
