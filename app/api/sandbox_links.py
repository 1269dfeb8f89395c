"""Holding back an answer's `sandbox:` links until the files they name are the bridge's.

A file ChatGPT's code tool wrote is linked in the answer as `[Download x.csv](sandbox:/mnt/
data/x.csv)`, a path only chatgpt.com can resolve. The browser downloads the file once the
turn is over (`GeneratedFile.sandbox_path`), but the text streams before that, so from the
first `](sandbox:` on the answer is held back, then released at its end with each link
pointing at the bridge's own copy (`/v1/files/{id}/content`). Streaming and non-streaming
answers, chat completions and the Responses API, all get the same rewritten text; only
the text after such a link reaches a streaming client later than it would have.
"""

from __future__ import annotations

from collections.abc import Mapping

OPENER = "](sandbox:"


class SandboxLinkHold:
    """Passes an answer through, holding it from the first `](sandbox:` on until `close`."""

    def __init__(self) -> None:
        self._held = ""
        self._holding = False

    def feed(self, delta: str) -> str:
        """What may be released of the answer so far."""
        text = self._held + delta
        at = -1 if self._holding else text.find(OPENER)
        if self._holding or at >= 0:
            self._holding = True
            self._held = text[max(at, 0) :]
            return text[: max(at, 0)]
        keep = _partial_opener(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def close(self, urls: Mapping[str, str]) -> str:
        """The rest of the answer, each `sandbox:<path>` in `urls` pointing at its URL."""
        held, self._held, self._holding = self._held, "", False
        for path, url in urls.items():
            held = held.replace(f"{OPENER}{path})", f"]({url})")
        return held


def _partial_opener(text: str) -> int:
    """How many of `text`'s last characters could begin an OPENER split over deltas."""
    for size in range(min(len(OPENER) - 1, len(text)), 0, -1):
        if OPENER.startswith(text[-size:]):
            return size
    return 0
