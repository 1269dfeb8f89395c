"""Account safety: a minimum gap between sends from any tab, a hold after a limit signal,
and no over-long prompt ever typed.

The pure tests drive `SendPacer` on a fake clock (its sleep advances the clock), so they
check the exact gaps without waiting; one real test asks twice through Chromium and reads
the gap from the replica's own record of the sends.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from browser.errors import RateLimitedError
from browser.pacing import SendPacer


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def pacer(interval: float, clock: FakeClock, **options: Any) -> SendPacer:
    return SendPacer(interval, clock=clock, sleep=clock.sleep, **options)


async def test_sends_are_spaced_by_the_interval() -> None:
    clock = FakeClock()
    paced = pacer(2.0, clock)
    sent: list[float] = []
    for _ in range(3):
        await paced.wait_turn()
        sent.append(clock.now)
    assert sent == [100.0, 102.0, 104.0]


async def test_time_already_passed_counts_toward_the_gap() -> None:
    clock = FakeClock()
    paced = pacer(2.0, clock)
    await paced.wait_turn()
    clock.now += 1.5  # typing the next prompt took 1.5 s
    await paced.wait_turn()
    assert clock.slept == [pytest.approx(0.5)]
    clock.now += 5.0
    await paced.wait_turn()
    assert len(clock.slept) == 1, "a send after a long pause goes at once"


async def test_concurrent_sends_leave_one_at_a_time_in_arrival_order() -> None:
    clock = FakeClock()
    paced = pacer(1.0, clock)
    order: list[tuple[str, float]] = []

    async def send(name: str) -> None:
        await paced.wait_turn()
        order.append((name, clock.now))

    await asyncio.gather(*(send(name) for name in "abcd"))
    assert order == [("a", 100.0), ("b", 101.0), ("c", 102.0), ("d", 103.0)]


async def test_zero_turns_pacing_off() -> None:
    clock = FakeClock()
    paced = pacer(0, clock)
    for _ in range(5):
        await paced.wait_turn()
    assert clock.slept == []


async def test_a_limit_holds_every_send_until_the_page_wait_is_over() -> None:
    clock = FakeClock()
    paced = pacer(1.0, clock)
    assert paced.hold(120.0) == 120.0
    with pytest.raises(RateLimitedError) as held:
        await paced.wait_turn()
    assert held.value.retry_after == 120.0
    assert held.value.delivered is False
    assert "2 minutes" in str(held.value), "the caller is told when"
    clock.now += 119.0
    assert paced.retry_after() == pytest.approx(1.0)
    with pytest.raises(RateLimitedError):
        paced.check()
    clock.now += 1.0
    assert paced.retry_after() is None
    await paced.wait_turn()  # the wait is over: sends go again


async def test_a_limit_without_a_wait_holds_for_the_default() -> None:
    clock = FakeClock()
    paced = pacer(1.0, clock, default_hold=45.0)
    assert paced.hold(None) == 45.0
    assert paced.retry_after() == 45.0


async def test_a_shorter_later_signal_never_shortens_the_hold() -> None:
    clock = FakeClock()
    paced = pacer(1.0, clock)
    paced.hold(600.0)
    assert paced.hold(5.0) == 600.0
    paced.release()  # ChatGPT took a message after all
    assert paced.retry_after() is None


async def test_a_limit_signalled_while_waiting_stops_the_waiting_send() -> None:
    clock = FakeClock()
    paced = pacer(10.0, clock)
    await paced.wait_turn()

    async def signalled_while_sleeping(seconds: float) -> None:
        paced.hold(300.0)  # another tab's send met a 429 meanwhile
        clock.now += seconds

    paced._sleep = signalled_while_sleeping
    with pytest.raises(RateLimitedError) as held:
        await paced.wait_turn()
    assert held.value.retry_after == pytest.approx(290.0)


@pytest.mark.browser
async def test_two_quick_asks_are_spaced_by_the_interval(make_bridge: Any, replica: Any) -> None:
    bridge = await make_bridge(replica.url, send_interval_ms=2000, max_tabs=2)

    async def ask(prompt: str) -> str:
        async with bridge.ask(prompt) as turn:
            return await turn.read()

    prompts = ["Paced one", "Paced two"]
    await asyncio.gather(*(ask(prompt) for prompt in prompts))
    times = sorted(s["time"] for s in await replica.sends() if s["prompt"] in prompts)
    assert len(times) == 2
    # The gap counts from when ChatGPT accepted the first message, which is after its POST
    # reached the replica, and ends at the second press, before its POST arrives.
    assert times[1] - times[0] >= 2.0


async def test_the_gap_counts_from_when_chatgpt_took_the_message() -> None:
    clock = FakeClock()
    paced = pacer(2.0, clock)
    await paced.wait_turn()
    clock.now += 1.5  # the page took 1.5 s to post it
    paced.sent()
    await paced.wait_turn()
    assert clock.now == 103.5
