"""Every fault knob of the replica becomes the right typed error, with the right `delivered`.

`delivered` is what callers rely on to decide whether a resend could post the prompt twice:
False only when the web app provably refused it, True once it is answering, None when unsure.
After each fault the next ask on the same bridge works; after a rate limit, only once its
wait is over (until then every ask is refused before anything is typed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from browser import Bridge, BridgeState, BrowserBridge
from browser.errors import (
    AnswerTimeoutError,
    BridgeError,
    ChallengeError,
    LoginRequiredError,
    RateLimitedError,
    WebAppError,
)
from browser.page import probe
from tests.fixtures.bridge import bridge_settings

pytestmark = pytest.mark.browser


async def ask_text(bridge: Bridge, prompt: str, **options: Any) -> str:
    async with bridge.ask(prompt, **options) as turn:
        return await turn.read()


async def fails(bridge: Bridge, prompt: str) -> BridgeError:
    with pytest.raises(BridgeError) as caught:
        await ask_text(bridge, prompt)
    return caught.value


async def still_works(bridge: Bridge) -> None:
    text = await ask_text(bridge, "Are you fine?")
    assert 'You said: "Are you fine?"' in text


async def refused_while_held(bridge: Bridge, replica: Any) -> None:
    """After a rate limit no tab sends until ChatGPT's wait is over; then sends go again."""
    assert isinstance(bridge, BrowserBridge)
    before = len(await replica.sends())
    held = await fails(bridge, "Too soon")
    assert isinstance(held, RateLimitedError) and held.retry_after and held.delivered is False
    assert len(await replica.sends()) == before, "nothing is sent while the limit holds"
    bridge.pacer.release()  # as if the page's own wait were over


@pytest.fixture(scope="module")
async def impatient_bridge(
    replica: Any, browser_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bridge]:
    """A bridge that gives up after 3 s without progress, or 6 s in all."""
    settings = bridge_settings(
        replica.url,
        Path(tmp_path_factory.mktemp("impatient")) / "data",
        browser_executable,
        idle_timeout=3.0,
        answer_timeout=6.0,
        max_tabs=1,
    )
    started = BrowserBridge(settings)
    await started.start()
    yield started
    await started.stop()


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(401, LoginRequiredError), (403, ChallengeError), (429, RateLimitedError), (500, WebAppError)],
)
async def test_http_failures_deliver_nothing(
    bridge: Bridge, replica: Any, status: int, error_type: type[BridgeError]
) -> None:
    await replica.configure(fail_next_status=status, fail_next_count=1)
    error = await fails(bridge, f"Fail with {status}")
    assert type(error) is error_type
    assert error.delivered is False
    assert (await replica.sends())[-1]["status"] == status
    if status in (403, 429):  # a limit, or "unusual activity": no tab sends for a while
        await refused_while_held(bridge, replica)
    await still_works(bridge)


async def test_rate_limit_dialog_is_dismissed_and_retry_after_reported(
    bridge: Bridge, replica: Any
) -> None:
    await replica.configure(rate_limit_next=1)
    error = await fails(bridge, "Too fast")
    assert isinstance(error, RateLimitedError)
    assert error.delivered is False
    assert error.retry_after == 3600
    assert "limit" in str(error) and "60 minutes" in str(error)
    assert await bridge.state() is BridgeState.RATE_LIMITED
    for tab in bridge.pool.tabs:
        assert (await probe(tab.page)).rate_limit is None, "the dialog was left open"
    await refused_while_held(bridge, replica)
    await still_works(bridge)


async def test_error_toast_delivers_nothing(bridge: Bridge, replica: Any) -> None:
    await replica.configure(toast_error_next=1)
    error = await fails(bridge, "Toast please")
    assert isinstance(error, WebAppError) and error.delivered is False
    await still_works(bridge)


async def test_stream_error_after_delivery(bridge: Bridge, replica: Any) -> None:
    await replica.configure(sse_error_next=1, chunk_chars=4)
    async with bridge.ask("Error mid-way words:30") as turn:
        with pytest.raises(WebAppError) as caught:
            async for _delta in turn:
                pass
    assert caught.value.delivered is True
    assert "Something went wrong" in str(caught.value)
    assert turn.text, "the part that streamed before the error is kept"
    await still_works(bridge)


async def test_cut_stream_is_delivered_not_retried(impatient_bridge: Bridge, replica: Any) -> None:
    await replica.configure(cut_stream_next=1, chunk_chars=4)
    sends_before = len(await replica.sends())
    error = await fails(impatient_bridge, "Cut me off words:30")
    assert isinstance(error, WebAppError) and error.delivered is True
    assert "broke off" in str(error)
    assert len(await replica.sends()) == sends_before + 1, "never resent"
    await still_works(impatient_bridge)


async def test_stall_hits_the_idle_timeout(impatient_bridge: Bridge, replica: Any) -> None:
    await replica.configure(stall_next=1)
    error = await fails(impatient_bridge, "Stall please words:30")
    assert isinstance(error, AnswerTimeoutError) and error.delivered is True
    assert "BRIDGE_IDLE_TIMEOUT" in str(error)
    # The stuck answer was stopped in the page, not left generating.
    conversation = await replica.conversation((await replica.sends())[-1]["conversation_id"])
    assert conversation["messages"][-1]["status"] == "finished_partial_completion"
    await still_works(impatient_bridge)


async def test_answer_over_the_overall_cap(impatient_bridge: Bridge, replica: Any) -> None:
    await replica.configure(chunk_delay_ms=100, chunk_chars=8)  # steady, but ~25 s long
    async with impatient_bridge.ask("Endless words:300") as turn:
        with pytest.raises(AnswerTimeoutError) as caught:
            await turn.read()
    assert caught.value.delivered is True
    assert "BRIDGE_ANSWER_TIMEOUT" in str(caught.value)
    assert turn.text, "what streamed before the cap is kept"
    await replica.configure(chunk_delay_ms=15, chunk_chars=12)
    await still_works(impatient_bridge)


async def test_logged_out(bridge: Bridge, replica: Any) -> None:
    await replica.configure(logged_out=True)
    assert await bridge.state() is BridgeState.LOGIN_REQUIRED
    error = await fails(bridge, "Hello?")
    assert isinstance(error, LoginRequiredError) and error.delivered is False
    assert "chatgpt-bridge login" in str(error)
    assert await bridge.whoami() is None
    with pytest.raises(LoginRequiredError):
        await bridge.models()
    await replica.configure(logged_out=False)
    assert await bridge.state() is BridgeState.READY
    await still_works(bridge)


async def test_challenge_page(bridge: Bridge, replica: Any) -> None:
    await replica.configure(challenge=True)
    error = await fails(bridge, "Hello?")
    assert isinstance(error, ChallengeError) and error.delivered is False
    await replica.configure(challenge=False)
    await still_works(bridge)


async def test_state_reports_challenge(bridge: Bridge, replica: Any) -> None:
    await replica.configure(challenge=True)
    tab = bridge.pool.tabs[0]
    await tab.page.goto(replica.url + "/")
    assert await bridge.state() is BridgeState.CHALLENGE
    await replica.configure(challenge=False)
    await tab.page.goto(replica.url + "/")
    assert await bridge.state() is BridgeState.READY


async def state_with_every_tab_held(bridge: BrowserBridge) -> BridgeState:
    """`state()` while no tab is free, as `/health` may ask it mid-answer."""
    async with AsyncExitStack() as held:
        while not bridge.is_busy():
            await held.enter_async_context(bridge.pool.lease())
        return await bridge.state()


async def test_a_full_pool_reports_what_the_latest_ask_met(bridge: Bridge, replica: Any) -> None:
    # /health may come while the failed ask's tab is still on its way back to the pool:
    # the state it reports then is the one that ask met, not the one before it.
    await replica.configure(challenge=True)
    assert isinstance(await fails(bridge, "Hello?"), ChallengeError)
    assert await state_with_every_tab_held(bridge) is BridgeState.CHALLENGE
    await replica.configure(challenge=False)
    assert await bridge.state() is BridgeState.READY
    await still_works(bridge)
    assert await state_with_every_tab_held(bridge) is BridgeState.READY


async def test_models_and_whoami(bridge: Bridge, replica: Any) -> None:
    assert await bridge.whoami() == "user@replica.local"
    models = await bridge.models()
    assert "auto" in models and "gpt-5" in models


async def test_unknown_conversation(bridge: Bridge, replica: Any) -> None:
    with pytest.raises(WebAppError) as caught:
        await ask_text(bridge, "Hi", conversation_id="00000000-0000-4000-8000-000000000000")
    assert caught.value.delivered is False
    assert "00000000-0000-4000-8000-000000000000" in str(caught.value)


async def test_empty_prompt(bridge: Bridge, replica: Any) -> None:
    with pytest.raises(WebAppError) as caught:
        await ask_text(bridge, "  \n ")
    assert caught.value.delivered is False
