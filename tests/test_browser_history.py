"""The history list and one chat's messages as `browser.history` reads them (pure, no browser):
both read-back shapes, the branch the page shows, times in either form, malformed entries."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from browser.contract import ConversationSummary, StoredMessage
from browser.history import (
    HISTORY_PAGES,
    messages_from_payload,
    summaries_from_payload,
    with_older_pages,
)
from replica.store import ROOT_ID, Conversation, Message


def message(role: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": extra.pop("id", text),
        "author": {"role": role},
        "content": {"content_type": extra.pop("content_type", "text"), "parts": [text]},
        "recipient": "all",
        "metadata": extra.pop("metadata", {}),
        **extra,
    }


def test_the_list_in_the_captured_shape_and_in_epoch_seconds() -> None:
    body = {
        "items": [
            {"id": "a", "title": "Chat A", "create_time": "2023-04-06T19:55:21.620368",
             "update_time": "2023-04-06T19:55:21"},
            {"id": "b", "title": None, "create_time": 1_700_000_000.5, "update_time": None},
            {"title": "no id"},
            "junk",
        ],
        "total": 2, "limit": 28, "offset": 0, "has_missing_conversations": False,
    }  # fmt: skip
    assert summaries_from_payload(body) == [
        ConversationSummary("a", "Chat A", datetime(2023, 4, 6, 19, 55, 21, tzinfo=timezone.utc)),
        ConversationSummary("b", None, datetime.fromtimestamp(1_700_000_000.5, timezone.utc)),
    ]
    assert summaries_from_payload({"detail": "Unauthorized"}) == []


def test_a_page_keeps_what_a_person_reads() -> None:
    body = {
        "messages": [
            message("system", "", metadata={"is_visually_hidden_from_conversation": True}),
            message("user", "Hi"),
            message("assistant", "thinking...", content_type="thoughts"),
            message("assistant", "search", recipient="web.run", content_type="code"),
            message("tool", "results"),
            message("assistant", "Hello!", metadata={"resolved_model_slug": "gpt-5"}),
        ]
    }
    assert messages_from_payload(body) == [
        StoredMessage("user", "Hi"),
        StoredMessage("assistant", "Hello!", "gpt-5"),
    ]


def test_the_tree_follows_the_branch_the_page_shows() -> None:
    mapping = {
        "root": {"message": None, "parent": None, "children": ["u1"]},
        "u1": {"message": message("user", "Q"), "parent": "root", "children": ["a1", "a2"]},
        "a1": {"message": message("assistant", "old answer"), "parent": "u1", "children": []},
        "a2": {"message": message("assistant", "new answer"), "parent": "u1", "children": []},
    }
    body = {"mapping": mapping, "current_node": "a2"}
    assert messages_from_payload(body) == [
        StoredMessage("user", "Q"),
        StoredMessage("assistant", "new answer"),
    ]
    assert messages_from_payload({"detail": "not found"}) is None


def _chat(turns: int) -> Conversation:
    """A replica chat of `turns` exchanges, paged exactly as the replica serves it."""
    chat, parent = Conversation(id="c1", model="auto", temporary=False), ROOT_ID
    for n in range(turns):
        for role, text in (("user", f"q{n}"), ("assistant", f"a{n}")):
            chat.messages.append(Message(id=f"{role}-{n}", role=role, text=text, parent=parent))
            parent = f"{role}-{n}"
    return chat


async def test_a_long_chat_is_read_through_its_older_pages() -> None:
    chat, asked = _chat(25), []

    async def get(path: str) -> tuple[int, Any]:
        asked.append(path)
        [before] = parse_qs(urlsplit(path).query)["before"]
        return 200, chat.page(10, before)

    newest = chat.page(10, None)
    messages = await with_older_pages(get, "c1", newest, messages_from_payload(newest) or [])
    assert [m.text for m in messages] == [t for n in range(25) for t in (f"q{n}", f"a{n}")]
    assert len(asked) == 2, "three pages of ten turns: the newest, then two older"


async def test_the_walk_ends_at_a_refused_page_and_at_its_limit() -> None:
    chat = _chat(10 * (HISTORY_PAGES + 2))
    newest = chat.page(10, None)
    first = messages_from_payload(newest) or []

    async def refused(path: str) -> tuple[int, Any]:
        return 403, {"detail": "cf-mitigated"}

    assert await with_older_pages(refused, "c1", newest, first) == first

    async def served(path: str) -> tuple[int, Any]:
        [before] = parse_qs(urlsplit(path).query)["before"]
        return 200, chat.page(10, before)

    read = await with_older_pages(served, "c1", newest, first)
    assert len(read) == 2 * 10 * HISTORY_PAGES, "the newest 200 turns, no more"
