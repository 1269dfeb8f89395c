"""The browser session: discovery, headless choice, a private profile, login that persists,
relaunch after the browser is killed, and the `login` / `ask` commands."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from app.config import Settings
from browser import BridgeState, BrowserBridge
from browser.errors import BrowserDownError, LoginRequiredError, SendUncertainError
from browser.session import (
    DEBIAN_CHROMIUM,
    HEADLESS_LINUX_ARGS,
    find_browser,
    launch_args,
    prepare_profile,
    resolve_headless,
)


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **values)


def test_browser_discovery_order(tmp_path: Path) -> None:
    binary = tmp_path / "my-chrome"
    binary.write_text("")
    bundled = tmp_path / "bundled-chromium"
    bundled.write_text("")
    chosen = find_browser(
        settings(tmp_path, browser_executable=binary, browser_channel="chrome"), str(bundled)
    )
    assert chosen.executable_path == str(binary)
    chosen = find_browser(settings(tmp_path, browser_channel="chrome"), str(bundled))
    assert chosen.channel == "chrome" and chosen.executable_path is None
    assert find_browser(settings(tmp_path), str(bundled)).executable_path == str(bundled)
    missing = str(tmp_path / "not-installed")
    if DEBIAN_CHROMIUM.is_file():
        assert find_browser(settings(tmp_path), missing).executable_path == str(DEBIAN_CHROMIUM)
    with pytest.raises(BrowserDownError, match="BROWSER_EXECUTABLE"):
        find_browser(settings(tmp_path, browser_executable=tmp_path / "nope"), None)


def test_headless_only_without_a_display() -> None:
    assert resolve_headless(None, "linux", {}) is True
    assert resolve_headless(None, "linux", {"DISPLAY": ":0"}) is False
    assert resolve_headless(None, "linux", {"WAYLAND_DISPLAY": "wayland-0"}) is False
    assert resolve_headless(None, "darwin", {}) is False
    assert resolve_headless(None, "win32", {}) is False
    assert resolve_headless(True, "darwin", {}) is True
    assert resolve_headless(False, "linux", {}) is False


def test_machine_flags_only_headless_on_linux() -> None:
    assert set(HEADLESS_LINUX_ARGS) <= set(launch_args(True, "linux"))
    assert "--no-sandbox" not in launch_args(False, "linux")
    assert "--no-sandbox" not in launch_args(True, "darwin")


def test_profile_is_private(tmp_path: Path) -> None:
    config = settings(tmp_path)
    profile = prepare_profile(config)
    assert profile == config.profile_dir and profile.is_dir()
    for directory in (config.data_dir, profile):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def browser_pid(profile: Path) -> int:
    """The main Chromium process of a profile (its helpers carry `--type=`)."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if f"--user-data-dir={profile}" in cmdline and not any(
            arg.startswith("--type=") for arg in cmdline
        ):
            return process.pid
    raise LookupError(f"no browser runs on {profile}")


@pytest.mark.browser
async def test_killed_browser_fails_the_turn_and_is_relaunched(
    make_bridge: Any, replica: Any, browser_settings: Any
) -> None:
    killed = await make_bridge(replica.url, max_tabs=1)
    await replica.configure(chunk_delay_ms=60)
    profile = browser_settings(replica.url).profile_dir
    pid = None
    async with killed.ask("Kill the browser words:200") as turn:
        with pytest.raises((BrowserDownError, SendUncertainError)) as caught:
            async for _delta in turn:
                if turn.conversation_id and pid is None:
                    pid = browser_pid(profile)
                    os.kill(pid, signal.SIGKILL)
    error = caught.value
    assert error.delivered is not False, "it was answering: never report it as not delivered"
    assert "relaunched on the next request" in str(error)
    await replica.configure(chunk_delay_ms=15)
    async with killed.ask("Back again?") as after:
        assert 'You said: "Back again?"' in await after.read()
    assert killed.session.launches == 2
    assert await killed.state() is BridgeState.READY


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


@pytest.mark.browser
async def test_login_persists_across_processes(
    make_replica: Any, make_bridge: Any, browser_settings: Any, browser_executable: str
) -> None:
    site = make_replica(ttft_ms=20, chunk_delay_ms=10)  # starts logged out, like chatgpt.com
    env = {
        "CHATGPT_URL": site.url,
        "BRIDGE_DATA_DIR": str(browser_settings(site.url).data_dir),
        "BROWSER_EXECUTABLE": browser_executable,
        "BROWSER_HEADLESS": "true",
    }
    code, out, err = await run_cli("ask", "Hello?", env=env)
    assert code == 1 and out == ""
    assert "chatgpt-bridge login" in err

    first = await make_bridge(site.url)
    assert await first.state() is BridgeState.LOGIN_REQUIRED
    with pytest.raises(LoginRequiredError) as caught:
        async with first.ask("Hello?"):
            pass
    assert caught.value.delivered is False

    # A person logs in in the bridge's window; the product itself never types credentials.
    assert first.session.context is not None
    page = await first.session.context.new_page()
    await page.goto(site.url + "/log-in")
    await page.fill('input[name="name"]', "Ada Lovelace")
    await page.fill('input[name="password"]', "correct horse")
    await page.click('[data-testid="login-submit-button"]')
    await page.wait_for_selector('[data-testid="accounts-profile-button"]')
    await page.close()
    assert await first.whoami() == "ada.lovelace@replica.local"
    assert await first.state() is BridgeState.READY
    await first.stop()

    code, out, err = await run_cli("login", env=env)
    assert code == 0, err
    assert "Logged in as ada.lovelace@replica.local" in out

    code, out, err = await run_cli("ask", "Hello from process two markdown:code", env=env)
    assert code == 0, err
    conversation_id = err.strip().splitlines()[-1]
    stored = await site.conversation(conversation_id)
    assert stored["messages"][0]["text"] == "Hello from process two markdown:code"
    assert out == stored["messages"][-1]["text"] + "\n"

    code, out, err = await run_cli("ask", "And again", "--conversation", conversation_id, env=env)
    assert code == 0, err
    assert out.startswith("Model: auto. User messages so far: 2.")


@pytest.mark.browser
async def test_profile_in_use_and_missing_browser(
    make_bridge: Any, browser_settings: Any, replica: Any, tmp_path: Path
) -> None:
    await make_bridge(replica.url)
    second = BrowserBridge(browser_settings(replica.url))
    with pytest.raises(BrowserDownError, match="in use by another browser"):
        await second.start()
    await second.stop()

    missing = BrowserBridge(
        browser_settings(replica.url, browser_executable=tmp_path / "no-chrome")
    )
    with pytest.raises(BrowserDownError, match="BROWSER_EXECUTABLE"):
        await missing.start()
    assert await missing.state() is BridgeState.DOWN
    with pytest.raises(BrowserDownError) as caught:
        async with missing.ask("Hello?"):
            pass
    assert caught.value.delivered is False
    await missing.stop()


async def test_login_without_a_display_explains_what_to_do(tmp_path: Path) -> None:
    hidden = ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER_HEADLESS")
    environment = {k: v for k, v in os.environ.items() if k not in hidden}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "login",
        env={**environment, "BRIDGE_DATA_DIR": str(tmp_path / "data")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2, err.decode()
    assert "needs a visible browser window" in err.decode()
