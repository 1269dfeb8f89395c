"""The API key rules, the port `demo` listens on, the tunnel (with the pyngrok stand-in) and
secret redaction in logs."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from types import ModuleType

import pytest

from app import cli, logs, serve
from app.config import Settings
from app.logs import RedactSecrets, configure_logging
from app.security import generated_key_path, is_loopback, resolve_api_key
from app.tunnel import TunnelError, open_tunnel


def settings_for(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None, **values)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("my-host", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_local_only_needs_no_key(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert resolve_api_key(settings, exposed=False) is None
    assert not generated_key_path(settings).exists()


def test_exposure_generates_a_private_key_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    key = resolve_api_key(settings, exposed=True)
    assert key and key.startswith("cgb-") and len(key) > 30
    path = generated_key_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    # The same key survives a restart, and keeps protecting the API once it exists.
    assert resolve_api_key(settings, exposed=True) == key
    assert resolve_api_key(settings, exposed=False) == key


def test_a_configured_key_wins(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_key="my-own-key")
    assert resolve_api_key(settings, exposed=True) == "my-own-key"
    assert not generated_key_path(settings).exists()


@pytest.mark.parametrize(
    ("env_port", "arguments", "port"),
    [(None, [], 8765), ("9123", [], 9123), ("9123", ["--port", "9200"], 9200)],
)
def test_demo_listens_on_bridge_port_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    env_port: str | None,
    arguments: list[str],
    port: int,
) -> None:
    """Like every command: BRIDGE_PORT, and `--port` wins. (The demo itself: test_serve.py.)"""
    chosen: list[int] = []

    async def demo(port: int) -> int:
        chosen.append(port)
        return 0

    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.delenv("BRIDGE_PORT", raising=False)
    if env_port:
        monkeypatch.setenv("BRIDGE_PORT", env_port)
    monkeypatch.setattr(serve, "demo", demo)
    monkeypatch.setattr(logs, "configure_logging", lambda settings: None)
    assert cli.main(["demo", *arguments]) == 0
    assert chosen == [port]


def test_demo_says_where_the_api_listens() -> None:
    text = serve.demo_instructions("http://127.0.0.1:9123", "http://127.0.0.1:5000")
    assert "The API listens on\nhttp://127.0.0.1:9123" in text
    assert "curl http://127.0.0.1:9123/v1/models" in text


async def test_tunnel_opens_with_https_url_and_domain(
    tmp_path: Path, fake_pyngrok: ModuleType
) -> None:
    settings = settings_for(tmp_path, ngrok_authtoken="good", ngrok_domain="me.ngrok.app")
    tunnel = await open_tunnel(settings, 8765)
    assert tunnel.public_url == "https://me.ngrok.app"
    assert tunnel.slack_request_url == "https://me.ngrok.app/slack/events"
    assert fake_pyngrok.calls[0] == (
        "connect",
        {"addr": "8765", "proto": "http", "domain": "me.ngrok.app"},
    )
    await tunnel.close()
    assert ("disconnect", "https://me.ngrok.app") in fake_pyngrok.calls


async def test_tunnel_failure_explains_without_leaking_the_token(
    tmp_path: Path, fake_pyngrok: ModuleType
) -> None:
    settings = settings_for(tmp_path, ngrok_authtoken=fake_pyngrok.BAD_TOKEN)
    with pytest.raises(TunnelError) as failure:
        await open_tunnel(settings, 8765)
    message = str(failure.value)
    assert "authentication failed" in message and "NGROK_AUTHTOKEN" in message
    assert fake_pyngrok.BAD_TOKEN not in message


async def test_no_token_means_no_tunnel(tmp_path: Path) -> None:
    with pytest.raises(TunnelError, match="NGROK_AUTHTOKEN is not set"):
        await open_tunnel(settings_for(tmp_path), 8765)


def test_log_redaction_hides_configured_and_token_shaped_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(
        tmp_path,
        slack_bot_token="xoxb-123-456-secretvalue",
        api_key="plain-secret-key",
        log_level="DEBUG",
    )
    configure_logging(settings)
    log = logging.getLogger("tests.redaction")
    log.debug("calling with %s and key %s", "xoxb-123-456-secretvalue", "plain-secret-key")
    log.debug("headers: Authorization: Bearer sk-abcdefgh12345 xapp-1-A-2-zzz")
    err = capsys.readouterr().err
    assert "calling with *** and key ***" in err
    for secret in ("secretvalue", "plain-secret-key", "sk-abcdefgh12345", "xapp-1-A-2-zzz"):
        assert secret not in err
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_chatgpt_bridge", False)]:
        root.removeHandler(handler)


def test_redaction_filter_ignores_short_values() -> None:
    # A one-letter "secret" would blank out every occurrence of that letter in the logs.
    assert RedactSecrets(["a"]).redact("a cat") == "a cat"
