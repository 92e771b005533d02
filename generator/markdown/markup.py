"""The single factory for Markdown conversion: Pygments highlighting, GitHub heading ids, sanitizing."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import markdown
import pygments.plugin
from markdown.extensions.tables import TableExtension
from mdx_breakless_lists.mdx_breakless_lists import BreaklessLists
from mdx_truly_sane_lists.mdx_truly_sane_lists import TrulySaneListExtension
from pymdownx.highlight import HighlightExtension
from pymdownx.magiclink import MagiclinkExtension
from pymdownx.superfences import SuperFencesCodeExtension
from pymdownx.tasklist import TasklistExtension
from pymdownx.tilde import DeleteSubExtension

from generator.markdown.gfm import GithubBlocksExtension, Heading
from generator.markdown.headings import Section
from generator.markdown.limits import find_too_deep_line, is_too_large_to_render
from generator.markdown.links import LinkContext
from generator.markdown.sanitize import CODE_CSS_CLASS, sanitize_html


@dataclass(frozen=True)
class RenderedMarkdown:
    """A Markdown document as sanitized HTML, with its headings as a tree of sections."""

    html: str
    sections: tuple[Section, ...]


def use_builtin_pygments_only() -> None:
    """Keep Pygments to its own lexers, formatters, styles and filters: no installed plugins.

    For a language it does not know (a `mermaid` fence, one nested in a `markdown` fence, an
    HTTP body's content type), Pygments imports every installed plugin: IPython's lexers
    alone are 16 MB and a third of a second in each process that renders. A plugin would
    also make pages depend on the machine that built them. Unknown languages show as plain
    text, as they did.
    """
    pygments.plugin.iter_entry_points = _no_entry_points


def _no_entry_points(group_name: str) -> tuple[()]:
    return ()


use_builtin_pygments_only()


class MarkdownRenderer:
    """Convert agent Markdown to safe HTML, reusing one Markdown instance between documents."""

    def __init__(self, permalink_title: str = "Link to this section") -> None:
        """`permalink_title` is what each heading's `#` link says it is, in the page's language."""
        self.permalink_title = permalink_title
        self._gfm = GithubBlocksExtension()
        # Extensions as objects, not names: a name is first looked up among the entry points of
        # every installed distribution, which costs more than rendering a page.
        self._md = markdown.Markdown(
            extensions=[
                # An attribute, not an inline style, so a strict Content-Security-Policy holds.
                TableExtension(use_align_attribute=True),
                TrulySaneListExtension(nested_indent=2, truly_sane=False),
                SuperFencesCodeExtension(),
                HighlightExtension(css_class=CODE_CSS_CLASS, guess_lang=False),
                DeleteSubExtension(subscript=False),
                TasklistExtension(),
                MagiclinkExtension(),
                BreaklessLists(),
                self._gfm,
            ],
            output_format="html",
        )

    def render(self, text: str, top_level: int = 1, links: LinkContext | None = None) -> RenderedMarkdown:
        """Render a body: HTML, sanitized, with unique GitHub-style heading ids.

        With `top_level` 2, a body that uses `#` headings has every heading moved one level
        down, so a page keeps its single `h1`. With `links`, relative links are resolved
        against the file for an agent page (see links.py).
        """
        self._gfm.top_level = top_level
        if find_too_deep_line(text) or is_too_large_to_render(text):
            return _as_plain_text(text)
        self._md.reset()
        try:
            converted = self._md.convert(text)
        except RecursionError:  # a last resort: find_too_deep_line should have caught it
            self._md.reset()
            return _as_plain_text(text)
        return RenderedMarkdown(sanitize_html(converted, links), nest_sections(self._gfm.headings))

    def render_page_body(self, text: str, links: LinkContext | None = None) -> RenderedMarkdown:
        """Render an agent's body for its page: headings from `h2` down, each with a permalink."""
        rendered = self.render(text, top_level=2, links=links)
        return RenderedMarkdown(add_permalinks(rendered.html, self.permalink_title), rendered.sections)

    def render_fragment(self, text: str, links: LinkContext | None = None) -> str:
        """Render a short text such as a summary to sanitized HTML."""
        return self.render(text, links=links).html


_HEADING = re.compile(r'<(h[1-6]) id="([^"<>]+)">(.*?)</\1>', re.DOTALL)


def add_permalinks(html_text: str, title: str) -> str:
    """Give each heading a `#` link to itself, and scrolling blocks a keyboard stop.

    Added after sanitizing, as the markup is ours. The link stays out of the heading's
    accessible name and tab order; the contents list links every heading for keyboards.
    """
    title = html.escape(title)
    linked = _HEADING.sub(lambda heading: f'<{heading[1]} id="{heading[2]}">{heading[3]}<a class="anchor" '
                                          f'href="#{heading[2]}" title="{title}" aria-hidden="true" tabindex="-1">#</a>'
                                          f'</{heading[1]}>', html_text)
    return linked.replace("<pre>", '<pre tabindex="0">').replace("<table>", '<table tabindex="0">')


def _as_plain_text(text: str) -> RenderedMarkdown:
    return RenderedMarkdown(f"<pre>{html.escape(text)}</pre>", ())


def nest_sections(headings: list[Heading]) -> tuple[Section, ...]:
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
