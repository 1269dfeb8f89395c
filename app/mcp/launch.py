"""Find the bridge an MCP stdio server forwards to, or start one in the background.

Every agent launches its own `chatgpt-bridge mcp`, but the profile must be driven by one
browser only. So the stdio server talks to the bridge serving on `BRIDGE_HOST:BRIDGE_PORT`
when one answers there; when none does, the first `mcp` process starts `chatgpt-bridge
serve` detached (its output in `bridge.log` in the data directory; it keeps running for
the next agents) and says so on stderr. The launch lock makes a second `mcp` starting at the
same moment wait for that bridge instead of starting another, and the serving bridge's own
lock (`app.locks.SERVE_LOCK`) refuses a second `serve` on the profile outright.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from app.config import Settings
from app.locks import LAUNCH_LOCK, wait_lock
from app.status import local_base_url
from browser.private import private_file

START_TIMEOUT = 180.0
"""Seconds a bridge started here gets to answer (it launches a browser and opens ChatGPT)."""
PROBE_TIMEOUT = 30.0
"""Seconds `/health` gets to answer: it checks the page in a free tab."""
LOG_NAME = "bridge.log"

Announce = Callable[[str], None]


class LaunchError(Exception):
    """No bridge could be found or started; the message says what to do."""


async def shared_bridge(settings: Settings, announce: Announce) -> str:
    """The base URL of a running bridge for `settings`, started here if none answers."""
    url = local_base_url(settings)
    if await _answers(url):
        announce(f"chatgpt-bridge mcp: using the bridge at {url}")
        return url
    lock = await asyncio.to_thread(wait_lock, settings.data_dir / LAUNCH_LOCK)
    try:
        if await _answers(url):  # another `mcp` started it while this one waited
            announce(f"chatgpt-bridge mcp: using the bridge at {url}")
            return url
        log = settings.data_dir / LOG_NAME
        process = await asyncio.to_thread(_spawn, settings, log)
        announce(
            f"chatgpt-bridge mcp: no bridge at {url}; starting `chatgpt-bridge serve` in the "
            f"background (process {process.pid}, log {log}). It keeps running for other "
            "agents; end that process to stop it."
        )
        await _wait_until_up(url, process, log)
        announce(f"chatgpt-bridge mcp: the bridge is up at {url}")
        return url
    finally:
        lock.close()


async def _answers(url: str) -> bool:
    """True when a chatgpt-bridge answers at `url`; False when nothing listens there."""
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
            response = await client.get(f"{url}/health")
    except httpx.TransportError:
        return False
    try:
        report = response.json()
    except ValueError:
        report = None
    if not isinstance(report, dict) or "browser" not in report:
        raise LaunchError(
            f"Something else answers at {url}, not chatgpt-bridge: set BRIDGE_PORT to a free "
            "port (the same for `serve` and `mcp`)."
        )
    return True


def _spawn(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`chatgpt-bridge serve` on the same settings, detached from this process."""
    command = [sys.executable, "-m", "app.cli", "serve"]
    command += ["--host", settings.host, "--port", str(settings.port)]
    detached: dict[str, object] = (
        {"creationflags": subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP}
        if sys.platform == "win32"
        else {"start_new_session": True}
    )
    with open(private_file(log), "ab") as output:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=output, **detached
        )


async def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not await _answers(url):
        if process.poll() is not None:
            tail = await asyncio.to_thread(_tail, log)
            raise LaunchError(
                f"The bridge started for MCP exited (status {process.returncode}). Its log "
                f"({log}) ends with:\n{tail}"
            )
        if time.monotonic() > deadline:
            raise LaunchError(
                f"The bridge started for MCP did not answer at {url} within "
                f"{START_TIMEOUT:.0f} s; see {log}."
            )
        await asyncio.sleep(0.5)


def _tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
