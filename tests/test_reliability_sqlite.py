"""The SQLite file in trouble: locked by another program, read-only, shared by two layers.

A locked or read-only database must stop the bridge at startup with one sentence that names
the file and says what to do, never a bare `sqlite3.OperationalError` traceback. And the
one connection the API and Slack layers share must survive both writing at once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import app.api  # noqa: F401  (app.api.conversations is imported through the API package)
from app.api.conversations import ChatPlan, ConversationMap, Dialogue, Message
from app.db import DatabaseError, open_database
from slackbot.routing import BotIdentity, question
from slackbot.store import SlackStore
from tests.fixtures.cli import cli_env, free_port, run_cli
from tests.fixtures.slack_api import BOT_ID, BOT_USER_ID, message_event

ADVICE = "no other program holds it locked"
BOT = BotIdentity(BOT_USER_ID, BOT_ID)


def _create(path: Path) -> None:
    """A database as a previous run of the bridge left it (WAL mode, its meta table)."""
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE bridge_meta (k TEXT PRIMARY KEY, v)")
    connection.close()


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """The bridge's database while another program holds a write lock on it."""
    path = tmp_path / "data" / "bridge.sqlite3"
    _create(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    yield path
    other.execute("ROLLBACK")
    other.close()


async def test_a_locked_database_is_a_clear_error(locked: Path) -> None:
    with pytest.raises(DatabaseError) as caught:
        async with open_database(locked):
            pass
    message = str(caught.value)
    assert str(locked) in message and "locked" in message and ADVICE in message


async def test_serve_on_a_locked_database_says_which_file_and_exits(
    locked: Path, tmp_path: Path, browser_executable: str, replica: Any
) -> None:
    env = cli_env(locked.parent, browser_executable, CHATGPT_URL=replica.url)
    port = str(free_port())
    async with run_cli(["serve", "--port", port], env, tmp_path / "serve.log") as cli:
        returncode = await cli.wait(timeout=45)  # the database waits 10 s for a lock
        output = cli.output()
    assert returncode != 0
    assert str(locked) in output and ADVICE in output


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """The database file made read-only (immutable for root, who ignores permissions)."""
    path = tmp_path / "data" / "bridge.sqlite3"
    _create(path)
    for leftover in path.parent.glob("bridge.sqlite3-*"):
        leftover.unlink()
    if os.geteuid() != 0:
        path.chmod(0o400)
        yield path
        path.chmod(0o600)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)]).returncode != 0:
        pytest.skip("running as root on a filesystem without chattr +i: cannot make it read-only")
    yield path
    subprocess.run([chattr, "-i", str(path)], check=True)


async def test_a_read_only_database_is_a_clear_error(read_only: Path) -> None:
    with pytest.raises(DatabaseError) as caught:
        async with open_database(read_only):
            pass
    message = str(caught.value)
    assert str(read_only) in message and "writable" in message


class Rollback(Exception):
    """Raised inside a transaction to abandon it."""


async def test_one_layer_never_commits_the_other_layers_half_done_work(tmp_path: Path) -> None:
    """Both layers share one connection: a Slack event must wait for the API's unit of work."""
    async with open_database(tmp_path / "bridge.sqlite3") as db:
        store = SlackStore(db)
        await store.setup()
        asked = question(message_event("hello", channel="CPERSONAL"), bot=BOT, team_id=None)
        with pytest.raises(Rollback):
            async with db.transaction() as connection:
                await connection.execute("INSERT INTO bridge_meta (k, v) VALUES ('half-done', 1)")
                accepting = asyncio.create_task(store.accept(asked))
                await asyncio.sleep(0.2)
                assert not accepting.done(), "the other layer's write did not wait"
                raise Rollback
        job = await accepting
        assert job is not None
        assert await db.fetch_one("SELECT v FROM bridge_meta WHERE k = 'half-done'") is None
        assert [queued.id for queued in await store.unfinished_jobs()] == [job.id]


async def test_follow_ups_and_slack_events_at_once(tmp_path: Path) -> None:
    """Found by the load test: `cannot commit transaction - SQL statements in progress`."""
    async with open_database(tmp_path / "bridge.sqlite3") as db:
        store = SlackStore(db)
        await store.setup()
        conversations = ConversationMap(db)
        await conversations.setup()
        reply = Message("assistant", "Hi!")
        chats = [f"c{index}" for index in range(40)]
        for chat in chats:
            first = Dialogue.of([Message("user", f"Hello from {chat}")])
            await conversations.plan(first, "auto")
            await conversations.remember(first, "auto", reply.text, chat, temporary=True)

        async def follow_up(chat: str) -> ChatPlan:
            history = [Message("user", f"Hello from {chat}"), reply, Message("user", "And?")]
            return await conversations.plan(Dialogue.of(history), "auto")

        events = [message_event(f"Hello {index}", channel="C1") for index in range(40)]
        results = await asyncio.gather(
            *(follow_up(chat) for chat in chats),
            *(store.accept(question(event, bot=BOT, team_id=None)) for event in events),
        )
        plans, jobs = results[: len(chats)], results[len(chats) :]
        assert [(plan.how, plan.conversation_id) for plan in plans] == [
            ("continued", chat) for chat in chats
        ]
        assert all(job is not None for job in jobs)
        assert len(await store.unfinished_jobs()) == len(events)
