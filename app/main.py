"""The composition root: `create_app()` wires settings, database, browser, API and Slack.

The lifespan starts the parts in dependency order and stops them in reverse, so a failing
start leaves nothing half-running and Ctrl-C never leaves the Chrome profile open.
State the routes need is put on `app.state`: `settings`, `db`, `bridge`, `slack` (or None),
`tunnel` (or None, with `tunnel_error` saying why) and `api_key` (the key `/v1/*` demands, or
None when the API is local-only and no key is configured).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from app.api import router as api_router
from app.config import Settings
from app.db import open_database
from app.health import router as health_router
from app.security import is_loopback, resolve_api_key
from app.tunnel import TunnelError, open_tunnel
from browser import Bridge, BrowserBridge
from slackbot import SlackService

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with AsyncExitStack() as stack:
        app.state.db = await stack.enter_async_context(open_database(settings.database_path))
        bridge: Bridge = app.state.make_bridge(settings)
        await bridge.start()
        stack.push_async_callback(bridge.stop)
        app.state.bridge = bridge
        await _start_slack(app, stack, bridge)
        await _open_tunnel(app, stack)
        exposed = app.state.tunnel is not None or not is_loopback(settings.host)
        app.state.api_key = await asyncio.to_thread(resolve_api_key, settings, exposed=exposed)
        yield
        logger.info("shutting down: closing the browser so the profile is saved cleanly")


async def _start_slack(app: FastAPI, stack: AsyncExitStack, bridge: Bridge) -> None:
    settings: Settings = app.state.settings
    app.state.slack = None
    if settings.slack_bot_token is None:
        return
    service = SlackService(settings, bridge, app.state.db)
    await service.start()
    stack.push_async_callback(service.stop)
    app.state.slack = service


async def _slack_events(request: Request) -> Response:
    """Slack's Request URL (events and the Stop button); the service checks the signature."""
    service: SlackService | None = getattr(request.app.state, "slack", None)
    if service is None:
        return JSONResponse(
            {
                "error": "Slack is not configured on this bridge: set SLACK_BOT_TOKEN and "
                "SLACK_SIGNING_SECRET (see docs/slack.md)."
            },
            status_code=404,
        )
    return await service.handle(request)


async def _open_tunnel(app: FastAPI, stack: AsyncExitStack) -> None:
    settings: Settings = app.state.settings
    app.state.tunnel, app.state.tunnel_error = None, None
    if settings.ngrok_authtoken is None:
        return
    try:
        tunnel = await open_tunnel(settings, settings.port)
    except TunnelError as error:
        logger.warning("no public URL, serving locally only: %s", error)
        app.state.tunnel_error = str(error)
        return
    stack.push_async_callback(tunnel.close)
    app.state.tunnel = tunnel


def create_app(
    settings: Settings | None = None,
    *,
    make_bridge: Callable[[Settings], Bridge] = BrowserBridge,
) -> FastAPI:
    """The bridge app. `make_bridge` builds the browser layer: tests hand in a fake one."""
    app = FastAPI(title="chatgpt-bridge", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings or Settings()
    app.state.make_bridge = make_bridge
    app.include_router(health_router)
    app.include_router(api_router)
    app.add_api_route("/slack/events", _slack_events, methods=["POST"], include_in_schema=False)
    return app
