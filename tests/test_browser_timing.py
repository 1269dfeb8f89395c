"""A request's phase marks: one record per timeline when listened to, nothing otherwise."""

from __future__ import annotations

import asyncio
import logging

import pytest

from browser import timing


async def _turn() -> None:
    """A turn's task: created after `begin()`, so it inherits the timeline."""
    timing.mark("typed")
    await asyncio.sleep(0)
    timing.mark("typed")  # only the first end of a phase counts
    timing.mark("page_request", at_ms=1.0)


async def test_marks_in_the_turns_tasks_reach_one_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=timing.logger.name)
    timing.begin()
    await asyncio.create_task(_turn())
    timing.report("first_chunk")
    timing.report("first_chunk")  # once: the timeline ended with the first
    [record] = [r for r in caplog.records if r.name == timing.logger.name]
    phases = record.phases  # type: ignore[attr-defined]
    assert list(phases) == [timing.REQUEST, "typed", "page_request", "first_chunk"]
    assert phases["page_request"] == 1.0
    assert phases[timing.REQUEST] <= phases["typed"] <= phases["first_chunk"]
    timing.mark("late")  # after the report: the logged phases stay as they were
    assert "late" not in phases


async def test_quiet_by_default(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=timing.logger.name)
    timing.begin()
    await asyncio.create_task(_turn())
    timing.report("first_chunk")
    assert not [r for r in caplog.records if r.name == timing.logger.name]
