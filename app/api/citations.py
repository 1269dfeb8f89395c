"""`url_citation` annotations: where the answer's text links the sources ChatGPT cited.

ChatGPT marks a citation inside its text with private-use characters (`\\ue200cite\\ue202
turn0search0\\ue201`) that the message's `content_references` resolve; the browser turns each
marker into Markdown links, `([title](url), ...)`, and reports every source once as a
`Citation` event when the answer is complete (`browser/stream/messages.py`). OpenAI's own
searched answers carry the same inline Markdown links and annotate each one with a
`url_citation` whose indexes span the link. So the annotations are found in the very text
the caller gets, after stop strings, token limits and `sandbox:` links shaped it: every
Markdown link to a cited URL, in the order of the text. The indexes count code points (what
Python's `str` slices by: `text[start_index:end_index]` is the link). A source the text does
not link (the answer was cut before it, a footnote-only source) gets no annotation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from browser.events import Citation

_LABEL = r"\[(?:\\.|[^\\\[\]\n])*\]"
"""A Markdown link's label: the browser escapes `\\`, `[` and `]` in titles."""


@dataclass(frozen=True)
class UrlCitation:
    """One cited link of the answer: `text[start:end]` is `[label](url)`."""

    url: str
    title: str
    start: int
    end: int

    def as_chat(self) -> dict[str, Any]:
        """As a chat completion's `message.annotations[]` entry."""
        return {
            "type": "url_citation",
            "url_citation": {
                "url": self.url,
                "title": self.title,
                "start_index": self.start,
                "end_index": self.end,
            },
        }

    def as_response(self) -> dict[str, Any]:
        """As an `output_text` part's `annotations[]` entry (Responses)."""
        return {
            "type": "url_citation",
            "url": self.url,
            "title": self.title,
            "start_index": self.start,
            "end_index": self.end,
        }


def url_citations(text: str, cited: Sequence[Citation]) -> tuple[UrlCitation, ...]:
    """Every Markdown link in `text` to one of the `cited` sources, in text order."""
    found = []
    for source in {citation.url: citation for citation in cited}.values():
        link = re.compile(_LABEL + r"\(" + re.escape(source.url) + r"\)")
        found += [
            UrlCitation(source.url, source.title, match.start(), match.end())
            for match in link.finditer(text)
        ]
    return tuple(sorted(found, key=lambda citation: citation.start))
