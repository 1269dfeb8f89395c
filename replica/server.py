"""The replica's HTTP app: its routers, its static files, and the errors they raise.

Everything a driver touches is served the way chatgpt.com serves it (docs/replica.md);
the `/_replica/*` routes exist only for tests and benchmarks and are never called by the
page. Access to `/backend-api/` is decided in one place, `replica.state.guard`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from replica.errors import ChallengeError, ReplicaError, challenge_response, error
from replica.options import ReplicaOptions
from replica.pages import challenge_page
from replica.routes import (
    accounts,
    backend,
    control,
    conversation,
    feedback,
    files,
    gizmos,
    site,
    topic,
)
from replica.state import Replica

STATIC_DIR = Path(__file__).parent / "static"


def create_replica_app(options: ReplicaOptions | None = None) -> FastAPI:
    """A fresh replica app; `app.state.replica` holds its `Replica` state."""
    app = FastAPI(title="chatgpt.com replica", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.replica = Replica(options or ReplicaOptions())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (site, gizmos, backend, accounts, files, conversation, feedback, topic, control):
        app.include_router(module.router)

    @app.exception_handler(ReplicaError)
    async def replica_error(request: Request, raised: ReplicaError) -> Response:
        return error(raised.status, raised.detail)

    @app.exception_handler(ChallengeError)
    async def challenged(request: Request, raised: ChallengeError) -> Response:
        return challenge_response(challenge_page())

    return app


__all__ = ["create_replica_app"]
