"""A batch end to end: the official SDK -> /v1/files and /v1/batches -> real Chromium -> the
replica. Each line's answer is compared with the replica's deterministic model, and the
replica's own records prove every line was typed exactly once. The batch's own behaviour
(queue, restart, cancel, yielding, webhook) is tested on the FakeBridge in test_api_batches.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from replica.model import answer
from tests.api_support import Api, module_api, unique, user
from tests.batch_support import finished, jsonl, lines_of
from tests.schemas import MORE, validate

pytestmark = pytest.mark.browser

api = module_api("batches-e2e")


async def test_a_batch_is_answered_by_chatgpt_one_line_each(api: Api, replica: Any) -> None:
    before = len(await replica.sends())
    prompts = {"one": unique("batch line one"), "two": unique("batch line two")}
    lines = [
        {
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "auto", "messages": [user(prompt)]},
        }
        for custom_id, prompt in prompts.items()
    ]
    client = api.async_client()
    upload = await client.files.create(file=("batch.jsonl", jsonl(*lines)), purpose="batch")
    batch = await client.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = await finished(api, batch.id)
    assert (done.status, done.request_counts.completed, done.error_file_id) == (
        "completed",
        2,
        None,
    )
    output = await lines_of(api, done.output_file_id)
    for custom_id, prompt in prompts.items():
        body = output[custom_id]["response"]["body"]
        validate(body, "CreateChatCompletionResponse")
        assert body["choices"][0]["message"]["content"] == answer(prompt, "auto", 1)
    sent = [send["prompt"] for send in (await replica.sends())[before:]]
    assert sorted(sent) == sorted(prompts.values())
    async with api.http() as http:
        validate((await http.get(f"/v1/batches/{batch.id}")).json(), "Batch", MORE)
