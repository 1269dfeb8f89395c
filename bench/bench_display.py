"""What the virtual display costs: start-up time and time to first token, headless vs Xvfb.

On a server the bridge runs the browser headed on a virtual display (Xvfb) because
chatgpt.com challenges headless browsers. A headed browser draws its window (in software,
on Xvfb) and Xvfb itself has to start, so this measures, against the replica at a fixed
token rate, for each mode: the time from `BrowserBridge.start()` to a ready bridge (the
browser launched, ChatGPT loaded, the state checked) and, over a few questions, the time
from `ask()` to the first delta.

    .venv/bin/python bench/bench_display.py [--executable /usr/bin/chromium] [--questions 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from app.config import Settings
from browser import BrowserBridge
from replica import ReplicaOptions, ReplicaServer

TOKEN_RATE = {"ttft_ms": 300, "chunk_delay_ms": 25, "chunk_chars": 8}


async def measure(
    url: str, executable: str, headless: bool, questions: int
) -> tuple[float, list[float]]:
    settings = Settings(
        _env_file=None,
        chatgpt_url=url,
        browser_executable=executable,
        browser_headless=True if headless else None,
        data_dir=Path(tempfile.mkdtemp(prefix="bench-display-")),
    )
    bridge = BrowserBridge(settings)
    started = time.monotonic()
    await bridge.start()
    startup = time.monotonic() - started
    firsts: list[float] = []
    try:
        for n in range(questions):
            asked = time.monotonic()
            async with bridge.ask(f"Display benchmark {n} words:40") as turn:
                async for _delta in turn:
                    firsts.append(time.monotonic() - asked)
                    break
                await turn.read()
    finally:
        await bridge.stop()
    return startup, firsts


async def main(executable: str, questions: int) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        os.environ.pop(name, None)  # a server: the bridge has to make its own screen
    server = ReplicaServer(ReplicaOptions(auto_login=True, **TOKEN_RATE)).start()
    try:
        print(f"replica token rate: {TOKEN_RATE}; {questions} questions per mode\n")
        print("| mode | start-up (s) | time to first delta, median (ms) | min | max |")
        print("|---|---:|---:|---:|---:|")
        for label, headless in (("headless", True), ("headed on Xvfb", False)):
            startup, firsts = await measure(server.url, executable, headless, questions)
            ms = [value * 1000 for value in firsts]
            print(
                f"| {label} | {startup:.2f} | {statistics.median(ms):.0f} | {min(ms):.0f} |"
                f" {max(ms):.0f} |",
                flush=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executable", default="/usr/bin/chromium")
    parser.add_argument("--questions", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.executable, arguments.questions))
