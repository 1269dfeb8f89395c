"""Offline token estimate: the `usage` numbers and the `max_tokens` cut share this counter.

ChatGPT's web app reports no token counts and the bridge has no network for a tokenizer
download, so tokens are estimated deterministically, roughly like OpenAI's BPE vocabularies:
a word is one token per six letters, numbers one token per three digits, every punctuation
mark and every non-Latin character one token, runs of line breaks one token, spaces free.

The estimate is *prefix-stable*: cutting a text where its token n + 1 starts gives a text of
exactly n tokens. That is what lets `max_tokens` truncate a streamed answer with the
same counter that later reports `completion_tokens`, so the two always agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_PIECES = re.compile(r"[A-Za-z]+|[0-9]+|\n+|[^\sA-Za-z0-9]")
_WORD_CHARS = 6
_DIGITS = 3

MESSAGE_OVERHEAD = 3
"""Tokens OpenAI's chat format adds around every message (role and separators)."""
REPLY_PRIMING = 3
"""Tokens OpenAI adds once per request to prime the assistant's reply."""


def token_starts(text: str) -> Iterator[int]:
    """The start offset of every token of `text`, in order."""
    for match in _PIECES.finditer(text):
        start, end = match.span()
        first = text[start]
        if first.isascii() and first.isalpha():
            yield from range(start, end, _WORD_CHARS)
        elif first.isascii() and first.isdigit():
            yield from range(start, end, _DIGITS)
        else:
            # Line-break runs and single symbols / non-Latin characters: one token each.
            yield start


def count_tokens(text: str) -> int:
    return sum(1 for _ in token_starts(text))


def truncate_tokens(text: str, limit: int) -> str | None:
    """`text` cut just before its token number `limit + 1`, or None when it fits.

    Cutting before the next token (not after the last kept one) keeps trailing spaces, so a
    streamed answer that already released them is cut at the same place as a whole one.
    """
    for index, start in enumerate(token_starts(text)):
        if index == limit:
            return text[:start]
    return None


class TokenBudget:
    """Finds where a growing text (a streamed answer) passes `limit` tokens, incrementally.

    Counting the whole answer again on every delta would be quadratic; tokens never contain
    a space, so everything up to the last space is counted once and only the tail is re-read.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._offset = 0
        self._tokens = 0

    def cut(self, text: str) -> str | None:
        """`text` cut to the limit, or None while it fits. Each text extends the previous one."""
        tail = text[self._offset :]
        shorter = truncate_tokens(tail, self.limit - self._tokens)
        if shorter is not None:
            return text[: self._offset + len(shorter)]
        boundary = tail.rfind(" ") + 1
        if boundary:
            self._tokens += count_tokens(tail[:boundary])
            self._offset += boundary
        return None


def prompt_tokens(messages: Iterable[tuple[str, str, str | None]]) -> int:
    """Tokens of a whole messages array, given as (role, text, name) triples."""
    total = REPLY_PRIMING
    for role, text, name in messages:
        total += MESSAGE_OVERHEAD + count_tokens(role) + count_tokens(text)
        if name:
            total += 1 + count_tokens(name)
    return total


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    def as_dict(self) -> dict[str, object]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
