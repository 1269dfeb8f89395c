"""A screen for the browser: the person's own, or a virtual one the bridge starts.

chatgpt.com's Cloudflare challenges headless Chrome (it says `HeadlessChrome` in its user
agent and client hints), so on a server the bridge runs the browser *headed* on a virtual
X display: Xvfb, a real X server from Debian's `xvfb` package. `-displayfd` lets Xvfb pick
a free display number itself and report it once it accepts connections, so two bridges on
one machine never race for `:99`, and the browser is never started before its screen is up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

SCREEN = "1920x1080x24"
START_TIMEOUT = 15.0
"""Seconds for Xvfb to report its display; it takes well under one on a small machine."""


def has_display(
    environ: Mapping[str, str] = os.environ, platform: str = sys.platform
) -> bool:
    """Can a window be shown? Always on macOS and Windows; on Linux when X or Wayland is set."""
    if not platform.startswith("linux"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


DISPLAY_FILE = "display"
"""In the data directory while serving on a virtual display: its name, for `view`."""


def write_display_file(data_dir: Path, display: str | None) -> None:
    """Record (or, with None, forget) the serving browser's virtual display."""
    path = data_dir / DISPLAY_FILE
    if display is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(display + "\n", encoding="utf-8")


def read_display_file(data_dir: Path) -> str | None:
    try:
        value = (data_dir / DISPLAY_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value or None


class DisplayError(RuntimeError):
    """The virtual display could not start; the message says what to install or check."""


class VirtualDisplay:
    """One Xvfb server for the lifetime of the bridge's browser.

    `await display.start()` returns the `DISPLAY` value (e.g. ":3"); `stop()` ends it. The
    browser gets it through its launch environment: the bridge's own environment is never
    changed, so nothing else in the process draws on the virtual screen by accident.
    """

    def __init__(self, executable: str | None = None) -> None:
        self._executable = executable or shutil.which("Xvfb")
        self._process: asyncio.subprocess.Process | None = None
        # Xvfb's complaints go to a file: a pipe nobody reads would fill and block the server.
        self._log: IO[bytes] | None = None
        self.display: str | None = None

    @property
    def available(self) -> bool:
        return self._executable is not None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> str:
        if self.running and self.display:
            return self.display
        if self._executable is None:
            raise DisplayError(
                "No display and no Xvfb to make one: install it (`apt install xvfb`) so the "
                "browser can run with a window on a virtual screen, or set "
                "BROWSER_HEADLESS=true (chatgpt.com is likely to challenge a headless browser)."
            )
        read_fd, write_fd = os.pipe()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as Xvfb)
        try:
            self._process = await asyncio.create_subprocess_exec(
                self._executable,
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                SCREEN,
                "-nolisten",
                "tcp",
                "-noreset",
                pass_fds=(write_fd,),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=self._log,
            )
        finally:
            os.close(write_fd)
        try:
            number = await asyncio.wait_for(_read_display_number(read_fd), START_TIMEOUT)
        except (asyncio.TimeoutError, ValueError) as error:
            reason = await self._failure()
            raise DisplayError(f"Xvfb did not start ({reason or type(error).__name__}).") from None
        finally:
            os.close(read_fd)
        self.display = f":{number}"
        logger.info("virtual display %s started (Xvfb, %s)", self.display, SCREEN)
        return self.display

    async def stop(self) -> None:
        process, self._process = self._process, None
        self.display = None
        if process is None or process.returncode is not None:
            self._close_log()
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
        self._close_log()

    def _close_log(self) -> None:
        log, self._log = self._log, None
        if log is not None:
            log.close()

    async def _failure(self) -> str:
        """Why Xvfb did not come up: its first complaint, after making sure it has ended."""
        process, log = self._process, self._log
        self._log = None  # kept open until read
        await self.stop()
        if log is None:
            return ""
        with log:
            log.seek(0)
            lines = log.read(4000).decode(errors="replace").strip().splitlines()
        if lines:
            return lines[-1]
        return f"exit status {process.returncode}" if process else ""


async def _read_display_number(fd: int) -> int:
    """Xvfb writes the display number and a newline to the fd once it is ready."""
    loop = asyncio.get_running_loop()
    data = b""
    while not data.endswith(b"\n"):
        chunk = await loop.run_in_executor(None, os.read, fd, 16)
        if not chunk:
            break
        data += chunk
    return int(data.strip())
