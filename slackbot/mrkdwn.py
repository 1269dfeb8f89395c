"""Markdown (what ChatGPT writes) -> Slack mrkdwn (what a Slack message shows).

Slack's mrkdwn is not Markdown: `*bold*`, `_italic_`, `~strike~`, `<url|text>` links, no
headings, no tables, no nested formatting rules, and `&`, `<`, `>` must be escaped or Slack
reads them as its own entities. Regex converters get code, arithmetic (`2 * 3 * 4`) and
URLs with underscores wrong, so the text is parsed with markdown-it-py (CommonMark + tables)
and re-rendered from the syntax tree. The same parser closes an unclosed code fence, which
makes the converter safe for a partial answer that is still streaming.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

# Slack's own entities that ChatGPT may echo back (mentions, channels, special mentions):
# they are kept as they are, everything else that looks like `<...>` is escaped.
_SLACK_ENTITY = re.compile(r"<(?:@[UWB][A-Z0-9]+|#C[A-Z0-9]+(?:\|[^<>]*)?|![a-z]+(?:\^[^<>]*)?)>")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BULLETS = ("•", "◦", "▪")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def escape(text: str) -> str:
    """Escape `&`, `<`, `>` for Slack, keeping Slack mentions like `<@U123>` intact."""
    parts: list[str] = []
    last = 0
    for match in _SLACK_ENTITY.finditer(text):
        parts.append(_escape_plain(text[last : match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_escape_plain(text[last:]))
    return "".join(parts)


def _escape_plain(text: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in text)


def markdown_to_mrkdwn(markdown: str) -> str:
    """Convert a (possibly partial) Markdown answer into Slack mrkdwn."""
    tree = SyntaxTreeNode(_parser().parse(markdown))
    return _Renderer().blocks(tree.children, tight=False).strip("\n")


class _Renderer:
    """Renders the syntax tree; `depth` is the list nesting level (for bullets and indent)."""

    def __init__(self) -> None:
        self.depth = 0

    def blocks(self, nodes: list[SyntaxTreeNode], *, tight: bool) -> str:
        rendered = [text for node in nodes if (text := self.block(node, tight=tight))]
        return ("\n" if tight else "\n\n").join(rendered)

    def block(self, node: SyntaxTreeNode, *, tight: bool) -> str:
        kind = node.type
        if kind == "paragraph":
            return self.inline(node.children[0]) if node.children else ""
        if kind == "heading":
            return _bold(self.plain(node.children[0])) if node.children else ""
        if kind in ("fence", "code_block"):
            return _code_block(node.content)
        if kind in ("bullet_list", "ordered_list"):
            return self.list(node)
        if kind == "blockquote":
            inner = self.blocks(node.children, tight=False)
            return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
        if kind == "table":
            return _code_block(_table_text(node))
        if kind == "hr":
            return "───────────"
        if kind == "html_block":
            return escape(node.content.rstrip("\n"))
        return self.blocks(node.children, tight=tight)

    def list(self, node: SyntaxTreeNode) -> str:
        ordered = node.type == "ordered_list"
        number = int(node.attrs.get("start", 1)) if ordered else 0
        tight = all(
            child.hidden
            for item in node.children
            for child in item.children
            if child.type == "paragraph"
        )
        self.depth += 1
        try:
            items = []
            for item in node.children:
                marker = f"{number}." if ordered else _BULLETS[(self.depth - 1) % len(_BULLETS)]
                number += 1
                body = self.blocks(item.children, tight=tight) or ""
                lines = body.split("\n")
                # Continuation lines of an item line up under its first character.
                pad = " " * (len(marker) + 1)
                rest = [f"{pad}{line}" if line else "" for line in lines[1:]]
                items.append("\n".join([f"{marker} {lines[0]}", *rest]))
        finally:
            self.depth -= 1
        return ("\n" if tight else "\n\n").join(items)

    def inline(self, node: SyntaxTreeNode) -> str:
        return "".join(self._inline_node(child) for child in node.children)

    def _inline_node(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind in ("text", "html_inline"):
            return escape(node.content)
        if kind == "code_inline":
            return f"`{escape(node.content)}`"
        if kind in ("softbreak", "hardbreak"):
            return "\n"
        if kind == "strong":
            return _wrap("*", self.inline(node))
        if kind == "em":
            return _wrap("_", self.inline(node))
        if kind == "s":
            return _wrap("~", self.inline(node))
        if kind == "link":
            return _link(str(node.attrs.get("href", "")), self.plain(node))
        if kind == "image":
            return _link(str(node.attrs.get("src", "")), self.plain(node) or "image")
        return self.inline(node)

    def plain(self, node: SyntaxTreeNode) -> str:
        """The escaped text of an inline node without formatting (link labels, headings)."""
        return escape(_raw_text(node))


def _wrap(marker: str, inner: str) -> str:
    # Slack ignores a marker next to whitespace (`* x*`), so keep the spaces outside it.
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    return f"{lead}{marker}{stripped}{marker}{trail}"


def _bold(text: str) -> str:
    # Inner `*` would end the bold early; headings are short enough to flatten.
    return _wrap("*", text.replace("*", ""))


def _link(href: str, label: str) -> str:
    label = label.replace("|", "¦").strip()
    if not href.startswith(("http://", "https://", "mailto:")):
        return label or escape(href)
    target = escape(href).replace("|", "%7C")
    if not label or label == target:
        return f"<{target}>"
    return f"<{target}|{label}>"


def _code_block(content: str) -> str:
    return f"```\n{escape(content.rstrip(chr(10)))}\n```"


def _raw_text(node: SyntaxTreeNode) -> str:
    if node.type in ("text", "html_inline", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    return "".join(_raw_text(child) for child in node.children)


def _table_text(table: SyntaxTreeNode) -> str:
    """A Markdown table as aligned plain-text columns (Slack has no table markup)."""
    rows: list[list[str]] = []
    for section in table.children:
        for row in section.children:
            rows.append([_raw_text(cell).strip() for cell in row.children])
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    widths = [max((len(row[i]) for row in rows if i < len(row)), default=0) for i in range(columns)]
    lines = [
        " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)
