"""Image turns and code-tool files through real Chromium against the replica: made, read
back, downloaded at once."""

from __future__ import annotations

from typing import Any

import pytest

from browser import Bridge
from browser.events import Progress
from replica import pictures, sandbox

pytestmark = pytest.mark.browser


async def test_a_drawn_picture_reaches_the_turn_as_bytes(bridge: Bridge, replica: Any) -> None:
    # The link expires at once: only bytes fetched the moment it is handed out arrive.
    await replica.configure(image_delay_ms=300, image_link_ttl_ms=1000)
    prompt = "Draw a lighthouse at dusk"
    async with bridge.ask(prompt) as turn:
        deltas = [delta async for delta in turn]
    assert deltas == [] and turn.text == "" and turn.finish_reason == "stop"
    assert Progress("image", "drawing") in turn.events
    [picture] = turn.files
    assert picture.data == pictures.picture(prompt)
    assert picture.mime_type == "image/png" and picture.name.endswith(".png")
    assert picture.alt == prompt


async def test_a_code_tool_file_the_answer_links_reaches_the_turn_as_bytes(
    bridge: Bridge, replica: Any
) -> None:
    await replica.configure(image_link_ttl_ms=1000)
    prompt = "Make a CSV of four rows"
    async with bridge.ask(prompt) as turn:
        await turn.read()
    assert f"(sandbox:/mnt/data/{sandbox.FILE_NAME})" in turn.text  # the surfaces rewrite it
    [made] = turn.files
    assert made.data == sandbox.content(prompt) and made.data != sandbox.content("other")
    assert (made.name, made.mime_type) == (sandbox.FILE_NAME, "text/csv")
    assert made.sandbox_path == f"/mnt/data/{sandbox.FILE_NAME}" and not made.is_image


async def test_a_text_answer_has_no_files(bridge: Bridge) -> None:
    async with bridge.ask("Describe a lighthouse") as turn:
        await turn.read()
    assert turn.text and turn.files == []
