"""ChatGPT as a tool for coding agents: the bridge's MCP server (docs/mcp.md).

Built on the official `mcp` SDK: `tools.py` defines the tools on an `MCPServer`, `http.py`
serves it at `/mcp` inside the bridge (streamable HTTP), and `stdio.py` is what an agent's
config launches (`chatgpt-bridge mcp`): a stdio server that forwards every call to a running
bridge's `/mcp`, started in the background by `launch.py` when none is up. So there is one
browser per profile however many agents ask, and every tool runs in one place.
"""
