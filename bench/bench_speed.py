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
  (`bench/slack_timeline.py`).

`--breakdown` adds, under each API row, where the time went: the median of each phase of a
request (`browser/timing.py`'s marks: tab lease, opening the chat, ready check, model and
mode choice, typing and its read-back, pacing, the Send click, the page's request and its
first text as the tap stamped them, the first delta and the first SSE chunk), and what the
HTTP round trip and the client add on top.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
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
from browser import timing
from replica import ReplicaOptions, ReplicaServer
from tests.fixtures.app_server import AppServer
from tests.fixtures.slack_api import FakeSlack, slack_settings

CHANNEL = "CBENCH0001"
DEFAULT_INTERVAL_MS = 1000
"""`BRIDGE_SEND_INTERVAL_MS`'s default (app/config.py)."""

Messages = list[dict[str, str]]

PHASES = (
    ("planned", "the chat planned (which history, what to type)"),
    ("leased", "a tab leased from the pool"),
    ("opened", "the chat opened (New chat / sidebar link / load)"),
    ("ready", "the page ready (composer, messages)"),
    ("chosen", "model, mode and attachments chosen"),
    ("typed", "the prompt typed and read back"),
    ("paced", "the send pacing waited for"),
    ("clicked", "Send clicked"),
    ("page_request", "the page's request started (tap's clock)"),
    ("tapped", "the tap's report of it read"),
    ("accepted", "its response status read"),
    ("page_first_text", "the first answer text in the page (tap's clock)"),
    ("first_delta", "the first delta decoded"),
    ("first_chunk", "the first SSE chunk written"),
)


class PhaseLog(logging.Handler):
    """The timelines `browser.timing` logs, one per streamed request (server thread)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.timelines: list[dict[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        phases = getattr(record, "phases", None)
        if phases:
            self.timelines.append(phases)

    def take(self) -> list[dict[str, float]]:
        taken, self.timelines = self.timelines, []
        return taken


def breakdown(timelines: list[dict[str, float]], client_ttfts: list[float]) -> str:
    """Median step of each phase (from the phase before it in that request) and its end."""
    lines = []
    for index, (phase, what) in enumerate(PHASES):
        steps, ends = [], []
        for line in timelines:
            if phase not in line:
                continue
            before = [line[p] for p, _ in PHASES[:index] if p in line] or [line[timing.REQUEST]]
            steps.append(line[phase] - before[-1])
            ends.append(line[phase] - line[timing.REQUEST])
        if steps:
            step, end = statistics.median(steps), statistics.median(ends)
            lines.append(f"    {what:<54}{step:>+8.0f}{end:>8.0f}")
    served = [line["first_chunk"] - line[timing.REQUEST] for line in timelines]
    if served and client_ttfts:
        http = statistics.median(client_ttfts) * 1000 - statistics.median(served)
        lines.append(f"    {'HTTP and the client (client TTFT - first chunk)':<54}{http:>+8.0f}")
    header = f"    {'phase (N=' + str(len(timelines)) + '), ms':<54}{'step':>8}{'at':>8}"
    return "\n".join([header, *lines])


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


async def latency(
    client: openai.AsyncOpenAI,
    count: int,
    page_ms: float,
    phases: PhaseLog | None,
    parallel: bool = True,
) -> None:
    print(f"\n{'TTFT through the API':<26}{'N':>4}{'median':>10}{'p90':>10}{'vs page':>12}  (ms)")

    def show(name: str, ttfts: list[float]) -> None:
        print(_row(name, ttfts, page_ms))
        if phases is not None:
            # A follow-up row's timelines include the new chat each one starts from.
            print(breakdown(phases.take()[-len(ttfts) :], ttfts))

    if phases is not None:
        phases.take()  # the warm-up's
    show("new chat, 1 client", await new_chats(client, count))
    show("follow-up, 1 client", await follow_ups(client, count))
    for name, run in (("new chat", new_chats), ("follow-up", follow_ups)) * parallel:
        results = await asyncio.gather(*(run(client, count) for _ in range(3)))
        show(f"{name}, 3 clients/3 tabs", [t for r in results for t in r])


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
    phases = PhaseLog() if args.breakdown else None
    if phases is not None:
        timing.logger.addHandler(phases)
        timing.logger.setLevel(logging.DEBUG)
        timing.logger.propagate = False  # the marks are read here, not printed
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
                await latency(client, args.requests, page_ms, phases, "parallel" not in args.skip)
                if "throughput" not in args.skip:
                    await throughput(client, server, args.per_client)
                server.services.bridge.pacer.interval = 0  # type: ignore[attr-defined]
                if "slack" not in args.skip:
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
    parser.add_argument("--person-chats", type=int, default=5, help="the person's new chats")
    parser.add_argument("--browser", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--breakdown", action="store_true", help="median of each phase")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["parallel", "throughput", "slack"]
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
