"""The composition root: `create_app()` wires settings, database, browser, API, MCP and Slack.

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
from app.api.inputs import file_inputs
from app.api.models import ModelCatalog
from app.api.responses_api import ResponsesService, ResponseStore
from app.batches.endpoints import LineAsker
from app.batches.runner import BatchRunner
from app.batches.service import BatchService
from app.batches.store import BatchStore
from app.batches.webhook import Webhook
from app.config import Settings
from app.db import Database, open_database
from app.files import FileStore
from app.health import router as health_router
from app.mcp.http import PATH as MCP_PATH
from app.mcp.http import McpEndpoint
from app.mcp.tools import build_server
from app.security import is_loopback, resolve_api_key
from app.services import Services, app_services, services
from app.tunnel import Tunnel, TunnelError, open_tunnel
from browser import Bridge, BrowserBridge, doctor
from slackbot import SlackService
from slackbot.layout_watch import Examine

logger = logging.getLogger(__name__)

MakeBridge = Callable[[Settings], Bridge]


def _lifespan(
    settings: Settings, make_bridge: MakeBridge, mcp: McpEndpoint
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.services = parts = await _start(settings, make_bridge, stack)
            public_url = parts.tunnel.public_url if parts.tunnel else None
            await stack.enter_async_context(
                mcp.serving(exposed=_exposed(parts.tunnel, settings), public_url=public_url)
            )
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
    conversations = ConversationMap(db)
    await conversations.setup()
    files = FileStore(db, settings.files_dir, settings.file_max_bytes)
    await files.setup()
    inputs = file_inputs(settings, files)
    responses = ResponsesService(
        bridge=bridge,
        conversations=conversations,
        models=models,
        store=ResponseStore(db),
        tool_repair=settings.tool_repair,
        inputs=inputs,
    )
    await responses.setup()
    asker = LineAsker(
        bridge, models, conversations, responses, inputs, tool_repair=settings.tool_repair
    )
    batches = _batches(settings, db, files, bridge, asker)
    await batches.start()
    stack.push_async_callback(batches.stop)
    slack = await _start_slack(settings, stack, bridge, db, batches)
    tunnel, tunnel_error = await _open_tunnel(settings, stack)
    exposed = _exposed(tunnel, settings)
    api_key = await asyncio.to_thread(resolve_api_key, settings, exposed=exposed)
    return Services(
        settings=settings,
        db=db,
        bridge=bridge,
        models=models,
        conversations=conversations,
        files=files,
        inputs=inputs,
        batches=batches,
        responses=responses,
        slack=slack,
        tunnel=tunnel,
        tunnel_error=tunnel_error,
        api_key=api_key,
    )


def _batches(
    settings: Settings, db: Database, files: FileStore, bridge: Bridge, asker: LineAsker
) -> BatchService:
    secret = settings.batch_webhook_secret
    webhook = (
        Webhook(settings.batch_webhook_url, secret.get_secret_value() if secret else None)
        if settings.batch_webhook_url
        else None
    )
    store = BatchStore(db)
    runner = BatchRunner(
        store=store,
        files=files,
        asker=asker,
        bridge=bridge,
        webhook=webhook,
    )
    return BatchService(store, files, runner)


def _exposed(tunnel: Tunnel | None, settings: Settings) -> bool:
    """Reachable beyond this machine: a tunnel is open or the bind is not loopback."""
    return tunnel is not None or not is_loopback(settings.host)


async def _start_slack(
    settings: Settings, stack: AsyncExitStack, bridge: Bridge, db: Database, batches: BatchService
) -> SlackService | None:
    if settings.slack_bot_token is None:
        return None
    service = SlackService(
        settings, bridge, db, batches=batches, examine=_layout_check(bridge, settings)
    )
    await service.start()
    stack.push_async_callback(service.stop)
    return service


LAYOUT_CHECKS = frozenset({"renderer", "composer", "send", "picker"})
"""The doctor's steps that name what the page matched (the rest say how it went today)."""


def _layout_check(bridge: Bridge, settings: Settings) -> Examine | None:
    """The scheduled doctor's page checks, in a tab of the running browser bridge."""
    if not isinstance(bridge, BrowserBridge):
        return None

    async def examine() -> dict[str, str]:
        report = await doctor.examine(bridge, settings)
        return {
            check.name: check.detail if check.ok else f"FAILED: {check.detail}"
            for check in report.checks
            if check.name in LAYOUT_CHECKS
        }

    return examine


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
    mcp = McpEndpoint(build_server(lambda: app_services(app)))
    app = FastAPI(
        title="chatgpt-bridge",
        lifespan=_lifespan(settings or Settings(), make_bridge, mcp),
        docs_url=None,
        redoc_url=None,
    )
    app.add_route("/slack/events", _slack_events, methods=["POST"], include_in_schema=False)
    app.include_router(health_router)
    app.include_router(api_router)
    app.add_route(MCP_PATH, mcp, include_in_schema=False)
    return app
