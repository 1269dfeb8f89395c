"""From start to stop: startup summary, health and status, tunnel and key, demo, shutdown.

The `serve` and `demo` tests run the real `chatgpt-bridge` command as a subprocess (its own
Chromium against the replica) and talk to it over HTTP, the way a person or a script would.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import openai
import pytest
from pydantic import SecretStr

from app.config import Settings
from app.health import render_summary
from app.status import describe_status, fetch_status
from browser import BridgeState
from browser.contract import BrowserInfo
from tests.fakes.bridge import FakeBridge
from tests.fixtures.app_server import AppServer
from tests.fixtures.cli import cli_env, free_port, run_cli, wait_until_healthy

StartApp = Callable[[Settings], AbstractAsyncContextManager[AppServer]]


async def health(server: AppServer, key: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.get("/health", headers=headers)
    return response.status_code, response.json()


async def test_local_bridge_reports_ready_and_needs_no_key(
    start_app: StartApp, app_settings: Settings
) -> None:
    async with start_app(app_settings) as server:
        status, report = await health(server)
        assert status == 200
        assert report["status"] == "ok"
        assert report["browser"]["state"] == "ready"
        assert report["browser"]["user"]  # who is logged in, for the local owner
        assert report["slack"] == {"mode": None}
        assert report["tunnel"] == {"public_url": None, "error": None}
        assert report["api"] == {"key_required": False}
        summary = render_summary(report, base_url=server.url, api_key=None)
    assert f"ready, logged in as {report['browser']['user']}" in summary
    assert f"{server.url}/v1   (no key needed: local only)" in summary
    assert "Slack    not configured" in summary
    assert "Tunnel   off (set NGROK_AUTHTOKEN" in summary


async def test_open_tunnel_demands_a_generated_key(
    start_app: StartApp, app_settings: Settings, fake_pyngrok: ModuleType
) -> None:
    settings = app_settings.model_copy(update={"ngrok_authtoken": SecretStr("good-token")})
    async with start_app(settings) as server:
        key = (settings.data_dir / "api-key").read_text().strip()
        # A request through the tunnel arrives from loopback, like this one: no key, no entry.
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0).models.list()
        models = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key).models.list()
        assert models.data
        status, public_report = await health(server)
        assert status == 200
        assert "user" not in public_report["browser"]  # nothing private without the key
        assert public_report["tunnel"]["public_url"] == "https://fake-tunnel.ngrok-free.app"
        _, report = await health(server, key)
        assert report["browser"]["user"]
        summary = render_summary(report, base_url=server.url, api_key=key)
    assert f"key {key}" in summary
    assert "Tunnel   https://fake-tunnel.ngrok-free.app" in summary
    assert ("disconnect", "https://fake-tunnel.ngrok-free.app") in fake_pyngrok.calls


async def test_failing_tunnel_keeps_serving_locally(
    start_app: StartApp, app_settings: Settings, fake_pyngrok: ModuleType
) -> None:
    settings = app_settings.model_copy(
        update={"ngrok_authtoken": SecretStr(fake_pyngrok.BAD_TOKEN)}
    )
    async with start_app(settings) as server:
        status, report = await health(server)
        assert status == 200 and report["api"] == {"key_required": False}
        assert "authentication failed" in report["tunnel"]["error"]
        assert fake_pyngrok.BAD_TOKEN not in json.dumps(report)
        models = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused").models.list()
        assert models.data
        summary = render_summary(report, base_url=server.url, api_key=None)
    assert "Tunnel   failed: ngrok could not start" in summary
    assert "(serving locally only)" in summary


@pytest.mark.parametrize(
    ("knobs", "state", "advice"),
    [
        ({"logged_out": True}, "login_required", "chatgpt-bridge login"),
        ({"challenge": True}, "challenge", "complete the check"),
    ],
)
async def test_health_and_status_tell_what_is_wrong(
    start_app: StartApp,
    app_settings: Settings,
    replica: Any,
    knobs: dict[str, bool],
    state: str,
    advice: str,
) -> None:
    async with start_app(app_settings) as server:
        await replica.configure(**knobs)
        # The page shows the problem once the browser navigates, as a question makes it do.
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="-", max_retries=0)
        with pytest.raises(openai.APIStatusError) as refused:
            await client.chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "hello"}]
            )
        assert refused.value.status_code == 503 and advice in refused.value.message
        status, report = await health(server)
        assert status == 503
        assert report["status"] == "degraded" and report["browser"]["state"] == state
        assert advice in render_summary(report, base_url=server.url, api_key=None)
        port = int(server.url.rsplit(":", 1)[1])
        code, status_report = await asyncio.to_thread(
            fetch_status, app_settings.model_copy(update={"port": port})
        )
        assert code == 1
        assert f"browser  {state}" in describe_status(status_report)
        await replica.reset()
        status, report = await health(server)  # the page is looked at again: all well now
        assert status == 200 and report["browser"]["state"] == "ready"
        answer = await client.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "hello again"}]
        )
        assert "hello again" in (answer.choices[0].message.content or "")
        code, _ = await asyncio.to_thread(
            fetch_status, app_settings.model_copy(update={"port": port})
        )
        assert code == 0


def test_status_exits_2_when_nothing_runs(tmp_path: Path) -> None:
    settings = Settings(port=free_port(), data_dir=tmp_path, _env_file=None)
    code, message = fetch_status(settings)
    assert code == 2
    assert "chatgpt-bridge serve" in str(message)


async def test_demo_end_to_end(tmp_path: Path, browser_executable: str) -> None:
    port = free_port()
    env = cli_env(tmp_path, browser_executable)
    async with run_cli(["demo", "--port", str(port)], env, tmp_path / "demo.log") as cli:
        base_url = f"http://127.0.0.1:{port}"
        report = await wait_until_healthy(base_url, cli)
        assert report["browser"]["state"] == "ready"
        client = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="unused")
        completion = await client.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "Hello from the demo"}]
        )
        assert 'You said: "Hello from the demo"' in (completion.choices[0].message.content or "")
        cli.process.send_signal(signal.SIGINT)
        returncode = await cli.wait()
        stderr = cli.output()
    assert returncode == 0, stderr
    assert f"curl {base_url}/v1/models" in stderr
    assert "chatgpt-bridge is running" in stderr


async def test_serve_summary_and_graceful_shutdown_with_an_answer_in_flight(
    tmp_path: Path, browser_executable: str, replica: Any, make_bridge: Any
) -> None:
    port = free_port()
    env = cli_env(tmp_path / "data", browser_executable, CHATGPT_URL=replica.url)
    await replica.configure(chunk_delay_ms=40, chunk_chars=6)
    async with run_cli(["serve", "--port", str(port)], env, tmp_path / "serve.log") as cli:
        base_url = f"http://127.0.0.1:{port}"
        await wait_until_healthy(base_url, cli)
        client = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
        stream = await client.chat.completions.create(
            model="auto", stream=True, messages=[{"role": "user", "content": "words:120"}]
        )
        parts: list[str] = []
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
                if len(parts) == 3:
                    cli.process.send_signal(signal.SIGTERM)  # the answer is still streaming
        returncode = await cli.wait()
        stderr = cli.output()
    assert returncode == 0, stderr
    answer = "".join(parts)
    assert answer.startswith("Model: auto.") and len(answer.split()) > 120  # finished whole
    assert "chatgpt-bridge is running" in stderr
    assert f"http://127.0.0.1:{port}/v1" in stderr
    # The profile was closed cleanly: a new browser opens it, still logged in.
    bridge = await make_bridge(replica.url, data_dir=tmp_path / "data")
    assert await bridge.state() == BridgeState.READY


async def test_health_warns_of_a_headless_browser_and_a_login_about_to_end(
    start_app: StartApp, tmp_path: Path
) -> None:
    soon = datetime.now(timezone.utc) + timedelta(hours=3)
    info = BrowserInfo(
        display="headless",
        warning="the browser runs headless: chatgpt.com is likely to "
        "challenge it (BROWSER_HEADLESS=true)",
        login_expires=soon,
    )
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    async with start_app(settings, bridge=FakeBridge(info=info)) as server:
        status, report = await health(server)
    browser = report["browser"]
    assert status == 200 and browser["display"] == "headless"
    assert browser["login_expires"] == soon.isoformat()
    assert [w.split(":")[0] for w in browser["warnings"]] == [
        "the browser runs headless",
        "the ChatGPT login ends " + soon.strftime("%Y-%m-%d %H"),
    ]
    summary = render_summary(report, base_url=server.url, api_key=None)
    assert summary.count("warning: ") == 2 and "headless" in summary.splitlines()[2]
    status_text = describe_status(report)  # `chatgpt-bridge status` reads the same report
    assert "display  headless" in status_text and "login    until " in status_text
    assert status_text.count("warning  ") == 2
