"""Server-sent events for `stream: true`, framed the way OpenAI's SDKs parse them.

One `data: <one-line JSON>` event per chunk, `: keep-alive` comments while ChatGPT is
silent (thinking models can pause for a minute; proxies drop idle connections), exactly one
chunk with a finish_reason, and `data: [DONE]` at the end of every stream, also after an
error event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from app.api.completions import CompletionJob
from app.api.errors import api_error_from
from app.api.tool_calls import ToolCall
from browser import timing

logger = logging.getLogger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE_INTERVAL = 10.0
KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"


def sse(data: dict[str, Any]) -> bytes:
    return (
        b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    )


async def event_stream(job: CompletionJob) -> AsyncIterator[bytes]:
    """The whole stream of one job. Leaving it early (the client went away) stops the turn."""
    completion = job.identity()
    try:
        try:
            yield sse(completion.chunk({"role": "assistant", "content": ""}))
            calls = 0
            async for piece in job.pieces(KEEPALIVE_INTERVAL):
                if piece is None:
                    yield KEEPALIVE
                elif isinstance(piece, ToolCall):
                    for chunk in completion.tool_call_chunks(calls, piece):
                        yield sse(chunk)
                    calls += 1
                else:
                    timing.report("first_chunk")  # once: the timeline ends with it
                    yield sse(completion.chunk({"content": piece}))
            result = await job.finish()
            if result.annotations:
                yield sse(completion.annotations_chunk(result.annotations))
            yield sse(completion.chunk({}, result.finish_reason))
            if completion.include_usage:
                yield sse(completion.usage_chunk(result.usage))
        except Exception as error:
            api_error = api_error_from(error)
            logger.info("%s: stream ended by an error: %s", job.id, api_error.code)
            yield sse(api_error.body())
        yield DONE
    finally:
        job.close()
