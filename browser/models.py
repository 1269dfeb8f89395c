"""The one model-id grammar of every surface: `<slug>[@<effort>][:search]`.

The account's `GET /backend-api/models` lists each model's slug and the reasoning efforts it
accepts (`thinking_efforts`); a send carries `model` and `thinking_effort`. A model id names
both in one token that OpenAI clients pass through untouched, a Slack `model:` line holds and
a URL path (`/v1/models/{id}`) carries: `gpt-5-6-thinking@extended`.

Why `@`: slugs are made of letters, digits, `-` and `.`, so a `-high` suffix could be part
of a slug (`gpt-5-6-thinking` itself ends in a word); `@` never is, so the split is always
the last `@`. The effort is the web app's own word (`standard`, `extended`, `max`), never a
translation: the list is the account's, and a bridge that renamed efforts would need a
hard-coded table that breaks the day ChatGPT adds one. A bare slug means the model's default
effort (whatever the page picks for it). A `:search` suffix asks with the composer's web
search on (`auto:search`, `gpt-5-6-thinking@max:search`): a mode of the ask, not a model,
so it comes last and `:` (never in a slug or an effort) keeps the split certain.

Two more kinds of id choose where a new chat starts rather than a model: `g-<id>` a custom
GPT (the id chatgpt.com shows in `/g/g-<id>-<name>`; the link's last part works too) and
`project/<name>` one of the account's projects, by the name its sidebar shows
(`project/Research`, `project/Trip to Rome:search`). Slugs never start with `g-` or contain
`/`, so neither can be mistaken for a model; the GPT or project answers with its own model
choice (the account's default model), as it does in the page.

Pure: no Playwright, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

SEPARATOR = "@"
SEARCH_SUFFIX = ":search"
ROUTERS = frozenset({"auto"})
"""Slugs that ask ChatGPT to pick the model: any answering model is what was asked for."""


GPT_PREFIX = "g-"
PROJECT_PREFIX = "project/"


class ModelIdError(ValueError):
    """A model id that does not parse, or names no model/effort of the account."""


@dataclass(frozen=True)
class ModelInfo:
    """One entry of the account's `/backend-api/models`."""

    slug: str
    title: str = ""
    efforts: tuple[str, ...] = ()
    default_effort: str | None = None

    def ids(self) -> list[str]:
        """This model's ids: the bare slug, then one per effort it accepts."""
        return [self.slug, *(format_model_id(self.slug, effort) for effort in self.efforts)]


@dataclass(frozen=True)
class ModelId:
    slug: str
    effort: str | None = None

    def __str__(self) -> str:
        return format_model_id(self.slug, self.effort)


@dataclass(frozen=True)
class Gizmo:
    """A custom GPT or a project of the account, as its sidebar lists it."""

    id: str
    name: str
    kind: Literal["gpt", "project"]

    @property
    def model_id(self) -> str:
        """Its id in the model grammar: `g-<id>` or `project/<name>`."""
        return self.id if self.kind == "gpt" else PROJECT_PREFIX + self.name


def gizmo_choice(model_id: str) -> tuple[Literal["gpt", "project"], str] | None:
    """`g-abc` -> ("gpt", "g-abc"); `project/Research` -> ("project", "Research"); else None."""
    base = model_id.strip()
    if base.startswith(PROJECT_PREFIX) and base[len(PROJECT_PREFIX) :].strip():
        return "project", base[len(PROJECT_PREFIX) :].strip()
    if base.startswith(GPT_PREFIX) and len(base) > len(GPT_PREFIX) and "/" not in base:
        return "gpt", base
    return None


def format_model_id(slug: str, effort: str | None = None) -> str:
    return f"{slug}{SEPARATOR}{effort}" if effort else slug


def split_search(text: str) -> tuple[str, bool]:
    """`auto:search` -> ("auto", True): the model id, and whether it asks with web search."""
    base = text.strip()
    if base.endswith(SEARCH_SUFFIX):
        return base[: -len(SEARCH_SUFFIX)], True
    return base, False


def parse_model_id(text: str) -> ModelId:
    """`gpt-5-6-thinking@max` -> ModelId("gpt-5-6-thinking", "max"); syntax only."""
    slug, sep, effort = text.strip().rpartition(SEPARATOR)
    if not sep:
        slug, effort = effort, ""
    if not slug or (sep and not effort) or any(c.isspace() or c == "/" for c in text.strip()):
        raise ModelIdError(
            f"'{text}' is not a model id: write a model slug, optionally followed by "
            "@<effort>, e.g. gpt-5-6-thinking@extended."
        )
    return ModelId(slug, effort or None)


def resolve_model_id(text: str, models: Iterable[ModelInfo]) -> ModelId:
    """Parse `text` and check it against the account's list; the error lists the choices."""
    wanted = parse_model_id(text)
    infos = list(models)
    info = next((m for m in infos if m.slug == wanted.slug), None)
    if info is None:
        raise ModelIdError(
            f"This ChatGPT account has no model '{wanted.slug}'. Choose one of: "
            f"{', '.join(all_ids(infos)) or '(the list is not available yet)'}."
        )
    if wanted.effort is not None and wanted.effort not in info.efforts:
        offered = ", ".join(info.ids()[1:]) or f"{info.slug} (it has no effort levels)"
        raise ModelIdError(
            f"The model '{info.slug}' has no effort '{wanted.effort}'. Choose one of: {offered}."
        )
    return wanted


def all_ids(models: Iterable[ModelInfo]) -> list[str]:
    """Every id the account offers, in the account's order."""
    return [model_id for info in models for model_id in info.ids()]


def models_from_payload(body: Any) -> list[ModelInfo]:
    """The `models` of a `/backend-api/models` body; odd entries are skipped, not fatal."""
    entries = body.get("models") if isinstance(body, Mapping) else None
    infos: dict[str, ModelInfo] = {}
    for entry in entries or []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("slug"), str):
            continue
        efforts = entry.get("thinking_efforts")
        default = entry.get("default_thinking_effort")
        infos.setdefault(
            entry["slug"],
            ModelInfo(
                slug=entry["slug"],
                title=str(entry.get("title") or entry["slug"]),
                efforts=tuple(e for e in efforts or [] if isinstance(e, str)),
                default_effort=default if isinstance(default, str) else None,
            ),
        )
    return list(infos.values())


def mismatch_note(asked: str | None, answered: str | None) -> str | None:
    """A sentence for a person when ChatGPT answered with another model than asked for."""
    if not asked or not answered or asked in ROUTERS or parse_model_id(asked).slug == answered:
        return None
    return f"ChatGPT answered with {answered}, not {asked} as asked."
