"""The Slack layer's memory in the bridge's SQLite file.

Six tables, all keyed by Slack's own ids so a restart picks up exactly where it stopped:
- `slack_threads`: a Slack thread -> its ChatGPT conversation id and model, so a reply in an
  old thread continues the same chat after a restart;
- `slack_seen`: (channel, ts) of every message accepted, so Slack's retries and the double
  delivery of an @mention (`app_mention` + `message`) never make a second answer;
- `slack_jobs`: every accepted question, stored before any work starts, with its state:
  `queued` (never handed to the browser: safe to answer after a restart), `sending` /
  `delivered` (may sit in ChatGPT already: never sent again), `answered`, `failed`;
- `slack_user_context`: the channel each person last looked at beside the agent DM
  (`app_context`), read only when a question asks about "this channel";
- `slack_chat_settings`: what `/chatgpt` chose for a channel (thread_ts '') or a thread's
  first line for that thread (`slackbot/chat_settings.py`);
- `slack_thread_openings`: the Slack message or thread a shortcut brought to a DM thread,
  typed before the first question of its chat (`slackbot/shortcuts.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from enum import Enum

from slackbot.chat_settings import ChatSettings
from slackbot.database import Database
from slackbot.routing import Question

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slack_threads (
    channel TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    conversation_id TEXT,
    model TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (channel, thread_ts)
);
CREATE TABLE IF NOT EXISTS slack_seen (
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (channel, ts)
);
CREATE TABLE IF NOT EXISTS slack_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    ts TEXT NOT NULL,
    user_id TEXT,
    team_id TEXT,
    prompt TEXT NOT NULL,
    model TEXT,
    attachments INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS slack_user_context (
    user_id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS slack_chat_settings (
    channel TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    model TEXT,
    effort TEXT,
    web_search INTEGER,
    gpt TEXT,
    persona TEXT,
    updated_at REAL NOT NULL,
    project TEXT,
    PRIMARY KEY (channel, thread_ts)
);
CREATE TABLE IF NOT EXISTS slack_thread_openings (
    channel TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (channel, thread_ts)
);
CREATE INDEX IF NOT EXISTS slack_jobs_open ON slack_jobs (state)
    WHERE state IN ('queued', 'sending', 'delivered');
"""

SEEN_RETENTION = 7 * 24 * 3600.0
"""Slack retries for about five minutes; a week of seen ids is plenty and stays small."""


CHANNEL_SCOPE = ""
"""The `thread_ts` of a channel's own defaults in `slack_chat_settings`."""

_JOB_COLUMNS = "channel, thread_ts, ts, user_id, team_id, prompt, model, attachments, state"


class JobState(str, Enum):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    ANSWERED = "answered"
    FAILED = "failed"


UNFINISHED = (JobState.QUEUED, JobState.SENDING, JobState.DELIVERED)


@dataclass(frozen=True)
class Job:
    """One accepted question. `model` is the model asked for in this message, if any."""

    id: int
    channel: str
    thread_ts: str
    ts: str
    user_id: str | None
    team_id: str | None
    prompt: str
    model: str | None
    attachments: bool
    """The message had files: they are downloaded and given to ChatGPT with its text."""
    state: JobState

    @property
    def thread(self) -> tuple[str, str]:
        return (self.channel, self.thread_ts)


def _job_values(job: Job) -> tuple[object, ...]:
    return (
        job.channel,
        job.thread_ts,
        job.ts,
        job.user_id,
        job.team_id,
        job.prompt,
        job.model,
        int(job.attachments),
        job.state.value,
    )


@dataclass(frozen=True)
class ThreadInfo:
    conversation_id: str | None
    model: str | None


class SlackStore:
    """Typed access to the Slack tables on the connection the composition root hands over.

    Every write commits at once: a job that is not on disk before the work starts could be
    lost by a crash, and the state change to `sending` must be durable before the prompt is
    typed into ChatGPT.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.create_tables(_SCHEMA)
        columns = await self._db.fetch_all("PRAGMA table_info(slack_chat_settings)")
        if "project" not in {column[1] for column in columns}:
            # A database made before `project` was a setting: CREATE IF NOT EXISTS kept it.
            await self._db.write("ALTER TABLE slack_chat_settings ADD COLUMN project TEXT")
        await self._db.write(
            "DELETE FROM slack_seen WHERE seen_at < ?", (time.time() - SEEN_RETENTION,)
        )

    async def accept(self, question: Question) -> Job | None:
        """Record a new question; None when this (channel, ts) was accepted before.

        The "seen" mark and the job are one transaction: a crash between them must not leave a
        message marked as handled with no job to answer it.
        """
        now = time.time()
        job = Job(
            0,
            question.channel,
            question.thread_ts,
            question.ts,
            question.user_id,
            question.team_id,
            question.prompt,
            question.model,
            question.has_files,
            JobState.QUEUED,
        )
        async with self._db.transaction() as connection:
            seen = await connection.execute(
                "INSERT OR IGNORE INTO slack_seen (channel, ts, seen_at) VALUES (?, ?, ?)",
                (question.channel, question.ts, now),
            )
            if seen.rowcount == 0:
                return None
            cursor = await connection.execute(
                f"INSERT INTO slack_jobs ({_JOB_COLUMNS}, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_job_values(job), now, now),
            )
        assert cursor.lastrowid is not None
        return replace(job, id=cursor.lastrowid)

    async def mark_seen(self, channel: str, ts: str) -> bool:
        """Remember a message that needs no job (e.g. ignored); False if seen before."""
        cursor = await self._db.write(
            "INSERT OR IGNORE INTO slack_seen (channel, ts, seen_at) VALUES (?, ?, ?)",
            (channel, ts, time.time()),
        )
        return cursor.rowcount == 1

    async def set_state(self, job_id: int, state: JobState) -> None:
        await self._db.write(
            "UPDATE slack_jobs SET state = ?, updated_at = ? WHERE id = ?",
            (state.value, time.time(), job_id),
        )

    async def unfinished_jobs(self) -> list[Job]:
        """Jobs a previous run accepted and did not finish, oldest first."""
        placeholders = ", ".join("?" for _ in UNFINISHED)
        rows = await self._db.fetch_all(
            f"SELECT id, {_JOB_COLUMNS} FROM slack_jobs WHERE state IN ({placeholders})"
            " ORDER BY id",
            tuple(state.value for state in UNFINISHED),
        )
        return [
            Job(*tuple(row[:8]), attachments=bool(row[8]), state=JobState(row[9])) for row in rows
        ]

    async def thread(self, channel: str, thread_ts: str) -> ThreadInfo | None:
        row = await self._db.fetch_one(
            "SELECT conversation_id, model FROM slack_threads WHERE channel = ? AND thread_ts = ?",
            (channel, thread_ts),
        )
        return ThreadInfo(row[0], row[1]) if row else None

    async def is_known_thread(self, channel: str, thread_ts: str) -> bool:
        """A thread the bot answers in: it has a mapping or a question was accepted in it."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM slack_threads WHERE channel = ? AND thread_ts = ?"
            " UNION ALL SELECT 1 FROM slack_jobs WHERE channel = ? AND thread_ts = ? LIMIT 1",
            (channel, thread_ts, channel, thread_ts),
        )
        return row is not None

    async def save_context(self, user_id: str, channel_id: str) -> None:
        """The channel `user_id` is looking at now (their latest `app_context`)."""
        await self._db.write(
            "INSERT INTO slack_user_context (user_id, channel_id, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET channel_id = excluded.channel_id,"
            " updated_at = excluded.updated_at",
            (user_id, channel_id, time.time()),
        )

    async def context(self, user_id: str) -> str | None:
        row = await self._db.fetch_one(
            "SELECT channel_id FROM slack_user_context WHERE user_id = ?", (user_id,)
        )
        return str(row[0]) if row else None

    async def save_thread(
        self,
        channel: str,
        thread_ts: str,
        *,
        conversation_id: str | None = None,
        model: str | None = None,
    ) -> None:
        """Insert or update a thread; None values leave the stored value as it is."""
        await self._db.write(
            "INSERT INTO slack_threads (channel, thread_ts, conversation_id, model, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, thread_ts) DO UPDATE SET"
            " conversation_id = COALESCE(excluded.conversation_id, conversation_id),"
            " model = COALESCE(excluded.model, model), updated_at = excluded.updated_at",
            (channel, thread_ts, conversation_id, model, time.time()),
        )

    async def save_settings(self, channel: str, thread_ts: str, chosen: ChatSettings) -> None:
        """Add `chosen` to a scope's settings (CHANNEL_SCOPE: the channel's defaults)."""
        search = None if chosen.web_search is None else int(chosen.web_search)
        await self._db.write(
            "INSERT INTO slack_chat_settings (channel, thread_ts, model, effort, web_search, gpt,"
            " persona, project, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, thread_ts) DO UPDATE SET"
            " model = COALESCE(excluded.model, model), effort = COALESCE(excluded.effort, effort),"
            " web_search = COALESCE(excluded.web_search, web_search),"
            " gpt = COALESCE(excluded.gpt, gpt), persona = COALESCE(excluded.persona, persona),"
            " project = COALESCE(excluded.project, project),"
            " updated_at = excluded.updated_at",
            (
                *(channel, thread_ts, chosen.model, chosen.effort, search),
                *(chosen.gpt, chosen.persona, chosen.project, time.time()),
            ),
        )

    async def settings(self, channel: str, thread_ts: str = CHANNEL_SCOPE) -> ChatSettings:
        """A thread's choices over its channel's (or a channel's own, for CHANNEL_SCOPE)."""
        rows = await self._db.fetch_all(
            "SELECT thread_ts, model, effort, web_search, gpt, persona, project"
            " FROM slack_chat_settings"
            " WHERE channel = ? AND thread_ts IN (?, ?)",
            (channel, CHANNEL_SCOPE, thread_ts),
        )
        scopes = {
            row[0]: ChatSettings(
                model=row[1],
                effort=row[2],
                web_search=None if row[3] is None else bool(row[3]),
                gpt=row[4],
                persona=row[5],
                project=row[6],
            )
            for row in rows
        }
        channel_settings = scopes.get(CHANNEL_SCOPE, ChatSettings())
        return scopes.get(thread_ts, ChatSettings()).over(channel_settings)

    async def save_opening(self, channel: str, thread_ts: str, text: str) -> None:
        await self._db.write(
            "INSERT OR REPLACE INTO slack_thread_openings (channel, thread_ts, text)"
            " VALUES (?, ?, ?)",
            (channel, thread_ts, text),
        )

    async def opening(self, channel: str, thread_ts: str) -> str | None:
        row = await self._db.fetch_one(
            "SELECT text FROM slack_thread_openings WHERE channel = ? AND thread_ts = ?",
            (channel, thread_ts),
        )
        return str(row[0]) if row else None
