"""Custom GPTs and projects in real Chromium against the replica.

The replica's answers in a GPT or a project end by naming it, and its record of each POST
keeps the `conversation_mode` the page sent, so each test proves where the turn ran. One
bridge for the module (one tab, so a turn's page is the one the test reads); `BRIDGE_PROJECT`
needs a bridge of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from browser import Bridge, BrowserBridge
from browser.contract import AskOptions
from browser.errors import GptNotFoundError, ProjectNotFoundError
from tests.fixtures.bridge import bridge_settings
from tests.fixtures.replica import FAST

pytestmark = pytest.mark.browser

CODE_REVIEWER = "g-R3plicaCode"
RESEARCH = "g-p-5e1ec7ed0000000000000000000000a1"
TRIP = "g-p-5e1ec7ed0000000000000000000000b2"


@pytest.fixture(scope="module")
async def one_tab(
    replica: Any, browser_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BrowserBridge]:
    data = tmp_path_factory.mktemp("bridge-gizmos") / "data"
    bridge = BrowserBridge(bridge_settings(replica.url, data, browser_executable, max_tabs=1))
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop()


async def _ask(bridge: Bridge, prompt: str, options: AskOptions, chat: str | None = None) -> Any:
    async with bridge.ask(prompt, chat, options=options) as turn:
        await turn.read()
    return turn


async def test_a_gpt_chat_and_its_follow_up_stay_in_the_gpt(
    replica: Any, one_tab: BrowserBridge
) -> None:
    await replica.configure(**FAST)
    await _ask(one_tab, "A plain chat first", AskOptions())
    tab = one_tab.pool.tabs[0]
    routes = tab.routes
    gpt = AskOptions(gpt=CODE_REVIEWER + "-code-reviewer")  # a link's last part works too
    turn = await _ask(one_tab, "Review my loop", gpt)
    assert tab.routes == routes + 1  # through the sidebar's link, no new document
    assert turn.text.endswith(f"(Answered in the custom GPT “Code Reviewer”, {CODE_REVIEWER}.)")
    mode = {"kind": "gizmo_interaction", "gizmo_id": CODE_REVIEWER}
    assert (await replica.sends())[-1]["conversation_mode"] == mode
    assert tab.page.url.endswith(f"/g/{CODE_REVIEWER}/c/{turn.conversation_id}")
    again = await _ask(one_tab, "And the second loop?", gpt, turn.conversation_id)
    assert again.conversation_id == turn.conversation_id
    assert "Review my loop" not in again.text and "Code Reviewer" in again.text
    assert (await replica.sends())[-1]["conversation_mode"] == mode


async def test_a_project_chat_starts_in_the_project_by_name(
    replica: Any, one_tab: BrowserBridge
) -> None:
    await replica.configure(**FAST)
    turn = await _ask(one_tab, "Plan the reading", AskOptions(project="research"))
    assert turn.text.endswith(f"(Answered in the project “Research”, {RESEARCH}.)")
    stored = await replica.conversation(turn.conversation_id)
    assert stored["messages"][0]["text"] == "Plan the reading"
    page = one_tab.pool.tabs[0].page
    assert page.url.endswith(f"/g/{RESEARCH}/c/{turn.conversation_id}")


async def test_bridge_project_starts_new_chats_that_name_none(
    replica: Any, make_bridge: Callable[..., Any]
) -> None:
    await replica.configure(**FAST)
    bridge = await make_bridge(replica.url, max_tabs=1, project="Trip to Rome")
    plain = await _ask(bridge, "Where to eat?", AskOptions())
    assert plain.text.endswith(f"(Answered in the project “Trip to Rome”, {TRIP}.)")
    assert (await replica.sends())[-1]["conversation_mode"]["gizmo_id"] == TRIP
    # A follow-up goes on where its chat lives (the page opens it at /c/<id>).
    again = await _ask(bridge, "And dessert?", AskOptions(), plain.conversation_id)
    assert again.conversation_id == plain.conversation_id and "Trip to Rome" in again.text


async def test_an_unknown_gpt_is_refused_with_nothing_sent(
    replica: Any, one_tab: BrowserBridge
) -> None:
    await replica.configure(**FAST)
    before = len(await replica.sends())
    with pytest.raises(GptNotFoundError, match="g-NoSuchGpt") as refused:
        await _ask(one_tab, "Hello?", AskOptions(gpt="g-NoSuchGpt"))
    assert refused.value.delivered is False
    assert len(await replica.sends()) == before


async def test_an_unknown_project_is_refused_naming_the_projects(
    replica: Any, one_tab: BrowserBridge
) -> None:
    await replica.configure(**FAST)
    before = len(await replica.sends())
    with pytest.raises(ProjectNotFoundError) as refused:
        await _ask(one_tab, "Hello?", AskOptions(project="Taxes"))
    assert refused.value.names == ["Research", "Trip to Rome"]
    assert "'Research', 'Trip to Rome'" in str(refused.value)
    assert len(await replica.sends()) == before
