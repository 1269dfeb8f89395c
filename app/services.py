"""What the running app is made of, built once by the lifespan (`app/main.py`) as typed state.

Routes, `/health` and the startup summary read the parts through `services(request)` or
`app_services(app)` rather than through loose `app.state` attributes, so a missing or
misspelt part is a type error, and nothing is built lazily inside a request: the model
catalog, the conversation map and its table exist before the first request is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request

if TYPE_CHECKING:  # the parts import the routes' package; at runtime only the names matter
    from app.api.conversations import ConversationMap
    from app.api.inputs import FileInputs
    from app.api.models import ModelCatalog
    from app.api.responses_api import ResponsesService
    from app.batches.service import BatchService
    from app.config import Settings
    from app.db import Database
    from app.files import FileStore
    from app.tunnel import Tunnel
    from browser import Bridge
    from slackbot import SlackService


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    bridge: Bridge
    models: ModelCatalog
    conversations: ConversationMap
    files: FileStore
    """`/v1/files`: uploads, batch output, drawn images."""
    inputs: FileInputs
    """Reads the files a request attaches (data, `/v1/files` ids, URLs when allowed)."""
    batches: BatchService
    responses: ResponsesService
    slack: SlackService | None
    """None when Slack is not configured."""
    tunnel: Tunnel | None
    tunnel_error: str | None
    """Why there is no tunnel although one was asked for (NGROK_AUTHTOKEN set)."""
    api_key: str | None
    """The key `/v1/*` demands; None when the API is local-only and no key is configured."""


def app_services(app: FastAPI) -> Services:
    """The parts of a started app (the lifespan has run)."""
    services: Services = app.state.services
    return services


def services(request: Request) -> Services:
    return app_services(request.app)
