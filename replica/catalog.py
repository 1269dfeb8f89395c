"""The account's models as `GET /backend-api/models` lists them, and what a send asks for.

The picker's slider sends a model slug plus `thinking_effort` (docs/replica.md, "Models"):
Instant `gpt-5-6`; Medium/High/Very High `gpt-5-6-thinking` with `standard`/`extended`/
`max`; Pro `gpt-6-pro`. Older slugs stay listed so drivers and tests that pick them work.
"""

from __future__ import annotations

from typing import Any

EFFORTS = ("standard", "extended", "max")

MODELS: list[dict[str, Any]] = [
    {"slug": "gpt-5-6", "title": "GPT-5.6 Instant", "thinking_efforts": []},
    {
        "slug": "gpt-5-6-thinking",
        "title": "GPT-5.6 Thinking",
        "thinking_efforts": list(EFFORTS),
        "default_thinking_effort": "standard",
    },
    {"slug": "gpt-6-pro", "title": "GPT-6 Pro", "thinking_efforts": ["max"]},
    {"slug": "auto", "title": "Auto", "thinking_efforts": []},
    {"slug": "gpt-5", "title": "GPT-5", "thinking_efforts": []},
    {"slug": "gpt-5-thinking", "title": "GPT-5 Thinking", "thinking_efforts": list(EFFORTS)},
    {"slug": "gpt-4o", "title": "GPT-4o", "thinking_efforts": []},
]
DEFAULT_MODEL = "auto"


def thinks(slug: str) -> bool:
    """Does this model reason before it answers (a hidden reasoning phase)?"""
    return slug.endswith("-thinking") or slug.endswith("-pro")


def models_payload() -> dict[str, Any]:
    return {"models": MODELS, "default_model_slug": DEFAULT_MODEL}
