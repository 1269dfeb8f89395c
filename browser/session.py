"""The browser itself: a persistent Chrome profile, found, launched and relaunched.

The profile directory holds the person's ChatGPT session cookies, so it is created private
(0700) and never logged. The stream tap (`tap.js`) is an init script of the context, so
every navigation is tapped before the web app's own code runs; each tab gets a CDP binding
(`Runtime.addBinding`, which survives navigations) that carries the tap's messages to Python
as one-way events: a Playwright `expose_binding` costs a round trip per call, which falls
behind when several answers stream at once. When the browser dies (crash, killed, window
closed) the session notices, tells its listeners (the pool fails the turns in flight),
and the next `ensure()` launches it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from browser.display import DisplayError, VirtualDisplay, has_display, write_display_file
from browser.errors import BrowserDownError
from browser.executables import BrowserChoice, find_browser
from browser.private import private_dir

logger = logging.getLogger(__name__)

TAP_SCRIPT = Path(__file__).with_name("tap.js")
TAP_BINDING = "__chatgptBridgeTap"

SERVER_LINUX_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""What a Linux box without a screen of its own (a server, a container, CI) wants."""

COMMON_ARGS = (
    # Tabs in the background must stream as fast as the one in front.
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    # Without it `navigator.webdriver` is true; with it false, through the native getter.
    "--disable-blink-features=AutomationControlled",
)
AUTOMATION_DEFAULTS = ("--enable-automation",)
"""Playwright's default switches that announce automation (the infobar, Google's refusal)."""

TapCallback = Callable[[dict[str, Any]], None]
NO_WINDOW_YET = "Failed to open a new tab"
"""Chromium's answer to a new tab while a headed browser closes its last window."""


class SessionSettings(Protocol):
    """What the browser layer reads from the app's Settings."""

    chatgpt_url: str
    browser_executable: Path | None
    browser_channel: str | None
    browser_headless: bool | None
    browser_cdp_url: str | None
    data_dir: Path

    @property
    def profile_dir(self) -> Path: ...


@dataclass(frozen=True)
class DisplayPlan:
    """How the browser gets a screen: its own window, a virtual display, or none."""

    headless: bool
    virtual: bool = False
    warning: str | None = None


HEADLESS_WARNING = (
    "the browser runs headless: chatgpt.com is likely to challenge it (a headless browser "
    "says so in its user agent)"
)


def plan_display(
    setting: bool | None,
    *,
    xvfb: bool,
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
) -> DisplayPlan:
    """A window where there is a screen, a virtual screen where there is none.

    `BROWSER_HEADLESS=true` still runs headless, and without Xvfb there is no other way;
    both are warned about, since the real site challenges a headless browser.
    """
    if setting:
        return DisplayPlan(headless=True, warning=f"{HEADLESS_WARNING} (BROWSER_HEADLESS=true)")
    if has_display(environ, platform):
        return DisplayPlan(headless=False)
    if xvfb:
        return DisplayPlan(headless=False, virtual=True)
    return DisplayPlan(
        headless=True, warning=f"{HEADLESS_WARNING}: no display, and Xvfb is not installed"
    )


def launch_args(plan: DisplayPlan, platform: str = sys.platform) -> list[str]:
    args = list(COMMON_ARGS)
    if platform.startswith("linux") and (plan.headless or plan.virtual):
        args.extend(SERVER_LINUX_ARGS)
    return [*args, *sandbox_args(platform)]


def sandbox_args(platform: str = sys.platform) -> list[str]:
    """Chromium refuses to start as root with its sandbox (containers, CI)."""
    root = platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0
    return ["--no-sandbox"] if root else []


async def bundled_chromium() -> str | None:
    """Playwright's own Chromium, if `playwright install` put one here (no browser starts)."""
    async with async_playwright() as playwright:
        return _bundled_chromium(playwright.chromium)


def prepare_profile(settings: SessionSettings) -> Path:
    """Create the data and profile directories readable by the owner only."""
    private_dir(settings.data_dir)
    return private_dir(settings.profile_dir)


class Session:
    """One persistent browser context on the profile; relaunched on demand after it dies."""

    def __init__(self, settings: SessionSettings, *, headless: bool | None = None) -> None:
        self._settings = settings
        self._display = VirtualDisplay()
        self.display_plan = plan_display(
            settings.browser_headless if headless is None else headless,
            xvfb=self._display.available,
        )
        self.headless = self.display_plan.headless
        self._playwright: Playwright | None = None
        self._context: BrowserContext | None = None
        self._browser: Browser | None = None
        """Set when attached over CDP: the connection to the person's own Chrome."""
        self._lock = asyncio.Lock()
        self._window_lock = asyncio.Lock()
        self._close_listeners: list[Callable[[], None]] = []
        self._stopping = False
        self._spare: Page | None = None
        """The blank tab a persistent context opens with: the first tab asked for (headless;
        headed, it is the anchor window that keeps the browser open)."""
        self.launches = 0

    @property
    def running(self) -> bool:
        return self._context is not None

    @property
    def context(self) -> BrowserContext | None:
        return self._context

    def on_close(self, listener: Callable[[], None]) -> None:
        """`listener()` runs when the browser goes away (crash, kill, window closed)."""
        self._close_listeners.append(listener)

    async def ensure(self) -> BrowserContext:
        """The running context, launching the browser first if it is not running."""
        if self._context is not None:
            return self._context
        async with self._lock:
            if self._context is None:
                self._context = await self._launch()
            return self._context

    async def new_page(self, on_tap: TapCallback | None = None) -> Page:
        """A tab (the launch's first blank tab when unused), focus-emulated.

        `on_tap(message)` receives every message of the tab's stream tap, in page order.
        """
        context = await self.ensure()
        try:
            return await self._open_tab(context, on_tap)
        except PlaywrightError as error:
            if NO_WINDOW_YET in str(error):
                # Headed, the last tab's window may still be closing: a moment, then again.
                await asyncio.sleep(0.5)
                try:
                    return await self._open_tab(context, on_tap)
                except PlaywrightError as again:
                    error = again
            if "closed" not in str(error):
                raise _tab_failure(error) from None
        # The browser died and its close event is still on the way: relaunch right now.
        self._closed(context)
        context = await self.ensure()
        try:
            return await self._open_tab(context, on_tap)
        except PlaywrightError as error:
            raise _tab_failure(error) from None

    async def _open_tab(self, context: BrowserContext, on_tap: TapCallback | None) -> Page:
        page, self._spare = self._spare, None
        if page is None or page.is_closed():
            page = await self._new_window(context)
        cdp = await context.new_cdp_session(page)
        if on_tap is not None:
            cdp.on("Runtime.bindingCalled", lambda event: _deliver(event, on_tap))
            await cdp.send("Runtime.enable")
            await cdp.send("Runtime.addBinding", {"name": TAP_BINDING})
        # Background tabs are throttled otherwise; every tab streams as if in front.
        await cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
        return page

    async def _new_window(self, context: BrowserContext) -> Page:
        """A tab in a window of its own when headed: a background tab draws no frames.

        Chromium runs no `requestAnimationFrame` for a tab hidden behind another in its
        window, and every Playwright click waits for frames to see that its target stands
        still: measured, a turn in such a tab spent 1-2 s in each of its two clicks, so
        sequential new chats over two or three tabs alternated between ~1 s and ~4-5 s.
        In windows of their own, every tab is visible (occluded windows are not
        backgrounded: `--disable-backgrounding-occluded-windows`). The launch's own blank
        window stays open beside them, so closing the last tab never quits the browser.
        """
        opener = next((page for page in context.pages if not page.is_closed()), None)
        if self.headless or opener is None:
            return await context.new_page()
        cdp = await context.new_cdp_session(opener)
        try:
            # One at a time: the next "page" event of the context is this window's.
            async with self._window_lock, context.expect_page() as opened:
                await cdp.send("Target.createTarget", {"url": "about:blank", "newWindow": True})
            return await opened.value
        finally:
            with contextlib.suppress(PlaywrightError):
                await cdp.detach()

    async def stop(self) -> None:
        self._stopping = True
        try:
            if self._context is not None:
                context, self._context = self._context, None
                await self._let_go(context)
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None
            if self._display.running:
                await self._display.stop()
                await asyncio.to_thread(write_display_file, self._settings.data_dir, None)
        finally:
            self._stopping = False

    @property
    def attached(self) -> bool:
        """The browser is the person's own Chrome (BROWSER_CDP_URL): never closed by us."""
        return bool(self._settings.browser_cdp_url)

    async def _launch(self) -> BrowserContext:
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        if self._settings.browser_cdp_url:
            context = await self._attach(self._settings.browser_cdp_url)
        else:
            context = await self._start_browser()
        try:
            await context.add_init_script(path=TAP_SCRIPT)
        except PlaywrightError as error:
            await self._let_go(context)
            raise BrowserDownError(
                f"The browser closed while starting: {first_line(error)}"
            ) from None
        context.set_default_timeout(30_000)
        first = context.pages[0] if context.pages and not self.attached else None
        # Headed, the launch's blank window stays as the anchor new windows open from: with
        # a window per tab, closing the last tab's window would otherwise quit the browser.
        self._spare = first if self.headless else None
        context.on("close", lambda _: self._closed(context))
        self.launches += 1
        return context

    async def _attach(self, url: str) -> BrowserContext:
        """The person's own Chrome, started with a debugging port on a dedicated profile."""
        assert self._playwright is not None
        try:
            self._browser = await self._playwright.chromium.connect_over_cdp(url, timeout=30_000)
        except PlaywrightError as error:
            raise BrowserDownError(
                f"Cannot reach the Chrome at BROWSER_CDP_URL ({first_line(error)}). Start it "
                "with --remote-debugging-port=9222 --user-data-dir=<a profile of its own> "
                "(Chrome ignores the port on its default profile), or unset BROWSER_CDP_URL."
            ) from None
        self._browser.on("disconnected", lambda _: self._closed(self._context))
        logger.info("attached to the Chrome at BROWSER_CDP_URL; it is never closed by the bridge")
        return self._browser.contexts[0]

    async def _let_go(self, context: BrowserContext) -> None:
        """Close what the bridge launched; only disconnect from a Chrome it attached to."""
        try:
            if self._browser is not None:
                browser, self._browser = self._browser, None
                await browser.close()  # over CDP: drops the connection, the browser lives on
            else:
                await context.close()
        except PlaywrightError as error:
            logger.debug("closing the browser: %s", first_line(error))

    async def _start_browser(self) -> BrowserContext:
        assert self._playwright is not None
        chromium = self._playwright.chromium
        settings = self._settings
        choice = find_browser(
            settings.browser_executable, settings.browser_channel, _bundled_chromium(chromium)
        )
        profile = await asyncio.to_thread(prepare_profile, settings)
        env = await self._screen()
        logger.info("launching %s (%s)", choice, self.describe_display())
        try:
            context = await chromium.launch_persistent_context(
                profile,
                executable_path=choice.executable_path,
                channel=choice.channel,
                headless=self.headless,
                args=launch_args(self.display_plan),
                ignore_default_args=list(AUTOMATION_DEFAULTS),
                env=env,
                no_viewport=not self.headless,
                timeout=60_000,
            )
        except PlaywrightError as error:
            raise BrowserDownError(_launch_failure(error, choice, profile)) from None
        return context

    def describe_display(self) -> str:
        """For logs and the startup summary: how the browser shows its window."""
        if self.attached:
            return "your own Chrome, attached over BROWSER_CDP_URL"
        if self.headless:
            return "headless"
        if self.display_plan.virtual:
            return f"with a window on the virtual display {self._display.display or '(stopped)'}"
        return "with a window"

    async def _screen(self) -> dict[str, str] | None:
        """The launch environment: the virtual display's, when the plan calls for one."""
        if not self.display_plan.virtual:
            return None
        try:
            screen = await self._display.start()
        except DisplayError as error:
            raise BrowserDownError(str(error)) from None
        await asyncio.to_thread(write_display_file, self._settings.data_dir, screen)
        return {**os.environ, "DISPLAY": screen}

    def _closed(self, context: BrowserContext | None) -> None:
        if context is None or self._context is not context:
            return
        self._context = None
        if not self._stopping:
            logger.warning("the browser closed; it is relaunched on the next request")
        for listener in self._close_listeners:
            listener()


def _deliver(event: dict[str, Any], on_tap: TapCallback) -> None:
    """One `Runtime.bindingCalled` event of the tap: a JSON message for `on_tap`."""
    if event.get("name") != TAP_BINDING:
        return
    try:
        message = json.loads(event.get("payload") or "")
    except ValueError:
        return
    if isinstance(message, dict):
        on_tap(message)


def _bundled_chromium(chromium: Any) -> str | None:
    try:
        return chromium.executable_path
    except PlaywrightError:
        return None


def first_line(error: BaseException) -> str:
    """The first line of a Playwright error (the rest is a call log, noise for a person)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _tab_failure(error: PlaywrightError) -> BrowserDownError:
    return BrowserDownError(f"The browser could not open a tab: {first_line(error)}")


def _launch_failure(error: PlaywrightError, choice: BrowserChoice, profile: Path) -> str:
    text = str(error)
    if "ProcessSingleton" in text or "SingletonLock" in text or "already in use" in text:
        return (
            f"The Chrome profile {profile} is in use by another browser (another "
            "`chatgpt-bridge` or its login window?). Close it and try again."
        )
    if choice.channel and ("is not found" in text or "Chromium distribution" in text):
        return (
            f"BROWSER_CHANNEL={choice.channel} is not installed on this machine. Install it or "
            "unset BROWSER_CHANNEL."
        )
    return f"The browser ({choice}) could not start: {first_line(error)}"
