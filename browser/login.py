"""The one manual login, in a browser that is not automated at all.

Google refuses to sign in a browser "controlled through software automation", and the
tells are in the process itself: Playwright's `--enable-automation`, its always-on
`--remote-debugging-pipe`. So `chatgpt-bridge login` starts the browser as an ordinary
process on the bridge's profile (no Playwright, no debugging channel of any kind) and lets
the person sign in however they like. When they close the window (or press Enter in the
terminal, and the browser is asked to quit as a closed window would) the cookies are on
disk in the profile; the bridge
then opens the same profile itself to check the session (`browser.bridge`).

Both phases use the same password store (`--password-store=basic`, which Playwright also
passes): cookies written under one store do not decrypt under another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

PASSWORD_STORE_ARGS = ("--password-store=basic", "--use-mock-keychain")
"""The store Playwright's automated browser uses; the plain browser must use the same."""
QUIT_TIMEOUT = 15.0
"""Seconds the browser gets to save its profile and quit after being asked to."""


def plain_browser_command(
    executable: str, profile: Path, url: str, *, extra: Sequence[str] = ()
) -> list[str]:
    """The login browser's command line: the profile, the password store, the page; no more."""
    return [
        executable,
        f"--user-data-dir={profile}",
        *PASSWORD_STORE_ARGS,
        "--no-first-run",
        "--no-default-browser-check",
        *extra,
        url,
    ]


async def run_plain_browser(
    command: Sequence[str],
    *,
    until: Awaitable[object],
    env: Mapping[str, str] | None = None,
) -> int | None:
    """Run the browser until its window is closed or `until` completes; then ask it to quit.

    Returns the browser's exit status (None when it had to be killed).
    """
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=dict(env) if env is not None else None,
        start_new_session=sys.platform != "win32",
    )
    exited = asyncio.ensure_future(process.wait())
    told = asyncio.ensure_future(until)
    try:
        await asyncio.wait({exited, told}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        told.cancel()
    if not exited.done():
        return await _quit(process, exited)
    return exited.result()


async def _quit(process: asyncio.subprocess.Process, exited: asyncio.Future[int]) -> int | None:
    """Ask the browser to quit the way a closed window does, so its cookies reach the disk.

    Chrome writes cookies to the profile in batches (about every 30 s) and at a clean exit.
    SIGINT is a clean exit; SIGTERM and SIGHUP are not: measured on Debian's Chromium 156, a
    login cookie set 10 s before SIGTERM never reached the profile, and did after SIGINT.
    Windows has no such signal for a GUI process: there the person closes the window.
    """
    with contextlib.suppress(ProcessLookupError):
        if sys.platform == "win32":
            process.terminate()
        else:
            process.send_signal(signal.SIGINT)
    try:
        return await asyncio.wait_for(asyncio.shield(exited), QUIT_TIMEOUT)
    except asyncio.TimeoutError:
        logger.warning("the login browser did not quit in %.0f s; stopping it", QUIT_TIMEOUT)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await exited
        return None
