"""Personas: named standing instructions, typed once at the start of a ChatGPT chat.

`SLACK_PERSONAS` holds them as a JSON object (`{"coder": "You are a terse senior engineer."}`)
or names a file holding that object. A channel picks one with `SLACK_CHANNEL_PERSONAS` or
`/chatgpt persona <name>`, a thread with a first line `persona <name>`. The instructions open
the chat's first prompt only: ChatGPT keeps them in the conversation, so repeating them on
every turn would only cost prompt length.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path


class UnknownPersonaError(ValueError):
    """A persona name SLACK_PERSONAS does not define; the message lists the ones it does."""


class PersonaSetupError(ValueError):
    """SLACK_PERSONAS cannot be read; the message says what to fix."""


class Personas:
    def __init__(self, instructions: Mapping[str, str]) -> None:
        self._instructions = dict(instructions)

    @classmethod
    def load(cls, value: str | None) -> Personas:
        """From SLACK_PERSONAS: a JSON object, or the path of a file holding one.

        Read once at start-up (a small file), so a mistake stops the start, not a question.
        """
        if not value or not value.strip():
            return cls({})
        text = value
        if not value.lstrip().startswith("{"):
            path = Path(value).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as error:
                raise PersonaSetupError(
                    f"SLACK_PERSONAS names the file {path}, which cannot be read "
                    f"({error.strerror or error}); give a JSON object or a readable file."
                ) from error
        try:
            parsed = json.loads(text)
        except ValueError as error:
            raise PersonaSetupError(
                f"SLACK_PERSONAS is not valid JSON ({error}); write an object of "
                '{"name": "instructions"}.'
            ) from error
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in parsed.items()
        ):
            raise PersonaSetupError(
                'SLACK_PERSONAS must be a JSON object of {"name": "instructions"}, each '
                "instruction a non-empty string."
            )
        return cls(parsed)

    @property
    def names(self) -> list[str]:
        return sorted(self._instructions)

    def check(self, name: str) -> None:
        if name not in self._instructions:
            choices = ", ".join(self.names) or "none: set SLACK_PERSONAS to define some"
            raise UnknownPersonaError(f"There is no persona '{name}'. Personas: {choices}.")

    def opening(self, name: str | None, prompt: str) -> str:
        """The first prompt of a new chat: the persona's instructions, then the question."""
        if name is None:
            return prompt
        self.check(name)
        return f"{self._instructions[name].strip()}\n\n{prompt}"
