"""The stream decoder on frame sequences shaped like chatgpt.com's (no browser needed).

Each sequence is raw SSE text as the page receives it. Every test also feeds the same text
split at arbitrary points (hypothesis): the network cuts chunks anywhere, even inside a
UTF-8 character's JSON escape or between `\\r` and `\\n`.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from browser.decoder import SSEParser, StreamDecoder
from browser.events import Citation, Handoff, ModelUsed, Progress, Quota, Title


def sse(data: Any, event: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


def delta(frame: dict[str, Any]) -> str:
    return sse(frame, event="delta")


def message(
    id: str,
    role: str,
    parts: list[str] | None = None,
    *,
    status: str = "in_progress",
    content_type: str = "text",
    recipient: str = "all",
    channel: str | None = None,
    end_turn: bool | None = None,
    content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "author": {"role": role, "name": None, "metadata": {}},
        "content": content or {"content_type": content_type, "parts": parts or [""]},
        "status": status,
        "end_turn": end_turn,
        "weight": 1.0,
        "metadata": {"model_slug": "gpt-5"} if role == "assistant" else {},
        "recipient": recipient,
        "channel": channel,
    }


def root(msg: dict[str, Any] | None, error: Any = None, conversation: str = "c-1") -> dict:
    return {"message": msg, "conversation_id": conversation, "error": error}


PART = "/message/content/parts/0"
FINISH = [
    {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
    {"p": "/message/end_turn", "o": "replace", "v": True},
    {
        "p": "/message/metadata",
        "o": "append",
        "v": {"is_complete": True, "finish_details": {"type": "stop", "stop_tokens": [1]}},
    },
]
CLOSING = (
    sse({"type": "message_stream_complete", "conversation_id": "c-1"})
    + sse({"type": "conversation_detail_metadata", "conversation_id": "c-1"})
    + "data: [DONE]\n\n"
)
OPENING = (
    sse("v1", event="delta_encoding")
    + sse({"type": "resume_conversation_token", "token": "t", "conversation_id": "c-1"})
    + delta(
        {
            "p": "",
            "o": "add",
            "v": root(message("u-1", "user", ["hi"], status="finished_successfully")),
            "c": 0,
        }
    )
    + sse({"type": "input_message", "input_message": {"id": "u-1"}, "conversation_id": "c-1"})
)

V1_STREAM = (
    OPENING
    + delta({"p": "", "o": "add", "v": root(message("a-1", "assistant")), "c": 1})
    + delta({"p": PART, "o": "append", "v": "# Title\n\n"})
    + delta({"v": "Hello, "})
    + delta({"v": "wörld 🌍"})
    + sse({"type": "title_generation", "title": "Greeting", "conversation_id": "c-1"})
    + delta({"p": "", "o": "patch", "v": [{"p": PART, "o": "append", "v": " and"}]})
    + delta({"v": [{"p": PART, "o": "append", "v": " more"}]})
    + delta({"v": "\n\n```python\nprint(1)\n```"})
    + delta({"p": "", "o": "patch", "v": [{"p": PART, "o": "append", "v": "."}, *FINISH]})
    + CLOSING
)
V1_TEXT = "# Title\n\nHello, wörld 🌍 and more\n\n```python\nprint(1)\n```."


def decode(text: str, cuts: list[int] | None = None) -> tuple[StreamDecoder, list[str]]:
    """Feed `text` cut at `cuts`, by default one event at a time like the network usually."""
    if cuts is None:
        cuts = [i + 2 for i in range(len(text)) if text.startswith("\n\n", i)]
    decoder = StreamDecoder()
    deltas: list[str] = []
    points = sorted({0, *cuts, len(text)})
    for start, end in itertools.pairwise(points):
        deltas.append(decoder.feed(text[start:end]))
    deltas.append(decoder.close())
    return decoder, [d for d in deltas if d]


def test_v1_every_frame_shape() -> None:
    decoder, deltas = decode(V1_STREAM)
    state = decoder.state
    assert state.text == V1_TEXT
    assert "".join(deltas) == V1_TEXT
    assert state.conversation_id == "c-1"
    assert state.user_message_id == "u-1"
    assert state.answer_message_id == "a-1"
    assert state.model == "gpt-5"
    assert state.title == "Greeting"
    assert state.done and state.finish_reason == "stop" and state.error is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(V1_STREAM)), max_size=40))
def test_v1_any_chunking(cuts: list[int]) -> None:
    decoder, deltas = decode(V1_STREAM, cuts)
    assert decoder.state.text == V1_TEXT
    assert "".join(deltas) == V1_TEXT
    assert decoder.state.done


def test_crlf_line_endings_split_between_cr_and_lf() -> None:
    text = V1_STREAM.replace("\n", "\r\n")
    cut = text.index("\r\n") + 1
    decoder, _ = decode(text, [cut])
    assert decoder.state.text == V1_TEXT and decoder.state.done


def test_streaming_is_incremental() -> None:
    decoder = StreamDecoder()
    first = V1_STREAM.index('{"v": "wörld')
    assert decoder.feed(V1_STREAM[:first]) == "# Title\n\nHello, "
    assert not decoder.state.done
    assert decoder.state.status == "in_progress"


def test_echoed_user_message_is_not_the_answer_and_not_done() -> None:
    decoder, _ = decode(OPENING + CLOSING)
    assert decoder.state.text == ""
    assert decoder.state.user_message_id == "u-1"
    assert not decoder.state.done  # no answer finished: status of the echo does not count


def test_finished_without_stream_complete_is_not_done() -> None:
    decoder = StreamDecoder()
    decoder.feed(V1_STREAM[: V1_STREAM.index('data: {"type": "message_stream_complete"')])
    assert decoder.state.answer_finished
    assert not decoder.state.done
    decoder.feed("data: [DONE]\n\n")
    assert decoder.state.done


def test_thinking_model_only_final_text_counts() -> None:
    thoughts = message(
        "t-1",
        "assistant",
        content={"content_type": "thoughts", "thoughts": [{"summary": "s", "content": ""}]},
    )
    recap = message("r-1", "assistant", content={"content_type": "reasoning_recap", "content": ""})
    tool = message("x-1", "assistant", ["search('q')"], recipient="web")
    analysis = message("n-1", "assistant", ["scratch"], channel="analysis")
    final = message("a-1", "assistant", channel="final")
    stream = (
        OPENING
        + delta({"p": "", "o": "add", "v": root(thoughts), "c": 1})
        + delta({"p": "/message/content/thoughts/0/content", "o": "append", "v": "Let me"})
        + delta({"v": " think"})
        + delta({"p": "", "o": "add", "v": root(recap), "c": 2})
        + delta({"p": "/message/content/content", "o": "append", "v": "Thought for 3s"})
        + delta({"p": "", "o": "add", "v": root(tool), "c": 3})
        + delta({"p": "", "o": "add", "v": root(analysis), "c": 4})
        + delta({"p": "", "o": "add", "v": root(final), "c": 5})
        + delta({"p": PART, "o": "append", "v": "The answer"})
        + delta({"v": " is 42."})
        + delta({"p": "", "o": "patch", "v": FINISH})
        + CLOSING
    )
    decoder, deltas = decode(stream)
    assert decoder.state.text == "The answer is 42."
    assert "".join(deltas) == "The answer is 42."
    assert decoder.state.done and decoder.state.answer_message_id == "a-1"


def test_channels_interleave() -> None:
    """Ops carry `c`: a bare frame continues the channel of the previous frame."""
    stream = (
        OPENING
        + delta(
            {
                "p": "",
                "o": "add",
                "v": root(message("t-1", "assistant", ["x"], content_type="code")),
                "c": 1,
            }
        )
        + delta({"p": "", "o": "add", "v": root(message("a-1", "assistant")), "c": 2})
        + delta({"p": PART, "o": "append", "v": "A", "c": 2})
        + delta({"p": PART, "o": "append", "v": "code", "c": 1})
        + delta({"v": "more code"})
        + delta({"p": PART, "o": "append", "v": "B", "c": 2})
        + delta({"v": "C"})
        + delta({"p": "", "o": "patch", "v": FINISH})
        + CLOSING
    )
    decoder, _ = decode(stream)
    assert decoder.state.text == "ABC" and decoder.state.done


def test_truncate_replace_and_remove() -> None:
    stream = (
        OPENING
        + delta({"p": "", "o": "add", "v": root(message("a-1", "assistant")), "c": 1})
        + delta({"p": PART, "o": "append", "v": "Hello wrong"})
        + delta({"p": PART, "o": "truncate", "v": 6})
        + delta({"p": PART, "o": "append", "v": "right"})
        + delta({"p": "/message/metadata/extra", "o": "add", "v": 1})
        + delta({"p": "/message/metadata/extra", "o": "remove"})
        + delta({"p": "", "o": "patch", "v": FINISH})
        + CLOSING
    )
    decoder, deltas = decode(stream)
    assert decoder.state.text == "Hello right"
    # Deltas cannot retract "wrong": the flag tells consumers to trust `text` at the end.
    assert decoder.state.rewritten
    assert "".join(deltas) == "Hello wrongright"
    assert decoder.state.done


def test_stopped_answer_is_cancelled() -> None:
    stream = (
        OPENING
        + delta({"p": "", "o": "add", "v": root(message("a-1", "assistant")), "c": 1})
        + delta({"p": PART, "o": "append", "v": "Partial"})
        + delta(
            {
                "p": "",
                "o": "patch",
                "v": [
                    {"p": "/message/status", "o": "replace", "v": "finished_partial_completion"},
                    {
                        "p": "/message/metadata",
                        "o": "append",
                        "v": {"finish_details": {"type": "interrupted"}},
                    },
                ],
            }
        )
        + "data: [DONE]\n\n"
    )
    decoder, _ = decode(stream)
    assert decoder.state.text == "Partial"
    assert decoder.state.done and decoder.state.finish_reason == "cancelled"


def test_max_tokens_is_length() -> None:
    finish = [dict(op) for op in FINISH]
    finish[2] = {
        "p": "/message/metadata",
        "o": "append",
        "v": {"finish_details": {"type": "max_tokens"}},
    }
    stream = (
        OPENING
        + delta({"p": "", "o": "add", "v": root(message("a-1", "assistant")), "c": 1})
        + delta({"p": PART, "o": "append", "v": "Long"})
        + delta({"p": "", "o": "patch", "v": finish})
        + CLOSING
    )
    decoder, _ = decode(stream)
    assert decoder.state.finish_reason == "length"


def test_error_root_and_error_event() -> None:
    decoder, _ = decode(OPENING + delta({"p": "", "o": "add", "v": root(None, "Boom"), "c": 2}))
    assert decoder.state.error == "Boom" and decoder.state.done
    decoder, _ = decode(sse({"message": "Too many", "code": "x"}, event="error"))
    assert decoder.state.error == "Too many"
    decoder, _ = decode(
        sse({"message": None, "conversation_id": "c-1", "error": {"message": "Legacy failure"}})
    )
    assert decoder.state.error == "Legacy failure"


def test_cut_stream_is_not_done() -> None:
    cut = V1_STREAM.index('data: {"v": "wörld')
    decoder, _ = decode(V1_STREAM[:cut])
    assert decoder.state.ended and not decoder.state.done
    assert decoder.state.text == "# Title\n\nHello, "


def test_legacy_cumulative_encoding() -> None:
    stream = (
        "".join(
            sse(root(m))
            for m in [
                message("u-1", "user", ["hi"], status="finished_successfully"),
                message("a-1", "assistant", ["Hel"]),
                message("a-1", "assistant", ["Hello"]),
                message("a-1", "assistant", ["Hello **there**"]),
                message(
                    "a-1",
                    "assistant",
                    ["Hello **there**"],
                    status="finished_successfully",
                    end_turn=True,
                ),
            ]
        )
        + "data: [DONE]\n\n"
    )
    decoder, deltas = decode(stream)
    assert deltas == ["Hel", "lo", " **there**"]
    assert decoder.state.text == "Hello **there**"
    assert decoder.state.done and decoder.state.finish_reason == "stop"


def test_stream_handoff_is_noted() -> None:
    stream = (
        OPENING
        + delta({"p": "", "o": "add", "v": root(message("a-1", "assistant")), "c": 1})
        + sse({"type": "stream_handoff", "conversation_id": "c-1", "offset": 7})
    )
    decoder, _ = decode(stream)
    assert decoder.state.handoff and not decoder.state.done


def test_sse_parser_comments_multiline_and_final_event_without_blank_line() -> None:
    parser = SSEParser()
    events = parser.feed(": ping\n\nevent: x\ndata: a\ndata: b\n\ndata: tail")
    assert events == [("x", "a\nb")]
    assert parser.close() == [(None, "tail")]


# --- 2026 streams (tests/streams/*.sse, each file says which capture it imitates) -----------

STREAMS = Path(__file__).parent / "streams"
TOOL_TEXT = (
    "**Spain** won the final 2–1 ([FIFA World Cup 26 final report](https://www.fifa.com/wc26/final))."
    " The match drew a record audience ([Final \\[match\\] report](https://example.org/report),"
    " [Ratings](https://news.example.com/ratings)).\n\nShort and sweet."
)


def stream_file(name: str) -> str:
    with open(STREAMS / name, encoding="utf-8", newline="") as file:
        return file.read()


def test_2026_tool_turn_reads_only_the_final_answer() -> None:
    decoder, deltas = decode(stream_file("tool_turn_2026.sse"))
    state = decoder.state
    assert state.text == TOOL_TEXT
    assert "".join(deltas) == TOOL_TEXT and not state.rewritten
    assert state.done and state.finish_reason == "stop"
    assert (state.user_message_id, state.answer_message_id) == ("u-ours", "a-1")
    assert state.model == "gpt-5-6-thinking"
    assert state.title == "2026 World Cup winner"  # the late title replaces the first one


def test_2026_tool_turn_events() -> None:
    decoder, _ = decode(stream_file("tool_turn_2026.sse"))
    events = decoder.take_events()
    assert [e for e in events if isinstance(e, Progress)] == [
        Progress("reasoning"),  # the `cot_token` marker: reasoning started
        Progress("reasoning", "Thought for 4s"),
        Progress("search", "web.run"),
    ]
    assert [e.text for e in events if isinstance(e, Title)] == [
        "World Cup question",
        "2026 World Cup winner",
    ]
    assert [e for e in events if isinstance(e, ModelUsed)] == [ModelUsed("gpt-5-6-thinking")]
    assert [e for e in events if isinstance(e, Citation)] == [
        Citation("https://www.fifa.com/wc26/final", "FIFA World Cup 26 final report"),
        Citation("https://example.org/report", "Final [match] report"),
        Citation("https://news.example.com/ratings", "Ratings"),
    ]
    assert [e for e in events if isinstance(e, Quota)] == [
        Quota("deep_research", 24, "2026-12-30T10:00:00+00:00"),
        Quota("image_gen", 0, "2026-12-02T09:15:00+00:00"),
    ]
    assert decoder.take_events() == []  # taken once


TOOL_STREAM = stream_file("tool_turn_2026.sse")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(TOOL_STREAM)), max_size=40))
def test_2026_tool_turn_any_chunking_never_leaks_a_marker(cuts: list[int]) -> None:
    decoder, deltas = decode(TOOL_STREAM, cuts)
    assert "".join(deltas) == TOOL_TEXT
    assert not any("\ue200" in d or "\ue201" in d for d in deltas)
    assert decoder.state.done


def test_2026_hidden_context_and_tool_messages_never_leak() -> None:
    decoder, _ = decode(stream_file("tool_turn_2026.sse"))
    for hidden in ("Preferred name", "Search results", "search(", "open(0)", "Thought for"):
        assert hidden not in decoder.state.text


def test_2026_patch_shapes_crlf() -> None:
    """Patch without `p`, a bare list continuing it, top-level status/end_turn replaces."""
    decoder, deltas = decode(stream_file("patch_shapes_2026.sse"))
    assert decoder.state.text == "One, two, three." == "".join(deltas)
    assert decoder.state.done and decoder.state.answer_message_id == "a-2"


def test_2026_image_turn_is_not_done() -> None:
    decoder, _ = decode(stream_file("image_turn_2026.sse"))
    state = decoder.state
    assert state.text == "" and state.async_turn
    assert state.stream_complete and not state.done  # no answer text finished
    assert state.title == "Lighthouse at dusk"
    assert Progress("image", "image_gen") in decoder.take_events()


def test_2026_handoff_continues_over_websocket_items() -> None:
    decoder, deltas = decode(stream_file("handoff_2026.sse"))
    state = decoder.state
    assert state.handoff and not state.done and state.text == "Working through"
    assert not state.stream_complete  # the handed-off body's [DONE] is not the turn's end
    assert Handoff("conversation-turn-tx-1", "conversation-turn-tx-1") in decoder.take_events()
    items = json.loads(stream_file("handoff_2026.ws.json"))["items"]
    deltas += [decoder.feed_ws(item) for item in items]
    assert state.text == "Working through the proof, step by step."
    assert "".join(deltas) == state.text  # the replayed items count once
    assert state.done


def test_2026_retried_post_in_one_body_reads_the_successful_attempt() -> None:
    decoder, deltas = decode(stream_file("retried_post_2026.sse"))
    state = decoder.state
    assert state.text == "Spain won." and state.answer_message_id == "a-new"
    assert state.done and not state.rewritten
    assert "".join(deltas) == "Spain won."


def _attempt(prompt: str, answer: str, text: str) -> str:
    return (
        sse("v1", event="delta_encoding")
        + delta({"p": "", "o": "add", "v": root(message(prompt, "user", ["q"])), "c": 0})
        + sse(
            {"type": "input_message", "input_message": {"id": prompt, "author": {"role": "user"}}}
        )
        + delta({"v": root(message(answer, "assistant", channel="final")), "c": 1})
        + delta({"p": PART, "o": "append", "v": text})
        + delta({"p": "", "o": "patch", "v": FINISH})
        + CLOSING
    )


def test_attempts_of_separate_posts_pick_our_input_message() -> None:
    decoder = StreamDecoder(user_message_id="u-ours")
    decoder.feed(_attempt("u-ours", "a-ours", "Ours."), stream="fetch-1")
    decoder.feed(_attempt("u-else", "a-else", "Someone else's."), stream="fetch-2")
    assert decoder.state.text == "Ours." and decoder.state.answer_message_id == "a-ours"
    assert decoder.state.done


def test_prompt_id_learned_later_picks_its_attempt() -> None:
    decoder = StreamDecoder()
    decoder.feed(_attempt("u-ours", "a-ours", "Ours."), stream="fetch-1")
    decoder.feed(_attempt("u-else", "a-else", "Someone else's."), stream="fetch-2")
    assert decoder.state.answer_message_id == "a-else"  # unknown prompt: the latest finished
    decoder.expect("u-ours")
    decoder.feed("", stream="fetch-1")
    assert decoder.state.answer_message_id == "a-ours" and decoder.state.text == "Ours."


def test_sources_keep_their_own_framing_and_carry_over() -> None:
    """Two bodies fed in interleaved chunks: each has its own SSE buffer and cursor."""
    first, second = _attempt("u-1", "a-1", "First."), _attempt("u-2", "a-2", "Second.")
    decoder = StreamDecoder(user_message_id="u-2")
    for index in range(0, max(len(first), len(second)), 7):
        decoder.feed(first[index : index + 7], stream="a")
        decoder.feed(second[index : index + 7], stream="b")
    assert decoder.state.text == "Second." and decoder.state.done


def test_downgraded_model_names_both() -> None:
    answer = message("a-1", "assistant", channel="final")
    answer["metadata"] = {"model_slug": "gpt-5-6-thinking", "resolved_model_slug": "gpt-5-6-mini"}
    decoder, _ = decode(
        OPENING
        + delta({"v": root(answer), "c": 1})
        + delta({"p": PART, "o": "append", "v": "Hi"})
        + CLOSING
    )
    assert decoder.state.model == "gpt-5-6-mini"
    assert ModelUsed("gpt-5-6-mini", requested="gpt-5-6-thinking") in decoder.take_events()


def test_unresolved_citation_marker_is_dropped_when_the_answer_finishes() -> None:
    decoder, deltas = decode(
        OPENING
        + delta({"v": root(message("a-1", "assistant", channel="final")), "c": 1})
        + delta({"p": PART, "o": "append", "v": "Fact \ue200cite\ue202turn0search9\ue201"})
        + delta({"v": " more."})
        + delta({"p": "", "o": "patch", "v": FINISH})
        + CLOSING
    )
    assert deltas == ["Fact ", " more."] and decoder.state.text == "Fact  more."


def test_title_after_done_still_counts() -> None:
    decoder = StreamDecoder()
    decoder.feed(V1_STREAM)
    assert decoder.state.done
    decoder.feed(sse({"type": "title_generation", "title": "Late", "conversation_id": "c-1"}))
    assert decoder.state.title == "Late" and Title("Late") in decoder.take_events()


def test_websocket_replays_without_item_id_dedupe_by_offset() -> None:
    decoder, _ = decode(stream_file("handoff_2026.sse"))
    item = {"payload": {"type": "stream-item", "offset": "5", "encoded_item": 'data: {"v": "!"}'}}
    assert decoder.feed_ws({"topic_id": "t", "payload": item}) == "!"
    assert decoder.feed_ws({"topic_id": "t", "payload": item}) == ""
    assert decoder.state.text == "Working through!"
