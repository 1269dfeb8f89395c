"""The workspaces one login may offer (a personal plan and a Team), and which one a request uses.

chatgpt.com keeps the chosen workspace in the `_account` cookie, and the page sends its id
as the `ChatGPT-Account-Id` header of its backend fetches; `/api/auth/session` answers with
that workspace as `account` and `/backend-api/accounts/check/v4-2023-04-27` lists them all,
keyed by id, with `account_ordering` (docs/replica.md, "Workspaces"). The `workspaces` knob
gives the replica's user a Team beside the personal plan; without it there is only the
personal one, as for most people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

ACCOUNT_COOKIE = "_account"
ACCOUNT_HEADER = "chatgpt-account-id"


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str | None
    """None for the personal workspace, as the real check endpoint has it."""
    structure: str
    plan_type: str

    def check_entry(self) -> dict[str, Any]:
        """One `accounts` entry of the check endpoint (the fields the replica models)."""
        account = {
            "account_id": self.id,
            "name": self.name,
            "structure": self.structure,
            "plan_type": self.plan_type,
            "is_deactivated": False,
        }
        return {"account": account, "features": []}

    def session_entry(self) -> dict[str, str]:
        """The session's `account`, as the page's bootstrap session carries it."""
        return {"id": self.id, "planType": self.plan_type, "structure": self.structure}


PERSONAL = Workspace("6f0e1c3a-5b1d-4c59-9a54-0d6b3f2a7e11", None, "personal", "plus")
TEAM = Workspace("c2d4e6f8-1a3b-4d5f-8e9a-7b6c5d4e3f21", "Replica Team", "workspace", "team")


def workspaces(two: bool) -> tuple[Workspace, ...]:
    """The login's workspaces in `account_ordering` order; the first is the default."""
    return (PERSONAL, TEAM) if two else (PERSONAL,)


def current(request: Request, two: bool) -> Workspace:
    """The workspace a request runs in: its header, else the `_account` cookie, else the first.

    An id the login does not have is ignored, as if it were not sent (no evidence of what
    chatgpt.com answers then).
    """
    offered = {workspace.id: workspace for workspace in workspaces(two)}
    for chosen in (request.headers.get(ACCOUNT_HEADER), request.cookies.get(ACCOUNT_COOKIE)):
        if chosen in offered:
            return offered[chosen]
    return workspaces(two)[0]


def check_payload(two: bool) -> dict[str, Any]:
    """`/backend-api/accounts/check/v4-2023-04-27`: every workspace, keyed by id."""
    listed = workspaces(two)
    accounts = {workspace.id: workspace.check_entry() for workspace in listed}
    accounts["default"] = listed[0].check_entry()
    return {"accounts": accounts, "account_ordering": [workspace.id for workspace in listed]}
