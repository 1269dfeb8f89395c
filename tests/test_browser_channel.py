"""`browser.channel.Channel`: items in order, then the end or the error, exactly once."""

from __future__ import annotations

import asyncio

import pytest

from browser.channel import Channel


async def drain(channel: Channel[str]) -> list[str]:
    return [item async for item in channel]


async def test_items_arrive_in_order_then_the_iteration_ends() -> None:
    channel: Channel[str] = Channel()
    for item in ("a", "b", "c"):
        channel.put(item)
    channel.close()
    assert await drain(channel) == ["a", "b", "c"]
    assert await drain(channel) == [], "iterating again after the end stops at once"


async def test_the_consumer_waits_for_the_producer() -> None:
    channel: Channel[str] = Channel()
    consumer = asyncio.create_task(drain(channel))
    await asyncio.sleep(0)
    assert not consumer.done()
    channel.put("late")
    channel.close()
    assert await consumer == ["late"]


async def test_a_failure_comes_after_the_items_put_before_it() -> None:
    channel: Channel[str] = Channel()
    channel.put("partial")
    channel.fail(ValueError("broken"))
    channel.fail(RuntimeError("ignored: already ended"))
    channel.close()
    seen: list[str] = []
    with pytest.raises(ValueError, match="broken"):
        async for item in channel:
            seen.append(item)
    assert seen == ["partial"]
    assert await drain(channel) == []


async def test_nothing_may_be_put_after_the_end() -> None:
    channel: Channel[str] = Channel()
    channel.close()
    assert channel.closed
    with pytest.raises(RuntimeError):
        channel.put("too late")
