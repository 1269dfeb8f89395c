"""The replica's deterministic "model": every answer proves what it was given.

An answer names the model slug and how many user messages the conversation holds, and quotes
the latest prompt, so an end-to-end test can tell a right answer from a stale one (the
classic off-by-one of naive drivers) or from one sent to the wrong chat or model.
Trigger words in the prompt add rich Markdown for fidelity tests of the rendering and of
the text a driver reads back.
"""

from __future__ import annotations

import json
import re

from replica import tool_model

QUOTE_LIMIT = 300
MAX_WORDS = 20_000
WORDS_PER_PARAGRAPH = 40

_LOREM_TEXT = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat"
)
_LOREM = _LOREM_TEXT.split(" ")

CODE_BLOCK = """Here is some code:

```python
def greet(name: str) -> str:
    \"\"\"Say hello.\"\"\"
    return f"Hello, {name}!"


print(greet("world"))
```"""

TABLE_BLOCK = """| Model | Context | Notes |
| --- | ---: | --- |
| gpt-5 | 128k | *fast* and **smart** |
| gpt-4o | 128k | `legacy` |"""

LISTS_BLOCK = """Steps:

1. First step
   - detail a
   - detail b
     - deeper detail
2. Second step
3. Third step with `inline code`

- Bullet one
- Bullet two"""

RICH_HEADER = """## A rich answer

This has **bold**, *italic*, ***both***, `inline code` and a [link](https://example.com/docs?q=1).

### Details

> A quoted line."""

_WORDS_TRIGGER = re.compile(r"words:(\d+)")


def quote(prompt: str) -> str:
    """The prompt as the answer quotes it: newlines as spaces, cut at 300 characters."""
    flat = prompt.replace("\n", " ")
    if len(flat) > QUOTE_LIMIT:
        return flat[:QUOTE_LIMIT] + "…"
    return flat


def lorem_words(count: int) -> str:
    """`count` words of lorem text in paragraphs of 40 words, each ending with a period."""
    words = [_LOREM[i % len(_LOREM)] for i in range(count)]
    paragraphs = [
        " ".join(words[start : start + WORDS_PER_PARAGRAPH]) + "."
        for start in range(0, count, WORDS_PER_PARAGRAPH)
    ]
    return "\n\n".join(paragraphs)


def answer(prompt: str, model: str, user_messages: int) -> str:
    """The exact Markdown answer to `prompt`, the `user_messages`-th user message."""
    instructed = tool_model.answer(prompt)
    if instructed is not None:
        return instructed
    if "valid json" in prompt.lower():
        payload = {"model": model, "user_messages": user_messages, "prompt_chars": len(prompt)}
        return "```json\n" + json.dumps(payload) + "\n```"
    blocks = [
        f"Model: {model}. User messages so far: {user_messages}.",
        f'You said: "{quote(prompt)}"',
    ]
    rich = "markdown:rich" in prompt
    if rich:
        blocks.append(RICH_HEADER)
    if rich or "markdown:code" in prompt:
        blocks.append(CODE_BLOCK)
    if rich or "markdown:table" in prompt:
        blocks.append(TABLE_BLOCK)
    if rich or "markdown:lists" in prompt:
        blocks.append(LISTS_BLOCK)
    match = _WORDS_TRIGGER.search(prompt)
    if match:
        count = min(int(match.group(1)), MAX_WORDS)
        if count:
            blocks.append(lorem_words(count))
    return "\n\n".join(blocks)


def title(prompt: str) -> str:
    """A short chat title from the first prompt, like the web app's generated titles."""
    words = prompt.split()[:5]
    text = " ".join(words) or "New chat"
    if len(text) > 40:
        text = text[:40].rstrip() + "…"
    return text[0].upper() + text[1:]


def thoughts(prompt: str) -> str:
    """The reasoning text a thinking model streams before its answer."""
    return f"The user asked about {quote(prompt)[:60]!r}. I will answer deterministically."
