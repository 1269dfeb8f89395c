"""`chatgpt-bridge mcp` end to end: the `mcp` SDK's client launches it over stdio, with no
bridge running; it starts one in the background (real Chromium against the session
replica), later `mcp` process shares it, and its `/mcp` answers over HTTP too. Every tool, progress,
a file by path in the agent's roots (both protocol eras), cancellation (Stop reaches the
replica), and the profile lock refusing a second `serve`.
One background bridge for the module (three Python processes in all: each costs seconds);
the failure paths are in tests/test_mcp.py, on a FakeBridge.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import ListRootsResult, Root, TextContent

from app.config import Settings
from app.serve import serve
from replica.model import answer
from tests.api_support import unique
from tests.fixtures.cli import free_port

ROOT = Path(__file__).resolve().parents[1]
PLAN = b"# The plan\n"


@dataclass
class Background:
    """The bridge the first `mcp` process started, and how to reach it."""

    env: dict[str, str]
    url: str
    pid: int
    first_log: str
    """What that first `mcp` process said on stderr."""
    first_file_answer: str
    """Its answer to a question with a file by path (asked in the handshake-era protocol)."""
    work: Path


def _environment(replica: Any, executable: str, data_dir: Path, port: int) -> dict[str, str]:
    skipped = ("SLACK_", "NGROK_", "BRIDGE_", "CHATGPT_URL", "BROWSER_", "DEFAULT_MODEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "CHATGPT_URL": replica.url,
        "BROWSER_EXECUTABLE": executable,
        "BRIDGE_DATA_DIR": str(data_dir),
        "BRIDGE_PORT": str(port),
        "BRIDGE_ANSWER_TIMEOUT": "120",
        "LOG_LEVEL": "WARNING",
    }


@asynccontextmanager
async def stdio_mcp(
    background: Background, errlog: Path, roots: list[Path] | None = None, mode: str = "auto"
) -> AsyncIterator[Client]:
    """A `chatgpt-bridge mcp` process, as an agent's config launches it (`roots`: the
    folders the agent shares; `mode` "legacy": the handshake-era protocol today's agents
    speak, "auto": the SDK's own choice, 2026-07-28)."""

    async def list_roots(context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=root.as_uri()) for root in roots or []])

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "app.cli", "mcp"],
        env=background.env,
        cwd=background.work,  # no stray .env
    )
    log = await asyncio.to_thread(open, errlog, "w")
    try:
        callback = list_roots if roots is not None else None
        transport = stdio_client(params, errlog=log)
        async with Client(transport, list_roots_callback=callback, mode=mode) as client:
            yield client
    finally:
        log.close()


@pytest.fixture(scope="module")
async def background(
    replica: Any, browser_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Background]:
    work = tmp_path_factory.mktemp("mcp-e2e")
    port = free_port()
    env = _environment(replica, browser_executable, work / "data", port)
    started = Background(env, f"http://127.0.0.1:{port}", 0, "", "", work)
    (work / "plan.md").write_bytes(PLAN)
    try:
        async with stdio_mcp(started, work / "first.log", roots=[work], mode="legacy") as client:
            asked = await client.call_tool(
                "ask", {"prompt": unique("Read my plan"), "files": [{"path": "plan.md"}]}
            )
            started.first_file_answer = text_of(asked)
        started.first_log = (work / "first.log").read_text()
        started.pid = _started_pid(started.first_log)
        yield started
    finally:  # whatever failed, the bridge it started is stopped
        pid = _started_pid((work / "first.log").read_text())
        if pid:
            _stop(pid)


def _started_pid(log: str) -> int:
    found = re.search(r"\(process (\d+)", log)
    return int(found.group(1)) if found else 0


def _stop(pid: int) -> None:
    try:
        process = psutil.Process(pid)
        process.terminate()
        process.wait(timeout=60)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        process.kill()


def text_of(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def test_a_later_mcp_shares_the_bridge_and_serves_every_tool(
    background: Background, replica: Any, tmp_path: Path
) -> None:
    assert "starting `chatgpt-bridge serve` in the background" in background.first_log
    plan = f"plan.md (text/markdown, 11 bytes, sha256 {hashlib.sha256(PLAN).hexdigest()}"
    assert plan in background.first_file_answer, "the agent's roots, asked mid-call"
    said: list[str | None] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        said.append(message)

    prompt = unique("Hello from an agent")
    (tmp_path / "plan.md").write_bytes(PLAN)
    async with stdio_mcp(background, tmp_path / "mcp.log", roots=[tmp_path]) as client:
        models = await client.call_tool("models", {})
        asked = await client.call_tool(
            "ask", {"prompt": prompt, "temporary": False}, progress_callback=progress
        )
        chat = asked.structured_content["conversation_id"]
        listed = await client.call_tool("conversations", {"limit": 5})
        read = await client.call_tool("read_conversation", {"conversation_id": chat})
        with_file = await client.call_tool(
            "ask", {"prompt": unique("Read my plan"), "files": [{"path": "plan.md"}]}
        )
    assert f"using the bridge at {background.url}" in (tmp_path / "mcp.log").read_text()
    assert psutil.pid_exists(background.pid), "the bridge outlives the mcp that started it"
    assert "gpt-5" in models.structured_content["models"]
    assert not asked.is_error, text_of(asked)
    assert text_of(asked) == answer(prompt, "auto", 1)
    assert asked.structured_content["model"] == "auto"
    assert said[0] == "Sent to ChatGPT" and "ChatGPT is writing the answer" in said
    assert listed.structured_content["conversations"][0]["id"] == chat
    assert read.structured_content["messages"] == [
        {"role": "user", "text": prompt, "model": None},
        {"role": "assistant", "text": answer(prompt, "auto", 1), "model": "auto"},
    ]
    stored = await replica.conversation(chat)
    assert not stored["temporary"] and stored["user_messages"] == 1
    assert plan in text_of(with_file), "the agent's roots, asked in an input-required round"


async def test_http_ask_is_temporary_and_cancelling_presses_stop(
    background: Background, replica: Any
) -> None:
    await replica.configure(chunk_delay_ms=100)
    writing = asyncio.Event()

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if message == "ChatGPT is writing the answer":
            writing.set()

    before = len(await replica.sends())
    long_prompt = unique("long words:400")
    async with Client(f"{background.url}/mcp") as client:
        quick = await client.call_tool("ask", {"prompt": unique("temporary?")})
        call = asyncio.create_task(
            client.call_tool(
                "ask",
                {"prompt": long_prompt, "temporary": False},
                progress_callback=progress,
            )
        )
        await asyncio.wait_for(writing.wait(), 30)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        listed = await client.call_tool("conversations", {"limit": 1})
    assert not quick.is_error, text_of(quick)
    sends = (await replica.sends())[before:]
    assert [(s["prompt"], s["temporary"]) for s in sends][1:] == [(long_prompt, False)]
    assert sends[0]["temporary"], "an agent's new chat is temporary by default"
    stopped_chat = listed.structured_content["conversations"][0]["id"]
    stopped = (await replica.settled(stopped_chat))["messages"][-1]
    assert stopped["status"] == "finished_partial_completion"
    assert len(stopped["text"]) < len(answer(long_prompt, "auto", 1))


async def test_a_second_serve_on_the_profile_is_refused(background: Background) -> None:
    assert psutil.pid_exists(background.pid), "else this serve() would really start"
    said: list[str] = []
    data_dir = Path(background.env["BRIDGE_DATA_DIR"])
    settings = Settings(data_dir=data_dir, port=free_port(), _env_file=None)
    assert await serve(settings, announce=said.append) == 1
    assert "Another chatgpt-bridge already serves the profile" in said[0]


@pytest.fixture(autouse=True)
def _no_leftover(background: Background) -> Iterator[None]:
    yield
    assert psutil.pid_exists(background.pid), "the background bridge died during the test"
