"""Who may call `/v1/*`: the API key rules.

A pyngrok tunnel makes the whole port public, and its requests arrive from loopback, so the
peer address proves nothing. The rule is therefore about exposure, not about the caller:
whenever a tunnel is open or the server binds beyond loopback, `/v1/*` demands a key. If the
person configured none, one is generated once, stored privately in the data directory and
printed at startup, so exposure is never open by accident and the key survives restarts.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

from fastapi import Request

from app.config import Settings
from app.services import services
from browser.private import write_private

KEY_FILE_NAME = "api-key"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def generated_key_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def resolve_api_key(settings: Settings, *, exposed: bool) -> str | None:
    """The key `/v1/*` requires, or None when the API is local-only and no key is set.

    Blocking file I/O: call it through `asyncio.to_thread` from async code.
    """
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    path = generated_key_path(settings)
    if path.exists():
        return path.read_text().strip() or None
    if not exposed:
        return None
    key = "cgb-" + secrets.token_urlsafe(32)
    write_private(path, key + "\n", exclusive=True)
    return key


def request_is_authorized(request: Request) -> bool:
    """True when no key is required or the request carries it as a Bearer token."""
    expected = services(request).api_key
    if expected is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(given.strip().encode(), expected.encode())
