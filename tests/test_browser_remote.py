"""Seeing a virtual display from a person's own browser: `login --remote` and `view`.

Real Xvfb, x11vnc and websockify/noVNC: the page is served, the VNC handshake comes through
the websocket, and nothing listens anywhere but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil
import pytest

from app.browser_commands import login, view
from app.config import Settings
from browser.display import VirtualDisplay
from browser.remote_view import RemoteView


async def _assert_shows_a_screen(url: str) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(url)
    assert page.status_code == 200 and "noVNC" in page.text
    port = httpx.URL(url).port
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{port}/websockify", protocols=["binary"]) as socket,
    ):
        greeting = await socket.receive_bytes(timeout=10)
    assert greeting.startswith(b"RFB "), greeting  # the VNC server's own first words


def _listening_addresses(ports: set[int]) -> set[str]:
    return {
        connection.laddr.ip
        for connection in psutil.net_connections("inet")
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port in ports
    }


async def test_a_virtual_display_is_shown_on_loopback_only() -> None:
    display = VirtualDisplay()
    try:
        async with RemoteView(await display.start()) as shown:
            await _assert_shows_a_screen(shown.url)
            assert _listening_addresses({shown.port}) == {"127.0.0.1"}
    finally:
        await display.stop()


@pytest.mark.browser
async def test_view_shows_the_serving_browser(
    make_bridge: Any, replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    served = await make_bridge(replica.url, browser_headless=None)
    assert served.session.display_plan.virtual
    err, stop = io.StringIO(), asyncio.Event()
    showing = asyncio.create_task(view(served._settings, err=err, done=stop.wait()))
    for _ in range(300):
        if "vnc.html" in err.getvalue() or showing.done():
            break
        await asyncio.sleep(0.05)
    url = re.search(r"http://127\.0\.0\.1:\d+/vnc\.html\S*", err.getvalue())
    assert url, err.getvalue()
    await _assert_shows_a_screen(url.group(0))
    assert "ssh -N -L" in err.getvalue()
    stop.set()
    assert await showing == 0


async def test_view_without_a_serving_browser_says_so(tmp_path: Path) -> None:
    err = io.StringIO()
    assert await view(Settings(_env_file=None, data_dir=tmp_path), err=err) == 1
    assert "no serving browser on a virtual display" in err.getvalue()


async def test_remote_login_opens_the_window_on_a_shown_virtual_display(
    make_replica: Any, browser_settings: Any, browser_executable: str, tmp_path: Path
) -> None:
    site = make_replica()
    seen = tmp_path / "seen-display"
    browser = tmp_path / "browser"
    browser.write_text(
        f'#!/bin/sh\ncase " $* " in *" --remote-debugging-pipe "*) exec {browser_executable} '
        f'"$@";; esac\necho "$DISPLAY" > {seen}\nexit 0\n'
    )
    browser.chmod(0o755)
    err = io.StringIO()
    settings = browser_settings(site.url, browser_executable=browser)
    code = await login(settings, remote=True, err=err)
    assert code == 1 and "not logged in" in err.getvalue()  # the stand-in logged nobody in
    assert re.fullmatch(r":\d+\n", seen.read_text()), "the window went to the virtual display"
    assert "ssh -N -L" in err.getvalue() and "/vnc.html" in err.getvalue()
