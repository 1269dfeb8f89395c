"""`chatgpt-bridge mcp`: the MCP server an agent's config launches, over stdio.

It opens no browser: it connects, as an MCP client of the official SDK, to a running
bridge's `/mcp` (found or started by `launch.py`, with the bridge's key), and serves the
same tools over stdio by forwarding each list and call, progress notifications included,
and the bridge's question for the agent's roots (a file given by path) back to the agent.
When the agent cancels a call, the forwarded call is cancelled too, and the bridge presses
Stop. stdout carries MCP messages only: the SDK's stdio transport owns it, and everything
else (the launch notes, logs) goes to stderr.
"""

from __future__ import annotations

import logging
import sys

import httpx2
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.session import ServerSession
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    InputRequiredResult,
    ListRootsResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

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
    forwarder = Forwarder(url)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        Client(
            streamable_http_client(url + PATH, http_client=http),
            list_roots_callback=forwarder.agent_roots,
        ) as remote,
        stdio_server() as (read, write),
    ):
        server = forwarder.server(remote)
        await server.run(read, write, server.create_initialization_options())
    return 0


class Forwarder:
    """Passes the agent's tool lists and calls on to the bridge, and the bridge's questions
    for the agent's roots (to read a file by path) back to the agent."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._agent: ServerSession | None = None

    def server(self, remote: Client) -> Server:
        """The stdio server whose tools are the remote bridge's."""

        async def list_tools(
            ctx: ServerRequestContext, params: PaginatedRequestParams | None
        ) -> ListToolsResult:
            return await remote.list_tools()

        async def call_tool(
            ctx: ServerRequestContext, params: CallToolRequestParams
        ) -> CallToolResult | InputRequiredResult:
            self._agent = ctx.session

            async def progress(done: float, total: float | None, message: str | None) -> None:
                await ctx.session.report_progress(done, total, message)

            try:
                if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
                    # The agent answers the bridge's questions itself, in a retry: pass them
                    # on (the bridge's sealed request state makes the round trip).
                    return await remote.session.call_tool(
                        params.name,
                        params.arguments,
                        progress_callback=progress,
                        input_responses=params.input_responses,
                        request_state=params.request_state,
                        allow_input_required=True,
                    )
                # A handshake-era agent is asked mid-call, by `agent_roots`.
                return await remote.call_tool(
                    params.name, params.arguments, progress_callback=progress
                )
            except Exception as error:  # the bridge went away, or answered nonsense
                logger.warning("forwarding %s to %s failed: %r", params.name, self._url, error)
                text = (
                    f"The bridge at {self._url} did not answer the call "
                    f"({type(error).__name__}). If it stopped, restart the agent's MCP server "
                    "(it starts a bridge again); the prompt may have reached ChatGPT, so it "
                    "was not sent again."
                )
                return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)

        return Server(
            "chatgpt-bridge",
            instructions=remote.instructions,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
        )

    async def agent_roots(self, context: ClientRequestContext) -> ListRootsResult:
        """The agent's roots; none when it declared none or cannot be asked mid-call."""
        agent = self._agent
        capabilities = agent.client_capabilities if agent else None
        if agent is None or not (capabilities and capabilities.roots):
            return ListRootsResult(roots=[])
        try:
            return await agent.list_roots()
        except MCPError as error:
            logger.info("the agent's roots could not be read: %s", error)
            return ListRootsResult(roots=[])
