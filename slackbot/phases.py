"""Where a Slack answer's time goes: one debug line per step, from the event to its first text.

An answer crosses the inbox, bolt, the job queue, the browser and the writer before its first
words show in the thread; when that takes long, the question is which step. Each step logs
one debug record on the `slackbot.phases` logger carrying its name (`phase`) and, once there
is one, the job's id (`job`), so a person can turn the logger on to see the timeline and a
benchmark (`bench/bench_speed.py`, its Slack row) can collect it with a handler. Off (the
default), a step costs one `isEnabledFor` check.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

RECEIVED = "received"
"""The event's request reached the Slack route (before its signature is checked)."""
STORED = "stored"
"""The event is committed to the inbox; its ack follows at once."""
DISPATCHED = "dispatched"
"""Bolt starts on the stored event."""
ACCEPTED = "accepted"
"""The question is a job, stored, and queued behind its thread."""
OPENED = "opened"
"""The thread shows the question was taken (its status, the Stop button)."""
ASKING = "asking"
"""The job's worker hands the prompt to the bridge (waits for a tab, types)."""
TAB = "tab"
"""A tab is the job's: the bridge types the prompt next (then presses Send)."""
FIRST_DELTA = "first delta"
"""ChatGPT's first answer text reached the job."""
FIRST_TEXT = "first text"
"""Slack answered the call that put the first answer text in the thread."""


def reached(phase: str, job: int | None = None) -> None:
    """Log that a Slack answer reached `phase` (when the logger is on)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s (job %s)", phase, job, extra={"phase": phase, "job": job})
