"""What state the bridge is in: `GET /health`, `chatgpt-bridge status` and the startup summary.

All three read the same report, so what a person sees at startup is what a monitor sees
later. Callers without the API key (when one is required) get the report without anything
private: no account name, no bot id.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.security import request_is_authorized
from browser.errors import BridgeError

logger = logging.getLogger(__name__)
WHOAMI_TIMEOUT = 3.0  # seconds; a tab may free up, but /health must stay quick
router = APIRouter()


async def collect_health(state: Any, *, detailed: bool) -> dict[str, Any]:
    """Build the report from `app.state` (settings, bridge, slack, tunnel, api_key)."""
    bridge = state.bridge
    browser_state = str((await bridge.state()).value)
    report: dict[str, Any] = {
        "status": "ok" if browser_state == "ready" else "degraded",
        "browser": {"state": browser_state, **bridge.stats()},
        "slack": _slack_health(state, detailed=detailed),
        "tunnel": {
            "public_url": state.tunnel.public_url if state.tunnel else None,
            "error": state.tunnel_error,
        },
        "api": {"key_required": state.api_key is not None},
    }
    if detailed and browser_state == "ready":
        report["browser"]["user"] = await _whoami(bridge)
    return report


async def _whoami(bridge: Any) -> str | None:
    # Reading the account needs a free tab; a busy bridge is healthy, just not chatty.
    try:
        return await asyncio.wait_for(bridge.whoami(), WHOAMI_TIMEOUT)
    except (BridgeError, asyncio.TimeoutError) as error:
        logger.debug("no account name for the health report: %s", error)
        return None


def _slack_health(state: Any, *, detailed: bool) -> dict[str, Any]:
    slack = getattr(state, "slack", None)
    if slack is None:
        return {"mode": None}
    health = dict(slack.health())
    if not detailed:
        health.pop("bot_user_id", None)
    return health


@router.get("/health", include_in_schema=False)
async def health(request: Request) -> JSONResponse:
    report = await collect_health(request.app.state, detailed=request_is_authorized(request))
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


def render_summary(report: dict[str, Any], *, base_url: str, api_key: str | None) -> str:
    """The short text `chatgpt-bridge serve` prints once everything has started."""
    settings_hint = "see `chatgpt-bridge --help` and the README's Configuration section"
    lines = ["chatgpt-bridge is running", ""]
    lines.append(f"  Browser  {_browser_line(report['browser'])}")
    key_note = f"key {api_key}" if api_key else "no key needed: local only"
    lines.append(f"  API      {base_url}/v1   ({key_note})")
    lines.append(f"  Slack    {_slack_line(report['slack'], report['tunnel'])}")
    lines.append(f"  Tunnel   {_tunnel_line(report['tunnel'])}")
    lines += ["", f"  Ctrl-C stops the bridge; {settings_hint}."]
    return "\n".join(lines)


def _browser_line(browser: dict[str, Any]) -> str:
    state = browser["state"]
    if state == "ready":
        who = browser.get("user") or "an unknown user"
        return f"ready, logged in as {who}; {browser.get('tabs_total', 0)} tab(s) open"
    return {
        "login_required": "logged out: run `chatgpt-bridge login` and log in in the window "
        "that opens (once; the profile keeps it)",
        "challenge": "ChatGPT shows a human-verification check: run `chatgpt-bridge login` "
        "and complete the check",
        "rate_limited": "ChatGPT is rate-limiting this account: answers resume when it lifts",
        "down": "the browser is not running: check BROWSER_EXECUTABLE and the log above",
    }.get(state, state)


def _slack_line(slack: dict[str, Any], tunnel: dict[str, Any]) -> str:
    mode = slack.get("mode")
    if mode is None:
        return "not configured (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)"
    if mode == "socket":
        state = "connected" if slack.get("connected") else "connecting"
        return f"Socket Mode, {state}"
    if tunnel.get("public_url"):
        return f"HTTP events; Request URL to paste in Slack: {tunnel['public_url']}/slack/events"
    return "HTTP events at /slack/events, but no public URL: set NGROK_AUTHTOKEN or use Socket Mode"


def _tunnel_line(tunnel: dict[str, Any]) -> str:
    if tunnel.get("public_url"):
        return tunnel["public_url"]
    if tunnel.get("error"):
        return f"failed: {tunnel['error']} (serving locally only)"
    return "off (set NGROK_AUTHTOKEN to publish the bridge for Slack)"
