"""`/v1/batches` through the official `openai` package, on the FakeBridge.

Each line runs through the chat completion endpoint's own code path, from a durable queue:
these tests prove the output and error files in OpenAI's shape, the input checks, cancel,
the yield to interactive callers, the wait after a refusal, a restart that resumes the
batch and never re-asks a line that was being sent, progress in `/health` and `status`,
and the signed webhook (checked by the official package's own verifier). Every object is
validated against OpenAI's schemas. The end-to-end run on Chromium is in
test_api_batches_e2e.py.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest

from app.batches.runner import ASK_LATER
from app.db import open_database
from app.status import describe_status
from browser.errors import RateLimitedError, SendUncertainError
from browser.events import Citation
from tests.api_support import Api, StartApp, eventually, fake_app, module_fake_api, user
from tests.batch_support import (
    CHAT,
    RESPONSES,
    chat_line,
    finished,
    jsonl,
    lines_of,
    raw_batch,
    start_batch,
)
from tests.fakes.bridge import Answer, Ask, FakeBridge, echo
from tests.schemas import MORE, EventStream, parse_sse_line, validate

api = module_fake_api("batches")


async def test_a_batch_answers_each_line_as_the_endpoint_would(api: Api) -> None:
    asked = len(api.bridge.asks)
    batch = await start_batch(
        api,
        chat_line("a", "first question"),
        chat_line("b", "no such model", model="gpt-0"),
        chat_line("c", "second question", stream=True),
    )
    assert batch.status == "in_progress" and batch.request_counts.total == 3
    done = await finished(api, batch.id)
    assert done.status == "completed" and done.metadata == {"job": "t"}
    assert (done.request_counts.completed, done.request_counts.failed) == (2, 1)
    assert done.completed_at and done.in_progress_at and done.finalizing_at

    output = await lines_of(api, done.output_file_id)
    assert set(output) == {"a", "c"}
    for custom_id, prompt in (("a", "first question"), ("c", "second question")):
        response = output[custom_id]["response"]
        assert response["status_code"] == 200 and output[custom_id]["error"] is None
        assert response["body"]["object"] == "chat.completion"  # whole, even when `stream`
        assert response["body"]["choices"][0]["message"]["content"] == f"You said: {prompt}"
    errors = await lines_of(api, done.error_file_id)
    assert errors["b"]["response"]["status_code"] == 404
    assert errors["b"]["response"]["body"]["error"]["code"] == "model_not_found"

    new = api.bridge.asks[asked:]
    assert [ask.prompt for ask in new] == ["first question", "second question"]
    assert all(ask.patient for ask in new)  # stored lines wait their turn, never "busy"
    files = await api.async_client().files.retrieve(done.output_file_id or "")
    assert files.purpose == "batch_output"

    listed = [b.id async for b in api.async_client().batches.list(limit=1)]
    assert done.id in listed
    async with api.http() as http:
        validate((await http.get("/v1/batches")).json(), "ListBatchesResponse", MORE)


async def test_a_responses_batch_answers_with_response_objects(api: Api) -> None:
    asked = len(api.bridge.asks)
    api.bridge.script(Answer(error=RateLimitedError(retry_after=0.05)))  # asked again later
    line = {"custom_id": "r", "method": "POST", "url": RESPONSES}
    batch = await start_batch(
        api,
        {**line, "body": {"model": "auto", "input": "a Responses question"}},
        {**line, "custom_id": "s", "body": {"model": "auto", "input": "x", "stream": True}},
        endpoint=RESPONSES,
    )
    done = await finished(api, batch.id)
    answered = (await lines_of(api, done.output_file_id))["r"]["response"]["body"]
    validate(answered, "Response", MORE)
    assert answered["output"][0]["content"][0]["text"] == "You said: a Responses question"
    refused = (await lines_of(api, done.error_file_id))["s"]["response"]
    assert (refused["status_code"], refused["body"]["error"]["param"]) == (400, "stream")
    new = api.bridge.asks[asked:]
    assert [ask.prompt for ask in new] == ["a Responses question"] * 2 and new[0].patient


async def test_a_bad_input_file_fails_the_batch_and_asks_nothing(api: Api) -> None:
    asked = len(api.bridge.asks)
    client = api.async_client()
    bad = b'{"custom_id": "x"\n' + jsonl(
        chat_line("a", "fine"),
        chat_line("a", "repeated id"),
        {**chat_line("c", "elsewhere"), "url": "/v1/embeddings"},
        {**chat_line("d", "no body"), "body": "text"},
    )
    upload = await client.files.create(file=("bad.jsonl", bad), purpose="batch")
    batch = await client.batches.create(
        input_file_id=upload.id, endpoint=CHAT, completion_window="24h"
    )
    assert batch.status == "failed" and batch.errors is not None
    found = [(error.line, error.code) for error in batch.errors.data or []]
    assert found == [
        (1, "invalid_json_line"),
        (3, "duplicate_custom_id"),
        (4, "mismatched_endpoint"),
        (5, "invalid_body"),
    ]
    await raw_batch(api, batch.id)
    assert len(api.bridge.asks) == asked


async def test_bad_batch_requests_are_openai_errors(api: Api) -> None:
    client = api.async_client()
    notes = await client.files.create(file=("notes.txt", b"hi"), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        await client.batches.create(input_file_id=notes.id, endpoint=CHAT, completion_window="24h")
    with pytest.raises(openai.NotFoundError, match="No such File object"):
        await client.batches.create(input_file_id="file-x", endpoint=CHAT, completion_window="24h")
    with pytest.raises(openai.BadRequestError, match="cannot be batched") as refused:
        await client.batches.create(
            input_file_id=notes.id, endpoint="/v1/embeddings", completion_window="24h"
        )
    assert refused.value.body["param"] == "endpoint"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError, match="completion_window"):
        await client.batches.create(
            input_file_id=notes.id,
            endpoint=CHAT,
            completion_window="1h",  # type: ignore[arg-type]
        )
    with pytest.raises(openai.NotFoundError, match="No such Batch object"):
        await client.batches.retrieve("batch_nope")


async def test_cancel_finishes_the_line_being_asked_and_asks_no_other(api: Api) -> None:
    asked = len(api.bridge.asks)
    api.bridge.script(Answer(*["slow "] * 15, delay=0.1))  # long enough to cancel meanwhile
    batch = await start_batch(api, *(chat_line(c, f"cancel me {c}") for c in "abc"))
    await eventually(lambda: len(api.bridge.asks) > asked, "the first line asked")

    async with api.http() as http:
        report = (await http.get("/health")).json()
    progress = report["batches"]["batches"][0]
    assert (progress["id"], progress["asking"], progress["total"]) == (batch.id, 1, 3)
    assert f"batches  1 running, 3 request(s) waiting; {batch.id} 0/3 done" in describe_status(
        report
    )

    cancelling = await api.async_client().batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at
    done = await finished(api, batch.id)
    assert done.status == "cancelled" and done.cancelled_at
    assert [ask.prompt for ask in api.bridge.asks[asked:]] == ["cancel me a"]
    assert (await lines_of(api, done.output_file_id))["a"]["response"]["status_code"] == 200
    errors = await lines_of(api, done.error_file_id)
    assert {line["error"]["code"] for line in errors.values()} == {"batch_cancelled"}
    assert set(errors) == {"b", "c"}
    with pytest.raises(openai.APIStatusError, match="only a batch in progress") as late:
        await api.async_client().batches.cancel(
            (await finished(api, (await start_batch(api, chat_line("z", "q"))).id)).id
        )
    assert late.value.status_code == 409


async def test_a_refused_line_waits_and_a_maybe_delivered_one_is_never_asked_again(
    api: Api,
) -> None:
    asked = len(api.bridge.asks)
    api.bridge.script(
        Answer(error=RateLimitedError(retry_after=0.05)),  # refused at send: asked later
        Answer("ok"),
        Answer("Half", fail=SendUncertainError()),  # may sit in ChatGPT: never again
    )
    batch = await start_batch(api, chat_line("a", "limited"), chat_line("b", "uncertain"))
    done = await finished(api, batch.id)
    assert [ask.prompt for ask in api.bridge.asks[asked:]] == ["limited", "limited", "uncertain"]
    assert (await lines_of(api, done.output_file_id))["a"]["response"]["body"]["choices"][0][
        "message"
    ]["content"] == "ok"
    failed = (await lines_of(api, done.error_file_id))["b"]["response"]
    assert (failed["status_code"], failed["body"]["error"]["code"]) == (502, "send_uncertain")


async def test_batch_lines_wait_while_interactive_callers_are_served(
    start_app: StartApp, tmp_path: Path
) -> None:
    """One tab: a streaming caller holds it, a second caller waits; the batch goes last."""
    bridge = FakeBridge(tabs=1)
    bridge.script(Answer("Partial", hang=True))
    async with fake_app(start_app, tmp_path, bridge) as app:
        payload = {"model": "auto", "stream": True, "messages": [user("interactive one")]}
        async with app.http() as http, http.stream("POST", CHAT, json=payload) as response:
            stream, lines = EventStream(), response.aiter_lines()  # held: the stream stays open
            while stream.content != "Partial":
                parse_sse_line(stream, await anext(lines))
            batch = await start_batch(app, chat_line("a", "batch one"), chat_line("b", "batch two"))
            second = asyncio.create_task(
                app.async_client().chat.completions.create(
                    model="auto", messages=[user("interactive two")]
                )
            )
            await eventually(lambda: bridge.stats()["queue_length"] == 1, "the caller waits")
        # The stream is closed: its tab frees, the waiting caller is served, then the batch.
        assert (await second).choices[0].message.content == "You said: interactive two"
        assert (await finished(app, batch.id)).status == "completed"
    assert bridge.prompts == ["interactive one", "interactive two", "batch one", "batch two"]


async def test_a_restart_resumes_the_batch_and_never_reasks_the_line_being_sent(
    start_app: StartApp, tmp_path: Path
) -> None:
    def handler(ask: Ask) -> Answer:
        return Answer("Thinking", hang=True) if ask.prompt == "in flight" else echo(ask)

    first = FakeBridge(handler, tabs=1)
    async with fake_app(start_app, tmp_path, first) as app:
        batch = await start_batch(
            app, chat_line("a", "before"), chat_line("b", "in flight"), chat_line("c", "after")
        )
        await eventually(lambda: first.prompts == ["before", "in flight"], "the second line sent")
    # Stopped mid-answer: line b was being sent, c never left the queue.

    second = FakeBridge()
    async with fake_app(start_app, tmp_path, second) as app:
        done = await finished(app, batch.id)
        output = await lines_of(app, done.output_file_id)
        errors = await lines_of(app, done.error_file_id)
    assert second.prompts == ["after"]
    assert set(output) == {"a", "c"}
    assert errors["b"]["response"] is None
    assert errors["b"]["error"]["code"] == "delivery_uncertain"
    assert done.status == "completed" and done.request_counts.failed == 1


async def test_lines_left_when_the_window_ends_are_expired_errors(
    start_app: StartApp, tmp_path: Path
) -> None:
    busy = FakeBridge(tabs=0)  # never a free tab: the lines stay queued
    async with fake_app(start_app, tmp_path, busy) as app:
        batch = await start_batch(app, chat_line("a", "too late"), chat_line("b", "also"))
        database = app.server.settings.database_path
    async with open_database(database) as db:  # a day later, as far as the batch knows
        await db.write("UPDATE batches SET expires_at = 0 WHERE id = ?", (batch.id,))

    async with fake_app(start_app, tmp_path, FakeBridge()) as app:
        done = await finished(app, batch.id)
        errors = await lines_of(app, done.error_file_id)
    assert done.status == "expired" and done.expired_at and done.output_file_id is None
    assert {line["error"]["code"] for line in errors.values()} == {"batch_expired"}
    assert busy.prompts == []


Posted = list[tuple[bytes, dict[str, str]]]


@pytest.fixture
def receiver() -> Iterator[tuple[str, Posted]]:
    """A real HTTP endpoint on loopback that records what it is posted."""
    received: Posted = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((body, dict(self.headers.items())))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


async def test_the_webhook_is_signed_as_openai_signs_its_own(
    start_app: StartApp, tmp_path: Path, receiver: tuple[str, Posted]
) -> None:
    url, received = receiver
    secret = "whsec_" + base64.b64encode(b"a secret of the bridge").decode()
    async with fake_app(
        start_app,
        tmp_path,
        FakeBridge(),
        batch_webhook_url=url,
        batch_webhook_secret=secret,
    ) as app:
        batch = await start_batch(app, chat_line("a", "tell me when done"))
        assert (await finished(app, batch.id)).status == "completed"
        await eventually(lambda: len(received) == 1, "the webhook called")
    body, headers = received[0]
    event = openai.OpenAI(api_key="unused").webhooks.unwrap(body, headers, secret=secret)
    assert (event.type, event.data.id) == ("batch.completed", batch.id)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        openai.OpenAI(api_key="unused").webhooks.unwrap(body, headers, secret="whsec_b3RoZXI=")


async def test_batch_lines_carry_the_citations_the_endpoints_return(api: Api) -> None:
    url, title, link = "https://s.example/a", "Source A", "[Source A](https://s.example/a)"
    cited = {"url": url, "title": title, "start_index": 6, "end_index": 6 + len(link)}
    searched = Answer(f"Fact ({link}).", events=(Citation(url, title),))
    api.bridge.script(searched, searched)
    chat = await finished(
        api, (await start_batch(api, chat_line("c", "x", model="auto:search"))).id
    )
    body = (await lines_of(api, chat.output_file_id))["c"]["response"]["body"]
    assert body["choices"][0]["message"]["annotations"] == [
        {"type": "url_citation", "url_citation": cited}
    ]
    body = {"model": "auto", "input": "x", "tools": [{"type": "web_search"}]}
    line = {"custom_id": "r", "method": "POST", "url": RESPONSES, "body": body}
    batch = await start_batch(api, line, endpoint=RESPONSES)
    done = await finished(api, batch.id)
    body = (await lines_of(api, done.output_file_id))["r"]["response"]["body"]
    assert body["output"][0]["content"][0]["annotations"] == [{"type": "url_citation", **cited}]


async def test_every_refusal_the_runner_waits_out_is_asked_again(api: Api) -> None:
    """The runner's own list (`ASK_LATER`): each of them, refused before anything was sent,
    leaves the line queued, and the line is answered once the refusal passed."""
    asked = len(api.bridge.asks)
    refusals = [kind("Refused before sending.") for kind in ASK_LATER]
    for refusal in refusals:
        assert refusal.delivered is False
        refusal.retry_after = 0.01  # ChatGPT's own wait: the test need not sit out the backoff
    api.bridge.script(*(Answer(error=refusal) for refusal in refusals))
    lines = [chat_line(f"l{i}", f"line {i}") for i in range(len(refusals))]
    done = await finished(api, (await start_batch(api, *lines)).id)
    assert (done.request_counts.completed, done.request_counts.failed) == (len(lines), 0)
    assert len(api.bridge.asks) - asked == 2 * len(lines)  # each refused once, then answered
