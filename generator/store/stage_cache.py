"""The build cache's tables of each stage's answers: files as read and checked, rendered pages
with their words for search, and each agent's entries in the site-wide files, each row under
the key it was made under (see store/database.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator.store.database import (
    CacheDatabase,
    Plain,
    digest_parts,
    pack,
    path_key,
    unpack,
    unwrap_text,
    wrap_text,
)

ENTRY_PARTS = 3
"""How many texts each agent's entries are (see site/entries.py)."""
_OBJECT_PART = 1
"""Which of them is the agent's catalog.json object."""
_ENTRY_COLUMNS = [f"part_{number}" for number in range(1, ENTRY_PARTS + 1)]


@dataclass(frozen=True)
class StoredPage:
    """A page as an earlier build stored it: its head, and its HTML compressed (b"" if not asked for).

    The head is what builds read of every page (a few hundred bytes); the rest of its data is
    read with `get_page_rest`, for the few pages whose rest a build needs.
    """

    head: Plain
    compressed_html: bytes


class StageCache(CacheDatabase):
    """The cache's rows of what each costly stage made, read and written by one build at a time."""

    def _create_tables(self) -> None:
        super()._create_tables()
        # Heads in a table of their own: a build reads every page's head, and beside the HTML each
        # would sit on a page (or overflow page) of its own, read from all over the file.
        self._db.execute("CREATE TABLE IF NOT EXISTS page_heads (file BLOB PRIMARY KEY, key TEXT, head TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS pages (file BLOB PRIMARY KEY, key TEXT, rest TEXT, html BLOB, terms TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS file_heads (path BLOB PRIMARY KEY, key TEXT, stamp TEXT, head TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, key TEXT, reading TEXT)")
        # Each text as it is, not JSON (decoding 100 MB of escaped HTML and JSON took a second at
        # 20,000 agents), after the row it belongs to: a text moved to another row is refused.
        # `object_size`: the bytes of an agent's catalog.json object, for an edit to find it in the file.
        self._db.execute("CREATE TABLE IF NOT EXISTS entries (slug TEXT PRIMARY KEY, key TEXT, object_size INTEGER, "
                         f"{', '.join(f'{column} TEXT' for column in _ENTRY_COLUMNS)})")
        # Every build reads every agent's entry key, and the entries' texts fill a page or more each:
        # the keys read from an index of their own touch a few hundred pages, not 20,000.
        self._db.execute("CREATE INDEX IF NOT EXISTS entry_keys ON entries (slug, key, object_size)")

    # -- files as read and checked ----------------------------------------------------------

    def _reading_key(self, digest: str) -> str:
        return digest_parts([self.fingerprint, digest])

    def get_file(self, path: Path, digest: str) -> Plain | None:
        """Return a file's reading stored for this content (and these rules), or None."""
        rows = self._query("SELECT key, reading FROM files WHERE path = ?", (path_key(path),))
        if not rows or rows[0][0] != self._reading_key(digest):
            return None
        return unpack(rows[0][1], rows[0][0])

    def get_file_head(self, path: Path, digest: str) -> Plain | None:
        """Return the head of a file's reading (see `get_file_by_stamp`) stored for this content."""
        rows = self._query("SELECT key, head FROM file_heads WHERE path = ?", (path_key(path),))
        if not rows or rows[0][0] != self._reading_key(digest):
            return None
        found = self._head_with_key(rows[0][1], rows[0][0])
        return found[1] if found is not None and found[0] == digest else None

    def get_file_by_stamp(self, path: Path, stamp: str) -> tuple[str, Plain] | None:
        """Return a file's reading's head (all of it but the frontmatter, which `get_file` has) if
        the file has the same stamp (see pipeline/read.py) as then."""
        rows = self._query("SELECT stamp, key, head FROM file_heads WHERE path = ?", (path_key(path),))
        if not rows or rows[0][0] != self._reading_key(stamp):
            return None
        return self._head_with_key(rows[0][2], rows[0][1])

    def get_files_by_stamp(self, stamps: Mapping[Path, str]) -> dict[Path, tuple[str, Plain]]:
        """Return the heads of the readings of every file whose stamp is the one stored with it, by
        path, each with the digest of the file's content it holds (for `get_file`): one query for
        the whole catalog, which point queries cost many times over."""
        wanted = {path_key(path): (path, self._reading_key(stamp)) for path, stamp in stamps.items() if stamp}
        found: dict[Path, tuple[str, Plain]] = {}
        for stored_path, stored_stamp, key, head in self._rows("SELECT path, stamp, key, head FROM file_heads"):
            known = wanted.get(stored_path)
            if known is not None and stored_stamp == known[1]:
                value = self._head_with_key(head, key)
                if value is not None:
                    found[known[0]] = value
        return found

    def _head_with_key(self, head: object, key: str) -> tuple[str, Plain] | None:
        """Return a stored head with the digest it was stored under (as `get_file` takes it); the
        two were packed under the row's key together."""
        value = unpack(head, key)
        if not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str):
            return None
        return value[0], value[1]

    def restamp_file(self, path: Path, stamp: str) -> None:
        """Remember a file's new stamp (its content is as stored) for `get_file_by_stamp`."""
        self._query("UPDATE file_heads SET stamp = ? WHERE path = ?", (self._reading_key(stamp), path_key(path)))

    def put_file(self, path: Path, digest: str, stamp: str, reading: Plain, head: Plain) -> None:
        """Store a file's reading and its head under its content's digest, with the stamp it had
        before it was read ("" when not to be trusted)."""
        key = self._reading_key(digest)
        with self._transaction():
            self._query("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", (path_key(path), key, pack(reading, key)))
            self._query("INSERT OR REPLACE INTO file_heads VALUES (?, ?, ?, ?)",
                        (path_key(path), key, self._reading_key(stamp) if stamp else "", pack([digest, head], key)))

    # -- rendered pages ---------------------------------------------------------------------

    def get_page(self, file: PurePosixPath, key: str, with_html: bool = True) -> StoredPage | None:
        """Return the page stored for the agent file `file` under `key`; without `with_html`,
        its head alone."""
        rows = self._query("SELECT key, head FROM page_heads WHERE file = ?", (path_key(file),))
        if not rows or rows[0][0] != key:
            return None
        head = unpack(rows[0][1], key)
        html = self._query("SELECT key, html FROM pages WHERE file = ?", (path_key(file),)) if with_html else [(key, b"")]
        if not isinstance(head, dict) or not html or html[0][0] != key or not isinstance(html[0][1], bytes):
            return None
        html = html[0][1]
        if with_html and head.get("html") != hashlib.sha256(html).hexdigest():
            return None  # not the HTML this row's head was stored with
        return StoredPage(head, html)

    def get_page_rest(self, file: PurePosixPath | str, key: str) -> Plain | None:
        """Return the rest of the data of the page stored for `file` under `key` (see `StoredPage`)."""
        rows = self._query("SELECT key, rest FROM pages WHERE file = ?", (path_key(file),))
        return unpack(rows[0][1], key) if rows and rows[0][0] == key else None

    def get_pages_heads(self, pages: list[tuple[PurePosixPath | str, str]]) -> list[Plain] | None:
        """Return the head of each page (its agent file and key) in that order, read in one query;
        None if any is missing."""
        wanted = {path_key(file): (index, key) for index, (file, key) in enumerate(pages)}
        found: list[Plain] = [None] * len(pages)
        count = 0
        for file, key, head in self._rows("SELECT file, key, head FROM page_heads"):
            known = wanted.get(file)
            if known is not None and known[1] == key:
                found[known[0]] = value = unpack(head, key)
                count += value is not None
        return found if count == len(pages) else None

    def get_terms(self, file: PurePosixPath, key: str) -> Plain | None:
        """Return the words for search stored with the page of `file` under `key`."""
        rows = self._query("SELECT key, terms FROM pages WHERE file = ?", (path_key(file),))
        return unpack(rows[0][1], key) if rows and rows[0][0] == key else None

    def put_page(self, file: PurePosixPath, key: str, head: dict[str, Plain], rest: Plain, compressed_html: bytes,
                 terms: Plain) -> None:
        """Store a freshly rendered page: its head and the rest of its data (see `StoredPage`), its
        HTML compressed, and its words for search."""
        head = {**head, "html": hashlib.sha256(compressed_html).hexdigest()}
        with self._transaction():
            self._query("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?)",
                        (path_key(file), key, pack(rest, key), compressed_html, pack(terms, key)))
            self._query("INSERT OR REPLACE INTO page_heads VALUES (?, ?, ?)", (path_key(file), key, pack(head, key)))

    def forget_others(self, files: Iterable[PurePosixPath], paths: Iterable[Path]) -> None:
        """Drop the pages and readings of files no longer in the catalog (`files` by their path
        below the agents folder, `paths` as read), and values stored under another fingerprint."""
        self._query("DELETE FROM state WHERE name LIKE 'value %' AND name NOT LIKE ?", (self._value_row("%"),))
        kept_files, kept_paths = {path_key(file) for file in files}, {path_key(path) for path in paths}
        # While the catalog has the files it had at the last look, and the tables as many rows as
        # were left then, no row can be of a file gone (a build that failed after storing a new
        # file's rows adds to the count), and the tables need not be read.
        present = digest_parts([key.hex() for key in sorted(kept_files)] + ["\0"] + [key.hex() for key in sorted(kept_paths)])
        if self._state("present", decoded=True) == [present, *self._row_counts()]:
            return
        for table, column, kept in (("pages", "file", kept_files), ("page_heads", "file", kept_files),
                                    ("files", "path", kept_paths), ("file_heads", "path", kept_paths)):
            stored = [row[0] for row in self._query(f"SELECT {column} FROM {table}")]
            for gone in [key for key in stored if key not in kept]:
                self._query(f"DELETE FROM {table} WHERE {column} = ?", (gone,))
        self._query("INSERT OR REPLACE INTO state VALUES ('present', ?)",
                    (pack([present, *self._row_counts()], "present"),))

    def _row_counts(self) -> list[int]:
        return [rows[0][0] if rows else -1 for rows in (self._query(f"SELECT count(*) FROM {table}")
                                                         for table in ("pages", "page_heads", "files", "file_heads"))]

    # -- entries ----------------------------------------------------------------------------

    def get_entry_keys(self) -> dict[str, str]:
        """Return the key of every agent's entries, by slug."""
        return {slug: key for slug, key in self._rows("SELECT slug, key FROM entries")}

    def get_object_sizes(self) -> dict[str, tuple[str, int | None]]:
        """Return the key of every agent's entries and the size in bytes (UTF-8) of its catalog.json
        object, by slug."""
        return {slug: (key, size) for slug, key, size in self._rows("SELECT slug, key, object_size FROM entries")}

    def get_entry_parts(self, part: int) -> dict[str, tuple[str, str]]:
        """Return one part (0, 1, …) of every agent's entries, by slug, with its key."""
        found = {}
        for slug, key, value in self._rows(f"SELECT slug, key, {_ENTRY_COLUMNS[part]} FROM entries"):
            known = self._entry_part(slug, key, value)
            if known is not None:
                found[slug] = known
        return found

    def iter_entry_parts(self, part: int, slugs: Sequence[str]) -> Iterator[tuple[str, str] | None]:
        """Yield one part of the entries of each of `slugs` (no two alike), in that order, with
        its key (None where none is stored), read one after another; as many as there are
        slugs, whatever happens to the database meanwhile."""
        # The slugs' array is the outer loop of the join, so rows come in its order without a
        # sort (ORDER BY would sort every text before the first came); each row's slug is
        # checked all the same, and the rest are asked for one by one should one differ.
        column = _ENTRY_COLUMNS[part]
        query = (f"SELECT o.value, e.key, e.{column} FROM json_each(?) AS o "
                 "LEFT JOIN entries AS e ON e.slug = o.value")
        count = 0
        for slug, key, value in self._rows(query, (json.dumps(list(slugs)),)):
            if count == len(slugs) or slug != slugs[count]:
                break
            yield self._entry_part(slug, key, value)
            count += 1
        for slug in slugs[count:]:
            rows = self._query(f"SELECT key, {column} FROM entries WHERE slug = ?", (slug,))
            yield self._entry_part(slug, *rows[0]) if rows else None

    @staticmethod
    def _entry_part(slug: str, key: str | None, value: object) -> tuple[str, str] | None:
        text = unwrap_text(value, f"{slug} {key}") if key is not None else None
        return (key, text) if text is not None else None

    def get_entries(self) -> dict[str, tuple[str, list[str]]]:
        """Return every agent's entries as the last builds left them, by slug, with their keys."""
        stored = {}
        for slug, key, *values in self._rows(f"SELECT slug, key, {', '.join(_ENTRY_COLUMNS)} FROM entries"):
            texts = [unwrap_text(value, f"{slug} {key}") for value in values]
            if all(text is not None for text in texts):
                stored[slug] = (key, texts)
        return stored

    def put_entries(self, slug: str, key: str, entries: list[str]) -> None:
        """Store one agent's entries (its ENTRY_PARTS texts: card, catalog.json object, llms.txt
        line) under the key they were rendered under."""
        if len(entries) == ENTRY_PARTS:
            place = f"{slug} {key}"
            object_size = len(entries[_OBJECT_PART].encode("utf-8"))
            self._query(f"INSERT OR REPLACE INTO entries VALUES (?, ?, ?{', ?' * ENTRY_PARTS})",
                        (slug, key, object_size, *(wrap_text(text, place) for text in entries)))
