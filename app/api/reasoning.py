"""OpenAI's `reasoning.effort` words -> the thinking efforts a ChatGPT model offers.

OpenAI's scale is fixed and ordered (`none` ... `max`); ChatGPT's is the account's own list
per model (`thinking_efforts`, lowest first, e.g. `standard`, `extended`, `max`, the picker's
Medium, High and Very High: docs/replica.md "Models"). Naming ChatGPT's words here would be
the hard-coded table `browser/models.py` refuses to keep, so the mapping is by rank: OpenAI's
`medium` is the model's first effort, each step up is the next one, and the ends clamp
(`low` and below take the first effort, `xhigh` and `max` the last that exists).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

OpenAIEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
SCALE: tuple[OpenAIEffort, ...] = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_FIRST_TIER = SCALE.index("medium")


def thinking_effort(wanted: OpenAIEffort, offered: Sequence[str]) -> str | None:
    """The model's effort for OpenAI's `wanted`; None when the model has no effort levels."""
    if not offered:
        return None
    rank = SCALE.index(wanted) - _FIRST_TIER
    return offered[min(max(rank, 0), len(offered) - 1)]
