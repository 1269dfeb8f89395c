"""A redacted picture of a page, written when a step cannot find its element.

When chatgpt.com changes, the person (or a maintainer they send it to) needs to see what
the page offered instead: which controls exist, what they are called, which attributes the
message nodes carry, which selector layers still match. Never what was said: no text
content, no URL query, no cookies or tokens. Attribute *names* only on message nodes, and
any token-looking string in a label is blanked, because the file may be shared.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Page

from browser import adapters, selectors
from browser.private import write_private

TOKEN = re.compile(r"eyJ[\w.-]{8,}|\b(?:sk|sess|pk)-[\w-]{8,}|(?=[\w+/=]*\d)[\w+/=]{16,}")
"""JWTs, API-key shapes and any long unbroken run of base64 holding a digit; test ids
like `model-switcher-dropdown-button` survive (short words between hyphens)."""
MAX_LABEL = 60
MAX_CONTROLS = 250
"""Enough for a long thread's action rows and still the composer's buttons at the end."""
MAX_NODES = 80

_COLLECT_JS = f"""
([L, A, D]) => {{
  const {{kit, renderer, seen}} = ({adapters.DOM_JS})(L, A);
  const controls = kit.all(document, D.controls)
    .filter((el) => !el.closest(D.skip))
    .slice(0, {MAX_CONTROLS})
    .map((el) => ({{
      tag: el.tagName.toLowerCase(),
      role: el.getAttribute("role"),
      label: el.getAttribute("aria-label"),
      testid: el.getAttribute("data-testid"),
      type: el.getAttribute("type"),
      editable: el.isContentEditable,
      visible: kit.visible(el),
      in_scope: kit.scope === document || kit.scope.contains(el),
    }}));
  // Nodes that look like messages or turns, by any attribute name about them.
  const messageLike = new RegExp(D.message_attribute, "i");
  const nodes = kit.all(kit.scope, "*")
    .filter((el) => Array.from(el.attributes).some((a) => messageLike.test(a.name)))
    .slice(0, {MAX_NODES})
    .map((el) => ({{
      tag: el.tagName.toLowerCase(),
      attributes: Array.from(el.attributes).map((a) => a.name),
    }}));
  const layers = {{}};
  for (const name of Object.keys(L)) layers[name] = kit.matched(kit.scope, name);
  return {{renderer, seen, scope: kit.scopeLayer, controls, message_nodes: nodes, layers}};
}}
"""


def redact(value: str | None) -> str | None:
    """A label safe to share: short, with anything token-shaped blanked."""
    if value is None:
        return None
    return TOKEN.sub("[redacted]", value)[:MAX_LABEL]


async def collect(page: Page, step: str) -> dict[str, Any]:
    """What the page shows, redacted (see the module docstring for what is left out)."""
    wanted = {
        "controls": selectors.DIAGNOSTIC_CONTROLS,
        "skip": selectors.DIAGNOSTIC_SKIP,
        "message_attribute": selectors.DIAGNOSTIC_MESSAGE_ATTRIBUTE,
    }
    raw = await page.evaluate(_COLLECT_JS, [*adapters.arguments(), wanted])
    for control in raw["controls"]:
        control["label"] = redact(control["label"])
        control["testid"] = redact(control["testid"])
    return {
        "step": step,
        "path": redact(urlsplit(page.url).path),
        "renderer": raw["renderer"] or adapters.UNKNOWN,
        "signatures_seen": [redact(s) for s in raw["seen"]],
        "scope": raw["scope"],
        "layers_matched": raw["layers"],
        "user_layers": sorted(
            name
            for name in selectors.DEFAULTS
            if selectors.layers(name) != selectors.DEFAULTS[name]
        ),
        "controls": raw["controls"],
        "message_nodes": raw["message_nodes"],
    }


async def write(page: Page, step: str, data_dir: Path) -> Path:
    """Write the page's diagnostic to `<data_dir>/diagnostics/` (private) and return the file."""
    report = await collect(page, step)
    name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{_slug(step)}.json"
    return await asyncio.to_thread(_save, data_dir / "diagnostics", name, report)


async def explain(page: Page, step: str, data_dir: Path) -> str:
    """The sentence an error appends: where the diagnostic is (or why there is none)."""
    try:
        path = await write(page, step, data_dir)
    except Exception as error:  # the diagnostic must never hide the error it explains
        return f" (No page diagnostic could be written: {type(error).__name__}.)"
    return f" A redacted description of the page is in {path}."


def _slug(step: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-") or "step"


def _save(folder: Path, name: str, report: dict[str, Any]) -> Path:
    return write_private(folder / name, json.dumps(report, ensure_ascii=False, indent=1))
