"""A look at a virtual display from a person's own browser: x11vnc + websockify/noVNC.

On a server the bridge's browser draws on an Xvfb screen nobody sees. To log in there, or
to deal with a challenge while the bridge keeps serving, a person needs that screen: x11vnc
shares it over VNC, websockify serves noVNC (a VNC client in a web page) and bridges it to
x11vnc. Everything binds to 127.0.0.1 only and nothing has a password, so the way in is an
SSH tunnel from the person's machine: never the public tunnel, which would publish the
logged-in browser to anyone. (A CDP screencast would keep a debugger attached during a
login, which is exactly what Google refuses; VNC shows the screen and touches nothing.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
from pathlib import Path

logger = logging.getLogger(__name__)

NOVNC_DIRS = (Path("/usr/share/novnc"), Path("/usr/share/webapps/novnc"))
READY_TIMEOUT = 15.0
PROGRAMS = ("x11vnc", "websockify")


class RemoteViewError(RuntimeError):
    """The view could not start; the message names what to install."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ssh_hint(port: int) -> str:
    """The command a person runs on their own machine to reach the view."""
    host = socket.gethostname()
    return f"ssh -N -L {port}:127.0.0.1:{port} you@{host}"


class RemoteView:
    """x11vnc on `display` plus noVNC served by websockify, both on 127.0.0.1."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.port = 0
        self._processes: list[tuple[str, asyncio.subprocess.Process]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/vnc.html?autoconnect=true&resize=scale"

    async def start(self) -> str:
        web = next((path for path in NOVNC_DIRS if (path / "vnc.html").is_file()), None)
        missing = [name for name in PROGRAMS if shutil.which(name) is None]
        if missing or web is None:
            raise RemoteViewError(
                "Showing the virtual display needs x11vnc, websockify and noVNC: "
                "`apt install x11vnc websockify novnc` (./install.sh installs them)."
            )
        vnc_port, self.port = free_port(), free_port()
        await self._spawn(
            "x11vnc", "-display", self.display, "-localhost", "-rfbport", str(vnc_port),
            "-nopw", "-forever", "-shared", "-quiet",
        )
        await self._wait_for(vnc_port)
        await self._spawn(
            "websockify", "--web", str(web), f"127.0.0.1:{self.port}", f"127.0.0.1:{vnc_port}"
        )
        await self._wait_for(self.port)
        logger.info("virtual display %s shown at %s", self.display, self.url)
        return self.url

    async def stop(self) -> None:
        processes, self._processes = self._processes, []
        for _, process in reversed(processes):
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 5.0)
                except asyncio.TimeoutError:
                    process.kill()
                    await process.wait()

    async def _spawn(self, program: str, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            program,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._processes.append((program, process))

    async def _wait_for(self, port: int) -> None:
        """Until the last program started accepts connections on 127.0.0.1:port."""
        name, process = self._processes[-1]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if process.returncode is not None or loop.time() > deadline:
                    await self.stop()
                    raise RemoteViewError(
                        f"{name} did not start on display {self.display}"
                    ) from None
                await asyncio.sleep(0.1)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    async def __aenter__(self) -> RemoteView:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()
