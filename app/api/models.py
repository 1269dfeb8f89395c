"""The models `/v1/models` lists and chat completions accept.

The list comes from the web app (the account's own model picker, `bridge.models()`) when
it answers, else from `DEFAULT_MODEL`. Clients often send a fixed default such as
`gpt-4o-mini` or `gpt-3.5-turbo`; `MODEL_ALIASES` maps such names to a ChatGPT model, and
an alias is listed (and accepted) whenever its target is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from app.api.errors import APIError
from app.config import Settings
from browser import Bridge
from browser.errors import BridgeError

logger = logging.getLogger(__name__)

MODELS_TTL = 300.0
"""Seconds a model list read from the web app stays fresh."""
FALLBACK_TTL = 30.0
"""Seconds before asking the web app again after it could not tell (logged out, starting)."""


@dataclass(frozen=True)
class ModelEntry:
    id: str
    target: str
    """The ChatGPT model slug the web app is asked for."""
    created: int

    def as_dict(self) -> dict[str, Any]:
        owner = "chatgpt" if self.id == self.target else "chatgpt-bridge"
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": owner}


class ModelCatalog:
    def __init__(self, source: Bridge, settings: Settings) -> None:
        self._source = source
        self._settings = settings
        self._created = int(time.time())
        self._slugs: list[str] = []
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def entries(self) -> list[ModelEntry]:
        slugs = await self._available()
        entries = [ModelEntry(slug, slug, self._created) for slug in slugs]
        entries += [
            ModelEntry(alias, target, self._created)
            for alias, target in self._settings.model_aliases.items()
            if target in slugs and alias not in slugs
        ]
        return entries

    async def resolve(self, name: str) -> ModelEntry:
        """The entry for `name`, or a 404 `model_not_found` that says what is available."""
        entries = await self.entries()
        for entry in entries:
            if entry.id == name:
                return entry
        target = self._settings.model_aliases.get(name)
        detail = (
            f"it is an alias of '{target}', which this ChatGPT account does not offer"
            if target
            else "it is neither a model of this ChatGPT account nor an alias (MODEL_ALIASES)"
        )
        raise APIError(
            404,
            f"The model '{name}' does not exist: {detail}. Available: "
            f"{', '.join(entry.id for entry in entries)}.",
            param="model",
            code="model_not_found",
        )

    async def _available(self) -> list[str]:
        async with self._lock:
            if time.monotonic() >= self._expires:
                self._slugs, ttl = await self._read()
                self._expires = time.monotonic() + ttl
            return self._slugs

    async def _read(self) -> tuple[list[str], float]:
        default = self._settings.default_model
        try:
            slugs = list(dict.fromkeys(await self._source.models()))
        except BridgeError as error:
            # Busy tabs or a logged-out page say nothing about the account's models: keep
            # what was read before, and ask again soon.
            kept = self._slugs or [default]
            logger.info("model list unavailable (%s); using %s", error, ", ".join(kept))
            return kept, FALLBACK_TTL
        if not slugs:
            return [default], FALLBACK_TTL
        # The configured default is always accepted, even if the picker does not list it
        # (ChatGPT's "auto" is a routing choice rather than a model of the list).
        return ([*slugs, default] if default not in slugs else slugs), MODELS_TTL
