"""Showing one streaming answer in a Slack thread.

Two ways to put growing text into Slack, chosen per message:
- native streaming (`chat.startStream` / `appendStream` / `stopStream`): Slack renders the
  Markdown itself and the text flows in smoothly; not every workspace or plan allows it;
- a message edited with `chat.update` about once a second (Slack's Tier 3 limit leaves room
  for a few answers at once), converted to mrkdwn.
The first refusal of streaming (`not_allowed`, `unknown_method`, ...) switches the whole
service to edits; a stream that expires (`message_not_in_streaming_state`) is finished with
`chat.update` of its full text. Long answers continue in new messages (see `split.py`).

A separate control message carries the Stop button while the answer is written: a streamed
message cannot hold buttons until it is finished, and the control message is deleted at the
end so the thread keeps only the answer, which ends with a small footer (model, link). In
the agent DM, where the thread's session shows Slack's own Stop button (`session.py`), the
control message is left out. The last message of an answer ends with the feedback buttons
(`feedback.py`) under its footer, whichever way it was written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from browser.events import Progress
from slackbot import phases
from slackbot.mrkdwn import escape, markdown_to_mrkdwn
from slackbot.progress import Steps
from slackbot.split import SLACK_TEXT_LIMIT, Splitter, split_text

if TYPE_CHECKING:
    from slackbot.session import ThreadStatus

logger = logging.getLogger(__name__)

STOP_ACTION = "chatgpt_bridge_stop"
UPDATE_INTERVAL = 1.0
"""Seconds between two edits of a message: Slack allows about 50 `chat.update` a minute."""

STREAM_AGE = 240.0
"""Seconds a streamed message is written before the answer rolls over to a new one: Slack
seals a stream about five minutes after it starts, however often it is appended to."""
STREAM_BYTES = 9000
"""UTF-8 bytes streamed into one message at most: Slack's undocumented cumulative cap
(measured at ~10.6-11.3 KB) then refuses every append with `msg_too_long`."""
STREAM_ENDED = frozenset({"message_not_in_streaming_state", "msg_too_long"})
"""Append errors after which the stream takes no more text: roll over to a new message."""
CONTINUED = ":arrow_down: continued below"

SECTION_LIMIT = 3000
"""Slack's limit for the text of one section block."""
MIN_PART = 400
"""`msg_too_long` below this many characters is not a length problem: give up splitting."""

STREAMING_REFUSED = frozenset(
    {
        "unknown_method",
        "not_allowed",
        "not_allowed_token_type",
        "feature_not_enabled",
        "method_deprecated",
        "missing_scope",
        "team_not_allowed",
        "not_supported",
    }
)
"""Errors of `chat.startStream` that mean this workspace will never stream for us."""


def slack_error(error: SlackApiError) -> str:
    """The `error` code of a failed Web API call (e.g. `msg_too_long`)."""
    data = getattr(error.response, "data", None)
    return str(data.get("error", "")) if isinstance(data, dict) else ""


@dataclass
class Streaming:
    """Whether native streaming is worth trying; shared by every answer of one service."""

    enabled: bool = True


@dataclass(frozen=True)
class Recipient:
    """Who asked: Slack requires it to stream into a channel thread."""

    user_id: str | None
    team_id: str | None


@dataclass
class _Message:
    """The message that shows the part currently being written."""

    ts: str | None = None
    streaming: bool = False
    sent: int = 0
    """Characters of the part already appended to the stream."""
    streamed: str = ""
    """Those characters: a final text that no longer starts with them was rewritten."""
    size: int = 0
    """UTF-8 bytes already streamed into it (Slack's cumulative cap counts bytes)."""
    shown: str = ""
    """The mrkdwn last written with `chat.update`."""
    started: float = field(default_factory=time.monotonic)


class AnswerWriter:
    """Writes one answer into one thread: `open()`, `update(text)` repeatedly, `finish()`."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        thread_ts: str,
        recipient: Recipient,
        streaming: Streaming,
        status: ThreadStatus,
        interval: float = UPDATE_INTERVAL,
        limit: int = SLACK_TEXT_LIMIT,
        stream_age: float = STREAM_AGE,
        stream_bytes: int = STREAM_BYTES,
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._recipient = recipient
        self._streaming = streaming
        self.status = status
        """The thread's session: working, titled, done."""
        self._interval = interval
        self._stream_age = stream_age
        self._stream_bytes = stream_bytes
        self._steps = Steps()
        self._step_at = 0
        """Length of the text when the running step began: later text completes it."""
        self._splitter = Splitter(limit)
        self._message = _Message()
        self._control_ts: str | None = None
        self._latest = ""
        self._ending: list[dict[str, Any]] = []
        """Blocks the answer's last message ends with, after its footer (the feedback)."""
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._job_id: int | None = None
        self._opening: asyncio.Task[None] | None = None
        self.messages: list[str] = []
        """Timestamps of the answer's messages, in order."""

    async def open(self, job_id: int, title: str | None = None) -> None:
        """Show at once that the question was taken, with a Stop button.

        `title` names a new session (the question's first line) until ChatGPT's own title.
        """
        self._job_id = job_id
        native = await self.status.working(title)
        if native and self._channel.startswith("D"):
            return  # the agent DM: Slack's own Stop button shows in the session
        try:
            response = await self._client.chat_postMessage(
                channel=self._channel,
                thread_ts=self._thread_ts,
                text="ChatGPT is thinking…",
                blocks=control_blocks(job_id),
            )
            self._control_ts = response.get("ts")
        except SlackApiError as error:
            logger.warning(
                "cannot post the Stop button in %s: %s", self._channel, slack_error(error)
            )

    def begin(self, job_id: int, title: str | None = None) -> None:
        """`open()` without waiting for it: the question goes to ChatGPT meanwhile.

        The status and the Stop button are two Slack round trips (each a few hundred ms on the
        real Slack) that would otherwise come before the prompt is even typed. Every write of
        the answer waits for them instead (`ready()`), so the Stop button still comes first.
        """
        self._opening = asyncio.create_task(self._open(job_id, title), name="slack-writer-open")

    async def _open(self, job_id: int, title: str | None) -> None:
        try:
            await self.open(job_id, title)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            # Both are niceties beside the answer, which is being asked for already.
            logger.warning("cannot show in %s that ChatGPT works: %s", self._channel, error)
        phases.reached(phases.OPENED, job_id)

    async def ready(self) -> None:
        """Wait until what `begin()` started is in the thread (at once without `begin()`)."""
        if self._opening is not None:
            await self._opening

    def update(self, text: str) -> None:
        """Take the whole answer so far; it is shown within about `interval` seconds."""
        self._latest = text
        self._poke()

    def step(self, event: Progress) -> None:
        """ChatGPT works on something that is not text yet: shown as a task of the stream."""
        self._steps.note(event)
        self._step_at = len(self._latest)
        self._poke()

    def _poke(self) -> None:
        self._wake.set()
        if self._loop is None:
            self._loop = asyncio.create_task(self._run(), name=f"slack-writer-{self._thread_ts}")

    async def finish(
        self,
        text: str,
        *,
        footer: str | None,
        warning: str | None = None,
        feedback: dict[str, Any] | None = None,
    ) -> None:
        """Write the final text, the footer, an optional warning, and remove the Stop button.

        `feedback` (the thumbs' block) ends the last message, under its footer."""
        await self._stop_loop()
        await self.ready()
        self._latest = text
        self._ending = [feedback] if feedback else []
        parts = self._splitter.feed(text, floor=self._floor())
        last = self._splitter.current(text)
        if last.strip() or self._message.ts:
            parts.append(last)
        for index, part in enumerate(parts):
            final = index == len(parts) - 1
            await self._complete(part, footer=footer if final and not warning else None)
        if warning:
            note = f":warning: {escape(warning)}"
            await self._post(note, blocks=_text_blocks(note, self._end(footer)))
        elif not self.messages and footer:
            empty = "_(empty answer)_"
            await self._post(empty, blocks=_text_blocks(empty, self._end(footer)))
        await self.close()

    async def close(self) -> None:
        """Remove the Stop button and the status; safe to call more than once."""
        await self._stop_loop()
        await self.ready()
        if self._control_ts:
            ts, self._control_ts = self._control_ts, None
            try:
                await self._client.chat_delete(channel=self._channel, ts=ts)
            except SlackApiError as error:
                logger.info("cannot delete the control message: %s", slack_error(error))
                with suppress(SlackApiError):
                    await self._client.chat_update(
                        channel=self._channel, ts=ts, text="Finished.", blocks=[]
                    )
        await self.status.done()

    async def _stop_loop(self) -> None:
        self._closing.set()
        self._wake.set()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            with suppress(asyncio.CancelledError):
                await loop

    async def _run(self) -> None:
        while not self._closing.is_set():
            await self._wake.wait()
            self._wake.clear()
            if self._closing.is_set():
                return
            try:
                await self._progress(self._latest)
            except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as error:
                # The final write retries everything; a failed intermediate edit only costs
                # freshness.
                detail = slack_error(error) if isinstance(error, SlackApiError) else error
                logger.warning("cannot update the answer in Slack: %s", detail)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._interval)

    def _floor(self) -> int:
        return self._message.sent if self._message.streaming else 0

    async def _progress(self, text: str) -> None:
        await self.ready()
        for part in self._splitter.feed(text, floor=self._floor()):
            await self._complete(part, footer=None)
        if len(text) > self._step_at:
            self._steps.finish()
        if self._message.streaming and self._too_old(self._message):
            await self._roll(text, note=True)  # before Slack seals it
        current = self._splitter.current(text)
        tasks = self._steps.pending and self._streaming.enabled
        if not current.strip() and not tasks:
            return
        if self._message.ts is None and self._streaming.enabled:
            await self._start_stream(current[: self._splitter.streamable(text)])
            if self._message.ts is not None:
                return
        message = self._message
        if message.ts is None:
            if current.strip():
                await self._start_update(current)
        elif message.streaming:
            await self._append(text, current[message.sent : self._splitter.streamable(text)])
        else:
            await self._edit(current)

    def _too_old(self, message: _Message) -> bool:
        return time.monotonic() - message.started > self._stream_age

    async def _start_stream(self, text: str) -> None:
        tasks = self._steps.take()
        replay = [chunk for chunk in self._steps.replay() if chunk not in tasks]
        chunks = [*replay, *tasks, *_markdown(text)]
        if not chunks:
            return
        try:
            response = await self._client.chat_startStream(
                channel=self._channel,
                thread_ts=self._thread_ts,
                chunks=chunks,
                recipient_user_id=self._recipient.user_id,
                recipient_team_id=self._recipient.team_id,
            )
        except SlackApiError as error:
            code = slack_error(error)
            if code in STREAMING_REFUSED:
                logger.info("native streaming unavailable (%s): using message edits", code)
                self._streaming.enabled = False
            else:
                logger.warning("chat.startStream failed (%s): editing a message instead", code)
            return
        self._message = _Message(
            ts=response.get("ts"), streaming=True, sent=len(text), size=_size(text), streamed=text
        )
        self._shown(str(response.get("ts")))

    async def _start_update(self, text: str) -> None:
        mrkdwn = markdown_to_mrkdwn(text)
        try:
            ts = await self._post(mrkdwn)
        except SlackApiError as error:
            if slack_error(error) != "msg_too_long":
                raise
            self._shrink(text)
            return
        self._message = _Message(ts=ts, shown=mrkdwn)

    async def _append(self, full: str, text: str) -> None:
        """Stream `text` (the next piece of the current part of `full`) and any new steps."""
        message = self._message
        if text and message.size + _size(text) > self._stream_bytes:
            await self._roll(full, note=True)  # before Slack's cumulative cap refuses it
            current = self._splitter.current(full)
            await self._start_stream(current[: self._splitter.streamable(full)])
            return
        tasks = self._steps.take()
        if not text and not tasks:
            return
        try:
            await self._client.chat_appendStream(
                channel=self._channel, ts=message.ts, chunks=[*tasks, *_markdown(text)]
            )
        except SlackApiError as error:
            code = slack_error(error)
            self._steps.restore(tasks)
            if code in STREAM_ENDED:
                # Sealed (its ~5 minutes are over) or full: the text Slack has stays, the
                # rest goes on in a new streamed message, from the very next character.
                logger.info("stream ended (%s): continuing in a new message", code)
                await self._roll(full, note=code == "msg_too_long")
                current = self._splitter.current(full)
                await self._start_stream(current[: self._splitter.streamable(full)])
                return
            logger.info("stream lost (%s): continuing with edits", code)
            message.streaming = False
            message.sent, message.streamed = 0, ""
            return
        message.sent += len(text)
        message.streamed += text
        message.size += _size(text)

    async def _roll(self, full: str, *, note: bool) -> None:
        """End the current streamed message where it is; the next part starts right after.

        `note`: the stream still takes a last call, so it ends with "continued below" (and
        closes a code block cut in two). A sealed stream takes none.
        """
        message, self._message = self._message, _Message()
        part = self._splitter.cut_at(full, message.sent)
        if not note or message.ts is None:
            return
        closer = self._splitter.reopened_fence()
        try:
            await self._client.chat_stopStream(
                channel=self._channel,
                ts=message.ts,
                chunks=_markdown(f"\n{closer}" if closer and not part.endswith("\n") else closer),
                blocks=[_footer_block(CONTINUED)],
            )
        except SlackApiError as error:
            logger.info("cannot close the rolled-over stream: %s", slack_error(error))

    async def _edit(self, text: str) -> None:
        mrkdwn = markdown_to_mrkdwn(text)
        if mrkdwn == self._message.shown:
            return
        try:
            await self._client.chat_update(
                channel=self._channel, ts=self._message.ts, text=mrkdwn, blocks=[]
            )
        except SlackApiError as error:
            if slack_error(error) != "msg_too_long":
                raise
            self._shrink(text)
            return
        self._message.shown = mrkdwn

    def _shrink(self, text: str) -> None:
        """Slack refused the length: cut future parts shorter (the next write re-cuts)."""
        limit = max(MIN_PART, min(self._splitter.limit, len(text)) * 2 // 3)
        logger.info("msg_too_long at %d characters: parts now at most %d", len(text), limit)
        self._splitter.limit = limit

    async def _complete(self, part: str, *, footer: str | None) -> None:
        """Finish the current message with `part` (its final text) and start a new one."""
        message, self._message = self._message, _Message()
        if message.ts and message.streaming:
            self._steps.finish()
            # A stream only appends: when the final text rewrote what it showed (a `sandbox:`
            # link become "attached below"), it ends as it is and the message is replaced.
            rewritten = not part.startswith(message.streamed)
            tail = "" if rewritten else part[message.sent :]
            chunks = [*self._steps.take(), *_markdown(tail)] or None
            try:
                await self._stop_stream(message.ts, chunks, footer)
                if rewritten:
                    await self._write(message.ts, part, footer)
                return
            except SlackApiError as error:
                code = slack_error(error)
                logger.info("stream lost at the end (%s): writing the text", code)
                if code == "msg_too_long" and message.sent:
                    # Full: it keeps what it has, the rest follows in a message of its own.
                    with suppress(SlackApiError):
                        await self._client.chat_stopStream(
                            channel=self._channel,
                            ts=message.ts,
                            blocks=[_footer_block(CONTINUED)],
                        )
                    await self._write(None, part[message.sent :], footer)
                    return
        await self._write(message.ts, part, footer)

    async def _stop_stream(
        self, ts: str, chunks: list[dict[str, Any]] | None, footer: str | None
    ) -> None:
        """End a stream with its last chunks and the blocks under it (again without the
        feedback buttons if Slack refuses them)."""
        for attempt in range(2):
            try:
                await self._client.chat_stopStream(
                    channel=self._channel, ts=ts, chunks=chunks, blocks=self._end(footer) or None
                )
                return
            except SlackApiError as error:
                if attempt or not self._refused_feedback(error):
                    raise

    def _refused_feedback(self, error: SlackApiError) -> bool:
        """Slack refused the blocks and the feedback buttons are among them: drop those."""
        if slack_error(error) != "invalid_blocks" or not self._ending:
            return False
        logger.warning("Slack refused the feedback buttons: the answer ends without them")
        self._ending = []
        return True

    async def _write(self, ts: str | None, part: str, footer: str | None) -> None:
        """Post (ts None) or replace a message with `part`, splitting on `msg_too_long`."""
        mrkdwn = markdown_to_mrkdwn(part)
        blocks = _text_blocks(mrkdwn, self._end(footer)) if footer else []
        try:
            if ts is None:
                await self._post(mrkdwn, blocks=blocks or None)
            else:
                await self._client.chat_update(
                    channel=self._channel, ts=ts, text=mrkdwn, blocks=blocks
                )
            return
        except SlackApiError as error:
            if self._refused_feedback(error):
                await self._write(ts, part, footer)
                return
            if slack_error(error) != "msg_too_long" or len(part) < MIN_PART:
                raise
        self._shrink(part)
        pieces = split_text(part, self._splitter.limit)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            await self._write(ts if index == 0 else None, piece, footer if last else None)

    def _end(self, footer: str | None) -> list[dict[str, Any]]:
        """The blocks under the last message's text: its footer, then the feedback."""
        return [_footer_block(footer), *self._ending] if footer else []

    async def _post(self, text: str, *, blocks: list[dict[str, Any]] | None = None) -> str:
        response = await self._client.chat_postMessage(
            channel=self._channel, thread_ts=self._thread_ts, text=text, blocks=blocks
        )
        ts = str(response.get("ts"))
        self._shown(ts)
        return ts

    def _shown(self, ts: str) -> None:
        """A message of the answer is in the thread."""
        self.messages.append(ts)
        if len(self.messages) == 1:
            phases.reached(phases.FIRST_TEXT, self._job_id)
        self.status.shown()


def control_blocks(job_id: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": ":hourglass_flowing_sand: ChatGPT is writing…"}
            ],
        },
        {
            "type": "actions",
            "block_id": "chatgpt_bridge_controls",
            "elements": [
                {
                    "type": "button",
                    "action_id": STOP_ACTION,
                    "text": {"type": "plain_text", "text": "Stop"},
                    "style": "danger",
                    "value": str(job_id),
                }
            ],
        },
    ]


def _markdown(text: str) -> list[dict[str, Any]]:
    """The `markdown_text` chunk of a stream call (every call sends chunks: Slack refuses a
    stream that mixes them with plain `markdown_text`)."""
    return [{"type": "markdown_text", "text": text}] if text else []


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _footer_block(footer: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]}


def _text_blocks(mrkdwn: str, ending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}, "expand": True}
        for chunk in split_text(mrkdwn, SECTION_LIMIT)
    ]
    return blocks + ending
