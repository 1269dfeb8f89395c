"""Which workspace of the login the bridge asks in: `CHATGPT_WORKSPACE`, chosen in the page.

One login may offer several workspaces (a personal plan and a Team, say), each with its own
history, data rules and plan; an answer from the wrong one is worse than none. The page lists
them from `/backend-api/accounts/check/v4-2023-04-27`, keeps the chosen one's id in the
`_account` cookie, names it as the session's `account` and sends it as `ChatGPT-Account-Id`
(docs/replica.md, "Workspaces"). A person switches in the profile menu, but no saved page
shows that menu's entries, so the bridge switches the way the menu ends: the cookie set to
the chosen id and the page reloaded. It then checks the page's own session, and the backend
requests the page made while loading, before it asks anything there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Request

from browser import selectors
from browser.errors import WorkspaceError
from browser.page import auth_session, fetch_signed_in

COOKIE_LIFETIME = 365 * 24 * 3600
"""Seconds a chosen workspace's cookie lasts in the profile when the page set none before."""


@dataclass(frozen=True)
class Workspace:
    """One workspace as the check endpoint (or, failing it, the session) describes it."""

    id: str
    name: str | None
    """None for the personal workspace: the endpoint gives it no name."""
    structure: str
    """"personal" or "workspace" (a Team, Business or Enterprise one)."""
    plan_type: str | None = None

    @property
    def label(self) -> str:
        return self.name or ("Personal" if self.structure == "personal" else self.id)

    def describe(self) -> str:
        """For `status`, `/health` and errors: its name, kind and plan; never a secret."""
        plan = f", {self.plan_type}" if self.plan_type else ""
        return f"{self.label} ({self.structure}{plan})"

    def matches(self, wanted: str) -> bool:
        """`wanted` is its id or its name (case-insensitive; "personal" for the personal one)."""
        wanted = wanted.strip().casefold()
        return wanted in (self.id.casefold(), self.label.casefold())


def workspaces_from_payload(body: Any) -> list[Workspace]:
    """The active workspaces of a check response, in the page's `account_ordering`."""
    accounts = body.get("accounts") if isinstance(body, dict) else None
    if not isinstance(accounts, dict):
        return []
    found: dict[str, Workspace] = {}
    for entry in accounts.values():  # `default` repeats one of the others
        account = entry.get("account") if isinstance(entry, dict) else None
        if not isinstance(account, dict) or account.get("is_deactivated"):
            continue
        account_id = account.get("account_id")
        if isinstance(account_id, str) and account_id not in found:
            structure = str(account.get("structure") or "personal")
            found[account_id] = Workspace(
                account_id, account.get("name") or None, structure, account.get("plan_type")
            )
    order = [key for key in body.get("account_ordering") or [] if isinstance(key, str)]
    return sorted(found.values(), key=lambda w: order.index(w.id) if w.id in order else len(order))


def session_workspace(session: dict[str, Any]) -> Workspace | None:
    """The workspace the page's session runs in (its `account`), None when it names none."""
    account = session.get("account")
    if not isinstance(account, dict) or not isinstance(account.get("id"), str):
        return None
    structure = str(account.get("structure") or "personal")
    return Workspace(account["id"], None, structure, account.get("planType"))


def pick(offered: list[Workspace], wanted: str) -> Workspace:
    """The workspace `wanted` names, else an error that lists what the login offers."""
    for workspace in offered:
        if workspace.matches(wanted):
            return workspace
    names = "; ".join(f"{w.describe()}, id {w.id}" for w in offered) or "none"
    raise WorkspaceError(
        f"CHATGPT_WORKSPACE={wanted!r} names no workspace of this ChatGPT login. It offers: "
        f"{names}. Set CHATGPT_WORKSPACE to one of these names or ids (or unset it) and "
        "restart the bridge."
    )


async def use_workspace(page: Page, wanted: str | None) -> tuple[Workspace | None, bool]:
    """Make `page` run in the workspace `wanted` names (None: the one it runs in).

    Returns the workspace in use (None when the page names none and none was asked for) and
    whether the page switched (it was reloaded: other tabs show the old workspace).
    """
    status, body = await fetch_signed_in(page, selectors.ACCOUNTS_CHECK_PATH)
    offered = workspaces_from_payload(body) if status == 200 else []
    current = session_workspace(await auth_session(page))
    if wanted is None:
        named = next((w for w in offered if current and w.id == current.id), None)
        return named or current, False
    if not offered:
        raise WorkspaceError(
            f"ChatGPT did not list this login's workspaces (HTTP {status}), so "
            f"CHATGPT_WORKSPACE={wanted!r} cannot be chosen. Restart the bridge to try again, "
            "or unset CHATGPT_WORKSPACE."
        )
    chosen = pick(offered, wanted)
    if current is not None and current.id == chosen.id:
        return chosen, False
    await _switch(page, chosen)
    return chosen, True


async def _switch(page: Page, chosen: Workspace) -> None:
    """Set the page's workspace cookie to `chosen`, reload, and check that the page took it."""
    await page.context.add_cookies([await _cookie(page, chosen.id)])
    carried: list[str] = []

    def note(request: Request) -> None:
        if "/backend-api/" in request.url:
            carried.extend(filter(None, [request.headers.get(selectors.ACCOUNT_HEADER)]))

    await page.reload(wait_until="commit")
    page.on("request", note)  # from here on, every request is the new document's
    try:
        await page.wait_for_load_state("domcontentloaded")
        now = session_workspace(await auth_session(page))
    finally:
        page.remove_listener("request", note)
    others = sorted({account for account in carried if account != chosen.id})
    if now is None or now.id != chosen.id or others:
        runs = f"session runs in {now.id if now else 'no named workspace'}"
        if others:
            runs += f", its requests in {', '.join(others)}"
        raise WorkspaceError(
            f"The ChatGPT page did not switch to the workspace {chosen.describe()}: its {runs}. "
            "Switch it once in the profile menu of `chatgpt-bridge login`'s window, or unset "
            "CHATGPT_WORKSPACE."
        )


async def _cookie(page: Page, account_id: str) -> Any:
    """The `_account` cookie for `account_id`, where the page keeps its own (domain, path)."""
    try:
        existing = [
            cookie
            for cookie in await page.context.cookies(page.url)
            if cookie["name"] == selectors.ACCOUNT_COOKIE
        ]
    except PlaywrightError:
        existing = []
    if existing:
        kept = existing[0]
        return {**kept, "value": account_id}
    return {
        "name": selectors.ACCOUNT_COOKIE,
        "value": account_id,
        "url": _site_root(page.url),  # a page's own URL would scope it to its path
        "expires": time.time() + COOKIE_LIFETIME,
        "sameSite": "Lax",
    }


def _site_root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"
