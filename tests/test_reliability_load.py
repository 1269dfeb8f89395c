"""Load: 75 OpenAI requests and 75 Slack questions at once, on one bridge, nothing lost.

One app (real uvicorn, real Chromium, the session replica at fast timing) serves both
at the same time, with three tabs and a short queue so that some API calls are refused with
429 and retried by the `openai` SDK, and Slack questions wait for a tab. Afterwards:
- every API call got its own answer (the replica quotes the prompt and counts the user
  messages of the chat, so an answer from another chat or a stale one cannot pass), and a
  chain of follow-ups stayed in one chat;
- every Slack question got its answer in its own thread, in order;
- the replica received every prompt exactly once (nothing lost, nothing typed twice);
- memory before and after is printed (see docs/reliability.md for measured figures).
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from replica.model import answer
from tests.api_support import running_api
from tests.fixtures.app_server import AppServer
from tests.fixtures.reliability import (
    memory,
    run_api_load,
    run_slack_load,
    slack_answers,
)
from tests.fixtures.slack_api import FakeSlack, SlackEvents, slack_values

pytestmark = pytest.mark.browser

# The CI scale: 150 turns keep this test near two minutes on a busy 2-core machine.
# `bench/bench_load.py` runs the same scenario at 200 + 200 and beyond (docs/reliability.md).
API_REQUESTS = 55
API_CLIENTS = 12
BURST = 20
"""Single-question clients arriving all at once on top of the load: more than tabs + queue."""
SLACK_THREADS = 15
SLACK_PER_THREAD = 5
CHANNEL = "CLOAD00001"


@pytest.fixture(scope="module")
def server(
    replica: Any,
    browser_executable: str,
    slack_api_server: FakeSlack,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppServer]:
    with running_api(
        replica,
        browser_executable,
        tmp_path_factory.mktemp("load") / "data",
        slack_channels=[CHANNEL],
        max_tabs=3,
        send_interval_ms=0,  # the replica has no abuse check: measure the bridge, not pacing
        **slack_values(slack_api_server.url),
    ) as api:
        yield api.server


async def test_api_and_slack_under_load_lose_nothing(
    server: AppServer, slack_api: FakeSlack, replica: Any
) -> None:
    run = uuid.uuid4().hex[:8]
    profile = server.settings.profile_dir
    # Slack itself pushes back now and then: those calls are waited out, not lost.
    slack_api.rate_limit("chat.startStream", count=3, retry_after=1)
    slack_api.rate_limit("chat.postMessage", count=2, retry_after=1)
    await run_api_load(server.url, f"warmup-{run}", requests=3, clients=3)
    gc.collect()
    before = memory(profile)

    api, burst, slack = await asyncio.gather(
        run_api_load(server.url, run, requests=API_REQUESTS, clients=API_CLIENTS),
        run_api_load(server.url, f"{run} burst", requests=BURST, clients=BURST, longest=1),
        run_slack_load(
            SlackEvents(server.url),
            slack_api,
            CHANNEL,
            run,
            threads=SLACK_THREADS,
            per_thread=SLACK_PER_THREAD,
        ),
    )
    gc.collect()
    after = memory(profile)

    # API: each answer is the answer to its own message, at its place in its own chat.
    chains = api.chains + burst.chains
    assert api.requests + burst.requests == API_REQUESTS + BURST
    for chain, answers, conversations in zip(
        chains, api.answers + burst.answers, api.conversations + burst.conversations, strict=True
    ):
        assert answers == [answer(p, "auto", n) for n, p in enumerate(chain, start=1)]
        assert len(set(conversations)) == 1 and conversations[0]
    chats = [conversations[0] for conversations in api.conversations + burst.conversations]
    assert len(set(chats)) == len(chats), "two chains shared a chat"
    statuses = api.statuses + burst.statuses
    assert set(statuses) == {200, 429}, "the burst must meet full tabs and queue"
    assert statuses[200] == API_REQUESTS + BURST

    # Slack: every question answered in its own thread, in order, one chat per thread.
    assert slack.events == SLACK_THREADS * SLACK_PER_THREAD
    assert slack.accepted == Counter({200: slack.events})
    threads: list[str] = []
    for ts, prompts in slack.threads.items():
        answers = slack_answers(slack_api, CHANNEL, ts)
        assert [a.quoted for a in answers] == prompts
        assert [a.user_messages for a in answers] == list(range(1, len(prompts) + 1))
        assert not any(a.warning for a in answers)
        ids = {a.conversation_id for a in answers}
        assert len(ids) == 1 and None not in ids
        threads.append(ids.pop())
    assert len(set(threads)) == len(threads)
    assert not set(threads) & set(chats)
    assert [c.status for c in slack_api.calls if c.status == 429] == [429] * 5

    # The replica: every prompt typed exactly once, each into the chat it belongs to.
    sends = [s for s in await replica.sends() if f" {run} " in s["prompt"]]
    typed = Counter(s["prompt"] for s in sends)
    expected = [p for chain in chains for p in chain]
    expected += [p for prompts in slack.threads.values() for p in prompts]
    assert typed == Counter(expected), "a prompt was lost or typed twice"
    assert {s["status"] for s in sends} == {200}
    by_prompt = {s["prompt"]: s["conversation_id"] for s in sends}
    for chain, chat in zip(chains, chats, strict=True):
        assert [by_prompt[p] for p in chain] == [chat] * len(chain)
    for prompts, chat in zip(slack.threads.values(), threads, strict=True):
        assert [by_prompt[p] for p in prompts] == [chat] * len(prompts)

    assert server.services.bridge.stats()["tabs_busy"] == 0
    assert server.services.slack.runner.pending == 0
    print(
        f"\nLOAD api={api.requests} in {api.seconds:.1f}s burst={burst.requests} in "
        f"{burst.seconds:.1f}s statuses={dict(statuses)} "
        f"slack={slack.events} in {slack.seconds:.1f}s "
        f"memory before={before.as_dict()} after={after.as_dict()}"
    )
    # A generous sanity bound, not a measurement: a leak per turn would blow well past it.
    assert after.python_mb - before.python_mb < 300
    assert after.chromium_mb < 4 * max(before.chromium_mb, 500)
