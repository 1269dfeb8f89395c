"""What the `tests/test_api_*.py` modules share: a running bridge app and clients for it.

Each module runs ONE app (real uvicorn, real Chromium, the session replica) for all of its
tests, so a module pays one browser launch. Clients are the official `openai` package with
strict response validation, and raw httpx where the wire format itself is under test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from app.config import Settings
from tests.fixtures.app_server import AppServer


class Api:
    def __init__(self, server: AppServer, key: str | None) -> None:
        self.server = server
        self.url = server.url
        self.key = key

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def client(self, **options: Any) -> openai.OpenAI:
        return openai.OpenAI(**self._client_options(options))

    def async_client(self, **options: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(**self._client_options(options))

    def _client_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Strict validation; no retries unless a test asks, so they cannot hide behaviour."""
        return {
            "base_url": f"{self.url}/v1",
            "api_key": self.key or "not-needed",
            "timeout": 120,
            "max_retries": 0,
            "_strict_response_validation": True,
            **options,
        }

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=120)


@contextmanager
def running_api(replica: Any, executable: str, data_dir: Path, **settings: Any) -> Iterator[Api]:
    """The bridge app against `replica` with `settings` overrides, for a `with` block."""
    server = AppServer(
        Settings(
            chatgpt_url=replica.url,
            browser_executable=executable,
            browser_headless=True,
            data_dir=data_dir,
            answer_timeout=120.0,
            _env_file=None,
            **settings,
        )
    )
    server.start()
    try:
        key = settings.get("api_key")
        yield Api(server, key)
    finally:
        server.stop()


def module_api(name: str, **settings: Any) -> Any:
    """A module-scoped `api` fixture: one app (one Chromium) for all tests of a module."""

    @pytest.fixture(scope="module")
    def api(
        replica: Any, browser_executable: str, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Api]:
        data_dir = tmp_path_factory.mktemp(name) / "data"
        with running_api(replica, browser_executable, data_dir, **settings) as running:
            yield running

    return api


def unique(text: str = "") -> str:
    """A prompt no other test sends, so the replica's records can be told apart."""
    return f"{text} [{uuid.uuid4().hex[:10]}]".strip()


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


async def settled_chat(replica: Any, conversation_id: str) -> dict[str, Any]:
    """The replica's chat once its last answer is no longer being written."""
    for _ in range(600):
        chat = await replica.conversation(conversation_id)
        if chat["messages"][-1]["status"] != "in_progress":
            return chat
        await asyncio.sleep(0.1)
    raise AssertionError(f"the answer in {conversation_id} never settled")
