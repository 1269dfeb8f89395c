"""The HTML documents the replica serves: the app page, the login form, the challenge page.

Every normal page carries the `/cdn-cgi/challenge-platform/` script, as chatgpt.com's do:
a driver that takes that script alone for a Cloudflare challenge is fooled here too.
"""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from typing import Any

from replica.bundle import with_bundle

STATIC_DIR = Path(__file__).parent / "static"
CHALLENGE_SCRIPT = '<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js" async></script>'


@cache
def _template(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


TEMPLATES = {"classic": "index.html", "search-unit": "today.html", "legacy-turn": "today.html"}
"""The 2025 page (app.js) stays as it was; today's renderers share one shell (chat.js)."""


def index_page(page_knobs: dict[str, Any]) -> str:
    """The single-page app; the page's script reads `page_knobs` for its rendering quirks."""
    config = json.dumps(page_knobs, ensure_ascii=False).replace("</", "<\\/")
    template = TEMPLATES[page_knobs.get("renderer", "classic")]
    page = _template(template).replace("__REPLICA_CONFIG__", config)
    return with_bundle(page) if page_knobs.get("page_weight_ms") else page


def login_page(error: str | None = None) -> str:
    notice = f'<p class="login-error">{html.escape(error)}</p>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Log in - ChatGPT</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body class="login-body">
<main class="login-card">
  <h1>Welcome back</h1>
  {notice}
  <form id="login-form" method="post" action="/log-in">
    <label>Name or email <input name="name" type="text" autocomplete="username" required></label>
    <label>Password
      <input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit" data-testid="login-submit-button">Continue</button>
  </form>
</main>
{CHALLENGE_SCRIPT}
</body></html>"""


def challenge_page() -> str:
    """A Cloudflare-like interstitial: strong evidence (title, form, running marker, text)."""
    return """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><title>Just a moment...</title>
<meta name="robots" content="noindex,nofollow"></head>
<body class="no-js">
<div class="main-wrapper" role="main"><div class="main-content">
  <h1 class="zone-name-title h1">chatgpt.com</h1>
  <h2 id="challenge-running" class="h2">Verify you are human by completing the action below.</h2>
  <div id="challenge-stage"><label class="ctp-checkbox-label">
    <input type="checkbox"> <span>Verify you are human</span></label></div>
  <form id="challenge-form" action="/?__cf_chl_f_tk=replica" method="POST"
        enctype="application/x-www-form-urlencoded">
    <input type="hidden" name="md" value="replica">
  </form>
  <p>chatgpt.com needs to review the security of your connection before proceeding.</p>
</div></div>
</body></html>"""
