"""How much the bridge adds on top of the page: time to first delta, total time, memory.

Runs a replica with a fixed token rate and a real headless Chromium driven by `Bridge`.
For 1, 3 and 6 parallel conversations it compares, per answer:

- page TTFT / page total: measured inside the page by the stream tap (the page's own clock,
  from its `fetch()` call to the first text chunk / the last text chunk it received), i.e.
  what the web app itself experiences;
- bridge TTFD / bridge total: when the caller's `async for` got the first delta / the end,
  on the same clock, from the same `fetch()` start.

The difference is the bridge's overhead (goal: < 50 ms to the first delta, < 5 % of the
total). "send" is what happens before the request: navigation, typing, verification.
Finally it asks 100 conversations and reports the resident memory of all Chromium processes.

    .venv/bin/python bench/bench_browser.py [--executable /usr/bin/chromium] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from app.config import Settings
from browser import Bridge, BrowserBridge
from replica import ReplicaOptions, ReplicaServer

TOKEN_RATE = {"ttft_ms": 300, "chunk_delay_ms": 25, "chunk_chars": 8}
PROMPT = "Benchmark answer number {n} words:120"


async def one(bridge: Bridge, n: int) -> dict[str, float]:
    asked = time.time() * 1000
    first = None
    async with bridge.ask(PROMPT.format(n=n)) as turn:
        async for _delta in turn:
            first = first or time.time() * 1000
    end = time.time() * 1000
    page = turn.page_timings
    start = page["request"]
    return {
        "send": start - asked,
        "page_ttft": page["first_text"] - start,
        "bridge_ttfd": (first or end) - start,
        "page_total": page["last_text"] - start,
        "bridge_total": end - start,
    }


def chromium_memory_mb(profile: Path) -> tuple[float, float]:
    """RSS and PSS (shared pages split among sharers) of the profile's browser processes."""
    rss = pss = 0
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if f"--user-data-dir={profile}" in cmdline and not any(
            a.startswith("--type=") for a in cmdline
        ):
            for member in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    info = member.memory_full_info()
                    rss += info.rss
                    pss += getattr(info, "pss", info.rss)
    return rss / 2**20, pss / 2**20


def row(parallel: int, samples: list[dict[str, float]]) -> str:
    def median(key: str) -> float:
        return statistics.median(s[key] for s in samples)

    overhead_first = median("bridge_ttfd") - median("page_ttft")
    overhead_total = median("bridge_total") - median("page_total")
    percent = 100 * overhead_total / median("page_total")
    cells = [
        f"{parallel}",
        f"{len(samples)}",
        f"{median('send'):.0f}",
        f"{median('page_ttft'):.0f}",
        f"{median('bridge_ttfd'):.0f}",
        f"{overhead_first:.1f}",
        f"{median('page_total'):.0f}",
        f"{median('bridge_total'):.0f}",
        f"{overhead_total:.1f} ({percent:.1f} %)",
    ]
    return "| " + " | ".join(cells) + " |"


async def main(executable: str, rounds: int, conversations: int) -> None:
    server = ReplicaServer(ReplicaOptions(auto_login=True, **TOKEN_RATE)).start()
    data = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    settings = Settings(
        _env_file=None,
        chatgpt_url=server.url,
        browser_executable=executable,
        browser_headless=True,
        data_dir=data,
        max_tabs=6,
        send_interval_ms=0,  # the replica has no abuse check: measure the bridge
    )
    bridge = BrowserBridge(settings)
    await bridge.start()
    try:
        await one(bridge, 0)  # warm-up: first navigation, caches
        print(f"replica token rate: {TOKEN_RATE}; medians in ms\n")
        print(
            "| parallel | answers | send (ms) | page TTFT | bridge TTFD | overhead 1st |"
            " page total | bridge total | overhead total |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for parallel in (1, 3, 6):
            samples: list[dict[str, Any]] = []
            for _ in range(rounds):
                samples += await asyncio.gather(*(one(bridge, i) for i in range(parallel)))
            print(row(parallel, samples), flush=True)
        before = chromium_memory_mb(settings.profile_dir)
        started = time.monotonic()
        for start in range(0, conversations, 3):
            await asyncio.gather(*(one(bridge, start + i) for i in range(3)))
        elapsed = time.monotonic() - started
        after = chromium_memory_mb(settings.profile_dir)
        print(
            f"\nChromium memory (all browser processes, MB): {before[1]:.0f} PSS / "
            f"{before[0]:.0f} RSS before, {after[1]:.0f} PSS / {after[0]:.0f} RSS after "
            f"{conversations} more conversations ({elapsed:.0f} s, 3 at a time); "
            f"tabs open: {bridge.stats()['tabs_total']}"
        )
    finally:
        await bridge.stop()
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executable", default="/usr/bin/chromium")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--conversations", type=int, default=100)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.executable, arguments.rounds, arguments.conversations))
