"""File inputs of every endpoint: parsed once while the request is checked, read when sent.

Chat completions name files as `image_url`, `file` and `input_audio` parts (the Responses
API's `input_image` and `input_file` arrive translated into these, `responses_api.items`).
`source_of_part` turns each into a `FileSource` while the request is validated (no I/O: a
malformed one is a 400 before anything else happens), and `FileInputs.attachments()` makes
the `browser.attachments.Attachment`s when the prompt is about to be sent: a data URL or base64
decoded, a `file_id` read from `/v1/files`, an http(s) URL fetched only when
`BRIDGE_FETCH_URLS` allows it (`app.api.fetching`). The browser then uploads them through
the page, where ChatGPT's own limits and types apply.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.api.errors import APIError
from app.api.fetching import FetchRefusedError, UrlFetcher
from app.config import Settings
from app.files import FileStore, UnknownFileError
from browser.attachments import Attachment

_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w.+-]+=[^;,]*)*;base64,", re.I)
_DECODE_OFF_LOOP = 1024 * 1024
"""Base64 longer than this is decoded in a thread: the event loop keeps serving meanwhile."""
_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


@dataclass(frozen=True)
class FileSource:
    """One file a request names, not read yet."""

    kind: Literal["data", "url", "file_id"]
    value: str
    """The data URL or bare base64, the URL, or the `/v1/files` id."""
    filename: str | None = None
    mime_type: str | None = None
    image: bool = False
    """Named as an image (`image_url`, `input_image`): anything else is refused."""

    @property
    def identity(self) -> str:
        """What tells two files apart in a history hash, without reading either."""
        if self.kind == "data":
            return "sha256:" + hashlib.sha256(self.value.encode()).hexdigest()
        return f"{self.kind}:{self.value}"

    @property
    def label(self) -> str:
        """How a transcript mentions the file."""
        return self.filename or ("an image" if self.image else "a file")


def image_source(url: object, what: str) -> FileSource:
    """An image given as a data URL or an http(s) URL."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"{what} needs an image URL (a data URL or http(s))")
    if url.startswith(("http://", "https://")):
        return FileSource("url", url, image=True)
    match = _DATA_URL.match(url)
    if match is None:
        raise ValueError(f"{what} must be a base64 data URL (data:image/png;base64,...) or http(s)")
    return FileSource("data", url, mime_type=match.group("mime"), image=True)


def data_source(data: object, filename: object, what: str) -> FileSource:
    """A file given inline: a data URL or bare base64, with its name."""
    if not isinstance(data, str) or not data:
        raise ValueError(f"{what} needs 'file_data' (base64 or a data URL)")
    if not isinstance(filename, str) or not filename:
        raise ValueError(f"{what} with 'file_data' needs a 'filename'")
    match = _DATA_URL.match(data)
    mime = match.group("mime") if match else None
    return FileSource("data", data, filename=filename, mime_type=mime)


def url_source(url: object, filename: object, what: str) -> FileSource:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"{what} needs an http(s) 'file_url'")
    return FileSource("url", url, filename=filename if isinstance(filename, str) else None)


def id_source(file_id: object, what: str) -> FileSource:
    if not isinstance(file_id, str) or not file_id:
        raise ValueError(f"{what} needs a 'file_id' string")
    return FileSource("file_id", file_id)


def source_of_part(kind: str, item: dict[str, Any], what: str) -> FileSource:
    """A chat completion part `image_url`, `file` or `input_audio` (`what` names it)."""
    if kind == "image_url":
        image = item.get("image_url")
        return image_source(image.get("url") if isinstance(image, dict) else None, what)
    if kind == "file":
        file = item.get("file")
        if not isinstance(file, dict):
            raise ValueError(f"{what} of type 'file' needs a 'file' object")
        if file.get("file_id") is not None:
            return id_source(file.get("file_id"), what)
        if file.get("file_url") is not None:  # the Responses API's `input_file.file_url`
            return url_source(file.get("file_url"), file.get("filename"), what)
        return data_source(file.get("file_data"), file.get("filename"), what)
    audio = item.get("input_audio")
    audio = audio if isinstance(audio, dict) else {}
    kind_of = audio.get("format")
    if kind_of not in _AUDIO_TYPES:
        raise ValueError(f"{what} of type 'input_audio' needs 'format' wav or mp3")
    if not isinstance(audio.get("data"), str) or not audio["data"]:
        raise ValueError(f"{what} of type 'input_audio' needs base64 'data'")
    return FileSource("data", audio["data"], f"audio.{kind_of}", _AUDIO_TYPES[kind_of])


class FileInputs:
    """Reads `FileSource`s into attachments: the request's data, `/v1/files`, or the web."""

    def __init__(self, files: FileStore, fetcher: UrlFetcher | None) -> None:
        self._files = files
        self._fetcher = fetcher

    async def attachments(self, sources: Sequence[FileSource]) -> tuple[Attachment, ...]:
        """Every source read; raises a 400 APIError naming the file that cannot be."""
        made = []
        for number, source in enumerate(sources, start=1):
            data, mime, name = await self._read(source)
            mime = mime or mimetypes.guess_type(name or "")[0]
            if source.image and not (mime or "").startswith("image/"):
                raise _invalid(f"{source.label} is not an image ({mime or 'unknown type'}).")
            made.append(Attachment.of(name or _default_name(source, number, mime), data, mime))
        return tuple(made)

    async def _read(self, source: FileSource) -> tuple[bytes, str | None, str | None]:
        if source.kind == "data":
            return await _decode(source), source.mime_type, source.filename
        if source.kind == "file_id":
            try:
                record = await self._files.get(source.value)
                return await self._files.read(source.value), record.mime, record.filename
            except UnknownFileError as error:
                raise APIError(404, str(error), param="file_id") from None
        if self._fetcher is None:
            raise _invalid(
                f"The bridge does not fetch URLs ({source.value}): send the file as a data URL "
                "or file_data, or upload it to /v1/files and pass its file_id. "
                "BRIDGE_FETCH_URLS=true turns fetching of public URLs on.",
                code="url_not_allowed",
            )
        try:
            fetched = await self._fetcher.fetch(source.value)
        except FetchRefusedError as error:
            raise _invalid(str(error), code=error.code) from None
        return fetched.data, fetched.mime_type, source.filename or fetched.filename


def file_inputs(settings: Settings, files: FileStore) -> FileInputs:
    """The app's file inputs: its `/v1/files` store, and a fetcher if URLs may be fetched."""
    fetcher = UrlFetcher(settings.fetch_max_bytes) if settings.fetch_urls else None
    return FileInputs(files, fetcher)


async def _decode(source: FileSource) -> bytes:
    payload = source.value.split(",", 1)[1] if _DATA_URL.match(source.value) else source.value
    try:
        if len(payload) > _DECODE_OFF_LOOP:
            return await asyncio.to_thread(base64.b64decode, payload, validate=True)
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"The data of {source.label} is not valid base64.") from None


def _default_name(source: FileSource, number: int, mime: str | None) -> str:
    extension = mimetypes.guess_extension(mime or "") or ""
    return f"{'image' if source.image else 'file'}-{number}{extension}"


def _invalid(message: str, code: str = "invalid_file") -> APIError:
    return APIError(400, message, param="messages", code=code)
