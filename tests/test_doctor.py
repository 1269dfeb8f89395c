"""`chatgpt-bridge doctor` against the replica: green when all is well, the failing step named.

Each fault is made the way a web-app change would look to the bridge: a logged-out profile,
a message box that no layer finds any more (hidden by an init script, as a renamed element
would be), a network layer the tap no longer sees (the page's own `fetch` unwrapped).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Route

from app import cli
from app.config import Settings
from browser import BrowserBridge, adapters, selectors
from browser.doctor import Check, Report, examine, run

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]

LAYER = re.compile(r"^layer \d+ `[^`]+`$")
RENDERERS = {adapter.name for adapter in adapters.REGISTRY}
SLOW = {"chunk_delay_ms": 80, "chunk_chars": 8}
"""An answer that lasts about a second, so the stop control is there to be seen."""

HIDE_JS = """
document.addEventListener("DOMContentLoaded", () => {
  const style = document.createElement("style");
  style.textContent = %s + " { display: none !important; }";
  document.head.append(style);
});
"""
"""Hide what a CSS selector matches in every page, as a renamed element would be."""
UNTAP_JS = """
document.addEventListener("DOMContentLoaded", () => {
  if (window.fetch.__wrapped__) window.fetch = window.fetch.__wrapped__;
});
"""
"""After every init script ran: the web app's requests bypass the stream tap."""


LOGIN_BUTTON_JS = """
document.addEventListener("DOMContentLoaded", () => {
  const login = document.createElement("button");
  login.dataset.testid = "login-button";
  login.textContent = "Log in";
  document.body.append(login);
});
"""
"""Every page also shows the login button of chatgpt.com's logged-out screen."""


def details(report: Report) -> dict[str, str]:
    return {check.name: check.detail for check in report.checks}


def diagnostic_of(check: Check) -> dict[str, Any]:
    """The diagnostic file a failing step names, read back."""
    match = re.search(r"is in (\S+\.json)", check.detail)
    assert match, check.detail
    return json.loads(Path(match.group(1)).read_text(encoding="utf-8"))


async def bridge_with(make_bridge: Callable[..., Any], url: str, script: str) -> BrowserBridge:
    """A bridge of its own whose every page also runs `script` (the session's stays intact)."""
    started: BrowserBridge = await make_bridge(url)
    assert started.session.context is not None
    await started.session.context.add_init_script(script=script)
    return started


def test_the_report_names_the_first_failing_step() -> None:
    report = Report([Check("session", True, "logged in"), Check("composer", False, "gone")])
    report.checks.append(Check("send", False, "gone too"))
    assert report.failed == report.checks[1]
    assert report.table().splitlines()[-1] == "doctor: failed at composer"
    assert report.as_dict()["failed"] == "composer"
    assert Report([Check("session", True, "x")]).verdict == "doctor: all checks passed"


def test_a_bad_selectors_file_fails_at_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fix = tmp_path / "selectors.json"
    fix.write_text('{"composer": ["div#new-composer"]', encoding="utf-8")  # the } is missing
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BRIDGE_SELECTORS_FILE", str(fix))
    assert cli.main(["doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "doctor: failed at settings"
    assert f"{fix}: is not valid JSON" in lines[0]


async def test_all_green_names_the_renderer_and_the_layers(
    bridge: BrowserBridge, replica: Any, browser_settings: Callable[..., Settings]
) -> None:
    report = await examine(bridge, browser_settings(replica.url))
    assert report.ok, report.table()
    found = details(report)
    assert list(found) == ["browser", "page", "session", "renderer", "composer", "send", "picker"]
    assert found["session"].startswith("logged in as ")
    assert found["renderer"] in RENDERERS
    assert LAYER.match(found["composer"]), found["composer"]
    assert LAYER.match(found["picker"]), found["picker"]
    # Nothing was typed: an empty composer shows the voice button where Send will be.
    assert found["send"].startswith("appears once there is text (the voice button shows: layer")


async def test_a_selectors_file_layer_is_named_as_the_persons_own(
    bridge: BrowserBridge, replica: Any, browser_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    fix = tmp_path / "selectors.json"
    fix.write_text('{"composer": ["form [contenteditable=\\"true\\"]"]}', encoding="utf-8")
    selectors.use_file(fix)
    try:
        report = await examine(bridge, browser_settings(replica.url))
    finally:
        selectors.use_file(None)
    assert details(report)["composer"] == (
        'layer 1 `form [contenteditable="true"]` (from BRIDGE_SELECTORS_FILE)'
    )


async def test_logged_out_fails_at_the_session(
    make_replica: Callable[..., Any], browser_settings: Callable[..., Settings]
) -> None:
    logged_out = make_replica()
    report = await run(browser_settings(logged_out.url))
    failed = report.failed
    assert failed is not None and failed.name == "session", report.table()
    assert "chatgpt-bridge login" in failed.detail
    assert diagnostic_of(failed)["step"] == "doctor-session"
    assert [check.name for check in report.checks] == ["browser", "page", "session"]


async def _route_session(bridge: BrowserBridge, serve: Callable[[Route], Any]) -> None:
    """Every `/api/auth/session` request of `bridge`'s pages goes through `serve`."""
    assert bridge.session.context is not None
    await bridge.session.context.route(f"**{selectors.AUTH_SESSION_PATH}", serve)


async def _page_loads(replica: Any) -> int:
    return sum(1 for tell in await replica.tells() if tell["source"] == "headers")


async def test_a_login_made_since_the_page_loaded_shows_after_one_reload(
    bridge: BrowserBridge, replica: Any, browser_settings: Callable[..., Settings]
) -> None:
    """The page booted logged out, the session then names a user (a login in another tab):
    the layout is judged on the reloaded page, not on a login screen that lacks every control."""
    await replica.configure(logged_out=True)

    async def log_in_once_the_page_booted(route: Route) -> None:
        response = await route.fetch()
        await replica.configure(logged_out=False)
        await route.fulfill(response=response)

    await _route_session(bridge, log_in_once_the_page_booted)
    loads = await _page_loads(replica)
    report = await examine(bridge, browser_settings(replica.url))
    assert report.ok, report.table()
    assert await _page_loads(replica) == loads + 2, "the login screen, then the app once reloaded"
    assert details(report)["renderer"] in RENDERERS


async def test_a_login_screen_under_a_live_session_fails_at_the_session(
    replica: Any, make_bridge: Callable[..., Any], browser_settings: Callable[..., Settings]
) -> None:
    """Every load shows a login button while the session names a user: that is the finding,
    and no control is reported missing from a page that was never the app."""
    login_screen = await bridge_with(make_bridge, replica.url, LOGIN_BUTTON_JS)
    loads = await _page_loads(replica)
    report = await examine(login_screen, browser_settings(replica.url))
    failed = report.failed
    assert failed is not None and failed.name == "session", report.table()
    assert "login screen although the session names" in failed.detail
    assert [check.name for check in report.checks] == ["browser", "page", "session"]
    assert await _page_loads(replica) == loads + 2, "it reloaded once, not in a loop"


async def test_a_missing_message_box_fails_at_the_composer_with_a_diagnostic(
    replica: Any, make_bridge: Callable[..., Any], browser_settings: Callable[..., Settings]
) -> None:
    hidden = json.dumps('[contenteditable="true"]')  # every composer layer demands it
    broken = await bridge_with(make_bridge, replica.url, HIDE_JS % hidden)
    report = await examine(broken, browser_settings(replica.url), settle=3.0)
    failed = report.failed
    assert failed is not None and failed.name == "composer", report.table()
    diagnostic = diagnostic_of(failed)
    assert diagnostic["step"] == "doctor-composer"
    assert diagnostic["layers_matched"]["composer"], "the element is there, only not visible"
    assert details(report)["renderer"] in RENDERERS, "the other checks still ran"


@pytest.mark.parametrize(
    ("fault", "source"),
    [({}, "stream"), ({"drop_stream_next": 1}, "read-back")],
)
async def test_send_says_how_the_answer_was_read(
    bridge: BrowserBridge,
    replica: Any,
    browser_settings: Callable[..., Settings],
    fault: dict[str, int],
    source: str,
) -> None:
    await replica.configure(**SLOW, **fault)
    report = await examine(bridge, browser_settings(replica.url), send=True)
    assert report.ok, report.table()
    found = details(report)
    assert LAYER.match(found["send"]), "typed first, so Send itself shows"
    assert LAYER.match(found["stop"]), found["stop"]
    assert found["messages"].startswith(tuple(RENDERERS))
    assert found["read"].startswith(f"{source} ("), found["read"]
    assert found["ask"].startswith("a temporary chat answered ")
    sends = await replica.sends()
    assert sends[-1]["prompt"].startswith("Reply with one short sentence")
    assert (await replica.conversation(sends[-1]["conversation_id"]))["temporary"] is True


async def test_a_stop_control_no_layer_finds_fails_at_stop(
    replica: Any, make_bridge: Callable[..., Any], browser_settings: Callable[..., Settings]
) -> None:
    hidden = json.dumps(selectors.css("stop"))
    broken = await bridge_with(make_bridge, replica.url, HIDE_JS % hidden)
    await replica.configure(**SLOW)
    report = await examine(broken, browser_settings(replica.url), send=True)
    failed = report.failed
    assert failed is not None and failed.name == "stop", report.table()
    assert diagnostic_of(failed)["step"] == "doctor-stop"
    assert details(report)["read"].startswith("stream ("), "the answer itself still arrived"


async def test_send_says_dom_when_the_tap_sees_nothing(
    replica: Any, make_bridge: Callable[..., Any], browser_settings: Callable[..., Settings]
) -> None:
    untapped = await bridge_with(make_bridge, replica.url, UNTAP_JS)
    # The DOM fallback starts a few seconds after the message shows: the answer must outlast it.
    await replica.configure(chunk_delay_ms=250, chunk_chars=2)
    report = await examine(untapped, browser_settings(replica.url), send=True)
    assert report.ok, report.table()
    assert details(report)["read"].startswith("dom ("), report.table()


async def test_the_command_prints_a_table_and_exits_0(
    replica: Any, browser_executable: str, tmp_path: Path
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    environment.update(
        CHATGPT_URL=replica.url,
        BROWSER_EXECUTABLE=browser_executable,
        BRIDGE_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(ROOT),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "doctor",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    lines = out.decode().splitlines()
    assert process.returncode == 0, out.decode() + err.decode()
    assert lines[-1] == "doctor: all checks passed"
    renderer = next(line for line in lines if line.startswith("renderer"))
    assert renderer.split()[1:] in (["ok", name] for name in RENDERERS), renderer
    assert any(re.match(r"composer\s+ok\s+layer \d+ `", line) for line in lines), lines
