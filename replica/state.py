"""The state of one replica and the one dependency every `/backend-api/` route uses.

`guard` is the replica's single access check: a Cloudflare challenge first (the `challenge`
knob, whose challenge every request of the visitor meets, and `cf_challenge_next`: an in-page
fetch may meet 403 `cf-mitigated: challenge` even when logged in), then the Bearer token, or
no token on `/backend-anon/` when anonymous chat is on. Routes declare `Depends(guard)` and
never check a header themselves.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Request

from replica import auth
from replica.errors import FAILURES, ChallengeError, ReplicaError
from replica.generation import Generation
from replica.options import PAGE_KNOBS, ReplicaOptions
from replica.store import Store
from replica.topic import Topic


def page_knobs(options: ReplicaOptions) -> dict[str, Any]:
    """The knobs the page's own script applies (rendering quirks, not server faults)."""
    return {name: getattr(options, name) for name in PAGE_KNOBS}


class Replica:
    """State of one replica: its knobs, its store and the turns being generated."""

    def __init__(self, options: ReplicaOptions) -> None:
        self.initial = options.model_copy()
        self.options = options.model_copy()
        self.store = Store()
        self.running: dict[str, Generation] = {}
        self.topics: dict[str, Topic] = {}
        """Handed-off turns by topic id, kept for late subscribers and resumes."""
        self.tells: list[dict[str, Any]] = []
        """The bot check's verdicts (`bot_check` knob), oldest first, for the tests."""

    @property
    def options(self) -> ReplicaOptions:
        return self._options

    @options.setter
    def options(self, options: ReplicaOptions) -> None:
        self._options = options
        self._options_since = time.time()  # a session lifetime counts from its knob

    def session_deadline(self) -> float | None:
        """When every session ends (the `session_lifetime_s` knob), in epoch seconds."""
        lifetime = self.options.session_lifetime_s
        return None if lifetime is None else self._options_since + lifetime

    def _session_over(self) -> bool:
        deadline = self.session_deadline()
        return deadline is not None and time.time() >= deadline

    def reset(self, conversations: bool) -> None:
        self.options = self.initial.model_copy()
        self.tells.clear()
        if conversations:
            self.store.reset()
            self.topics.clear()

    def visitor(self, request: Request) -> auth.User | None:
        if self.options.logged_out or self._session_over():
            return None
        if self.options.auto_login:
            return auth.User(**auth.AUTO_USER)
        return auth.user_from_cookie(request.cookies.get(auth.SESSION_COOKIE))

    def bearer(self, request: Request) -> auth.User | None:
        if self.options.logged_out or self._session_over():
            return None
        return auth.user_from_authorization(request.headers.get("authorization"))

    def take(self, name: str) -> bool:
        """Consume one unit of a `*_next` counter knob; True when this request is hit."""
        count = getattr(self.options, name)
        if count <= 0:
            return False
        setattr(self.options, name, count - 1)
        return True

    def injected_failure(self) -> int | None:
        """The HTTP status this send must fail with, consuming the matching counter."""
        if self.take("rate_limit_next"):
            return 429
        status = self.options.fail_next_status
        if status is None:
            return None
        remaining = max(self.options.fail_next_count, 1) - 1  # a bare status fails once
        self.options.fail_next_count = remaining
        if remaining == 0:
            self.options.fail_next_status = None
        return status

    def generation_of(self, conversation_id: str | None) -> Generation | None:
        return self.running.get(conversation_id or "")


def get_replica(request: Request) -> Replica:
    return request.app.state.replica


ReplicaDep = Annotated[Replica, Depends(get_replica)]


def guard(request: Request, replica: ReplicaDep) -> Replica:
    """May this request use the backend? Raises the challenge or a 401."""
    if replica.options.challenge or replica.take("cf_challenge_next"):
        raise ChallengeError()  # a challenged visitor's fetches are challenged too
    if request.url.path.startswith("/backend-anon/"):
        if replica.options.anonymous_chat and replica.visitor(request) is None:
            return replica
    elif replica.bearer(request) is not None:
        return replica
    raise ReplicaError(401, FAILURES[401])


Guarded = Annotated[Replica, Depends(guard)]
