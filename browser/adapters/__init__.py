"""Renderer adapters: which chatgpt.com renderer a page shows, and its messages.

chatgpt.com runs more than one conversation renderer at once (per account and rollout, not
per plan). Each adapter is recognised by the signature the page shows, most specific first;
when none matches, the DOM yields no messages and the driver goes on from the network alone,
reporting the renderer as "unknown" with what it saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Page

from browser import selectors
from browser.adapters import legacy_turn, search_unit
from browser.adapters.base import KIT_JS, Adapter, DomMessage

REGISTRY: tuple[Adapter, ...] = (search_unit.ADAPTER, legacy_turn.ADAPTER)
"""Most specific signature first: a search-unit page may keep legacy-looking parts."""

UNKNOWN = "unknown"

_READERS = ", ".join(f"{json.dumps(a.name)}: ({a.reader.strip()})" for a in REGISTRY)
_SIGNATURES = json.dumps([[a.name, a.signature] for a in REGISTRY])

DOM_JS = f"""
(L, A) => {{
  const kit = ({KIT_JS})(L);
  const readers = {{{_READERS}}};
  const seen = [`scope ${{kit.scopeLayer || "document"}}`];
  // Both of today's renderers share the composer form, so a signature met only by it
  // cannot tell them apart: the first renderer whose reader finds messages wins, else the
  // first whose signature matched (a new chat shows no messages yet).
  let renderer = null, messages = [];
  for (const [name, signature] of {_SIGNATURES}) {{
    const matched = kit.matched(kit.scope, signature);
    if (!matched.length) continue;
    seen.push(`${{name}}: ${{matched.join(" | ")}}`);
    const read = readers[name](kit, L, A).filter((m) => m.id && m.role);
    if (!renderer || (!messages.length && read.length)) [renderer, messages] = [name, read];
  }}
  return {{kit, renderer, seen, messages}};
}}
"""
"""A JavaScript function `(L, A) => {kit, renderer, seen, messages}` that other in-page
reads (the probe) embed, so detection and messages cost no extra round trip."""

_READ_JS = f"""
([L, A]) => {{
  const {{renderer, seen, messages}} = ({DOM_JS})(L, A);
  return {{renderer, seen, messages}};
}}
"""


@dataclass(frozen=True)
class Detection:
    """The renderer a page shows ("unknown" if none matched) and the signatures seen."""

    renderer: str = UNKNOWN
    seen: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.renderer != UNKNOWN


@dataclass
class DomRead:
    detection: Detection = field(default_factory=Detection)
    messages: list[DomMessage] = field(default_factory=list)


def from_raw(raw: dict[str, Any]) -> DomRead:
    """The `{renderer, seen, messages}` a `DOM_JS` read returned, typed."""
    detection = Detection(raw.get("renderer") or UNKNOWN, tuple(raw.get("seen") or ()))
    return DomRead(detection, [DomMessage(**m) for m in raw.get("messages") or ()])


def arguments() -> list[Any]:
    """What `DOM_JS` receives: the layered selectors and the attribute names."""
    return [selectors.layered(), selectors.ATTRIBUTES]


async def read(page: Page) -> DomRead:
    """Detect the renderer and read its messages, in one round trip."""
    return from_raw(await page.evaluate(_READ_JS, arguments()))


async def detect(page: Page) -> Detection:
    return (await read(page)).detection


__all__ = [
    "KIT_JS",
    "REGISTRY",
    "UNKNOWN",
    "Adapter",
    "Detection",
    "DomMessage",
    "DomRead",
    "detect",
    "read",
]
