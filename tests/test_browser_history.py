"""The history list and one chat's messages as `browser.history` reads them (pure, no browser):
both read-back shapes, the branch the page shows, times in either form, malformed entries."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from browser.contract import ConversationSummary, StoredMessage
from browser.history import messages_from_payload, summaries_from_payload


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
