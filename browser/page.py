"""What the bridge reads from a ChatGPT page, in one round trip each.

`probe()` answers "what is this page showing right now" (challenge, logged out, dialogs,
composer, turns) with a single `evaluate`, because every extra round trip to the browser
costs latency on a loaded machine and polling loops call it often. The other helpers use
the page's own `fetch` (same cookies, same origin, same network fingerprint as the web app),
never a request forged from Python.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Locator, Page

from browser import adapters, selectors
from browser.adapters import Detection, DomMessage
from browser.errors import ChallengeError, LoginRequiredError

logger = logging.getLogger(__name__)

_PROBE_JS = f"""
([L, A, S]) => {{
  // The text the web app will send: ProseMirror keeps one block per line, <br> inside a
  // block is a hard break, and an empty line is a block holding only a trailing <br>.
  const BLOCKS = new Set(["P", "DIV", "PRE", "LI", "H1", "H2", "H3", "H4", "H5", "H6",
                          "BLOCKQUOTE"]);
  const inline = (node) => {{
    if (node.nodeType === Node.TEXT_NODE) return node.data;
    if (node.nodeType !== Node.ELEMENT_NODE) return "";
    if (node.tagName === "BR") {{
      return node.classList.contains("ProseMirror-trailingBreak") ? "" : "\\n";
    }}
    if (BLOCKS.has(node.tagName)) return blocks(node);
    return Array.from(node.childNodes).map(inline).join("");
  }};
  const blocks = (el) => {{
    const children = Array.from(el.childNodes);
    const blocky = children.length > 0 && children.every(
      (c) => c.nodeType === Node.ELEMENT_NODE && BLOCKS.has(c.tagName));
    return children.map(inline).join(blocky ? "\\n" : "");
  }};
  const {{kit, renderer, seen, messages}} = ({adapters.DOM_JS})(L, A);
  const {{visible, all, text}} = kit;
  const q = (sel) => all(document, sel)[0] || null;
  const qa = (sel) => all(document, sel);
  const title = document.title || "";
  const picked = kit.pick(kit.scope, "composer");
  const composer = picked && picked.el;
  let challenge = null;
  const body = document.body ? document.body.textContent.toLowerCase() : "";
  const short = body.length < S.challenge_short_page;
  if (!composer && (q(S.challenge_strong) || S.challenge_titles.some((t) => title.includes(t))
      || (short && S.challenge_texts.some((t) => body.includes(t))))) {{
    challenge = "strong";
  }} else if (q(S.challenge_weak)) {{
    challenge = "weak";
  }}
  const dialogs = qa(S.dialog).filter(visible).map(text);
  const rateLimit = dialogs.find((d) => S.rate_limit_texts.some((t) => d.includes(t))) || null;
  const login = qa(S.login).some(visible) || dialogs.some((d) => d.includes(S.stay_logged_out));
  const toast = qa(S.toast).filter(visible).map(text).join(" ") || null;
  const threadErrors = qa(S.thread_error).filter(visible).map(text);
  return {{
    url: location.href,
    challenge,
    logged_out: login,
    rate_limit: rateLimit,
    toast,
    thread_error: threadErrors.length ? threadErrors[threadErrors.length - 1] : null,
    composer: !!composer,
    composer_text: composer ? blocks(composer) : null,
    stop: !!kit.pick(kit.scope, "stop"),
    renderer,
    seen,
    messages,
  }};
}}
"""

_FETCH_JSON_JS = """
async ({path, bearer, payload}) => {
  const headers = {};
  if (bearer) {
    const session = await (await fetch("/api/auth/session", {credentials: "include"})).json();
    if (session && session.accessToken) headers.Authorization = "Bearer " + session.accessToken;
    // As the page's own fetches do: the workspace the session runs in.
    const account = session && session.account && session.account.id;
    if (account) headers["ChatGPT-Account-Id"] = account;
  }
  const init = {credentials: "include", headers};
  if (payload !== null) {
    Object.assign(init, {method: "POST", body: JSON.stringify(payload)});
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  const challenged = response.status === 403
    && response.headers.get("cf-mitigated") === "challenge";
  return {status: response.status, body: await response.text(), challenged};
}
"""


@dataclass
class PageState:
    """One snapshot of what a ChatGPT page shows."""

    url: str = ""
    challenge: str | None = None
    """"strong" (a human must act), "weak" (only the challenge script: usually harmless)."""
    logged_out: bool = False
    rate_limit: str | None = None
    toast: str | None = None
    thread_error: str | None = None
    composer: bool = False
    composer_text: str | None = None
    stop: bool = False
    messages: list[DomMessage] = field(default_factory=list)
    detection: Detection = field(default_factory=Detection)
    """Which renderer the DOM was read with; "unknown" means no messages from the DOM."""

    @property
    def user_ids(self) -> list[str]:
        return [m.id for m in self.messages if m.role == "user"]

    @property
    def conversation_id(self) -> str | None:
        return selectors.conversation_id_from_url(self.url)


async def probe(page: Page) -> PageState:
    """Snapshot the page. Raises playwright's Error if the page is gone."""
    raw = await page.evaluate(_PROBE_JS, [*adapters.arguments(), selectors.page_selectors()])
    read = adapters.from_raw({key: raw.pop(key) for key in ("renderer", "seen", "messages")})
    state = PageState(**raw, messages=read.messages, detection=read.detection)
    if state.composer and not read.detection.known:
        _report_unknown(read.detection)
    return state


_reported: set[tuple[str, ...]] = set()


def _report_unknown(detection: Detection) -> None:
    """Say once per distinct page shape that the DOM is unreadable (the network still works)."""
    if detection.seen not in _reported and len(_reported) < 32:
        _reported.add(detection.seen)
        logger.warning(
            "unrecognised ChatGPT page renderer (saw: %s); reading answers from the network "
            "only. A BRIDGE_SELECTORS_FILE layer or a bridge update can fix this.",
            "; ".join(detection.seen) or "nothing",
        )


async def control(page: Page, name: str) -> Locator:
    """The visible control `name` (composer, send, stop, model_trigger) in the active page.

    Resolved layer by layer in the page, so the first layer that shows a visible element
    decides, never whichever element of all layers comes first in the document. When none
    shows one yet, the locator waits for any layer (a button that appears a moment later).
    """
    found = await page.evaluate(_CONTROL_JS, [selectors.layered(), name])
    scope = page.locator(found["scope"]).filter(visible=True).first if found["scope"] else page
    layer = found["layer"] or selectors.any_of(tuple(found["valid"]))
    return scope.locator(layer).filter(visible=True).first


_CONTROL_JS = f"""
([L, name]) => {{
  const kit = ({adapters.KIT_JS})(L);
  const picked = kit.pick(kit.scope, name);
  // A person's layer that is not valid CSS must not break the wait for the defaults.
  const valid = L[name].filter((sel) => {{
    try {{ document.createDocumentFragment().querySelector(sel); return true; }}
    catch (e) {{ return false; }}
  }});
  return {{scope: kit.scopeLayer, layer: picked ? picked.layer : null, valid}};
}}
"""


async def press(page: Page, name: str, *, unless_focused: bool = False) -> bool:
    """Click the control `name` with the mouse, at once, when it stands ready for a click.

    Playwright's own click waits for its target to stand still over animation frames: on a
    loaded two-core machine that costs 50-110 ms a click, and a turn makes two
    (`bench_speed --breakdown`). One evaluate checks the rest of what that click checks
    (visible, in view, enabled, the topmost element at its centre is it or inside it) and
    the click goes to that point as trusted mouse input, as a person's would. False, with
    nothing clicked, when the control is not ready: the caller's waiting click follows.
    `unless_focused`: a control holding the focus already (a composer with the caret in it)
    needs no click, and True says it is ready.
    """
    point = await page.evaluate(_POINT_JS, [selectors.layered(), name, unless_focused])
    if point is None:
        return False
    if not point["focused"]:
        await page.mouse.click(point["x"], point["y"])
    return True


_POINT_JS = f"""
([L, name, unlessFocused]) => {{
  const kit = ({adapters.KIT_JS})(L);
  const picked = kit.pick(kit.scope, name);
  if (!picked || picked.el.disabled || picked.el.getAttribute("aria-disabled") === "true") {{
    return null;
  }}
  if (unlessFocused && picked.el.contains(document.activeElement)) {{
    return {{focused: true}};
  }}
  const box = picked.el.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const top = document.elementFromPoint(x, y);
  return top && picked.el.contains(top) ? {{x, y, focused: false}} : null;
}}
"""


async def fetch_json(
    page: Page, path: str, *, bearer: bool = False, payload: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """GET `path` (POST `payload`) from inside the page; `bearer` adds the access token.

    A 403 with `cf-mitigated: challenge` raises `ChallengeError`: Cloudflare wants a human
    check even while the person is logged in (steipete/oracle `navigation.ts`), which is
    neither a logout nor a refusal of this request.
    """
    result = await page.evaluate(
        _FETCH_JSON_JS, {"path": path, "bearer": bearer, "payload": payload}
    )
    if result.get("challenged"):
        raise ChallengeError()
    try:
        body = json.loads(result["body"]) if result["body"] else None
    except ValueError:
        body = None
    return result["status"], body


async def fetch_signed_in(page: Page, path: str) -> tuple[int, Any]:
    """GET `path` with the access token, for a caller that needs the login: a 401 raises
    `LoginRequiredError` (the page is logged out); every other status is the caller's."""
    status, body = await fetch_json(page, path, bearer=True)
    if status == 401:
        raise LoginRequiredError()
    return status, body


STOP_CONVERSATION_PATH = "/backend-api/stop_conversation"
"""What the page's own Stop button posts (KobaProduction/browser-extensions
`docs/CHATGPT_RUNTIME_CONTRACTS.md`)."""


async def stop_conversation(page: Page, conversation_id: str) -> bool:
    """Ask ChatGPT to stop the running answer, as the page's Stop button does."""
    payload = {"conversation_id": conversation_id, "exclude_async_types": []}
    status, _ = await fetch_json(page, STOP_CONVERSATION_PATH, bearer=True, payload=payload)
    return status == 200


async def auth_session(page: Page) -> dict[str, Any]:
    """`/api/auth/session`: `{user, accessToken, ...}` when logged in, `{}` when not."""
    status, body = await fetch_json(page, selectors.AUTH_SESSION_PATH)
    return body if status == 200 and isinstance(body, dict) else {}


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
