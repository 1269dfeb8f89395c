"""Files uploaded to the replica the way the web app uploads them, and what a turn says of them.

An upload is four requests (docs/replica.md, "Uploads"): `POST /backend-api/files` names the
file (its name, size and MIME type) and gets an id and a signed blob URL; a `PUT` of the
bytes to that URL; `POST /backend-api/files/{id}/uploaded`; for a document, `POST
/backend-api/files/process_upload_stream`, whose NDJSON events the chip shows as progress.
The conversation POST then names the files in its message's `metadata.attachments`.

The replica keeps the bytes it received, and an answer lists every attachment of its prompt
with the SHA-256 of those bytes, after checking their length against the size the page
declared: a test compares the digest with its own to prove the file arrived intact.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

FILE_POINTER = "file-service://{id}"
"""How a user message's image part points at an upload (`image_asset_pointer`)."""


@dataclass
class Upload:
    """One file as the replica knows it, from its `POST /backend-api/files` on."""

    name: str
    mime_type: str
    declared_size: int
    width: int | None = None
    height: int | None = None
    id: str = field(default_factory=lambda: f"file_{uuid.uuid4().hex}")
    data: bytes | None = None
    confirmed: bool = False

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")

    @property
    def intact(self) -> bool:
        """The bytes arrived whole: as many as the page declared when it named the file."""
        return self.data is not None and len(self.data) == self.declared_size

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data or b"").hexdigest()

    def content_part(self) -> dict[str, Any]:
        """The image part of a `multimodal_text` user message."""
        return {
            "content_type": "image_asset_pointer",
            "asset_pointer": FILE_POINTER.format(id=self.id),
            "size_bytes": self.declared_size,
            "width": self.width,
            "height": self.height,
        }

    def metadata(self) -> dict[str, Any]:
        """The entry of `metadata.attachments` (images use `mimeType`, documents `mime_type`)."""
        entry: dict[str, Any] = {"id": self.id, "name": self.name, "size": self.declared_size}
        if self.is_image:
            return entry | {"mimeType": self.mime_type, "width": self.width, "height": self.height}
        return entry | {"mime_type": self.mime_type}


def describe(uploads: list[Upload]) -> str:
    """The answer's block about the prompt's files: one line each, digest included."""
    lines = [
        f"- {u.name} ({u.mime_type}, {len(u.data or b'')} bytes, sha256 {u.sha256}"
        f"{'' if u.intact else ', INCOMPLETE'})"
        for u in uploads
    ]
    return "Attachments received:\n\n" + "\n".join(lines)
