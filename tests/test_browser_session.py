"""The browser session: discovery, headless choice, a private profile, login that persists,
relaunch after the browser is killed, and the `login` / `ask` commands."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from app.config import Settings
from browser import BridgeState, BrowserBridge
from browser.display import VirtualDisplay
from browser.errors import BrowserDownError, SendUncertainError
from browser.executables import DEBIAN_CHROMIUM, channel_executable, find_browser
from browser.session import (
    AUTOMATION_DEFAULTS,
    SERVER_LINUX_ARGS,
    DisplayPlan,
    launch_args,
    plan_display,
    prepare_profile,
    sandbox_args,
)
from replica import auth


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **values)


def test_browser_discovery_order(tmp_path: Path) -> None:
    binary = tmp_path / "my-chrome"
    binary.write_text("")
    bundled = tmp_path / "bundled-chromium"
    bundled.write_text("")
    nowhere = {"PATH": str(tmp_path / "empty")}
    chosen = find_browser(binary, "chrome", str(bundled), environ=nowhere)
    assert chosen.executable_path == str(binary)
    chosen = find_browser(None, "chrome", str(bundled), environ=nowhere)
    assert chosen.channel == "chrome" and chosen.executable_path is None
    if channel_executable("chrome") is None:  # no Google Chrome here: Playwright's Chromium
        assert find_browser(None, None, str(bundled)).executable_path == str(bundled)
    missing = str(tmp_path / "not-installed")
    if DEBIAN_CHROMIUM.is_file() and channel_executable("chrome") is None:
        assert find_browser(None, None, missing).executable_path == str(DEBIAN_CHROMIUM)
    with pytest.raises(BrowserDownError, match="BROWSER_EXECUTABLE"):
        find_browser(tmp_path / "nope", None, None)


def test_installed_chrome_is_found_where_each_platform_keeps_it(tmp_path: Path) -> None:
    root = tmp_path / "Program Files"
    chrome = root / "Google" / "Chrome" / "Application" / "chrome.exe"
    chrome.parent.mkdir(parents=True)
    chrome.write_text("")
    assert channel_executable("chrome", "win32", {"PROGRAMFILES": str(root)}) == str(chrome)
    assert channel_executable("msedge", "win32", {"PROGRAMFILES": str(root)}) is None
    on_path = tmp_path / "bin" / "google-chrome"
    on_path.parent.mkdir()
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    found = channel_executable("chrome", "linux", {"PATH": str(on_path.parent)})
    assert found in ("/opt/google/chrome/chrome", str(on_path))


def test_a_window_where_there_is_a_screen_a_virtual_one_where_there_is_none() -> None:
    assert plan_display(None, xvfb=True, platform="linux", environ={}) == DisplayPlan(
        headless=False, virtual=True
    )
    assert plan_display(None, xvfb=True, platform="linux", environ={"DISPLAY": ":0"}) == (
        DisplayPlan(headless=False)
    )
    assert not plan_display(None, xvfb=False, platform="darwin", environ={}).headless
    assert plan_display(False, xvfb=True, platform="linux", environ={}).virtual
    # Headless only when asked or when nothing else is possible, and never silently.
    asked = plan_display(True, xvfb=True, platform="linux", environ={"DISPLAY": ":0"})
    forced = plan_display(None, xvfb=False, platform="linux", environ={})
    assert asked.headless and "BROWSER_HEADLESS" in (asked.warning or "")
    assert forced.headless and "Xvfb is not installed" in (forced.warning or "")


def test_launch_switches_announce_no_automation() -> None:
    server = launch_args(DisplayPlan(headless=False, virtual=True), "linux")
    assert set(SERVER_LINUX_ARGS) <= set(server)
    assert "--disable-blink-features=AutomationControlled" in server
    assert not set(SERVER_LINUX_ARGS) & set(launch_args(DisplayPlan(headless=False), "linux"))
    assert "--no-sandbox" not in launch_args(DisplayPlan(headless=True), "darwin")
    assert AUTOMATION_DEFAULTS == ("--enable-automation",)


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


PERSON = """#!/bin/sh
# Playwright's launch (it always opens a debugging pipe) gets the real browser as it is.
case " $* " in *" --remote-debugging-pipe "*) exec {chromium} "$@";; esac
# The login: record how the bridge started us, then be a person who signs in and, once
# signed in, closes the window (SIGINT: Chrome exits cleanly, as on a closed window).
printf '%s\\0' "$@" > {argv}
env > {argv}.env
{chromium} "$@" {sign_in} &
browser=$!
tries=0
while [ ! -f {signed_in} ] && [ $tries -lt 600 ]; do sleep 0.1; tries=$((tries + 1)); done
sleep 1
kill -INT $browser
wait $browser
"""


class _SignInPage(BaseHTTPRequestHandler):
    """A page of the same site (same host, another port: cookies ignore ports) where the
    person signs in: it sets the site's session cookie, then says so in `signed_in`."""

    cookie = ""
    signed_in = Path()

    def do_GET(self) -> None:
        if self.path == "/":
            self.send_response(303)
            self.send_header("Location", "/signed-in")
            self.send_header(
                "Set-Cookie", f"{auth.SESSION_COOKIE}={self.cookie}; Path=/; HttpOnly; Max-Age=3600"
            )
        else:
            self.signed_in.touch()
            self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def sign_in_page(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """`sign_in_page()`: the URL of a page that logs its visitor in to the replica."""
    servers: list[ThreadingHTTPServer] = []

    def serve() -> str:
        user = auth.User(name="Ada Lovelace", email="ada.lovelace@replica.local")
        handler = type(
            "SignIn",
            (_SignInPage,),
            {"cookie": auth.session_cookie(user), "signed_in": tmp_path / "signed-in"},
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield serve
    for server in servers:
        server.shutdown()


def person_at_the_keyboard(tmp_path: Path, chromium: str, sign_in: str) -> Path:
    """A stand-in browser executable: the real one, driven by a "person" for the login."""
    script = tmp_path / "person-browser"
    script.write_text(
        PERSON.format(
            chromium=chromium,
            argv=tmp_path / "argv",
            sign_in=sign_in,
            signed_in=tmp_path / "signed-in",
        )
    )
    script.chmod(0o755)
    return script


@pytest.mark.browser
async def test_login_in_a_plain_browser_persists_across_processes(
    make_replica: Any,
    browser_settings: Any,
    browser_executable: str,
    tmp_path: Path,
    sign_in_page: Callable[[], str],
) -> None:
    site = make_replica(ttft_ms=20, chunk_delay_ms=10)  # starts logged out, like chatgpt.com
    settings_ = browser_settings(site.url)
    person = person_at_the_keyboard(tmp_path, browser_executable, sign_in_page())
    env = {
        "CHATGPT_URL": site.url,
        "BRIDGE_DATA_DIR": str(settings_.data_dir),
        "BROWSER_EXECUTABLE": str(person),
    }
    code, out, err = await run_cli("ask", "Hello?", env=env)
    assert code == 1 and out == ""
    assert "chatgpt-bridge login" in err

    screen = VirtualDisplay()  # the person's desktop
    try:
        desktop = await screen.start()
        code, out, err = await run_cli("login", env={**env, "DISPLAY": desktop})
    finally:
        await screen.stop()
    assert code == 0, err
    environment = (tmp_path / "argv.env").read_text().splitlines()
    assert f"DISPLAY={desktop}" in environment, "the window opens on the person's screen"
    assert not [v for v in environment if v.startswith(("PLAYWRIGHT", "PW_"))]
    assert "Logged in as ada.lovelace@replica.local" in out
    argv = (tmp_path / "argv").read_text().split("\0")
    assert f"--user-data-dir={settings_.profile_dir}" in argv
    assert "--password-store=basic" in argv, "the same password store as serving"
    assert not [a for a in argv if a.startswith(("--enable-automation", "--remote-debugging"))]

    # Served without a screen: on a virtual display the bridge starts itself.
    code, out, err = await run_cli("ask", "Hello from process two markdown:code", env=env)
    assert code == 0, err
    conversation_id = err.strip().splitlines()[-1]
    stored = await site.conversation(conversation_id)
    assert stored["messages"][0]["text"] == "Hello from process two markdown:code"
    assert out == stored["messages"][-1]["text"] + "\n"

    code, out, err = await run_cli("ask", "And again", "--conversation", conversation_id, env=env)
    assert code == 0, err
    # The model is whatever the reopened chat's picker holds: the context is what counts.
    assert "User messages so far: 2." in out.split("\n")[0]


async def test_login_says_what_is_missing_when_nobody_logged_in(
    make_replica: Any, browser_settings: Any, browser_executable: str, tmp_path: Path
) -> None:
    site = make_replica()
    closes_at_once = tmp_path / "closed-browser"
    closes_at_once.write_text(
        f'#!/bin/sh\ncase " $* " in *" --remote-debugging-pipe "*) exec {browser_executable} '
        '"$@";; esac\nexit 0\n'
    )
    closes_at_once.chmod(0o755)
    env = {
        "CHATGPT_URL": site.url,
        "BRIDGE_DATA_DIR": str(browser_settings(site.url).data_dir),
        "BROWSER_EXECUTABLE": str(closes_at_once),
    }
    screen = VirtualDisplay()
    try:
        code, out, err = await run_cli("login", env={**env, "DISPLAY": await screen.start()})
    finally:
        await screen.stop()
    assert code == 1 and out == ""
    assert "not logged in: ChatGPT knows no user in this profile" in err


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
    assert "logging in needs a browser window" in err.decode()
    assert str(tmp_path / "data") in err.decode(), "where to copy a desktop's login to"


TELLS_JS = """() => ({
    webdriver: navigator.webdriver,
    nativeGetter: Object.getOwnPropertyDescriptor(Navigator.prototype, "webdriver")
        .get.toString().includes("[native code]"),
    userAgent: navigator.userAgent,
    brands: (navigator.userAgentData?.brands || []).map((b) => b.brand),
    plugins: navigator.plugins.length,
})"""


@pytest.mark.browser
async def test_the_serving_browser_shows_no_automation_tells(
    make_bridge: Any, replica: Any, browser_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)  # a server: no screen of its own
    served = await make_bridge(replica.url, browser_headless=None)
    assert served.session.display_plan.virtual and not served.session.headless
    page = await served.session.new_page()
    await page.goto(replica.url)
    tells = await page.evaluate(TELLS_JS)
    await page.close()
    assert tells["webdriver"] is False and tells["nativeGetter"], tells
    assert "HeadlessChrome" not in tells["userAgent"], tells
    assert not [brand for brand in tells["brands"] if "Headless" in brand], tells
    assert tells["plugins"] > 0, tells
    argv = psutil.Process(browser_pid(browser_settings(replica.url).profile_dir)).cmdline()
    assert "--enable-automation" not in argv
    assert not [arg for arg in argv if arg.startswith("--headless")]
    assert "--disable-blink-features=AutomationControlled" in argv


@pytest.fixture
async def own_chrome(
    browser_executable: str, tmp_path: Path, screen: str, unused_tcp_port: int
) -> AsyncIterator[str]:
    """A Chromium the person started on their screen, with a debugging port on its profile.

    A fixed port, as a person gives it: `--remote-debugging-port=0` makes Chromium report
    `navigator.webdriver` true (mozilla/web-ext#3553), which the replica's bot check sees.
    """
    profile = tmp_path / "own-chrome"
    process = await asyncio.create_subprocess_exec(
        browser_executable,
        f"--remote-debugging-port={unused_tcp_port}",
        f"--user-data-dir={profile}",
        "--no-first-run",
        *sandbox_args(),
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "DISPLAY": screen},
    )
    url = f"http://127.0.0.1:{unused_tcp_port}"
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{url}/json/version")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
    try:
        yield url
    finally:
        process.kill()
        await process.wait()
    assert process.returncode is not None


@pytest.mark.browser
async def test_attached_to_a_chrome_the_person_started(
    make_bridge: Any, replica: Any, own_chrome: str
) -> None:
    attached = await make_bridge(replica.url, browser_cdp_url=own_chrome)
    assert attached.session.attached
    async with attached.ask("Hello over CDP") as turn:
        assert 'You said: "Hello over CDP"' in await turn.read()
    await attached.stop()
    # The bridge let go of it: the person's browser still answers on its port.
    async with httpx.AsyncClient() as client:
        version = await client.get(f"{own_chrome}/json/version")
    assert version.status_code == 200 and "Browser" in version.json()


async def test_an_unreachable_chrome_says_what_to_start(
    browser_settings: Any, replica: Any, unused_tcp_port: int
) -> None:
    missing = BrowserBridge(
        browser_settings(replica.url, browser_cdp_url=f"http://127.0.0.1:{unused_tcp_port}")
    )
    with pytest.raises(BrowserDownError, match="BROWSER_CDP_URL"):
        await missing.start()
    await missing.stop()


@pytest.mark.browser
async def test_an_expiring_login_is_noticed_before_any_question(
    make_bridge: Any, make_replica: Any
) -> None:
    site = make_replica(auto_login=True)
    watched = await make_bridge(site.url, probe_interval=0.5)
    account = watched.last_account
    assert account is not None and account.logged_in and account.expires is not None
    await site.configure(session_lifetime_s=1)  # counted from now, however slow start-up was
    for _ in range(100):
        account = watched.last_account
        if account is not None and not account.logged_in:
            break
        await asyncio.sleep(0.1)
    assert account is not None and not account.logged_in, "the probe noticed"
    # Either sign of the end: a past `expires`, or no user any more (whichever probe comes first).
    problem = account.problem or ""
    assert "nobody is logged in" in problem or "the session expired" in problem
    assert await watched.state() is BridgeState.LOGIN_REQUIRED
    assert await site.sends() == [], "no question was needed to find out"
