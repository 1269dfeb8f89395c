"""Logging for the bridge: one format, the level from LOG_LEVEL, secrets never printed.

The code never logs a secret on purpose; the redacting filter is the second line of defence
for what third-party libraries print (slack_sdk logs request headers at DEBUG, for example).
"""

from __future__ import annotations

import logging
import re

from app.config import Settings

_TOKEN_PATTERNS = re.compile(
    r"(xox[abposr]-[\w-]+|xapp-[\w-]+|(?<=Bearer )[\w.~+/=-]+|cgb-[\w-]+|sk-[\w-]{8,})"
)


class RedactSecrets(logging.Filter):
    """Replaces configured secrets and anything shaped like a token with `***`."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if len(secret) >= 6]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _TOKEN_PATTERNS.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        return True


def configured_secrets(settings: Settings) -> list[str]:
    values = (
        settings.api_key,
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.ngrok_authtoken,
    )
    return [value.get_secret_value() for value in values if value is not None]


def configure_logging(settings: Settings) -> None:
    """Install the bridge's handler on the root logger (idempotent)."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(RedactSecrets(configured_secrets(settings)))
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "_chatgpt_bridge", False)]:
        root.removeHandler(existing)
    handler._chatgpt_bridge = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Chatty libraries stay at WARNING unless the person asked for DEBUG.
    quiet = logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING
    chatty = ("uvicorn.access", "aiohttp.access", "slack_bolt", "slack_sdk", "pyngrok", "httpx2")
    for name in chatty:
        logging.getLogger(name).setLevel(quiet)
