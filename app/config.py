"""Every setting of chatgpt-bridge, read from the environment and `.env`.

One class on purpose: a person configuring the bridge should find every knob in one place,
and the README's configuration table is generated from the same names. The browser and
Slack layers never import this module; they are handed a `Settings` instance.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from browser import selectors

DEFAULT_MODEL_ALIASES: dict[str, str] = {
    "gpt-3.5-turbo": "auto",
    "gpt-4": "auto",
    "gpt-4-turbo": "auto",
    "gpt-4o": "gpt-4o",
    "gpt-4o-mini": "auto",
    "gpt-4.1": "auto",
    "gpt-4.1-mini": "auto",
    "chatgpt-4o-latest": "gpt-4o",
}
"""Model names that OpenAI clients send by default, mapped to a ChatGPT model slug."""


class Settings(BaseSettings):
    """Configuration of the bridge. Environment variable names are given by each alias."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    chatgpt_url: str = Field("https://chatgpt.com", validation_alias="CHATGPT_URL")
    # The workspace of the login to ask in (its name, case-insensitive, or its id), where the
    # login offers several (a personal plan and a Team); unset: the one the page is in.
    chatgpt_workspace: str | None = Field(None, validation_alias="CHATGPT_WORKSPACE")

    browser_executable: Path | None = Field(None, validation_alias="BROWSER_EXECUTABLE")
    browser_channel: str | None = Field(None, validation_alias="BROWSER_CHANNEL")
    browser_headless: bool | None = Field(None, validation_alias="BROWSER_HEADLESS")
    browser_cdp_url: str | None = Field(None, validation_alias="BROWSER_CDP_URL")

    data_dir: Path = Field(Path("~/.chatgpt-bridge"), validation_alias="BRIDGE_DATA_DIR")
    host: str = Field("127.0.0.1", validation_alias="BRIDGE_HOST")
    port: int = Field(8765, ge=0, le=65535, validation_alias="BRIDGE_PORT")
    api_key: SecretStr | None = Field(None, validation_alias="BRIDGE_API_KEY")

    max_tabs: int = Field(3, ge=1, le=16, validation_alias="BRIDGE_MAX_TABS")
    max_queue: int = Field(16, ge=0, validation_alias="BRIDGE_MAX_QUEUE")
    idle_timeout: float = Field(120.0, gt=0, validation_alias="BRIDGE_IDLE_TIMEOUT")
    answer_timeout: float = Field(900.0, gt=0, validation_alias="BRIDGE_ANSWER_TIMEOUT")
    # Longest message typed into ChatGPT (a flattened history included); a longer one is
    # attached whole as prompt.md behind a short typed lead-in, the way the web app takes a
    # long paste. 30000 stays under the smallest measured ceiling (Free, ~25k tokens) for
    # text of >= 1.2 characters per token (English ~4, code ~3, CJK ~1.2-1.5); Plus takes
    # ~40k tokens, Plus Instant 211,256 characters: raise it there.
    max_prompt_chars: int = Field(30000, ge=100, validation_alias="BRIDGE_MAX_PROMPT_CHARS")
    # Fetch http(s) image/file URLs named in API requests (off: only data and /v1/files ids).
    # Never private, loopback or link-local addresses, whatever this says.
    fetch_urls: bool = Field(False, validation_alias="BRIDGE_FETCH_URLS")
    fetch_max_mb: int = Field(20, ge=1, le=512, validation_alias="BRIDGE_FETCH_MAX_MB")
    # JSON of extra selector layers tried first, e.g. {"composer": ["div#new-composer"]}.
    selectors_file: Path | None = Field(None, validation_alias="BRIDGE_SELECTORS_FILE")
    # Minimum gap between two sends from any tabs (0: off). One account is one person: a
    # burst of parallel prompts within a second is what "unusual activity" checks look for.
    send_interval_ms: int = Field(1000, ge=0, validation_alias="BRIDGE_SEND_INTERVAL_MS")
    # Seconds between two reads of ChatGPT's session in a free tab, so an expired login is
    # noticed before a question fails (0: off). One small same-origin fetch each time.
    probe_interval: float = Field(300.0, ge=0, validation_alias="BRIDGE_PROBE_INTERVAL")
    # An answer that calls an unknown tool or breaks a tool's schema gets one short repair
    # message in the same chat before the API answers with an error (false: the error at once).
    tool_repair: bool = Field(True, validation_alias="BRIDGE_TOOL_REPAIR")

    shutdown_grace: float = Field(
        30.0, ge=0, validation_alias="BRIDGE_SHUTDOWN_GRACE"
    )  # seconds running answers get to finish on Ctrl-C / SIGTERM before they are stopped

    # Largest file `/v1/files` stores (uploads, batch output, drawn images), in MB.
    file_max_mb: float = Field(100.0, gt=0, validation_alias="BRIDGE_FILE_MAX_MB")
    # What the pictures ChatGPT drew may take in the file store, in MB: the oldest go first.
    generated_keep_mb: float = Field(500.0, gt=0, validation_alias="BRIDGE_GENERATED_KEEP_MB")
    # Called (POST, signed) when a batch ends; see docs/api.md "Batches".
    batch_webhook_url: str | None = Field(None, validation_alias="BRIDGE_BATCH_WEBHOOK_URL")
    batch_webhook_secret: SecretStr | None = Field(
        None, validation_alias="BRIDGE_BATCH_WEBHOOK_SECRET"
    )

    default_model: str = Field("auto", validation_alias="DEFAULT_MODEL")
    # A project's name: new chats start there unless a request names a GPT or another project.
    project: str | None = Field(None, validation_alias="BRIDGE_PROJECT")
    model_aliases: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_MODEL_ALIASES),
        validation_alias="MODEL_ALIASES",
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="SLACK_CHANNELS"
    )
    slack_api_url: str | None = Field(None, validation_alias="SLACK_API_URL")
    # Also answer messages posted by other bots and integrations (never the bridge's own).
    slack_answer_bots: bool = Field(False, validation_alias="SLACK_ANSWER_BOTS")
    # Default model per channel, as JSON: {"C0123ABCD": "gpt-4o"}; else DEFAULT_MODEL.
    slack_channel_models: dict[str, str] = Field(
        default_factory=dict, validation_alias="SLACK_CHANNEL_MODELS"
    )

    # New chats the MCP `ask` tool starts are temporary (kept out of the person's history and
    # memory) unless a call says otherwise.
    mcp_temporary: bool = Field(True, validation_alias="BRIDGE_MCP_TEMPORARY")
    # Folders whose files the MCP `ask` tool may attach by path, besides the client's own
    # roots; separated like PATH (":" on Linux and macOS, ";" on Windows).
    mcp_file_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, validation_alias="BRIDGE_MCP_FILE_ROOTS"
    )

    # The person whose ChatGPT this is (a Slack user id, U...): the agent DM answers them.
    slack_owner: str | None = Field(None, validation_alias="SLACK_OWNER")
    # Who else may ask (user ids, comma-separated); empty: anyone in the personal channels,
    # and anyone in the DM unless SLACK_OWNER is set.
    slack_allowed_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="SLACK_ALLOWED_USERS"
    )
    # The agent DM's suggested prompts (at most 4), as JSON: [{"title": ..., "message": ...}].
    slack_suggested_prompts: list[dict[str, str]] = Field(
        default_factory=lambda: [
            {"title": "Summarize this channel", "message": "Summarize this channel"},
            {"title": "Brainstorm", "message": "Help me brainstorm ideas for "},
        ],
        max_length=4,
        validation_alias="SLACK_SUGGESTED_PROMPTS",
    )

    # Personas (standing instructions typed once at the start of a chat), as a JSON object
    # {"name": "instructions"} or the path of a file holding one.
    slack_personas: str | None = Field(None, validation_alias="SLACK_PERSONAS")
    # A persona per channel, as JSON: {"C0123ABCD": "coder"}; `/chatgpt persona` overrides.
    slack_channel_personas: dict[str, str] = Field(
        default_factory=dict, validation_alias="SLACK_CHANNEL_PERSONAS"
    )

    # Seconds between scheduled doctor runs that DM SLACK_OWNER when chatgpt.com's renderer or
    # a matched selector layer changes; 0: never.
    bridge_doctor_interval: float = Field(0.0, ge=0, validation_alias="BRIDGE_DOCTOR_INTERVAL")
    # Seconds between reads of the bridge's state for the owner's alerts and App Home.
    slack_watch_interval: float = Field(30.0, gt=0, validation_alias="SLACK_WATCH_INTERVAL")

    # An answer that took longer (seconds) ends with a mention of the asker, which notifies
    # them (streamed text does not); 0: never.
    slack_notify_after: float = Field(120.0, ge=0, validation_alias="SLACK_NOTIFY_AFTER")

    ngrok_authtoken: SecretStr | None = Field(None, validation_alias="NGROK_AUTHTOKEN")
    ngrok_domain: str | None = Field(None, validation_alias="NGROK_DOMAIN")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias="LOG_LEVEL"
    )

    @field_validator("slack_channels", "slack_allowed_users", mode="before")
    @classmethod
    def _split_channels(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("mcp_file_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(part).expanduser() for part in value.split(os.pathsep) if part.strip()]
        return value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand_data_dir(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("selectors_file", mode="after")
    @classmethod
    def _check_selectors_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            value = value.expanduser()
            selectors.read_file(value)  # SelectorsFileError (a ValueError) names the problem
        return value

    @field_validator("chatgpt_workspace", mode="after")
    @classmethod
    def _workspace(cls, value: str | None) -> str | None:
        """`CHATGPT_WORKSPACE=` (empty, as in a copied .env) means unset."""
        return (value or "").strip() or None

    @field_validator("chatgpt_url", mode="after")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def profile_dir(self) -> Path:
        """The persistent Chrome profile: it holds the ChatGPT session cookies."""
        return self.data_dir / "chrome-profile"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "bridge.sqlite3"

    @property
    def files_dir(self) -> Path:
        """The bytes of `/v1/files` (named by file id; their metadata is in the database)."""
        return self.data_dir / "files"

    @property
    def file_max_bytes(self) -> int:
        return int(self.file_max_mb * 1024 * 1024)

    @property
    def generated_keep_bytes(self) -> int:
        return int(self.generated_keep_mb * 1024 * 1024)

    @property
    def fetch_max_bytes(self) -> int:
        return self.fetch_max_mb * 1024 * 1024
