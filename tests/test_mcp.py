"""The MCP server at `/mcp`, driven by the `mcp` SDK's own client over streamable HTTP, on a
FakeBridge: every tool, progress, cancellation, each typed failure as a tool error, the key
rule when exposed and the Origin / Host checks. Over stdio and on real Chromium against the
replica: tests/test_mcp_e2e.py."""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ListRootsResult, Root, TextContent

from browser.contract import StoredMessage
from browser.errors import (
    AttachmentRejectedError,
    BridgeError,
    BusyError,
    ChallengeError,
    LoginRequiredError,
    RateLimitedError,
    SendUncertainError,
)
from browser.events import Progress
from tests.api_support import Api, Asks, StartApp, eventually, fake_app, module_fake_api, unique
from tests.fakes.bridge import Answer

api = module_fake_api("mcp")

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@asynccontextmanager
async def mcp_client(
    url: str, key: str | None = None, roots: list[Path] | None = None
) -> AsyncIterator[Client]:
    """The SDK's client; `roots`: the folders it shares (the roots capability)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    async def list_roots(context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=root.as_uri()) for root in roots or []])

    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(
            streamable_http_client(f"{url}/mcp", http_client=http),
            list_roots_callback=list_roots if roots is not None else None,
        ) as client,
    ):
        yield client


def text_of(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def test_the_tools_say_what_they_take_and_give(api: Api) -> None:
    async with mcp_client(api.url) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"ask", "models", "conversations", "read_conversation"}
    for tool in tools.values():
        assert tool.description and tool.input_schema["type"] == "object"
        assert tool.output_schema is not None
    ask = tools["ask"]
    assert ask.input_schema["required"] == ["prompt"]
    assert set(ask.input_schema["properties"]) == {
        "prompt", "conversation_id", "model", "effort", "web_search", "temporary", "files"
    }  # fmt: skip
    assert {"conversation_id", "model"} <= set(ask.output_schema["properties"])
    assert all(tools[name].annotations.read_only_hint for name in tools if name != "ask")


async def test_ask_answers_markdown_with_its_chat_and_model(api: Api) -> None:
    asks = Asks.of(api)
    api.bridge.script(Answer("**Yes**", ", it ", "works.", model="gpt-5-thinking"))
    prompt = unique("Does it work?")
    async with mcp_client(api.url) as client:
        first = await client.call_tool("ask", {"prompt": prompt, "model": "gpt-5-thinking"})
        chat = first.structured_content["conversation_id"]
        follow = await client.call_tool("ask", {"prompt": "And then?", "conversation_id": chat})
    assert not first.is_error and text_of(first) == "**Yes**, it works."
    assert first.structured_content == {
        "conversation_id": chat, "model": "gpt-5-thinking", "finish_reason": "stop"
    }  # fmt: skip
    assert not follow.is_error and follow.structured_content["conversation_id"] == chat
    made = asks()
    assert [(a.prompt, a.conversation_id, a.model) for a in made] == [
        (prompt, None, "gpt-5-thinking"),
        ("And then?", chat, "auto"),
    ]
    assert made[0].temporary, "an agent's new chat stays out of the person's history"


async def test_ask_passes_its_options_and_refuses_an_unknown_model(api: Api) -> None:
    asks = Asks.of(api)
    async with mcp_client(api.url) as client:
        kept = await client.call_tool(
            "ask", {"prompt": "search", "web_search": True, "temporary": False}
        )
        unknown = await client.call_tool("ask", {"prompt": "x", "model": "gpt-9-ultra"})
        both = await client.call_tool("ask", {"prompt": "x", "model": "gpt-5@max", "effort": "max"})
        bad_id = await client.call_tool("ask", {"prompt": "x", "conversation_id": "../etc"})
    assert not kept.is_error
    assert [(a.options.web_search, a.temporary) for a in asks()] == [(True, False)]
    assert unknown.is_error and "gpt-9-ultra" in text_of(unknown) and "auto" in text_of(unknown)
    assert both.is_error and "already names an effort" in text_of(both)
    assert bad_id.is_error and "not a ChatGPT conversation id" in text_of(bad_id)


async def test_progress_says_what_chatgpt_does_before_its_first_word(api: Api) -> None:
    api.bridge.script(
        Answer(Progress("reasoning", "Planning"), Progress("search"), "Found", " it", delay=0.02)
    )
    said: list[tuple[float, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        said.append((done, message))

    async with mcp_client(api.url) as client:
        result = await client.call_tool("ask", {"prompt": "look"}, progress_callback=progress)
    assert text_of(result) == "Found it"
    assert [message for _, message in said] == [
        "Sent to ChatGPT",
        "ChatGPT is thinking: Planning",
        "ChatGPT is searching the web",
        "ChatGPT is writing the answer",
    ]
    steps = [done for done, _ in said]
    assert steps == sorted(set(steps)), "progress only ever grows"


async def test_cancelling_the_call_presses_stop(api: Api) -> None:
    api.bridge.script(Answer("Half an answer", hang=True))
    writing = asyncio.Event()

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if message == "ChatGPT is writing the answer":
            writing.set()

    async with mcp_client(api.url) as client:
        call = asyncio.create_task(
            client.call_tool("ask", {"prompt": "long"}, progress_callback=progress)
        )
        await asyncio.wait_for(writing.wait(), 10)
        turn = api.bridge.turns[-1]
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await eventually(turn.cancelled.is_set, "Stop pressed in the page")
        # The session is still usable after a cancelled call.
        assert not (await client.call_tool("models", {})).is_error


@pytest.mark.parametrize(
    "failure",
    [
        Answer(error=LoginRequiredError()),
        Answer(error=ChallengeError()),
        Answer(error=RateLimitedError(retry_after=720)),
        Answer(error=BusyError()),
        Answer("Half", fail=SendUncertainError()),
    ],
    ids=["login", "challenge", "rate-limited", "busy", "send-uncertain"],
)
async def test_a_typed_failure_is_a_tool_error_with_its_message(api: Api, failure: Answer) -> None:
    asks = Asks.of(api)
    api.bridge.script(failure)
    error = failure.error or failure.fail
    assert isinstance(error, BridgeError)
    prompt = unique("fails")
    async with mcp_client(api.url) as client:
        result = await asyncio.wait_for(client.call_tool("ask", {"prompt": prompt}), 10)
    assert result.is_error and text_of(result) == str(error)
    assert [a.prompt for a in asks()] == [prompt], "asked once, never again"


async def test_a_rate_limit_says_when_it_lifts(api: Api) -> None:
    api.bridge.script(Answer(error=RateLimitedError(retry_after=720)))
    async with mcp_client(api.url) as client:
        result = await client.call_tool("ask", {"prompt": unique()})
    assert "Try again in 12 minutes." in text_of(result)


async def test_models_are_the_list_of_v1_models(api: Api) -> None:
    async with mcp_client(api.url) as client, api.http() as http:
        result = await client.call_tool("models", {})
        listed = (await http.get("/v1/models")).json()["data"]
    assert result.structured_content == {
        "models": [model["id"] for model in listed], "default": "auto"
    }  # fmt: skip
    assert "- auto (the default)" in text_of(result)


async def test_conversations_and_reading_one_back(api: Api) -> None:
    api.bridge.chats["c0ffee00-0000-4000-8000-000000000001"] = [
        StoredMessage("user", "What is MCP?"),
        StoredMessage("assistant", "A **protocol**.", "gpt-5"),
    ]
    prompt = unique("remember me")
    async with mcp_client(api.url) as client:
        asked = await client.call_tool("ask", {"prompt": prompt, "temporary": False})
        await client.call_tool("ask", {"prompt": "forget me"})  # temporary: never listed
        listed = await client.call_tool("conversations", {"limit": 2})
        chat = asked.structured_content["conversation_id"]
        read = await client.call_tool("read_conversation", {"conversation_id": chat})
        older = await client.call_tool(
            "read_conversation", {"conversation_id": "c0ffee00-0000-4000-8000-000000000001"}
        )
        missing = await client.call_tool("read_conversation", {"conversation_id": "nope-123"})
    entries = listed.structured_content["conversations"]
    assert [e["id"] for e in entries] == [chat, "c0ffee00-0000-4000-8000-000000000001"]
    assert read.structured_content["messages"] == [
        {"role": "user", "text": prompt, "model": None},
        {"role": "assistant", "text": f"You said: {prompt}", "model": "auto"},
    ]
    assert text_of(older) == (
        "**You:**\n\nWhat is MCP?\n\n---\n\n**ChatGPT (gpt-5):**\n\nA **protocol**."
    )
    assert missing.is_error and "no conversation 'nope-123'" in text_of(missing)


async def test_reading_the_history_logged_out_says_so(api: Api) -> None:
    api.bridge.history_error = LoginRequiredError()
    try:
        async with mcp_client(api.url) as client:
            result = await client.call_tool("conversations", {})
    finally:
        api.bridge.history_error = None
    assert result.is_error and text_of(result) == str(LoginRequiredError())


async def test_a_browser_page_of_another_origin_is_refused(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        evil = await http.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Origin": "http://evil.example"}
        )
        local = await http.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Origin": "http://localhost:5173"}
        )
        rebound = await http.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Host": "evil.example"}
        )
    assert evil.status_code == 403 and "evil.example" in evil.json()["error"]["message"]
    assert local.status_code == 200
    assert rebound.status_code == 421, "a local bridge answers to loopback names only"


async def test_an_exposed_bridge_demands_its_key(start_app: StartApp, tmp_path: Path) -> None:
    from tests.fakes.bridge import FakeBridge

    settings: dict[str, Any] = {"host": "0.0.0.0", "api_key": "cgb-test-key-123456"}
    async with fake_app(start_app, tmp_path, FakeBridge(), **settings) as exposed:
        async with httpx.AsyncClient(base_url=exposed.url) as http:
            refused = await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
            wrong = await http.post(
                "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": "Bearer no"}
            )
            elsewhere = await http.post(
                "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Host": "bridge.example"}
            )
        async with mcp_client(exposed.url, key="cgb-test-key-123456") as client:
            result = await client.call_tool("ask", {"prompt": "hello"})
    assert refused.status_code == wrong.status_code == elsewhere.status_code == 401
    assert "API key" in refused.json()["error"]["message"]
    assert text_of(result) == "You said: hello"


async def test_files_by_content(api: Api) -> None:
    asks = Asks.of(api)
    files = [
        {"name": "notes.md", "content": "# Notes\n"},
        {"name": "pixel.png", "content_base64": "iVBORw0KGgo="},
    ]
    async with mcp_client(api.url) as client:
        result = await client.call_tool("ask", {"prompt": "Read these", "files": files})
        nameless = await client.call_tool("ask", {"prompt": "x", "files": [{"content": "hi"}]})
        both = await client.call_tool(
            "ask", {"prompt": "x", "files": [{"name": "a", "content": "a", "path": "/a"}]}
        )
    assert not result.is_error, text_of(result)
    attached = [(a.name, a.mime_type, a.data) for a in asks()[0].attachments]
    assert attached == [
        ("notes.md", "text/markdown", b"# Notes\n"),
        ("pixel.png", "image/png", b"\x89PNG\r\n\x1a\n"),
    ]
    assert nameless.is_error and "needs a `name`" in text_of(nameless)
    assert both.is_error and "exactly one of" in text_of(both)
    assert len(asks()) == 1, "a wrong file is refused before anything is sent"


async def test_files_by_path_only_inside_the_clients_roots(api: Api, tmp_path: Path) -> None:
    asks = Asks.of(api)
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "src").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "src" / "main.py").write_text("print('hi')\n")
    (elsewhere / "secret.txt").write_text("no")
    (project / "link.txt").symlink_to(elsewhere / "secret.txt")
    async with mcp_client(api.url, roots=[project]) as client:
        inside = await client.call_tool(
            "ask", {"prompt": "Review", "files": [{"path": str(project / "src" / "main.py")}]}
        )
        relative = await client.call_tool(
            "ask", {"prompt": "Again", "files": [{"path": "src/main.py"}]}
        )
        refused = [
            await client.call_tool("ask", {"prompt": "x", "files": [{"path": path}]})
            for path in (str(elsewhere / "secret.txt"), "../elsewhere/secret.txt", "link.txt")
        ]
    async with mcp_client(api.url) as rootless:
        no_roots = await rootless.call_tool(
            "ask", {"prompt": "x", "files": [{"path": str(project / "src" / "main.py")}]}
        )
    assert not inside.is_error and not relative.is_error, text_of(inside)
    assert [[(a.name, a.data) for a in ask.attachments] for ask in asks()] == [
        [("main.py", b"print('hi')\n")],
        [("main.py", b"print('hi')\n")],
    ]
    for result in refused:
        assert result.is_error and "not a file inside the folders" in text_of(result)
    assert no_roots.is_error and "shares no roots" in text_of(no_roots)


async def test_bridge_file_roots_and_a_refused_type(start_app: StartApp, tmp_path: Path) -> None:
    from tests.fakes.bridge import FakeBridge

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.csv").write_text("a,b\n")
    (shared / "tool.exe").write_bytes(b"MZ")
    exe = mimetypes.guess_type("tool.exe")[0] or "application/octet-stream"
    bridge = FakeBridge(rejected_types={exe})
    async with (
        fake_app(start_app, tmp_path, bridge, mcp_file_roots=[shared]) as app,
        mcp_client(app.url) as client,
    ):
        read = await client.call_tool(
            "ask", {"prompt": "Sum it", "files": [{"path": str(shared / "data.csv")}]}
        )
        rejected = await client.call_tool(
            "ask", {"prompt": "Run it", "files": [{"path": str(shared / "tool.exe")}]}
        )
    assert not read.is_error, text_of(read)
    assert [a.name for a in bridge.asks[0].attachments] == ["data.csv"]
    expected = AttachmentRejectedError("tool.exe", exe)
    assert rejected.is_error and text_of(rejected) == str(expected)
