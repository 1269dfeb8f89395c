"""The composer's modes in real Chromium against the replica: web search.

What the page sent is the replica's record of the POST (`system_hints`); what came back is
the turn's events (`Citation`). A plan without search (the `web_search_unavailable` knob)
fails before anything is typed, and a mode the browser cannot choose yet is refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from browser import Bridge
from browser.contract import AskOptions
from browser.errors import WebAppError
from browser.events import Citation
from tests.fixtures.replica import FAST

pytestmark = pytest.mark.browser


async def _ask(bridge: Bridge, prompt: str, options: AskOptions) -> Any:
    async with bridge.ask(prompt, options=options) as turn:
        await turn.read()
    return turn


async def test_web_search_is_chosen_in_the_composer_and_cites(replica: Any, bridge: Bridge) -> None:
    await replica.configure(**FAST)
    turn = await _ask(bridge, "Latest replica news", AskOptions(web_search=True))
    sent = (await replica.sends())[-1]
    assert sent["prompt"] == "Latest replica news" and sent["system_hints"] == ["search"]
    cited = [event for event in turn.events if isinstance(event, Citation)]
    assert [c.url for c in cited] == ["https://search.replica.test/latest-replica-news"]
    # The pill is for one send: the follow-up without a choice searches no more.
    async with bridge.ask("And then?", conversation_id=turn.conversation_id) as plain:
        await plain.read()
    assert (await replica.sends())[-1]["system_hints"] == []
    assert not [event for event in plain.events if isinstance(event, Citation)]


async def test_a_plan_without_search_is_refused_before_typing(replica: Any, bridge: Bridge) -> None:
    await replica.configure(**FAST, web_search_unavailable=True)
    before = len(await replica.sends())
    with pytest.raises(WebAppError, match="offers no web search") as refused:
        # The plan is the page's at its load (a page knob): a temporary chat is a full load.
        async with bridge.ask("Search please", options=AskOptions(web_search=True), temporary=True):
            pass
    assert refused.value.delivered is False
    assert len(await replica.sends()) == before
    # The tab stays usable: the same question without search is answered.
    turn = await _ask(bridge, "Without search", AskOptions(web_search=False))
    assert turn.text and (await replica.sends())[-1]["system_hints"] == []
