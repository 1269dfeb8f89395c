"""`chatgpt-bridge status`: ask a running bridge for its health report.

Kept apart from `serve` so that asking is cheap: no browser, no FastAPI app is imported.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.config import Settings
from app.security import generated_key_path, is_loopback


def local_base_url(settings: Settings) -> str:
    host = settings.host if is_loopback(settings.host) else "127.0.0.1"
    return f"http://{host}:{settings.port}"


def fetch_status(settings: Settings, timeout: float = 5.0) -> tuple[int, dict[str, Any] | str]:
    """Ask a running bridge for its health: (exit status, report or error text).

    Exit status: 0 ready, 1 running but not ready (the report says why), 2 not reachable.
    """
    headers = {}
    key = client_key(settings)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    url = f"{local_base_url(settings)}/health"
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        return 2, f"no bridge answers at {url} ({error}). Start it with `chatgpt-bridge serve`."
    report = response.json()
    return (0 if report.get("status") == "ok" else 1), report


def client_key(settings: Settings) -> str | None:
    """The key a local client of the bridge sends: BRIDGE_API_KEY, else the generated one.

    Blocking (a tiny file read)."""
    if settings.api_key:
        return settings.api_key.get_secret_value()
    path = generated_key_path(settings)
    return path.read_text().strip() if path.exists() else None


def describe_status(report: dict[str, Any]) -> str:
    browser = report["browser"]
    lines = [
        f"status   {report['status']}",
        f"browser  {browser['state']}"
        + (f" as {browser['user']}" if browser.get("user") else "")
        + f"; tabs {browser.get('tabs_busy', 0)}/{browser.get('tabs_total', 0)} busy;"
        f" queue {browser.get('queue_length', 0)}",
        f"slack    {report['slack'].get('mode') or 'not configured'}"
        + (
            f" ({'connected' if report['slack'].get('connected') else 'not connected'})"
            if report["slack"].get("mode")
            else ""
        ),
        f"tunnel   {report['tunnel'].get('public_url') or report['tunnel'].get('error') or 'off'}",
    ]
    if browser.get("display"):
        attached = " (never closed by the bridge)" if browser.get("attached") else ""
        lines.insert(2, f"display  {browser['display']}{attached}")
    if browser.get("login_expires"):
        lines.insert(3, f"login    until {browser['login_expires']}")
    if browser.get("workspace") or browser.get("workspace_problem"):
        where = browser.get("workspace") or f"none: {browser['workspace_problem']}"
        lines.insert(2, f"workspace {where}")
    batches = report.get("batches") or {}
    if batches.get("active"):
        lines.append(f"batches  {_batches(batches)}")
    lines += [f"warning  {warning}" for warning in browser.get("warnings") or []]
    quotas = report.get("quotas") or []
    if quotas:
        lines.append("quotas   " + "; ".join(_quota(q) for q in quotas))
    return "\n".join(lines)


def _batches(batches: dict[str, Any]) -> str:
    each = [
        f"{b['id']} {b['completed'] + b['failed']}/{b['total']} done"
        + (f" ({b['failed']} failed)" if b["failed"] else "")
        + ("" if b["status"] == "in_progress" else f", {b['status']}")
        for b in batches.get("batches") or []
    ]
    summary = f"{batches['active']} running, {batches.get('lines_waiting', 0)} request(s) waiting"
    return "; ".join([summary, *each])


def _quota(quota: dict[str, Any]) -> str:
    remaining = "?" if quota.get("remaining") is None else quota["remaining"]
    reset = f" (resets {quota['reset_after']})" if quota.get("reset_after") else ""
    return f"{quota.get('feature')} {remaining} left{reset}"
