"""Asking through a real Chromium against the replica: streaming, fidelity, context, cancel."""

from __future__ import annotations

import time
from typing import Any

import pytest

from browser import Bridge, selectors
from browser.page import press, probe
from replica.model import thoughts

pytestmark = pytest.mark.browser

RICH = "Show me everything markdown:rich markdown:code markdown:table markdown:lists"


async def ask_all(bridge: Bridge, prompt: str, **options: Any) -> tuple[Any, list[str]]:
    async with bridge.ask(prompt, **options) as turn:
        deltas = [delta async for delta in turn]
    return turn, deltas


async def stored_answer(replica: Any, conversation_id: str) -> dict[str, Any]:
    conversation = await replica.conversation(conversation_id)
    return conversation["messages"][-1]


async def test_streams_deltas_as_they_arrive(bridge: Bridge, replica: Any) -> None:
    await replica.configure(ttft_ms=50, chunk_delay_ms=60, chunk_chars=10)
    arrivals: list[float] = []
    started = time.monotonic()
    async with bridge.ask("Tell me a story words:120") as turn:
        async for _delta in turn:
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) > 20, "the answer must arrive in many pieces, not at the end"
    # ~70 chunks 60 ms apart: the first piece comes seconds before the last.
    assert arrivals[-1] - arrivals[0] > 2.0
    assert turn.finish_reason == "stop"
    assert turn.text == (await stored_answer(replica, turn.conversation_id))["text"]


async def test_markdown_is_byte_for_byte_the_answer(bridge: Bridge, replica: Any) -> None:
    turn, deltas = await ask_all(bridge, RICH)
    stored = await stored_answer(replica, turn.conversation_id)
    assert stored["role"] == "assistant"
    assert turn.text == stored["text"]
    assert "".join(deltas) == turn.text
    for piece in ("```python", "| ", "\n   - ", "**", "](http"):
        assert piece in turn.text, piece
    assert turn.model == "auto" and turn.conversation_id and turn.title


async def test_json_answer(bridge: Bridge, replica: Any) -> None:
    turn, _ = await ask_all(bridge, "Reply in valid JSON please")
    assert turn.text.startswith("```json\n{")
    assert turn.text == (await stored_answer(replica, turn.conversation_id))["text"]


async def test_follow_up_keeps_the_context(bridge: Bridge, replica: Any) -> None:
    first, _ = await ask_all(bridge, "Remember the number 7")
    second, _ = await ask_all(bridge, "What was it?", conversation_id=first.conversation_id)
    assert second.conversation_id == first.conversation_id
    assert second.text.startswith("Model: auto. User messages so far: 2.")
    conversation = await replica.conversation(first.conversation_id)
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"] * 2
    assert conversation["messages"][-1]["text"] == second.text


async def test_new_chat_with_model_and_temporary(bridge: Bridge, replica: Any) -> None:
    turn, _ = await ask_all(bridge, "Who are you?", model="gpt-5", temporary=True)
    assert turn.model == "gpt-5"
    assert turn.text.startswith("Model: gpt-5. User messages so far: 1.")
    send = (await replica.sends())[-1]
    assert send["model"] == "gpt-5" and send["temporary"] is True
    assert send["message_id"] == turn.user_message_id
    conversation = await replica.conversation(turn.conversation_id)
    assert conversation["temporary"] is True


async def test_model_switch_on_follow_up(bridge: Bridge, replica: Any) -> None:
    first, _ = await ask_all(bridge, "Start", model="gpt-4o")
    second, _ = await ask_all(
        bridge, "Continue", conversation_id=first.conversation_id, model="gpt-5"
    )
    assert second.text.startswith("Model: gpt-5. User messages so far: 2.")
    assert (await replica.sends())[-1]["model"] == "gpt-5"


async def test_long_unicode_prompt_is_typed_exactly(bridge: Bridge, replica: Any) -> None:
    block = (
        "Ünïcödé façade — naïve café; 日本語のテキスト; עברית; Ελληνικά; 👩‍👩‍👧‍👦 🏳️‍🌈 🚀✨\n"
        "def f(x):\n\treturn {'a': [x, \"b\"], 'c': `tick`}  # <html> & \\escapes\\\n"
        "\n\n"
        "| col | val |\n|-----|-----|\n| e\u0301 | ∑∫√∞ |\n"
        "    indented    spaces   kept\n"
    )
    prompt = "Start of a long prompt.\n" + block * 100 + "End."
    assert 20_000 < len(prompt.encode()) < 40_000
    turn, _ = await ask_all(bridge, prompt)
    send = (await replica.sends())[-1]
    assert send["prompt"] == prompt
    conversation = await replica.conversation(turn.conversation_id)
    assert conversation["messages"][0]["text"] == prompt
    assert turn.finish_reason == "stop"


_RECORD_CLICKS_JS = """
() => {
  window.__clicks = [];
  document.addEventListener("click", (event) => window.__clicks.push({
    trusted: event.isTrusted, composer: !!event.target.closest("[contenteditable]"),
  }), true);
}
"""


async def test_controls_are_clicked_at_once_only_when_ready(bridge: Bridge, replica: Any) -> None:
    """`press`: trusted mouse input without Playwright's waits, and no click on a control
    that is focused already, covered or disabled (the caller's waiting click follows)."""
    await ask_all(bridge, "Open a chat")
    async with bridge.pool.lease() as tab:
        assert tab is not None
        page = tab.page
        tab.clean = False  # drafts and a disabled button follow: the next turn loads afresh
        await page.evaluate(_RECORD_CLICKS_JS)
        await page.evaluate("document.activeElement && document.activeElement.blur()")
        assert await press(page, "composer", unless_focused=True)
        assert await page.evaluate("window.__clicks") == [{"trusted": True, "composer": True}]
        assert await press(page, "composer", unless_focused=True)  # the caret is in it now
        assert len(await page.evaluate("window.__clicks")) == 1
        cover = "position:fixed;inset:0;z-index:2147483647"
        await page.evaluate(
            f"document.body.insertAdjacentHTML('beforeend', '<div id=cover style={cover}></div>')"
        )
        assert not await press(page, "composer")
        await page.evaluate("document.getElementById('cover').remove()")
        await page.keyboard.insert_text("a draft, never sent")
        sends = len(await replica.sends())
        disable = "(sel) => document.querySelectorAll(sel).forEach((b) => { b.disabled = true; })"
        await page.evaluate(disable, selectors.css("send"))
        assert not await press(page, "send")
        assert len(await page.evaluate("window.__clicks")) == 1
        assert len(await replica.sends()) == sends


async def test_thinking_model_answer_excludes_thoughts(bridge: Bridge, replica: Any) -> None:
    await replica.configure(thinking=True)
    prompt = "Think first markdown:lists"
    turn, deltas = await ask_all(bridge, prompt, model="gpt-5-thinking")
    answer = (await replica.conversation(turn.conversation_id))["messages"][-1]
    assert answer["role"] == "assistant"
    assert turn.text == answer["text"] == "".join(deltas)
    assert turn.text.startswith("Model: gpt-5-thinking.")
    streamed_thoughts = thoughts(prompt)
    assert streamed_thoughts and streamed_thoughts[:40] not in turn.text


async def test_page_quirks_do_not_fool_the_tap(bridge: Bridge, replica: Any) -> None:
    """Flickering stop button, empty `.markdown`, `<article>` turns: the stream decides."""
    await replica.configure(flicker_stop=True, markdown_empty_until_settled=True, use_article=True)
    turn, _ = await ask_all(bridge, "Quirky markdown:code words:30")
    assert turn.text == (await stored_answer(replica, turn.conversation_id))["text"]


async def test_dom_fallback_when_the_tap_sees_nothing(bridge: Bridge, replica: Any) -> None:
    first, _ = await ask_all(bridge, "Open a chat")
    tab = next(t for t in bridge.pool.tabs if t.conversation_id == first.conversation_id)
    # The web app changed its network layer: our fetch wrapper is bypassed on this tab.
    await tab.page.evaluate("window.fetch = window.fetch.__wrapped__")
    await replica.configure(markdown_empty_until_settled=True, use_article=True)
    second, deltas = await ask_all(
        bridge, "Now markdown:rich", conversation_id=first.conversation_id
    )
    stored = await stored_answer(replica, first.conversation_id)
    assert second.text == stored["text"]
    assert "".join(deltas) == second.text
    assert second.text.startswith("Model: auto. User messages so far: 2.")
    assert second.finish_reason == "stop"


async def test_cancel_keeps_the_partial_answer(bridge: Bridge, replica: Any) -> None:
    await replica.configure(chunk_delay_ms=80, chunk_chars=8)
    async with bridge.ask("Long one words:400") as turn:
        async for _delta in turn:
            if len(turn.text) > 60:
                await turn.cancel()
        assert turn.finish_reason == "cancelled"
    stored = await stored_answer(replica, turn.conversation_id)
    assert stored["status"] == "finished_partial_completion"
    assert stored["text"] == turn.text
    assert 60 < len(turn.text) < 1500


async def test_leaving_early_stops_the_answer_and_frees_the_tab(
    bridge: Bridge, replica: Any
) -> None:
    await replica.configure(chunk_delay_ms=80, chunk_chars=8)
    async with bridge.ask("Long one words:400") as turn:
        async for _delta in turn:
            if turn.conversation_id:
                break
    stored = await stored_answer(replica, turn.conversation_id)
    assert stored["status"] == "finished_partial_completion"
    assert bridge.stats()["tabs_busy"] == 0
    await replica.configure(chunk_delay_ms=15, chunk_chars=12)
    follow, _ = await ask_all(bridge, "And now?", conversation_id=turn.conversation_id)
    # The model is whatever the reopened chat's picker holds: only the context matters here.
    assert "User messages so far: 2." in follow.text.split("\n")[0]


async def test_weak_challenge_evidence_is_not_a_challenge(bridge: Bridge, replica: Any) -> None:
    assert (await bridge.state()).value == "ready"
    tab = bridge.pool.tabs[0]
    assert await tab.page.locator('script[src*="/challenge-platform/"]').count() > 0
    assert (await probe(tab.page)).challenge == "weak"
