"""`stop` and `max_tokens` over any split of any answer: what a stream releases is exactly
what the whole answer gives, a stop string never leaks, and the cut is at the token limit
by the same counter `usage` reports. (End to end through the app: tests/test_api_chat.py.)"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.api.emulation import OutputShaper
from app.api.usage import count_tokens, truncate_tokens

TEXT = st.text(alphabet="ab cé,.\n1日", max_size=80)
STOPS = st.lists(st.text(alphabet="ab c.", min_size=1, max_size=4), max_size=4)


def _shape(pieces: list[str], stop: list[str], limit: int | None) -> tuple[str, str | None]:
    shaper = OutputShaper(stop, limit)
    released = [shaper.feed(piece) for piece in pieces] + [shaper.close()]
    return "".join(released), shaper.cut


@given(TEXT, st.lists(st.integers(0, 80), max_size=6), STOPS, st.none() | st.integers(1, 30))
def test_a_stream_releases_what_the_whole_answer_gives(
    text: str, cuts: list[int], stop: list[str], limit: int | None
) -> None:
    bounds = sorted({min(cut, len(text)) for cut in cuts})
    pieces = [
        text[start:end] for start, end in zip([0, *bounds], [*bounds, len(text)], strict=True)
    ]
    streamed, cut = _shape(pieces, stop, limit)
    whole, whole_cut = _shape([text], stop, limit)
    assert (streamed, cut) == (whole, whole_cut)
    assert not any(piece and piece in streamed for piece in stop)
    assert text.startswith(streamed)
    if limit is not None:
        assert count_tokens(streamed) <= limit
    if cut == "length":
        assert count_tokens(streamed) == limit
    if cut is None:
        assert streamed == text


@given(TEXT, st.integers(0, 30))
def test_truncation_is_prefix_stable(text: str, limit: int) -> None:
    truncated = truncate_tokens(text, limit)
    if truncated is None:
        assert count_tokens(text) <= limit
    else:
        assert text.startswith(truncated) and count_tokens(truncated) == limit


def test_a_stop_string_split_over_two_deltas_is_held_back() -> None:
    shaper = OutputShaper(["STOP"], None)
    assert shaper.feed("Hello wo") == "Hello"
    assert shaper.feed("rld ST") == " world"  # "ST" may begin "STOP": held back
    assert shaper.feed("OP and more") == " "
    assert shaper.cut == "stop" and shaper.content == "Hello world "
