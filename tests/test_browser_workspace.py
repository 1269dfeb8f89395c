"""CHATGPT_WORKSPACE: the bridge asks in the workspace it names, chosen in the page.

Real Chromium against a replica whose login offers a personal plan and a Team
(`--workspaces`): one bridge, started with the Team's name, then told no choice (the page's
own stays), an id and an unknown name. The replica records the workspace every send ran in,
which is what proves an answer came from the right one. `/health`, `status` and the API's
503 are the app's, on a FakeBridge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from app.health import render_summary
from app.status import describe_status
from browser import BrowserBridge
from browser.contract import BridgeState, BrowserInfo
from browser.errors import WorkspaceError
from browser.workspace import Workspace, pick, workspaces_from_payload
from replica import ReplicaOptions, ReplicaServer
from replica.workspaces import PERSONAL, TEAM, check_payload
from tests.api_support import StartApp, fake_app, unique, user
from tests.fakes.bridge import Answer, FakeBridge
from tests.fixtures.bridge import bridge_settings
from tests.fixtures.replica import FAST, Replica


@pytest.fixture(scope="module")
def two_workspaces() -> Iterator[Replica]:
    server = ReplicaServer(ReplicaOptions(**FAST, workspaces=True)).start()
    try:
        yield Replica(server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def bridge(
    two_workspaces: Replica, browser_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BrowserBridge]:
    """A bridge told to ask in the Team by its name, in another case than the page's; the
    page starts in the personal workspace, the first of the login's."""
    data_dir = tmp_path_factory.mktemp("workspace") / "data"
    settings = bridge_settings(
        two_workspaces.url, data_dir, browser_executable, chatgpt_workspace="REPLICA team"
    )
    started = BrowserBridge(settings)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def _ask(bridge: BrowserBridge, replica: Replica) -> dict[str, Any]:
    """Ask once; the replica's record of that send."""
    prompt = unique("which workspace")
    async with bridge.ask(prompt) as turn:
        assert await turn.read()
    return next(send for send in await replica.sends() if send["prompt"] == prompt)


def test_the_check_endpoint_is_read_in_its_order_without_its_default_twice() -> None:
    offered = workspaces_from_payload(check_payload(two=True))
    assert [w.describe() for w in offered] == [
        "Personal (personal, plus)",
        "Replica Team (workspace, team)",
    ]
    assert pick(offered, "personal").id == PERSONAL.id
    assert pick(offered, f"  {TEAM.id.upper()} ").id == TEAM.id
    deactivated = check_payload(two=True)
    deactivated["accounts"][TEAM.id]["account"]["is_deactivated"] = True
    deactivated["accounts"]["default"]["account"]["is_deactivated"] = True
    assert [w.id for w in workspaces_from_payload(deactivated)] == [PERSONAL.id]


async def test_the_workspace_named_at_start_answers_and_is_named(
    bridge: BrowserBridge, two_workspaces: Replica
) -> None:
    assert bridge.browser_info().workspace == "Replica Team (workspace, team)"
    assert (await _ask(bridge, two_workspaces))["workspace"] == TEAM.id


async def test_without_a_choice_the_page_s_own_workspace_stays_and_is_named(
    bridge: BrowserBridge, two_workspaces: Replica
) -> None:
    assert await bridge.use_workspace(None) == Workspace(
        TEAM.id, "Replica Team", "workspace", "team"
    )
    assert (await _ask(bridge, two_workspaces))["workspace"] == TEAM.id


async def test_a_workspace_chosen_by_id_holds_for_the_next_questions(
    bridge: BrowserBridge, two_workspaces: Replica
) -> None:
    chosen = await bridge.use_workspace(PERSONAL.id)
    assert chosen == Workspace(PERSONAL.id, None, "personal", "plus")
    assert bridge.browser_info().workspace == "Personal (personal, plus)"
    assert (await _ask(bridge, two_workspaces))["workspace"] == PERSONAL.id
    assert (await _ask(bridge, two_workspaces))["workspace"] == PERSONAL.id


async def test_an_unknown_workspace_lists_the_real_ones_and_holds_every_question(
    bridge: BrowserBridge, two_workspaces: Replica
) -> None:
    sends = len(await two_workspaces.sends())
    with pytest.raises(WorkspaceError) as raised:
        await bridge.use_workspace("Acme Corp")
    message = str(raised.value)
    assert "'Acme Corp'" in message
    assert "Personal (personal, plus)" in message and "Replica Team (workspace, team)" in message
    assert await bridge.state() is BridgeState.WRONG_WORKSPACE
    info = bridge.browser_info()
    assert (info.workspace, info.workspace_problem) == (None, message)
    with pytest.raises(WorkspaceError):
        async with bridge.ask("never sent"):
            pass
    assert len(await two_workspaces.sends()) == sends
    await bridge.use_workspace(None)  # a good choice lifts the hold
    assert await bridge.state() is BridgeState.READY


async def test_health_status_and_the_api_say_which_workspace_or_why_none(
    start_app: StartApp, tmp_path: Path
) -> None:
    fake = FakeBridge(info=BrowserInfo(display="in memory", workspace="Acme (workspace, team)"))
    async with fake_app(start_app, tmp_path, fake) as api, api.http() as http:
        report = (await http.get("/health")).json()
        assert report["browser"]["workspace"] == "Acme (workspace, team)"
        assert "workspace Acme (workspace, team)" in describe_status(report)
        problem = "CHATGPT_WORKSPACE='Nope' names no workspace of this ChatGPT login. It offers: x"
        fake.state_value = BridgeState.WRONG_WORKSPACE
        fake.info = BrowserInfo(display="in memory", workspace_problem=problem)
        response = await http.get("/health")
        assert response.status_code == 503
        assert response.json()["browser"]["workspace_problem"] == problem
        assert f"workspace none: {problem}" in describe_status(response.json())
        summary = render_summary(response.json(), base_url=api.url, api_key=None)
        assert f"Browser  {problem}" in summary
        fake.script(Answer(error=WorkspaceError(problem)))
        with pytest.raises(openai.InternalServerError) as refused:
            await api.async_client().chat.completions.create(
                model="gpt-5", messages=[user("never asked")]
            )
    assert refused.value.status_code == 503
    assert refused.value.code == "workspace_not_found"
    assert problem in refused.value.message
