"""The fake is a test seam: it must behave like the contract says, or tests above it lie."""

from __future__ import annotations

import asyncio

import pytest

from browser.contract import AskOptions, Bridge
from browser.errors import BusyError, RateLimitedError, SendUncertainError
from browser.events import ModelUsed, Progress, Title
from browser.models import ModelInfo
from tests.fakes.bridge import Answer, FakeBridge

EFFORTS = {"gpt-5-6-thinking": ["standard", "max"]}


def _is_bridge(bridge: Bridge) -> Bridge:
    return bridge  # type-checks FakeBridge against the Protocol


async def test_echoes_in_deltas_and_records_the_ask() -> None:
    bridge = _is_bridge(FakeBridge())
    async with bridge.ask("Hi there", model="gpt-5", temporary=True) as turn:
        deltas = [delta async for delta in turn]
    assert "".join(deltas) == turn.text == "You said: Hi there"
    assert len(deltas) == 4 and turn.finish_reason == "stop" and turn.model == "gpt-5"
    assert isinstance(bridge, FakeBridge) and bridge.asks[0].temporary is True


async def test_scripted_answers_come_first_then_the_handler() -> None:
    bridge = FakeBridge(lambda ask: Answer(ask.prompt.upper()))
    bridge.script(Answer("one", conversation_id="c-1"))
    async with bridge.ask("first") as first:
        assert await first.read() == "one" and first.conversation_id == "c-1"
    async with bridge.ask("second", conversation_id="c-1") as second:
        assert await second.read() == "SECOND" and second.conversation_id == "c-1"


async def test_errors_at_send_and_mid_answer() -> None:
    bridge = FakeBridge()
    bridge.script(Answer(error=RateLimitedError(retry_after=30)))
    with pytest.raises(RateLimitedError):
        async with bridge.ask("refused"):
            pass
    bridge.script(Answer("Half", fail=SendUncertainError()))
    async with bridge.ask("broken") as turn:
        with pytest.raises(SendUncertainError):
            await turn.read()
    assert turn.text == "Half" and turn.finish_reason is None
    assert bridge.prompts == ["refused", "broken"]


async def test_cancel_ends_a_hanging_answer() -> None:
    bridge = FakeBridge()
    bridge.script(Answer("Partial", hang=True))
    async with bridge.ask("long") as turn:
        reading = asyncio.create_task(turn.read())
        await asyncio.sleep(0.01)
        assert not reading.done()
        await turn.cancel()
        assert await reading == "Partial"
    assert turn.finish_reason == "cancelled"


async def test_tabs_and_the_line_behave_like_the_pool() -> None:
    bridge = FakeBridge(tabs=1, max_queue=0)
    bridge.script(Answer("held", hang=True))
    async with bridge.ask("hold") as held:
        assert bridge.is_busy()
        with pytest.raises(BusyError):
            async with bridge.ask("impatient"):
                pass
        patient = asyncio.create_task(bridge.ask("patient", patient=True).__aenter__())
        await asyncio.sleep(0.01)
        assert bridge.stats()["queue_length"] == 1 and not patient.done()
        await held.cancel()
    turn = await patient
    assert await turn.read() == "You said: patient"


async def test_options_events_and_the_answering_model_follow_the_contract() -> None:
    bridge = FakeBridge(model_slugs=["gpt-5-6-thinking"], model_efforts=EFFORTS)
    bridge.script(Answer("Hi", model="gpt-5-6", events=(Progress("reasoning"),)))
    options = AskOptions(model="gpt-5-6-thinking", effort="max")
    async with _is_bridge(bridge).ask("Think", options=options) as turn:
        await turn.read()
    assert bridge.asks[0].options == options and bridge.asks[0].model == "gpt-5-6-thinking"
    assert turn.answered_by == "gpt-5-6"
    assert turn.events == [ModelUsed("gpt-5-6", "gpt-5-6-thinking"), Progress("reasoning")]
    assert await bridge.model_infos() == [
        ModelInfo("gpt-5-6-thinking", "gpt-5-6-thinking", ("standard", "max"))
    ]


async def test_updates_wake_the_caller_with_events_before_the_first_delta() -> None:
    thinking, title = Progress("reasoning", "Thinking"), Title("Greeting")
    bridge = FakeBridge()
    bridge.script(Answer(thinking, "Hi", title, " there"))
    async with bridge.ask("Hello") as turn:
        updates = [item async for item in turn.updates()]
    assert updates == [thinking, "Hi", title, " there"]
    assert turn.text == "Hi there" and turn.events[-2:] == [thinking, title]
    bridge.script(Answer(thinking, "Only text"))
    async with bridge.ask("Again") as turn:
        assert [delta async for delta in turn] == ["Only text"]  # deltas alone, as before
    assert thinking in turn.events
