"""Cutting a long, still-growing answer into Slack-sized messages.

Slack answers `msg_too_long` around 4,000 characters, far below the documented 40,000, so a
long answer becomes several messages in the thread. The cuts are made while the answer is
still streaming and a cut part never changes afterwards: with native streaming the text of a
part is already on screen and cannot be taken back. Cuts prefer paragraph boundaries, then
code-fence boundaries, then line ends; a code block cut in two is closed at the end of one
part and reopened (same language) at the start of the next, so both render as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SLACK_TEXT_LIMIT = 3500
"""Characters per message: below Slack's practical `msg_too_long` threshold with room for
the Markdown -> mrkdwn growth of escaping."""

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_CLOSE_RESERVE = 16
"""Room kept at the end of a part for the line that closes a cut code block."""
_STREAM_MARGIN = 600
"""Within this distance of the limit, streaming sends whole lines only, so a cut can still
land on a line end."""


@dataclass(frozen=True)
class _Fence:
    marker: str
    opener: str

    def closes(self, line: str) -> bool:
        match = _FENCE.match(line)
        return bool(
            match
            and match.group(1)[0] == self.marker[0]
            and len(match.group(1)) >= len(self.marker)
            and not match.group(2).strip()
        )


@dataclass(frozen=True)
class _Cut:
    position: int
    fence: _Fence | None
    """The code block still open at `position`, or None."""


class Splitter:
    """Freezes parts of a growing text as soon as the current part would exceed `limit`.

    `feed(text)` takes the whole text so far (it only ever grows) and returns the parts
    frozen by this call; `current(text)` is the part still being written. A caller that has
    already shown the first `floor` characters of the current part passes `floor` so the cut
    never falls before them.
    """

    def __init__(self, limit: int = SLACK_TEXT_LIMIT) -> None:
        if limit < 4 * _CLOSE_RESERVE:
            raise ValueError(f"limit {limit} is too small to hold a code fence")
        self.limit = limit
        self.parts: list[str] = []
        self._offset = 0
        self._prefix = ""

    def current(self, text: str) -> str:
        return self._prefix + text[self._offset :]

    def feed(self, text: str, floor: int = 0) -> list[str]:
        frozen: list[str] = []
        while len(self.current(text)) > self.limit:
            body = text[self._offset :]
            budget = self.limit - len(self._prefix) - _CLOSE_RESERVE
            cut = _choose_cut(body, budget, max(0, floor - len(self._prefix)), self._fence_at_start)
            part = self._prefix + body[: cut.position]
            shown = max(floor, len(self._prefix))
            part = part[: max(len(part.rstrip()), shown)]
            if cut.fence:
                part += ("" if part.endswith("\n") else "\n") + cut.fence.marker
                self._prefix = cut.fence.opener + "\n"
            else:
                self._prefix = ""
            rest = body[cut.position :]
            self._offset += cut.position
            if not cut.fence:
                # A new message starts with content, not with the blank lines of the cut.
                self._offset += len(rest) - len(rest.lstrip("\n"))
            frozen.append(part)
            floor = 0
        self.parts.extend(frozen)
        return frozen

    def cut_at(self, text: str, shown: int) -> str:
        """Freeze the current part after its first `shown` characters, exactly: a streamed
        message that must end where it is (sealed, full, or too old). The next part starts
        with the very next character, so nothing is lost or shown twice; a code block open
        at the cut is reopened in the next part (the caller closes it where it can)."""
        current = self.current(text)
        shown = max(shown, len(self._prefix))
        part = current[:shown]
        self._offset += shown - len(self._prefix)
        fence = _fence_after(part)
        self._prefix = fence.opener + "\n" if fence else ""
        self.parts.append(part)
        return part

    def reopened_fence(self) -> str:
        """The marker that closes the code block the current part reopens ("" if none)."""
        fence = self._fence_at_start
        return fence.marker if fence else ""

    @property
    def _fence_at_start(self) -> _Fence | None:
        if not self._prefix:
            return None
        match = _FENCE.match(self._prefix.rstrip("\n"))
        return _Fence(match.group(1), self._prefix.rstrip("\n")) if match else None

    def streamable(self, text: str) -> int:
        """How much of `current(text)` may be shown now without risking a bad cut later."""
        current = self.current(text)
        if len(current) <= self.limit - _STREAM_MARGIN:
            return len(current)
        line_end = current.rfind("\n", 0, self.limit - _CLOSE_RESERVE) + 1
        return max(line_end, min(len(current), self.limit - _STREAM_MARGIN))


def split_text(text: str, limit: int = SLACK_TEXT_LIMIT) -> list[str]:
    """Split a complete Markdown or mrkdwn text into parts of at most `limit` characters."""
    splitter = Splitter(limit)
    splitter.feed(text)
    parts = [*splitter.parts, splitter.current(text)]
    return [part for part in parts if part.strip()]


def _fence_after(text: str) -> _Fence | None:
    """The code block still open at the end of `text`, or None."""
    fence: _Fence | None = None
    for line in text.splitlines():
        if fence is None:
            match = _FENCE.match(line)
            if match:
                fence = _Fence(match.group(1), line)
        elif fence.closes(line):
            fence = None
    return fence


def _choose_cut(body: str, budget: int, floor: int, fence: _Fence | None) -> _Cut:
    """The best place to cut `body` at or before `budget` and not before `floor`."""
    paragraph: _Cut | None = None
    fence_edge: _Cut | None = None
    line: _Cut | None = None
    position = 0
    for raw in body.splitlines(keepends=True):
        end = position + len(raw)
        if end > budget:
            break
        text = raw.rstrip("\n")
        if fence is None:
            match = _FENCE.match(text)
            if match:
                fence = _Fence(match.group(1), text)
                if position >= floor and position:
                    fence_edge = _Cut(position, None)
        elif fence.closes(text):
            fence = None
            if end >= floor:
                fence_edge = _Cut(end, None)
        blank = not text.strip()
        if end >= floor and raw.endswith("\n"):
            cut = _Cut(end, fence)
            line = cut
            if fence is None and blank:
                paragraph = cut
        position = end
    # A boundary in the first half would leave a tiny part: only use it if nothing better.
    for cut in (paragraph, fence_edge, line):
        if cut and cut.position >= budget // 2:
            return cut
    for cut in (paragraph, fence_edge, line):
        if cut:
            return cut
    return _Cut(_hard_cut(body, budget, floor), fence)


def _hard_cut(body: str, budget: int, floor: int) -> int:
    """No line end fits: cut after the last space, or mid-word if there is none."""
    space = body.rfind(" ", floor, budget)
    return space + 1 if space > floor else max(floor, budget)
