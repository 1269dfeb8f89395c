"""An image turn through real Chromium against the replica: drawn, read back, downloaded."""

from __future__ import annotations

from typing import Any

import pytest

from browser import Bridge
from browser.events import Progress
from replica import pictures

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


async def test_a_text_answer_has_no_files(bridge: Bridge) -> None:
    async with bridge.ask("Describe a lighthouse") as turn:
        await turn.read()
    assert turn.text and turn.files == []
