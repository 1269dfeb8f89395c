"""Load figures: N OpenAI requests and M Slack questions at once on one bridge, with memory.

    .venv/bin/python -m bench.bench_load --api 100 --slack-threads 20 --per-thread 5 --rounds 2
        [--page-weight-ms 1000]

Runs the same scenario as `tests/test_reliability_load.py` (the replica at fast timing,
the fake Slack Web API, real Chromium) at any size, and prints what the test cannot assert
on a shared CI machine: wall time, turns per second, 429s, and memory after the warm-up and
after each round. The defaults make 200 API requests and 200 Slack questions in two rounds:
memory that is flat ends the second round where the first one ended.

Memory names which process grows: Python's RSS; Chromium's PSS in total, by process type and
per renderer; Chromium's USS (immune to other browsers on the machine, which PSS is not);
each tab's turns, routes, script heap and DOM counters; and the load average of the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.person import use_account
from browser.bridge import BrowserBridge
from browser.pool import Tab
from replica import ReplicaOptions, ReplicaServer
from tests.api_support import Api, running_api
from tests.fixtures.reliability import memory, run_api_load, run_slack_load
from tests.fixtures.replica import FAST, Replica
from tests.fixtures.slack_api import FakeSlack, SlackEvents, slack_values

CHANNEL = "CBENCH0001"
SETTLE_SECONDS = 10.0


async def one_round(
    args: argparse.Namespace, api_url: str, slack: FakeSlack, run: str
) -> dict[str, Any]:
    """`--api` requests and `--slack-threads` x `--per-thread` Slack events, all at once."""
    calls_before = len(slack.calls)
    api_load, slack_load = await asyncio.gather(
        run_api_load(api_url, run, requests=args.api, clients=args.clients),
        run_slack_load(
            SlackEvents(api_url),
            slack,
            CHANNEL,
            run,
            threads=args.slack_threads,
            per_thread=args.per_thread,
            timeout=3600,
        ),
    )
    seconds = max(api_load.seconds, slack_load.seconds)
    return {
        "api_requests": api_load.requests,
        "api_seconds": round(api_load.seconds, 1),
        "api_statuses": dict(api_load.statuses),
        "slack_events": slack_load.events,
        "slack_seconds": round(slack_load.seconds, 1),
        "slack_acks": dict(slack_load.accepted),
        "slack_api_429s": Counter(call.status for call in slack.calls[calls_before:])[429],
        "turns_per_second": round((api_load.requests + slack_load.events) / seconds, 2),
    }


async def tab_report(tab: Tab) -> dict[str, Any]:
    """What one tab's page holds: its turns and routes, its JS heap and DOM (CDP counters)."""
    cdp = await tab.page.context.new_cdp_session(tab.page)
    try:
        heap = await cdp.send("Runtime.getHeapUsage")
        dom = await cdp.send("Memory.getDOMCounters")
    finally:
        await cdp.detach()
    return {
        "turns": tab.turns,
        "routes": tab.routes,
        "js_heap_mb": round(heap["usedSize"] / 2**20, 1),
        "documents": dom["documents"],
        "nodes": dom["nodes"],
        "listeners": dom["jsEventListeners"],
    }


async def tab_reports(api: Api) -> list[dict[str, Any]]:
    """Every live tab's report, read on the app's own loop (where its pages live)."""
    bridge = api.server.services.bridge
    assert isinstance(bridge, BrowserBridge) and api.server.loop is not None
    pool = bridge.pool

    async def read() -> list[dict[str, Any]]:
        return [await tab_report(tab) for tab in pool.tabs if not tab.dead]

    future = asyncio.run_coroutine_threadsafe(read(), api.server.loop)
    return await asyncio.wrap_future(future)


async def settled_memory(api: Api) -> dict[str, Any]:
    """Memory once recycled tabs' renderers have exited and Python has collected garbage."""
    await asyncio.sleep(SETTLE_SECONDS)
    gc.collect()
    report = memory(api.server.settings.profile_dir).as_dict()
    return {**report, "load_average": round(os.getloadavg()[0], 2), "tabs": await tab_reports(api)}


async def measure(args: argparse.Namespace, replica: Replica, slack: FakeSlack) -> dict[str, Any]:
    """Warm up, then `--rounds` rounds; memory after each shows whether it stays flat."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-load-") as data_dir,
        running_api(
            replica,
            args.browser,
            Path(data_dir) / "data",
            slack_channels=[CHANNEL],
            max_tabs=args.tabs,
            send_interval_ms=0,  # the replica has no abuse check: measure the bridge
            **slack_values(slack.url),
        ) as api,
    ):
        run = uuid.uuid4().hex[:8]
        await run_api_load(api.url, f"warmup-{run}", requests=3, clients=3)
        report: dict[str, Any] = {"memory_after_warmup": await settled_memory(api)}
        report["rounds"] = []
        for index in range(args.rounds):
            result = await one_round(args, api.url, slack, f"{run}-{index}")
            result["memory_after"] = await settled_memory(api)
            report["rounds"].append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", type=int, default=100, help="API requests per round")
    parser.add_argument("--clients", type=int, default=12, help="concurrent API clients")
    parser.add_argument("--slack-threads", type=int, default=20)
    parser.add_argument("--per-thread", type=int, default=5, help="questions per thread")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of that load")
    parser.add_argument("--tabs", type=int, default=3, help="BRIDGE_MAX_TABS")
    parser.add_argument("--browser", default="/usr/bin/chromium")
    parser.add_argument("--page-weight-ms", type=int, default=0, help="replica's page weight")
    args = parser.parse_args()
    # The person's plain browser of `bench/person.py` would meet the bot check: not here.
    options = {**FAST, "bot_check": False, "page_weight_ms": args.page_weight_ms}
    replica = ReplicaServer(ReplicaOptions(**options)).start()
    slack = FakeSlack().start()
    try:
        # The account was used from a person's own browser first, as every real one is.
        asyncio.run(use_account(replica.url, 3, args.browser))
        print(json.dumps(asyncio.run(measure(args, Replica(replica), slack)), indent=2))
    finally:
        slack.stop()
        replica.stop()


if __name__ == "__main__":
    main()
