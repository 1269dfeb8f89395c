"""The read-back of an image turn (pure): still drawing, then its pictures' pointers."""

from __future__ import annotations

from typing import Any

from browser.generated import Asset, assets_in, file_name
from browser.readback import stored_answer


def exchange(status: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    user = {"id": "u1", "author": {"role": "user"}, "content": {"parts": ["Draw a fox"]}}
    tool = {
        "id": "t1",
        "author": {"role": "tool", "name": "image_gen"},
        "content": {"content_type": "multimodal_text", "parts": parts},
        "status": status,
        "metadata": {"model_slug": "gpt-5", "image_gen_title": "A fox"},
    }
    return {"messages": [user, tool]}


POINTER = {"content_type": "image_asset_pointer", "asset_pointer": "sediment://file_abc"}


def test_an_image_turn_is_unfinished_while_drawing() -> None:
    found = stored_answer(exchange("in_progress", []), "u1")
    assert found is not None and not found.finished and found.assets == ()


def test_a_drawn_picture_finishes_the_turn_with_its_pointer() -> None:
    found = stored_answer(exchange("finished_successfully", [POINTER]), "u1")
    assert found is not None and found.finished and found.text == ""
    assert found.assets == (Asset("file_abc", "A fox"),) and found.model == "gpt-5"


def test_the_tool_prompt_is_the_alt_text_and_pointers_count_once() -> None:
    part = {**POINTER, "metadata": {"dalle": {"prompt": "a red fox, watercolour"}}}
    legacy = {"content_type": "image_asset_pointer", "asset_pointer": "file-service://file-9"}
    messages = [{"content": {"parts": [part, POINTER, legacy, "text"]}, "metadata": {}}]
    assert assets_in(messages) == (Asset("file_abc", "a red fox, watercolour"), Asset("file-9", ""))
    assert file_name("file_abc", "image/png") == "file_abc.png"
