"""URL shapes of the web app and the page texts the bridge interprets (no browser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings
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


def test_layers_put_structure_before_labels() -> None:
    composer = selectors.layers("composer")
    assert composer[0].startswith("form[data-chatgpt-composer]")
    assert all('contenteditable="true"' in layer for layer in composer), "never the textarea"
    assert selectors.layers("model_trigger")[0] == "button[data-codex-intelligence-trigger]"
    assert 'button[aria-label="ChatGPT 모델 선택"]' in selectors.layers("model_trigger")
    assert set(selectors.layered()) == set(selectors.DEFAULTS)


def test_a_selectors_file_prepends_layers(tmp_path: Path) -> None:
    fix = tmp_path / "selectors.json"
    fix.write_text('{"composer": ["div#new-composer"], "send": "button.go"}')
    try:
        selectors.use_file(fix)
        assert selectors.layers("composer") == ("div#new-composer", *selectors.COMPOSER)
        assert selectors.css("send").startswith("button.go, ")
        assert selectors.page_selectors()["composer"] == selectors.css("composer")
    finally:
        selectors.use_file(None)
    assert selectors.layers("composer") == selectors.COMPOSER


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{composer: x}", "is not valid JSON"),
        ('["div"]', "must hold a JSON object"),
        ('{"composr": ["div"]}', "unknown selector name(s) composr"),
        ('{"composer": []}', "'composer' must be a CSS selector or a list"),
        ('{"composer": ["div", 3]}', "'composer' must be a CSS selector or a list"),
    ],
)
def test_a_bad_selectors_file_is_a_clear_startup_error(
    tmp_path: Path, content: str, problem: str
) -> None:
    fix = tmp_path / "selectors.json"
    fix.write_text(content)
    with pytest.raises(selectors.SelectorsFileError, match=re.escape(problem)) as error:
        selectors.read_file(fix)
    assert str(fix) in str(error.value)
    with pytest.raises(ValidationError, match="BRIDGE_SELECTORS_FILE") as invalid:
        Settings(_env_file=None, BRIDGE_SELECTORS_FILE=str(fix))
    assert str(fix) in str(invalid.value) and problem in str(invalid.value)


def test_a_missing_selectors_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(selectors.SelectorsFileError, match="cannot be read"):
        selectors.read_file(tmp_path / "nope.json")
    good = tmp_path / "ok.json"
    good.write_text('{"stop": ["button.halt"]}')
    assert Settings(_env_file=None, BRIDGE_SELECTORS_FILE=str(good)).selectors_file == good
