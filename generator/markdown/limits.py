"""How large and how deeply nested a body may be before it is shown as plain text, told
without Markdown (whose import `check` and a warm build never need)."""

from __future__ import annotations

import re

MAX_NESTING = 20
"""How deep quotes and lists may nest before a body is shown as plain text."""
MAX_LINES = 5_000
MAX_TAGS = 5_000
"""Bodies with more lines, `<` or `&` than these are shown as plain text: Python-Markdown's block
parser and raw-HTML handling grow quadratically with them (64,000 `## a` lines: 104 s),
and real agent files stay far below (the largest in the shared corpora has about 1,000 lines)."""
_QUOTE_PREFIX = re.compile(r"^(?:[ ]{0,3}>)+")
_LIST_ITEM = re.compile(r"^ *(?:[-*+]|\d{1,9}[.)]) ")


def is_too_large_to_render(text: str) -> str:
    """Say why a body is too large to render as Markdown, or return ""."""
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        return f"{lines:,} lines"
    tags = text.count("<")
    if tags > MAX_TAGS:
        return f"{tags:,} '<' characters"
    # The sanitizer (nh3) takes time in the square of the character references in one run of text.
    ampersands = text.count("&")
    return f"{ampersands:,} '&' characters" if ampersands > MAX_TAGS else ""


def find_too_deep_line(text: str) -> tuple[int, int] | None:
    """Return (line index, depth) of the first line nesting quotes or lists past MAX_NESTING.

    Python-Markdown recurses a few frames per level, so a body nested hundreds deep would
    exhaust Python's stack; such bodies are shown as plain text instead.
    """
    for index, line in enumerate(text.split("\n")):
        quotes = _QUOTE_PREFIX.match(line)
        quote_depth = quotes.group(0).count(">") if quotes else 0
        list_depth = (len(line) - len(line.lstrip(" "))) // 2 if _LIST_ITEM.match(line) else 0
        if max(quote_depth, list_depth) > MAX_NESTING:
            return index, max(quote_depth, list_depth)
    return None
