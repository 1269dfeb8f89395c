"""What ChatGPT makes besides text: the pictures of its image tool, as typed values.

An image turn stores its picture as an *asset pointer* in the image tool's message
(`content.parts[]` of `content_type: "image_asset_pointer"`, `asset_pointer:
"sediment://file_…"`, older `file-service://file-…`), with the prompt the tool drew from in
`parts[].metadata.dalle.prompt` (xtekky/gpt4free `g4f/Provider/needs_auth/OpenaiChat.py`)
or the message's `metadata.image_gen_title` (an exporter of 2025-26, docs/replica.md). The
pointer is not the picture: a signed link to the bytes is asked for when needed, and it
expires (shared/research/chatgpt-web-2026.md), so the browser layer downloads at once and
hands surfaces the bytes (`GeneratedFile`), never a link.

Parsing is pure; `browser.downloads` fetches.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

POINTER_SCHEMES = ("sediment://", "file-service://")


@dataclass(frozen=True)
class Asset:
    """A file the turn produced, as the stored conversation points at it."""

    file_id: str
    alt: str
    """What the picture shows, in words: the tool's prompt, else the title it gave."""


@dataclass(frozen=True)
class GeneratedFile:
    """A file ChatGPT made in a turn, downloaded: `alt` describes it (the prompt drawn)."""

    name: str
    mime_type: str
    data: bytes = field(repr=False)
    alt: str = ""

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


def file_name(file_id: str, mime_type: str) -> str:
    """`file_<id>.png`: the id keeps names apart, the extension follows the bytes' type."""
    extension = mimetypes.guess_extension(mime_type.split(";")[0].strip()) or ""
    return f"{file_id}{extension}"


def assets_in(messages: Iterable[dict[str, Any]]) -> tuple[Asset, ...]:
    """Every picture the messages point at, in order, each once."""
    found: dict[str, Asset] = {}
    for message in messages:
        content = message.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
        for part in parts if isinstance(parts, list) else []:
            file_id = _pointer_id(part)
            if file_id is not None and file_id not in found:
                found[file_id] = Asset(
                    file_id, _alt(part) or str(metadata.get("image_gen_title") or "")
                )
    return tuple(found.values())


def is_picture_message(message: dict[str, Any]) -> bool:
    """The image tool's message: a tool's `multimodal_text`, with its picture or still empty."""
    author = message.get("author")
    content = message.get("content")
    return (
        isinstance(author, dict)
        and author.get("role") == "tool"
        and isinstance(content, dict)
        and content.get("content_type") == "multimodal_text"
    )


def _pointer_id(part: Any) -> str | None:
    if not isinstance(part, dict) or part.get("content_type") != "image_asset_pointer":
        return None
    pointer = part.get("asset_pointer")
    for scheme in POINTER_SCHEMES:
        if isinstance(pointer, str) and pointer.startswith(scheme) and len(pointer) > len(scheme):
            return pointer.removeprefix(scheme)
    return None


def _alt(part: dict[str, Any]) -> str | None:
    metadata = part.get("metadata")
    dalle = metadata.get("dalle") if isinstance(metadata, dict) else None
    prompt = dalle.get("prompt") if isinstance(dalle, dict) else None
    return prompt if isinstance(prompt, str) and prompt else None
