"""`chatgpt-bridge login` and `chatgpt-bridge ask`: the browser layer from a terminal.

`ask` streams the answer's Markdown to stdout as it arrives (so it pipes) and prints the
conversation id on its own line to stderr (so a person can continue with `--conversation`).
Errors print their actionable message to stderr and exit 1. `login` never touches
credentials: it shows ChatGPT in a visible window and waits until the person has logged in.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TextIO

from app.config import Settings
from app.logs import configure_logging
from browser import BrowserBridge
from browser.errors import BridgeError

LOGIN_TIMEOUT = 900.0


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
        async with bridge.ask(
            prompt, conversation_id=conversation_id, model=model, temporary=temporary
        ) as turn:
            async for delta in turn:
                out.write(delta)
                out.flush()
        if not turn.text.endswith("\n"):
            out.write("\n")
        out.flush()
        if turn.finish_reason not in (None, "stop"):
            print(f"(answer ended: {turn.finish_reason})", file=err)
        print(turn.conversation_id, file=err)
        return 0
    except BridgeError as error:
        print(f"chatgpt-bridge: {error}", file=err)
        return 1
    finally:
        await bridge.stop()


async def login(settings: Settings, *, err: TextIO = sys.stderr) -> int:
    _quiet_logging(settings)
    if settings.browser_headless is None and sys.platform.startswith("linux"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            print(
                "chatgpt-bridge: logging in needs a visible browser window, and this machine "
                "has no display (DISPLAY/WAYLAND_DISPLAY). Run `chatgpt-bridge login` on a "
                "desktop session (or over `ssh -X`), then copy the data directory "
                f"{settings.data_dir} here.",
                file=err,
            )
            return 2
    bridge = BrowserBridge(settings, headless=bool(settings.browser_headless))
    try:
        print(f"Log in to ChatGPT in the browser window ({settings.chatgpt_url}).", file=err)
        who = await asyncio.wait_for(bridge.wait_for_login(), LOGIN_TIMEOUT)
        print(f"Logged in as {who}. The bridge's browser profile keeps this login.")
        return 0
    except asyncio.TimeoutError:
        print(f"chatgpt-bridge: nobody logged in within {LOGIN_TIMEOUT:.0f} s.", file=err)
        return 1
    except BridgeError as error:
        print(f"chatgpt-bridge: {error}", file=err)
        return 1
    finally:
        await bridge.stop()
