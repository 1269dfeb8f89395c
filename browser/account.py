"""What chatgpt.com's own `/api/auth/session` says about the login, in words a person acts on.

The page fetches `/api/auth/session` (NextAuth) whenever it starts; logged in, it answers
`{user: {email, name, ...}, accessToken, expires, ...}`. Peers treat an empty `accessToken`,
no `user`, an `error` (e.g. `RefreshAccessTokenError`) or an `expires` in the past as a
logout (Octo-Lex/ChatGPT-Web2API, miuuyy/codex-chatgpt-web; see
shared/research/browser-acceptance.md). Pure: the caller fetches, this module judges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class Account:
    """The session as the page sees it. `problem` is None exactly when it is usable."""

    who: str | None
    expires: datetime | None
    problem: str | None

    @property
    def logged_in(self) -> bool:
        return self.problem is None


def read_account(session: Any, now: datetime | None = None) -> Account:
    """Judge one `/api/auth/session` body (`{}` or None when the fetch failed)."""
    now = now or datetime.now(timezone.utc)
    body = session if isinstance(session, dict) else {}
    user = body.get("user") if isinstance(body.get("user"), dict) else None
    who = (user.get("email") or user.get("name")) if user else None
    expires = _parse_time(body.get("expires"))
    return Account(who=who, expires=expires, problem=_problem(body, user, expires, now))


def _problem(
    body: dict[str, Any], user: dict[str, Any] | None, expires: datetime | None, now: datetime
) -> str | None:
    if body.get("error"):
        return f"the session reports an error ({str(body['error'])[:60]}): it needs a new login"
    if user is None:
        return "ChatGPT knows no user in this profile: nobody is logged in"
    if not body.get("accessToken"):
        return "the session has a user but no access token: the login did not finish"
    if expires is not None and expires <= now:
        return f"the session expired at {expires:%Y-%m-%d %H:%M} UTC"
    return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
