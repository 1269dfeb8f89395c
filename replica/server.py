"""The replica's HTTP app: the single page, the endpoints the page calls, and test controls.

Everything a driver touches is served the way chatgpt.com serves it (see
`shared/research/chatgpt-web.md`); the `/_replica/*` routes exist only for tests and
benchmarks and are never called by the page.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from replica import auth, model
from replica.generation import Faults, Generation, Timing
from replica.options import ReplicaOptions
from replica.pages import challenge_page, index_page, login_page
from replica.store import ROOT_ID, Message, Store
from replica.stream import LegacyEncoder, V1Encoder

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

MODELS = [
    {"slug": "auto", "title": "ChatGPT 5 Auto", "description": "Decides how long to think"},
    {"slug": "gpt-5", "title": "GPT-5", "description": "Flagship model"},
    {"slug": "gpt-5-thinking", "title": "GPT-5 Thinking", "description": "Thinks longer"},
    {"slug": "gpt-4o", "title": "GPT-4o", "description": "Legacy model"},
]
DEFAULT_MODEL = "auto"

RATE_LIMIT_MESSAGE = "You've reached our limit of messages per hour. Please try again later."
FAILURES: dict[int, Any] = {
    401: {
        "message": "Your authentication token has expired. Please try signing in again.",
        "type": "invalid_request_error",
        "param": None,
        "code": "token_expired",
    },
    403: {
        "message": "Unusual activity has been detected from your device. Try again later.",
        "code": "unusual_activity",
    },
    429: {"message": RATE_LIMIT_MESSAGE, "clears_in": 3600},
    500: {"message": "Internal server error", "code": "internal_error"},
}
TOAST_MESSAGE = (
    "Something went wrong. If this issue persists please contact us through our help center "
    "at help.openai.com."
)
NOT_FOUND = {"message": "Conversation not found", "code": "conversation_not_found"}
BUSY_MESSAGE = (
    "Only one message at a time. Please allow any other responses to complete before "
    "sending another message, or wait one minute."
)


def _error(status: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def page_knobs(options: ReplicaOptions) -> dict[str, bool]:
    """The knobs the page's own script applies (rendering quirks, not server faults)."""
    return {
        "flicker_stop": options.flicker_stop,
        "markdown_empty_until_settled": options.markdown_empty_until_settled,
        "use_article": options.use_article,
        "anonymous_chat": options.anonymous_chat,
    }


class Replica:
    """State of one replica: its knobs, its store and the answers being generated."""

    def __init__(self, options: ReplicaOptions) -> None:
        self.initial = options.model_copy()
        self.options = options.model_copy()
        self.store = Store()
        self.running: dict[str, Generation] = {}
        self.resumable: dict[str, Generation] = {}
        """Handed-off answers whose rest has not been fetched from the resume endpoint yet."""

    def visitor(self, request: Request) -> auth.User | None:
        if self.options.logged_out:
            return None
        if self.options.auto_login:
            return auth.User(**auth.AUTO_USER)
        return auth.user_from_cookie(request.cookies.get(auth.SESSION_COOKIE))

    def bearer(self, request: Request) -> auth.User | None:
        if self.options.logged_out:
            return None
        return auth.user_from_authorization(request.headers.get("authorization"))

    def allowed(self, request: Request) -> bool:
        """May this request use the conversation endpoints? `/backend-anon/` needs no token
        but only exists for logged-out visitors when anonymous chat is on."""
        if request.url.path.startswith("/backend-anon/"):
            return self.options.anonymous_chat and self.visitor(request) is None
        return self.bearer(request) is not None

    def take(self, name: str) -> bool:
        """Consume one unit of a `*_next` counter knob; True when this send is hit."""
        count = getattr(self.options, name)
        if count <= 0:
            return False
        setattr(self.options, name, count - 1)
        return True

    def injected_failure(self) -> int | None:
        """The HTTP status this send must fail with, consuming the matching counter."""
        if self.take("rate_limit_next"):
            return 429
        status = self.options.fail_next_status
        if status is None:
            return None
        remaining = max(self.options.fail_next_count, 1) - 1  # a bare status fails once
        self.options.fail_next_count = remaining
        if remaining == 0:
            self.options.fail_next_status = None
        return status


def create_replica_app(options: ReplicaOptions | None = None) -> FastAPI:
    """A fresh replica app; `app.state.replica` holds its `Replica` state."""
    replica = Replica(options or ReplicaOptions())
    app = FastAPI(title="chatgpt.com replica", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.replica = replica
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def page(request: Request, body: str) -> Response:
        if replica.options.challenge:
            return HTMLResponse(
                challenge_page(), status_code=403, headers={"cf-mitigated": "challenge"}
            )
        return HTMLResponse(body)

    @app.get("/")
    @app.get("/c/{conversation_id}")
    async def index(request: Request) -> Response:
        return page(request, index_page(page_knobs(replica.options)))

    @app.get("/log-in")
    async def log_in_form(request: Request) -> Response:
        return page(request, login_page())

    @app.post("/log-in")
    async def log_in(request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        name = (form.get("name") or form.get("email") or ["Replica User"])[0].strip()
        email = name if "@" in name else f"{name.lower().replace(' ', '.')}@replica.local"
        user = auth.User(name=name.split("@")[0] or "Replica User", email=email)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            auth.SESSION_COOKIE,
            auth.session_cookie(user),
            max_age=auth.SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            path="/",
        )
        return response

    @app.post("/api/auth/signout")
    async def sign_out() -> Response:
        response = JSONResponse({"url": "/"})
        response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response

    @app.get("/api/auth/session")
    async def session(request: Request) -> dict[str, Any]:
        user = replica.visitor(request)
        return auth.session_payload(user) if user else {}

    @app.get("/cdn-cgi/challenge-platform/scripts/jsd/main.js")
    async def challenge_platform_script() -> Response:
        return Response("", media_type="application/javascript")

    @app.get("/backend-api/models")
    async def models(request: Request) -> Response:
        if not replica.bearer(request):
            return _error(401, FAILURES[401])
        return JSONResponse({"models": MODELS, "default_model_slug": DEFAULT_MODEL})

    @app.get("/backend-api/conversations")
    async def conversations(request: Request, offset: int = 0, limit: int = 28) -> Response:
        if not replica.bearer(request):
            return _error(401, FAILURES[401])
        listed = replica.store.listed()
        items = [
            {"id": c.id, "title": c.title, "create_time": c.create_time, "update_time": None}
            for c in listed[offset : offset + limit]
        ]
        return JSONResponse(
            {"items": items, "total": len(listed), "limit": limit, "offset": offset}
        )

    @app.get("/backend-api/conversation/{conversation_id}")
    async def conversation(request: Request, conversation_id: str) -> Response:
        if not replica.bearer(request):
            return _error(401, FAILURES[401])
        found = replica.store.conversations.get(conversation_id)
        if found is None:
            return _error(404, NOT_FOUND)
        return JSONResponse(found.to_api())

    @app.post("/backend-api/sentinel/chat-requirements/prepare")
    async def sentinel_prepare(request: Request) -> Response:
        if not replica.bearer(request):
            return _error(401, FAILURES[401])
        return JSONResponse({"persona": "chatgpt-paid", "prepare_token": uuid.uuid4().hex})

    @app.post("/backend-api/sentinel/chat-requirements/finalize")
    async def sentinel_finalize(request: Request) -> Response:
        if not replica.bearer(request):
            return _error(401, FAILURES[401])
        return JSONResponse({"persona": "chatgpt-paid", "token": "gAAAAA" + uuid.uuid4().hex})

    @app.post("/backend-api/f/conversation/prepare")
    async def conversation_prepare(request: Request) -> Response:
        """Called by the page before every send: a tap matching "conversation" loosely
        sees this JSON response too, as it would on chatgpt.com."""
        if not replica.bearer(request):
            return _error(401, FAILURES[401])
        return JSONResponse({"status": "ok", "conduit_token": uuid.uuid4().hex})

    @app.post("/backend-api/f/conversation")
    @app.post("/backend-api/conversation")
    @app.post("/backend-anon/f/conversation")
    async def post_conversation(request: Request) -> Response:
        body = await request.json()
        prompt, message_id = _user_prompt(body)
        record: dict[str, Any] = {
            "conversation_id": body.get("conversation_id"),
            "message_id": message_id,
            "prompt": prompt,
            "model": body.get("model"),
            "temporary": bool(body.get("history_and_training_disabled")),
            "parent_message_id": body.get("parent_message_id"),
            "time": time.time(),
            "status": 200,
        }
        replica.store.sends.append(record)
        response = _start_answer(replica, request, body, prompt, message_id, record)
        record["status"] = response.status_code
        return response

    @app.post("/backend-api/f/conversation/resume")
    async def resume(request: Request) -> Response:
        if not replica.bearer(request):
            return _error(401, FAILURES[401])
        generation = await _named_in_body(request, replica.resumable)
        if generation is None or not generation.handed_off:
            return _error(404, {"message": "Nothing to resume", "code": "no_resumable_stream"})
        del replica.resumable[generation.conversation.id]
        return _event_stream(generation.resumed_frames())

    @app.post("/backend-api/stop_conversation")
    @app.post("/backend-anon/stop_conversation")
    async def stop_conversation(request: Request) -> Response:
        if not replica.allowed(request):
            return _error(401, FAILURES[401])
        generation = await _named_in_body(request, replica.running)
        if generation is not None:
            generation.stop.set()
        return JSONResponse({"success": generation is not None})

    @app.post("/_replica/control")
    async def control(request: Request) -> Response:
        knobs = await request.json()
        try:
            replica.options = ReplicaOptions.model_validate(
                {**replica.options.model_dump(), **knobs}
            )
        except ValidationError as error:
            return JSONResponse({"detail": error.errors(include_url=False)}, status_code=422)
        return JSONResponse(replica.options.model_dump())

    @app.get("/_replica/options")
    async def current_options() -> dict[str, Any]:
        return replica.options.model_dump()

    @app.post("/_replica/reset")
    async def reset(request: Request) -> dict[str, Any]:
        """Knobs back to the start-up options; `?conversations=false` keeps the store."""
        replica.options = replica.initial.model_copy()
        if request.query_params.get("conversations", "true") != "false":
            replica.store.reset()
            replica.resumable.clear()
        return replica.options.model_dump()

    @app.get("/_replica/conversations/{conversation_id}")
    async def test_conversation(conversation_id: str) -> Response:
        found = replica.store.conversations.get(conversation_id)
        if found is None:
            return _error(404, "no such conversation")
        return JSONResponse(found.to_test_view())

    @app.get("/_replica/sends")
    async def sends() -> list[dict[str, Any]]:
        return replica.store.sends

    return app


async def _named_in_body(request: Request, table: dict[str, Generation]) -> Generation | None:
    """The answer of the conversation the JSON body names (`conversation_id`), if any."""
    body = await request.json()
    return table.get(body.get("conversation_id") or "")


def _event_stream(frames: AsyncIterator[str], headers: dict[str, str] | None = None) -> Response:
    """A flushed SSE response: nothing on the way may buffer it."""
    no_buffering = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(
        frames, media_type="text/event-stream", headers={**no_buffering, **(headers or {})}
    )


def _user_prompt(body: dict[str, Any]) -> tuple[str, str]:
    """The prompt text and message id of the request's (last) user message."""
    messages = body.get("messages") or [{}]
    message = messages[-1]
    parts = (message.get("content") or {}).get("parts") or [""]
    text = "".join(part for part in parts if isinstance(part, str))
    return text, message.get("id") or str(uuid.uuid4())


def _start_answer(
    replica: Replica,
    request: Request,
    body: dict[str, Any],
    prompt: str,
    message_id: str,
    record: dict[str, Any],
) -> Response:
    if not replica.allowed(request):
        return _error(401, FAILURES[401])
    conversation_id = body.get("conversation_id")
    if conversation_id and conversation_id in replica.running:
        return _error(409, BUSY_MESSAGE)
    status = replica.injected_failure()
    if status is not None:
        return _error(status, FAILURES[status])
    if replica.take("toast_error_next"):
        return _error(502, TOAST_MESSAGE)
    store = replica.store
    slug = body.get("model") or DEFAULT_MODEL
    if conversation_id:
        conversation = store.conversations.get(conversation_id)
        if conversation is None:
            return _error(404, NOT_FOUND)
        is_new = False
    else:
        temporary = bool(body.get("history_and_training_disabled"))
        conversation = store.create(slug, temporary)
        conversation.title = model.title(prompt)
        conversation.anonymous = request.url.path.startswith("/backend-anon/")
        is_new = True
    record["conversation_id"] = conversation.id
    if body.get("action") == "variant":
        # "Try again": a new answer to a user message the conversation already holds.
        user = next((m for m in conversation.messages if m.id == message_id), None)
        if user is None or user.role != "user":
            return _error(404, NOT_FOUND)
        user.model = slug
    else:
        user = Message(
            id=message_id, role="user", text=prompt, parent=conversation.current_node, model=slug
        )
        conversation.messages.append(user)
    options = replica.options
    encoder = (
        LegacyEncoder()
        if options.legacy_encoding or "v1" not in body.get("supported_encodings", [])
        else V1Encoder()
    )
    faults = Faults(
        sse_error=replica.take("sse_error_next"),
        cut=replica.take("cut_stream_next"),
        stall=replica.take("stall_next"),
        drop=replica.take("drop_stream_next"),
        handoff=replica.take("handoff_next"),
    )
    generation = Generation(
        conversation,
        user,
        encoder,
        Timing.of(options),
        faults,
        thinking=options.thinking or slug.endswith("-thinking"),
        announce_title=is_new,
    )
    replica.running[conversation.id] = generation
    if faults.handoff:
        replica.resumable[conversation.id] = generation
    generation.task.add_done_callback(lambda _: replica.running.pop(conversation.id, None))
    return _event_stream(generation.frames(), {"x-replica-page": json.dumps(page_knobs(options))})


__all__ = ["DEFAULT_MODEL", "MODELS", "ROOT_ID", "create_replica_app"]
