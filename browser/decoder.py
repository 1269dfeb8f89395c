"""The stream inbox: chatgpt.com's conversation stream(s) -> the answer and typed events.

A turn may reach us as several streams: the front end can POST the same turn twice (an
aborted attempt, then one that succeeds [K1]), a long turn hands off (`stream_handoff`) to a
resume endpoint or a WebSocket topic whose items (`encoded_item`) carry the same frames, and
catch-up replays repeat items. Each source keeps its own SSE framing and carry-over cursor;
each POST is an `Attempt`; the answer is read from the attempt whose `input_message` is our
prompt (and that finished, when two did). A new `delta_encoding` event inside one body means
a new attempt: that is how a saved body of a retried POST looks.

The answer is the final-channel assistant text after our prompt: hidden system/context
messages, reasoning, tool calls and echoed older messages never count, and "a message
finished" alone is never "the answer finished". Older streams send every event as the full
cumulative root ("legacy"); they feed the same model.

[K1] k1liang/ChatGPT-Web2API `docs/send-post-stream-protocol.md` and its captures (2026-09).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from browser.events import ModelUsed, Title, TurnEvent
from browser.stream import messages as msgs
from browser.stream.attempt import Attempt, Cursor, error_text
from browser.stream.messages import finished, is_answer, message_text
from browser.stream.sse import SSEParser

__all__ = ["SSEParser", "StreamDecoder", "StreamState", "finished", "is_answer", "message_text"]

logger = logging.getLogger(__name__)

FINISH_REASONS = {"stop": "stop", "max_tokens": "length", "interrupted": "cancelled"}
MAIN = "main"


@dataclass
class StreamState:
    """What the streams have said so far. Read it after each `feed`."""

    conversation_id: str | None = None
    user_message_id: str | None = None
    answer_message_id: str | None = None
    model: str | None = None
    title: str | None = None
    text: str = ""
    status: str | None = None
    end_turn: bool | None = None
    finish_type: str | None = None
    error: str | None = None
    stream_complete: bool = False
    """`message_stream_complete` or `[DONE]` arrived on the chosen attempt."""
    ended: bool = False
    """The HTTP body ended (normally or not)."""
    handoff: bool = False
    """The rest of the stream moved elsewhere (`stream_handoff`)."""
    async_turn: bool = False
    """An image/async turn (`conversation_async_status`): its result is read back later."""
    rewritten: bool = False
    """Already-emitted text was changed by the stream (truncate/replace): deltas diverge."""

    @property
    def answer_finished(self) -> bool:
        return finished(self.status, self.end_turn)

    @property
    def done(self) -> bool:
        """Terminal: the answer finished and the stream said so, or the stream failed."""
        if self.error is not None:
            return True
        return self.answer_finished and self.stream_complete

    @property
    def finish_reason(self) -> str | None:
        if self.finish_type in FINISH_REASONS:
            return FINISH_REASONS[self.finish_type]
        if self.status == "finished_partial_completion":
            return "cancelled"
        if self.status == "finished_successfully":
            return "stop"
        return None


@dataclass
class _Source:
    """One byte stream (an HTTP body, a WebSocket topic) feeding one attempt at a time."""

    attempt: Attempt
    sse: SSEParser = field(default_factory=SSEParser)
    cursor: Cursor = field(default_factory=Cursor)
    framed: bool = False
    """A frame arrived since the last `delta_encoding`: another one starts a new attempt."""
    handed_off: bool = False
    """This body said `stream_handoff`: its own end (`[DONE]`) is not the turn's."""


class StreamDecoder:
    """Stateful decoder of one turn. `feed` returns the new answer text.

    `user_message_id`, when known, is our prompt's id: it picks the attempt to read.
    """

    def __init__(self, user_message_id: str | None = None) -> None:
        self.state = StreamState()
        self._prompt_id = user_message_id
        self._attempts: list[Attempt] = []
        self._sources: dict[str, _Source] = {}
        self._ws_items: set[str] = set()
        self._events: list[TurnEvent] = []
        self._model: ModelUsed | None = None
        self._cited: set[str] = set()

    def feed(self, text: str, stream: str = MAIN, resume: bool = False) -> str:
        """Feed a chunk of the body `stream`; `resume` marks a continuation of a handoff."""
        before = self.state.text
        source = self._source(stream, resume)
        for event, data in source.sse.feed(text):
            self._event(source, event, data)
        return self._refresh(before)

    def feed_ws(self, item: dict[str, Any]) -> str:
        """Feed one WebSocket message of a handed-off turn; replayed items count once."""
        payload = _ws_payload(item)
        if payload is None:
            return ""
        key = payload.get("stream_item_id") or payload.get("offset")
        if key is not None:
            if str(key) in self._ws_items:
                return ""
            self._ws_items.add(str(key))
        encoded = str(payload.get("encoded_item") or "")
        topic = str(item.get("topic_id") or payload.get("topic_id") or "")
        frames = encoded if encoded.endswith("\n\n") else encoded + "\n\n"
        return self.feed(frames, "ws:" + topic, resume=True)

    def close(self) -> str:
        """The bodies ended; returns text from a final event that lacked its blank line."""
        before = self.state.text
        for source in self._sources.values():
            for event, data in source.sse.close():
                self._event(source, event, data)
        self.state.ended = True
        return self._refresh(before)

    def expect(self, user_message_id: str) -> None:
        """Our prompt's id became known (from the POST body): read the attempt answering it."""
        self._prompt_id = user_message_id

    def take_events(self) -> list[TurnEvent]:
        """The typed events (progress, title, model, citations, quotas, handoff) so far."""
        events, self._events = self._events, []
        return events

    # --- sources and attempts ----------------------------------------------------------------

    def _source(self, stream: str, resume: bool) -> _Source:
        source = self._sources.get(stream)
        if source is None:
            handed_off = [s for s in self._sources.values() if s.attempt.handoff is not None]
            if resume and handed_off:  # it continues where the handed-off body stopped
                origin = handed_off[-1]
                source = _Source(origin.attempt, cursor=replace(origin.cursor))
            else:
                source = _Source(self._new_attempt())
            self._sources[stream] = source
        return source

    def _new_attempt(self) -> Attempt:
        attempt = Attempt()
        self._attempts.append(attempt)
        return attempt

    def _chosen(self) -> Attempt | None:
        """Our attempt: it echoes our prompt (when we know it); a finished one wins, else the
        one furthest along (a retry re-streams what the aborted attempt already sent)."""
        ours = [a for a in self._attempts if self._prompt_id in a.prompt_ids]
        best: tuple[bool, int, int] | None = None
        chosen = None
        for order, attempt in enumerate(ours or self._attempts):
            answers = attempt.answers(self._prompt_id or attempt.prompt_id())
            done = bool(answers) and finished(
                answers[-1].get("status"), answers[-1].get("end_turn")
            )
            rank = (done, sum(len(message_text(m)) for m in answers), order)
            if best is None or rank > best:
                best, chosen = rank, attempt
        return chosen

    # --- events -----------------------------------------------------------------------------

    def _event(self, source: _Source, event: str | None, data: str) -> None:
        if event == "delta_encoding":
            if source.framed:  # the front end retried: the same body now holds a new POST
                source.attempt, source.cursor = self._new_attempt(), Cursor()
            source.framed = False
            return
        source.framed = True
        attempt = source.attempt
        if data.strip() == "[DONE]":
            attempt.stream_complete = attempt.stream_complete or not source.handed_off
            return
        try:
            payload = json.loads(data)
        except ValueError:
            if event == "error":
                attempt.error = data.strip() or "the stream reported an error"
            else:
                logger.debug("ignoring a non-JSON event %r", data[:80])
            return
        if event == "error":
            attempt.error = error_text(payload) or "the stream reported an error"
        elif isinstance(payload, dict):
            source.handed_off = source.handed_off or payload.get("type") == "stream_handoff"
            self._frame(attempt, source.cursor, payload)

    def _frame(self, attempt: Attempt, cursor: Cursor, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if isinstance(kind, str):
            attempt.typed(kind, frame)
        elif "v" in frame or "o" in frame:
            attempt.delta(frame, cursor)
        elif "message" in frame or "error" in frame:
            # A legacy full cumulative root: it replaces what we knew of that message.
            message = frame.get("message")
            channel = ("legacy", message.get("id") if isinstance(message, dict) else None)
            attempt.install(frame, channel)

    # --- state ------------------------------------------------------------------------------

    def _refresh(self, before: str) -> str:
        """Recompute the state from the chosen attempt; return the text added since `before`."""
        for attempt in self._attempts:
            self._take(attempt)
        attempt = self._chosen()
        if attempt is not None:
            self._read(attempt)
        text = self.state.text
        if text.startswith(before):
            return text[len(before) :]
        if not self.state.rewritten:
            logger.warning("the stream rewrote text it had already sent; deltas diverge")
        self.state.rewritten = True
        return ""

    def _take(self, attempt: Attempt) -> None:
        """Collect an attempt's typed events; titles and conversation ids hold turn-wide."""
        state = self.state
        for event in attempt.events:
            if isinstance(event, Title):
                state.title = event.text
        self._events.extend(attempt.events)
        attempt.events.clear()
        state.conversation_id = attempt.conversation_id or state.conversation_id

    def _read(self, attempt: Attempt) -> None:
        state = self.state
        prompt = self._prompt_id or attempt.prompt_id()
        state.user_message_id = prompt or state.user_message_id
        state.error = attempt.error
        state.handoff = attempt.handoff is not None
        state.async_turn = attempt.async_turn
        state.model = attempt.server_model or state.model
        answers = attempt.answers(prompt)
        last = answers[-1] if answers else None
        state.stream_complete = attempt.stream_complete
        if last is None:
            return
        done = finished(last.get("status"), last.get("end_turn"))
        state.text = "\n\n".join(
            filter(None, (msgs.answer_markdown(m, final=done or m is not last) for m in answers))
        )
        state.answer_message_id = last.get("id")
        state.status, state.end_turn = last.get("status"), last.get("end_turn")
        details = msgs.metadata(last).get("finish_details")
        if isinstance(details, dict) and isinstance(details.get("type"), str):
            state.finish_type = details["type"]
        self._note_model(last)
        if done:
            self._note_citations(answers)

    def _note_model(self, answer: dict[str, Any]) -> None:
        slug, requested = msgs.answered_model(answer)
        if slug is None:
            return
        self.state.model = slug
        used = ModelUsed(slug, requested)
        if used != self._model:
            self._model = used
            self._events.append(used)

    def _note_citations(self, answers: list[dict[str, Any]]) -> None:
        for answer in answers:
            for citation in msgs.citations(answer):
                if citation.url not in self._cited:
                    self._cited.add(citation.url)
                    self._events.append(citation)


def _ws_payload(item: dict[str, Any]) -> dict[str, Any] | None:
    """The `stream-item` inside a WebSocket message (`{payload: {payload: {...}}}`)."""
    payload: Any = item
    for _ in range(3):
        if not isinstance(payload, dict):
            return None
        if "encoded_item" in payload:
            return payload
        payload = payload.get("payload")
    return None
