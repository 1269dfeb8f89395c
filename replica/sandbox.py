"""What the replica's code tool makes: a file in its sandbox, linked from the answer.

ChatGPT's code tool writes files under `/mnt/data/` and the answer links them as
`sandbox:/mnt/data/<name>`; the page turns such a link into bytes by asking
`GET /backend-api/conversation/{id}/interpreter/download?message_id=<answer>&sandbox_path=
/mnt/data/<name>` for a signed link (docs/replica.md, "Code-tool files"). A prompt that asks
for a file ("Make a CSV ...", "Create a file ...") gets such an answer; the file's bytes
follow from the prompt, so a test can prove which turn's file a driver kept.
"""

from __future__ import annotations

import hashlib
import re

FILE_NAME = "data.csv"
MIME_TYPE = "text/csv"
SANDBOX_DIR = "/mnt/data/"
ROWS = 4
_ASKS_FOR_FILE = re.compile(r"^\s*(make a csv\b|create a file\b)", re.IGNORECASE)


def asks_for_file(prompt: str) -> bool:
    """Whether the prompt asks the code tool for a file (at least these openings)."""
    return bool(_ASKS_FOR_FILE.match(prompt))


def answer() -> str:
    """The answer's Markdown, linking the file by its sandbox path as ChatGPT does."""
    return f"I wrote the file with Python. [Download {FILE_NAME}](sandbox:{SANDBOX_DIR}{FILE_NAME})"


def content(prompt: str) -> bytes:
    """The CSV the prompt made: a header and ROWS rows cut from the prompt's sha256."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    rows = [f"{row},{digest[8 * row : 8 * row + 8]}" for row in range(ROWS)]
    return ("row,value\n" + "\n".join(rows) + "\n").encode()


def file_id(message_id: str, sandbox_path: str) -> str:
    """The id the signed link names the file by (`file_<hex>`, as estuary ids are)."""
    return "file_" + hashlib.sha256(f"{message_id}:{sandbox_path}".encode()).hexdigest()[:32]
