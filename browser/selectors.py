"""Every selector, text and URL shape of the ChatGPT web app, in one place.

The web app changes often and class names break within days, so each entry is a *layered*
tuple: the selector seen today first, then older or looser variants. When chatgpt.com changes,
the fix is one line here (and the replica changes with it). Nothing else in `browser/` may
spell a selector of the web app.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

Layers = tuple[str, ...]


def any_of(layers: Layers) -> str:
    """One CSS selector list matching any layer (Playwright and `querySelector` accept it)."""
    return ", ".join(layers)


# --- Composer -------------------------------------------------------------------------------
COMPOSER: Layers = (
    'div#prompt-textarea.ProseMirror[contenteditable="true"]',
    '#prompt-textarea[contenteditable="true"]',
    'div[contenteditable="true"][role="textbox"]',
)
"""The ProseMirror editor. The hidden `textarea[name="prompt-textarea"]` is never typed into:
the page ignores it."""

SEND_BUTTON: Layers = (
    'button[data-testid="send-button"]',
    '#composer-submit-button[aria-label="Send prompt"]',
    'button[aria-label="Send prompt"]',
)
STOP_BUTTON: Layers = (
    'button[data-testid="stop-button"]',
    '#composer-submit-button[aria-label="Stop streaming"]',
    'button[aria-label="Stop streaming"]',
    'button[aria-label="Stop answering"]',
)
"""Flickers off between token batches: a way to stop, never a done signal."""

# --- Turns ----------------------------------------------------------------------------------
TURN: Layers = (
    'section[data-testid^="conversation-turn-"]',
    'article[data-testid^="conversation-turn-"]',
    "[data-turn-key]",
    '[data-testid^="conversation-turn-"]',
)
MESSAGE: Layers = ("[data-message-author-role][data-message-id]",)
USER_MESSAGE: Layers = ('[data-message-author-role="user"][data-message-id]',)
ASSISTANT_MESSAGE: Layers = ('[data-message-author-role="assistant"][data-message-id]',)
ASSISTANT_MARKDOWN: Layers = (".markdown.prose", ".markdown")
"""May stay empty until the turn settles: never the only source of the answer."""

ACTION_BAR: Layers = (
    'div[role="group"][aria-label="Response actions"]',
    '[role="group"][aria-label="Response actions"]',
)
"""Appears under an assistant turn once it is finished: the most reliable DOM done signal."""
COPY_BUTTON: Layers = ('button[data-testid="copy-turn-action-button"]',)

# --- Model switcher, navigation -------------------------------------------------------------
MODEL_SWITCHER: Layers = (
    'button[data-testid="model-switcher-dropdown-button"]',
    '[data-testid="model-switcher-dropdown-button"]',
    "button.__composer-pill",
)


def model_item(slug: str) -> Layers:
    """The menu entry that selects model `slug` in the open model switcher."""
    return (
        f'[role="menuitemradio"][data-testid="model-switcher-{slug}"]',
        f'[data-testid="model-switcher-{slug}"]',
    )


NEW_CHAT: Layers = ('a[data-testid="create-new-chat-button"][href="/"]',)
HISTORY_LINK: Layers = ('#history a[href^="/c/"]',)
PROFILE_BUTTON: Layers = ('[data-testid="accounts-profile-button"]',)

# --- Logged out -----------------------------------------------------------------------------
LOGIN_BUTTON: Layers = (
    'button[data-testid="login-button"]',
    '[data-testid="login-button"]',
    'button[data-testid="signup-button"]',
)
STAY_LOGGED_OUT_TEXT = "Stay logged out"

# --- Cloudflare -----------------------------------------------------------------------------
CHALLENGE_STRONG: Layers = (
    "#challenge-form",
    "#challenge-running",
    'iframe[src*="challenges.cloudflare.com"]',
)
CHALLENGE_TITLES: tuple[str, ...] = ("Just a moment", "Attention Required")
CHALLENGE_TEXTS: tuple[str, ...] = ("verify you are human",)
CHALLENGE_WEAK: Layers = ('script[src*="/challenge-platform/"]',)
"""Present on normal pages too: evidence only together with a missing composer."""

# --- Errors shown by the page ---------------------------------------------------------------
DIALOG: Layers = ('[role="dialog"]', '[role="alertdialog"]')
RATE_LIMIT_TEXTS: tuple[str, ...] = (
    "Too many requests",
    "You're making requests too quickly",
    "You've reached our limit of messages",
    "reached our limit",
)
DISMISS_BUTTON_TEXTS: tuple[str, ...] = ("Got it", "OK", "Close")
THREAD_ERROR: Layers = (".text-token-text-error",)
THREAD_RETRY_BUTTON: Layers = ('button[data-testid="regenerate-thread-error-button"]',)
TOAST_ERROR: Layers = ('[data-testid="toast-error"]',)
NETWORK_LOST_TEXT = "Network connection lost"

# --- URLs and endpoints ---------------------------------------------------------------------
CONVERSATION_PATH = re.compile(r"^(?:/g/[^/]+)?/c/(?:WEB:)?([0-9a-fA-F-]{8,})/?$")
"""`/c/<id>` (sometimes briefly `/c/WEB:<id>`), also under a custom GPT `/g/g-.../c/<id>`."""
AUTH_SESSION_PATH = "/api/auth/session"
MODELS_PATH = "/backend-api/models"
CONVERSATION_READ_PATH = "/backend-api/conversation/{id}"


def new_chat_path(model: str | None, temporary: bool) -> str:
    """`/?model=<slug>` preselects the model; `temporary-chat=true` opens a temporary chat."""
    query = []
    if model:
        query.append(f"model={model}")
    if temporary:
        query.append("temporary-chat=true")
    return "/?" + "&".join(query) if query else "/"


def conversation_path(conversation_id: str) -> str:
    return f"/c/{conversation_id}"


def conversation_id_from_url(url: str) -> str | None:
    """The conversation id shown in a page URL, or None on a new chat."""
    match = CONVERSATION_PATH.match(urlsplit(url).path)
    return match.group(1) if match else None


PAGE_SELECTORS: dict[str, object] = {
    "composer": any_of(COMPOSER),
    "stop": any_of(STOP_BUTTON),
    "turn": any_of(TURN),
    "message": any_of(MESSAGE),
    "userMessage": any_of(USER_MESSAGE),
    "assistantMessage": any_of(ASSISTANT_MESSAGE),
    "markdown": any_of(ASSISTANT_MARKDOWN),
    "actionBar": any_of(ACTION_BAR),
    "copy": any_of(COPY_BUTTON),
    "login": any_of(LOGIN_BUTTON),
    "stayLoggedOut": STAY_LOGGED_OUT_TEXT,
    "challengeStrong": any_of(CHALLENGE_STRONG),
    "challengeTitles": list(CHALLENGE_TITLES),
    "challengeTexts": list(CHALLENGE_TEXTS),
    "challengeWeak": any_of(CHALLENGE_WEAK),
    "dialog": any_of(DIALOG),
    "rateLimitTexts": list(RATE_LIMIT_TEXTS),
    "dismissTexts": list(DISMISS_BUTTON_TEXTS),
    "threadError": any_of(THREAD_ERROR),
    "toast": any_of(TOAST_ERROR),
}
"""What the in-page probe (`browser/page.py`) receives: the selectors above, joined."""
