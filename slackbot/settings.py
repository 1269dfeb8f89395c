"""What the Slack layer reads from the bridge's settings (it never imports `app/`)."""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr


class SlackSettings(Protocol):
    chatgpt_url: str
    default_model: str
    slack_bot_token: SecretStr | None
    slack_signing_secret: SecretStr | None
    slack_app_token: SecretStr | None
    slack_channels: list[str]
    slack_api_url: str | None
    slack_answer_bots: bool
    slack_channel_models: dict[str, str]
    slack_owner: str | None
    slack_allowed_users: list[str]
    slack_suggested_prompts: list[dict[str, str]]
    slack_notify_after: float
    slack_personas: str | None
    slack_channel_personas: dict[str, str]
    slack_watch_interval: float
    bridge_doctor_interval: float

    @property
    def file_max_bytes(self) -> int:
        """The largest file the bridge takes (BRIDGE_FILE_MAX_MB): shared files past it are
        refused in the thread."""
        ...
