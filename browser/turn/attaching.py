"""Attaching files the way a person does: the composer's file input, then the chips.

The page runs the web app's own upload protocol (name the file, put its bytes, confirm,
process), so the bridge never speaks it: it hands the files to the composer's file input as
a file chooser would, then watches each file's chip until every one shows it uploaded. A
chip that shows the file refused (its type, its size) or its upload failed ends the turn
before anything is typed or sent, with the page's own reason in a typed error.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import ElementHandle, FilePayload, Page
from playwright.async_api import Error as PlaywrightError

from browser import adapters, selectors
from browser.attachments import Attachment
from browser.errors import (
    AttachmentRejectedError,
    AttachmentUploadError,
    WebAppError,
)

logger = logging.getLogger("browser.turn")

BUFFER_LIMIT = 48 * 1024 * 1024
"""Playwright refuses in-memory files of more than 50 MB in all: larger sets go as files."""
UPLOAD_BASE_TIMEOUT = 60.0
UPLOAD_SECONDS_PER_MB = 1.0
"""How long the uploads may take: a minute, plus a second per megabyte (a slow uplink)."""
POLL = 0.1

_INPUT_JS = f"""
(L) => {{
  const kit = ({adapters.KIT_JS})(L);
  return kit.every(kit.scope, "file_input")[0] || null;
}}
"""

_CHIPS_JS = f"""
([L, stateAttribute, nameAttribute]) => {{
  const kit = ({adapters.KIT_JS})(L);
  return kit.every(kit.scope, "attachment_chip").map((chip) => ({{
    name: chip.getAttribute(nameAttribute) || kit.text(chip),
    state: chip.getAttribute(stateAttribute) || "",
    error: kit.text(kit.inside(chip, "chip_error")),
  }}));
}}
"""


async def attach(page: Page, attachments: tuple[Attachment, ...], data_dir: Path) -> None:
    """Attach `attachments` in the composer and wait until each is uploaded (or raise)."""
    if not attachments:
        return
    file_input = await _file_input(page)
    total = sum(attachment.size for attachment in attachments)
    if total <= BUFFER_LIMIT:
        await file_input.set_input_files([_payload(a) for a in attachments])
    else:
        folder = await asyncio.to_thread(_write_files, attachments, data_dir)
        try:
            await file_input.set_input_files([folder / a.name for a in attachments])
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)
    timeout = UPLOAD_BASE_TIMEOUT + UPLOAD_SECONDS_PER_MB * total / (1024 * 1024)
    await _wait_uploaded(page, attachments, timeout)


async def _file_input(page: Page) -> ElementHandle:
    handle = (await page.evaluate_handle(_INPUT_JS, selectors.layered())).as_element()
    if handle is None:
        raise WebAppError(
            "ChatGPT's page shows no way to attach files (no file input in the message box), "
            "so nothing was sent. Update the bridge, or add the input's selector as "
            '"file_input" in BRIDGE_SELECTORS_FILE.',
            delivered=False,
        )
    return handle


def _payload(attachment: Attachment) -> FilePayload:
    return {"name": attachment.name, "mimeType": attachment.mime_type, "buffer": attachment.data}


def _write_files(attachments: tuple[Attachment, ...], data_dir: Path) -> Path:
    """Large files go through a private folder of the data directory, under their names."""
    data_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="uploads-", dir=data_dir))
    for attachment in attachments:
        (folder / Path(attachment.name).name).write_bytes(attachment.data)
    return folder


async def _wait_uploaded(page: Page, attachments: tuple[Attachment, ...], timeout: float) -> None:
    """Every chip uploaded: return; one refused or failed: raise with the page's reason."""
    by_name = {attachment.name: attachment for attachment in attachments}
    deadline = time.monotonic() + timeout
    chips: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            chips = await page.evaluate(
                _CHIPS_JS, [selectors.layered(), selectors.CHIP_STATE, selectors.CHIP_NAME]
            )
        except PlaywrightError:
            if page.is_closed():
                raise
            chips = []  # the page is between renders: look again
        for chip in chips:
            _raise_for(chip, by_name)
        uploaded = [chip for chip in chips if chip["state"] == "uploaded"]
        if len(uploaded) >= len(attachments):
            logger.debug("%d attachment(s) uploaded", len(uploaded))
            return
        await asyncio.sleep(POLL)
    pending = [chip["name"] for chip in chips if chip["state"] != "uploaded"]
    name = pending[0] if pending else attachments[0].name
    raise AttachmentUploadError(
        name,
        f"the page did not show it uploaded within {timeout:.0f} s"
        + ("" if chips else " (no attachment appeared in the message box)"),
    )


def _raise_for(chip: dict[str, Any], by_name: dict[str, Attachment]) -> None:
    state, name, reason = chip["state"], chip["name"], chip["error"] or None
    if state == "rejected":
        attachment = by_name.get(name)
        mime_type = attachment.mime_type if attachment else "unknown"
        raise AttachmentRejectedError(name, mime_type, reason)
    if state == "failed":
        raise AttachmentUploadError(name, reason or "the page shows the upload failed")
