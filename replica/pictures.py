"""What the replica draws, and the signed, expiring links its pictures are fetched through.

A prompt that asks for a picture ("Draw ...", "Generate an image ...") makes an image turn
(docs/replica.md, "Image turns"). The picture is a tiny PNG whose colours follow from the
prompt, so a test can prove that the bytes a driver stored are the ones this prompt made and
not another turn's. Real download links are signed and expire (`.../estuary/content?id=
file_…&ts=…&p=fs&cid=1&sig=…&v=0`, seen in exported chats); the replica signs its own the
same way, with an expiry a test can make short, so a driver that stores a link instead of
the bytes fails the way it would against chatgpt.com.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import time
import zlib
from urllib.parse import urlencode

SIDE = 8
"""Pixels per side: small enough for a test, big enough to carry the prompt's colours."""
_SECRET = b"replica-estuary"
_ASKS_FOR_PICTURE = re.compile(r"^\s*(draw\b|generate an image\b)", re.IGNORECASE)


def asks_for_picture(prompt: str) -> bool:
    """Whether the prompt asks the image tool for a picture (at least these openings)."""
    return bool(_ASKS_FOR_PICTURE.match(prompt))


def picture(prompt: str) -> bytes:
    """A deterministic SIDE x SIDE RGB PNG: one colour per row, derived from the prompt."""
    digest = hashlib.sha256(prompt.encode()).digest()
    rows = b"".join(b"\x00" + digest[3 * (y % 10) : 3 * (y % 10) + 3] * SIDE for y in range(SIDE))
    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows))


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _signature(file_id: str, expires: int) -> str:
    return hmac.new(_SECRET, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_path(file_id: str, ttl_seconds: float, name: str | None = None) -> str:
    """A download link for `file_id` that stops working `ttl_seconds` from now."""
    expires = int(time.time() + ttl_seconds)
    query = {"id": file_id, "ts": expires, "p": "fs", "cid": 1, "sig": _signature(file_id, expires)}
    if name is not None:
        query |= {"fn": name, "cd": "attachment"}
    return "/backend-api/estuary/content?" + urlencode({**query, "v": 0})


def link_valid(file_id: str, ts: int, sig: str) -> bool:
    """The signature matches and the link has not expired."""
    return time.time() <= ts and hmac.compare_digest(sig, _signature(file_id, ts))
