"""Which browser runs the bridge's profile: one answer for the login and for serving.

The person logs in with a plain browser process and the bridge then automates the same
profile, so both phases must start the same browser: a profile's cookies are encrypted by
the browser that wrote them. Branded Google Chrome is preferred when it is installed (it is
what Google's sign-in sees every day); otherwise Playwright's Chromium or the system's.
`BROWSER_EXECUTABLE` and `BROWSER_CHANNEL` always win.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from browser.errors import BrowserDownError

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")

_CHANNEL_COMMANDS = {
    "chrome": ("google-chrome-stable", "google-chrome"),
    "chrome-beta": ("google-chrome-beta",),
    "msedge": ("microsoft-edge-stable", "microsoft-edge"),
}
_CHANNEL_PATHS = {
    "linux": {
        "chrome": ("/opt/google/chrome/chrome",),
        "chrome-beta": ("/opt/google/chrome-beta/chrome",),
        "msedge": ("/opt/microsoft/msedge/msedge",),
    },
    "darwin": {
        "chrome": ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",),
        "chrome-beta": ("/Applications/Google Chrome Beta.app/Contents/MacOS/Google Chrome Beta",),
        "msedge": ("/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",),
    },
    "win32": {
        "chrome": ("Google/Chrome/Application/chrome.exe",),
        "chrome-beta": ("Google/Chrome Beta/Application/chrome.exe",),
        "msedge": ("Microsoft/Edge/Application/msedge.exe",),
    },
}
_WINDOWS_ROOTS = ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")


@dataclass(frozen=True)
class BrowserChoice:
    """Which browser to launch: an executable path, or a Playwright channel name."""

    executable_path: str | None = None
    channel: str | None = None

    def __str__(self) -> str:
        return self.executable_path or f"channel {self.channel}"


def channel_executable(
    channel: str, platform: str = sys.platform, environ: Mapping[str, str] = os.environ
) -> str | None:
    """Where a Playwright channel ("chrome", "msedge", ...) is installed, if it is."""
    for candidate in _channel_candidates(channel, platform, environ):
        if Path(candidate).is_file():
            return candidate
    return None


def find_browser(
    executable: Path | None,
    channel: str | None,
    bundled_chromium: str | None,
    *,
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
) -> BrowserChoice:
    """BROWSER_EXECUTABLE, BROWSER_CHANNEL, installed Chrome, Playwright's Chromium, Debian's."""
    if executable:
        path = Path(executable).expanduser()
        if not path.is_file():
            raise BrowserDownError(
                f"BROWSER_EXECUTABLE points to {path}, which does not exist. Fix the path or "
                "unset it to use an installed Chrome/Chromium."
            )
        return BrowserChoice(executable_path=str(path))
    if channel:
        return BrowserChoice(channel=channel)
    chrome = channel_executable("chrome", platform, environ)
    if chrome:
        return BrowserChoice(executable_path=chrome)
    if bundled_chromium and Path(bundled_chromium).is_file():
        return BrowserChoice(executable_path=bundled_chromium)
    if DEBIAN_CHROMIUM.is_file():
        return BrowserChoice(executable_path=str(DEBIAN_CHROMIUM))
    raise BrowserDownError(
        "No browser found. Install Google Chrome, run `playwright install chromium`, install "
        "Chromium (`apt install chromium`), or set BROWSER_EXECUTABLE to a Chrome/Chromium "
        "binary."
    )


def executable_of(choice: BrowserChoice) -> str:
    """The binary to start as a plain process (a channel resolved to its install path)."""
    if choice.executable_path:
        return choice.executable_path
    assert choice.channel is not None
    found = channel_executable(choice.channel)
    if found is None:
        raise BrowserDownError(
            f"BROWSER_CHANNEL={choice.channel} is not installed where it usually is. Install it, "
            "or set BROWSER_EXECUTABLE to its binary."
        )
    return found


def _channel_candidates(
    channel: str, platform: str, environ: Mapping[str, str]
) -> Iterator[str]:
    key = "win32" if platform.startswith("win") else "darwin" if platform == "darwin" else "linux"
    paths = _CHANNEL_PATHS[key].get(channel, ())
    if key == "win32":
        for root in _WINDOWS_ROOTS:
            if environ.get(root):
                yield from (str(Path(environ[root]) / path) for path in paths)
        return
    yield from paths
    for command in _CHANNEL_COMMANDS.get(channel, ()):
        found = shutil.which(command, path=environ.get("PATH"))
        if found:
            yield found
