"""The single factory for Markdown conversion: Pygments highlighting, GitHub heading ids, sanitizing."""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import render_inner_html, strip_tags
from markdown.treeprocessors import Treeprocessor

from generator.model import Section

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
CODE_CSS_CLASS = "highlight"

# What agent text may keep once rendered; everything else is dropped, keeping its text.
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: {"id"} for tag in HEADING_TAGS},
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "span": {"class"},
    "div": {"class"},
    "pre": {"class"},
    "code": {"class"},
    "th": {"align", "style"},
    "td": {"align", "style"},
    "ol": {"start"},
    "input": {"type", "checked", "disabled"},
}
_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) | {"input", "details", "summary"}
_ALLOWED_STYLE_PROPERTIES = {"text-align"}


@dataclass(frozen=True)
class RenderedMarkdown:
    """A Markdown document as sanitized HTML, with its headings as a tree of sections."""

    html: str
    sections: tuple[Section, ...]


class MarkdownRenderer:
    """Convert agent Markdown to safe HTML, reusing one Markdown instance between documents."""

    def __init__(self) -> None:
        self._headings = _HeadingCollector()
        self._md = markdown.Markdown(
            extensions=["fenced_code", "tables", "sane_lists", "codehilite", self._headings],
            extension_configs={
                "codehilite": {"css_class": CODE_CSS_CLASS, "guess_lang": False, "wrapcode": True}
            },
            output_format="html",
        )

    def render(self, text: str) -> RenderedMarkdown:
        """Render a body: HTML, sanitized, with unique GitHub-style heading ids."""
        self._md.reset()
        html = sanitize_html(self._md.convert(text))
        return RenderedMarkdown(html, nest_sections(self._headings.found))

    def render_fragment(self, text: str) -> str:
        """Render a short text such as a summary to sanitized HTML."""
        return self.render(text).html


def sanitize_html(html: str) -> str:
    """Keep safe markup only: no scripts, event handlers, styles or dangerous URLs."""
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        filter_style_properties=_ALLOWED_STYLE_PROPERTIES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


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


@dataclass
class _Heading:
    id: str
    title: str
    level: int


def nest_sections(headings: list[_Heading]) -> tuple[Section, ...]:
    """Turn a flat list of headings into a tree, each heading holding the deeper ones after it."""

    def take(start: int, parent_level: int) -> tuple[list[Section], int]:
        sections: list[Section] = []
        index = start
        while index < len(headings) and headings[index].level > parent_level:
            heading = headings[index]
            children, index = take(index + 1, heading.level)
            sections.append(Section(heading.id, heading.title, heading.level, tuple(children)))
        return sections, index

    return tuple(take(0, 0)[0])


class _HeadingTreeprocessor(Treeprocessor):
    def __init__(self, md: markdown.Markdown, found: list[_Heading]) -> None:
        super().__init__(md)
        self.found = found

    def run(self, root: Element) -> None:
        self.found.clear()
        used: dict[str, int] = {}
        for element in root.iter():
            if element.tag in HEADING_TAGS:
                title = html.unescape(strip_tags(render_inner_html(element, self.md)))
                heading_id = make_unique_id(github_heading_id(title), used)
                element.set("id", heading_id)
                self.found.append(_Heading(heading_id, title, int(element.tag[1])))


class _HeadingCollector(Extension):
    """Give every heading a GitHub-style id and remember the headings of the last document."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.found: list[_Heading] = []

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API name
        # After inline processing (20) so heading text is final, before prettify (10).
        md.treeprocessors.register(_HeadingTreeprocessor(md, self.found), "heading_ids", 15)
