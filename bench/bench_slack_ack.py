"""Benchmark how fast Slack events are acknowledged when many arrive at once.

Slack retries an event not acknowledged within 3 seconds and disables the subscription of
an app that is too often late, so the ack must stay fast while answers are being written.
The bridge stores each question in SQLite before acknowledging it (so no question is lost),
which is the cost this measures: `--events` signed events are POSTed at the same moment to
the running bridge, each in its own new thread, and every HTTP response time is recorded.
Then it waits until every thread has its answer, which shows the per-thread queues draining
through the browser tabs.

Each part runs where it would for a user: the bridge is `chatgpt-bridge serve` in a process
of its own (with its Chromium), the replica and the fake Slack Web API stand for chatgpt.com
and Slack in this process, and the burst comes from a client process of its own
(`bench/burst_client.py`). Sharing one interpreter with the replica, the bridge was timed
with the replica's work: a burst that met the warm-up question's answer waited ~100 ms for
the replica's thread, not for the bridge.

    .venv/bin/python -m bench.bench_slack_ack [--events 50] [--tabs 3] [--no-answers]
        [--client raw|httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from replica import ReplicaOptions, ReplicaServer
from tests.fixtures.cli import cli_env, free_port, run_cli, wait_until_healthy
from tests.fixtures.slack_api import (
    FakeSlack,
    SlackEvents,
    event_body,
    finished,
    message_event,
    slack_values,
)

CHANNEL = "CBENCH0001"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def _burst(url: str, posts: list[dict[str, Any]], client: str) -> dict[str, Any]:
    """The burst from a client process of its own (`bench/burst_client.py`)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.burst_client",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    request = {"url": url, "posts": posts, "client": client}
    out, _ = await process.communicate(json.dumps(request).encode())
    if process.returncode:
        raise RuntimeError(f"the burst client failed ({process.returncode})")
    return dict(json.loads(out))


async def run(count: int, tabs: int, wait_answers: bool, executable: str, client: str) -> None:
    replica = ReplicaServer(
        ReplicaOptions(auto_login=True, ttft_ms=30, chunk_delay_ms=15, chunk_chars=40)
    ).start()
    slack = FakeSlack().start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as data_dir:
        env = cli_env(
            Path(data_dir) / "data",
            executable,
            CHATGPT_URL=replica.url,
            SLACK_CHANNELS=CHANNEL,
            BRIDGE_MAX_TABS=str(tabs),
            BRIDGE_SEND_INTERVAL_MS="0",  # the replica has no abuse check: measure the bridge
            **{name.upper(): str(value) for name, value in slack_values(slack.url).items()},
        )
        serve = ["serve", "--port", str(port)]
        try:
            async with run_cli(serve, env, Path(data_dir) / "serve.log") as bridge:
                await wait_until_healthy(base_url, bridge)
                started = time.perf_counter()
                batch = await _measure(base_url, count, tabs, client)
                if wait_answers:
                    await _wait_for_answers(slack, batch, started)
        finally:
            slack.stop()
            replica.stop()


async def _measure(base_url: str, count: int, tabs: int, client: str) -> list[dict[str, Any]]:
    """POST the warm-up and the burst; print the acks' times. Returns the burst's events."""
    events = SlackEvents(base_url)
    batch = [
        message_event(f"bench {uuid.uuid4().hex[:6]} {i}", channel=CHANNEL) for i in range(count)
    ]
    warm = message_event(f"warm-up {uuid.uuid4().hex[:6]}", channel=CHANNEL)
    bodies = [json.dumps(event_body(event)) for event in [warm, *batch]]
    json_type = {"Content-Type": "application/json"}
    posts = [{"body": b, "headers": events.headers(b, **json_type)} for b in bodies]
    measured = await _burst(events.url, posts, client)
    acks, all_acked = [float(ack) for ack in measured["acks"]], float(measured["all"])
    print(f"{count} Slack events POSTed at once ({tabs} browser tabs, {client} client)")
    print(f"  ack latency  p50 {_percentile(acks, 0.5) * 1000:7.1f} ms")
    print(f"               p99 {_percentile(acks, 0.99) * 1000:7.1f} ms")
    print(f"               max {max(acks) * 1000:7.1f} ms")
    print(f"               mean {statistics.mean(acks) * 1000:6.1f} ms")
    print(f"  all {count} acknowledged after {all_acked * 1000:.0f} ms")
    print(f"  later than Slack's 3 s limit: {sum(1 for ack in acks if ack > 3.0)}")
    return batch


async def _wait_for_answers(slack: FakeSlack, batch: list[dict[str, Any]], started: float) -> None:
    deadline = time.monotonic() + 600
    done = 0
    while time.monotonic() < deadline:
        done = sum(1 for event in batch if finished(slack, CHANNEL, event["ts"]))
        if done == len(batch):
            break
        await asyncio.sleep(0.5)
    total = time.perf_counter() - started
    print(f"  answered: {done}/{len(batch)} threads in {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--tabs", type=int, default=3)
    parser.add_argument("--no-answers", action="store_true", help="do not wait for answers")
    parser.add_argument("--browser", default="/usr/bin/chromium", help="browser executable")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="how the burst is sent (bench/burst_client.py says why raw is the default)",
    )
    args = parser.parse_args()
    asyncio.run(run(args.events, args.tabs, not args.no_answers, args.browser, args.client))


if __name__ == "__main__":
    main()
