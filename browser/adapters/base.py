"""What every renderer adapter shares: the message record, the adapter shape, the in-page kit.

An adapter is data plus one small JavaScript reader, not a class hierarchy: the page is read
in one `evaluate` per probe (every round trip to a loaded browser costs), so the readers run
inside the page and receive their selectors from `browser.selectors` as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Page

from browser import selectors


@dataclass
class DomMessage:
    """One message as the page shows it; `done` means its finished marker is shown."""

    id: str
    role: str
    slug: str | None
    done: bool
    text: str


@dataclass(frozen=True)
class Adapter:
    """One renderer: the signature that recognises it and the reader of its messages.

    `reader` is a JavaScript arrow function `(kit, L, A) => [{id, role, slug, done, text}]`
    run in the page: `kit` is `KIT_JS`'s helpers already scoped to the active page, `L` the
    layered selectors by name, `A` the attribute names (`selectors.ATTRIBUTES`).
    """

    name: str
    signature: str
    """The selector name (in `selectors.DEFAULTS`) whose layers recognise the renderer."""
    reader: str

    async def matches(self, page: Page) -> bool:
        """Whether the page's active page shows this renderer's signature."""
        return bool(await page.evaluate(_MATCHES_JS, [selectors.layered(), self.signature]))


KIT_JS = """
(L) => {
  const visible = (el) => !!el && el.getClientRects().length > 0;
  // A person's layer may be invalid CSS: it matches nothing instead of breaking the read.
  const all = (root, sel) => {
    try { return Array.from(root.querySelectorAll(sel)); } catch (e) { return []; }
  };
  // Old routes stay mounted hidden: read only the active page where the page marks one.
  let scope = document, scopeLayer = null;
  for (const sel of L.active_page) {
    const found = all(document, sel);
    if (found.length) { scope = found.find(visible) || found[0]; scopeLayer = sel; break; }
  }
  // The first layer holding a visible element wins (never the first element of all layers).
  const pick = (root, name) => {
    for (const sel of L[name]) {
      const el = all(root, sel).find(visible);
      if (el) return {el, layer: sel};
    }
    return null;
  };
  // Every element of the first layer that matches at all (messages may be off-screen).
  const every = (root, name) => {
    for (const sel of L[name]) {
      const found = all(root, sel);
      if (found.length) return found;
    }
    return [];
  };
  const within = (el, name) => {
    for (const sel of L[name]) {
      try { const found = el.closest(sel); if (found) return found; } catch (e) { /* bad */ }
    }
    return null;
  };
  const inside = (root, name) => (root ? every(root, name)[0] || null : null);
  const matched = (root, name) => L[name].filter((sel) => all(root, sel).length > 0);
  const text = (el) => ((el && (el.innerText || el.textContent)) || "").trim();
  return {visible, all, scope, scopeLayer, pick, every, within, inside, matched, text};
}
"""
"""The helpers every reader gets, as a JavaScript function of the layered selectors."""

_MATCHES_JS = f"""
([L, name]) => {{
  const kit = ({KIT_JS})(L);
  return kit.matched(kit.scope, name).length > 0;
}}
"""
