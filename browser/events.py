"""Typed events a turn emits beside its text deltas (pure: no Playwright, no I/O).

The stream of chatgpt.com's conversation endpoint says more than the answer's text: what the
model is doing (reasoning, searching, running a tool, drawing), the chat's title, which model
really answered, the sources it cited and the account's remaining quotas. The stream inbox
(`browser.decoder`) turns those into these small frozen values so every surface (API, Slack,
CLI) can show them the same way; `browser.contract` exposes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProgressKind = Literal["reasoning", "search", "tool", "image"]


@dataclass(frozen=True)
class Progress:
    """The model is busy with something that is not answer text yet."""

    kind: ProgressKind
    text: str = ""
    """A short human label: the reasoning recap ("Thought for 3s"), the tool's name..."""


@dataclass(frozen=True)
class Title:
    """The chat's title (`title_generation`); it may arrive after the answer finished."""

    text: str


@dataclass(frozen=True)
class ModelUsed:
    """The model that answered; `requested` is set when the server used another one."""

    slug: str
    requested: str | None = None


@dataclass(frozen=True)
class Citation:
    """A source the answer cites; the answer text carries it as a Markdown link."""

    url: str
    title: str


@dataclass(frozen=True)
class Quota:
    """One entry of `conversation_detail_metadata.limits_progress`."""

    feature: str
    remaining: int | None
    reset_after: str | None


@dataclass(frozen=True)
class Handoff:
    """The rest of the turn moved off this HTTP stream (`stream_handoff`)."""

    topic_id: str | None
    """The WebSocket topic (`subscribe_ws_topic`) the answer continues on."""
    resume_topic_id: str | None
    """The topic of the resume endpoint (`resume_sse_endpoint`), if offered."""


TurnEvent = Progress | Title | ModelUsed | Citation | Quota | Handoff


def last_model(events: list[TurnEvent]) -> str | None:
    """The model the latest `ModelUsed` names: the answer's last word on who answered."""
    used = [event.slug for event in events if isinstance(event, ModelUsed)]
    return used[-1] if used else None
