"""The model list is read in the background and never makes a request wait for a tab.

On a FakeBridge whose `models()` can be slow or fail: the first request waits for the first
read only briefly, a stale list is served while the next read runs, and a failed read keeps
the last list (or the configured default). See the docstring of app/api/models.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import openai
import pytest

from app.api import models
from app.status import describe_status
from browser.contract import AskOptions
from browser.errors import BusyError
from browser.events import Quota
from tests.api_support import Api, StartApp, fake_app
from tests.fakes.bridge import Answer, FakeBridge

HOUR = 3600.0
"""A `models()` that takes this long is a read that never ends within a test."""


async def _ids(api: Api) -> list[str]:
    # A short client timeout: a request that waited for the slow read would fail here.
    client = api.async_client(timeout=30)
    return [model.id async for model in client.models.list()]


async def test_the_first_request_waits_for_the_first_read(
    start_app: StartApp, tmp_path: Path
) -> None:
    bridge = FakeBridge(models_delay=0.5, model_slugs=["gpt-5", "o3"])
    async with fake_app(start_app, tmp_path, bridge) as api:
        ids = await _ids(api)
    assert ids[:3] == ["gpt-5", "o3", "auto"]  # the account's list, plus DEFAULT_MODEL
    assert bridge.models_reads == 1  # read once at startup, not once per request


async def test_a_first_read_slower_than_the_wait_serves_the_default_model(
    start_app: StartApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "FIRST_LIST_WAIT", 0.1)
    bridge = FakeBridge(models_delay=HOUR)
    async with fake_app(start_app, tmp_path, bridge, default_model="gpt-5") as api:
        assert await _ids(api) == ["gpt-5", "gpt-5:search"]
        completion = await api.async_client(timeout=30).chat.completions.create(
            model="gpt-5", messages=[{"role": "user", "content": "hi"}]
        )
    assert completion.choices[0].message.content == "You said: hi"
    assert bridge.models_reads == 1  # the one read carries on; requests do not stack more


async def test_a_stale_list_is_served_while_the_next_read_runs(
    start_app: StartApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "MODELS_TTL", 0.0)  # every list is stale at once
    bridge = FakeBridge(model_slugs=["gpt-5"])
    async with fake_app(start_app, tmp_path, bridge) as api:
        assert "gpt-5" in await _ids(api)
        bridge.models_delay = HOUR  # from now on a read waits for a tab that never frees
        bridge.model_slugs = ["gpt-6"]
        for _ in range(3):
            assert "gpt-5" in await _ids(api)  # the last list, at once
        reads = bridge.models_reads
        for _ in range(3):
            await _ids(api)
        assert bridge.models_reads == reads  # the one running read is not stacked upon


async def test_a_failed_read_keeps_the_last_list_and_asks_again(
    start_app: StartApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "FALLBACK_TTL", 0.0)
    monkeypatch.setattr(models, "MODELS_TTL", 0.0)
    bridge = FakeBridge(models_error=BusyError())
    async with fake_app(start_app, tmp_path, bridge) as api:
        ids = await _ids(api)
        assert "auto" in ids and "gpt-5" not in ids  # only DEFAULT_MODEL (and its aliases)
        bridge.models_error = None
        await _until_listed(api, "gpt-5")  # asked again, and the list is taken
        bridge.models_error, reads = BusyError(), bridge.models_reads
        while bridge.models_reads < reads + 2:  # at least one read that surely failed
            assert "gpt-5" in await _ids(api)  # a busy pool says nothing: the last list stays
            await asyncio.sleep(0.01)
        assert "gpt-5" in await _ids(api)


async def _until_listed(api: Api, model_id: str) -> None:
    for _ in range(200):
        if model_id in await _ids(api):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{model_id} was never listed")


EFFORTS = {"gpt-5-6-thinking": ["standard", "extended", "max"]}


async def test_each_model_is_listed_with_its_effort_levels(
    start_app: StartApp, tmp_path: Path
) -> None:
    bridge = FakeBridge(model_slugs=["gpt-5-6", "gpt-5-6-thinking"], model_efforts=EFFORTS)
    async with fake_app(start_app, tmp_path, bridge) as api:
        ids = await _ids(api)
        client = api.async_client()
        found = await client.models.retrieve("gpt-5-6-thinking@extended")
        with pytest.raises(openai.NotFoundError) as no_effort:
            await client.models.retrieve("gpt-5-6@max")
        with pytest.raises(openai.NotFoundError) as no_model:
            await client.models.retrieve("gpt-9")
    assert ids[:5] == [
        "gpt-5-6",
        "gpt-5-6-thinking",
        "gpt-5-6-thinking@standard",
        "gpt-5-6-thinking@extended",
        "gpt-5-6-thinking@max",
    ]
    assert (found.id, found.owned_by) == ("gpt-5-6-thinking@extended", "chatgpt")
    assert "'gpt-5-6' has no effort 'max'" in no_effort.value.message
    assert "no model 'gpt-9'. Choose one of: gpt-5-6, gpt-5-6-thinking," in no_model.value.message


async def test_a_model_id_with_an_effort_asks_for_both(start_app: StartApp, tmp_path: Path) -> None:
    bridge = FakeBridge(model_slugs=["gpt-5-6-thinking"], model_efforts=EFFORTS)
    async with fake_app(start_app, tmp_path, bridge) as api:
        completion = await api.async_client().chat.completions.create(
            model="gpt-5-6-thinking@max", messages=[{"role": "user", "content": "hi"}]
        )
    assert bridge.asks[-1].options == AskOptions(model="gpt-5-6-thinking", effort="max")
    assert completion.model == "gpt-5-6-thinking"


async def test_reasoning_effort_picks_the_models_thinking_effort(
    start_app: StartApp, tmp_path: Path
) -> None:
    bridge = FakeBridge(model_slugs=["gpt-5-6-thinking", "auto"], model_efforts=EFFORTS)
    hi = [{"role": "user", "content": "think"}]
    async with fake_app(start_app, tmp_path, bridge) as api:
        client = api.async_client()
        for model, effort in [
            ("gpt-5-6-thinking", "low"),
            ("gpt-5-6-thinking", "high"),
            ("gpt-5-6-thinking", "xhigh"),
            ("gpt-5-6-thinking@max", "low"),  # the id's own effort wins
            ("auto", "high"),  # no effort levels: nothing to choose
        ]:
            await client.chat.completions.create(model=model, messages=hi, reasoning_effort=effort)
        with pytest.raises(openai.BadRequestError) as wrong:
            await client.chat.completions.create(
                model="auto", messages=hi, extra_body={"reasoning_effort": "huge"}
            )
    offered = EFFORTS["gpt-5-6-thinking"]
    assert [ask.options.effort for ask in bridge.asks] == [
        offered[0],
        offered[1],
        offered[-1],
        "max",
        None,
    ]
    assert "reasoning_effort" in str(wrong.value.body) and len(bridge.asks) == 5


@pytest.mark.parametrize("stream", [False, True])
async def test_an_answer_from_another_model_says_so(
    start_app: StartApp, tmp_path: Path, stream: bool
) -> None:
    bridge = FakeBridge(model_slugs=["gpt-6-pro", "gpt-5-6"])
    bridge.script(Answer("Hello", model="gpt-5-6"))
    async with fake_app(start_app, tmp_path, bridge) as api:
        response = await api.async_client().chat.completions.with_raw_response.create(
            model="gpt-6-pro", messages=[{"role": "user", "content": "hi"}], stream=stream
        )
        parsed: Any = response.parse()
        models = [chunk.model async for chunk in parsed] if stream else [parsed.model]
    assert set(models) == {"gpt-5-6"}  # the body names the model that answered
    assert response.headers["x-chatgpt-model-used"] == "gpt-5-6"
    assert response.headers["x-chatgpt-model-note"] == (
        "ChatGPT answered with gpt-5-6, not gpt-6-pro as asked."
    )


async def test_health_and_status_show_the_quotas(start_app: StartApp, tmp_path: Path) -> None:
    quota = Quota("gpt-5-6-thinking", 7, "2026-12-02T09:00:00+00:00")
    bridge = FakeBridge(quota_values=[quota])
    async with fake_app(start_app, tmp_path, bridge) as api, api.http() as http:
        report = (await http.get("/health")).json()
    assert report["quotas"] == [
        {"feature": "gpt-5-6-thinking", "remaining": 7, "reset_after": quota.reset_after}
    ]
    assert "quotas   gpt-5-6-thinking 7 left (resets 2026-12-02T09:00:00+00:00)" in describe_status(
        report
    )


async def test_web_search_by_model_suffix_or_web_search_options(
    start_app: StartApp, tmp_path: Path
) -> None:
    bridge = FakeBridge(model_slugs=["auto", "gpt-5-6-thinking"], model_efforts=EFFORTS)
    async with fake_app(start_app, tmp_path, bridge) as api:
        ids = await _ids(api)
        client = api.async_client()
        listed = await client.models.retrieve("gpt-5-6-thinking@max:search")
        hi = [{"role": "user", "content": "news?"}]
        await client.chat.completions.create(model="auto:search", messages=hi)
        await client.chat.completions.create(
            model="gpt-5-6-thinking@max:search", messages=hi, stream=False
        )
        await client.chat.completions.create(model="auto", messages=hi, web_search_options={})
        await client.chat.completions.create(model="auto", messages=hi)
        with pytest.raises(openai.NotFoundError) as unknown:
            await client.chat.completions.create(model="gpt-9:search", messages=hi)
    assert {"auto:search", "gpt-5-6-thinking:search"} <= set(ids)
    assert "gpt-5-6-thinking@max:search" not in ids  # accepted, not listed: one per model
    assert (listed.id, listed.owned_by) == ("gpt-5-6-thinking@max:search", "chatgpt")
    assert [a.options for a in bridge.asks] == [
        AskOptions(model="auto", web_search=True),
        AskOptions(model="gpt-5-6-thinking", effort="max", web_search=True),
        AskOptions(model="auto", web_search=True),
        AskOptions(model="auto"),
    ]
    assert "no model 'gpt-9'" in unknown.value.message and len(bridge.asks) == 4
