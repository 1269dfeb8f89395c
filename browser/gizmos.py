"""Custom GPTs and projects: which one a turn runs in, found the way the page finds it.

Both are "gizmos" to chatgpt.com: a custom GPT's chat starts at `/g/<gpt>` and a project's
at `/g/<project>/project`, and their chats live at `/g/<gizmo>/c/<id>` (docs/replica.md,
"Custom GPTs and projects"). A person opens them from the sidebar, which the page fills
from `GET /backend-api/gizmos/bootstrap` (the GPTs) and `GET /backend-api/gizmos/snorlax/
sidebar` (the projects, by name); a GPT's page reads `GET /backend-api/gizmos/<id>` and
shows "not found" when the account cannot use it. The bridge reads the same endpoints with
the page's own session before it opens anything, so an unknown GPT or project is a typed
error with nothing sent, never a silent chat with plain ChatGPT.

The payload readers are pure; the peers that read these endpoints disagree on where the
sidebar puts the project (`item.gizmo.gizmo`, `item.gizmo`, `item.resource.gizmo`), so all
three are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

from playwright.async_api import Page

from browser import selectors
from browser.contract import AskOptions
from browser.errors import GptNotFoundError, ProjectNotFoundError, WebAppError
from browser.models import Gizmo
from browser.page import fetch_signed_in

SIDEBAR_PAGES = 10
"""Pages of the projects list read at most (the sidebar pages by `cursor`)."""

_GPT_ID = re.compile(r"^g-(?!p-)[A-Za-z0-9]+")
"""A GPT's id: `g-<alnum>`; its links add `-<name-slug>` (`/g/g-2fkFE8rbu-dall-e`)."""


def gpt_id(text: str) -> str | None:
    """`g-2fkFE8rbu-dall-e` (a link's last part) -> `g-2fkFE8rbu`; None if not a GPT id."""
    match = _GPT_ID.match(text.strip())
    return match.group(0) if match else None


def _gizmo(entry: Any, kind: Literal["gpt", "project"]) -> Gizmo | None:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
        return None
    display = entry.get("display")
    name = display.get("name") if isinstance(display, Mapping) else None
    return Gizmo(entry["id"], name if isinstance(name, str) and name else entry["id"], kind)


def _inner(item: Any, *keys: str) -> Any:
    for key in keys:
        item = item.get(key) if isinstance(item, Mapping) else None
    return item


def gpts_from_bootstrap(body: Any) -> list[Gizmo]:
    """The GPTs of a `gizmos/bootstrap` body (`gizmos[].resource.gizmo`); projects skipped."""
    entries = body.get("gizmos") if isinstance(body, Mapping) else None
    found = (_gizmo(_inner(item, "resource", "gizmo"), "gpt") for item in entries or [])
    return [g for g in found if g is not None and not selectors.is_project(g.id)]


def projects_from_sidebar(body: Any) -> tuple[list[Gizmo], str | None]:
    """The projects of one `snorlax/sidebar` page, and the cursor of the next (or None)."""
    items = body.get("items") if isinstance(body, Mapping) else None
    projects = []
    for item in items or []:
        for path in (("gizmo", "gizmo"), ("gizmo",), ("resource", "gizmo")):
            project = _gizmo(_inner(item, *path), "project")
            if project is not None:
                projects.append(project)
                break
    cursor = body.get("cursor") if isinstance(body, Mapping) else None
    return projects, None if cursor is None else str(cursor)


async def _get(page: Page, path: str, what: str) -> tuple[int, Any]:
    status, body = await fetch_signed_in(page, path)
    if status != 200 and status != 404:
        raise WebAppError(f"ChatGPT did not list {what} (HTTP {status}); try again.")
    return status, body


async def projects(page: Page) -> list[Gizmo]:
    """The account's projects, as the sidebar reads them (every page)."""
    found: list[Gizmo] = []
    cursor: str | None = None
    for _ in range(SIDEBAR_PAGES):
        path = selectors.PROJECTS_SIDEBAR_PATH
        if cursor is not None:
            path += "&cursor=" + quote(cursor, safe="")
        status, body = await _get(page, path, "the projects")
        if status != 200:
            break
        listed, cursor = projects_from_sidebar(body)
        found += listed
        if cursor is None:
            break
    return found


async def gpts(page: Page) -> list[Gizmo]:
    """The GPTs the sidebar offers (pinned and recent), from `gizmos/bootstrap`."""
    status, body = await _get(page, selectors.GIZMOS_BOOTSTRAP_PATH, "the custom GPTs")
    return gpts_from_bootstrap(body) if status == 200 else []


async def find_gpt(page: Page, wanted: str) -> Gizmo:
    """The GPT `wanted` names (a bare id or a link's `g-<id>-<slug>`), as its page reads it."""
    gizmo_id = gpt_id(wanted)
    if gizmo_id is None:
        raise GptNotFoundError(wanted)
    path = selectors.GIZMO_PATH.format(id=quote(gizmo_id, safe=""))
    status, body = await _get(page, path, f"the custom GPT {gizmo_id}")
    found = _gizmo(_inner(body, "gizmo"), "gpt") if status == 200 else None
    if found is None:
        raise GptNotFoundError(wanted)
    return found


async def find_project(page: Page, name: str) -> Gizmo:
    """The project of that name (case-insensitive, as people type it); the error lists all."""
    listed = await projects(page)
    wanted = name.strip().casefold()
    match = next((p for p in listed if p.name.casefold() == wanted or p.id == name), None)
    if match is None:
        raise ProjectNotFoundError(name, [p.name for p in listed])
    return match


async def chosen(page: Page, options: AskOptions) -> Gizmo | None:
    """Where a new chat of `options` starts: its GPT, else its project, else None."""
    if options.gpt is not None:
        return await find_gpt(page, options.gpt)
    if options.project is not None:
        return await find_project(page, options.project)
    return None
