"""Files people share with the bot, fetched from Slack and handed to ChatGPT.

A message in the personal channel, a thread or a DM may carry files (`files[]` of the
event: images, PDFs, text and code, voice clips). Their descriptions are stored with the
question when it is accepted (the listener's one write before the ack), so a restart still
knows them; when the question is answered they are downloaded with the bot token from
`url_private_download` (`files:read`). Slack answers such a download with a redirect to its
file host, and a request that arrives there without the token gets a 200 login page instead
of the file: so redirects are followed by hand with the Authorization header kept (only to
the same host or Slack's own), and an HTML page where a file was expected counts as a
refusal, never as the file.

What cannot be had (deleted, hidden by the workspace's plan, a link to an outside service,
larger than the bridge takes) is said in the thread, file by file, and the rest is asked.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from browser.attachments import Attachment
from slackbot.database import Database
from slackbot.mrkdwn import escape

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slack_shared_files (
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    files TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (channel, ts)
);
"""
MAX_REDIRECTS = 5
DOWNLOAD_TIMEOUT = 120.0
FILE_ONLY_PROMPT = "Please look at the attached file."
"""Typed when a message is only files: ChatGPT gets them with a question to answer."""
_SLACK_HOSTS = (".slack.com", ".slack-edge.com")
_UNAVAILABLE_MODES = {
    "tombstone": "it was deleted",
    "hidden_by_limit": "the workspace's plan hides it",
    "external": "it is a link to another service, not a file in Slack",
}
_UNSUPPORTED_TYPES = {"quip", "canvas", "gdoc", "gsheet", "gpres", "gdraw", "gcal"}
"""Slack-native documents: no bytes to download, only a page to look at."""


@dataclass(frozen=True)
class SharedFile:
    """What the event said about one file: enough to download it later."""

    id: str
    name: str
    mime_type: str
    size: int | None
    url: str | None
    mode: str | None
    filetype: str | None

    @classmethod
    def of(cls, entry: dict[str, Any]) -> SharedFile:
        size = entry.get("size")
        return cls(
            id=str(entry.get("id") or ""),
            name=str(entry.get("name") or entry.get("title") or entry.get("id") or "file"),
            mime_type=str(entry.get("mimetype") or "application/octet-stream"),
            size=size if isinstance(size, int) else None,
            url=entry.get("url_private_download") or entry.get("url_private"),
            mode=entry.get("mode"),
            filetype=entry.get("filetype"),
        )


@dataclass(frozen=True)
class Fetched:
    """The files of one message: those ready for ChatGPT, and why each other one is not."""

    attachments: list[Attachment]
    problems: list[str]

    def reply(self) -> str | None:
        """The thread message about the files left out, or None when all made it."""
        if not self.problems:
            return None
        lines = "\n".join(f"• {problem}" for problem in self.problems)
        rest = " The rest was sent." if self.attachments else ""
        return f":paperclip: Some files could not be given to ChatGPT:\n{lines}{rest}"


def problem(name: str, why: str) -> str:
    return f"*{escape(name)}*: {escape(why)}"


class SharedFiles:
    """The stored file lists of accepted questions, and their download."""

    def __init__(self, db: Database, token: str, max_bytes: int) -> None:
        self._db = db
        self._token = token
        self._max_bytes = max_bytes

    async def setup(self) -> None:
        await self._db.create_tables(_SCHEMA)

    async def remember(self, event: dict[str, Any]) -> None:
        """Keep the event's file list with its question (idempotent: Slack retries)."""
        files = [entry for entry in event.get("files") or [] if isinstance(entry, dict)]
        if not files:
            return
        await self._db.write(
            "INSERT OR IGNORE INTO slack_shared_files (channel, ts, files, created_at)"
            " VALUES (?, ?, ?, ?)",
            (event["channel"], event["ts"], json.dumps(files), time.time()),
        )

    async def shared(self, channel: str, ts: str) -> list[SharedFile]:
        row = await self._db.fetch_one(
            "SELECT files FROM slack_shared_files WHERE channel = ? AND ts = ?", (channel, ts)
        )
        return [SharedFile.of(entry) for entry in json.loads(row[0])] if row else []

    async def fetch(self, channel: str, ts: str) -> Fetched:
        """Download every file of the message that can be had; say why for the others."""
        attachments, problems = [], []
        timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for shared in await self.shared(channel, ts):
                why = self._refusal(shared)
                if why is None:
                    try:
                        data = await self._download(session, shared)
                    except DownloadError as error:
                        why = str(error)
                    else:
                        attachments.append(Attachment(shared.name, shared.mime_type, data))
                        continue
                logger.info("Slack file %s left out: %s", shared.id, why)
                problems.append(problem(shared.name, why))
        return Fetched(attachments, problems)

    def _refusal(self, shared: SharedFile) -> str | None:
        if shared.mode in _UNAVAILABLE_MODES:
            return f"cannot be downloaded: {_UNAVAILABLE_MODES[shared.mode]}"
        if shared.filetype in _UNSUPPORTED_TYPES:
            return "is a Slack document, not a file ChatGPT can read; export it as a PDF"
        if shared.url is None:
            return "cannot be downloaded: Slack gave no download link"
        limit = self._limit(shared)
        if shared.size is not None and shared.size > limit:
            return f"is too large ({_size(shared.size)}; at most {_size(limit)})"
        return None

    def _limit(self, shared: SharedFile) -> int:
        probe = Attachment(shared.name, shared.mime_type, b"")
        return min(self._max_bytes, probe.limit)

    async def _download(self, session: aiohttp.ClientSession, shared: SharedFile) -> bytes:
        assert shared.url is not None
        url, limit = shared.url, self._limit(shared)
        headers = {"Authorization": f"Bearer {self._token}"}
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = _next_hop(url, response.headers.get("Location"))
                        continue
                    if response.status != 200:
                        raise DownloadError(
                            f"cannot be downloaded: Slack answered HTTP {response.status}"
                        )
                    if _is_login_page(response, shared):
                        raise DownloadError(
                            "cannot be downloaded: Slack sent a sign-in page instead (does the "
                            "app have the files:read scope? Reinstall it after adding it)"
                        )
                    return await _read_capped(response, limit)
            except (aiohttp.ClientError, TimeoutError) as error:
                raise DownloadError(f"cannot be downloaded ({type(error).__name__})") from None
        raise DownloadError("cannot be downloaded: Slack redirected it too many times")


class DownloadError(Exception):
    """Why one file could not be downloaded, in words for the thread."""


def _next_hop(url: str, location: str | None) -> str:
    """The redirect's target, if the token may go there: the same host, or Slack's own."""
    if not location:
        raise DownloadError("cannot be downloaded: Slack redirected it nowhere")
    target = urljoin(url, location)
    host, origin = urlsplit(target).hostname or "", urlsplit(url).hostname or ""
    if host != origin and not host.endswith(_SLACK_HOSTS):
        raise DownloadError(f"cannot be downloaded: Slack redirected it to another site ({host})")
    return target


def _is_login_page(response: aiohttp.ClientResponse, shared: SharedFile) -> bool:
    return response.content_type == "text/html" and shared.mime_type != "text/html"


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    data = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise DownloadError(f"is too large (more than {_size(limit)})")
    return bytes(data)


def _size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def without(attachments: Sequence[Attachment], name: str) -> list[Attachment]:
    """The attachments but the one ChatGPT refused (by the name its error gives)."""
    return [attachment for attachment in attachments if attachment.name != name]
