"""Our own Python-Markdown extension for what GitHub renders and no well-kept extension covers.

- Heading ids follow GitHub's rule, so links written for GitHub (`#core-expertise`) work.
- A table or a fenced code block may follow a paragraph line directly, as GitHub allows.
- `mdx_breakless_lists` runs after fenced code is stashed, so it never edits code blocks.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markdown.extensions import Extension
from markdown.extensions.toc import render_inner_html, strip_tags
from markdown.inlinepatterns import LinkInlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER, AtomicString

from generator.markdown.links import closes_fence
from generator.markdown.sanitize import HEADING_TAGS, RESERVED_IDS, escape_unknown_tags

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from markdown import Markdown

_PLACEHOLDER_LINE = re.compile("^" + HTML_PLACEHOLDER.replace("%s", r"\d+") + "$")
_LIST_MARKER = re.compile(r"^(?P<indent> *)(?P<marker>[*+-]|\d{1,9}[.)])(?P<gap> +|$)")
_QUOTED_LIST_ITEM = re.compile(r"^ {0,3}>[ ]?(?: {0,3})(?:[*+-]|\d{1,9}[.)]) ")
_TABLE_DELIMITER = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


@dataclass
class Heading:
    """A heading as found in a rendered document."""

    id: str
    title: str
    level: int


def github_heading_id(title: str) -> str:
    """Make a heading id as GitHub does: lower-case, punctuation dropped, spaces to hyphens."""
    kept = (
        ch
        for ch in title.strip().lower()
        if ch in " -_" or unicodedata.category(ch)[0] in "LMN"
    )
    return "".join(kept).replace(" ", "-")


def make_unique_id(base: str, used: dict[str, int]) -> str:
    """Return `base`, or `base-1`, `base-2`… for repeats, as GitHub numbers them."""
    base = base or "section"
    candidate = base
    while candidate in used:
        used[base] = used.get(base, 0) + 1
        candidate = f"{base}-{used[base]}"
    used[candidate] = 0
    return candidate


class HeadingIdTreeprocessor(Treeprocessor):
    """Give every heading a GitHub id and collect the headings of the document."""

    def __init__(self, md: Markdown, extension: GithubBlocksExtension) -> None:
        super().__init__(md)
        self.extension = extension
        self.found = extension.headings

    def run(self, root: Element) -> None:
        self.found.clear()
        used: dict[str, int] = dict.fromkeys(RESERVED_IDS, 0)
        headings = [element for element in root.iter() if element.tag in HEADING_TAGS]
        top = min((int(element.tag[1]) for element in headings), default=1)
        shift = max(0, self.extension.top_level - top)
        for element in headings:
            element.tag = f"h{min(6, int(element.tag[1]) + shift)}"
            # Title the heading as the page shows it: tags we do not keep read as text.
            inner = escape_unknown_tags(render_inner_html(element, self.md))
            title = html.unescape(strip_tags(inner))
            heading_id = make_unique_id(github_heading_id(title), used)
            element.set("id", heading_id)
            self.found.append(Heading(heading_id, title, int(element.tag[1])))


@dataclass
class _ListLevel:
    content_column: int
    """Where the item's text starts as written."""
    new_content_column: int
    """Where it starts once every level is indented by two spaces."""


# GitHub starts a new list when the bullet (or the `.`/`)` after a number) changes;
# Python-Markdown would continue the list, so an empty comment stands between them.
_LIST_BREAK = ("", "<!-- -->", "")


def _marker_kind(marker: str) -> str:
    return marker if marker in "*+-" else marker[-1]


class ListIndentPreprocessor(Preprocessor):
    """Re-indent nested lists to two spaces a level, as GitHub reads any indent that reaches
    the parent item's text (two, three or four spaces) as nesting."""

    def run(self, lines: list[str]) -> list[str]:
        levels: list[_ListLevel] = []
        after_blank = False
        top_marker = ""
        result: list[str] = []
        for line in lines:
            if not line.strip():
                result.append(line)
                after_blank = True
                continue
            indent = len(line) - len(line.lstrip(" "))
            marker = _LIST_MARKER.match(line)
            if marker:
                while levels and indent < levels[-1].content_column:
                    levels.pop()
                if not levels:
                    kind = _marker_kind(marker.group("marker"))
                    if top_marker and kind != top_marker:
                        result.extend(_LIST_BREAK)
                    top_marker = kind
                # A list's first item may stand up to three spaces in, as GitHub reads it.
                new_indent = levels[-1].new_content_column if levels else (0 if indent <= 3 else indent)
                width = len(marker.group("marker")) + max(1, len(marker.group("gap")))
                levels.append(_ListLevel(indent + width, new_indent + 2))
                result.append(" " * new_indent + line[indent:])
            else:
                if after_blank:
                    while levels and indent < levels[-1].content_column:
                        levels.pop()
                    if not levels:
                        top_marker = ""
                result.append(self._reindent(line, indent, levels))
            after_blank = False
        return result

    @staticmethod
    def _reindent(line: str, indent: int, levels: list[_ListLevel]) -> str:
        if not levels or indent < levels[-1].content_column:
            return line
        level = levels[-1]
        return " " * (level.new_content_column + indent - level.content_column) + line[indent:]


_FENCE_LINE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_LANGUAGE = re.compile(r"[\w#+.-]+")


class FenceInfoPreprocessor(Preprocessor):
    """Make every code fence one SuperFences reads as GitHub does: an info string that is not a
    language name (`[language]`, `{python}`, `js extra words`) keeps the fence a code block, its
    language the first word's letters; a fence never closed runs to the end of the text."""

    def run(self, lines: list[str]) -> list[str]:
        result: list[str] = []
        opening: tuple[str, str] | None = None  # the open fence's indent and marker
        for line in lines:
            match = _FENCE_LINE.match(line)
            if match is None:
                result.append(line)
                continue
            indent, fence, info = match.group("indent", "fence", "info")
            if opening is not None:
                opening = None if closes_fence(match, opening[1]) else opening
                result.append(line)
            elif fence[0] == "`" and "`" in info:
                result.append(line)  # inline code that starts a line, as GitHub reads it
            else:
                opening = (indent, fence)
                result.append(f"{indent}{fence}{self._info(info)}")
        if opening is not None:
            result.append(f"{opening[0]}{opening[1]}")
        return result

    @staticmethod
    def _info(info: str) -> str:
        """The language SuperFences takes: the first word's letters (GitHub shows no more of it)."""
        words = info.strip().split(None, 1)
        if not words:
            return ""
        return "".join(_LANGUAGE.findall(words[0].removeprefix("{").removesuffix("}")))


class BlockSeparatingPreprocessor(Preprocessor):
    """Put a blank line where GitHub starts a new block without one: tables and code fences."""

    def run(self, lines: list[str]) -> list[str]:
        result: list[str] = []
        for index, line in enumerate(lines):
            previous = result[-1] if result else ""
            if previous.strip() and self._starts_block(lines, index, previous):
                result.append(">" if line.lstrip().startswith(">") else "")
            result.append(line)
            if _PLACEHOLDER_LINE.match(line) and index + 1 < len(lines) and lines[index + 1].strip():
                result.append("")
        return result

    @staticmethod
    def _starts_block(lines: list[str], index: int, previous: str) -> bool:
        line = lines[index]
        if _PLACEHOLDER_LINE.match(line):
            return True
        if _QUOTED_LIST_ITEM.match(line) and previous.lstrip().startswith(">"):
            return not _QUOTED_LIST_ITEM.match(previous) and previous.strip() != ">"
        is_table_header = (
            "|" in line
            and index + 1 < len(lines)
            and _TABLE_DELIMITER.match(lines[index + 1]) is not None
        )
        return is_table_header and "|" not in previous


MAX_SCAN = 1000
"""How far past `[`, `](` or `<tag` the parser looks for the closing `]`, `)` or `>`.

Python-Markdown and the standard library's HTML parser scan to the end of the text for
each unclosed one, which makes a file of many of them take minutes (`[a](b ` ten
thousand times: 30 s). Real links and tags close well within this distance.
"""
MAX_UNCLOSED_TAGS = 50
MAX_INLINE_TEXT = 20_000
"""A block longer than this, or whose `[`s would scan more than about 20 characters for each
of its own, is shown without inline formatting.

Python-Markdown rebuilds a block's text once per inline match (link, emphasis, entity…),
and each `[` may scan up to MAX_SCAN characters, so such blocks cost time quadratic in
their size; no real paragraph comes near these numbers.
"""
_TAG_OPENING = re.compile(r"<[A-Za-z/!?]")


class UnclosedTagPreprocessor(Preprocessor):
    """In a text with many `<tag` starts that never close, show them as text.

    A handful cost nothing and are left alone, so ordinary text renders exactly as before.
    """

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        unclosed = [
            match.start()
            for match in _TAG_OPENING.finditer(text)
            if text.find(">", match.start(), match.start() + MAX_SCAN) < 0
        ]
        if len(unclosed) <= MAX_UNCLOSED_TAGS:
            return lines
        pieces, previous = [], 0
        for position in unclosed:
            pieces.extend((text[previous:position], "&lt;"))
            previous = position + 1
        pieces.append(text[previous:])
        return "".join(pieces).split("\n")


class LongTextTreeprocessor(Treeprocessor):
    """Mark text too long or too bracket-heavy for inline patterns as atomic, so they skip it."""

    def run(self, root: Element) -> None:
        for element in root.iter():
            if element.text and _is_too_costly(element.text):
                element.text = AtomicString(element.text)
            if element.tail and _is_too_costly(element.tail):
                element.tail = AtomicString(element.tail)


def _is_too_costly(text: str) -> bool:
    scan_cost = text.count("[") * min(len(text), MAX_SCAN)
    return len(text) > MAX_INLINE_TEXT or scan_cost > 20 * len(text) + 2000


def bound_link_scans(md: Markdown) -> None:
    """Make every link pattern look at most MAX_SCAN characters ahead for its `]` and `)`."""
    for processor in md.inlinePatterns:
        if isinstance(processor, LinkInlineProcessor):
            processor.getText = _bounded_get_text(processor.getText)  # type: ignore[method-assign]
            processor.getLink = _bounded_get_link(processor.getLink)  # type: ignore[method-assign]


def _bounded_get_text(get_text: Callable[[str, int], tuple[str, int, bool]]) -> Callable[..., tuple[str, int, bool]]:
    def bounded(data: str, index: int) -> tuple[str, int, bool]:
        if data.find("]", index, index + MAX_SCAN) < 0:
            return "", index, False
        text, end, handled = get_text(data[index : index + MAX_SCAN], 0)
        return text, index + end, handled

    return bounded


def _bounded_get_link(
    get_link: Callable[[str, int], tuple[str, str | None, int, bool]],
) -> Callable[..., tuple[str, str | None, int, bool]]:
    def bounded(data: str, index: int) -> tuple[str, str | None, int, bool]:
        if data.find(")", index, index + MAX_SCAN) < 0:
            return "", None, index, False
        href, title, end, handled = get_link(data[index : index + MAX_SCAN], 0)
        return href, title, index + end, handled

    return bounded


class GithubBlocksExtension(Extension):
    """Render block structure and heading ids as GitHub does, remembering the last headings."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.headings: list[Heading] = []
        self.top_level = 1
        """The level the document's highest headings are moved to (never up)."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - Markdown's API name
        # Fenced code is stashed at 25; our block separation and the breakless-lists
        # preprocessor (registered at 27 by its package) must see placeholders, not code.
        md.preprocessors.register(FenceInfoPreprocessor(md), "gfm_fence_info", 26)
        md.preprocessors.register(ListIndentPreprocessor(md), "gfm_list_indent", 24.5)
        md.preprocessors.register(BlockSeparatingPreprocessor(md), "gfm_blocks", 24)
        # Before Python-Markdown's raw HTML block parser (20), which runs the stdlib parser.
        md.preprocessors.register(UnclosedTagPreprocessor(md), "gfm_unclosed_tags", 21)
        bound_link_scans(md)
        # Before inline processing (20).
        md.treeprocessors.register(LongTextTreeprocessor(md), "gfm_long_text", 25)
        if "breakless_lists" in md.preprocessors:
            md.preprocessors.register(md.preprocessors["breakless_lists"], "breakless_lists", 23)
        # An ordered list keeps the number it starts at, as on GitHub.
        if "olist" in md.parser.blockprocessors:
            md.parser.blockprocessors["olist"].LAZY_OL = False
        # After inline processing (20) so heading text is final, before prettify (10).
        md.treeprocessors.register(HeadingIdTreeprocessor(md, self), "gfm_heading_ids", 15)
