"""Faults, seen from the outside: the OpenAI client and the Slack thread.

What the browser layer does on each fault is tested in `test_browser_faults.py` (every
replica knob -> typed error and `delivered`) and `test_browser_pool.py` (a crashed tab).
Here the same faults go through the whole bridge, and the promise checked is the one users
rely on: a proper HTTP error (the right status, `x-should-retry: false` whenever the prompt
may have reached ChatGPT), never a hang, the prompt never typed twice, and the bridge
answering again right after.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from replica import ReplicaOptions, ReplicaServer
from replica.model import answer
from tests.api_support import Api, running_api, unique, user
from tests.fixtures.cli import cli_env, free_port, run_cli, wait_until_healthy
from tests.fixtures.reliability import browser_process, chromium_processes
from tests.fixtures.replica import FAST, Replica
from tests.fixtures.slack_api import FakeSlack, SlackEvents, message_event, slack_values, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def api(
    replica: Any, browser_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """Gives up after 3 s without progress, so cut and stalled streams fail fast."""
    data_dir = tmp_path_factory.mktemp("faults") / "data"
    with running_api(replica, browser_executable, data_dir, idle_timeout=3.0) as running:
        yield running


async def typed(replica: Any, prompt: str) -> list[int]:
    """The HTTP status the replica answered to each time `prompt` was sent."""
    return [send["status"] for send in await replica.sends() if send["prompt"] == prompt]


async def still_answers(api: Api) -> None:
    prompt = unique("still there?")
    completion = await api.async_client().chat.completions.create(
        model="auto", messages=[user(prompt)]
    )
    assert completion.choices[0].message.content == answer(prompt, "auto", 1)


@pytest.mark.parametrize(
    ("knobs", "status", "code", "retry"),
    [
        ({"fail_next_status": 401}, 503, "login_required", "false"),
        ({"fail_next_status": 403}, 503, "challenge_required", "false"),
        ({"fail_next_status": 429}, 429, "rate_limit_exceeded", None),
        ({"fail_next_status": 500}, 502, "chatgpt_error", None),
        ({"toast_error_next": 1}, 502, "chatgpt_error", None),
        ({"sse_error_next": 1}, 502, "chatgpt_error", "false"),
        ({"cut_stream_next": 1}, 502, "chatgpt_error", "false"),
        ({"stall_next": 1}, 504, "answer_timeout", "false"),
    ],
    ids=["401", "403", "429", "500", "toast", "sse-error", "cut-stream", "stall"],
)
async def test_each_replica_error_is_a_proper_http_error(
    api: Api, replica: Any, knobs: dict[str, int], status: int, code: str, retry: str | None
) -> None:
    await replica.configure(**knobs, chunk_chars=4)
    prompt = unique("fault words:30")
    client = api.async_client(max_retries=0, timeout=60)
    with pytest.raises(openai.APIStatusError) as failure:
        await client.chat.completions.create(model="auto", messages=[user(prompt)])
    assert failure.value.status_code == status
    assert failure.value.code == code
    assert failure.value.response.headers.get("x-should-retry") == retry
    assert len(await typed(replica, prompt)) == 1
    if knobs.get("fail_next_status") in (403, 429):  # a limit, or "unusual activity"
        await refused_while_held(api, replica)
    await still_answers(api)


async def refused_while_held(api: Api, replica: Any) -> None:
    """After a rate limit every ask is a 429 until ChatGPT's wait is over, and none is typed."""
    prompt = unique("too soon")
    with pytest.raises(openai.RateLimitError) as held:
        await api.async_client(max_retries=0).chat.completions.create(
            model="auto", messages=[user(prompt)]
        )
    assert int(held.value.response.headers["retry-after"]) >= 30
    assert await typed(replica, prompt) == []
    api.server.services.bridge.pacer.release()  # as if the page's own wait were over


async def test_the_sdk_retries_what_never_reached_chatgpt_once(api: Api, replica: Any) -> None:
    """A refused send is safe to retry: the SDK's own retry gets the answer, typed once."""
    await replica.configure(fail_next_status=500, fail_next_count=1)
    prompt = unique("retry me")
    completion = await api.async_client(max_retries=2).chat.completions.create(
        model="auto", messages=[user(prompt)]
    )
    assert completion.choices[0].message.content == answer(prompt, "auto", 1)
    assert await typed(replica, prompt) == [500, 200]  # refused, then accepted once


async def test_chromium_killed_mid_answer(api: Api, replica: Any) -> None:
    await replica.configure(chunk_delay_ms=80, chunk_chars=6)
    profile = api.server.settings.profile_dir
    prompt = unique("long words:300")
    stream = await api.async_client().chat.completions.create(
        model="auto", messages=[user(prompt)], stream=True
    )
    received = ""
    killed = False
    with pytest.raises(openai.APIError) as failure:
        async for chunk in stream:
            received += (chunk.choices[0].delta.content or "") if chunk.choices else ""
            if len(received) > 40 and not killed:
                os.kill(browser_process(profile).pid, signal.SIGKILL)
                killed = True
    assert "browser" in str(failure.value).lower()
    assert answer(prompt, "auto", 1).startswith(received)
    assert len(await typed(replica, prompt)) == 1, "never typed again after the crash"
    await replica.configure(chunk_delay_ms=FAST["chunk_delay_ms"], chunk_chars=12)
    await still_answers(api)  # a new browser was launched on the same profile
    assert chromium_processes(profile)


async def test_the_replica_goes_down_and_comes_back(
    make_replica: Any, browser_executable: str, tmp_path: Path
) -> None:
    first: Replica = make_replica(**FAST)
    port = first.server._server.servers[0].sockets[0].getsockname()[1]
    with running_api(first, browser_executable, tmp_path / "data", idle_timeout=3.0) as api:
        client = api.async_client(max_retries=0, timeout=60)
        await still_answers(api)
        await asyncio.to_thread(first.server.stop)
        with pytest.raises(openai.APIStatusError) as failure:
            await client.chat.completions.create(model="auto", messages=[user(unique("hello?"))])
        assert failure.value.status_code in (502, 503)
        again = ReplicaServer(ReplicaOptions(**FAST), port=port).start()
        try:
            prompt = unique("back again")
            completion = await api.async_client(max_retries=3).chat.completions.create(
                model="auto", messages=[user(prompt)]
            )
            assert completion.choices[0].message.content == answer(prompt, "auto", 1)
        finally:
            await asyncio.to_thread(again.stop)


CHANNEL = "CRESTART01"


def _thread_outcome(slack: FakeSlack, ts: str) -> str | None:
    """ "answered", "interrupted" or None while the thread has neither."""
    texts = [message.text for message in slack.thread(CHANNEL, ts) if not message.has_button()]
    if any("bridge restarted" in text for text in texts):
        return "interrupted"
    if any(message.footer() for message in slack.thread(CHANNEL, ts)):
        return "answered"
    return None


async def test_bridge_killed_with_slack_questions_queued(
    tmp_path: Path, browser_executable: str, replica: Any, slack_api: FakeSlack
) -> None:
    """Killed (SIGKILL, no shutdown) while answering with more questions waiting: after a
    restart on the same data directory every question is answered or told it was
    interrupted, and none is typed twice."""
    await replica.configure(chunk_delay_ms=60, chunk_chars=6)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = cli_env(
        tmp_path / "data",
        browser_executable,
        CHATGPT_URL=replica.url,
        BRIDGE_MAX_TABS="1",
        SLACK_CHANNELS=CHANNEL,
        **{name.upper(): str(value) for name, value in slack_values(slack_api.url).items()},
    )
    run = unique("restart")
    prompts = [f"{run} question {number} words:200" for number in range(4)]
    events = [message_event(prompt, channel=CHANNEL) for prompt in prompts]
    async with run_cli(["serve", "--port", str(port)], env, tmp_path / "first.log") as cli:
        await wait_until_healthy(base_url, cli)
        for event in events:
            assert (await SlackEvents(base_url).event(event)).status_code == 200
        # The first answer is streaming into Slack; the others wait for the only tab.
        await wait_for(
            lambda: any("You said" in m.text for m in slack_api.thread(CHANNEL, events[0]["ts"]))
        )
        cli.process.kill()
        await cli.wait()
    profile = tmp_path / "data" / "chrome-profile"
    await wait_for(lambda: not chromium_processes(profile), timeout=30)

    await replica.configure(chunk_delay_ms=FAST["chunk_delay_ms"], chunk_chars=12)
    async with run_cli(["serve", "--port", str(port)], env, tmp_path / "second.log") as cli:
        await wait_until_healthy(base_url, cli)
        outcomes = await wait_for(
            lambda: (
                [_thread_outcome(slack_api, e["ts"]) for e in events]
                if all(_thread_outcome(slack_api, e["ts"]) for e in events)
                else None
            ),
            timeout=120,
        )
    assert outcomes[0] == "interrupted"
    assert outcomes[1:] == ["answered"] * 3
    for prompt in prompts:
        assert len(await typed(replica, prompt)) == 1
