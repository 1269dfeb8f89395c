"""Markdown -> mrkdwn and the cutting of long answers into Slack-sized parts (no browser)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from slackbot.mrkdwn import escape, markdown_to_mrkdwn
from slackbot.split import Splitter, split_text


def test_inline_formatting() -> None:
    out = markdown_to_mrkdwn("Some **bold**, *italic*, ~~gone~~ and `a<b`.")
    assert out == "Some *bold*, _italic_, ~gone~ and `a&lt;b`."


def test_links_and_images() -> None:
    out = markdown_to_mrkdwn(
        "[the docs](https://example.com/a_b_c?x=1&y=2) and https://plain.example "
        "![chart](https://img.example/c.png)"
    )
    assert "<https://example.com/a_b_c?x=1&amp;y=2|the docs>" in out
    assert "https://plain.example" in out
    assert "<https://img.example/c.png|chart>" in out


def test_escaping_keeps_slack_mentions() -> None:
    assert escape("a < b & c > d <@U123ABC> <#C42|general> <!here>") == (
        "a &lt; b &amp; c &gt; d <@U123ABC> <#C42|general> <!here>"
    )
    assert markdown_to_mrkdwn("ping <@U999> about <script>") == "ping <@U999> about &lt;script&gt;"


def test_arithmetic_is_not_formatting() -> None:
    assert markdown_to_mrkdwn("2 * 3 * 4 = 24") == "2 * 3 * 4 = 24"


def test_headings_become_bold_lines() -> None:
    assert markdown_to_mrkdwn("# Title with **bold**\n\nBody") == "*Title with bold*\n\nBody"


def test_code_fence_drops_language_and_escapes() -> None:
    out = markdown_to_mrkdwn("```python\nif a < b:\n    x = '*not bold*'\n```")
    assert out == "```\nif a &lt; b:\n    x = '*not bold*'\n```"


def test_unclosed_fence_of_partial_text_is_closed() -> None:
    out = markdown_to_mrkdwn("Here:\n\n```js\nconst a = 1;\nconst b")
    assert out.endswith("```\nconst a = 1;\nconst b\n```")
    assert out.count("```") == 2


def test_nested_lists() -> None:
    out = markdown_to_mrkdwn("1. one\n   - nested *a*\n   - nested b\n     1. deep\n2. two\n")
    assert out == "1. one\n   ◦ nested _a_\n   ◦ nested b\n     1. deep\n2. two"


def test_ordered_list_keeps_its_start_number() -> None:
    assert markdown_to_mrkdwn("3. three\n4. four") == "3. three\n4. four"


def test_table_becomes_aligned_code_block() -> None:
    out = markdown_to_mrkdwn("| name | n |\n|---|--:|\n| alpha | 1 |\n| b&c | 22 |")
    assert out == "```\nname  | n\n------+---\nalpha | 1\nb&amp;c   | 22\n```"


def test_blockquote() -> None:
    assert markdown_to_mrkdwn("> quoted\n> more") == "> quoted\n> more"


def _fences_balanced(part: str) -> bool:
    return len(re.findall(r"^ {0,3}```", part, flags=re.MULTILINE)) % 2 == 0


def _lorem(paragraphs: int, words: int) -> str:
    base = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"]
    return "\n\n".join(
        " ".join(base[(p + w) % len(base)] for w in range(words)) for p in range(paragraphs)
    )


def test_long_text_splits_at_paragraphs() -> None:
    text = _lorem(40, 60)
    parts = split_text(text, 1000)
    assert len(parts) > 5
    assert all(len(part) <= 1000 for part in parts)
    assert "\n\n".join(parts) == text


def test_code_block_cut_is_closed_and_reopened() -> None:
    code = "\n".join(f"print({i})  # a comment long enough to fill the part" for i in range(80))
    text = f"Intro.\n\n```python\n{code}\n```\n\nOutro."
    parts = split_text(text, 1200)
    assert len(parts) >= 3
    for part in parts:
        assert len(part) <= 1200
        assert _fences_balanced(part)
    assert parts[1].startswith("```python\n")
    joined = "\n".join(
        line
        for part in parts
        for line in part.split("\n")
        if not line.startswith("```") and line.strip()
    )
    assert [line for line in joined.split("\n") if line.startswith("print(")] == code.split("\n")


def test_streaming_cuts_never_take_back_shown_text() -> None:
    """Fed a growing text with `floor` = what is on screen, frozen parts keep that prefix."""
    text = _lorem(30, 70)
    splitter = Splitter(900)
    shown = 0
    frozen: list[str] = []
    for end in range(0, len(text) + 1, 37):
        prefix = text[:end]
        before = splitter.current(prefix)[:shown]
        new = splitter.feed(prefix, floor=shown)
        if new:
            assert new[0].startswith(before)
            frozen.extend(new)
            shown = 0
        shown = max(shown, splitter.streamable(prefix))
    frozen.extend(splitter.feed(text, floor=shown))
    parts = [*frozen, splitter.current(text)]
    assert all(len(part) <= 900 for part in parts)
    assert "".join(part.replace("\n", "").replace(" ", "") for part in parts) == text.replace(
        "\n", ""
    ).replace(" ", "")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="abc xyz\n", min_size=1, max_size=400),
            st.builds(lambda body: f"```sh\n{body}\n```", st.text(alphabet="ab \n", max_size=600)),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=200, max_value=900),
)
def test_split_properties(blocks: list[str], limit: int) -> None:
    text = "\n\n".join(blocks)
    parts = split_text(text, limit)
    for part in parts:
        assert len(part) <= limit
        assert _fences_balanced(part)
    squash = re.compile(r"```(sh)?|\s")
    assert squash.sub("", "".join(parts)) == squash.sub("", text)
