"""Every selector, text and URL shape of the ChatGPT web app, in one place.

chatgpt.com ships more than one renderer at a time and relabels controls per UI language, so
each *named* selector is an ordered tuple of layers: structure and attributes first (they
hold in every language), then labels (English, and Korean where a saved page shows them).
A reader takes the first layer that matches a visible element, never the first element of
all layers joined, which is how a hidden fallback textarea or a code editor's textbox could
win. `BRIDGE_SELECTORS_FILE` prepends a person's own layers per name (`use_file`), so a
drift is hot-fixed in one line. Nothing else in `browser/` may spell a selector of the web
app; the renderer adapters (`browser/adapters/`) receive theirs from `SELECTORS`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

Layers = tuple[str, ...]


def any_of(layers: Layers) -> str:
    """One CSS selector list matching any layer (Playwright and `querySelector` accept it)."""
    return ", ".join(layers)


# --- App shell ------------------------------------------------------------------------------
ACTIVE_PAGE: Layers = ('[data-app-shell-active-page="true"]', "[data-app-shell-main-surface]")
"""The app shell keeps visited routes mounted but hidden; only the active one is marked.
A page with one route mounted may carry only the main surface; without either, the whole
document is the scope."""

# --- Composer -------------------------------------------------------------------------------
COMPOSER: Layers = (
    'form[data-chatgpt-composer] .ProseMirror[contenteditable="true"][role="textbox"]',
    'form[data-chatgpt-composer] [contenteditable="true"][role="textbox"]',
    'form[data-type="unified-composer"] .ProseMirror[contenteditable="true"]',
    'div#prompt-textarea.ProseMirror[contenteditable="true"]',
    '#prompt-textarea[contenteditable="true"]',
    'form .ProseMirror[contenteditable="true"]',
    '[contenteditable="true"][aria-label="Ask ChatGPT"]',
    '[contenteditable="true"][aria-label="Message ChatGPT"]',
    '[contenteditable="true"][aria-label="Chat with ChatGPT"]',
    '[contenteditable="true"][aria-label="ChatGPT에게 물어보세요"]',
    '[contenteditable="true"][aria-label="ChatGPT와 채팅"]',
)
"""The ProseMirror editor. Every layer demands `contenteditable`, so the hidden fallback
`textarea[name="prompt-textarea"]` (it ignores typing) can never be chosen, and none is a bare
`[role=textbox]`: answers hold code editors with that role."""

SEND_BUTTON: Layers = (
    'form[data-chatgpt-composer] button[type="submit"]',
    '#composer-submit-button[data-testid="send-button"]',
    'button[data-testid="send-button"]',
    '#composer-submit-button[aria-label="Send prompt"]',
    'button[aria-label="Send prompt"]',
    'form button[type="submit"][aria-label="Send"]',
)
"""Only present while the composer holds text: an empty one shows the voice button there."""
VOICE_BUTTON: Layers = (
    'button[data-testid="composer-speech-button"]',
    'button[style*="--vt-composer-speech-button"]',
    'button[aria-label="Start voice mode"]',
    'button[aria-label="Voice 시작"]',
    'form[data-chatgpt-composer] button[aria-label="Dictate"]',
    'form[data-chatgpt-composer] button[aria-label="음성 입력"]',
)
"""Where Send will be while the composer is empty (shared/research/dom-snapshots 2, 3, 5;
today's page: "Dictate", ko "음성 입력" [S1] in docs/replica.md): the doctor tells "Send
appears once there is text" from "Send is gone"."""
FILE_INPUT: Layers = (
    'form[data-chatgpt-composer] input[type="file"]',
    'form[data-type="unified-composer"] input[type="file"]',
    'input[type="file"][multiple]',
    'input[type="file"]',
)
"""The composer's (hidden) file input, which "Add files and more" opens: the bridge sets its
files as a file chooser would. Its markup on chatgpt.com is not in public evidence
(docs/replica.md, "Uploads"): the layers go from the composer's form to any file input."""
ATTACHMENT_CHIP: Layers = (
    '[data-testid="attachment-chip"]',
    "form[data-chatgpt-composer] [data-file-name]",
)
"""One chip per attached file in the composer, its upload state in `CHIP_STATE`."""
CHIP_STATE = "data-state"
"""The chip's upload state: `uploading`, `uploaded`, `failed` or `rejected`."""
CHIP_NAME = "data-file-name"
CHIP_ERROR: Layers = ('[role="alert"]', ".attachment-error")
"""Why a chip failed or was rejected, as the page says it."""

STOP_BUTTON: Layers = (
    '#composer-submit-button[data-testid="stop-button"]',
    'button[data-testid="stop-button"]',
    'form[data-chatgpt-composer] button[type="button"][aria-label="Stop"]',
    '#composer-submit-button[aria-label="Stop streaming"]',
    'button[aria-label="Stop streaming"]',
    'button[aria-label="Stop answering"]',
    'button[aria-label="Stop"]',
)
"""Flickers off between token batches: a way to stop, never a done signal. A hidden legacy
`stop-button` can sit earlier in the page: readers keep visible ones only."""

# --- Renderer legacy-turn-v1 ----------------------------------------------------------------
LEGACY_SIGNATURE: Layers = (
    '[data-testid^="conversation-turn-"]',
    "[data-message-author-role][data-message-id]",
    'form[data-type="unified-composer"]',
)
"""Turn test ids, messages with a role attribute, or (new chat) its composer form."""
TURN: Layers = (
    'section[data-testid^="conversation-turn-"]',
    'article[data-testid^="conversation-turn-"]',
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
    'button[data-testid="good-response-turn-action-button"]',
)
"""Appears under an assistant turn once it is finished: the most reliable DOM done signal."""
COPY_BUTTON: Layers = ('button[data-testid="copy-turn-action-button"]',)

# --- Feedback: the thumbs under an answer (docs/replica.md "Feedback") ----------------------
GOOD_RESPONSE: Layers = (
    'button[data-testid="good-response-turn-action-button"]',
    'button[aria-label="Good response"]',
    'button[aria-label="좋은 응답"]',
)
"""Thumbs up in an answer's action bar (dom-snapshots 5, en; 2, ko); `aria-pressed` says
whether it is the answer's rating."""
BAD_RESPONSE: Layers = (
    'button[data-testid="bad-response-turn-action-button"]',
    'button[aria-label="Bad response"]',
    'button[aria-label="별로인 응답"]',
)
RATE_RESPONSE: Layers = ('button[aria-label="Rate response"]', 'button[aria-label="응답 평가"]')
"""search-unit-v2 shows one "Rate response" button where the thumbs were (snap-1, ko; the
English label is a stand-in); the thumbs are looked for again once it is pressed."""
ANSWER_ID_ATTRIBUTES: tuple[str, ...] = (
    "data-message-id",
    "data-chatgpt-selection-message-id",
    "data-chatgpt-search-message-ids",
)
"""Attributes naming an answer's message id, one renderer each (a space-separated list in
the last): the answer to rate is found by them, then its turn by `turn` / `search_turn`."""
MESSAGE_FEEDBACK_PATH = "/backend-api/conversation/message_feedback"
"""What the thumbs post: `{conversation_id, message_id, rating}` (docs/replica.md)."""

# --- Renderer search-unit-v2 ----------------------------------------------------------------
SEARCH_SIGNATURE: Layers = (
    "[data-turn-key]",
    "[data-chatgpt-search-unit-key]",
    "form[data-chatgpt-composer]",
)
SEARCH_TURN: Layers = ("[data-turn-key]",)
"""One exchange root holding both the user and the assistant unit; its value is the user
message id."""
SEARCH_UNIT: Layers = ("[data-chatgpt-search-unit-key][data-chatgpt-search-message-ids]",)
"""`<turn>:<i>:<role>` keys; the ids attribute lists the unit's messages, the reply last."""
SEARCH_USER_TEXT: Layers = ("[data-user-message-bubble]",)
SEARCH_ASSISTANT_TEXT: Layers = (
    '[data-markdown-text-style="assistant-message"]',
    "[data-chatgpt-selection-message-id]",
)
SEARCH_FINISHED: Layers = (".turn-action-controls", '[class*="turn-action-controls"]')

ATTRIBUTES: dict[str, str] = {
    "message_id": "data-message-id",
    "role": "data-message-author-role",
    "model_slug": "data-message-model-slug",
    "unit_key": "data-chatgpt-search-unit-key",
    "unit_ids": "data-chatgpt-search-message-ids",
}
"""Attributes whose *values* the readers use (ids, roles, the model that answered)."""

# --- Model switcher, navigation -------------------------------------------------------------
MODEL_SWITCHER: Layers = (
    "button[data-codex-intelligence-trigger]",
    'button[data-testid="model-switcher-dropdown-button"]',
    '[data-testid="model-switcher-dropdown-button"]',
    "button.__composer-pill",
    'button[aria-label="Select ChatGPT model"]',
    'button[aria-label="ChatGPT 모델 선택"]',
    'button[aria-label^="Model selector"]',
)


def model_item(slug: str) -> Layers:
    """The menu entry that selects model `slug` in the open model switcher."""
    return (
        f'[role="menuitemradio"][data-testid="model-switcher-{slug}"]',
        f'[data-testid="model-switcher-{slug}"]',
    )


# Today's picker (docs/replica.md "Model picker"): the trigger opens a menu (in a portal,
# outside the active page) with the Power slider and "Select model", which shows the list.
PICKER_TODAY: Layers = ("button[data-codex-intelligence-trigger]",)
PICKER_EFFORT_ATTRIBUTE = "data-selected-reasoning-effort"
"""The trigger's reading of the slider (`instant` ... `pro`; `custom` after a list pick)."""
PICKER_MENU: Layers = ('[role="menu"][data-model-picker-view]', '[role="menu"][data-state="open"]')
EFFORT_SLIDER: Layers = (
    '[data-reasoning-slider] [role="slider"]',
    '[role="menuitem"][aria-label="Power"] [role="slider"]',
)
MODEL_LIST_TOGGLE: Layers = ('[role="menuitem"][data-model-picker-view-toggle]',)
MODEL_RADIO = "menuitemradio"
"""The role of an entry of the model list; its accessible name is the model's title."""

# --- Composer tools (docs/replica.md "Modes") ----------------------------------------------
TOOLS_BUTTON: Layers = (
    'button[data-composer-navigation-target="add-context"]',
    'button[aria-label="Add files and more"]',
    'button[aria-label="파일 등 추가"]',
)
"""The composer's "+": it opens the tools menu (files, web search, ...)."""
TOOLS_MENU: Layers = ('[role="menu"][data-state="open"]',)
WEB_SEARCH_ITEM = "Web search"
"""The accessible name of the tools menu's web search entry (English UI only: no saved page
shows another language's)."""
SEARCH_PILL: Layers = (
    '[data-composer-pill="search"]',
    'button[aria-label="Search, click to remove"]',
)
"""The composer's "Search" pill while web search is on for the next send; a click removes it."""

NEW_CHAT: Layers = ('a[data-testid="create-new-chat-button"][href="/"]',)
HISTORY_LINK: Layers = ('#history a[href^="/c/"]',)
GIZMO_LINK: Layers = ('nav a[href^="/g/g-"]',)
"""The sidebar's links to custom GPTs and projects (their markup: (no evidence))."""
APP_SHELL_ROUTE: Layers = ("[data-app-shell-page][data-route]",)
"""A route's page; routes left behind stay mounted (hidden) with what they showed then."""
PROFILE_BUTTON: Layers = ('[data-testid="accounts-profile-button"]',)

# --- Logged out -----------------------------------------------------------------------------
LOGIN_BUTTON: Layers = (
    'button[data-testid="login-button"]',
    '[data-testid="login-button"]',
    'button[data-testid="signup-button"]',
)
STAY_LOGGED_OUT_TEXT = "Stay logged out"

# --- Cloudflare -----------------------------------------------------------------------------
# The shapes steipete/oracle `src/browser/actions/navigation.ts` recognises (2026-05); each
# counts only on a page without the app's composer (shared/research/browser-acceptance.md).
CHALLENGE_STRONG: Layers = (
    "#challenge-form",
    "#challenge-running",
    "#cf-challenge-running",
    '[class*="cf-challenge"]',
    'iframe[src*="challenges.cloudflare.com"]',
    'iframe[src*="/cdn-cgi/challenge-platform/"]',
)
CHALLENGE_TITLES: tuple[str, ...] = ("Just a moment", "Attention Required")
"""Cloudflare's interstitial titles; a chat may carry one as its title, hence no composer."""
CHALLENGE_TEXTS: tuple[str, ...] = ("verify you are human",)
CHALLENGE_SHORT_PAGE = 4000
"""Characters: a page saying "verify you are human" is a challenge only when it is short."""
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
ACCOUNTS_CHECK_PATH = "/backend-api/accounts/check/v4-2023-04-27"
"""The login's workspaces, keyed by id (docs/replica.md, "Workspaces")."""
ACCOUNT_COOKIE = "_account"
"""The cookie that holds the chosen workspace's id; the page sends it as `ChatGPT-Account-Id`."""
ACCOUNT_HEADER = "chatgpt-account-id"
CONVERSATION_READ_PATH = "/backend-api/conversation/{id}"
FILE_DOWNLOAD_PATH = "/backend-api/files/download/{file_id}?conversation_id={conversation}"
"""A stored file's signed, expiring link: `{"status": "success", "download_url": ...}` (an
exporter's `getImageDownloadUrl`, 2025-26; docs/replica.md "Image turns")."""
INTERPRETER_DOWNLOAD_PATH = (
    "/backend-api/conversation/{conversation}/interpreter/download"
    "?message_id={message_id}&sandbox_path={sandbox_path}"
)
"""A code-tool file's signed link, by the answer that links it and its `/mnt/data/` path:
`{"status": "success", "download_url": ...}` (docs/replica.md, "Code-tool files")."""
CONVERSATIONS_LIST_PATH = "/backend-api/conversations?offset={offset}&limit={limit}&order=updated"
"""The sidebar's history list (docs/replica.md, "History list")."""


GIZMO_PATH = "/backend-api/gizmos/{id}"
"""One custom GPT (or project) as its page reads it: `{"gizmo": {"id", "display": {"name"}}}`,
404 when the account cannot use it (docs/replica.md, "Custom GPTs and projects")."""
GIZMOS_BOOTSTRAP_PATH = "/backend-api/gizmos/bootstrap"
"""The sidebar's GPTs: `{"gizmos": [{"resource": {"gizmo": {...}}}]}`."""
PROJECTS_SIDEBAR_PATH = "/backend-api/gizmos/snorlax/sidebar?conversations_per_gizmo=0"
"""The sidebar's projects: `{"items": [{"gizmo": {"gizmo": {...}}}], "cursor"}`."""


def new_chat_path(model: str | None, temporary: bool, gizmo: str | None = None) -> str:
    """`/?model=<slug>` preselects the model; `temporary-chat=true` opens a temporary chat.

    A custom GPT's chat starts at `/g/<gpt>`, a project's at `/g/<project>/project`."""
    query = []
    if model:
        query.append(f"model={model}")
    if temporary:
        query.append("temporary-chat=true")
    start = "/" if gizmo is None else f"/g/{gizmo}" + ("/project" if is_project(gizmo) else "")
    return start + "?" + "&".join(query) if query else start


def is_project(gizmo: str) -> bool:
    """Project ids are gizmo ids of their own kind: `g-p-<hex>`."""
    return gizmo.startswith("g-p-")


def conversation_path(conversation_id: str, gizmo: str | None = None) -> str:
    """`/c/<id>`, or `/g/<gizmo>/c/<id>` for a chat of a custom GPT or project."""
    return f"/c/{conversation_id}" if gizmo is None else f"/g/{gizmo}/c/{conversation_id}"


def conversation_id_from_url(url: str) -> str | None:
    """The conversation id shown in a page URL, or None on a new chat."""
    match = CONVERSATION_PATH.match(urlsplit(url).path)
    return match.group(1) if match else None


# --- Diagnostics ----------------------------------------------------------------------------
DIAGNOSTIC_CONTROLS = "button, a[data-testid], input, textarea, select, [role], [contenteditable]"
"""What a diagnostic lists as controls (their roles, labels, test ids, types)."""
DIAGNOSTIC_SKIP = "nav"
"""The sidebar: its entries are named after conversations, which a diagnostic never shows."""
DIAGNOSTIC_MESSAGE_ATTRIBUTE = r"message|turn|author|search-unit|bubble"
"""A node with an attribute name like this is message-like: its attribute names are listed."""


DEFAULTS: dict[str, Layers] = {
    "active_page": ACTIVE_PAGE,
    "composer": COMPOSER,
    "send": SEND_BUTTON,
    "voice": VOICE_BUTTON,
    "stop": STOP_BUTTON,
    "file_input": FILE_INPUT,
    "attachment_chip": ATTACHMENT_CHIP,
    "chip_error": CHIP_ERROR,
    "model_trigger": MODEL_SWITCHER,
    "tools_button": TOOLS_BUTTON,
    "search_pill": SEARCH_PILL,
    "legacy_signature": LEGACY_SIGNATURE,
    "turn": TURN,
    "message": MESSAGE,
    "user_message": USER_MESSAGE,
    "assistant_message": ASSISTANT_MESSAGE,
    "markdown": ASSISTANT_MARKDOWN,
    "action_bar": ACTION_BAR,
    "copy": COPY_BUTTON,
    "good_response": GOOD_RESPONSE,
    "bad_response": BAD_RESPONSE,
    "rate_response": RATE_RESPONSE,
    "search_signature": SEARCH_SIGNATURE,
    "search_turn": SEARCH_TURN,
    "search_unit": SEARCH_UNIT,
    "search_user_text": SEARCH_USER_TEXT,
    "search_assistant_text": SEARCH_ASSISTANT_TEXT,
    "search_finished": SEARCH_FINISHED,
    "new_chat": NEW_CHAT,
    "login": LOGIN_BUTTON,
    "challenge_strong": CHALLENGE_STRONG,
    "challenge_weak": CHALLENGE_WEAK,
    "dialog": DIALOG,
    "thread_error": THREAD_ERROR,
    "thread_retry": THREAD_RETRY_BUTTON,
    "toast": TOAST_ERROR,
}
"""Every named selector; the names are what `BRIDGE_SELECTORS_FILE` may extend."""

_user_layers: dict[str, Layers] = {}
"""Layers from `BRIDGE_SELECTORS_FILE`, set once at start-up by `use_file`."""


def layers(name: str) -> Layers:
    """The layers of selector `name`, most trusted first: the person's own, then the defaults."""
    return _user_layers.get(name, ()) + DEFAULTS[name]


def css(name: str) -> str:
    """Selector `name` as one CSS list (any layer): for "is there any" checks, not for picking."""
    return any_of(layers(name))


def layered() -> dict[str, list[str]]:
    """Every named selector as its ordered layers: what the in-page readers receive."""
    return {name: list(layers(name)) for name in DEFAULTS}


def page_selectors() -> dict[str, object]:
    """What the in-page probe receives: each selector joined, plus the texts it interprets."""
    joined: dict[str, object] = {name: css(name) for name in DEFAULTS}
    joined.update(
        stay_logged_out=STAY_LOGGED_OUT_TEXT,
        challenge_titles=list(CHALLENGE_TITLES),
        challenge_texts=list(CHALLENGE_TEXTS),
        challenge_short_page=CHALLENGE_SHORT_PAGE,
        rate_limit_texts=list(RATE_LIMIT_TEXTS),
        dismiss_texts=list(DISMISS_BUTTON_TEXTS),
    )
    return joined


class SelectorsFileError(ValueError):
    """`BRIDGE_SELECTORS_FILE` cannot be used; the message names the file and the problem."""


def read_file(path: Path) -> dict[str, Layers]:
    """Parse a selectors file: a JSON object of selector name -> list of CSS layers.

    JSON rather than TOML because the code supports Python 3.10, which has no TOML reader,
    and one hot-fix stays one line: `{"composer": ["div#new-composer"]}`.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SelectorsFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    except ValueError as error:
        raise SelectorsFileError(f"{path}: is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise SelectorsFileError(f"{path}: must hold a JSON object of name -> list of selectors")
    unknown = sorted(set(data) - set(DEFAULTS))
    if unknown:
        raise SelectorsFileError(
            f"{path}: unknown selector name(s) {', '.join(unknown)}; "
            f"known names: {', '.join(DEFAULTS)}"
        )
    result: dict[str, Layers] = {}
    for name, value in data.items():
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(layer, str) and layer.strip() for layer in value)
        ):
            raise SelectorsFileError(
                f"{path}: {name!r} must be a CSS selector or a list of non-empty CSS selectors"
            )
        result[name] = tuple(layer.strip() for layer in value)
    return result


def use_file(path: Path | None) -> None:
    """Put the layers of `path` in front of the defaults (None: defaults only)."""
    _user_layers.clear()
    if path is not None:
        _user_layers.update(read_file(path))
