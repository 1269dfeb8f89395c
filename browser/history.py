"""The person's chats as the web app lists and stores them: the history list and one chat.

The sidebar reads `GET /backend-api/conversations?offset=0&limit=28&order=updated`
(`selectors.CONVERSATIONS_LIST_PATH`):
`{items: [{id, title, create_time, update_time}], total, limit, offset,
has_missing_conversations}`, newest first (docs/replica.md, "History list"). One chat is
read as the read-back does (`browser/readback.py`): the paginated `messages[]` page, or the
older `mapping` tree. Only what a person reads is kept: the prompts they typed and the
answers ChatGPT gave, oldest first; tool steps, hidden context and thinking are not.

Parsing is pure, so it is tested without a browser; `BrowserBridge` does the fetches.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from browser.contract import ConversationSummary, StoredMessage
from browser.readback import OLDER_MESSAGES_PATH, older_cursor, resolve_references
from browser.stream.messages import is_answer, is_prompt, message_text, metadata


def summaries_from_payload(body: Any) -> list[ConversationSummary]:
    """The entries of one page of the history list; malformed entries are skipped."""
    items = body.get("items") if isinstance(body, dict) else None
    summaries = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        title = item.get("title")
        updated = _time(item.get("update_time")) or _time(item.get("create_time"))
        summaries.append(
            ConversationSummary(item["id"], title if isinstance(title, str) else None, updated)
        )
    return summaries


def messages_from_payload(body: Any) -> list[StoredMessage] | None:
    """The chat's messages, oldest first, from either read-back shape (None: neither)."""
    shown = shown_messages(body)
    return None if shown is None else _visible(shown)


def shown_messages(body: Any) -> list[dict[str, Any]] | None:
    """The raw messages of the branch the page shows, oldest first, from either read-back
    shape (a page of `messages`, or the old `mapping` tree); None: neither."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("messages"), list):
        return [m for m in body["messages"] if isinstance(m, dict)]
    if isinstance(body.get("mapping"), dict):
        return _branch(body["mapping"], body.get("current_node"))
    return None


HISTORY_PAGES = 20
"""Pages a chat is read back through at most (the newest 200 turns): a chat's whole story
for an agent picking it up, without walking a years-long chat page by page."""

Fetch = Callable[[str], Awaitable[tuple[int, Any]]]
"""GET a backend path with the page's session: (HTTP status, JSON body)."""


async def with_older_pages(
    get: Fetch, conversation_id: str, newest: Any, messages: list[StoredMessage]
) -> list[StoredMessage]:
    """`messages` (the newest page's) preceded by the older pages', oldest first.

    The page shows only the newest turns and reads older ones as a person scrolls up; an
    older page the web app refuses ends the walk with what was read (never an error)."""
    body, pages = newest, 1
    while (cursor := older_cursor(body)) and pages < HISTORY_PAGES:
        path = OLDER_MESSAGES_PATH.format(
            id=quote(conversation_id, safe=""), cursor=quote(cursor, safe="")
        )
        status, body = await get(path)
        older = messages_from_payload(body) if status == 200 else None
        if not older:
            break
        messages, pages = older + messages, pages + 1
    return messages


def _branch(mapping: dict[str, Any], current: Any) -> list[dict[str, Any]]:
    """The messages of the branch the page shows: from `current_node` up to the root."""
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    while isinstance(current, str) and current in mapping and current not in seen:
        seen.add(current)
        node = mapping[current] if isinstance(mapping[current], dict) else {}
        if isinstance(node.get("message"), dict):
            chain.append(node["message"])
        current = node.get("parent")
    return chain[::-1]


def _visible(messages: Any) -> list[StoredMessage]:
    visible = []
    for message in messages:
        if is_prompt(message):
            visible.append(StoredMessage("user", message_text(message)))
        elif is_answer(message):
            data = metadata(message)
            text = resolve_references(message_text(message), data.get("content_references"))
            model = data.get("resolved_model_slug") or data.get("model_slug")
            visible.append(StoredMessage("assistant", text, model))
    return visible


def _time(value: Any) -> datetime | None:
    """A time of the web app: epoch seconds, or an ISO 8601 string (naive means UTC)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None
