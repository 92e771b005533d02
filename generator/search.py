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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from generator.model import Agent, Section

FORMAT_VERSION = 1
SEARCH_FOLDER = "search"
INDEX_FILE = "index.json"
CHUNK_BYTES = 32_000
"""About how large a chunk file is before compression: a query loads one or two per word."""
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
    """The postings of every page added so far: for each term, the pages and weights, packed."""

    def __init__(self) -> None:
        self._slugs: list[str] = []
        self._lengths: list[int] = []
        self._postings: dict[str, array[int]] = {}

    def add(self, slug: str, terms: PageTerms) -> None:
        """Add one page's terms; pages may come in any order."""
        page = len(self._slugs)
        self._slugs.append(slug)
        self._lengths.append(terms.length)
        postings = self._postings
        for term, weight in terms.weights.items():
            packed = postings.get(term)
            if packed is None:
                packed = postings[term] = array("I")
            packed.append(page)
            packed.append(weight)

    def render_files(self) -> dict[str, str]:
        """Return every file of the index by its path below the site root: chunks, then index.json."""
        files: dict[str, str] = {}
        chunks: list[tuple[str, str]] = []
        for first, text in self._chunks():
            name = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] + ".json"
            files[f"{SEARCH_FOLDER}/{name}"] = text
            chunks.append((first, name))
        index = {"version": FORMAT_VERSION, "pages": self._slugs, "lengths": self._lengths, "chunks": chunks}
        files[f"{SEARCH_FOLDER}/{INDEX_FILE}"] = json.dumps(index, ensure_ascii=False, separators=(",", ":"))
        return files

    def _chunks(self) -> Iterator[tuple[str, str]]:
        """Yield each chunk's first term and JSON text, terms in the order JavaScript compares them."""
        entries: list[str] = []
        first, size = "", 0
        for term in sorted(self._postings, key=_utf16_order):
            entry = f"{json.dumps(term, ensure_ascii=False)}:[{','.join(map(str, self._postings[term]))}]"
            if entries and size + len(entry) > CHUNK_BYTES:
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
