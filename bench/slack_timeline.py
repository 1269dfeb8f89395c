"""A Slack answer's time from the event's arrival to its first text, step by step.

`bench_speed` POSTs one signed event at a time to the running app and watches the thread of
the fake Slack; meanwhile a logging handler collects the Slack layer's own step records
(`slackbot/phases.py`, debug records the app in this process emits). Each answer gives one
timeline; the report prints the median and p95 of the whole and the median of every step, so
the slow one shows.

"First text" is what the page's own measure counts (`bench/person.py`: the first answer
text on screen): any character of the answer in the thread. "First line" waits for the
replica's whole first line (`Model: …`), which ChatGPT streams in a few deltas.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from slackbot import phases
from tests.fixtures.app_server import AppServer
from tests.fixtures.slack_api import (
    HEADER,
    FakeSlack,
    SlackEvents,
    event_body,
    finished,
    message_event,
    wait_for,
)

STEPS = (  # in order; `opened` runs beside `asking` .. `first delta`
    phases.RECEIVED,
    phases.STORED,
    phases.DISPATCHED,
    phases.ACCEPTED,
    phases.ASKING,
    phases.TAB,
    phases.FIRST_DELTA,
    phases.FIRST_TEXT,
)


@dataclass
class _Timeline:
    """One answer: the wall-clock second each step was reached."""

    arrived: float
    acked: float = 0.0
    visible: float = 0.0
    first_line: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)


class _Collector(logging.Handler):
    """Keeps the step records of the answer being timed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.current: _Timeline | None = None

    def emit(self, record: logging.LogRecord) -> None:
        phase = getattr(record, "phase", None)
        if self.current is not None and isinstance(phase, str):
            self.current.steps.setdefault(phase, record.created)


def _answer_text(slack: FakeSlack, channel: str, thread: str) -> bool:
    return any(message.text.strip() for message in slack.answers(channel, thread))


async def _time_one(
    client: httpx.AsyncClient,
    events: SlackEvents,
    slack: FakeSlack,
    collector: _Collector,
    channel: str,
    prompt: str,
) -> _Timeline:
    event = message_event(prompt, channel=channel)
    thread = event["ts"]
    body = json.dumps(event_body(event))
    headers = events.headers(body, **{"Content-Type": "application/json"})
    timeline = collector.current = _Timeline(arrived=time.time())
    (await client.post(events.url, content=body, headers=headers)).raise_for_status()
    timeline.acked = time.time()
    await _until(lambda: _answer_text(slack, channel, thread))
    timeline.visible = time.time()
    await _until(lambda: _first_line(slack, channel, thread))
    timeline.first_line = time.time()
    await wait_for(lambda: finished(slack, channel, thread), timeout=120)
    return timeline


async def _until(seen: Callable[[], bool]) -> None:
    """Poll the fake Slack often: the poll's period is part of what is measured."""
    await wait_for(seen, timeout=120, interval=0.005)


def _first_line(slack: FakeSlack, channel: str, thread: str) -> bool:
    return any(HEADER.search(message.text) for message in slack.answers(channel, thread))


async def time_answers(
    server: AppServer, slack: FakeSlack, channel: str, prompts: list[str]
) -> list[_Timeline]:
    """Ask each prompt in a new thread, one after the other; their timelines."""
    events = SlackEvents(server.url)
    collector = _Collector()
    logger = logging.getLogger(phases.__name__)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(collector)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # collected, not printed
    timelines = []
    try:
        # One client for every POST, as Slack keeps its connections: creating one per event
        # (an SSL context, a pool) would be timed as the bridge's.
        async with httpx.AsyncClient(timeout=60) as client:
            for prompt in prompts:
                timelines.append(await _time_one(client, events, slack, collector, channel, prompt))
    finally:
        collector.current = None
        logger.removeHandler(collector)
        logger.setLevel(level)
        logger.propagate = propagate
    return timelines


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:6.0f} ms, p95 {p95 * 1000:6.0f} ms"


def report(timelines: list[_Timeline], page_ms: float) -> None:
    """The whole (vs the page's own first token) and where it went, step by step."""
    visible = [t.visible - t.arrived for t in timelines]
    median = statistics.median(visible) * 1000
    print(f"Slack, 1 thread at a time (N={len(timelines)}), from the event's arrival:")
    print(f"  first text visible  {_ms(visible)}   ({median - page_ms:+.0f} ms vs the page's own)")
    print(f"  first line visible  {_ms([t.first_line - t.arrived for t in timelines])}")
    print(f"  ack received        {_ms([t.acked - t.arrived for t in timelines])}")
    print("  step by step (median ms since the step before; the first since the arrival):")
    previous = "arrival"
    for step in (*STEPS, "visible"):
        median = _median_gap(timelines, previous, step)
        if median is not None:
            print(f"    {previous:>12} -> {step:<12} {median * 1000:7.1f}")
            previous = step
    opened = _median_gap(timelines, phases.ACCEPTED, phases.OPENED)
    if opened is not None:
        print(
            f"    {phases.ACCEPTED:>12} -> {phases.OPENED:<12} {opened * 1000:7.1f}"
            "   (beside the ask: the status, the Stop button)"
        )


def _median_gap(timelines: list[_Timeline], start: str, end: str) -> float | None:
    """Median seconds from `start` to `end` over the timelines that reached both."""
    gaps = [gap for t in timelines if (gap := _gap(t, start, end)) is not None]
    return statistics.median(gaps) if gaps else None


def _gap(timeline: _Timeline, start: str, end: str) -> float | None:
    marks = {**timeline.steps, "arrival": timeline.arrived, "visible": timeline.visible}
    if start not in marks or end not in marks:
        return None
    return marks[end] - marks[start]
