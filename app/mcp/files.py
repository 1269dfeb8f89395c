"""Files an agent hands `ask`: their content, or paths the person let it read.

An agent works in a project, and ChatGPT should read a file of it as a person would attach
it. Content comes in the call (text, or base64 bytes). A path is read by the bridge, which
runs on the same machine, but only inside a folder the person allowed: the client's MCP
roots (the project the agent was opened on; asked for only when a path is given, and only
of a client that declared the capability) or `BRIDGE_MCP_FILE_ROOTS`. A path that resolves
outside them, through `..` or a symbolic link, is refused before anything is read or sent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mcp_types import ListRootsResult
from pydantic import BaseModel, Field

from app.api.errors import invalid_request
from browser.attachments import MAX_FILE_BYTES, Attachment
from browser.errors import AttachmentTooLargeError


class FileInput(BaseModel):
    """One file for ChatGPT: exactly one of `path`, `content`, `content_base64`."""

    path: str | None = Field(
        None,
        description="A file inside the client's roots or BRIDGE_MCP_FILE_ROOTS: absolute, "
        "or relative to a root.",
    )
    content: str | None = Field(None, description="The file's text.")
    content_base64: str | None = Field(None, description="The file's bytes, base64.")
    name: str | None = Field(
        None,
        description="Its name in ChatGPT (default: the path's file name; needed with content).",
    )
    mime_type: str | None = Field(None, description="Default: guessed from the name.")


def client_roots(roots: ListRootsResult | None) -> list[Path]:
    """The client's `file://` roots as folders."""
    folders = []
    for root in roots.roots if roots else []:
        parts = urlsplit(str(root.uri))
        if parts.scheme == "file":
            folders.append(Path(unquote(parts.path)))
    return folders


async def attachments(files: Sequence[FileInput], roots: Sequence[Path]) -> list[Attachment]:
    """The files as attachments; an `APIError` (400) names the first one that is wrong."""
    return [await _attachment(file, roots) for file in files]


async def _attachment(file: FileInput, roots: Sequence[Path]) -> Attachment:
    given = [v for v in (file.path, file.content, file.content_base64) if v is not None]
    if len(given) != 1:
        raise invalid_request("Give each file exactly one of `path`, `content`, `content_base64`.")
    if file.path is None:
        if not file.name:
            raise invalid_request("A file given by its content needs a `name` (e.g. notes.md).")
        data = file.content.encode() if file.content is not None else _decoded(file)
        return Attachment.of(file.name, data, file.mime_type)
    path = await asyncio.to_thread(_allowed, file.path, roots)
    data = await asyncio.to_thread(_read, path)
    return Attachment.of(file.name or path.name, data, file.mime_type)


def _decoded(file: FileInput) -> bytes:
    try:
        return base64.b64decode(file.content_base64 or "", validate=True)
    except binascii.Error:
        raise invalid_request(f"`content_base64` of {file.name} is not base64.") from None


def _allowed(given: str, roots: Sequence[Path]) -> Path:
    """The real path of `given` if it lies inside a root (blocking: it touches the disk)."""
    if not roots:
        raise invalid_request(
            f"The file {given} cannot be read: this client shares no roots and "
            "BRIDGE_MCP_FILE_ROOTS is not set. Pass the file's `content` instead."
        )
    candidate = Path(given).expanduser()
    tries = [candidate] if candidate.is_absolute() else [root / candidate for root in roots]
    for path in tries:
        real = path.resolve()
        if real.is_file() and any(real.is_relative_to(root.resolve()) for root in roots):
            return real
    shown = ", ".join(str(root) for root in roots)
    raise invalid_request(
        f"The file {given} is not a file inside the folders this bridge may read ({shown}): "
        "the client's roots and BRIDGE_MCP_FILE_ROOTS."
    )


def _read(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:  # refused before reading it all into memory
        raise AttachmentTooLargeError(path.name, size, MAX_FILE_BYTES)
    return path.read_bytes()
