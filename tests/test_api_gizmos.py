"""Custom GPTs and projects over the API, with the `openai` package, on a FakeBridge.

`/v1/models` lists the account's GPTs (`g-<id>`) and projects (`project/<name>`) beside the
models; asking with one puts it in the ask's options; a GPT or project the account lacks is
a 404 `model_not_found` saying what exists, with nothing asked.
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from browser.contract import AskOptions
from browser.models import Gizmo
from tests.api_support import StartApp, fake_app
from tests.fakes.bridge import FakeBridge

GIZMOS = [
    Gizmo("g-Rev1ewer", "Code Reviewer", "gpt"),
    Gizmo("g-p-aa11", "Research", "project"),
    Gizmo("g-p-bb22", "Trip to Rome", "project"),
]


def _bridge() -> FakeBridge:
    return FakeBridge(model_slugs=["auto", "gpt-5"], gizmo_list=list(GIZMOS))


async def test_models_lists_the_gpts_and_projects_and_asks_in_them(
    start_app: StartApp, tmp_path: Path
) -> None:
    bridge = _bridge()
    async with fake_app(start_app, tmp_path, bridge) as api:
        client = api.async_client()
        ids = [model.id async for model in client.models.list()]
        assert ids[-3:] == ["g-Rev1ewer", "project/Research", "project/Trip to Rome"]
        assert (await client.models.retrieve("project/Trip to Rome")).id == "project/Trip to Rome"
        for model in ("g-Rev1ewer", "project/Research:search", "project/trip to rome"):
            chat = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": f"Hello {model}"}]
            )
            assert f"Hello {model}" in (chat.choices[0].message.content or "")
    gpt, project, lower = bridge.asks
    assert gpt.options == AskOptions(gpt="g-Rev1ewer")
    assert project.options == AskOptions(web_search=True, project="Research")
    assert lower.options == AskOptions(project="trip to rome")  # the page matches any case


async def test_an_unknown_project_or_gpt_is_a_404_model_not_found(
    start_app: StartApp, tmp_path: Path
) -> None:
    bridge = _bridge()
    async with fake_app(start_app, tmp_path, bridge) as api:
        client = api.async_client()
        with pytest.raises(openai.NotFoundError) as project:
            await client.chat.completions.create(
                model="project/Taxes", messages=[{"role": "user", "content": "Hi"}]
            )
        # A GPT of the GPT Store is not in the sidebar's list: the page checks it when asked.
        with pytest.raises(openai.NotFoundError) as gpt:
            await client.chat.completions.create(
                model="g-Unkn0wn", messages=[{"role": "user", "content": "Hi"}]
            )
    assert project.value.code == "model_not_found"
    assert "no project named 'Taxes'" in project.value.message
    assert "Research, Trip to Rome" in project.value.message
    assert gpt.value.code == "model_not_found"
    assert "no custom GPT 'g-Unkn0wn'" in gpt.value.message
    assert gpt.value.response.headers["x-should-retry"] == "false"
    assert bridge.asks == []  # nothing asked
