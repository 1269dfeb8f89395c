"""The read-back: the answer to one user message as ChatGPT stored it.

The stream is what the page received; the stored conversation is what ChatGPT kept. They
normally agree, and when they do not (a stream that broke off, a decoder that missed a
frame, citations patched in after the text) the stored one is the truth.

The page itself reads a conversation as `GET /backend-api/conversations/{id}?
include_has_versions=true&num_turns=10`: a page of `messages[]` (oldest first, the messages
of one exchange sharing `metadata.turn_exchange_id`) plus `page_info` (`has_previous_page`,
`start_cursor`; older turns at `/conversations/{id}/messages?before=<cursor>`), not the
`mapping` tree (KobaProduction/browser-extensions `docs/CHATGPT_RUNTIME_CONTRACTS.md`, and a
2026-09-10 live finding of an exporter: "paginated `messages[]`, `current_node`, and
`page_info`"). The older `GET /backend-api/conversation/{id}` `mapping` tree may still
answer on some accounts (Octo-Lex/ChatGPT-Web2API `docs/research/chatgpt-web-contract-
2026-09.md`), so both are read: the paginated shape first, the tree when it is refused.

Parsing is pure (`stored_answer(body, user_message_id)`); `read_back()` does the in-page
fetches with the page's own cookies and bearer token.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from playwright.async_api import Page

from browser import selectors
from browser.decoder import finished, is_answer, message_text
from browser.errors import ChallengeError
from browser.generated import Asset, assets_in, is_picture_message
from browser.page import fetch_json

logger = logging.getLogger(__name__)

PAGE_TURNS = 10
"""Turns per page, as the web app asks; our turn is the newest, so the first page has it."""
MAX_PAGES = 3
"""Older pages read at most while looking for a user message not on the first page."""

CONVERSATION_PAGE_PATH = (
    "/backend-api/conversations/{id}?include_has_versions=true&num_turns=" + str(PAGE_TURNS)
)
STREAM_STATUS_PATH = "/backend-api/conversation/{id}/stream_status"
"""`{"status": "IS_STREAMING" | "COMPLETE" | "FAILURE"}`: whether the server still writes the
turn (KobaProduction/browser-extensions `docs/CHATGPT_RUNTIME_CONTRACTS.md`)."""
OLDER_MESSAGES_PATH = (
    "/backend-api/conversations/{id}/messages?before={cursor}&include_has_versions=true"
    "&num_turns=" + str(PAGE_TURNS)
)

# A citation marker inside the text: U+E200 kind U+E202 payload U+E201 (private-use code
# points the web app replaces by its rendering of `metadata.content_references`).
_MARKER = re.compile("\ue200[^\ue201]*\ue201")
_MARKER_CHARS = str.maketrans("", "", "\ue200\ue201\ue202")


@dataclass(frozen=True)
class StoredAnswer:
    """The final-channel assistant answer of one exchange, as stored."""

    text: str
    finished: bool
    model: str | None
    message_id: str | None = None
    assets: tuple[Asset, ...] = ()
    """The pictures the exchange made (asset pointers: download them at once)."""


NO_ANSWER_YET = StoredAnswer("", False, None)


def stored_answer(body: Any, user_message_id: str | None) -> StoredAnswer | None:
    """The answer to `user_message_id` (None: the newest user message) in either shape.

    None when the body does not hold that user message at all (look on an older page), and
    `NO_ANSWER_YET` when it does but nothing answers it yet.
    """
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("messages"), list):
        return _answer_in_page(body["messages"], user_message_id)
    if isinstance(body.get("mapping"), dict):
        return _answer_in_tree(body["mapping"], body.get("current_node"), user_message_id)
    return None


def older_cursor(body: Any) -> str | None:
    """`page_info.start_cursor` when an older page exists, else None."""
    info = body.get("page_info") if isinstance(body, dict) else None
    if not isinstance(info, dict) or not info.get("has_previous_page"):
        return None
    cursor = info.get("start_cursor")
    return cursor if isinstance(cursor, str) and cursor else None


def resolve_references(text: str, references: Any) -> str:
    """Citation markers replaced by what the page shows for them (`alt`), or dropped.

    Each `content_references` entry names the `matched_text` it stands for; the longest
    are replaced first so that a marker holding another is not split. Markers without an
    entry (or `type: hidden`) are removed, as the page does not show them either.
    """
    entries = [r for r in references if isinstance(r, dict)] if isinstance(references, list) else []
    entries = [r for r in entries if isinstance(r.get("matched_text"), str) and r["matched_text"]]
    for entry in sorted(entries, key=lambda r: len(r["matched_text"]), reverse=True):
        shown = "" if entry.get("type") == "hidden" else str(entry.get("alt") or "")
        text = text.replace(entry["matched_text"], shown)
    return _MARKER.sub("", text).translate(_MARKER_CHARS)


async def read_back(page: Page, conversation_id: str, user_message_id: str | None) -> StoredAnswer:
    """The stored answer to `user_message_id`, read from inside `page`.

    Raises LookupError when neither endpoint gives the conversation (the caller keeps what
    streamed), and `ChallengeError` when Cloudflare challenges the fetch.
    """
    quoted = quote(conversation_id, safe="")
    status, body = await fetch_json(page, CONVERSATION_PAGE_PATH.format(id=quoted), bearer=True)
    if status == 200 and isinstance(body, dict) and "messages" in body:
        for _ in range(MAX_PAGES):
            found = stored_answer(body, user_message_id)
            cursor = older_cursor(body)
            if found is not None or cursor is None:
                return found or NO_ANSWER_YET
            path = OLDER_MESSAGES_PATH.format(id=quoted, cursor=quote(cursor, safe=""))
            status, body = await fetch_json(page, path, bearer=True)
            if status != 200:
                break
        raise LookupError(f"user message {user_message_id} is not in the newest turns")
    tree_path = selectors.CONVERSATION_READ_PATH.format(id=quoted)
    tree_status, tree = await fetch_json(page, tree_path, bearer=True)
    found = stored_answer(tree, user_message_id) if tree_status == 200 else None
    if found is None:
        raise LookupError(
            f"reading the conversation back failed (HTTP {status}, then {tree_status})"
        )
    return found


async def try_read_back(
    page: Page, conversation_id: str | None, user_message_id: str | None
) -> StoredAnswer | None:
    """`read_back`, or None when it cannot be read (the caller keeps what streamed).

    Only ever called for a delivered prompt: a challenged read-back must not turn into a
    failed turn.
    """
    if conversation_id is None:
        return None
    try:
        return await read_back(page, conversation_id, user_message_id)
    except (LookupError, ChallengeError) as error:
        logger.info("read-back failed: %s", error)
        return None


async def stream_status(page: Page, conversation_id: str) -> str | None:
    """The server's own word on whether the turn is still being written, None if unknown.

    After a stream broke off this, not a guess from the text standing still, says whether
    waiting is worth it: a thinking model may add nothing for minutes while IS_STREAMING.
    """
    path = STREAM_STATUS_PATH.format(id=quote(conversation_id, safe=""))
    status, body = await fetch_json(page, path, bearer=True)
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("status"), str):
        return None
    return str(body["status"])


async def conversation_exists(page: Page, conversation_id: str) -> bool | None:
    """Whether ChatGPT knows the conversation (None: the read-back could not tell)."""
    quoted = quote(conversation_id, safe="")
    status, _ = await fetch_json(page, CONVERSATION_PAGE_PATH.format(id=quoted), bearer=True)
    if status == 200:
        return True
    return False if status == 404 else None


def _answer_in_page(messages: list[Any], user_message_id: str | None) -> StoredAnswer | None:
    """The exchange after our user message in a flat, oldest-first page of messages."""
    messages = [m for m in messages if isinstance(m, dict)]
    users = [i for i, m in enumerate(messages) if _role(m) == "user"]
    if user_message_id is None:
        start = users[-1] if users else None
    else:
        start = next((i for i in users if messages[i].get("id") == user_message_id), None)
    if start is None:
        return None
    exchange = _metadata(messages[start]).get("turn_exchange_id")
    turn: list[dict[str, Any]] = []
    for message in messages[start + 1 :]:
        if _role(message) == "user":
            break
        other = _metadata(message).get("turn_exchange_id")
        if exchange is None or other is None or other == exchange:
            turn.append(message)
    return _final(turn)


def _answer_in_tree(
    mapping: dict[str, Any], current: Any, user_message_id: str | None
) -> StoredAnswer | None:
    """The exchange below our user node, following the newest child at each step."""
    start = user_message_id if user_message_id is not None else _last_user_node(mapping, current)
    if start is None or start not in mapping:
        return None
    turn: list[dict[str, Any]] = []
    node = mapping[start]
    while isinstance(node, dict) and node.get("children"):
        node = mapping.get(node["children"][-1])
        message = (node or {}).get("message") or {}
        if _role(message) == "user":
            break
        turn.append(message)
    return _final(turn)


def _final(turn: Iterable[dict[str, Any]]) -> StoredAnswer:
    """The exchange's answer: its last answer message (earlier ones are tool-step preambles),
    with a canvas document it wrote, or the deep-research report it delivered, so that an
    answer living there is never read back empty."""
    turn = list(turn)
    # A widget's own message (the deep-research card) is no answer, however it is addressed.
    answers = [m for m in turn if is_answer(m) and "chatgpt_sdk" not in _metadata(m)]
    report = _research_report(turn)
    canvas = _canvas(turn)
    pictures = [m for m in turn if is_picture_message(m)]
    assets = assets_in(pictures)
    # An image turn is over once every picture message holds its picture.
    drawn = all(m.get("status") == "finished_successfully" for m in pictures) and (
        bool(assets) or not pictures
    )
    if not answers and report is None and canvas is None:
        if not pictures:
            return NO_ANSWER_YET
        metadata = _metadata(pictures[-1])
        model = metadata.get("resolved_model_slug") or metadata.get("model_slug")
        return StoredAnswer("", drawn, model, pictures[-1].get("id"), assets)
    answer = answers[-1] if answers else turn[-1]
    metadata = _metadata(answer)
    text = resolve_references(message_text(answer), metadata.get("content_references"))
    if not answers:
        text = ""
    if report is not None:
        text = report
    elif canvas is not None:
        text = f"{text}\n\n{canvas}" if text.strip() else canvas
    return StoredAnswer(
        text=text,
        finished=drawn and finished(answer.get("status"), answer.get("end_turn") or not answers),
        model=metadata.get("resolved_model_slug") or metadata.get("model_slug"),
        message_id=answer.get("id"),
        assets=assets,
    )


# Canvas and deep research, as a conversation stores them (an exporter's parser of the
# backend payload, 2026: `modules/chatgpt-exporter/conversation-parser.js`, found by
# searching the code corpus for `canmore.create_textdoc`): a canvas is an assistant message
# to `canmore.create_textdoc` whose text is `{"name", "type", "content"}`, changed by
# messages to `canmore.update_textdoc` (`{"updates": [{"pattern", "multiple",
# "replacement"}]}`, regex patterns); a deep-research report sits in the widget state of a
# message whose `metadata.chatgpt_sdk.attribution_id` is `connector_openai_deep_research`
# (`report_message.content.parts[0]` once `status` is `completed`), or, in the older form,
# in a text message whose `metadata.async_task_id` starts with `deepresch_`.
CANVAS_CREATE = "canmore.create_textdoc"
CANVAS_UPDATE = "canmore.update_textdoc"
DEEP_RESEARCH = "connector_openai_deep_research"


def _canvas(turn: list[dict[str, Any]]) -> str | None:
    """The last canvas document the exchange wrote, as Markdown, or None."""
    name = kind = content = None
    for message in turn:
        recipient = message.get("recipient")
        if _role(message) != "assistant" or recipient not in (CANVAS_CREATE, CANVAS_UPDATE):
            continue
        call = _json(message_text(message))
        if recipient == CANVAS_CREATE and isinstance(call.get("content"), str):
            name, kind, content = call.get("name"), call.get("type"), call["content"]
        elif recipient == CANVAS_UPDATE and content is not None:
            content = _apply_updates(content, call.get("updates"))
    if content is None:
        return None
    title = f"**{name}**\n\n" if isinstance(name, str) and name else ""
    if isinstance(kind, str) and kind.startswith("code/"):
        return f"{title}```{kind.removeprefix('code/')}\n{content}\n```"
    return f"{title}{content}"


def _apply_updates(content: str, updates: Any) -> str:
    """Replay `canmore.update_textdoc`; a pattern that is no valid regex is skipped."""
    for update in updates if isinstance(updates, list) else []:
        if not isinstance(update, dict) or not isinstance(update.get("pattern"), str):
            continue
        replacement = str(update.get("replacement") or "")
        try:
            content = re.sub(
                update["pattern"],
                lambda _, literal=replacement: literal,  # a literal, not a template
                content,
                count=0 if update.get("multiple") else 1,
                flags=re.S,
            )
        except re.error:
            continue
    return content


def _research_report(turn: list[dict[str, Any]]) -> str | None:
    """The deep-research report the exchange delivered, once complete, or None."""
    for message in reversed(turn):
        metadata = _metadata(message)
        sdk = metadata.get("chatgpt_sdk")
        if isinstance(sdk, dict) and sdk.get("attribution_id") == DEEP_RESEARCH:
            state = _json(sdk.get("widget_state"))
            report = state.get("report_message")
            parts = (report.get("content") or {}).get("parts") if isinstance(report, dict) else None
            if state.get("status") == "completed" and parts and isinstance(parts[0], str):
                references = (report.get("metadata") or {}).get("content_references")
                return resolve_references(parts[0], references)
        task = metadata.get("async_task_id")
        if isinstance(task, str) and task.startswith("deepresch_") and is_answer(message):
            return resolve_references(message_text(message), metadata.get("content_references"))
    return None


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _last_user_node(mapping: dict[str, Any], current: Any) -> str | None:
    seen: set[str] = set()
    while isinstance(current, str) and current in mapping and current not in seen:
        seen.add(current)
        if _role((mapping[current] or {}).get("message") or {}) == "user":
            return current
        current = mapping[current].get("parent")
    return None


def _role(message: dict[str, Any]) -> str | None:
    author = message.get("author")
    return author.get("role") if isinstance(author, dict) else None


def _metadata(message: dict[str, Any]) -> dict[str, Any]:
    metadata = message.get("metadata")
    return metadata if isinstance(metadata, dict) else {}
