"""Files attached through the page: real Chromium, the replica's upload protocol, its chips.

The replica's answer lists every attachment it received with the SHA-256 of the bytes that
reached it, so each test proves the file arrived whole, not just that a chip turned green.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from browser import Bridge
from browser.attachments import LONG_PROMPT_LEAD_IN, PROMPT_FILE, Attachment
from browser.errors import AttachmentRejectedError, AttachmentUploadError, WebAppError

pytestmark = pytest.mark.browser

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg=="
)
"""A 2x2 red PNG."""


def listed(attachment: Attachment) -> str:
    """The line of the replica's answer that proves `attachment` arrived intact."""
    return (
        f"- {attachment.name} ({attachment.mime_type}, {attachment.size} bytes, "
        f"sha256 {attachment.sha256})"
    )


async def ask(bridge: Bridge, prompt: str, *files: Attachment, **options: Any) -> Any:
    async with bridge.ask(prompt, attachments=files, **options) as turn:
        await turn.read()
    return turn


async def test_a_file_reaches_chatgpt_intact(bridge: Bridge, replica: Any) -> None:
    await replica.configure(ttft_ms=20, chunk_delay_ms=5, chunk_chars=200)
    notes = Attachment.of("notes.txt", "first line\nsecond line ✓\n".encode())
    turn = await ask(bridge, "Summarise the notes", notes)
    assert listed(notes) in turn.text
    assert 'You said: "Summarise the notes"' in turn.text
    send = (await replica.sends())[-1]
    assert send["attachments"] == [
        {
            "id": send["attachments"][0]["id"],
            "name": "notes.txt",
            "size": notes.size,
            "mime_type": "text/plain",
        }
    ]
    assert send["content_type"] == "text"

    # A follow-up with another file continues the same chat.
    csv = Attachment.of("data.csv", b"a,b\n1,2\n", "text/csv")
    again = await ask(bridge, "And this one?", csv, conversation_id=turn.conversation_id)
    assert again.conversation_id == turn.conversation_id
    assert "User messages so far: 2." in again.text and listed(csv) in again.text


async def test_several_files_and_an_image(bridge: Bridge, replica: Any) -> None:
    await replica.configure(ttft_ms=20, chunk_delay_ms=5, chunk_chars=200)
    files = (
        Attachment.of("chart.png", PNG),
        Attachment.of("report.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 40),
        Attachment.of("main.py", b"print('hello')\n"),
    )
    turn = await ask(bridge, "Compare them", *files)
    for attachment in files:
        assert listed(attachment) in turn.text
    send = (await replica.sends())[-1]
    # The image goes as a part of the message, every file in its metadata, as the app does.
    assert send["content_type"] == "multimodal_text"
    image = next(entry for entry in send["attachments"] if entry["name"] == "chart.png")
    assert image["mimeType"] == "image/png" and (image["width"], image["height"]) == (2, 2)
    assert [entry["name"] for entry in send["attachments"]] == [a.name for a in files]


async def test_a_refused_type_or_size_sends_nothing(bridge: Bridge, replica: Any) -> None:
    before = len(await replica.sends())
    program = Attachment("setup.exe", "application/x-msdownload", b"MZ" + bytes(64))
    with pytest.raises(AttachmentRejectedError) as refused:
        await ask(bridge, "Run this", Attachment.of("ok.txt", b"fine"), program)
    assert refused.value.name == "setup.exe" and refused.value.delivered is False
    assert "not supported" in str(refused.value)

    await replica.configure(upload_max_bytes=1000)
    with pytest.raises(AttachmentRejectedError) as too_big:
        await ask(bridge, "Read this", Attachment.of("big.txt", b"x" * 5000))
    assert "too large" in str(too_big.value)
    assert len(await replica.sends()) == before, "a refused file must leave nothing sent"


async def test_a_failed_upload_sends_nothing(bridge: Bridge, replica: Any) -> None:
    await replica.configure(upload_fail_next=1)
    before = len(await replica.sends())
    with pytest.raises(AttachmentUploadError) as failed:
        await ask(bridge, "Read this", Attachment.of("doc.md", b"# Title\n"))
    assert failed.value.name == "doc.md" and failed.value.delivered is False
    assert len(await replica.sends()) == before
    # The tab is usable again at once: the next question with a file goes through.
    await replica.configure(ttft_ms=20, chunk_delay_ms=5, chunk_chars=200)
    retry = Attachment.of("doc.md", b"# Title\n")
    assert listed(retry) in (await ask(bridge, "Read this", retry)).text


async def test_a_long_prompt_goes_whole_as_a_file(bridge: Bridge, replica: Any) -> None:
    await replica.configure(ttft_ms=20, chunk_delay_ms=5, chunk_chars=400)
    prompt = "Please review this log.\n" + "line of a very long log ✓\n" * 1500  # > 30,000
    turn = await ask(bridge, prompt)
    pasted = Attachment(PROMPT_FILE, "text/markdown", prompt.encode())
    assert listed(pasted) in turn.text, "the whole prompt must arrive, byte for byte"
    send = (await replica.sends())[-1]
    assert send["prompt"] == LONG_PROMPT_LEAD_IN
    assert [entry["name"] for entry in send["attachments"]] == [PROMPT_FILE]


async def test_a_page_without_a_file_input_sends_nothing(bridge: Bridge, replica: Any) -> None:
    await replica.configure(renderer="classic")  # the 2025 page: no attachments modelled
    before = len(await replica.sends())
    notes = Attachment.of("C:\\Users\\me\\notes.txt", b"hi")
    assert notes.name == "notes.txt", "a chosen file carries no folders"
    with pytest.raises(WebAppError) as refused:
        await ask(bridge, "Read this", notes)
    assert refused.value.delivered is False and "file input" in str(refused.value)
    assert len(await replica.sends()) == before
