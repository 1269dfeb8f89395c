"""Files a question carries to ChatGPT: one typed value every surface builds.

The API (data URLs, `file_data`, `/v1/files`), Slack (downloaded shares) and MCP all hand
the bridge the same `Attachment`: a name, a MIME type and the bytes, nothing tied to where
they came from. The browser attaches them through the composer's file input as a person
would, so the page runs the web app's own upload protocol (docs/browser.md).

The limits below are ChatGPT's published ones (OpenAI Help Center, "What are the file
upload size restrictions?", article 8983719): a file past them is refused here, before a
tab is taken, with the same typed error the page's own refusal gives. Which *types* the web
app accepts is the page's to say (its file input and its upload service), so a type is
judged there, not guessed here.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from browser.errors import AttachmentTooLargeError

MAX_FILE_BYTES = 512 * 1024 * 1024
"""Every file uploaded to a ChatGPT conversation: a hard limit of 512 MB per file."""
MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Images: 20 MB per image."""
DEFAULT_MIME_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Attachment:
    """One file for ChatGPT to read: `name` as the chip shows it, its MIME type, its bytes."""

    name: str
    mime_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def sha256(self) -> str:
        """Hex digest of the bytes: what the replica's answer echoes to prove them intact."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")

    @property
    def limit(self) -> int:
        """The size ChatGPT accepts for a file of this type."""
        return MAX_IMAGE_BYTES if self.is_image else MAX_FILE_BYTES

    @classmethod
    def of(cls, name: str, data: bytes, mime_type: str | None = None) -> Attachment:
        """An attachment named like a chosen file (no folders), its MIME type, when not
        given, guessed from that name."""
        base = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "file"
        guessed = mime_type or mimetypes.guess_type(base)[0] or DEFAULT_MIME_TYPE
        return cls(base, guessed, data)


def check_sizes(attachments: Sequence[Attachment]) -> None:
    """Refuse, before anything is typed, a file ChatGPT would refuse for its size."""
    for attachment in attachments:
        if attachment.size > attachment.limit:
            raise AttachmentTooLargeError(attachment.name, attachment.size, attachment.limit)


PROMPT_FILE = "prompt.md"
LONG_PROMPT_LEAD_IN = (
    f"My message is in the attached file {PROMPT_FILE}: it is longer than the message box "
    "takes. Read all of it and answer it as if I had typed it here."
)
FILES_ONLY_PROMPT = "Please look at the attached file(s)."
"""What is typed with files and no text: the composer sends nothing without a message."""


def prepare_prompt(
    prompt: str, attachments: Sequence[Attachment], max_chars: int
) -> tuple[str, tuple[Attachment, ...]]:
    """The text to type and the files to attach for `prompt` and `attachments`.

    A prompt longer than the message box takes (`max_chars`, BRIDGE_MAX_PROMPT_CHARS) goes
    whole as a Markdown file with a short lead-in typed, the way the web app turns a long
    paste into an attachment: never cut, never refused.
    """
    files = tuple(attachments)
    if len(prompt) > max_chars:
        pasted = Attachment(PROMPT_FILE, "text/markdown", prompt.encode("utf-8"))
        return LONG_PROMPT_LEAD_IN, (pasted, *files)
    if files and not prompt.strip():
        return FILES_ONLY_PROMPT, files
    return prompt, files
