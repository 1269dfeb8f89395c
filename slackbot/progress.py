"""ChatGPT's steps before its answer (reasoning, a web search, a tool), as Slack task cards.

A thinking model can work for minutes before its first word. The turn's `Progress` events
say what it does; each becomes a task of the streamed message (`task_update` chunks of
`chat.startStream` / `appendStream`), in progress while it lasts and complete once the next
step or the answer's text begins, so the thread shows the work instead of a silent wait.
Slack replaces a task's title and status on each update, so only changes are sent; a task
still running when a message rolls over is sent again into the next one.
"""

from __future__ import annotations

from typing import Any

from browser.events import Progress

TITLE_LIMIT = 250
"""Slack cuts task titles near 256 characters."""

_TITLES = {
    "reasoning": "Thinking",
    "search": "Searching the web",
    "tool": "Using a tool",
    "image": "Making an image",
}


class Steps:
    """The answer's steps so far, and the task chunks not yet sent to Slack."""

    def __init__(self) -> None:
        self._running: dict[str, Any] | None = None
        self._count = 0
        self._unsent: list[dict[str, Any]] = []

    @property
    def pending(self) -> bool:
        """Chunks wait to be sent."""
        return bool(self._unsent)

    def note(self, event: Progress) -> None:
        """A progress event: the running step goes on (a new label) or the next begins."""
        title = (event.text or _TITLES.get(event.kind, "Working"))[:TITLE_LIMIT]
        running = self._running
        if running is not None and running["kind"] == event.kind:
            if event.text and running["title"] != title:
                running["title"] = title
                self._unsent.append(_chunk(running, "in_progress"))
            return
        self.finish()
        self._count += 1
        self._running = {"id": f"step-{self._count}", "kind": event.kind, "title": title}
        self._unsent.append(_chunk(self._running, "in_progress"))

    def finish(self) -> None:
        """The answer's text (or its end) arrived: the running step is complete."""
        if self._running is not None:
            self._unsent.append(_chunk(self._running, "complete"))
            self._running = None

    def take(self) -> list[dict[str, Any]]:
        """The chunks to send with the next stream call."""
        chunks, self._unsent = self._unsent, []
        return chunks

    def restore(self, chunks: list[dict[str, Any]]) -> None:
        """Chunks a failed call did not deliver go out with the next one."""
        self._unsent[:0] = chunks

    def replay(self) -> list[dict[str, Any]]:
        """A new message continues the answer: the step still running shows there too."""
        return [_chunk(self._running, "in_progress")] if self._running else []


def _chunk(step: dict[str, Any], status: str) -> dict[str, Any]:
    return {"type": "task_update", "id": step["id"], "title": step["title"], "status": status}
