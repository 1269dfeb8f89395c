"""The Responses stream: every change to a response as the event OpenAI sends for it.

A text answer is `response.created`, `response.in_progress`, `response.output_item.added`
(the message), `response.content_part.added`, `response.output_text.delta` per piece,
`response.output_text.annotation.added` per cited link (a searched answer, once its text
is whole: `app/api/citations.py`), `response.output_text.done`, `response.content_part.done`,
`response.output_item.done`, then `response.completed` (or `response.incomplete` when
`max_output_tokens` cut it). A function call is an item of its own with
`response.function_call_arguments.delta` / `.done`. A failure is an `error` event (the
bridge's own code) and `response.failed`. Each event has the next `sequence_number`, from
0, and the terminal one carries the whole response.

The message item opens with its first text, so an answer that is only tool calls has no
empty message in front of them, as with OpenAI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from app.api.citations import UrlCitation, url_citations
from app.api.errors import APIError
from app.api.responses_api.bodies import (
    ItemStatus,
    ResponseState,
    function_call_item,
    message_item,
    response_error,
    text_part,
)
from app.api.responses_api.items import new_id
from app.api.usage import Usage
from browser.events import Citation

Event = dict[str, Any]


def frame(event: Event) -> bytes:
    """One server-sent event, named by its type like OpenAI's (`event:` then `data:`)."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


class ResponseWriter:
    """Applies an answer to a `ResponseState` and emits the events that say so, in order."""

    def __init__(self, state: ResponseState, emit: Callable[[Event], None]) -> None:
        self.state = state
        self._emit = emit
        self._sequence = 0
        self._message: int | None = None
        """The output index of the open message item, while text streams into it."""
        self._text = ""
        self._annotations: tuple[UrlCitation, ...] = ()

    @property
    def text(self) -> str:
        return self._text

    def begin(self) -> None:
        self._send("response.created", response=self.state.body())

    def start(self) -> None:
        self.state.status = "in_progress"
        self._send("response.in_progress", response=self.state.body())

    def add_text(self, delta: str) -> None:
        index = self._open_message()
        self._text += delta
        self._set_message(index, "in_progress")
        self._send("response.output_text.delta", **self._part(index), delta=delta, logprobs=[])

    def add_function_call(self, call_id: str, name: str, arguments: str) -> None:
        self._close_message("completed")
        index = len(self.state.output)
        item_id = new_id("fc")
        self.state.output.append(function_call_item(item_id, call_id, name, "", "in_progress"))
        self._send("response.output_item.added", output_index=index, item=self.state.output[index])
        common = {"item_id": item_id, "output_index": index}
        self._send("response.function_call_arguments.delta", **common, delta=arguments)
        self._send(
            "response.function_call_arguments.done", **common, name=name, arguments=arguments
        )
        self.state.output[index] = function_call_item(
            item_id, call_id, name, arguments, "completed"
        )
        self._send("response.output_item.done", output_index=index, item=self.state.output[index])

    def complete(self, usage: Usage, *, cut_by_limit: bool, cited: Sequence[Citation] = ()) -> None:
        """The answer is whole (`cut_by_limit`: `max_output_tokens` ended it); `cited`: the
        sources ChatGPT cited, annotated where the text links them."""
        if not self.state.output:
            self._open_message()
        self._annotate(url_citations(self._text, cited))
        self._close_message("incomplete" if cut_by_limit else "completed")
        self.state.usage = usage
        if cut_by_limit:
            self.state.incomplete_reason = "max_output_tokens"
            self.state.end("incomplete")
            self._send("response.incomplete", response=self.state.body())
        else:
            self.state.end("completed")
            self._send("response.completed", response=self.state.body())

    def fail(self, error: APIError) -> None:
        self._close_message("incomplete")
        self.state.error = response_error(error)
        self.state.end("failed")
        self._send("error", code=error.code or error.type, message=error.message, param=error.param)
        self._send("response.failed", response=self.state.body())

    def cancel(self) -> None:
        """Stopped by `POST /v1/responses/{id}/cancel` (or the client leaving)."""
        self._close_message("incomplete")
        self.state.end("cancelled")
        self._send("response.failed", response=self.state.body())

    def _annotate(self, annotations: tuple[UrlCitation, ...]) -> None:
        index = self._message
        if index is None:
            return  # the text's message was closed by a call after it: nothing to place
        self._annotations = annotations
        self._set_message(index, "in_progress")
        for number, annotation in enumerate(annotations):
            self._send(
                "response.output_text.annotation.added",
                **self._part(index),
                annotation_index=number,
                annotation=annotation.as_response(),
            )

    def _open_message(self) -> int:
        if self._message is None:
            index = self._message = len(self.state.output)
            item_id = new_id("msg")
            self.state.output.append(message_item(item_id, None, "in_progress"))
            self._send(
                "response.output_item.added", output_index=index, item=self.state.output[index]
            )
            self._set_message(index, "in_progress")
            self._send("response.content_part.added", **self._part(index), part=text_part(""))
        return self._message

    def _close_message(self, status: ItemStatus) -> None:
        index, self._message = self._message, None
        if index is None:
            return
        common = self._part(index)
        self._send("response.output_text.done", **common, text=self._text, logprobs=[])
        part = text_part(self._text, self._annotations)
        self._send("response.content_part.done", **common, part=part)
        self._set_message(index, status)
        self._send("response.output_item.done", output_index=index, item=self.state.output[index])

    def _set_message(self, index: int, status: ItemStatus) -> None:
        self.state.output[index] = message_item(
            self._item_id(index), self._text, status, self._annotations
        )

    def _part(self, index: int) -> dict[str, Any]:
        """The fields that name the text part of the message at `index` in its events."""
        return {"item_id": self._item_id(index), "output_index": index, "content_index": 0}

    def _item_id(self, index: int) -> str:
        return str(self.state.output[index]["id"])

    def _send(self, kind: str, **fields: Any) -> None:
        self._emit({"type": kind, "sequence_number": self._sequence, **fields})
        self._sequence += 1
