"""Benchmark the OpenAI-compatible API against the replica, in real Chromium.

Prints two tables:
- latency: time to first token and total time of one answer, measured on the replica's own
  conversation endpoint (what the web app itself would see), through the API streaming,
  and through the API non-streaming; the difference is the bridge's cost;
- throughput: answers per second and mean latency with 1, 3 and 10 concurrent clients
  (the app has BRIDGE_MAX_TABS tabs, 3 by default).

    .venv/bin/python -m bench.bench_api [--requests 5] [--words 60] [--tabs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai

from app.config import Settings
from browser.decoder import StreamDecoder
from replica import ReplicaOptions, ReplicaServer
from tests.fixtures.app_server import AppServer


@dataclass
class Timing:
    first_token: float | None
    total: float


def _prompt(words: int) -> str:
    return f"benchmark {uuid.uuid4().hex[:8]} words:{words}"


async def replica_direct(replica_url: str, words: int) -> Timing:
    """One answer straight from the replica's conversation endpoint, no browser involved."""
    async with httpx.AsyncClient(base_url=replica_url, timeout=120) as http:
        token = (await http.get("/api/auth/session")).json()["accessToken"]
        body = {
            "action": "next",
            "messages": [
                {
                    "id": str(uuid.uuid4()),
                    "author": {"role": "user"},
                    "content": {"content_type": "text", "parts": [_prompt(words)]},
                }
            ],
            "model": "auto",
            "history_and_training_disabled": True,
            "supported_encodings": ["v1"],
        }
        decoder = StreamDecoder()
        first: float | None = None
        start = time.perf_counter()
        async with http.stream(
            "POST",
            "/backend-api/f/conversation",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            async for text in response.aiter_text():
                if decoder.feed(text) and first is None:
                    first = time.perf_counter() - start
        return Timing(first, time.perf_counter() - start)


async def api_streaming(client: openai.AsyncOpenAI, words: int) -> Timing:
    first: float | None = None
    start = time.perf_counter()
    stream = await client.chat.completions.create(
        model="auto", messages=[{"role": "user", "content": _prompt(words)}], stream=True
    )
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
    return Timing(first, time.perf_counter() - start)


async def api_plain(client: openai.AsyncOpenAI, words: int) -> Timing:
    start = time.perf_counter()
    await client.chat.completions.create(
        model="auto", messages=[{"role": "user", "content": _prompt(words)}]
    )
    return Timing(None, time.perf_counter() - start)


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered) * 1000:7.0f} / {p90 * 1000:7.0f}"


async def latency_table(
    replica_url: str, client: openai.AsyncOpenAI, args: argparse.Namespace
) -> None:
    rows = {
        "replica itself": [
            await replica_direct(replica_url, args.words) for _ in range(args.requests)
        ],
        "API, streaming": [await api_streaming(client, args.words) for _ in range(args.requests)],
        "API, non-streaming": [await api_plain(client, args.words) for _ in range(args.requests)],
    }
    print(
        f"\nLatency, {args.requests} sequential answers of ~{args.words} words (median / p90, ms)"
    )
    print(f"{'path':<22}{'first token':>19}{'total':>19}")
    for name, timings in rows.items():
        first = [t.first_token for t in timings if t.first_token is not None]
        print(f"{name:<22}{_ms(first):>19}{_ms([t.total for t in timings]):>19}")


async def throughput_table(client: openai.AsyncOpenAI, args: argparse.Namespace) -> None:
    print(f"\nThroughput, streaming answers of ~{args.words} words, {args.tabs} tabs")
    print(f"{'clients':>8}{'answers':>9}{'wall s':>9}{'answers/s':>11}{'mean latency ms':>17}")
    for clients in (1, 3, 10):
        per_client = max(1, args.requests * 2 // clients)

        async def one_client(answers: int) -> list[Timing]:
            return [await api_streaming(client, args.words) for _ in range(answers)]

        start = time.perf_counter()
        results = await asyncio.gather(*(one_client(per_client) for _ in range(clients)))
        wall = time.perf_counter() - start
        totals = [timing.total for timings in results for timing in timings]
        print(
            f"{clients:>8}{len(totals):>9}{wall:>9.1f}{len(totals) / wall:>11.2f}"
            f"{statistics.mean(totals) * 1000:>17.0f}"
        )


async def run(args: argparse.Namespace) -> None:
    options = ReplicaOptions(
        auto_login=True, ttft_ms=args.ttft_ms, chunk_delay_ms=args.chunk_delay_ms
    )
    replica = ReplicaServer(options).start()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            chatgpt_url=replica.url,
            browser_executable=args.browser,
            browser_headless=True,
            data_dir=Path(data_dir),
            max_tabs=args.tabs,
            max_queue=64,
            send_interval_ms=0,  # the replica has no abuse check: measure the bridge
            _env_file=None,
        )
        server = AppServer(settings)
        await asyncio.to_thread(server.start)
        try:
            client = openai.AsyncOpenAI(
                base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=300
            )
            await api_plain(client, 1)  # warm-up: model list, first tab
            print(
                f"replica timing: first token after {args.ttft_ms} ms, then 12 characters "
                f"every {args.chunk_delay_ms} ms"
            )
            await latency_table(replica.url, client, args)
            await throughput_table(client, args)
        finally:
            await asyncio.to_thread(server.stop)
            replica.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5, help="sequential answers per row")
    parser.add_argument("--words", type=int, default=60, help="lorem words per answer")
    parser.add_argument("--tabs", type=int, default=3, help="BRIDGE_MAX_TABS of the app")
    parser.add_argument("--ttft-ms", type=int, default=400, help="replica's time to first token")
    parser.add_argument("--chunk-delay-ms", type=int, default=40, help="replica's chunk delay")
    parser.add_argument("--browser", default="/usr/bin/chromium", help="Chromium executable")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
