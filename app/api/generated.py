"""What ChatGPT drew, kept in the file store and shown to API clients by URL.

The browser hands over the bytes of each picture (`browser.generated.GeneratedFile`): its
link on chatgpt.com expires, so the bridge keeps its own copy in the one file store
(`/v1/files`, purpose `assistants_output`) and bounds what drawn files take on disk
(BRIDGE_GENERATED_KEEP_MB: the oldest go first). A chat completion then carries each
picture as a Markdown image whose URL the bridge itself serves,
`GET /v1/files/{id}/content`, behind the same key as every `/v1` route.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.files import GENERATED, FileStore, StoredFile
from browser.generated import GeneratedFile

_MARKDOWN_SPECIALS = re.compile(r"([\[\]\\])")


@dataclass(frozen=True)
class Kept:
    """A drawn file as stored, with what it shows."""

    record: StoredFile
    alt: str


@dataclass(frozen=True)
class Shelf:
    """Where drawn files go for one request: the store, its retention, the public base URL."""

    store: FileStore
    keep_bytes: int
    base_url: str
    """The bridge's URL as the client reached it (`request.base_url`), ending in "/"."""

    async def keep(self, files: Sequence[GeneratedFile]) -> list[Kept]:
        """Store each file, then drop the oldest drawn files past the retention bound."""
        kept = [
            Kept(await self.store.put(file.data, file.name, GENERATED, file.mime_type), file.alt)
            for file in files
        ]
        if kept:
            await self.store.prune(GENERATED, self.keep_bytes)
        return kept

    def url(self, record: StoredFile) -> str:
        return f"{self.base_url}v1/files/{record.id}/content"

    def markdown(self, kept: Sequence[Kept], *, after_text: bool) -> str:
        """The pictures as Markdown images, one paragraph each (after the text, if any)."""
        images = "\n\n".join(f"![{_escaped(item.alt)}]({self.url(item.record)})" for item in kept)
        return f"\n\n{images}" if after_text and images else images


def _escaped(alt: str) -> str:
    """Alt text that cannot end the Markdown image early: brackets and backslashes escaped,
    on one line."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(alt.split()))
