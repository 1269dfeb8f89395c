"""How a channel's (or a thread's) ChatGPT chats are asked: `/chatgpt` words, parsed once.

Slack does not deliver slash commands typed in a thread, so the same words work two ways:
`/chatgpt model gpt-5` sets the channel's (or the DM's) defaults, and `model gpt-5` as the
first line of a message in a thread sets that thread's. A thread's choice wins over the
channel's, which wins over the bridge's settings. A first line that is a chatgpt.com chat
link (`https://chatgpt.com/c/<id>`) binds that existing chat to the thread.

The choices map onto the contract's one `AskOptions` (model ids are `slug@effort`, as
everywhere); a choice the account cannot honour (a custom GPT or a project it does not
have, web search on a plan without it) is stored all the same and refused by the browser at
ask time, in words, with nothing sent. `project <name>` takes the rest of the line: project
names have spaces ("project Trip to Rome"), and a name with `:`, `?` or `!` is taken for
a question ("Project update: ..." is one), so such a project is chosen by `BRIDGE_PROJECT`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from browser.contract import AskOptions
from browser.models import ModelIdError, parse_model_id

_EFFORT = re.compile(r"\A[a-z][a-z0-9_-]{0,30}\Z")
_GPT = re.compile(r"\Ag-[A-Za-z0-9_-]{1,60}\Z")
_NAME = re.compile(r"\A[A-Za-z0-9_.-]{1,60}\Z")
_PROJECT = re.compile(r"\A[^:?!]{1,80}\Z")
_CHAT_LINK = re.compile(
    r"\A<?https://(?:chat\.openai\.com|chatgpt\.com)/(?:g/[^/\s]+/)?c/([0-9a-f-]{8,64})"
    r"(?:[?#|][^>\s]*)?>?\Z"
)
_PREFIX = re.compile(r"\A/?chatgpt\s+", re.IGNORECASE)


class SettingsError(ValueError):
    """Words that set nothing; the message says what would."""


@dataclass(frozen=True)
class ChatSettings:
    """The choices one scope (a channel, or a thread) made; None: not chosen there."""

    model: str | None = None
    """A model id, `slug[@effort]`."""
    effort: str | None = None
    """`think <effort>`: the effort for whichever model is asked."""
    web_search: bool | None = None
    gpt: str | None = None
    """A custom GPT's id (`g-...`)."""
    persona: str | None = None
    project: str | None = None
    """A project's name: new chats start in it (a custom GPT, when chosen too, wins)."""

    def over(self, base: ChatSettings) -> ChatSettings:
        """These choices, falling back to `base` for what this scope did not choose."""
        chosen = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(base, **{name: value for name, value in chosen.items() if value is not None})

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def options(self, model_id: str | None) -> AskOptions:
        """The ask options for `model_id` (None: the chat's own model) with these choices."""
        chosen = parse_model_id(model_id) if model_id else None
        return AskOptions(
            model=chosen.slug if chosen else None,
            effort=self.effort or (chosen.effort if chosen else None),
            # A new chat in the web app starts with search off: "off" needs no choosing.
            web_search=True if self.web_search else None,
            gpt=self.gpt,
            project=self.project,
        )

    def describe(self) -> str:
        """In words, for the ephemeral replies and `status`."""
        parts = []
        if self.model:
            parts.append(f"model {self.model}")
        if self.effort:
            parts.append(f"thinking effort {self.effort}")
        if self.web_search is not None:
            parts.append(f"web search {'on' if self.web_search else 'off'}")
        if self.gpt:
            parts.append(f"custom GPT {self.gpt}")
        if self.project:
            parts.append(f"project {self.project}")
        if self.persona:
            parts.append(f"persona {self.persona}")
        return ", ".join(parts) or "the bridge's defaults"


@dataclass(frozen=True)
class Directive:
    """What a line of settings words asks for: choices, and maybe an existing chat to bind."""

    settings: ChatSettings = ChatSettings()
    conversation_id: str | None = None
    new: bool = False
    """`new`: start a new chat (the slash command posts its thread)."""


def parse_words(text: str) -> Directive:
    """`model gpt-5`, `search on`, `think high`, `gpt g-...`, `persona coder`, `project
    <name>` (last: the name is the rest), `new [...]`.

    Raises SettingsError when the words are not settings (the caller decides whether that
    is a mistake, for the slash command, or simply a question, for a thread's first line).
    """
    words = _PREFIX.sub("", text.strip()).split()
    if len(words) == 1 and (link := _CHAT_LINK.match(words[0])):
        return Directive(conversation_id=link.group(1))
    new = bool(words) and words[0].lower() == "new"
    if new:
        words = words[1:]
        # `new gpt-5` names the model without the word `model`.
        if words and words[0].lower() not in (*_SETTERS, "project"):
            words = ["model", *words]
    settings = ChatSettings()
    while words:
        if words[0].lower() == "project" and len(words) > 1:
            settings = _project(settings, " ".join(words[1:]))
            break
        setter = _SETTERS.get(words[0].lower())
        if setter is None or len(words) < 2:
            raise SettingsError(f"'{' '.join(words)}' sets nothing.")
        settings = setter(settings, words[1])
        words = words[2:]
    if settings.empty and not new:
        raise SettingsError("No setting given.")
    return Directive(settings=settings, new=new)


def first_line(text: str) -> tuple[Directive | None, str]:
    """A message's settings line and the question after it; (None, text) when there is none.

    `new` is the slash command's alone: in a thread it would mean nothing (a thread is one
    chat), so a line starting with it is a question.
    """
    line, _, rest = text.partition("\n")
    try:
        directive = parse_words(line)
    except (SettingsError, ModelIdError):
        return None, text
    return (None, text) if directive.new else (directive, rest.strip())


def _model(settings: ChatSettings, word: str) -> ChatSettings:
    return replace(settings, model=str(parse_model_id(word)))


def _search(settings: ChatSettings, word: str) -> ChatSettings:
    if word.lower() not in ("on", "off"):
        raise SettingsError("Write `search on` or `search off`.")
    return replace(settings, web_search=word.lower() == "on")


def _think(settings: ChatSettings, word: str) -> ChatSettings:
    if not _EFFORT.match(word.lower()):
        raise SettingsError("Write `think <effort>`, an effort the model offers (e.g. `high`).")
    return replace(settings, effort=word.lower())


def _gpt(settings: ChatSettings, word: str) -> ChatSettings:
    if not _GPT.match(word):
        raise SettingsError("Write `gpt g-<id>`, the id in the custom GPT's chatgpt.com link.")
    return replace(settings, gpt=word)


def _project(settings: ChatSettings, name: str) -> ChatSettings:
    # A sentence is a question, not a name: "Project update: ..." starts a thread.
    if not _PROJECT.match(name):
        raise SettingsError("Write `project <name>`, a project's name as ChatGPT shows it.")
    return replace(settings, project=name)


def _persona(settings: ChatSettings, word: str) -> ChatSettings:
    if not _NAME.match(word):
        raise SettingsError("Write `persona <name>`, one of the names SLACK_PERSONAS defines.")
    return replace(settings, persona=word)


_SETTERS = {
    "model": _model,
    "model:": _model,  # the older `model: <id>` first line
    "search": _search,
    "think": _think,
    "gpt": _gpt,
    "persona": _persona,
}
