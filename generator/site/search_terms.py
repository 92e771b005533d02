"""What search knows of one page: its terms (Snowball English stems, without stop words), each
with a weight that packs how often and in which fields the page has it, the page's length in
words, and the text of its sections for the snippets under a result.

An agent's terms are counted while its page is rendered (in the page workers) and kept in the
build cache with the page; a command's, skill's or plugin's from its file's text. `search.py`
merges them into the index files. `split_words` and `stem` split and stem exactly as
`templates/assets/search.js` does a query (Snowball 3.0.1, as `assets/stemmer.js`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from generator.catalog.model import Agent
from generator.markdown.headings import Section
from generator.site.stopwords import ENGLISH_STOP_WORDS

FIELD_WEIGHTS = {"name": 10, "summary": 4, "heading": 3, "label": 2, "example": 1, "body": 1}
FIELD_BITS = {"name": 1, "summary": 2, "heading": 4}
"""The fields search.js ranks above the others, as bits of a term's packed weight."""
_FIELD_SHIFT = 3
FIELD_LAYOUT = {"shift": _FIELD_SHIFT, **FIELD_BITS}
"""How a packed weight holds its fields, as index.json tells search.js."""
SECTION_CHARACTERS = 600
"""How much of each section's text a page's fragment keeps for snippets, at most."""
FRAGMENT_CHARACTERS = 4_000
"""About how much text a page's fragment keeps in all, shared among its sections (each keeps at
least `MIN_SECTION_CHARACTERS`): the browser loads one per result it shows a snippet for."""
MIN_SECTION_CHARACTERS = 160
MAX_SECTIONS = 80

_WORD = re.compile(r"[^\W_]+")
# The combining marks NFKD splits off accented letters; search.js removes the same ones.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_TAG = re.compile(r"<[^>]*>")


PageSection = tuple[str, str, str]
"""A part of a page's body for snippets: its heading's id and title ("" before the first), and its text."""


@dataclass(frozen=True)
class PageTerms:
    """One page's terms, each with its packed weight (see `pack_weight`), how many words the page
    has, and the text of its sections for the snippets under a result."""

    weights: dict[str, int]
    length: int
    sections: tuple[PageSection, ...] = ()

    def to_plain(self) -> list[Any]:
        """Return the words as JSON-ready data, for the build cache."""
        return [self.weights, self.length, [list(section) for section in self.sections]]

    @classmethod
    def from_plain(cls, data: list[Any]) -> PageTerms:
        """Return the words `to_plain` described."""
        weights, length, sections = data
        return cls(weights, length, tuple((str(id_), str(title), str(text)) for id_, title, text in sections))


def split_words(text: str) -> list[str]:
    """Split text into the lower-case words search matches, exactly as search.js splits a query."""
    if not text.isascii():
        text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _WORD.findall(text.lower())


@lru_cache(maxsize=1 << 17)
def stem(word: str) -> str:
    """Return a word's Snowball English stem ("deploying", "deployment" → "deploy"), as
    assets/stemmer.js gives it. The pure Python stemmer, never PyStemmer, whose version may differ;
    imported when first needed, as a build with nothing changed never stems (16 ms)."""
    from snowballstemmer.english_stemmer import EnglishStemmer

    return EnglishStemmer().stemWord(word)


def pack_weight(weight: int, fields: int) -> int:
    """Pack a term's weighted count and the bits of the fields it stands in (`FIELD_BITS`) into one
    number, as the chunks hold it: search.js reads `weight >> 3` and `weight & 7`."""
    return weight << _FIELD_SHIFT | fields


def index_terms(agent: Agent) -> PageTerms:
    """Count the terms of everything an agent's page shows about it, weighted by field."""
    weights, length = count_terms(_fields(agent))
    return PageTerms(weights, length, body_sections(agent.body_html, dict(_titles_by_id(agent.sections))))


def component_terms(name: str, summary: str, labels: str, body: str) -> PageTerms:
    """Count the terms of a command's, skill's or plugin's page from its name, description, the
    words it is filed under (`labels`) and its file's Markdown `body`."""
    sections = markdown_sections(body)
    headings = " ".join(title for _, title, _ in sections)
    weights, length = count_terms([("name", name), ("summary", summary), ("label", labels),
                                   ("heading", headings), ("body", body)])
    return PageTerms(weights, length, sections)


def count_terms(fields: Iterable[tuple[str, str]]) -> tuple[dict[str, int], int]:
    """Return the packed weight of each term of these fields' texts (see `pack_weight`), and how
    many words they have."""
    weights: Counter[str] = Counter()
    bits: Counter[str] = Counter()
    length = 0
    for field, text in fields:
        found = split_words(text)
        length += len(found)
        weight, bit = FIELD_WEIGHTS[field], FIELD_BITS.get(field, 0)
        for word, count in Counter(found).items():
            if word in ENGLISH_STOP_WORDS:
                continue
            term = stem(word)
            weights[term] += count * weight
            bits[term] |= bit
    return {term: pack_weight(weight, bits[term]) for term, weight in weights.items()}, length


_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1>", re.DOTALL)
_ID = re.compile(r'\bid="([^"]*)"')
_ANCHOR = re.compile(r'<a class="anchor"[^>]*>.*?</a>', re.DOTALL)
_BLOCK_TAG = re.compile(r"</?(?:address|blockquote|br|dd|details|div|dl|dt|figcaption|figure|h[1-6]|hr|li|ol|p|pre"
                        r"|section|summary|table|tbody|td|tfoot|th|thead|tr|ul)\b[^>]*>")
_BLANKS = re.compile(r"\s+")
_HIDDEN = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
"""Invisible and direction-changing characters: a snippet is a cut of a text, and a cut may leave
an override open."""
MAX_TITLE_CHARACTERS = 200


def body_sections(body_html: str, titles: dict[str, str]) -> tuple[PageSection, ...]:
    """Split a rendered (sanitized) body at its headings into each heading's id, title (from
    `titles`, by id, else the heading's text without its anchor link) and the text below it, the
    text clipped so that every section has its share (see `FRAGMENT_CHARACTERS`)."""
    parts: list[PageSection] = []
    heading, title, position = "", "", 0
    for match in [*_HEADING.finditer(body_html), None]:
        end = match.start() if match else len(body_html)
        text = _plain_text(body_html[position:end])
        if text or title:
            parts.append((heading, title, text))
        if match is None or len(parts) >= MAX_SECTIONS:
            break
        found = _ID.search(body_html, match.start(), match.start(2))
        heading = html.unescape(found.group(1)) if found else ""
        title = titles.get(heading) or _plain_text(_ANCHOR.sub("", match.group(2)))
        position = match.end()
    return _clipped(parts)


def _clipped(parts: list[PageSection]) -> tuple[PageSection, ...]:
    share = min(SECTION_CHARACTERS, max(MIN_SECTION_CHARACTERS, FRAGMENT_CHARACTERS // max(len(parts), 1)))
    return tuple((heading[:MAX_TITLE_CHARACTERS], _HIDDEN.sub("", title)[:MAX_TITLE_CHARACTERS], text[:share])
                 for heading, title, text in parts)


def _plain_text(fragment: str) -> str:
    """The text of sanitized HTML: a block's end is a space, an inline tag nothing ("<b>a</b>:" is "a:")."""
    text = html.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", fragment)))
    return _BLANKS.sub(" ", _HIDDEN.sub("", text)).strip()


_MARKDOWN_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$", re.MULTILINE)
_MARKDOWN_MARKUP = re.compile(r"^ {0,3}(?:[`~]{3,}.*|[-*+>]|\d+[.)])[ \t]*|\]\([^)\s]*\)|[`*_\[\]|<>]", re.MULTILINE)
"""What a snippet leaves out of Markdown: fence lines, list and quote markers, link targets,
emphasis, code marks and table bars (the words stay)."""


def markdown_sections(body: str) -> tuple[PageSection, ...]:
    """Split Markdown at its ATX headings into each heading's title and the text below it, for
    snippets (no heading ids: the page's are made as it is rendered), clipped as `body_sections` does."""
    parts: list[PageSection] = []
    title, position = "", 0
    for match in [*_MARKDOWN_HEADING.finditer(body), None]:
        text = _BLANKS.sub(" ", _HIDDEN.sub("", _MARKDOWN_MARKUP.sub(" ", body[position:match.start() if match else len(body)]))).strip()
        if text or title:
            parts.append(("", title, text))
        if match is None or len(parts) >= MAX_SECTIONS:
            break
        title, position = _BLANKS.sub(" ", match.group(2)).strip(), match.end()
    return _clipped(parts)


def _fields(agent: Agent) -> Iterator[tuple[str, str]]:
    yield "name", agent.name
    yield "summary", agent.summary_text
    yield "label", " ".join([agent.category, agent.model or "", *(agent.tools or ()), *(v for _, v in agent.metadata)])
    yield "heading", " ".join(_titles(agent.sections))
    for example in agent.examples:
        turns = (f"{turn.direction} {turn.text}" for turn in example.turns)
        yield "example", " ".join([example.title, example.context, *turns, example.commentary])
    yield "body", html.unescape(_TAG.sub(" ", agent.body_html))


def _titles_by_id(sections: tuple[Section, ...]) -> Iterator[tuple[str, str]]:
    for section in sections:
        yield section.id, section.title
        yield from _titles_by_id(section.children)


def _titles(sections: tuple[Section, ...]) -> Iterator[str]:
    return (title for _, title in _titles_by_id(sections))
