"""`chatgpt-bridge doctor`: does this bridge still understand today's chatgpt.com?

When the web app changes, a person needs to learn *which* part stopped matching, in a form
they can fix without a release: the renderer adapter the page matched, the selector layer
that found each control (their own `BRIDGE_SELECTORS_FILE` layers are tried first), and,
with one real question (`send=True`), how the answer was read. Each check is a small step
with a result; a failing step carries the path of the page's redacted diagnostic, which is
what a new selector layer is written from.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from browser import adapters, diagnostics, selectors
from browser.account import read_account
from browser.adapters import DomMessage
from browser.bridge import BridgeSettings, BrowserBridge
from browser.errors import BridgeError
from browser.page import PageState, auth_session, control, probe
from browser.pool import Tab
from browser.session import first_line
from browser.turn import BrowserTurn

SETTLE_TIMEOUT = 15.0
"""Seconds a freshly opened page gets to show its message box or a blocking state."""
WATCH_INTERVAL = 0.05
"""Seconds between looks for the stop control: it flickers off between token batches."""
QUESTION = "Reply with one short sentence: is this chat working?"
TYPED = "doctor check"
"""Typed (and removed again) with `send=True` only, so the Send button can appear."""

SOURCES = {
    "stream": "the page's own HTTP stream, tapped",
    "resume": "the resume endpoint after the stream handed off",
    "websocket": "the WebSocket after the stream handed off",
    "read-back": "the stored conversation, after the stream broke off",
    "dom": "the DOM fallback: the network tap saw nothing",
}
"""What each `BrowserTurn.source` means, in the words the report prints."""


@dataclass(frozen=True)
class Check:
    """One step's result, e.g. `composer`, True, "layer 1 `form[...] [contenteditable]`"."""

    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> Check | None:
        """The first failing step: the one to fix first (later ones may follow from it)."""
        return next((check for check in self.checks if not check.ok), None)

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def verdict(self) -> str:
        failed = self.failed
        return "doctor: all checks passed" if failed is None else f"doctor: failed at {failed.name}"

    def as_dict(self) -> dict[str, Any]:
        failed = self.failed
        return {
            "ok": failed is None,
            "failed": failed and failed.name,
            "checks": [asdict(check) for check in self.checks],
        }

    def table(self) -> str:
        """One line per step, then the verdict on the last line."""
        width = max((len(check.name) for check in self.checks), default=0)
        lines = [
            f"{check.name:<{width}}  {'ok  ' if check.ok else 'FAIL'}  {check.detail}"
            for check in self.checks
        ]
        return "\n".join([*lines, self.verdict])


async def run(settings: BridgeSettings, *, send: bool = False) -> Report:
    """Start a bridge on `settings`, examine chatgpt.com with it, stop it."""
    bridge = BrowserBridge(settings)
    try:
        try:
            await bridge.start()
        except BridgeError as error:
            return Report([Check("browser", False, str(error))])
        return await examine(bridge, settings, send=send)
    finally:
        await bridge.stop()


async def examine(
    bridge: BrowserBridge,
    settings: BridgeSettings,
    *,
    send: bool = False,
    settle: float = SETTLE_TIMEOUT,
) -> Report:
    """Every check, in a tab of `bridge`; `send` also asks one question in a temporary chat."""
    report = Report([Check("browser", True, f"running {bridge.session.describe_display()}")])
    try:
        async with bridge.pool.lease() as tab:
            assert tab is not None
            steps = _Steps(report, tab.page, settings)
            await _examine_page(steps, tab, settings.chatgpt_url, send, settle)
        if send and report.ok:
            await _examine_answer(report, bridge, settings)
    except (BridgeError, PlaywrightError) as error:
        # A tab that crashed or a browser that closed mid-check: no page left to describe.
        reason = str(error) if isinstance(error, BridgeError) else first_line(error)
        report.checks.append(Check("browser", False, f"the browser failed mid-check: {reason}"))
    return report


class _Steps:
    """Records results; a failure also writes the page's diagnostic and names the file."""

    def __init__(self, report: Report, page: Page, settings: BridgeSettings) -> None:
        self.report, self.page, self._settings = report, page, settings

    def passed(self, name: str, detail: str) -> bool:
        self.report.checks.append(Check(name, True, detail))
        return True

    async def failed(self, name: str, detail: str) -> bool:
        step = f"doctor-{name}"
        explained = await diagnostics.explain(self.page, step, self._settings.data_dir)
        self.report.checks.append(Check(name, False, detail + explained))
        return False

    async def layer(self, step: str, name: str, layer: str | None, what: str) -> bool:
        """The layer of selector `name` that found its control, or a failure saying so."""
        if layer:
            return self.passed(step, _layer_text(name, layer))
        return await self.failed(step, f"no layer of `{name}` shows {what}.")


async def _examine_page(steps: _Steps, tab: Tab, url: str, send: bool, settle: float) -> None:
    state = await _open(steps, tab, url, settle)
    if state is None or not await _session(steps, state):
        return
    if state.detection.known:
        steps.passed("renderer", state.detection.renderer)
    else:
        seen = "; ".join(state.detection.seen) or "nothing"
        await steps.failed("renderer", f"no renderer adapter matches this page (saw: {seen}).")
    found = await _picks(steps.page, ("composer", "send", "voice", "model_trigger"))
    await steps.layer("composer", "composer", found["composer"], "a visible message box")
    await _send_button(steps, found, state, typed=send and bool(found["composer"]))
    await steps.layer("picker", "model_trigger", found["model_trigger"], "the model picker")


async def _open(steps: _Steps, tab: Tab, url: str, settle: float) -> PageState | None:
    """Load `url` afresh and wait until it shows its message box or a blocking state."""
    tab.clean = False
    try:
        await steps.page.goto(url, wait_until="domcontentloaded", timeout=60_000)
    except PlaywrightError as error:
        steps.report.checks.append(
            Check("page", False, f"could not open {url}: {first_line(error)}. Check CHATGPT_URL.")
        )
        return None
    state = await _settled(steps.page, settle)
    if state.logged_out and read_account(await auth_session(steps.page)).logged_in:
        # The session names a user while the page shows its login screen: a login made (or
        # a session restored) since this page loaded shows after one reload, as in the
        # bridge's own state check. Judging the layout of a login screen would report every
        # control missing.
        await steps.page.reload(wait_until="domcontentloaded", timeout=60_000)
        state = await _settled(steps.page, settle)
    if state.challenge == "strong":
        await steps.failed(
            "page", "a Cloudflare check shows: answer it in the window (`chatgpt-bridge login`)."
        )
        return None
    if state.rate_limit:
        await steps.failed("page", f"ChatGPT shows its rate limit: {state.rate_limit}")
        return None
    steps.passed("page", f"opened {_origin(url)}{urlsplit(steps.page.url).path}")
    return state


async def _settled(page: Page, settle: float) -> PageState:
    """The page's state once it shows its message box or a blocking state, or `settle` ends."""
    deadline = time.monotonic() + settle
    state = await probe(page)
    while not (state.composer or state.logged_out or state.challenge == "strong"):
        if state.rate_limit or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
        state = await probe(page)
    return state


async def _session(steps: _Steps, state: PageState) -> bool:
    account = read_account(await auth_session(steps.page))
    if not account.logged_in:
        return await steps.failed("session", f"{account.problem}. Run `chatgpt-bridge login`.")
    if state.logged_out:
        return await steps.failed(
            "session",
            f"the page shows ChatGPT's login screen although the session names {account.who}."
            " Run `chatgpt-bridge login` and log in in the window.",
        )
    until = f" (expires {account.expires:%Y-%m-%d})" if account.expires else ""
    return steps.passed("session", f"logged in as {account.who}{until}")


async def _send_button(
    steps: _Steps, found: dict[str, str | None], state: PageState, *, typed: bool
) -> None:
    """Send shows only while the composer holds text: type first, or accept the voice button."""
    if typed:
        await _type(steps.page, TYPED)
        found = {**found, **await _picks(steps.page, ("send",))}
        await _type(steps.page, "")
    if found["send"]:
        steps.passed("send", _layer_text("send", found["send"]))
    elif not typed and found["voice"] and not (state.composer_text or "").strip():
        voice = _layer_text("voice", found["voice"])
        steps.passed("send", f"appears once there is text (the voice button shows: {voice})")
    else:
        when = "after typing" if typed else "and no voice button shows instead"
        await steps.failed("send", f"no layer of `send` shows a button {when}.")


async def _type(page: Page, text: str) -> None:
    """Replace the composer's text the way a turn types (select all, delete, insert)."""
    composer = await control(page, "composer")
    await composer.click(timeout=10_000)
    await page.keyboard.press("ControlOrMeta+a")
    await page.keyboard.press("Delete")
    if text:
        await page.keyboard.insert_text(text)


async def _examine_answer(report: Report, bridge: BrowserBridge, settings: BridgeSettings) -> None:
    """Ask one question in a temporary chat; watch its stop control and message nodes."""
    try:
        async with bridge.ask(QUESTION, temporary=True) as turn:
            steps = _Steps(report, turn.page, settings)
            seen: list[str] = []
            watcher = asyncio.create_task(_watch_stop(turn.page, seen), name="doctor-stop")
            try:
                await turn.read()
            except BridgeError as error:
                await steps.failed("ask", str(error))
                return
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await _answered(steps, turn, seen[0] if seen else None)
    except BridgeError as error:
        report.checks.append(Check("ask", False, str(error)))


async def _answered(steps: _Steps, turn: BrowserTurn, stop_layer: str | None) -> None:
    length = len(turn.text)
    if not turn.text.strip() or turn.finish_reason != "stop":
        await steps.failed(
            "ask", f"the answer ended {turn.finish_reason} with {length} characters."
        )
        return
    steps.passed("ask", f"a temporary chat answered {length} characters")
    await steps.layer("stop", "stop", stop_layer, "the stop control while ChatGPT answered")
    read = await adapters.read(turn.page)
    if _answer_follows(read.messages, turn.user_message_id):
        steps.passed(
            "messages",
            f"{read.detection.renderer}: {len(read.messages)} message nodes, "
            "our question and the answer after it",
        )
    else:
        await steps.failed(
            "messages", f"{read.detection.renderer} shows no user and assistant message nodes."
        )
    if turn.source:
        steps.passed("read", f"{turn.source} ({SOURCES[turn.source]})")
    else:
        await steps.failed("read", "the turn did not say how its answer was read.")


async def _watch_stop(page: Page, seen: list[str]) -> None:
    """Put the first stop layer that shows into `seen`; the caller cancels the watch."""
    with contextlib.suppress(PlaywrightError):
        while not seen:
            layer = (await _picks(page, ("stop",)))["stop"]
            if layer:
                seen.append(layer)
            else:
                await asyncio.sleep(WATCH_INTERVAL)


def _answer_follows(messages: list[DomMessage], user_message_id: str | None) -> bool:
    """Our user message shows as a node, and an assistant message node after it."""
    ids = [message.id for message in messages]
    if user_message_id not in ids:
        return False
    return any(m.role == "assistant" for m in messages[ids.index(user_message_id) + 1 :])


_PICKS_JS = f"""
([L, names]) => {{
  const kit = ({adapters.KIT_JS})(L);
  return Object.fromEntries(names.map((name) => {{
    const picked = kit.pick(kit.scope, name);
    return [name, picked ? picked.layer : null];
  }}));
}}
"""


async def _picks(page: Page, names: tuple[str, ...]) -> dict[str, str | None]:
    """The layer that shows a visible element, per selector name (None: no layer does)."""
    found: dict[str, str | None] = await page.evaluate(
        _PICKS_JS, [selectors.layered(), list(names)]
    )
    return found


def _layer_text(name: str, layer: str) -> str:
    """E.g. "layer 2 `button[...]`", marked when it is one of the person's own layers."""
    layers = selectors.layers(name)
    index = layers.index(layer)
    own = len(layers) - len(selectors.DEFAULTS[name])
    return f"layer {index + 1} `{layer}`" + (" (from BRIDGE_SELECTORS_FILE)" if index < own else "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
