"""The models `/v1/models` lists and chat completions accept.

The list comes from the web app (the account's own `/backend-api/models`,
`bridge.model_infos()`) when it answers, else from `DEFAULT_MODEL`. Each model is listed
once bare and once per effort level it offers, in the `slug@effort` grammar of
`browser.models` (docs/api.md, "Model ids"), and once as `slug:search` (ChatGPT's web
search on; the suffix is accepted on any id, `slug@effort:search` too). Clients often send
a fixed default such as `gpt-4o-mini` or `gpt-3.5-turbo`; `MODEL_ALIASES` maps such names
to a ChatGPT model, and an alias is listed (and accepted) whenever its target is. The
account's custom GPTs (`g-<id>`) and projects (`project/<name>`) are listed too, read with
the models (`bridge.gizmos()`): a GPT the list lacks is still accepted (the page checks it,
`GptNotFoundError` -> 404), a project the list lacks is a 404 naming the account's projects.

Reading the list needs a browser tab, and a tab may be busy with a long answer for minutes,
so no request ever waits for a refresh: the catalog serves the last list it read and, once
that list is older than its TTL, reads a new one in the background (stale-while-revalidate;
an idle bridge spends no tab on it). The first read starts with the app. A request that
arrives before that first read has finished waits for it, but at most `FIRST_LIST_WAIT`
seconds: without the account's list, a valid model such as `gpt-5` would be refused as
unknown, and a freshly started bridge normally has a free tab, so the wait is short. If the
read is slower than that, the request gets `DEFAULT_MODEL` (and the aliases of it), which
every account accepts, and the read carries on for the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.api.errors import APIError
from app.api.reasoning import OpenAIEffort, thinking_effort
from app.config import Settings

if TYPE_CHECKING:
    from app.api.schemas import ChatCompletionRequest
from browser import Bridge
from browser.contract import AskOptions
from browser.errors import BridgeError
from browser.models import (
    PROJECT_PREFIX,
    SEARCH_SUFFIX,
    Gizmo,
    ModelIdError,
    ModelInfo,
    format_model_id,
    gizmo_choice,
    resolve_model_id,
    split_search,
)

logger = logging.getLogger(__name__)

MODELS_TTL = 300.0
"""Seconds a model list read from the web app stays fresh."""
FALLBACK_TTL = 30.0
"""Seconds before asking the web app again after it could not tell (logged out, starting)."""
FIRST_LIST_WAIT = 10.0
"""Seconds a request waits for the very first model list before it uses `DEFAULT_MODEL`."""


@dataclass(frozen=True)
class ModelEntry:
    id: str
    target: str
    """The ChatGPT model slug the web app is asked for."""
    created: int
    effort: str | None = None
    """The `thinking_effort` asked for (None: the model's default)."""
    web_search: bool | None = None
    """Ask with ChatGPT's web search (a Responses `web_search` tool); None: the page's way."""
    gpt: str | None = None
    """A custom GPT's `g-<id>`: new chats start in it (its `target` is the id itself)."""
    project: str | None = None
    """A project's name: new chats start in it (its `target` is `project/<name>`)."""

    @property
    def options(self) -> AskOptions:
        # A GPT or project answers with its own choice of model, as in the page.
        model = None if self.gpt or self.project else self.target
        return AskOptions(
            model=model,
            effort=self.effort,
            web_search=self.web_search,
            gpt=self.gpt,
            project=self.project,
        )

    def as_dict(self) -> dict[str, Any]:
        alias = split_search(self.id)[0] != format_model_id(self.target, self.effort)
        owner = "chatgpt-bridge" if alias else "chatgpt"
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": owner}


class ModelCatalog:
    """The account's models, read in the background. `start()` it with the app."""

    def __init__(self, source: Bridge, settings: Settings) -> None:
        self._source = source
        self._settings = settings
        self._created = int(time.time())
        self._infos: list[ModelInfo] | None = None
        self._expires = 0.0
        self._refresh: asyncio.Task[None] | None = None
        self._gizmos: list[Gizmo] = []
        self._gizmos_known = False
        """The account's GPTs and projects were read at least once."""

    def start(self) -> None:
        """Begin reading the list now, so the first request finds it (or nearly)."""
        self._refresh_soon()

    async def stop(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh

    async def entries(self) -> list[ModelEntry]:
        infos = await self._available()
        slugs = [info.slug for info in infos]
        entries = [
            ModelEntry(format_model_id(info.slug, effort), info.slug, self._created, effort)
            for info in infos
            for effort in (None, *info.efforts)
        ]
        entries += [
            ModelEntry(info.slug + SEARCH_SUFFIX, info.slug, self._created, web_search=True)
            for info in infos
        ]
        entries += [
            ModelEntry(alias, target, self._created)
            for alias, target in self._settings.model_aliases.items()
            if target in slugs and alias not in slugs
        ]
        return entries + [self._gizmo_entry(g.model_id) for g in self._gizmos]

    def _gizmo_entry(self, model_id: str) -> ModelEntry:
        kind, name = gizmo_choice(model_id) or ("", "")
        return ModelEntry(
            model_id,
            model_id,
            self._created,
            gpt=name if kind == "gpt" else None,
            project=name if kind == "project" else None,
        )

    async def for_chat(self, chat: ChatCompletionRequest) -> ModelEntry:
        """The entry a chat completion asks with: its model, `reasoning_effort` and
        `web_search_options` (the endpoint and batch lines alike)."""
        return await self.resolve(
            chat.model, chat.reasoning_effort, web_search=chat.web_search_options is not None
        )

    async def resolve(
        self, name: str, reasoning: OpenAIEffort | None = None, *, web_search: bool = False
    ) -> ModelEntry:
        """The entry for `name`, or a 404 `model_not_found` that says what is available.

        A `:search` suffix, or `web_search` (chat's `web_search_options`), asks with
        ChatGPT's web search on.

        `reasoning` (OpenAI's `reasoning.effort`) picks the model's thinking effort by rank
        (`app.api.reasoning`) unless the id names one (`slug@effort` wins); a model without
        effort levels ignores it, as the picker offers none.
        """
        entries = await self.entries()
        base, search = split_search(name)
        entry = next((entry for entry in entries if entry.id == base), None)
        if entry is None:
            entry = self._unlisted_gizmo(base)
        if entry is not None:
            if search or web_search:
                entry = replace(entry, id=name, web_search=True)
            return await self._with_reasoning(entry, reasoning)
        target = self._settings.model_aliases.get(base)
        available = ", ".join(entry.id for entry in entries)
        if base.startswith(PROJECT_PREFIX):
            projects = ", ".join(g.name for g in self._gizmos if g.kind == "project")
            message = (
                f"This ChatGPT account has no project named '{base[len(PROJECT_PREFIX) :]}'. "
                f"Its projects: {projects or '(none)'}."
            )
        elif target:
            message = (
                f"The model '{name}' is an alias of '{target}', which this ChatGPT account "
                f"does not offer. Available: {available}."
            )
        else:
            try:
                resolve_model_id(base, await self._available())
                message = f"The model '{name}' is not available. Available: {available}."
            except ModelIdError as error:  # says what is wrong: the slug, or the effort
                message = f"{error} Aliases (MODEL_ALIASES) are listed in /v1/models too."
        raise APIError(404, message, param="model", code="model_not_found")

    def _unlisted_gizmo(self, model_id: str) -> ModelEntry | None:
        """A GPT the sidebar does not list (the GPT Store has many: the page checks it when
        asked), a project named in other case (as the page matches it) or while the list is
        unknown; a project the list lacks is a 404."""
        choice = gizmo_choice(model_id)
        if choice is None:
            return None
        kind, name = choice
        projects = [g.name.casefold() for g in self._gizmos if g.kind == "project"]
        if kind == "project" and self._gizmos_known and name.casefold() not in projects:
            return None
        return self._gizmo_entry(model_id)

    async def _with_reasoning(
        self, entry: ModelEntry, reasoning: OpenAIEffort | None
    ) -> ModelEntry:
        if reasoning is None or entry.effort is not None:
            return entry
        info = next((info for info in await self._available() if info.slug == entry.target), None)
        effort = thinking_effort(reasoning, info.efforts if info else ())
        if effort is None:
            logger.debug("%s has no effort levels: reasoning %r ignored", entry.target, reasoning)
            return entry
        return replace(entry, effort=effort)

    async def _available(self) -> list[ModelInfo]:
        if time.monotonic() >= self._expires:
            self._refresh_soon()
        if self._infos is None and self._refresh is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._refresh), FIRST_LIST_WAIT)
        return self._infos or [ModelInfo(self._settings.default_model)]

    def _refresh_soon(self) -> None:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._read(), name="model-list")

    async def _read(self) -> None:
        await self._read_models()
        await self._read_gizmos()

    async def _read_gizmos(self) -> None:
        """The GPTs and projects, read with the models; a failure keeps the last list."""
        try:
            self._gizmos = await self._source.gizmos()
        except BridgeError as error:
            logger.info("GPT and project list unavailable (%s)", error)
            return
        self._gizmos_known = True

    async def _read_models(self) -> None:
        default = ModelInfo(self._settings.default_model)
        try:
            infos = await self._source.model_infos()
        except Exception as error:
            # Busy tabs or a logged-out page say nothing about the account's models: keep
            # what was read before, and ask again soon. Anything else is a bug, but the
            # list must still be served, so it is logged and handled the same way.
            kept = self._infos or [default]
            log = logger.info if isinstance(error, BridgeError) else logger.exception
            log("model list unavailable (%s); using %s", error, ", ".join(i.slug for i in kept))
            self._store(kept, FALLBACK_TTL)
            return
        if not infos:
            self._store([default], FALLBACK_TTL)
        elif any(info.slug == default.slug for info in infos):
            self._store(infos, MODELS_TTL)
        else:
            # The configured default is always accepted, even if the picker does not list it
            # (ChatGPT's "auto" is a routing choice rather than a model of the list).
            self._store([*infos, default], MODELS_TTL)

    def _store(self, infos: list[ModelInfo], ttl: float) -> None:
        self._infos = infos
        self._expires = time.monotonic() + ttl
