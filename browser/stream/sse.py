"""Incremental `text/event-stream` parsing: any chunk boundary, LF, CRLF or CR line ends."""

from __future__ import annotations


class SSEParser:
    """Incremental `text/event-stream` parser: feed text, get `(event, data)` pairs."""

    def __init__(self) -> None:
        self._buffer = ""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, text: str) -> list[tuple[str | None, str]]:
        self._buffer += text
        events: list[tuple[str | None, str]] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return events
            line, self._buffer = self._buffer[: cut[0]], self._buffer[cut[1] :]
            self._line(line, events)

    def close(self) -> list[tuple[str | None, str]]:
        """The stream ended: a last event without its blank line still counts."""
        events: list[tuple[str | None, str]] = []
        if self._buffer:
            self._line(self._buffer, events)
            self._buffer = ""
        self._line("", events)
        return events

    def _line(self, line: str, events: list[tuple[str | None, str]]) -> None:
        if not line:
            if self._data:
                events.append((self._event, "\n".join(self._data)))
            self._event, self._data = None, []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)


def _line_end(buffer: str) -> tuple[int, int] | None:
    """Position and length-inclusive end of the first complete line (\\n, \\r\\n or \\r)."""
    for index, char in enumerate(buffer):
        if char == "\n":
            return index, index + 1
        if char == "\r":
            if index + 1 == len(buffer):
                return None  # a "\n" may follow in the next chunk
            return index, index + (2 if buffer[index + 1] == "\n" else 1)
    return None
