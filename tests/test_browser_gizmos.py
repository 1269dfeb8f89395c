"""Custom GPTs and projects in real Chromium against the replica.

The replica's answers in a GPT or a project end by naming it, and its record of each POST
keeps the `conversation_mode` the page sent, so each test proves where the turn ran. One
bridge for the module, with `BRIDGE_PROJECT` set, so a plain new chat starts in it too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
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
async def in_project(
    replica: Any, browser_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BrowserBridge]:
    data = tmp_path_factory.mktemp("bridge-gizmos") / "data"
    settings = bridge_settings(
        replica.url, data, browser_executable, max_tabs=1, project="Trip to Rome"
    )
    bridge = BrowserBridge(settings)
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
    replica: Any, in_project: BrowserBridge
) -> None:
    await replica.configure(**FAST)
    gpt = AskOptions(gpt=CODE_REVIEWER + "-code-reviewer")  # a link's last part works too
    turn = await _ask(in_project, "Review my loop", gpt)
    assert turn.text.endswith(f"(Answered in the custom GPT “Code Reviewer”, {CODE_REVIEWER}.)")
    mode = {"kind": "gizmo_interaction", "gizmo_id": CODE_REVIEWER}
    assert (await replica.sends())[-1]["conversation_mode"] == mode
    page = in_project.pool.tabs[0].page
    assert page.url.endswith(f"/g/{CODE_REVIEWER}/c/{turn.conversation_id}")
    again = await _ask(in_project, "And the second loop?", gpt, turn.conversation_id)
    assert again.conversation_id == turn.conversation_id
    assert "Review my loop" not in again.text and "Code Reviewer" in again.text
    assert (await replica.sends())[-1]["conversation_mode"] == mode


async def test_a_project_chat_starts_in_the_project_by_name(
    replica: Any, in_project: BrowserBridge
) -> None:
    await replica.configure(**FAST)
    turn = await _ask(in_project, "Plan the reading", AskOptions(project="research"))
    assert turn.text.endswith(f"(Answered in the project “Research”, {RESEARCH}.)")
    stored = await replica.conversation(turn.conversation_id)
    assert stored["messages"][0]["text"] == "Plan the reading"
    # BRIDGE_PROJECT: a new chat that names no GPT or project starts in that one.
    plain = await _ask(in_project, "Where to eat?", AskOptions())
    assert plain.text.endswith(f"(Answered in the project “Trip to Rome”, {TRIP}.)")
    assert (await replica.sends())[-1]["conversation_mode"]["gizmo_id"] == TRIP


async def test_an_unknown_gpt_is_refused_with_nothing_sent(
    replica: Any, in_project: BrowserBridge
) -> None:
    await replica.configure(**FAST)
    before = len(await replica.sends())
    with pytest.raises(GptNotFoundError, match="g-NoSuchGpt") as refused:
        await _ask(in_project, "Hello?", AskOptions(gpt="g-NoSuchGpt"))
    assert refused.value.delivered is False
    assert len(await replica.sends()) == before


async def test_an_unknown_project_is_refused_naming_the_projects(
    replica: Any, in_project: BrowserBridge
) -> None:
    await replica.configure(**FAST)
    before = len(await replica.sends())
    with pytest.raises(ProjectNotFoundError) as refused:
        await _ask(in_project, "Hello?", AskOptions(project="Taxes"))
    assert refused.value.names == ["Research", "Trip to Rome"]
    assert "'Research', 'Trip to Rome'" in str(refused.value)
    assert len(await replica.sends()) == before
