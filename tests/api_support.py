"""What the `tests/test_api_*.py` modules share: a running bridge app and clients for it.

Two kinds of app, both real uvicorn over real HTTP, with the official `openai` package as
the client (strict response validation) and raw httpx where the wire format is under test:

- `module_api(...)`: the app on real Chromium against the session replica, ONE per module
  (one browser launch): the end-to-end tests, one or a few per API feature.
- `module_fake_api(...)` / `fake_app(...)`: the app on a `FakeBridge`, for the API's own
  behaviour (validation, error bodies, emulation, conversation mapping, backpressure): the
  fake says exactly what "ChatGPT" answers and records every prompt typed, in milliseconds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from app.config import Settings
from replica import model
from tests.fakes.bridge import Answer, Ask, FakeBridge, Handler, echo
from tests.fixtures.app_server import AppServer


class Api:
    """A running app and its clients. `bridge` is the FakeBridge it runs on, if any."""

    def __init__(
        self, server: AppServer, key: str | None, bridge: FakeBridge | None = None
    ) -> None:
        self.server = server
        self.url = server.url
        self.key = key
        self._bridge = bridge

    @property
    def bridge(self) -> FakeBridge:
        assert self._bridge is not None, "this app runs on a real browser"
        return self._bridge

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


StartApp = Callable[..., AbstractAsyncContextManager[AppServer]]
"""The type of the `start_app` fixture."""


def api_settings(data_dir: Path, **settings: Any) -> Settings:
    return Settings(data_dir=data_dir, answer_timeout=120.0, _env_file=None, **settings)


@contextmanager
def running_api(replica: Any, executable: str, data_dir: Path, **settings: Any) -> Iterator[Api]:
    """The bridge app on real Chromium against `replica`, with `settings` overrides."""
    browser = {"chatgpt_url": replica.url, "browser_executable": executable}
    with _serving(api_settings(data_dir, browser_headless=None, **browser, **settings)) as api:
        yield api


@contextmanager
def _serving(settings: Settings, bridge: FakeBridge | None = None) -> Iterator[Api]:
    """The bridge app (on `bridge`, else on real Chromium), for a `with` block."""
    server = AppServer(settings, bridge)
    server.start()
    try:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        yield Api(server, key, bridge)
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


def module_fake_api(name: str, handler: Handler = echo, **settings: Any) -> Any:
    """A module-scoped `api` fixture: one app on one FakeBridge for a module's tests.

    The bridge is shared, so tests only script answers and read `asks` made after they
    started (`Asks.of(api)`). `handler` answers what is not scripted.
    """

    @pytest.fixture(scope="module")
    def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
        data_dir = tmp_path_factory.mktemp(name) / "data"
        with _serving(api_settings(data_dir, **settings), FakeBridge(handler)) as running:
            yield running

    return api


@asynccontextmanager
async def fake_app(
    start_app: StartApp,
    tmp_path: Path,
    bridge: FakeBridge,
    **settings: Any,
) -> AsyncIterator[Api]:
    """`async with fake_app(start_app, tmp_path, FakeBridge(...)) as api:` an app of its own."""
    settings_ = api_settings(tmp_path / "data", **settings)
    async with start_app(settings_, bridge=bridge) as server:
        yield Api(server, settings.get("api_key"), bridge)


class Asks:
    """The prompts a FakeBridge was asked since this was made."""

    def __init__(self, bridge: FakeBridge) -> None:
        self._bridge = bridge
        self._start = len(bridge.asks)

    @classmethod
    def of(cls, api: Api) -> Asks:
        return cls(api.bridge)

    def __call__(self) -> list[Ask]:
        return self._bridge.asks[self._start :]


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until `condition()` holds (the server runs in its own thread); fail if never."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def ask_for_chat(api: Api, messages: list[dict[str, Any]], **options: Any) -> tuple[str, str]:
    """(answer, X-Conversation-Id) of one completion, through the SDK's raw-response API."""
    raw = await api.async_client().chat.completions.with_raw_response.create(
        model="auto", messages=messages, **options
    )
    content = raw.parse().choices[0].message.content
    assert content is not None
    return content, raw.headers["x-conversation-id"]


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


def replica_answers(ask: Ask) -> Answer:
    """A FakeBridge handler that answers as the replica's model does (its tool-using model
    included), in 7-character deltas, so a call block arrives split like a real stream's."""
    text = model.answer(ask.prompt, ask.model or "auto", 1)
    return Answer(*(text[start : start + 7] for start in range(0, len(text), 7)))
