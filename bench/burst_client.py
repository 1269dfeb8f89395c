"""POST a burst of requests at once and print the response times (JSON, seconds).

Run by `bench_slack_ack` as a process of its own: Slack's deliveries come from elsewhere,
and a client in the server's process would share its interpreter lock, so the client's own
work would be timed as the bridge's. Reads `{"url", "posts": [{"body", "headers"}]}` on
stdin; the first post warms the connection up and is not reported.

    python -m bench.burst_client < burst.json
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx


async def _post(client: httpx.AsyncClient, url: str, post: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = await client.post(url, content=post["body"], headers=post["headers"])
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


async def burst(url: str, posts: list[dict[str, Any]]) -> dict[str, Any]:
    """Each response time of the burst, and the whole burst's."""
    limits = httpx.Limits(max_connections=len(posts) + 1)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await _post(client, url, posts[0])
        started = time.perf_counter()
        acks = await asyncio.gather(*(_post(client, url, post) for post in posts[1:]))
        return {"acks": acks, "all": time.perf_counter() - started}


def main() -> None:
    request = json.load(sys.stdin)
    print(json.dumps(asyncio.run(burst(request["url"], request["posts"]))))


if __name__ == "__main__":
    main()
