"""What a message of the conversation tree is: the answer, a hidden one, progress, citations.

A 2026 turn streams many messages (captures of k1liang/ChatGPT-Web2API
`tests/fixtures/response_stream/s1_main_stream.json`, 2026-09-28): hidden system and context
messages (`metadata.is_visually_hidden_from_conversation`, a `user_editable_context` user
message), a `model_editable_context`, a `reasoning_recap`, tool messages, then the answer
(`role: assistant`, `recipient: all`, `channel: final`, `content_type: text`). Hidden messages
may be `finished_successfully` with `end_turn: true`, so only the answer's status counts.

Citations: the answer's text carries private-use markers (`\\ue200cite\\ue202turn0search0
\\ue201`) that `metadata.content_references[]` resolve: each reference has the marker as
`matched_text` (with `start_idx`/`end_idx`), a `type` (`grouped_webpages`, `file`,
`sources_footnote`...) and `items[]` of `{title, url, attribution}` (pionxzh/chatgpt-exporter
`src/utils/citations.ts`, 2026). They become Markdown links; unresolved markers are dropped.
"""

from __future__ import annotations

import re
from typing import Any

from browser.events import Citation

FINISHED_STATUSES = frozenset({"finished_successfully", "finished_partial_completion"})
MARKER_START = "\ue200"
_MARKER = re.compile("\ue200[^\ue200\ue201]*\ue201")
_INVISIBLE = re.compile("[\ue203\ue204]")


def finished(status: str | None, end_turn: bool | None) -> bool:
    """An answer message is over: it ended the turn, or was stopped part-way."""
    if status not in FINISHED_STATUSES:
        return False
    return bool(end_turn) or status == "finished_partial_completion"


def message_text(message: dict[str, Any]) -> str:
    """The text of a message's `parts` (non-text parts, e.g. images, are skipped)."""
    content = message.get("content") or {}
    parts = content.get("parts") or []
    return "".join(part for part in parts if isinstance(part, str))


def role(message: dict[str, Any]) -> str | None:
    return (message.get("author") or {}).get("role")


def metadata(message: dict[str, Any]) -> dict[str, Any]:
    value = message.get("metadata")
    return value if isinstance(value, dict) else {}


def content_type(message: dict[str, Any]) -> str | None:
    return (message.get("content") or {}).get("content_type")


def is_hidden(message: dict[str, Any]) -> bool:
    return bool(metadata(message).get("is_visually_hidden_from_conversation"))


def is_answer(message: dict[str, Any]) -> bool:
    """An assistant `text` message for everyone: what the person reads as the answer."""
    if role(message) != "assistant" or content_type(message) != "text" or is_hidden(message):
        return False
    if message.get("recipient", "all") not in ("all", None):
        return False
    return message.get("channel") in (None, "final")


def is_prompt(message: dict[str, Any]) -> bool:
    """A user message the person typed (not the hidden profile/context one)."""
    return (
        role(message) == "user"
        and not is_hidden(message)
        and content_type(message)
        in (
            "text",
            "multimodal_text",
        )
    )


def answered_model(message: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the model that answered, the one asked for when it differs)."""
    data = metadata(message)
    resolved = data.get("resolved_model_slug")
    slug = data.get("model_slug")
    answered = resolved if isinstance(resolved, str) else slug if isinstance(slug, str) else None
    # `requested_model_slug` (docs/replica.md: the field name has no public evidence), else
    # a `model_slug` that differs from the resolved one.
    asked = data.get("requested_model_slug")
    asked = asked if isinstance(asked, str) else slug
    requested = asked if isinstance(asked, str) and asked != answered else None
    return answered, requested


def answer_markdown(message: dict[str, Any], final: bool) -> str:
    """The answer's Markdown with its citation markers turned into links.

    While the message streams, text from the first marker no reference resolves yet is held
    back, so a marker never leaks and already-sent text never has to change.
    """
    text = _INVISIBLE.sub("", message_text(message))
    references = _references(message)
    for matched, links in references.items():
        text = text.replace(matched, links)
    if not final:
        cut = text.find(MARKER_START)
        return text if cut < 0 else text[:cut]
    return _MARKER.sub("", text).replace(MARKER_START, "")


def citations(message: dict[str, Any]) -> list[Citation]:
    """The sources the message's references name, in order, each once."""
    seen: dict[str, Citation] = {}
    for reference in _reference_list(message):
        for source in _sources(reference):
            seen.setdefault(source.url, source)
    return list(seen.values())


def _references(message: dict[str, Any]) -> dict[str, str]:
    """`matched_text` -> its Markdown replacement, longest first (one may contain another)."""
    replacements = {
        ref["matched_text"]: _links(ref)
        for ref in _reference_list(message)
        if isinstance(ref.get("matched_text"), str) and ref["matched_text"]
    }
    return dict(sorted(replacements.items(), key=lambda item: -len(item[0])))


def _reference_list(message: dict[str, Any]) -> list[dict[str, Any]]:
    references = metadata(message).get("content_references") or []
    return [r for r in references if isinstance(r, dict) and r.get("type") != "sources_footnote"]


def _links(reference: dict[str, Any]) -> str:
    sources = _sources(reference)
    if not sources:
        alt = reference.get("alt")
        return alt if isinstance(alt, str) else ""
    return "(" + ", ".join(f"[{_escape(s.title)}]({s.url})" for s in sources) + ")"


def _sources(reference: dict[str, Any]) -> list[Citation]:
    items = [i for i in reference.get("items") or [] if isinstance(i, dict)]
    if not items and reference.get("url"):
        items = [reference]
    found = []
    for item in items:
        url = item.get("url")
        if isinstance(url, str) and url.strip():
            label = item.get("title") or item.get("attribution") or url
            found.append(Citation(url=url.strip(), title=str(label).strip()))
    return found


def _escape(label: str) -> str:
    return label.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace("\n", " ")
