"""`/mcp`: the MCP server over streamable HTTP, on the bridge's own port.

Two checks come before the SDK sees a request:
- the `Origin` check the MCP specification asks of every HTTP server ("Servers MUST validate
  the Origin header on all incoming connections to prevent DNS rebinding attacks. If the
  Origin header is present and invalid, servers MUST respond with HTTP 403 Forbidden",
  Transports 2.0.1, Security Warning, 2025-11-25): an agent sends none; a web page may only
  reach `/mcp` from a loopback origin or from the bridge's own public URL;
- the API-key rule of `/v1` (`app.security`): whenever the bridge is exposed (a tunnel, a
  bind beyond loopback), `Authorization: Bearer <key>`.

On a local-only bridge the SDK's DNS-rebinding protection also checks `Host` (loopback
names only); an exposed bridge is reached under other names, and the key guards it there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.security import is_loopback, request_is_authorized

PATH = "/mcp"
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


class McpEndpoint:
    """The ASGI app mounted at `/mcp`; `serving(...)` runs it for the app's lifespan."""

    def __init__(self, server: MCPServer) -> None:
        self._server = server
        self._manager: StreamableHTTPSessionManager | None = None
        self._public_origin: str | None = None

    @asynccontextmanager
    async def serving(self, *, exposed: bool, public_url: str | None) -> AsyncIterator[None]:
        """Accept MCP sessions until the block ends (then they are closed)."""
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=not exposed,
            allowed_hosts=LOOPBACK_HOSTS,
            allowed_origins=LOOPBACK_ORIGINS,
        )
        # The SDK builds its session manager here; the Starlette app it returns is not used:
        # the bridge's FastAPI app routes `/mcp` to this object instead.
        self._server.streamable_http_app(transport_security=security)
        self._public_origin = _origin(public_url) if public_url else None
        async with self._server.session_manager.run():
            self._manager = self._server.session_manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        origin = request.headers.get("origin")
        if origin is not None and not self._origin_allowed(origin):
            response = _refusal(403, f"Origin {origin} may not use this MCP server.")
        elif not request_is_authorized(request):
            response = _refusal(
                401,
                "Incorrect or missing API key. Send the bridge's key as `Authorization: Bearer "
                "<key>` (BRIDGE_API_KEY, or the key `chatgpt-bridge serve` printed at startup).",
            )
        elif self._manager is None:
            response = _refusal(503, "The bridge is starting or stopping; try again shortly.")
        else:
            await self._manager.handle_request(scope, receive, send)
            return
        await response(scope, receive, send)

    def _origin_allowed(self, origin: str) -> bool:
        parts = urlsplit(origin)
        if parts.scheme in ("http", "https") and parts.hostname and is_loopback(parts.hostname):
            return True
        return self._public_origin is not None and _origin(origin) == self._public_origin


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _refusal(status: int, message: str) -> JSONResponse:
    """A JSON-RPC error body, as MCP clients expect from a refused HTTP request."""
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)
