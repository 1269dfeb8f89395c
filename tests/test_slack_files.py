"""Files in Slack, both ways, through signed events and the fake Web API over real HTTP.

Shared files are downloaded with the bot token through Slack's redirect (the fake's file
host answers a sign-in page without it) and reach `ask(attachments=...)`; what cannot be
given to ChatGPT is named in the thread and the rest is asked. What ChatGPT draws is
uploaded into the thread with the external-upload flow, after the text, the prompt as its
alt text. All on a FakeBridge; the end-to-end test with Chromium is at the end.
"""

from __future__ import annotations

from typing import Any

from browser.events import Progress
from browser.generated import GeneratedFile
from slackbot.files_in import FILE_ONLY_PROMPT
from tests.fakes.bridge import Answer, FakeBridge
from tests.fixtures.slack_api import (
    FakeSlack,
    RunSlack,
    answer,
    message_event,
    new_ts,
    text_of,
    wait_for,
)

PERSONAL = "CPERSONAL1"
CHANNELS = {"slack_channels": [PERSONAL], "file_max_mb": 0.001}  # about 1 KB per file
PDF = b"%PDF-1.7 a small document"
PNG = b"\x89PNG\r\n\x1a\nthe drawn picture"


def with_files(slack: FakeSlack, text: str, *files: dict[str, Any], **event: Any) -> dict:
    return message_event(
        text,
        channel=event.pop("channel", PERSONAL),
        subtype="file_share",
        files=list(files),
        **event,
    )


async def test_a_message_that_is_only_a_file_is_answered_with_the_file(
    run_slack: RunSlack,
) -> None:
    async with run_slack(**CHANNELS) as app:
        shared = app.slack.host_file("report.pdf", PDF, "application/pdf")
        event = with_files(app.slack, "", shared)
        assert (await app.events.event(event)).status_code == 200
        await answer(app.slack, PERSONAL, event["ts"])
        [ask] = app.bridge.asks
        assert ask.prompt == FILE_ONLY_PROMPT
        [attached] = ask.attachments
        assert (attached.name, attached.mime_type, attached.data) == (
            "report.pdf",
            "application/pdf",
            PDF,
        )
        # Through the redirect, with the token kept on the second hop.
        assert app.slack.downloads == [(f"/files-host/{shared['id']}/report.pdf", True)]


async def test_files_that_cannot_be_had_are_named_and_the_rest_is_asked(
    run_slack: RunSlack,
) -> None:
    async with run_slack(**CHANNELS) as app:
        slack = app.slack
        good = slack.host_file("notes.txt", b"remember the milk", "text/plain")
        big = slack.host_file("huge.bin", bytes(4096), "application/octet-stream")
        gone = {**slack.host_file("old.png", PNG, "image/png"), "mode": "tombstone"}
        lost = {**slack.host_file("lost.pdf", PDF, "application/pdf")}
        lost["url_private_download"] = lost["url_private_download"].replace(lost["id"], "FNONE")
        event = with_files(slack, "summarise this", good, big, gone, lost)
        await app.events.event(event)
        thread = await answer(slack, PERSONAL, event["ts"])
        [ask] = app.bridge.asks
        assert ask.prompt == "summarise this"
        assert [a.name for a in ask.attachments] == ["notes.txt"]
        notice = next(m.text for m in thread if m.text.startswith(":paperclip:"))
        assert "*huge.bin*: is too large" in notice
        assert "*old.png*: cannot be downloaded: it was deleted" in notice
        assert "*lost.pdf*: cannot be downloaded: Slack answered HTTP 404" in notice
        assert "The rest was sent." in notice


async def test_a_file_chatgpt_refuses_is_named_and_the_question_asked_without_it(
    run_slack: RunSlack,
) -> None:
    bridge = FakeBridge(rejected_types={"application/zip"})
    async with run_slack(bridge, **CHANNELS) as app:
        zipped = app.slack.host_file("code.zip", b"PK\x03\x04", "application/zip")
        text = app.slack.host_file("main.py", b"print('hi')", "text/x-python")
        event = with_files(app.slack, "review this", zipped, text)
        await app.events.event(event)
        thread = await answer(app.slack, PERSONAL, event["ts"])
        first, second = bridge.asks
        assert [a.name for a in first.attachments] == ["code.zip", "main.py"]
        assert [a.name for a in second.attachments] == ["main.py"]
        assert "*code.zip*: ChatGPT does not accept" in text_of(thread)
        assert "Asking without it." in text_of(thread)


async def test_a_file_in_a_direct_message_thread_is_attached(run_slack: RunSlack) -> None:
    async with run_slack(**CHANNELS) as app:
        clip = app.slack.host_file("voice.m4a", b"\x00\x00\x00\x18ftypM4A ", "audio/mp4")
        root = new_ts()
        event = with_files(
            app.slack,
            "what do I say here?",
            clip,
            channel="D0DIRECT01",
            channel_type="im",
            thread_ts=root,
        )
        await app.events.event(event)
        await answer(app.slack, "D0DIRECT01", root)
        [ask] = app.bridge.asks
        assert [a.mime_type for a in ask.attachments] == ["audio/mp4"]


async def test_a_sign_in_page_is_never_taken_for_the_file(run_slack: RunSlack) -> None:
    async with run_slack(**CHANNELS) as app:
        app.slack.files_read = False  # the app was installed without files:read
        shared = app.slack.host_file("photo.png", PNG, "image/png")
        event = with_files(app.slack, "what is this?", shared)
        await app.events.event(event)
        thread = await answer(app.slack, PERSONAL, event["ts"])
        [ask] = app.bridge.asks
        assert ask.prompt == "what is this?" and ask.attachments == ()
        assert "*photo.png*: cannot be downloaded: Slack sent a sign-in page" in text_of(thread)
        assert "files:read" in text_of(thread)


async def test_a_drawn_picture_is_uploaded_into_the_thread_after_the_text(
    run_slack: RunSlack,
) -> None:
    picture = GeneratedFile("file_abc.png", "image/png", PNG, "a lighthouse at dusk")
    bridge = FakeBridge()
    bridge.script(Answer(Progress("image", "drawing"), "Here it is.", files=(picture,)))
    async with run_slack(bridge, **CHANNELS) as app:
        event = message_event("Draw a lighthouse at dusk", channel=PERSONAL)
        await app.events.event(event)
        thread = await answer(app.slack, PERSONAL, event["ts"])
        [upload] = await wait_for(lambda: app.slack.shared_uploads(PERSONAL, event["ts"]))
        assert (upload.data, upload.filename) == (PNG, "file_abc.png")
        assert upload.alt_txt == upload.title == "a lighthouse at dusk"
        assert "Here it is." in text_of(thread)
        calls = app.slack.calls
        methods = [call.method for call in calls]
        assert "files.upload" not in methods
        complete = methods.index("files.completeUploadExternal")
        assert methods.index("files.getUploadURLExternal") < complete
        wrote = [i for i, call in enumerate(calls) if "Here it is." in str(call.params)]
        assert wrote and max(wrote) < complete, "the picture comes after the answer's text"
        steps = [(c["title"], c["status"]) for m in thread for c in m.chunks]
        assert steps[:2] == [("drawing", "in_progress"), ("drawing", "complete")]


async def test_a_code_tool_file_is_posted_under_its_name_and_the_sandbox_link_unwritten(
    run_slack: RunSlack,
) -> None:
    csv = GeneratedFile("data.csv", "text/csv", b"row,value\n", sandbox_path="/mnt/data/data.csv")
    bridge = FakeBridge()
    link = "Done: [Download data.csv](sandbox:/mnt/data/data.csv)"
    # The link streams into the thread before the answer ends: the end rewrites it there.
    bridge.script(Answer(link, " Enjoy.", delay=0.5, files=(csv,)))
    async with run_slack(bridge, **CHANNELS) as app:
        event = message_event("Make a CSV", channel=PERSONAL)
        await app.events.event(event)
        thread = await answer(app.slack, PERSONAL, event["ts"])
        [upload] = await wait_for(lambda: app.slack.shared_uploads(PERSONAL, event["ts"]))
        assert (upload.data, upload.filename, upload.title) == (csv.data, "data.csv", "data.csv")
        assert not upload.alt_txt  # alt text describes pictures only
        text = text_of(thread)
        assert "Download data.csv (attached below)" in text and "sandbox:" not in text
