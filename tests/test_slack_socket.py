"""Slack in Socket Mode: the app opens the fake's websocket and answers what arrives there."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.fakes.bridge import FakeBridge
from tests.fixtures.slack_api import (
    APP_TOKEN,
    HEADER,
    FakeSlack,
    RunSlack,
    answer,
    block_actions_payload,
    event_body,
    message_event,
    slack_settings,
    text_of,
    wait_for,
)

SOCKET = {"slack_app_token": APP_TOKEN, "slack_signing_secret": None}


async def test_socket_mode_acks_dedupes_answers_and_refuses_http_events(
    run_slack: RunSlack,
) -> None:
    async with run_slack(**SOCKET) as app:
        slack = app.slack
        await wait_for(lambda: slack.socket_connected, timeout=30)
        assert slack.calls_to("apps.connections.open")
        async with httpx.AsyncClient(timeout=30) as client:
            health = (await client.get(f"{app.server.url}/health")).json()["slack"]
        assert (health["mode"], health["connected"]) == ("socket", True)

        event = message_event("over the socket", channel="DSOCKET01", channel_type="im")
        envelope = slack.send_envelope("events_api", event_body(event))
        await wait_for(lambda: slack.acked(envelope), timeout=30)
        # Slack's redelivery of the same event over the socket is acknowledged, not answered.
        retry = slack.send_envelope("events_api", event_body(event), retry=1)
        await wait_for(lambda: slack.acked(retry), timeout=30)
        messages = await answer(slack, "DSOCKET01", event["ts"])
        assert "You said: over the socket" in text_of(messages)

        # A button click for a job that is over is acknowledged and changes nothing.
        payload = block_actions_payload("999999", channel="DSOCKET01", message_ts=event["ts"])
        click = slack.send_envelope("interactive", payload)
        await wait_for(lambda: slack.acked(click), timeout=30)

        # Without a signing secret, nothing could authenticate HTTP events: they are refused.
        refused = await app.events.event(message_event("over HTTP", channel="DSOCKET01"))
        assert refused.status_code == 404
        assert "Socket Mode" in refused.json()["error"]
        await wait_for(lambda: app.pending() == 0)
    assert app.bridge.prompts == ["over the socket"]


@pytest.mark.browser
async def test_in_chromium_socket_mode_answers(
    replica: Any,
    browser_executable: str,
    slack_api: FakeSlack,
    tmp_path: Path,
    start_app: Callable[..., Any],
) -> None:
    settings = slack_settings(
        replica.url, browser_executable, tmp_path / "data", slack_api.url, **SOCKET
    )
    async with start_app(settings):
        await wait_for(lambda: slack_api.socket_connected, timeout=30)
        token = uuid.uuid4().hex[:8]
        event = message_event(f"over the socket {token}", channel="DSOCKET01", channel_type="im")
        envelope = slack_api.send_envelope("events_api", event_body(event))
        await wait_for(lambda: slack_api.acked(envelope), timeout=30)
        messages = await answer(slack_api, "DSOCKET01", event["ts"])
        assert HEADER.search(text_of(messages)).group(2) == "1"
        assert event["text"] in text_of(messages)
        sends = [send for send in await replica.sends() if token in send["prompt"]]
        assert len(sends) == 1


async def test_events_route_explains_when_slack_is_not_configured(
    tmp_path: Path, start_app: Any
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, slack_bot_token=None)
    async with start_app(settings, bridge=FakeBridge()) as server, httpx.AsyncClient() as client:
        response = await client.post(f"{server.url}/slack/events", content=b"{}")
    assert response.status_code == 404
    assert "SLACK_BOT_TOKEN" in response.json()["error"]
