"""The pages a browser loads and the login endpoints around them."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from replica import auth, workspaces
from replica.bot_check import header_tells, with_page_check
from replica.bundle import BUNDLE_PATH, bundle_js
from replica.errors import challenge_response
from replica.pages import challenge_page, index_page, login_page
from replica.state import ReplicaDep, page_knobs

router = APIRouter()


def page_response(request: Request, replica: ReplicaDep, body: str) -> Response:
    if replica.options.challenge:
        return challenge_response(challenge_page())
    if replica.options.bot_check:
        tells = header_tells(request.headers)
        replica.tells.append({"source": "headers", "tells": tells})
        if tells:
            return challenge_response(challenge_page())
        body = with_page_check(body, challenge_page())
    return HTMLResponse(body)


@router.get("/")
@router.get("/c/{conversation_id}")
async def index(request: Request, replica: ReplicaDep) -> Response:
    return page_response(request, replica, index_page(page_knobs(replica.options)))


@router.get("/log-in")
async def log_in_form(request: Request, replica: ReplicaDep) -> Response:
    return page_response(request, replica, login_page())


@router.post("/log-in")
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


@router.post("/api/auth/signout")
async def sign_out() -> Response:
    response = JSONResponse({"url": "/"})
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/api/auth/session")
async def session(request: Request, replica: ReplicaDep) -> dict[str, Any]:
    user = replica.visitor(request)
    if user is None:
        return {}
    account = workspaces.current(request, replica.options.workspaces).session_entry()
    return {**auth.session_payload(user, replica.session_deadline()), "account": account}


@router.get(BUNDLE_PATH)
async def app_bundle() -> Response:
    """The page-weight bundle (`page_weight_ms`); immutable, as the real app's hashed files."""
    body = await asyncio.to_thread(bundle_js)  # generated once, ~1 s the first time
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(body, media_type="application/javascript", headers=headers)


@router.get("/cdn-cgi/challenge-platform/scripts/jsd/main.js")
async def challenge_platform_script() -> Response:
    return Response("", media_type="application/javascript")
