"""The model-id grammar (`slug[@effort]`) and the account's list, as every surface reads them."""

from __future__ import annotations

import pytest

from browser.contract import AskOptions, ask_options
from browser.models import (
    ModelId,
    ModelIdError,
    ModelInfo,
    all_ids,
    format_model_id,
    mismatch_note,
    models_from_payload,
    parse_model_id,
    resolve_model_id,
)
from replica.catalog import models_payload

ACCOUNT = models_from_payload(models_payload())


def test_a_model_id_is_a_slug_and_an_optional_effort() -> None:
    assert parse_model_id("gpt-5-6-thinking@extended") == ModelId("gpt-5-6-thinking", "extended")
    assert parse_model_id(" gpt-5.5 ") == ModelId("gpt-5.5")
    assert str(ModelId("gpt-6-pro", "max")) == "gpt-6-pro@max"
    assert format_model_id("auto") == "auto"


@pytest.mark.parametrize("text", ["", "@max", "gpt-5@", "gpt 5", "models/gpt-5"])
def test_a_malformed_id_says_how_to_write_one(text: str) -> None:
    with pytest.raises(ModelIdError, match="slug, optionally followed by @<effort>"):
        parse_model_id(text)


def test_the_account_list_gives_each_slug_and_its_efforts() -> None:
    thinking = next(info for info in ACCOUNT if info.slug == "gpt-5-6-thinking")
    assert thinking == ModelInfo(
        "gpt-5-6-thinking", "GPT-5.6 Thinking", ("standard", "extended", "max"), "standard"
    )
    assert all_ids(ACCOUNT)[:5] == [
        "gpt-5-6",
        "gpt-5-6-thinking",
        "gpt-5-6-thinking@standard",
        "gpt-5-6-thinking@extended",
        "gpt-5-6-thinking@max",
    ]


def test_odd_entries_of_the_list_are_skipped() -> None:
    body = {"models": [{"slug": "a"}, {"title": "no slug"}, "junk", {"slug": "a"}]}
    assert models_from_payload(body) == [ModelInfo("a", "a")]
    assert models_from_payload(None) == []


def test_resolving_checks_the_slug_and_the_effort_against_the_account() -> None:
    assert resolve_model_id("gpt-5-6-thinking@max", ACCOUNT) == ModelId("gpt-5-6-thinking", "max")
    with pytest.raises(ModelIdError, match=r"no model 'gpt-9'\. Choose one of: gpt-5-6, "):
        resolve_model_id("gpt-9", ACCOUNT)
    with pytest.raises(ModelIdError, match=r"no effort 'huge'.*gpt-5-6-thinking@standard"):
        resolve_model_id("gpt-5-6-thinking@huge", ACCOUNT)
    with pytest.raises(ModelIdError, match="it has no effort levels"):
        resolve_model_id("gpt-4o@max", ACCOUNT)


def test_a_mismatch_is_noted_unless_chatgpt_was_asked_to_choose() -> None:
    assert mismatch_note("gpt-5-6-thinking@max", "gpt-5-6") == (
        "ChatGPT answered with gpt-5-6, not gpt-5-6-thinking@max as asked."
    )
    assert mismatch_note("gpt-5-6-thinking@max", "gpt-5-6-thinking") is None
    assert mismatch_note("auto", "gpt-5-6") is None
    assert mismatch_note("gpt-5", None) is None


def test_ask_options_take_the_short_model_form_or_the_whole_value() -> None:
    assert ask_options("gpt-5", None) == AskOptions(model="gpt-5")
    full = AskOptions(model="gpt-5-6-thinking", effort="max")
    assert ask_options(None, full) is full
    assert ask_options("gpt-5-6-thinking", full) == full
    with pytest.raises(ValueError, match="model='gpt-5'"):
        ask_options("gpt-5", full)
