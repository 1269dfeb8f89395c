"""The composition root: `create_app()` wires settings, database, browser, API and Slack.

The lifespan starts the parts in dependency order and stops them in reverse, so a failing
start leaves nothing half-running and Ctrl-C never leaves the Chrome profile open. What it
built is one typed `app.services.Services` on `app.state.services`; routes read it through
`services(request)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from app.api import router as api_router
from app.api.conversations import ConversationMap
from app.api.models import ModelCatalog
from app.config import Settings
from app.db import Database, open_database
from app.files import FileStore
from app.health import router as health_router
from app.security import is_loopback, resolve_api_key
from app.services import Services, services
from app.tunnel import Tunnel, TunnelError, open_tunnel
from browser import Bridge, BrowserBridge
from slackbot import SlackService

logger = logging.getLogger(__name__)

MakeBridge = Callable[[Settings], Bridge]


def _lifespan(
    settings: Settings, make_bridge: MakeBridge
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.services = await _start(settings, make_bridge, stack)
            yield
            logger.info("shutting down: closing the browser so the profile is saved cleanly")

    return lifespan


async def _start(settings: Settings, make_bridge: MakeBridge, stack: AsyncExitStack) -> Services:
    db = await stack.enter_async_context(open_database(settings.database_path))
    bridge = make_bridge(settings)
    await bridge.start()
    stack.push_async_callback(bridge.stop)
    models = ModelCatalog(bridge, settings)
    models.start()
    stack.push_async_callback(models.stop)
    conversations = ConversationMap(db, settings.max_prompt_chars)
    await conversations.setup()
    files = FileStore(db, settings.files_dir, settings.file_max_bytes)
    await files.setup()
    slack = await _start_slack(settings, stack, bridge, db)
    tunnel, tunnel_error = await _open_tunnel(settings, stack)
    exposed = tunnel is not None or not is_loopback(settings.host)
    api_key = await asyncio.to_thread(resolve_api_key, settings, exposed=exposed)
    return Services(
        settings=settings,
        db=db,
        bridge=bridge,
        models=models,
        conversations=conversations,
        files=files,
        slack=slack,
        tunnel=tunnel,
        tunnel_error=tunnel_error,
        api_key=api_key,
    )


async def _start_slack(
    settings: Settings, stack: AsyncExitStack, bridge: Bridge, db: Database
) -> SlackService | None:
    if settings.slack_bot_token is None:
        return None
    service = SlackService(settings, bridge, db)
    await service.start()
    stack.push_async_callback(service.stop)
    return service


async def _slack_events(request: Request) -> Response:
    """Slack's Request URL (events and the Stop button); the service checks the signature."""
    service = services(request).slack
    if service is None:
        return JSONResponse(
            {
                "error": "Slack is not configured on this bridge: set SLACK_BOT_TOKEN and "
                "SLACK_SIGNING_SECRET (see docs/slack.md)."
            },
            status_code=404,
        )
    return await service.handle(request)


async def _open_tunnel(
    settings: Settings, stack: AsyncExitStack
) -> tuple[Tunnel | None, str | None]:
    """The tunnel, or None and why not (None when none was asked for)."""
    if settings.ngrok_authtoken is None:
        return None, None
    try:
        tunnel = await open_tunnel(settings, settings.port)
    except TunnelError as error:
        logger.warning("no public URL, serving locally only: %s", error)
        return None, str(error)
    stack.push_async_callback(tunnel.close)
    return tunnel, None


def create_app(
    settings: Settings | None = None, *, make_bridge: MakeBridge = BrowserBridge
) -> FastAPI:
    """The bridge app. `make_bridge` builds the browser layer: tests hand in a fake one."""
    app = FastAPI(
        title="chatgpt-bridge",
        lifespan=_lifespan(settings or Settings(), make_bridge),
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(health_router)
    app.include_router(api_router)
    app.add_api_route("/slack/events", _slack_events, methods=["POST"], include_in_schema=False)
    return app
