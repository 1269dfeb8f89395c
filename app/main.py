"""The composition root: `create_app()` wires settings, database, browser, API and Slack.

The lifespan starts the parts in dependency order and stops them in reverse, so a failing
start leaves nothing half-running and Ctrl-C never leaves the Chrome profile open.
State the routes need is put on `app.state`: `settings`, `db`, `bridge`, and `api_key` (the
key `/v1/*` demands, or None when the API is local-only and no key is configured).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from app.config import Settings
from app.db import open_database
from browser import Bridge

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with AsyncExitStack() as stack:
        app.state.db = await stack.enter_async_context(open_database(settings.database_path))
        bridge = Bridge(settings)
        await bridge.start()
        stack.push_async_callback(bridge.stop)
        app.state.bridge = bridge
        app.state.api_key = settings.api_key.get_secret_value() if settings.api_key else None
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="chatgpt-bridge", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings or Settings()
    return app
