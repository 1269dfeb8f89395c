"""The optional callback when a batch ends: `BRIDGE_BATCH_WEBHOOK_URL`, signed like OpenAI's.

OpenAI signs its webhooks by the Standard Webhooks scheme, so the same receiver code works
for both: headers `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 of
HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`, where a secret written `whsec_<base64>`
is used decoded and any other secret as its UTF-8 bytes. The official `openai` package
checks it: `client.webhooks.unwrap(body, headers, secret=...)`. The body is OpenAI's event
(`batch.completed`, `batch.failed`, `batch.cancelled`, `batch.expired`, `data.id` the batch).
A delivery is tried a few times; a receiver that stays down is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from contextlib import suppress

import httpx

logger = logging.getLogger(__name__)

ATTEMPTS = 3
TIMEOUT = 10.0
BACKOFF = 2.0
"""Seconds before the second attempt; doubled before each further one."""


def signature(secret: str, webhook_id: str, timestamp: str, body: str) -> str:
    """The `webhook-signature` value for one delivery."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    signed = f"{webhook_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class Webhook:
    """Posts batch events to one URL in background tasks; `close()` waits for them briefly."""

    def __init__(self, url: str, secret: str | None) -> None:
        self._url = url
        self._secret = secret
        self._deliveries: set[asyncio.Task[None]] = set()

    def batch_ended(self, batch_id: str, status: str) -> None:
        event_id = "evt_" + uuid.uuid4().hex
        body = json.dumps(
            {
                "id": event_id,
                "object": "event",
                "type": f"batch.{status}",
                "created_at": int(time.time()),
                "data": {"id": batch_id},
            }
        )
        task = asyncio.create_task(self._deliver(event_id, body), name="batch-webhook")
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def close(self, grace: float = 5.0) -> None:
        if self._deliveries:
            _done, pending = await asyncio.wait(self._deliveries, timeout=grace)
            for task in pending:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

    async def _deliver(self, event_id: str, body: str) -> None:
        delay = BACKOFF
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            for attempt in range(1, ATTEMPTS + 1):
                timestamp = str(int(time.time()))
                headers = {
                    "content-type": "application/json",
                    "webhook-id": event_id,
                    "webhook-timestamp": timestamp,
                }
                if self._secret:
                    headers["webhook-signature"] = signature(
                        self._secret, event_id, timestamp, body
                    )
                try:
                    response = await client.post(self._url, content=body, headers=headers)
                    if response.is_success:
                        return
                    problem = f"HTTP {response.status_code}"
                except httpx.HTTPError as error:
                    problem = type(error).__name__
                logger.warning(
                    "batch webhook %s: attempt %d of %d failed (%s)",
                    event_id,
                    attempt,
                    ATTEMPTS,
                    problem,
                )
                if attempt < ATTEMPTS:
                    await asyncio.sleep(delay)
                    delay *= 2
