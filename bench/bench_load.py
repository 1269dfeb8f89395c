"""Load figures: N OpenAI requests and M Slack questions at once on one bridge, with memory.

    .venv/bin/python -m bench.bench_load --api 200 --slack-threads 40 --per-thread 5

Runs the same scenario as `tests/test_reliability_load.py` (the replica at fast timing,
the fake Slack Web API, real Chromium) at any size, and prints what the test cannot assert
on a shared CI machine: wall time, turns per second, 429s, memory before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from browser.replica import ReplicaOptions, ReplicaServer
from tests.api_support import running_api
from tests.fixtures.reliability import memory, run_api_load, run_slack_load, slack_settings
from tests.fixtures.replica import FAST, Replica
from tests.fixtures.slack_api import FakeSlack, SlackEvents

CHANNEL = "CBENCH0001"


async def measure(args: argparse.Namespace, replica: Replica, slack: FakeSlack) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="bench-load-") as data_dir,
        running_api(
            replica,
            args.browser,
            Path(data_dir) / "data",
            slack_channels=[CHANNEL],
            max_tabs=args.tabs,
            **slack_settings(slack),
        ) as api,
    ):
        run = uuid.uuid4().hex[:8]
        profile = api.server.settings.profile_dir
        await run_api_load(api.url, f"warmup-{run}", requests=3, clients=3)
        gc.collect()
        before = memory(profile)
        loads = await asyncio.gather(
            run_api_load(api.url, run, requests=args.api, clients=args.clients),
            run_slack_load(
                SlackEvents(api.url),
                slack,
                CHANNEL,
                run,
                threads=args.slack_threads,
                per_thread=args.per_thread,
                timeout=3600,
            ),
        )
        gc.collect()
        after = memory(profile)
    api_load, slack_load = loads
    turns = api_load.requests + slack_load.events
    seconds = max(api_load.seconds, slack_load.seconds)
    return {
        "api_requests": api_load.requests,
        "api_seconds": round(api_load.seconds, 1),
        "api_statuses": dict(api_load.statuses),
        "slack_events": slack_load.events,
        "slack_seconds": round(slack_load.seconds, 1),
        "slack_acks": dict(slack_load.accepted),
        "turns_per_second": round(turns / seconds, 2),
        "memory_before": before.as_dict(),
        "memory_after": after.as_dict(),
        "slack_429s": Counter(call.status for call in slack.calls)[429],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", type=int, default=200, help="API requests")
    parser.add_argument("--clients", type=int, default=12, help="concurrent API clients")
    parser.add_argument("--slack-threads", type=int, default=40)
    parser.add_argument("--per-thread", type=int, default=5, help="questions per thread")
    parser.add_argument("--tabs", type=int, default=3, help="BRIDGE_MAX_TABS")
    parser.add_argument("--browser", default="/usr/bin/chromium")
    args = parser.parse_args()
    replica = ReplicaServer(ReplicaOptions(**FAST)).start()
    slack = FakeSlack().start()
    try:
        print(json.dumps(asyncio.run(measure(args, Replica(replica), slack)), indent=2))
    finally:
        slack.stop()
        replica.stop()


if __name__ == "__main__":
    main()
