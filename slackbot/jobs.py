"""Answering accepted questions: in order within a thread, threads side by side.

Each Slack thread has its own FIFO worker, so two messages in one thread are answered one
after the other (the second continues the conversation the first created), while different
threads run in parallel up to the number of browser tabs. Every job's state is written to
SQLite before the step it describes, which is what makes a restart honest:
`queued` jobs never reached ChatGPT and are answered, `sending`/`delivered` ones may have,
so their thread is told the answer was interrupted instead of asking twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from browser.attachments import Attachment
from browser.errors import AttachmentError, BridgeError, RateLimitedError
from browser.events import Progress, Title
from browser.models import ModelIdError, mismatch_note, resolve_model_id
from slackbot import phases
from slackbot.channel_context import ContextUnavailable, asks_about_channel, with_channel
from slackbot.chat_settings import ChatSettings
from slackbot.feedback import FeedbackStore, feedback_block
from slackbot.files_in import FILE_ONLY_PROMPT, SharedFiles, problem, without
from slackbot.files_out import IMAGE_ONLY, post_files, unlinked
from slackbot.mrkdwn import escape
from slackbot.personas import Personas, UnknownPersonaError
from slackbot.session import Sessions, ThreadStatus
from slackbot.settings import SlackSettings
from slackbot.store import Job, JobState, SlackStore
from slackbot.writer import AnswerWriter, Recipient, Streaming, slack_error

if TYPE_CHECKING:
    from browser.contract import Bridge, Turn

logger = logging.getLogger(__name__)

Thread = tuple[str, str]


@dataclass(frozen=True)
class _Chat:
    """Where and how a job is asked: its thread's chat (None: a new one), model, choices."""

    conversation_id: str | None
    model: str
    chosen: ChatSettings


class _StoppedBeforeSend(Exception):
    """The Stop button was pressed while the question waited for a tab: nothing is sent."""


class JobRunner:
    """Owns the per-thread queues and the answers in progress (for the Stop button)."""

    def __init__(
        self,
        *,
        store: SlackStore,
        bridge: Bridge,
        client: AsyncWebClient,
        settings: SlackSettings,
        streaming: Streaming,
        shared_files: SharedFiles,
        sessions: Sessions,
        personas: Personas,
        feedback: FeedbackStore,
        update_interval: float = 1.0,
    ) -> None:
        self._personas = personas
        self._feedback = feedback
        self._store = store
        self._shared_files = shared_files
        self._bridge = bridge
        self._client = client
        self._settings = settings
        self._streaming = streaming
        self._sessions = sessions
        self._update_interval = update_interval
        self._queues: dict[Thread, deque[Job]] = {}
        self._workers: dict[Thread, asyncio.Task[None]] = {}
        self._turns: dict[int, Turn] = {}
        self._stop_requested: set[int] = set()
        self._cancellations: set[asyncio.Task[None]] = set()
        self.last_error: str | None = None
        """The latest failure's message (with what to do), for App Home."""
        self.limited_until: str | None = None
        """When the latest rate limit lifts, as ChatGPT named it, for the owner's alert."""

    @property
    def pending(self) -> int:
        """Questions accepted and not answered yet (waiting or being answered)."""
        return sum(len(queue) for queue in self._queues.values()) + len(self._turns)

    def submit(self, job: Job) -> None:
        """Queue a job behind the others of its thread."""
        self._queues.setdefault(job.thread, deque()).append(job)
        if job.thread not in self._workers:
            self._workers[job.thread] = asyncio.create_task(
                self._drain(job.thread), name=f"slack-thread-{job.channel}-{job.thread_ts}"
            )

    async def recover(self) -> None:
        """Resume what a previous run left unfinished, in the order it was accepted."""
        jobs = await self._store.unfinished_jobs()
        if jobs:
            logger.info("resuming %d unfinished Slack question(s)", len(jobs))
        for job in jobs:
            self.submit(job)

    def request_stop(self, job_id: int) -> bool:
        """The Stop button: cancel the generation (or the question before it is sent).

        Pressing Stop in the page takes a moment; it runs in its own task so the button's
        interaction is acknowledged at once.
        """
        known = job_id in self._turns or any(
            job.id == job_id for queue in self._queues.values() for job in queue
        )
        if not known:
            return False
        self._stop_requested.add(job_id)
        turn = self._turns.get(job_id)
        if turn is not None:
            self._cancel(turn)
        return True

    def stop_thread(self, channel: str, thread_ts: str) -> bool:
        """Slack's native Stop in a thread: stop the question being answered there."""
        queue = self._queues.get((channel, thread_ts))
        return bool(queue) and self.request_stop(queue[0].id)

    def _cancel(self, turn: Turn) -> None:
        task = asyncio.create_task(turn.cancel(), name="slack-stop")
        self._cancellations.add(task)
        task.add_done_callback(self._cancellations.discard)

    async def close(self) -> None:
        """Stop every worker; unfinished jobs stay in SQLite for the next start."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with suppress(asyncio.CancelledError):
                await worker
        self._workers.clear()
        self._queues.clear()

    async def _drain(self, thread: Thread) -> None:
        queue = self._queues[thread]
        try:
            while queue:
                job = queue[0]
                try:
                    if job.state is JobState.QUEUED:
                        await self._answer(job)
                    else:
                        await self._report_interrupted(job)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("Slack job %d failed unexpectedly", job.id)
                    await self._fail_unexpectedly(job)
                finally:
                    self._stop_requested.discard(job.id)
                    queue.popleft()
        finally:
            self._workers.pop(thread, None)
            if not queue:
                self._queues.pop(thread, None)

    async def _answer(self, job: Job) -> None:
        thread = await self._store.thread(job.channel, job.thread_ts)
        chosen = await self._store.settings(job.channel, job.thread_ts)
        model = (
            job.model
            or (thread.model if thread else None)
            or chosen.model
            or self._settings.slack_channel_models.get(job.channel)
            or self._settings.default_model
        )
        refusal = await self._refuse_model(job.model)
        if refusal:
            await self._post(job, refusal)
            await self._store.set_state(job.id, JobState.ANSWERED)
            return
        if job.model or thread is None:
            await self._store.save_thread(job.channel, job.thread_ts, model=model)
        attachments = await self._attachments(job)
        if not job.prompt and not attachments:
            await self._post(job, _no_question_reply(job, model))
            await self._store.set_state(job.id, JobState.ANSWERED)
            return
        prompt = job.prompt
        conversation_id = thread.conversation_id if thread else None
        if conversation_id is None:
            # Standing instructions are typed once, at the start of the ChatGPT chat.
            persona = chosen.persona or self._settings.slack_channel_personas.get(job.channel)
            opening = await self._store.opening(job.channel, job.thread_ts)
            if opening:
                prompt = f"{opening}\n\n{prompt}"
            try:
                prompt = self._personas.opening(persona, prompt)
            except UnknownPersonaError as unknown:
                await self._post(job, f":warning: {escape(str(unknown))}")
                await self._store.set_state(job.id, JobState.ANSWERED)
                return
        if job.channel.startswith("D") and job.user_id and asks_about_channel(prompt):
            try:
                seen = await self._store.context(job.user_id)
                prompt = await with_channel(self._client, seen, prompt)
            except ContextUnavailable as unavailable:
                await self._post(job, f":information_source: {unavailable}")
                await self._store.set_state(job.id, JobState.ANSWERED)
                return
        status = ThreadStatus(
            self._client, channel=job.channel, thread_ts=job.thread_ts, sessions=self._sessions
        )
        writer = AnswerWriter(
            self._client,
            channel=job.channel,
            thread_ts=job.thread_ts,
            recipient=Recipient(job.user_id, job.team_id),
            streaming=self._streaming,
            status=status,
            interval=self._update_interval,
        )
        writer.begin(job.id, title=None if thread and thread.conversation_id else job.prompt)
        try:
            if self._bridge.is_busy():
                await writer.ready()  # the notice follows the Stop button
                await self._post(
                    job,
                    ":hourglass: Every ChatGPT tab is busy; your question is queued and will be "
                    "answered in turn.",
                )
            chat = _Chat(conversation_id, model, chosen)
            await self._ask(replace(job, prompt=prompt), writer, chat, attachments)
        except BaseException:
            # Shutting down (the job keeps its state: the next start answers it if queued or
            # says it was interrupted) or a bug (reported by `_drain`): either way the Stop
            # button must not stay behind.
            with suppress(Exception):
                await asyncio.wait_for(writer.close(), 5)
            raise

    async def _attachments(self, job: Job) -> list[Attachment]:
        """The message's files, downloaded; those left out are named in the thread."""
        if not job.attachments:
            return []
        fetched = await self._shared_files.fetch(job.channel, job.ts)
        reply = fetched.reply()
        if reply:
            await self._post(job, reply)
        return fetched.attachments

    async def _ask(
        self, job: Job, writer: AnswerWriter, chat: _Chat, attachments: list[Attachment]
    ) -> None:
        conversation_id, model = chat.conversation_id, chat.model
        started = time.monotonic()
        try:
            while True:
                try:
                    turn = await self._stream(job, writer, chat, attachments)
                    break
                except AttachmentError as error:  # refused before Send: nothing was sent
                    attachments = await self._without_refused(job, attachments, error)
        except _StoppedBeforeSend:
            await writer.finish("", footer=None, warning="Stopped before it was sent to ChatGPT.")
            await self._store.set_state(job.id, JobState.ANSWERED)
            return
        except BridgeError as error:
            self.last_error = _failure_text(error)
            self.limited_until = _until(error) or self.limited_until
            await self._store.set_state(job.id, JobState.FAILED)
            partial = self._turn_text(job.id)
            link = self._link(self._turn_conversation(job.id) or conversation_id)
            await writer.finish(partial, footer=link, warning=_failure_text(error))
            return
        finally:
            self._turns.pop(job.id, None)
        text = unlinked(turn.text) or (IMAGE_ONLY if turn.files else "")
        buttons = await self._rateable(job, turn)
        await writer.finish(text, footer=self._footer(job, turn, model), feedback=buttons)
        failed_upload = await post_files(
            self._client, channel=job.channel, thread_ts=job.thread_ts, files=turn.files
        )
        if failed_upload:
            await self._post(job, f":warning: {escape(failed_upload)}")
        await self._store.set_state(job.id, JobState.ANSWERED)
        await self._notify(job, time.monotonic() - started)

    async def _without_refused(
        self, job: Job, attachments: list[Attachment], error: AttachmentError
    ) -> list[Attachment]:
        """The files but the one ChatGPT refused, named in the thread; re-raises when nothing
        would be left to ask."""
        rest = without(attachments, error.name)
        if len(rest) == len(attachments) or not (rest or job.prompt):
            raise error
        await self._post(job, f":paperclip: {problem(error.name, str(error))} Asking without it.")
        return rest

    async def _stream(
        self, job: Job, writer: AnswerWriter, chat: _Chat, attachments: list[Attachment]
    ) -> Turn:
        """Ask ChatGPT and relay the deltas; returns the finished turn (its tab released)."""
        conversation_id, model = chat.conversation_id, chat.model
        saved = conversation_id
        delivered = False
        # A follow-up continues with the conversation's own model, as chatgpt.com does;
        # only an explicit `model:` line switches it.
        ask_model = job.model or (None if conversation_id else model)

        async def sending() -> None:
            # The job waited `queued` (a restart would answer it); from here it may be sent.
            if job.id in self._stop_requested:
                raise _StoppedBeforeSend
            await self._store.set_state(job.id, JobState.SENDING)
            phases.reached(phases.TAB, job.id)

        phases.reached(phases.ASKING, job.id)
        # Patient: the job is stored, so it waits in line rather than being refused as busy.
        async with self._bridge.ask(
            job.prompt or FILE_ONLY_PROMPT,
            conversation_id=conversation_id,
            options=chat.chosen.options(ask_model),
            patient=True,
            on_send=sending,
            attachments=attachments,
        ) as turn:
            self._turns[job.id] = turn
            if job.id in self._stop_requested:  # pressed while the prompt was being typed
                self._cancel(turn)
            async for update in turn.updates():
                if isinstance(update, Title):
                    await writer.ready()  # the session exists before it is renamed
                    await writer.status.rename(update.text)
                elif isinstance(update, Progress):
                    writer.step(update)
                if not isinstance(update, str):
                    continue
                if not delivered:
                    delivered = True
                    phases.reached(phases.FIRST_DELTA, job.id)
                    await self._store.set_state(job.id, JobState.DELIVERED)
                if turn.conversation_id and turn.conversation_id != saved:
                    saved = turn.conversation_id
                    await self._store.save_thread(
                        job.channel, job.thread_ts, conversation_id=saved, model=model
                    )
                writer.update(turn.text)
        if turn.conversation_id and turn.conversation_id != saved:
            await self._store.save_thread(
                job.channel, job.thread_ts, conversation_id=turn.conversation_id, model=model
            )
        return turn

    async def _rateable(self, job: Job, turn: Turn) -> dict[str, Any] | None:
        """The feedback buttons for an answer ChatGPT named, its ids stored first."""
        if not turn.conversation_id or not turn.message_id:
            return None  # nothing to pass a rating on to
        await self._feedback.save_answer(job.id, turn.conversation_id, turn.message_id, job.user_id)
        return feedback_block(job.id)

    async def _notify(self, job: Job, took: float) -> None:
        """A long answer ends with a mention: streamed text and edits notify nobody."""
        after = self._settings.slack_notify_after
        if not after or took < after or not job.user_id:
            return
        minutes = max(1, round(took / 60))
        with suppress(SlackApiError):
            await self._post(
                job, f"<@{job.user_id}> ChatGPT's answer is above (it took about {minutes} min)."
            )

    async def _refuse_model(self, model_id: str | None) -> str | None:
        """Why a `model:` line cannot be used, listing the account's choices; None if it can.

        Checked against the account's own list (as `/v1/models` is); when the list cannot be
        read now (every tab busy), the picker is left to refuse an unknown model itself.
        """
        if model_id is None:
            return None
        try:
            resolve_model_id(model_id, await self._bridge.model_infos())
        except ModelIdError as error:
            return f":warning: {escape(str(error))} Write it as `model: <id>` on the first line."
        except BridgeError as error:
            logger.info("model list unavailable to check %r: %s", model_id, error)
        return None

    def _turn_text(self, job_id: int) -> str:
        turn = self._turns.get(job_id)
        return turn.text if turn is not None else ""

    def _turn_conversation(self, job_id: int) -> str | None:
        turn = self._turns.get(job_id)
        return turn.conversation_id if turn is not None else None

    def _link(self, conversation_id: str | None) -> str | None:
        if not conversation_id:
            return None
        return f"<{self._settings.chatgpt_url}/c/{conversation_id}|Open in ChatGPT>"

    def _footer(self, job: Job, turn: Turn, model: str) -> str:
        items = []
        if turn.finish_reason == "cancelled" or job.id in self._stop_requested:
            items.append(":black_square_for_stop: Stopped")
        elif turn.finish_reason == "length":
            items.append("Cut short by ChatGPT's length limit")
        items.append(escape(turn.answered_by or turn.model or model))
        note = mismatch_note(job.model or model, turn.answered_by)
        if note:
            items.append(f":information_source: {escape(note)}")
        link = self._link(turn.conversation_id)
        if link:
            items.append(link)
        return " · ".join(items)

    async def _report_interrupted(self, job: Job) -> None:
        thread = await self._store.thread(job.channel, job.thread_ts)
        link = self._link(thread.conversation_id if thread else None)
        where = f" See {link}, or reply" if link else " Reply"
        await self._post(
            job,
            ":warning: The bridge restarted while this question was being answered, so the "
            "answer was interrupted. It was not sent again, to avoid asking ChatGPT twice."
            f"{where} in this thread to continue.",
        )
        await self._store.set_state(job.id, JobState.FAILED)

    async def _fail_unexpectedly(self, job: Job) -> None:
        with suppress(Exception):
            await self._store.set_state(job.id, JobState.FAILED)
        with suppress(SlackApiError, OSError):
            await self._post(
                job,
                ":warning: The bridge hit an unexpected error while answering; details are "
                "in its log. Ask again in this thread to retry.",
            )

    async def _post(self, job: Job, text: str) -> None:
        try:
            await self._client.chat_postMessage(
                channel=job.channel, thread_ts=job.thread_ts, text=text
            )
        except SlackApiError as error:
            logger.warning("cannot post in %s: %s", job.channel, slack_error(error))
            raise


def _failure_text(error: BridgeError) -> str:
    until = _until(error)
    return f"{error} (until {until})" if until else str(error)


def _until(error: BridgeError) -> str | None:
    """When a rate limit lifts, as ChatGPT's page named it (Slack shows it in local time)."""
    if not isinstance(error, RateLimitedError) or not error.retry_after:
        return None
    until = int(time.time() + error.retry_after)
    return f"<!date^{until}^{{time}}|{time.strftime('%H:%M UTC', time.gmtime(until))}>"


def _no_question_reply(job: Job, model: str) -> str:
    if job.model:
        return f"This thread now uses the model *{escape(model)}*. Ask your question here."
    if job.attachments:
        return "None of the files could be given to ChatGPT; ask your question as text instead."
    return "Ask me anything: write your question after the mention, or in this thread."
