"""Choosing model and effort in today's page (trigger, Power slider, model list), real Chromium.

What ChatGPT was asked for is what the page POSTed (`replica.sends()`: `model`,
`thinking_effort`); what answered is what the stream says (`ModelUsed`, `answered_by`). The
downgrade knob answers with another model: the turn says so. The last `limits_progress` is
kept by the bridge (`quotas()`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openai
import pytest

from app import browser_commands
from app.config import Settings
from browser import Bridge
from browser.contract import AskOptions
from browser.errors import WebAppError
from browser.events import ModelUsed, Progress, Quota
from tests.fixtures.replica import FAST

pytestmark = pytest.mark.browser

RENDERERS = ["search-unit", "legacy-turn"]


@pytest.fixture(params=RENDERERS)
async def today(
    request: pytest.FixtureRequest, make_replica: Callable[..., Any], make_bridge: Any
) -> tuple[Any, Bridge]:
    """A replica serving today's page (each renderer) and a bridge on it."""
    replica = make_replica(**FAST, renderer=request.param)
    return replica, await make_bridge(replica.url)


async def _ask(bridge: Bridge, prompt: str, **how: Any) -> Any:
    async with bridge.ask(prompt, **how) as turn:
        await turn.read()
    return turn


@pytest.mark.parametrize(
    ("model", "effort"),
    [
        ("gpt-5-6-thinking", "extended"),  # the slider, two steps right of Instant
        ("gpt-5-6", None),  # the slider's first step
        ("gpt-4o", None),  # only in the "Select model" list
    ],
)
async def test_the_page_sends_the_model_and_effort_asked_for(
    today: tuple[Any, Bridge], model: str, effort: str | None
) -> None:
    replica, bridge = today
    async with bridge.ask("Which model?", options=AskOptions(model=model, effort=effort)) as turn:
        updates = [item async for item in turn.updates()]
    first_text = next(i for i, item in enumerate(updates) if isinstance(item, str))
    if effort is not None:  # a thinking model: the caller hears it reason before any text
        assert any(isinstance(item, Progress) for item in updates[:first_text])
    assert "".join(item for item in updates if isinstance(item, str)) == turn.text
    send = (await replica.sends())[-1]
    assert (send["model"], send.get("thinking_effort")) == (model, effort)
    assert turn.answered_by == model
    assert ModelUsed(model) in turn.events
    assert turn.text.startswith(f"Model: {model}.")


# legacy-turn: a follow-up does not find its page ready on main yet (with or without a model),
# a driver matter (worktree /work/wt/driver), not the picker's.
@pytest.mark.parametrize("today", ["search-unit"], indirect=True)
async def test_a_follow_up_can_change_the_effort(today: tuple[Any, Bridge]) -> None:
    replica, bridge = today
    first = await _ask(bridge, "One", options=AskOptions(model="gpt-5-6-thinking", effort="max"))
    await _ask(
        bridge,
        "Two",
        conversation_id=first.conversation_id,
        options=AskOptions(model="gpt-5-6-thinking", effort="standard"),
    )
    sends = await replica.sends()
    assert [s.get("thinking_effort") for s in sends[-2:]] == ["max", "standard"]
    assert sends[-1]["conversation_id"] == first.conversation_id


async def test_an_effort_the_page_cannot_choose_is_refused_before_typing(
    today: tuple[Any, Bridge],
) -> None:
    replica, bridge = today
    with pytest.raises(WebAppError, match="default effort") as refused:
        await _ask(bridge, "Never", options=AskOptions(model="gpt-5-thinking", effort="max"))
    assert refused.value.delivered is False
    assert not [s for s in await replica.sends() if s["prompt"] == "Never"]


async def test_a_downgraded_answer_names_the_model_that_answered(
    today: tuple[Any, Bridge],
) -> None:
    replica, bridge = today
    await replica.configure(downgrade_to="gpt-5-6")
    turn = await _ask(bridge, "Think hard", options=AskOptions(model="gpt-6-pro"))
    assert (await replica.sends())[-1]["model"] == "gpt-6-pro"
    assert turn.answered_by == "gpt-5-6"
    assert ModelUsed("gpt-5-6", "gpt-6-pro") in turn.events


async def test_the_bridge_keeps_the_last_quotas(today: tuple[Any, Bridge]) -> None:
    replica, bridge = today
    await replica.configure(quota_remaining=12)
    await _ask(bridge, "Count", options=AskOptions(model="gpt-5-6"))
    first = bridge.quotas()
    await _ask(bridge, "Again", options=AskOptions(model="gpt-5-6"))
    second = bridge.quotas()
    assert first and all(isinstance(q, Quota) and q.reset_after for q in second)
    assert [q.remaining for q in second] == [q.remaining - 1 for q in first if q.remaining]
    assert first[0].remaining in (11, 12)  # the knob's count, less this send


async def test_the_api_offers_and_asks_what_the_account_lists(
    make_replica: Callable[..., Any], start_app: Any, app_settings: Settings
) -> None:
    """End to end: openai client -> the app -> real Chromium -> today's page."""
    replica = make_replica(**FAST, renderer="search-unit")
    settings = app_settings.model_copy(update={"chatgpt_url": replica.url})
    async with start_app(settings) as server:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="-", max_retries=0)
        ids = [model.id async for model in client.models.list()]
        await replica.configure(downgrade_to="gpt-5-6")
        response = await client.chat.completions.with_raw_response.create(
            model="gpt-5-6-thinking@max", messages=[{"role": "user", "content": "Hi"}]
        )
    assert "gpt-5-6-thinking@max" in ids and "gpt-6-pro" in ids
    send = (await replica.sends())[-1]
    assert (send["model"], send["thinking_effort"]) == ("gpt-5-6-thinking", "max")
    assert response.parse().model == "gpt-5-6"  # the model that answered
    assert response.headers["x-chatgpt-model-used"] == "gpt-5-6"
    assert "not gpt-5-6-thinking as asked" in response.headers["x-chatgpt-model-note"]


async def test_the_cli_takes_the_same_model_ids(
    make_replica: Callable[..., Any], browser_settings: Callable[..., Settings]
) -> None:
    replica = make_replica(**FAST, renderer="search-unit")
    settings = browser_settings(replica.url)
    out, err = io.StringIO(), io.StringIO()
    refused = await browser_commands.ask(
        settings, "Hi", conversation_id=None, model="gpt-9", temporary=False, out=out, err=err
    )
    assert refused == 1 and "no model 'gpt-9'. Choose one of: gpt-5-6," in err.getvalue()
    assert await replica.sends() == []
    answered = await browser_commands.ask(
        settings,
        "Hi",
        conversation_id=None,
        model="gpt-5-6-thinking@extended",
        temporary=False,
        out=out,
        err=err,
    )
    assert answered == 0 and out.getvalue().startswith("Model: gpt-5-6-thinking.")
    send = (await replica.sends())[-1]
    assert (send["model"], send["thinking_effort"]) == ("gpt-5-6-thinking", "extended")
