"""What the batch tests share: JSONL input, starting a batch, waiting for its end, reading
its output files (tests/test_api_batches.py on the FakeBridge, *_e2e.py on Chromium)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openai.types import Batch

from tests.api_support import Api, user
from tests.schemas import MORE, validate

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
OVER = ("completed", "failed", "cancelled", "expired")


def jsonl(*lines: dict[str, Any]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def chat_line(custom_id: str, prompt: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {"model": "auto", "messages": [user(prompt)], **body},
    }


async def start_batch(api: Api, *lines: dict[str, Any], endpoint: Any = CHAT) -> Batch:
    client = api.async_client()
    upload = await client.files.create(file=("input.jsonl", jsonl(*lines)), purpose="batch")
    return await client.batches.create(
        input_file_id=upload.id, endpoint=endpoint, completion_window="24h", metadata={"job": "t"}
    )


async def raw_batch(api: Api, batch_id: str) -> dict[str, Any]:
    async with api.http() as http:
        body = (await http.get(f"/v1/batches/{batch_id}")).json()
    validate(body, "Batch", MORE)
    return body


async def finished(api: Api, batch_id: str) -> Batch:
    """The batch once it is over (validated raw), waiting for the worker as long as needed."""
    # One client for every poll: a client per poll leaves a connection open each time.
    async with api.async_client() as client:
        for _ in range(600):
            batch = await client.batches.retrieve(batch_id)
            if batch.status in OVER:
                await raw_batch(api, batch_id)
                return batch
            await asyncio.sleep(0.05)
    raise AssertionError(f"batch {batch_id} never ended")


async def lines_of(api: Api, file_id: str | None) -> dict[str, dict[str, Any]]:
    """An output or error file's lines by custom_id."""
    assert file_id is not None
    content = await api.async_client().files.content(file_id)
    lines = [json.loads(line) for line in content.text.splitlines()]
    return {line["custom_id"]: line for line in lines}
