"""`chatgpt-bridge login` and `chatgpt-bridge ask`: the browser layer from a terminal.

`ask` streams the answer's Markdown to stdout as it arrives (so it pipes) and prints the
conversation id on its own line to stderr (so a person can continue with `--conversation`).
Errors print their actionable message to stderr and exit 1. `login` never touches
credentials: it starts a plain, unautomated browser on the bridge's profile, waits for the
person to close it, then checks the session the way `serve` will see it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from typing import TextIO

from app.config import Settings
from app.logs import configure_logging
from browser import BrowserBridge
from browser.contract import AskOptions
from browser.display import VirtualDisplay, has_display, read_display_file
from browser.errors import BridgeError
from browser.executables import executable_of, find_browser
from browser.login import plain_browser_command, run_plain_browser
from browser.models import ModelIdError, gizmo_choice, mismatch_note, resolve_model_id
from browser.remote_view import RemoteView, RemoteViewError, ssh_hint
from browser.session import bundled_chromium, prepare_profile, sandbox_args

logger = logging.getLogger(__name__)


def _quiet_logging(settings: Settings) -> None:
    """INFO chatter would mix with the answer on a terminal; DEBUG is honoured."""
    level = settings.log_level if settings.log_level == "DEBUG" else "WARNING"
    configure_logging(settings.model_copy(update={"log_level": level}))


async def ask(
    settings: Settings,
    prompt: str,
    *,
    conversation_id: str | None,
    model: str | None,
    temporary: bool,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    _quiet_logging(settings)
    bridge = BrowserBridge(settings)
    try:
        await bridge.start()
        options = await _options(bridge, model)
        async with bridge.ask(
            prompt, conversation_id=conversation_id, options=options, temporary=temporary
        ) as turn:
            async for delta in turn:
                out.write(delta)
                out.flush()
        if not turn.text.endswith("\n"):
            out.write("\n")
        out.flush()
        if turn.finish_reason not in (None, "stop"):
            print(f"(answer ended: {turn.finish_reason})", file=err)
        note = mismatch_note(options.model, turn.answered_by)
        if note:
            print(f"({note})", file=err)
        print(turn.conversation_id, file=err)
        return 0
    except (BridgeError, ModelIdError) as error:
        print(f"chatgpt-bridge: {error}", file=err)
        return 1
    finally:
        await bridge.stop()


async def _options(bridge: BrowserBridge, model: str | None) -> AskOptions:
    """`--model slug[@effort]`, checked against the account's own list before typing; a
    custom GPT's `g-<id>` or `project/<name>` the browser checks when it opens the chat."""
    if model is None:
        return AskOptions()
    gizmo = gizmo_choice(model)
    if gizmo is not None:
        kind, name = gizmo
        return AskOptions(gpt=name) if kind == "gpt" else AskOptions(project=name)
    chosen = resolve_model_id(model, await bridge.model_infos())
    return AskOptions(model=chosen.slug, effort=chosen.effort)


async def login(
    settings: Settings,
    *,
    remote: bool = False,
    err: TextIO = sys.stderr,
    done: Awaitable[object] | None = None,
) -> int:
    """Log in with a plain browser (no automation), then check the session as serving would.

    `done` ends the login early (the terminal's Enter key, or a test); by default the person
    closes the window, or presses Enter. `remote`: the window is on a virtual display shown
    through a web page on 127.0.0.1, for a machine without a screen.
    """
    _quiet_logging(settings)
    if not remote and not has_display():
        print(_NO_DISPLAY.format(data_dir=settings.data_dir), file=err)
        return 2
    try:
        choice = find_browser(
            settings.browser_executable, settings.browser_channel, await bundled_chromium()
        )
        profile = await asyncio.to_thread(prepare_profile, settings)
        command = plain_browser_command(
            executable_of(choice), profile, settings.chatgpt_url, extra=sandbox_args()
        )
    except BridgeError as error:
        print(f"chatgpt-bridge: {error}", file=err)
        return 1
    async with AsyncExitStack() as screen:
        env = await _remote_screen(screen, err) if remote else None
        print(
            f"A browser window opens on {settings.chatgpt_url}. Log in as you normally do "
            "(password, Google, Microsoft, Apple, SSO), then close the window, or press Enter "
            "here.",
            file=err,
        )
        status = await run_plain_browser(command, until=done or wait_for_enter(), env=env)
    logger.debug("the login browser exited with %s", status)
    return await _check_login(settings, err)


_NO_DISPLAY = (
    "chatgpt-bridge: logging in needs a browser window, and this machine has no display "
    "(DISPLAY/WAYLAND_DISPLAY). Run `chatgpt-bridge login --remote` to see the window through "
    "an SSH tunnel, or log in on a desktop and copy the data directory {data_dir} here "
    "(see the README: Running on a server)."
)


async def _remote_screen(stack: AsyncExitStack, err: TextIO) -> dict[str, str]:
    """A virtual display for the login window, shown on 127.0.0.1; its environment."""
    display = VirtualDisplay()
    stack.push_async_callback(display.stop)
    view = await stack.enter_async_context(RemoteView(await display.start()))
    print(_view_instructions(view), file=err)
    return {**os.environ, "DISPLAY": display.display or ""}


def _view_instructions(view: RemoteView) -> str:
    return (
        f"The browser is on a virtual display. From your own computer, open a tunnel:\n\n"
        f"    {ssh_hint(view.port)}\n\nthen open {view.url} in your browser. "
        "(It listens on 127.0.0.1 only: never share it through the public tunnel.)"
    )


async def view(
    settings: Settings, *, err: TextIO = sys.stderr, done: Awaitable[object] | None = None
) -> int:
    """Show the serving browser's virtual display until Enter or Ctrl-C (or `done`)."""
    display = read_display_file(settings.data_dir)
    if display is None:
        print(
            "chatgpt-bridge: no serving browser on a virtual display here (is `serve` running "
            "on this machine without a screen? With a screen, its window is on that screen).",
            file=err,
        )
        return 1
    try:
        async with RemoteView(display) as shown:
            print(_view_instructions(shown), file=err)
            print("Press Enter (or Ctrl-C) to stop showing it.", file=err)
            await (done or wait_for_enter())
    except RemoteViewError as error:
        print(f"chatgpt-bridge: {error}", file=err)
        return 1
    return 0


async def _check_login(settings: Settings, err: TextIO) -> int:
    """Open the profile the way `serve` does and say who is logged in, or what is missing."""
    bridge = BrowserBridge(settings)
    try:
        await bridge.start()
        account = await bridge.account()
    except BridgeError as error:
        print(f"chatgpt-bridge: the login could not be checked: {error}", file=err)
        return 1
    finally:
        await bridge.stop()
    if not account.logged_in:
        print(
            f"chatgpt-bridge: not logged in: {account.problem}. Run `chatgpt-bridge login` "
            "again and close the window only once ChatGPT shows your chats.",
            file=err,
        )
        return 1
    expiry = f" (the session says it lasts until {account.expires:%Y-%m-%d})"
    print(
        f"Logged in as {account.who}{expiry if account.expires else ''}. The bridge's "
        "browser profile keeps this login."
    )
    return 0


async def wait_for_enter() -> None:
    """Completes when the person presses Enter (never, without a terminal).

    A daemon thread reads stdin: a blocking read in the event loop's executor would keep
    the program from exiting once the window was closed instead.
    """
    loop = asyncio.get_running_loop()
    pressed: asyncio.Future[None] = loop.create_future()

    def read() -> None:
        line = sys.stdin.readline() if sys.stdin and sys.stdin.isatty() else ""
        if line:
            loop.call_soon_threadsafe(lambda: pressed.done() or pressed.set_result(None))

    threading.Thread(target=read, name="login-enter", daemon=True).start()
    await pressed
