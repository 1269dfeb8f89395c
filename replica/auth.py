"""Login state: an HttpOnly session cookie and the Bearer access token derived from it.

The cookie carries the user itself (signed), so a persistent browser profile stays logged
in across replica restarts, the way a real profile stays logged in to chatgpt.com.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

SESSION_COOKIE = "next-auth.session-token"  # no __Secure- prefix: served over http
SESSION_MAX_AGE = 30 * 24 * 3600
_SECRET = b"chatgpt-bridge-replica"  # stable so cookies survive restarts; nothing to protect

AUTO_USER = {"name": "Replica User", "email": "user@replica.local"}


@dataclass(frozen=True)
class User:
    name: str
    email: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email}


def _sign(payload: str) -> str:
    return hmac.new(_SECRET, payload.encode(), hashlib.sha256).hexdigest()[:32]


def _pack(kind: str, user: User) -> str:
    body = base64.urlsafe_b64encode(json.dumps([kind, user.name, user.email]).encode()).decode()
    return f"{body}.{_sign(body)}"


def _unpack(kind: str, value: str | None) -> User | None:
    if not value or "." not in value:
        return None
    body, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(body)):
        return None
    try:
        found_kind, name, email = json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, TypeError):
        return None
    return User(name, email) if found_kind == kind else None


def session_cookie(user: User) -> str:
    return _pack("session", user)


def user_from_cookie(value: str | None) -> User | None:
    return _unpack("session", value)


def access_token(user: User) -> str:
    return "rpl." + _pack("access", user)


def user_from_authorization(header: str | None) -> User | None:
    """The user a `Bearer <accessToken>` header belongs to, or None when it is not valid."""
    if not header or not header.startswith("Bearer rpl."):
        return None
    return _unpack("access", header.removeprefix("Bearer rpl."))


def session_payload(user: User, deadline: float | None = None) -> dict[str, Any]:
    """The body of `/api/auth/session` for a logged-in visitor (`deadline`: epoch seconds)."""
    expires = (
        datetime.fromtimestamp(deadline, timezone.utc)
        if deadline is not None
        else datetime.now(timezone.utc) + timedelta(seconds=SESSION_MAX_AGE)
    )
    return {
        "user": {"id": "user-" + _sign(user.email)[:12], **user.as_dict(), "image": None},
        "expires": expires.isoformat().replace("+00:00", "Z"),
        "accessToken": access_token(user),
        "authProvider": "replica",
        "issued": int(time.time()),
    }
