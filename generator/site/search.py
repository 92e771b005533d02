"""The index page's search data: a chunked inverted index of every agent, in static files.

Each agent's words are counted while its page is rendered, weighted by where they stand
(its name counts most, its body least), and kept in the build cache with the page. This
module merges them into `search/`:

- `index.json`: the format version, every page's slug and length in words, and the first
  term of each chunk;
- one file per chunk of terms, named by its content's digest: `{term: [page, weight, ...]}`,
  each page after the first written as its gap from the one before;
  Where a chunk ends depends on its last term alone (`_ends_chunk`), so an edit changes the
  chunks that hold the words it changed, and the build cache keeps each chunk as a row of its
  own: an edit reads and writes those chunks, not the index;
- `pages/<slug>.json`, one per page: the text of each section under its heading, for the
  snippet under a result and the heading it links to (see `page_fragment`).

Terms are words stemmed by Snowball's English algorithm (the `snowballstemmer` package, pinned
to the version whose generated JavaScript `assets/stemmer.js` is), without the stop words of
`stopwords.py`; a term's weight says how often the page has it and in which fields
(`pack_weight`). The browser (`assets/search.js`) loads `index.json` and then only the chunks
that hold a query's words, so a query costs a few small requests at any catalog size, and
scores the pages with BM25 and the fields the words stand in.

Why not Pagefind, which this replaced: it took about 330 KB of memory and 2.4 ms a page on
one core, and re-indexed every page after any edit (1.5 GB and 14.5 s at 5,000 agents,
where the whole build must stay under 250 MB). Counting words in the page workers and
merging counts from the cache costs a fraction of that.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from generator.site.search_terms import FIELD_LAYOUT, PageTerms
from generator.site.stopwords import ENGLISH_STOP_WORDS

FORMAT_VERSION = 2
SEARCH_FOLDER = "search"
INDEX_FILE = "index.json"
CHUNK_CHARACTERS = 32_000
"""About how long a chunk file is, in characters, before compression: a query loads one or two per word."""


def page_fragment_path(slug: str) -> str:
    """Return where a page's fragment lives below the site root: an agent's by its slug, a
    command's, skill's or plugin's (`kind:slug`, as its card names it) in a folder of its kind."""
    kind, colon, rest = slug.partition(":")
    return f"{SEARCH_FOLDER}/components/{kind}/{rest}.json" if colon else f"{SEARCH_FOLDER}/pages/{slug}.json"


def page_fragment(terms: PageTerms) -> str:
    """Return a page's fragment: `[[heading id, heading title, text], …]` as JSON."""
    return json.dumps([list(section) for section in terms.sections], ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Chunk:
    """One chunk file of the index: its first term, its file name and its content's digest."""

    first: str
    name: str
    version: str


ChunkReader = Callable[[str], "str | None"]
"""Returns the text of a chunk written before, by its file name (None if it is not to be had)."""


class SearchIndex:
    """Every page's slug and length, and for each term the pages that have it, with weights.

    Terms are cut into chunks where the terms themselves say (see `_ends_chunk`), never by
    counting from the first term, so a chunk's content depends on its own terms alone: after
    an edit, only the chunks holding changed terms are read (through `read_chunk`), changed
    and written, and the result is what an index made afresh from the same pages writes.
    The postings of changed terms are kept as two arrays (pages ascending, weights).
    """

    def __init__(self, read_chunk: ChunkReader | None = None) -> None:
        self.slugs: list[str] = []
        self.lengths: list[int] = []
        self.chunks: list[Chunk] = []
        """The chunks as last rendered, in the order of their first terms."""
        self._read_chunk = read_chunk or (lambda name: None)
        self._postings: dict[str, tuple[array[int], array[int]]] = {}
        self._opened: dict[int, dict[str, list[int]]] = {}
        """The chunks (by number) read to be changed: their terms not yet taken into `_postings`."""
        self._texts: dict[str, str] = {}
        """The text of each chunk rendered by this index, by name, while it is one of `chunks`."""
        self.unsaved: set[str] = set()
        """Names of the chunks rendered since the cache last took them (see `take_unsaved`)."""
        self.word_lists: list[Chunk] = []
        """Every term some page has, as files of the terms that start with one character
        (`Chunk.first`): search.js looks in one for the word a typo meant."""

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
        """Return a term's postings as arrays to change, taken from its chunk if it has one."""
        packed = self._postings.get(term)
        if packed is None:
            numbers = self._open(self._chunk_of(term)).pop(term, None) if self.chunks else None
            whole = array("I", numbers or ())
            packed = self._postings[term] = (whole[0::2], whole[1::2])
        return packed

    def _chunk_of(self, term: str) -> int:
        """Return the number of the chunk a term belongs in: the last one starting at or before it."""
        at = bisect_right(self.chunks, _utf16_order(term), key=lambda chunk: _utf16_order(chunk.first))
        return max(at - 1, 0)

    def _open(self, number: int) -> dict[str, list[int]]:
        opened = self._opened.get(number)
        if opened is None:
            text = self._text_of(self.chunks[number])
            opened = self._opened[number] = {term: _from_gaps(numbers) for term, numbers in json.loads(text).items()}
        return opened

    @property
    def files(self) -> list[Chunk]:
        """Every file of the index but index.json and the pages' fragments: chunks, then word lists."""
        return [*self.chunks, *self.word_lists]

    def render_files(self) -> dict[str, str]:
        """Return every file of the index by its path below the site root: chunks and word lists,
        then index.json."""
        changed, _ = self.render_changes()
        files = {f"{SEARCH_FOLDER}/{chunk.name}": changed.get(f"{SEARCH_FOLDER}/{chunk.name}") or self._text_of(chunk)
                 for chunk in self.files}
        files[self.index_path] = changed[self.index_path]
        return files

    def render_changes(self) -> tuple[dict[str, str], dict[str, str]]:
        """Bring the chunks up to date; return the files rendered anew (new chunks, then index.json)
        by path, and the chunks unchanged since the last render, by path with their versions."""
        new = self._bring_up_to_date()
        changed = {f"{SEARCH_FOLDER}/{name}": self._texts[name] for name in sorted(new)}
        kept = {f"{SEARCH_FOLDER}/{chunk.name}": chunk.version
                for chunk in self.files if chunk.name not in new}
        chunks = [(chunk.first, chunk.name) for chunk in self.chunks]
        words = [(chunk.first, chunk.name) for chunk in self.word_lists]
        index = {"version": FORMAT_VERSION, "pages": self.slugs, "lengths": self.lengths, "chunks": chunks,
                 "words": words, "stop": sorted(ENGLISH_STOP_WORDS), "fields": FIELD_LAYOUT}
        # Pages' fragments keep their names from build to build; search.js asks for them with
        # this, so a browser that keeps files a while never pairs this index with an old one.
        index["build"] = _digest(json.dumps(index, ensure_ascii=False, separators=(",", ":")))[:16]
        changed[self.index_path] = json.dumps(index, ensure_ascii=False, separators=(",", ":"))
        return changed, kept

    @property
    def index_path(self) -> str:
        return f"{SEARCH_FOLDER}/{INDEX_FILE}"

    def paths(self) -> set[str]:
        """Return the path below the site root of every file of the index as it is now (chunks,
        word lists and index.json; not the pages' fragments)."""
        return {*(f"{SEARCH_FOLDER}/{chunk.name}" for chunk in self.files), self.index_path}

    def _text_of(self, chunk: Chunk) -> str:
        text = self._texts.get(chunk.name) or self._read_chunk(chunk.name)
        if text is None or _digest(text) != chunk.version:
            raise ChunkMissing(chunk.name)
        return text

    def chunk_text(self, path: str) -> str:
        """Return the text of one of `files` (a chunk or a word list) by its path below the site root."""
        name = path.removeprefix(f"{SEARCH_FOLDER}/")
        return self._text_of(next(chunk for chunk in self.files if chunk.name == name))

    def _bring_up_to_date(self) -> set[str]:
        """Cut the chunks again where terms changed since the last render; return the names made."""
        return self._rechunk() if self._postings or self._opened or not self.chunks else set()

    def _rechunk(self) -> set[str]:
        """Cut the changed terms, and the terms of the chunks they came from, into chunks again;
        return the names of the chunks made."""
        runs = self._changed_runs()
        made: list[Chunk] = []
        result: list[Chunk] = []
        position = 0
        for first, last, entries in runs:
            result += self.chunks[position:first]
            for chunk_first, text in _cut(entries):
                chunk = Chunk(chunk_first, _chunk_name(text), _digest(text))
                self._texts[chunk.name] = text
                made.append(chunk)
                result.append(chunk)
            position = last + 1
        result += self.chunks[position:]
        self.chunks = result
        made += self._update_word_lists()
        self._postings.clear()
        self._opened.clear()
        current = {chunk.name for chunk in [*result, *self.word_lists]}
        for gone in [name for name in self._texts if name not in current]:
            del self._texts[gone]
        names = {chunk.name for chunk in made}
        self.unsaved = (self.unsaved | names) & current
        return names

    def _update_word_lists(self) -> list[Chunk]:
        """Write again the word lists of the characters whose terms came or went; return the lists made."""
        lists = {chunk.first: chunk for chunk in self.word_lists}
        opened: dict[str, set[str]] = {}
        changed: set[str] = set()
        for term, (pages, _) in self._postings.items():
            first = term[:1]
            if first not in opened:
                opened[first] = set(json.loads(self._text_of(lists[first]))) if first in lists else set()
            terms = opened[first]
            if bool(pages) != (term in terms):
                (terms.add if pages else terms.discard)(term)
                changed.add(first)
        made = []
        for first in changed:
            if opened[first]:
                text = json.dumps(sorted(opened[first], key=_utf16_order), ensure_ascii=False, separators=(",", ":"))
                made.append(Chunk(first, _chunk_name(text), _digest(text)))
                self._texts[made[-1].name] = text
        kept = [chunk for chunk in self.word_lists if chunk.first not in changed]
        self.word_lists = sorted([*kept, *made], key=lambda chunk: _utf16_order(chunk.first))
        return made

    def _changed_runs(self) -> list[tuple[int, int, Iterable[tuple[str, str]]]]:
        """Return each run of chunks to cut again: its first and last chunk number, and its terms'
        entries in order. A run ends where its last term ends a chunk, or at the last chunk.
        An index made afresh is one run, its entries made as they are cut (all of them at once
        would be the size of the index again)."""
        if not self.chunks:
            return [(0, -1, _entries(sorted(self._postings.items(), key=lambda item: _utf16_order(item[0]))))]
        by_chunk: dict[int, list[str]] = {}
        for term in self._postings:  # every changed term's chunk is open
            number = self._chunk_of(term)
            self._open(number)
            by_chunk.setdefault(number, []).append(term)
        runs: list[tuple[int, int, Iterable[tuple[str, str]]]] = []
        numbers = sorted(self._opened)
        index = 0
        while index < len(numbers):
            first = last = numbers[index]
            while True:
                if last + 1 < len(self.chunks) and (last + 1 in self._opened):
                    last += 1
                    continue
                entries = self._run_entries(first, last, by_chunk)
                if entries and not _ends_chunk(*entries[-1]) and last + 1 < len(self.chunks):
                    self._open(last + 1)
                    last += 1
                    continue
                break
            runs.append((first, last, entries))
            while index < len(numbers) and numbers[index] <= last:
                index += 1
        return runs

    def _run_entries(self, first: int, last: int, by_chunk: dict[int, list[str]]) -> list[tuple[str, str]]:
        terms: dict[str, str] = {}
        for number in range(first, last + 1):
            for term, numbers in self._open(number).items():
                terms[term] = _gaps_text(numbers)
            for term in by_chunk.get(number, ()):
                pages, weights = self._postings[term]
                if pages:
                    terms[term] = _postings_text(pages, weights)
        return [(term, _entry(term, terms[term])) for term in sorted(terms, key=_utf16_order)]

    def take_unsaved(self) -> dict[str, str]:
        """Return the chunks rendered since the last call, by name, for the cache to keep."""
        taken = {name: self._texts[name] for name in sorted(self.unsaved)}
        self.unsaved = set()
        return taken

    def to_plain(self) -> list[Any]:
        """Return the index as JSON-ready data, for the build cache: pages, lengths and chunks (their
        texts are kept apart, see `take_unsaved`)."""
        self._bring_up_to_date()
        return [self.slugs, self.lengths, [[chunk.first, chunk.name, chunk.version] for chunk in self.chunks],
                [[chunk.first, chunk.name, chunk.version] for chunk in self.word_lists]]

    @classmethod
    def from_plain(cls, data: list[Any], read_chunk: ChunkReader) -> SearchIndex:
        """Return the index `to_plain` described, reading its chunks' texts through `read_chunk`."""
        slugs, lengths, chunks, word_lists = data
        index = cls(read_chunk)
        index.slugs, index.lengths = list(slugs), list(lengths)
        index.chunks = [Chunk(str(first), str(name), str(version)) for first, name, version in chunks]
        index.word_lists = [Chunk(str(first), str(name), str(version)) for first, name, version in word_lists]
        return index


class ChunkMissing(LookupError):
    """A chunk of the last index is not to be had (the cache lost it): make the index afresh."""


def _postings_text(pages: array[int], weights: array[int]) -> str:
    numbers = array("I", bytes(8 * len(pages)))
    numbers[0::2], numbers[1::2] = pages, weights
    return _gaps_text(numbers)


def _gaps_text(numbers: array[int] | list[int]) -> str:
    """Write postings `[page, weight, page, weight, …]` (pages ascending) with each page as its
    gap from the one before: small numbers, a third smaller once compressed."""
    gaps = list(numbers)
    gaps[2::2] = [page - before for page, before in zip(numbers[2::2], numbers[0:-2:2])]
    return ",".join(map(str, gaps))


def _from_gaps(gaps: list[int]) -> list[int]:
    """Return the postings `_gaps_text` wrote, with every page whole again."""
    numbers = list(gaps)
    for at in range(2, len(numbers), 2):
        numbers[at] += numbers[at - 2]
    return numbers


def _entries(items: list[tuple[str, tuple[array[int], array[int]]]]) -> Iterator[tuple[str, str]]:
    return ((term, _entry(term, _postings_text(pages, weights))) for term, (pages, weights) in items if pages)


def _entry(term: str, postings: str) -> str:
    """Return a term as it stands in its chunk: `"term":[page,weight,…]`."""
    return f"{json.dumps(term, ensure_ascii=False)}:[{postings}]"


def _ends_chunk(term: str, entry: str) -> bool:
    """Tell whether a chunk ends after this term: by a draw from the term's own digest, as likely
    as the entry is long against CHUNK_CHARACTERS, so chunks are about that long on average and
    where they end depends on nothing but the term and its entry."""
    draw = int.from_bytes(hashlib.blake2b(term.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")
    return draw * CHUNK_CHARACTERS < len(entry) * (1 << 64)


def _cut(entries: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Yield each chunk's first term and JSON text, cutting after every term that ends a chunk."""
    group: list[str] = []
    first = ""
    for term, entry in entries:
        if not group:
            first = term
        group.append(entry)
        if _ends_chunk(term, entry):
            yield first, "{" + ",".join(group) + "}"
            group = []
    if group:
        yield first, "{" + ",".join(group) + "}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chunk_name(text: str) -> str:
    return _digest(text)[:16] + ".json"


def _utf16_order(term: str) -> bytes:
    # JavaScript compares strings by UTF-16 code units; Python by code points. They differ
    # past U+FFFF, and search.js finds a term's chunk by comparing.
    return term.encode("utf-16-be", "surrogatepass")
