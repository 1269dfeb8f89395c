"""The replica's bot check: a Cloudflare-style interstitial for a browser that shows its tells.

Cloudflare's checks on chatgpt.com are not public; what is public is what gets a browser
challenged and what peers changed to stop it (shared/research/browser-acceptance.md):
`navigator.webdriver` true, `HeadlessChrome` in the user agent, its client hints or
`userAgentData`, no plugins. With `--bot-check` the replica looks for exactly those, in the
request headers (before any page is served) and in the page (a first inline script), and
answers a browser that shows one with its challenge page. Every verdict is recorded for the
tests (`GET /_replica/tells`), so a test proves the bridge's own browser shows none.
"""

from __future__ import annotations

from collections.abc import Mapping

HEADLESS = "HeadlessChrome"


def header_tells(headers: Mapping[str, str]) -> list[str]:
    """Tells a request's own headers carry (the user agent and its client hints)."""
    tells = []
    if HEADLESS in headers.get("user-agent", ""):
        tells.append("user-agent header")
    if HEADLESS in headers.get("sec-ch-ua", ""):
        tells.append("sec-ch-ua header")
    return tells


def page_check(challenge_html: str) -> str:
    """The first script of every page: report the page's tells and show the challenge."""
    page = challenge_html.replace("\\", "\\\\").replace("`", "\\`").replace("</", "<\\/")
    return f"""<script>(() => {{
  const tells = [];
  const webdriver = Object.getOwnPropertyDescriptor(Navigator.prototype, "webdriver");
  if (navigator.webdriver) tells.push("navigator.webdriver");
  if (webdriver && !String(webdriver.get).includes("[native code]")) tells.push("webdriver getter");
  if (navigator.userAgent.includes("{HEADLESS}")) tells.push("userAgent");
  const brands = (navigator.userAgentData && navigator.userAgentData.brands) || [];
  if (brands.some((b) => b.brand.includes("{HEADLESS}"))) tells.push("userAgentData");
  if (!navigator.plugins.length) tells.push("plugins");
  fetch("/_replica/tells", {{method: "POST", keepalive: true,
    headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{source: "page", tells}})}});
  if (tells.length) {{ document.open(); document.write(`{page}`); document.close(); }}
}})();</script>"""


def with_page_check(document: str, challenge_html: str) -> str:
    """`document` with the check as the first thing in its head."""
    head = document.find("<head>")
    at = head + len("<head>") if head >= 0 else 0
    return document[:at] + page_check(challenge_html) + document[at:]
