"""Downloading what a turn made, through the logged-in page, at once.

A generated picture's link is signed and expires (shared/research/chatgpt-web-2026.md:
"generated-image links expire (download at once)"), so the bytes are fetched the moment the
read-back names the picture: ask the page's backend for the link (`FILE_DOWNLOAD_PATH`,
with the page's bearer token), then fetch the link from inside the page, with its cookies,
exactly as its own `<img>` does. Nothing here stores anything: the surfaces get bytes.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from urllib.parse import quote

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from browser import selectors
from browser.errors import ChallengeError
from browser.generated import Asset, GeneratedFile, file_name
from browser.page import fetch_json

logger = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
"""A generated file larger than this is not handed on (a picture is a few MB)."""


async def download_all(
    page: Page, conversation_id: str, assets: Iterable[Asset], fallback_alt: str
) -> list[GeneratedFile]:
    """Each asset's bytes; one that cannot be fetched is logged and left out, so a picture
    that failed never costs the answer."""
    files = []
    for asset in assets:
        try:
            found = await download(page, conversation_id, asset, fallback_alt)
        except (ChallengeError, PlaywrightError, LookupError) as error:
            logger.warning("could not download generated file %s: %s", asset.file_id, error)
            continue
        files.append(found)
    return files


async def download(
    page: Page, conversation_id: str, asset: Asset, fallback_alt: str
) -> GeneratedFile:
    """One asset's bytes, with its MIME type; raises LookupError when it cannot be had."""
    path = selectors.FILE_DOWNLOAD_PATH.format(
        file_id=quote(asset.file_id, safe=""), conversation=quote(conversation_id, safe="")
    )
    status, body = await fetch_json(page, path, bearer=True)
    link = body.get("download_url") if isinstance(body, dict) else None
    if status != 200 or not isinstance(link, str):
        raise LookupError(f"no download link (HTTP {status})")
    fetched = await page.evaluate(_FETCH_BYTES_JS, {"url": link, "limit": MAX_DOWNLOAD_BYTES})
    if fetched.get("error"):
        raise LookupError(fetched["error"])
    mime_type = str(fetched.get("type") or "application/octet-stream").split(";")[0]
    return GeneratedFile(
        name=file_name(asset.file_id, mime_type),
        mime_type=mime_type,
        data=base64.b64decode(fetched["data"]),
        alt=asset.alt or fallback_alt,
    )


_FETCH_BYTES_JS = """
async ({url, limit}) => {
  const response = await fetch(url, {credentials: "include"});
  if (!response.ok) return {error: `the download link answered HTTP ${response.status}`};
  const blob = await response.blob();
  if (blob.size > limit) return {error: `the file is larger than ${limit} bytes`};
  const data = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  return {data, type: blob.type || response.headers.get("content-type")};
}
"""
