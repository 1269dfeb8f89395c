"""`chatgpt-bridge mcp`: the MCP server an agent's config launches, over stdio.

It opens no browser: it connects, as an MCP client of the official SDK, to a running
bridge's `/mcp` (found or started by `launch.py`, with the bridge's key), and serves the
same tools over stdio by forwarding each list and call, progress notifications included.
When the agent cancels a call, the forwarded call is cancelled too, and the bridge presses
Stop. stdout carries MCP messages only: the SDK's stdio transport owns it, and everything
else (the launch notes, logs) goes to stderr.
"""

from __future__ import annotations

import logging
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
)

from app.config import Settings
from app.mcp.http import PATH
from app.mcp.launch import Announce, LaunchError, shared_bridge
from app.status import client_key

logger = logging.getLogger(__name__)


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def serve_stdio(settings: Settings, *, announce: Announce = _to_stderr) -> int:
    """Serve MCP on stdin/stdout until the agent closes them. Returns the exit status."""
    try:
        url = await shared_bridge(settings, announce)
    except LaunchError as error:
        announce(f"chatgpt-bridge mcp: {error}")
        return 1
    key = client_key(settings)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    # No read timeout: a thinking answer may take many minutes (the agent's own tool timeout
    # decides); progress notifications keep the stream busy meanwhile.
    timeout = httpx2.Timeout(30.0, read=None)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        Client(streamable_http_client(url + PATH, http_client=http)) as remote,
        stdio_server() as (read, write),
    ):
        server = forwarding_server(remote, url)
        await server.run(read, write, server.create_initialization_options())
    return 0


def forwarding_server(remote: Client, url: str) -> Server:
    """A server whose tools are the remote bridge's: every list and call is passed on."""

    async def list_tools(
        ctx: ServerRequestContext, params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return await remote.list_tools()

    async def call_tool(ctx: ServerRequestContext, params: CallToolRequestParams) -> CallToolResult:
        async def progress(done: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(done, total, message)

        try:
            return await remote.call_tool(params.name, params.arguments, progress_callback=progress)
        except Exception as error:  # the bridge went away, or answered nonsense
            logger.warning("forwarding %s to %s failed: %r", params.name, url, error)
            text = (
                f"The bridge at {url} did not answer the call ({type(error).__name__}). If it "
                "stopped, restart the agent's MCP server (it starts a bridge again); the "
                "prompt may have reached ChatGPT, so it was not sent again."
            )
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)

    return Server(
        "chatgpt-bridge",
        instructions=remote.instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
