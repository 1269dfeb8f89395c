"""What state the bridge is in: `GET /health`, `chatgpt-bridge status` and the startup summary.

All three read the same report, so what a person sees at startup is what a monitor sees
later. Callers without the API key (when one is required) get the report without anything
private: no account name, no bot id.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Literal, TypedDict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.security import request_is_authorized
from app.services import Services, services
from browser import Bridge
from browser.contract import BrowserInfo
from browser.errors import BridgeError

logger = logging.getLogger(__name__)
WHOAMI_TIMEOUT = 3.0  # seconds; a tab may free up, but /health must stay quick
router = APIRouter()

BrowserHealth = dict[str, str | int | bool | list[str] | None]
"""`state`, `display`, `attached`, `warnings`, the bridge's `stats()` counters and, in a
detailed report, `user`, `login_expires`, `workspace` and `workspace_problem`."""
EXPIRY_WARNING = timedelta(days=1)
"""A login that ends sooner than this is warned about, so it can be renewed in time."""
SlackHealth = dict[str, object]
"""`mode` (None when Slack is off) and what `SlackService.health()` tells."""
BatchHealth = dict[str, object]
"""`active` batches and their `lines_waiting`; a detailed report lists each (`batches`)."""


class TunnelHealth(TypedDict):
    public_url: str | None
    error: str | None


class ApiHealth(TypedDict):
    key_required: bool


class QuotaHealth(TypedDict):
    """One `limits_progress` row of the latest answer: what the account may still ask."""

    feature: str
    remaining: int | None
    reset_after: str | None


class HealthReport(TypedDict):
    status: Literal["ok", "degraded"]
    browser: BrowserHealth
    slack: SlackHealth
    tunnel: TunnelHealth
    api: ApiHealth
    batches: BatchHealth
    quotas: list[QuotaHealth]
    """The account's remaining quotas (detailed reports only: they are the account's)."""


async def collect_health(parts: Services, *, detailed: bool) -> HealthReport:
    """Build the report from the app's services (bridge, slack, tunnel, api_key)."""
    bridge = parts.bridge
    browser_state = str((await bridge.state()).value)
    info = bridge.browser_info()
    browser: BrowserHealth = {
        "state": browser_state,
        "display": info.display,
        "attached": info.attached,
        "warnings": _warnings(info),
        **bridge.stats(),
    }
    if detailed:
        browser["login_expires"] = info.login_expires.isoformat() if info.login_expires else None
        browser["workspace"] = info.workspace  # the workspace's name is the account's
        browser["workspace_problem"] = info.workspace_problem
        if browser_state == "ready":
            browser["user"] = await _whoami(bridge)
    return {
        "status": "ok" if browser_state == "ready" else "degraded",
        "browser": browser,
        "slack": _slack_health(parts, detailed=detailed),
        "tunnel": {
            "public_url": parts.tunnel.public_url if parts.tunnel else None,
            "error": parts.tunnel_error,
        },
        "api": {"key_required": parts.api_key is not None},
        "batches": await parts.batches.health(detailed=detailed),
        "quotas": [
            {"feature": q.feature, "remaining": q.remaining, "reset_after": q.reset_after}
            for q in (bridge.quotas() if detailed else [])
        ],
    }


def _warnings(info: BrowserInfo) -> list[str]:
    warnings = [info.warning] if info.warning else []
    expires = info.login_expires
    if expires is not None and expires - datetime.now(timezone.utc) < EXPIRY_WARNING:
        warnings.append(
            f"the ChatGPT login ends {expires:%Y-%m-%d %H:%M} UTC: run `chatgpt-bridge login` "
            "before then"
        )
    return warnings


async def _whoami(bridge: Bridge) -> str | None:
    # Reading the account needs a free tab; a busy bridge is healthy, just not chatty.
    try:
        return await asyncio.wait_for(bridge.whoami(), WHOAMI_TIMEOUT)
    except (BridgeError, asyncio.TimeoutError) as error:
        logger.debug("no account name for the health report: %s", error)
        return None


def _slack_health(parts: Services, *, detailed: bool) -> SlackHealth:
    if parts.slack is None:
        return {"mode": None}
    health: SlackHealth = dict(parts.slack.health())
    if not detailed:
        health.pop("bot_user_id", None)
    return health


@router.get("/health", include_in_schema=False)
async def health(request: Request) -> JSONResponse:
    report = await collect_health(services(request), detailed=request_is_authorized(request))
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


def render_summary(report: HealthReport, *, base_url: str, api_key: str | None) -> str:
    """The short text `chatgpt-bridge serve` prints once everything has started."""
    settings_hint = "see `chatgpt-bridge --help` and the README's Configuration section"
    lines = ["chatgpt-bridge is running", ""]
    lines.append(f"  Browser  {_browser_line(report['browser'])}")
    warnings = report["browser"].get("warnings")
    for warning in warnings if isinstance(warnings, list) else []:
        lines.append(f"           warning: {warning}")
    key_note = f"key {api_key}" if api_key else "no key needed: local only"
    lines.append(f"  API      {base_url}/v1   ({key_note})")
    lines.append(f"  MCP      {base_url}/mcp  (stdio agents: `chatgpt-bridge mcp`)")
    lines.append(f"  Slack    {_slack_line(report['slack'], report['tunnel'])}")
    lines.append(f"  Tunnel   {_tunnel_line(report['tunnel'])}")
    lines += ["", f"  Ctrl-C stops the bridge; {settings_hint}."]
    return "\n".join(lines)


def _browser_line(browser: BrowserHealth) -> str:
    state = str(browser["state"])
    if state == "ready":
        who = browser.get("user") or "an unknown user"
        tabs = browser.get("tabs_total", 0)
        where = f" in the workspace {browser['workspace']}" if browser.get("workspace") else ""
        return f"ready, logged in as {who}{where}; {tabs} tab(s) open, {browser.get('display')}"
    if state == "wrong_workspace":
        return str(browser.get("workspace_problem") or "CHATGPT_WORKSPACE names no workspace")
    return {
        "login_required": "logged out: run `chatgpt-bridge login` and log in in the window "
        "that opens (once; the profile keeps it)",
        "challenge": "ChatGPT shows a human-verification check: complete the check in the "
        "browser window (on a server: `chatgpt-bridge view`)",
        "rate_limited": "ChatGPT is rate-limiting this account: answers resume when it lifts",
        "down": "the browser is not running: check BROWSER_EXECUTABLE and the log above",
    }.get(state, state)


def _slack_line(slack: SlackHealth, tunnel: TunnelHealth) -> str:
    mode = slack.get("mode")
    if mode is None:
        return "not configured (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)"
    if mode == "socket":
        state = "connected" if slack.get("connected") else "connecting"
        return f"Socket Mode, {state}"
    if url := tunnel["public_url"]:
        return f"HTTP events; Request URL to paste in Slack: {url}/slack/events"
    return "HTTP events at /slack/events, but no public URL: set NGROK_AUTHTOKEN or use Socket Mode"


def _tunnel_line(tunnel: TunnelHealth) -> str:
    if url := tunnel["public_url"]:
        return url
    if error := tunnel["error"]:
        return f"failed: {error} (serving locally only)"
    return "off (set NGROK_AUTHTOKEN to publish the bridge for Slack)"
