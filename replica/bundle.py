"""The page's script bundle at chatgpt.com's size, and the main-thread work of a full load.

chatgpt.com is a client-rendered single-page app: a fresh load fetches about 20 MB of
JavaScript and spends its main thread parsing, compiling and hydrating it (docs/replica.md,
"Page weight"), while a route change inside the page costs almost nothing. The replica's
own page is a few tens of KB, so a driver that reloads the page per chat looks cheap here
and is slow there. With `page_weight_ms` above 0 the page loads this bundle first, a classic
blocking script as the real one is: generated code of the real bundle's size (parsed at every
load, compiled lazily, as V8 does), then `page_weight_ms` of busy main-thread work. The file
is served immutable, so a repeated load parses it from the browser's cache, not the wire.
"""

from __future__ import annotations

from functools import cache

BUNDLE_PATH = "/assets/app-bundle.js"
BUNDLE_BYTES = 20 * 2**20
"""Uncompressed JavaScript of a fresh chatgpt.com load (docs/replica.md, "Page weight")."""
SCRIPT_TAG = f'<script src="{BUNDLE_PATH}"></script>'

_BURN = """
;(() => {
  // The rest of a load's main-thread work (compile, hydrate, render): the page's knob.
  const weight = (window.__REPLICA_PAGE__ || {}).page_weight_ms || 0;
  const started = performance.now();
  let spin = 0;
  while (performance.now() - started < weight) spin = (spin * 31 + 7) >>> 0;
  const burned = performance.now() - started;
  window.__REPLICA_WEIGHT__ = { weight, burned, spin, modules: Object.keys(__modules).length };
})();
"""


@cache
def bundle_js() -> bytes:
    """Generated modules (small functions in a registry, like a bundler's) up to the size."""
    parts = ["var __modules = {};\n"]
    size = len(parts[0])
    index = 0
    while size < BUNDLE_BYTES:
        module = (
            f'__modules["m{index}"] = function (e, t) {{ const n = e * {index % 997} + t; '
            f'if (n > {index}) {{ return [n >>> 1, "m{index}", t]; }} '
            f"return {{ id: {index}, v: n ^ 0x5f37, k: String(e) + t }}; }};\n"
        )
        parts.append(module)
        size += len(module)
        index += 1
    parts.append(_BURN)
    return "".join(parts).encode()


def with_bundle(page: str) -> str:
    """`page` loading the bundle in its head, before the app's own script."""
    return page.replace("</head>", SCRIPT_TAG + "\n</head>", 1)
