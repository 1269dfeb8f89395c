"""Time to first token through the API and Slack next to the page's own, on a heavy page.

    .venv/bin/python -m bench.bench_speed [--page-weight-ms 1000] [--requests 6]

A replica at default timing (400 ms to the first token) whose every full page load burns
`--page-weight-ms` of main-thread work, first used by a person's own browser (`bench/
person.py`: new chats typed and sent, which also measures the page's own time to first
token, click on Send to the first answer text on screen). Then the bridge (real Chromium,
headed on a virtual display as on a server, 3 tabs) answers:
- new chats and follow-ups, one after another, at 1 client and at 3 clients on 3 tabs:
  median / p90 time to first token through `/v1/chat/completions` (streaming), and the
  median's distance from the page's own;
- 10 clients at once: answers per second with `BRIDGE_SEND_INTERVAL_MS=0` and with the
  default pacing (the seed's Selenium method answers serially at 0.70-0.78 answers/s);
- Slack, one thread at a time: from the event's arrival to the first answer text visible in
  the thread of the fake Slack, median and p95, and the median of each step on the way
  (`bench/slack_timeline.py`); `--slack-only` skips the API rows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import openai

from app.logs import configure_logging
from bench import slack_timeline
from bench.person import describe, use_account
from replica import ReplicaOptions, ReplicaServer
from tests.fixtures.app_server import AppServer
from tests.fixtures.slack_api import FakeSlack, slack_settings

CHANNEL = "CBENCH0001"
DEFAULT_INTERVAL_MS = 1000
"""`BRIDGE_SEND_INTERVAL_MS`'s default (app/config.py)."""

Messages = list[dict[str, str]]


def _prompt() -> str:
    return f"benchmark {uuid.uuid4().hex[:8]} words:30"


async def ask(client: openai.AsyncOpenAI, messages: Messages) -> tuple[float, str]:
    """Time to first token (s) of one streamed answer, and its text."""
    started = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    stream = await client.chat.completions.create(model="auto", messages=messages, stream=True)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter() - started
            parts.append(chunk.choices[0].delta.content)
    return first or time.perf_counter() - started, "".join(parts)


async def new_chats(client: openai.AsyncOpenAI, count: int) -> list[float]:
    return [(await ask(client, [{"role": "user", "content": _prompt()}]))[0] for _ in range(count)]


async def follow_ups(client: openai.AsyncOpenAI, count: int) -> list[float]:
    """One chat, then `count` follow-ups: each request carries the whole history."""
    messages: Messages = [{"role": "user", "content": _prompt()}]
    ttfts = []
    for index in range(count + 1):
        ttft, text = await ask(client, messages)
        if index:
            ttfts.append(ttft)
        messages += [{"role": "assistant", "content": text}, {"role": "user", "content": _prompt()}]
    return ttfts


def _row(name: str, seconds: list[float], page_ms: float) -> str:
    ordered = sorted(seconds)
    median = statistics.median(ordered) * 1000
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))] * 1000
    each = " ".join(f"{value * 1000:.0f}" for value in seconds)
    row = f"{name:<26}{len(ordered):>4}{median:>10.0f}{p90:>10.0f}{median - page_ms:>+12.0f}"
    return f"{row}   [{each}]"


async def latency(client: openai.AsyncOpenAI, count: int, page_ms: float) -> None:
    print(f"\n{'TTFT through the API':<26}{'N':>4}{'median':>10}{'p90':>10}{'vs page':>12}  (ms)")
    print(_row("new chat, 1 client", await new_chats(client, count), page_ms))
    print(_row("follow-up, 1 client", await follow_ups(client, count), page_ms))
    for name, run in (("new chat", new_chats), ("follow-up", follow_ups)):
        results = await asyncio.gather(*(run(client, count) for _ in range(3)))
        print(_row(f"{name}, 3 clients/3 tabs", [t for r in results for t in r], page_ms))


async def throughput(client: openai.AsyncOpenAI, server: AppServer, per_client: int) -> None:
    pacer = server.services.bridge.pacer  # type: ignore[attr-defined]
    for interval_ms in (0, DEFAULT_INTERVAL_MS):
        pacer.interval = interval_ms / 1000
        started = time.perf_counter()
        results = await asyncio.gather(*(new_chats(client, per_client) for _ in range(10)))
        wall = time.perf_counter() - started
        answers = sum(len(r) for r in results)
        print(
            f"10 clients, BRIDGE_SEND_INTERVAL_MS={interval_ms}: {answers} answers in "
            f"{wall:.1f} s = {answers / wall:.2f} answers/s"
        )


async def report_models(url: str) -> None:
    """What the POSTs asked for: a thinking model here would cost its reasoning phase."""
    async with httpx.AsyncClient(base_url=url) as http:
        sends = (await http.get("/_replica/sends")).json()
    asked = Counter((send["model"], send["thinking_effort"]) for send in sends)
    print("conversation POSTs by (model, effort), the person's included:", dict(asked))


async def run(args: argparse.Namespace) -> None:
    replica = ReplicaServer(ReplicaOptions(auto_login=True, page_weight_ms=args.page_weight_ms))
    replica.start()
    slack = FakeSlack().start()
    try:
        page_ttfts = await use_account(replica.url, args.person_chats, args.browser)
        page_ms = statistics.median(page_ttfts)
        print(f"page weight {args.page_weight_ms} ms; {describe(page_ttfts)}")
        with tempfile.TemporaryDirectory(prefix="bench-speed-") as data_dir:
            settings: Any = slack_settings(
                replica.url,
                args.browser,
                Path(data_dir),
                slack.url,
                slack_channels=[CHANNEL],
                max_tabs=3,
                max_queue=64,
                send_interval_ms=0,  # the replica has no abuse check: measure the bridge
            )
            configure_logging(settings)  # as `serve` logs: a library's handler would be timed
            server = AppServer(settings)
            await asyncio.to_thread(server.start)
            try:
                client = openai.AsyncOpenAI(
                    base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=300
                )
                # Warm-up: three tabs open (they stay, as on a bridge that serves), the models.
                await asyncio.gather(*(new_chats(client, 1) for _ in range(3)))
                if not args.slack_only:
                    await latency(client, args.requests, page_ms)
                    await throughput(client, server, args.per_client)
                server.services.bridge.pacer.interval = 0  # type: ignore[attr-defined]
                prompts = [_prompt() for _ in range(args.slack_threads)]
                slack_timeline.report(
                    await slack_timeline.time_answers(server, slack, CHANNEL, prompts), page_ms
                )
                await report_models(replica.url)
            finally:
                await asyncio.to_thread(server.stop)
    finally:
        slack.stop()
        replica.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page-weight-ms", type=int, default=1000, help="replica's page weight")
    parser.add_argument("--requests", type=int, default=6, help="answers per latency row")
    parser.add_argument("--per-client", type=int, default=3, help="answers per client at 10")
    parser.add_argument("--slack-threads", type=int, default=6)
    parser.add_argument(
        "--slack-only", action="store_true", help="the page's own and the Slack rows alone"
    )
    parser.add_argument("--person-chats", type=int, default=5, help="the person's new chats")
    parser.add_argument("--browser", default="/usr/bin/chromium", help="Chromium executable")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
