"""The index page's search data: a chunked inverted index of every agent, in static files.

Each agent's words are counted while its page is rendered, weighted by where they stand
(its name counts most, its body least), and kept in the build cache with the page. This
module merges them into `search/`:

- `index.json`: the format version, every page's slug and length in words, and the first
  term of each chunk;
- one file per chunk of terms, named by its content's digest: `{term: [page, weight, ...]}`.

The browser (`assets/search.js`) loads `index.json` and then only the chunks that hold a
query's words, so a query costs a few small requests at any catalog size, and scores the
pages with BM25.

Why not Pagefind, which this replaced: it took about 330 KB of memory and 2.4 ms a page on
one core, and re-indexed every page after any edit (1.5 GB and 14.5 s at 5,000 agents,
where the whole build must stay under 250 MB). Counting words in the page workers and
merging counts from the cache costs a fraction of that.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator.catalog.model import Agent
from generator.markdown.headings import Section

FORMAT_VERSION = 1
SEARCH_FOLDER = "search"
INDEX_FILE = "index.json"
CHUNK_CHARACTERS = 32_000
"""About how long a chunk file is, in characters, before compression: a query loads one or two per word."""
FIELD_WEIGHTS = {"name": 10, "summary": 4, "heading": 3, "label": 2, "example": 1, "body": 1}

_WORD = re.compile(r"[^\W_]+")
# The combining marks NFKD splits off accented letters; search.js removes the same ones.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class PageTerms:
    """One page's words, each with its weighted count, and how many words the page has."""

    weights: dict[str, int]
    length: int

    def to_plain(self) -> list[Any]:
        """Return the words as JSON-ready data, for the build cache."""
        return [self.weights, self.length]

    @classmethod
    def from_plain(cls, data: list[Any]) -> PageTerms:
        """Return the words `to_plain` described."""
        weights, length = data
        return cls(weights, length)


def split_words(text: str) -> list[str]:
    """Split text into the lower-case words search matches, exactly as search.js splits a query."""
    if not text.isascii():
        text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _WORD.findall(text.lower())


def index_terms(agent: Agent) -> PageTerms:
    """Count the words of everything an agent's page shows about it, weighted by field."""
    weights: Counter[str] = Counter()
    length = 0
    for field, text in _fields(agent):
        found = split_words(text)
        length += len(found)
        weight = FIELD_WEIGHTS[field]
        for word, count in Counter(found).items():
            weights[word] += count * weight
    return PageTerms(dict(weights), length)


def _fields(agent: Agent) -> Iterator[tuple[str, str]]:
    yield "name", agent.name
    yield "summary", agent.summary_text
    yield "label", " ".join([agent.category, agent.model or "", *(agent.tools or ()), *(v for _, v in agent.metadata)])
    yield "heading", " ".join(_titles(agent.sections))
    for example in agent.examples:
        turns = (f"{turn.direction} {turn.text}" for turn in example.turns)
        yield "example", " ".join([example.title, example.context, *turns, example.commentary])
    yield "body", html.unescape(_TAG.sub(" ", agent.body_html))


def _titles(sections: tuple[Section, ...]) -> Iterator[str]:
    for section in sections:
        yield section.title
        yield from _titles(section.children)


class SearchIndex:
    """Every page's slug and length, and for each term the pages that have it, with weights.

    A term's postings are kept as two arrays (pages ascending, weights) while pages are added
    or replaced, and as their JSON text once written; the build cache keeps the index as
    last written, so after an edit only the terms of the changed pages are written anew.
    """

    def __init__(self) -> None:
        self.slugs: list[str] = []
        self.lengths: list[int] = []
        self._postings: dict[str, tuple[array[int], array[int]]] = {}
        self._texts: dict[str, str] = {}
        """Terms whose postings are unchanged since `render_files`: their JSON text, `page,weight,…`."""
        self._entries: dict[str, str] = {}
        """Each term of `_texts` as it stands in its chunk, `"term":[…]`, once written."""
        self._order: list[str] | None = None
        """The terms of `_texts` in JavaScript's order, once sorted; kept while one index lives (serve)."""

    def add(self, slug: str, terms: PageTerms) -> None:
        """Add a page after the others: its number is the count of pages added before it."""
        page = len(self.slugs)
        self.slugs.append(slug)
        self.lengths.append(terms.length)
        postings = self._postings
        for term, weight in terms.weights.items():
            packed = postings.get(term) or self._unpack(term)
            packed[0].append(page)
            packed[1].append(weight)

    def replace(self, page: int, old: PageTerms, new: PageTerms) -> None:
        """Replace the terms of page number `page`: `old` are the ones it was added with."""
        self.lengths[page] = new.length
        for term in old.weights.keys() - new.weights.keys():
            pages, weights = self._unpack(term)
            at = bisect_left(pages, page)
            del pages[at], weights[at]
        for term, weight in new.weights.items():
            if old.weights.get(term) == weight:
                continue
            pages, weights = self._unpack(term)
            at = bisect_left(pages, page)
            if at < len(pages) and pages[at] == page:
                weights[at] = weight
            else:
                pages.insert(at, page)
                weights.insert(at, weight)

    def _unpack(self, term: str) -> tuple[array[int], array[int]]:
        """Return a term's postings as arrays to change, made from its text if it was written."""
        packed = self._postings.get(term)
        if packed is None:
            numbers = array("I", map(int, self._texts.pop(term).split(","))) if term in self._texts else array("I")
            self._entries.pop(term, None)
            packed = self._postings[term] = (numbers[0::2], numbers[1::2])
        return packed

    def render_files(self) -> dict[str, str]:
        """Return every file of the index by its path below the site root: chunks, then index.json."""
        self._pack()
        files: dict[str, str] = {}
        chunks: list[tuple[str, str]] = []
        for first, text in self._chunks():
            name = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] + ".json"
            files[f"{SEARCH_FOLDER}/{name}"] = text
            chunks.append((first, name))
        index = {"version": FORMAT_VERSION, "pages": self.slugs, "lengths": self.lengths, "chunks": chunks}
        files[f"{SEARCH_FOLDER}/{INDEX_FILE}"] = json.dumps(index, ensure_ascii=False, separators=(",", ":"))
        return files

    def to_plain(self) -> list[Any]:
        """Return the index as JSON-ready data, for the build cache: its postings as written, the
        terms in JavaScript's order, so that reading it back needs no sorting."""
        self._pack()
        return [self.slugs, self.lengths, {term: self._texts[term] for term in self._sorted_terms()}]

    @classmethod
    def from_plain(cls, data: list[Any]) -> SearchIndex:
        """Return the index `to_plain` described."""
        index = cls()
        index.slugs, index.lengths, index._texts = data
        index._order = list(index._texts)  # written in order, and JSON objects keep it
        return index

    def _pack(self) -> None:
        """Turn the changed postings into text, interleaved as `page,weight,page,weight`, and keep
        the order of terms up to date where terms came or went."""
        order = self._order
        for term, (pages, weights) in self._postings.items():
            if pages:
                numbers = array("I", bytes(8 * len(pages)))
                numbers[0::2], numbers[1::2] = pages, weights
                self._texts[term] = ",".join(map(str, numbers))
                if order is not None and term not in self._entries:
                    at = bisect_left(order, _utf16_order(term), key=_utf16_order)
                    if at == len(order) or order[at] != term:
                        order.insert(at, term)
            elif order is not None:
                at = bisect_left(order, _utf16_order(term), key=_utf16_order)
                if at < len(order) and order[at] == term:
                    del order[at]
        self._postings.clear()

    def _sorted_terms(self) -> list[str]:
        if self._order is None:
            self._order = sorted(self._texts, key=_utf16_order)
        return self._order

    def _entry(self, term: str) -> str:
        entry = self._entries.get(term)
        if entry is None:
            entry = self._entries[term] = f"{json.dumps(term, ensure_ascii=False)}:[{self._texts[term]}]"
        return entry

    def _chunks(self) -> Iterator[tuple[str, str]]:
        """Yield each chunk's first term and JSON text, terms in the order JavaScript compares them."""
        entries: list[str] = []
        first, size = "", 0
        for term in self._sorted_terms():
            entry = self._entry(term)
            if entries and size + len(entry) > CHUNK_CHARACTERS:
                yield first, "{" + ",".join(entries) + "}"
                entries, size = [], 0
            if not entries:
                first = term
            entries.append(entry)
            size += len(entry) + 1
        if entries:
            yield first, "{" + ",".join(entries) + "}"


def _utf16_order(term: str) -> bytes:
    # JavaScript compares strings by UTF-16 code units; Python by code points. They differ
    # past U+FFFF, and search.js finds a term's chunk by comparing.
    return term.encode("utf-16-be", "surrogatepass")
