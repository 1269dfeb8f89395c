"""The read-back: both stored shapes -> the answer to one user message, and the in-page fetch.

The bodies are written here, shaped like the public evidence:
- paginated `{messages: [...], current_node, page_info: {has_previous_page, start_cursor}}`,
  the messages of one exchange sharing `metadata.turn_exchange_id`, older pages behind
  `/conversations/{id}/messages?before=<cursor>` (KobaProduction/browser-extensions
  `docs/CHATGPT_RUNTIME_CONTRACTS.md`; an exporter's 2026-09-10 live finding; a peer's
  `page_info.has_previous_page` / `start_cursor` pagination);
- the older `{mapping: {id: {message, parent, children}}, current_node}` tree (Octo-Lex/
  ChatGPT-Web2API `docs/research/chatgpt-web-contract-2026-09.md`);
- citation markers `\\ue200cite\\ue202turn0search0\\ue201` with `metadata.content_references`
  entries naming their `matched_text` and `alt` (peers' parsers of the same stream).
The browser tests read back real conversations from the replica.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from browser import Bridge
from browser.readback import (
    NO_ANSWER_YET,
    StoredAnswer,
    older_cursor,
    read_back,
    resolve_references,
    stored_answer,
)

CITE = "\ue200cite\ue202turn0search0\ue201"


def message(
    message_id: str,
    role: str,
    text: str = "",
    *,
    exchange: str | None = None,
    content_type: str = "text",
    channel: str | None = None,
    recipient: str = "all",
    status: str = "finished_successfully",
    end_turn: bool | None = True,
    **metadata: Any,
) -> dict[str, Any]:
    if exchange is not None:
        metadata["turn_exchange_id"] = exchange
    found: dict[str, Any] = {
        "id": message_id,
        "author": {"role": role},
        "content": {"content_type": content_type, "parts": [text]},
        "status": status,
        "end_turn": end_turn if role == "assistant" else None,
        "recipient": recipient,
        "metadata": metadata,
    }
    if channel is not None:
        found["channel"] = channel
    return found


def exchange(
    user_id: str, answer: str, *, exchange_id: str, model: str = "gpt-5-6", **answer_options: Any
) -> list[dict[str, Any]]:
    """One turn as the paginated shape stores it: user, hidden context, reasoning, answer."""
    return [
        message(user_id, "user", f"question {user_id}", exchange=exchange_id),
        message(
            f"{user_id}-ctx",
            "system",
            "context",
            exchange=exchange_id,
            is_visually_hidden_from_conversation=True,
        ),
        message(
            f"{user_id}-think",
            "assistant",
            "thinking...",
            exchange=exchange_id,
            content_type="thoughts",
            channel="analysis",
            end_turn=None,
        ),
        message(
            f"{user_id}-answer",
            "assistant",
            answer,
            exchange=exchange_id,
            channel="final",
            model_slug=model,
            **answer_options,
        ),
    ]


def page(*turns: list[dict[str, Any]], cursor: str | None = None) -> dict[str, Any]:
    messages = [m for turn in turns for m in turn]
    return {
        "conversation_id": "c1",
        "messages": messages,
        "current_node": messages[-1]["id"] if messages else None,
        "page_info": {"has_previous_page": cursor is not None, "start_cursor": cursor},
    }


def tree(*chain: dict[str, Any], branches: dict[str, list[dict[str, Any]]] | None = None) -> Any:
    """A mapping tree along `chain`; `branches[id]` adds older siblings below node `id`."""
    mapping: dict[str, Any] = {"root": {"id": "root", "message": None, "parent": None}}
    parent = "root"
    for item in chain:
        for old in (branches or {}).get(parent, []):
            mapping[old["id"]] = {"id": old["id"], "message": old, "parent": parent}
            mapping[parent].setdefault("children", []).append(old["id"])
        mapping[item["id"]] = {"id": item["id"], "message": item, "parent": parent}
        mapping[parent].setdefault("children", []).append(item["id"])
        parent = item["id"]
    return {"mapping": mapping, "current_node": parent}


# --- the paginated shape --------------------------------------------------------------------


def test_the_answer_of_our_exchange_not_a_neighbour() -> None:
    body = page(
        exchange("u1", "First answer", exchange_id="t1"),
        exchange("u2", "Second answer", exchange_id="t2", model="gpt-5-6-thinking"),
        exchange("u3", "Third answer", exchange_id="t3"),
    )
    assert stored_answer(body, "u2") == StoredAnswer(
        "Second answer", True, "gpt-5-6-thinking", "u2-answer"
    )
    assert stored_answer(body, None) == StoredAnswer("Third answer", True, "gpt-5-6", "u3-answer")


def test_only_the_final_channel_answer_counts() -> None:
    turn = exchange("u1", "The reply", exchange_id="t1")
    turn[3:3] = [
        message("call", "assistant", '{"q": "x"}', exchange="t1", recipient="web.run"),
        message("tool", "tool", "results", exchange="t1"),
        message("pre", "assistant", "Let me look that up.", exchange="t1", channel="final"),
    ]
    found = stored_answer(page(turn), "u1")
    assert found is not None and found.text == "The reply" and found.message_id == "u1-answer"


def test_resolved_model_slug_wins() -> None:
    body = page(exchange("u1", "Hi", exchange_id="t1", resolved_model_slug="gpt-5-6-mini"))
    assert stored_answer(body, "u1").model == "gpt-5-6-mini"


def test_an_unfinished_or_missing_answer() -> None:
    running = page(
        exchange("u1", "Half an ans", exchange_id="t1", status="in_progress", end_turn=None)
    )
    assert stored_answer(running, "u1") == StoredAnswer(
        "Half an ans", False, "gpt-5-6", "u1-answer"
    )
    only_question = page([message("u1", "user", "hello?", exchange="t1")])
    assert stored_answer(only_question, "u1") is NO_ANSWER_YET


def test_a_user_message_not_on_this_page_asks_for_an_older_one() -> None:
    body = page(exchange("u9", "Newest", exchange_id="t9"), cursor="cursor-2")
    assert stored_answer(body, "u1") is None
    assert older_cursor(body) == "cursor-2"
    assert older_cursor(page(exchange("u1", "x", exchange_id="t1"))) is None


def test_messages_of_another_exchange_are_skipped() -> None:
    # A late message of an older exchange (an async image, a title) lands between ours.
    turn = exchange("u2", "Ours", exchange_id="t2")
    turn.insert(1, message("late", "assistant", "Not ours", exchange="t1", channel="final"))
    assert stored_answer(page(turn), "u2").text == "Ours"


# --- the mapping tree -----------------------------------------------------------------------


def test_the_tree_follows_the_newest_branch_below_our_message() -> None:
    user = message("u1", "user", "question")
    answer = message("a1-new", "assistant", "Regenerated answer", model_slug="gpt-5-6")
    old = message("a1-old", "assistant", "Old answer")
    next_user = message("u2", "user", "next")
    next_answer = message("a2", "assistant", "Next answer")
    body = tree(user, answer, next_user, next_answer, branches={"u1": [old]})
    assert stored_answer(body, "u1") == StoredAnswer(
        "Regenerated answer", True, "gpt-5-6", "a1-new"
    )
    assert stored_answer(body, None).text == "Next answer"
    assert stored_answer(body, "unknown") is None


def test_the_tree_skips_thoughts_and_hidden_messages() -> None:
    body = tree(
        message("u1", "user", "question"),
        message("t", "assistant", "thinking", content_type="thoughts", channel="analysis"),
        message("r", "assistant", "Thought for 3s", content_type="reasoning_recap"),
        message("a", "assistant", "Answer " + CITE, channel="final"),
    )
    assert stored_answer(body, "u1").text == "Answer "


# --- citations ------------------------------------------------------------------------------


def test_references_are_replaced_by_what_the_page_shows() -> None:
    refs = [
        {"matched_text": CITE, "type": "grouped_webpages", "alt": "([Example](https://x.test))"},
        {"matched_text": "\ue200hidden\ue202x\ue201", "type": "hidden", "alt": "never shown"},
    ]
    text = f"Fact {CITE}. More\ue200hidden\ue202x\ue201. Unknown \ue200cite\ue202turn9\ue201end"
    assert resolve_references(text, refs) == "Fact ([Example](https://x.test)). More. Unknown end"
    assert resolve_references("plain\ue202", None) == "plain"


def test_references_in_a_stored_answer_are_resolved() -> None:
    refs = [{"matched_text": CITE, "alt": "[1](https://x.test)"}]
    body = page(exchange("u1", f"See {CITE}", exchange_id="t1", content_references=refs))
    assert stored_answer(body, "u1").text == "See [1](https://x.test)"


# --- answers that live elsewhere: a canvas, a deep-research report -----------------------
# Shaped like an exporter's parser of the stored payload (2026, `conversation-parser.js`):
# canvas calls to `canmore.create_textdoc` / `canmore.update_textdoc`, the deep-research
# widget of `connector_openai_deep_research`, the older `deepresch_` task message.


def canvas_call(message_id: str, recipient: str, call: dict[str, Any]) -> dict[str, Any]:
    return message(
        message_id,
        "assistant",
        json.dumps(call),
        exchange="e1",
        recipient=recipient,
        end_turn=False,
    )


def test_an_answer_written_into_a_canvas_is_read_from_it() -> None:
    turn = [
        message("u1", "user", "write me a script", exchange="e1"),
        canvas_call(
            "c1",
            "canmore.create_textdoc",
            {"name": "fizz", "type": "code/python", "content": "print('fizz')\nprint(1)"},
        ),
        message("t1", "tool", "", exchange="e1", canvas={"textdoc_id": "doc-1"}),
        canvas_call(
            "c2",
            "canmore.update_textdoc",
            {
                "updates": [
                    {"pattern": "print\\(1\\)", "multiple": False, "replacement": "print(2)"},
                    {"pattern": "([unclosed", "replacement": "ignored"},
                ]
            },
        ),
        message("a1", "assistant", "", exchange="e1", channel="final", model_slug="gpt-5-6"),
    ]
    found = stored_answer(page(turn), "u1")
    assert found is not None and found.finished
    assert found.text == "**fizz**\n\n```python\nprint('fizz')\nprint(2)\n```"


def test_a_short_reply_next_to_a_canvas_keeps_both() -> None:
    turn = [
        message("u1", "user", "draft a letter", exchange="e1"),
        canvas_call(
            "c1",
            "canmore.create_textdoc",
            {"name": "Letter", "type": "document", "content": "Dear Ada,"},
        ),
        message("a1", "assistant", "Here is a draft.", exchange="e1", channel="final"),
    ]
    found = stored_answer(page(turn), "u1")
    assert found is not None and found.text == "Here is a draft.\n\n**Letter**\n\nDear Ada,"


def test_a_deep_research_report_is_the_answer_once_complete() -> None:
    def widget(status: str) -> dict[str, Any]:
        state = {
            "status": status,
            "report_message": {
                "content": {"parts": [f"# Report {CITE}"]},
                "metadata": {"content_references": [{"matched_text": CITE, "alt": "[1]"}]},
            },
        }
        sdk = {
            "attribution_id": "connector_openai_deep_research",
            "widget_state": json.dumps(state),
        }
        return message("w1", "assistant", "", exchange="e1", recipient="all", chatgpt_sdk=sdk)

    preamble = message("a0", "assistant", "Starting research.", exchange="e1", channel="final")
    user_message = message("u1", "user", "research X", exchange="e1")
    running = stored_answer(page([user_message, preamble, widget("in_progress")]), "u1")
    assert running is not None and running.text == "Starting research."
    done = stored_answer(page([user_message, preamble, widget("completed")]), "u1")
    assert done is not None and done.text == "# Report [1]"
    legacy = message(
        "r1",
        "assistant",
        "# Old report",
        exchange="e1",
        channel="final",
        async_task_id="deepresch_123",
    )
    older = stored_answer(page([user_message, preamble, legacy]), "u1")
    assert older is not None and older.text == "# Old report"


def test_other_bodies_hold_no_answer() -> None:
    assert stored_answer(None, "u1") is None
    assert stored_answer({"detail": "Not found"}, "u1") is None


# --- in the page ----------------------------------------------------------------------------


@pytest.mark.browser
async def test_read_back_of_a_real_conversation(bridge: Bridge, replica: Any) -> None:
    async with bridge.ask("First question words:12") as first:
        await first.read()
    async with bridge.ask("Second question words:15", first.conversation_id) as second:
        await second.read()
    tab = next(t for t in bridge.pool.tabs if t.conversation_id == second.conversation_id)
    stored = await replica.conversation(second.conversation_id)
    found = await read_back(tab.page, second.conversation_id, second.user_message_id)
    assert found.finished and found.text == stored["messages"][-1]["text"] == second.text
    older = await read_back(tab.page, first.conversation_id, first.user_message_id)
    assert older.text == first.text != found.text


@pytest.mark.browser
async def test_read_back_of_an_unknown_conversation_fails(bridge: Bridge) -> None:
    async with bridge.ask("Anything words:3") as turn:
        await turn.read()
    tab = next(t for t in bridge.pool.tabs if t.conversation_id == turn.conversation_id)
    with pytest.raises(LookupError):
        await read_back(tab.page, "00000000-0000-0000-0000-000000000000", None)


@pytest.mark.browser
async def test_the_read_back_wins_over_a_stream_that_differs(
    make_bridge: Any, replica: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The page receives a garbled answer; the stored one is what the caller gets."""
    await replica.configure(chunk_chars=1000)  # the whole answer in one frame
    own = await make_bridge(replica.url)

    async def garble(route: Any) -> None:
        response = await route.fetch()
        body = (await response.text()).replace("User messages so far", "User massages so far")
        await route.fulfill(response=response, body=body)

    await own.session.context.route("**/backend-api/f/conversation", garble)
    with caplog.at_level("WARNING", logger="browser.turn"):
        async with own.ask("Check me against the store") as turn:
            deltas = "".join([delta async for delta in turn])
    stored = (await replica.conversation(turn.conversation_id))["messages"][-1]["text"]
    assert "User massages" in deltas, "the page really streamed the garbled text"
    assert turn.text == stored and "User messages so far" in turn.text
    assert "differs from what streamed" in caplog.text
