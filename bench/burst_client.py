"""POST a burst of requests at once and print the response times (JSON, seconds).

Run by `bench_slack_ack` as a process of its own: Slack's deliveries come from elsewhere,
and a client in the server's process would share its interpreter lock, so the client's own
work would be timed as the bridge's. Reads `{"url", "posts": [{"body", "headers"}], "client"}`
on stdin; the first post warms the server up and is not reported.

Slack's deliveries also come from many machines, each waiting for its own answer. One client
process sending fifty at once is a single loop that must itself get through every request
and response, and what it spends on the others lands in each time it reports. httpx spends
about a millisecond of its own per request: against a server that answers at once, on the
2-core machine of the README's figures, fifty requests through httpx measured p99 58-100 ms,
through bare sockets 19-23 ms. So the default client (`raw`) writes each request, prebuilt,
on a new connection and reads the answer back with nothing in between, and `httpx` stays to
compare with.

    python -m bench.burst_client < burst.json
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

Post = Callable[[dict[str, Any]], Awaitable[float]]


def _raw_poster(url: str) -> Post:
    """Each post on a connection of its own (`Connection: close`), timed to its last byte."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    start_line = f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"

    async def post(request: dict[str, Any]) -> float:
        body = request["body"].encode()
        headers = {**request["headers"], "Content-Length": str(len(body)), "Connection": "close"}
        head = start_line + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        message = head.encode() + b"\r\n" + body
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(message)
            status = await reader.readline()
            await reader.read()  # the rest, up to the server's close
        finally:
            writer.close()
        elapsed = time.perf_counter() - started
        code = status.split(b" ")[1:2]
        if not code or not code[0].startswith(b"2"):
            raise RuntimeError(f"the server answered {status.decode(errors='replace').strip()}")
        return elapsed

    return post


def _httpx_poster(client: httpx.AsyncClient, url: str) -> Post:
    async def post(request: dict[str, Any]) -> float:
        started = time.perf_counter()
        response = await client.post(url, content=request["body"], headers=request["headers"])
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed

    return post


async def _timed(post: Post, posts: list[dict[str, Any]]) -> dict[str, Any]:
    await post(posts[0])
    started = time.perf_counter()
    acks = await asyncio.gather(*(post(request) for request in posts[1:]))
    return {"acks": acks, "all": time.perf_counter() - started}


async def burst(url: str, posts: list[dict[str, Any]], client: str = "raw") -> dict[str, Any]:
    """Each response time of the burst, and the whole burst's."""
    if client == "raw":
        return await _timed(_raw_poster(url), posts)
    limits = httpx.Limits(max_connections=len(posts) + 1)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        return await _timed(_httpx_poster(http, url), posts)


def main() -> None:
    request = json.load(sys.stdin)
    result = burst(request["url"], request["posts"], request.get("client", "raw"))
    print(json.dumps(asyncio.run(result)))


if __name__ == "__main__":
    main()
