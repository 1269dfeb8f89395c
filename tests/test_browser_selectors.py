"""URL shapes of the web app and the page texts the bridge interprets (no browser)."""

from __future__ import annotations

from browser import selectors
from browser.faults import retry_after_from_text


def test_conversation_id_from_url() -> None:
    uuid = "6f1c8e2a-3b0d-4a4e-9d2f-0c1e5b7a9f10"
    assert selectors.conversation_id_from_url(f"https://chatgpt.com/c/{uuid}") == uuid
    assert selectors.conversation_id_from_url(f"https://chatgpt.com/c/WEB:{uuid}") == uuid
    assert selectors.conversation_id_from_url(f"https://chatgpt.com/g/g-abc-x/c/{uuid}") == uuid
    assert selectors.conversation_id_from_url(f"http://127.0.0.1:9/c/{uuid}?model=gpt-5") == uuid
    assert selectors.conversation_id_from_url("https://chatgpt.com/?model=auto") is None
    assert selectors.conversation_id_from_url("about:blank") is None


def test_new_chat_paths() -> None:
    assert selectors.new_chat_path("gpt-5", False) == "/?model=gpt-5"
    assert selectors.new_chat_path("auto", True) == "/?model=auto&temporary-chat=true"
    assert selectors.new_chat_path(None, False) == "/"
    assert selectors.conversation_path("abc") == "/c/abc"


def test_every_layer_is_one_css_list() -> None:
    for name, value in vars(selectors).items():
        if name.isupper() and isinstance(value, tuple) and value and name != "CHALLENGE_TITLES":
            assert all(isinstance(layer, str) and layer for layer in value), name
    assert selectors.any_of(("a", "b")) == "a, b"
    assert selectors.model_item("gpt-5")[0] == (
        '[role="menuitemradio"][data-testid="model-switcher-gpt-5"]'
    )


def test_retry_after_from_page_texts() -> None:
    assert retry_after_from_text("Too many requests. Try again in 20 minutes.") == 1200
    assert retry_after_from_text("You've reached our limit. Please try again in 3 hours") == 10800
    assert retry_after_from_text("Wait 45 seconds") == 45
    assert retry_after_from_text("You're making requests too quickly.") is None
