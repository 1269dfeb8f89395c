"""The SQLite file in trouble: locked by another program, read-only, shared by two layers.

A locked or read-only database must stop the bridge at startup with one sentence that names
the file and says what to do, never a bare `sqlite3.OperationalError` traceback. And the
one connection the API and Slack layers share must survive both writing at once.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

import app.api  # noqa: F401  (app.conversations is imported through the API package)
from app.conversations import ConversationMap, Dialogue, Message
from app.db import DatabaseError, open_database
from tests.test_serve import cli_env, free_port, run_cli

ADVICE = "no other program holds it locked"


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


class OtherLayerCommits:
    """The shared connection, but another layer commits as soon as a statement has started.

    That is what the event loop may do at any `await`: under load a Slack event is stored
    (INSERT + COMMIT) between the API's `execute()` and its `fetchone()`.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    async def _commit_elsewhere(self) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO bridge_meta (k, v) VALUES ('other-layer', ?)", (self.commits,)
        )
        await self._db.commit()
        self.commits += 1

    def execute(self, sql: str, parameters: Any = ()) -> _Statement:
        return _Statement(self, sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> Any:
        rows = await self._db.execute_fetchall(sql, parameters)
        await self._commit_elsewhere()
        return rows


class _Statement:
    """`await db.execute(...)` and `async with db.execute(...)`, with the interleaved commit."""

    def __init__(self, connection: OtherLayerCommits, sql: str, parameters: Any) -> None:
        self._connection = connection
        self._sql = sql
        self._parameters = parameters
        self._cursor: aiosqlite.Cursor | None = None

    async def _run(self) -> aiosqlite.Cursor:
        cursor = await self._connection._db.execute(self._sql, self._parameters)
        await self._connection._commit_elsewhere()
        return cursor

    def __await__(self) -> Any:
        return self._run().__await__()

    async def __aenter__(self) -> aiosqlite.Cursor:
        self._cursor = await self._run()
        return self._cursor

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._cursor is not None
        await self._cursor.close()


async def test_a_follow_up_survives_commits_of_the_other_layer(tmp_path: Path) -> None:
    """Found by the load test: `cannot commit transaction - SQL statements in progress`."""
    async with open_database(tmp_path / "bridge.sqlite3") as db:
        shared = OtherLayerCommits(db)
        conversations = ConversationMap(shared, max_prompt_chars=1000)  # type: ignore[arg-type]
        question, reply = Message("user", "Hello"), Message("assistant", "Hi!")
        await conversations.plan(Dialogue.of([question]), "auto")
        await conversations.remember(
            Dialogue.of([question]), "auto", reply.text, "c1", temporary=True
        )
        follow_up = Dialogue.of([question, reply, Message("user", "And then?")])
        plan = await conversations.plan(follow_up, "auto")
        assert (plan.how, plan.conversation_id, plan.prompt) == ("continued", "c1", "And then?")
        assert shared.commits > 0
