"""The build cache: one SQLite file of plain data that earlier builds left for later ones.

It stores JSON text and compressed HTML, and nothing that could run code when read, so a
cache made on one machine is good on another. What the values mean is the pipeline's
business (pipeline/memo.py): this module knows rows, keys and JSON, not agents.

Every value is stored with the key it was made under, and read only under that key; a
value copied to another row does not match it there. The cache is only an accelerator:
any problem with it is logged and the build goes on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger(__name__)

CACHE_FILE = "cache.sqlite3"
FORMAT = 25
"""Raised when what the cache stores changes shape; a cache of another format is started afresh."""

Plain = Any
"""JSON-ready data: None, booleans, numbers, text, and lists and string-keyed objects of them."""
_NOTHING_READ = object()
"""What `BuildCache` read of a state it has not read (the state itself may be absent: None)."""
ENTRY_PARTS = 3
"""How many texts each agent's entries are (see site/entries.py)."""
_OBJECT_PART = 1
"""Which of them is the agent's catalog.json object."""
_ENTRY_COLUMNS = [f"part_{number}" for number in range(1, ENTRY_PARTS + 1)]
LEDGER_COLUMNS = ("stamp TEXT", "digest TEXT", "key TEXT", "added REAL", "updated REAL", "added_text TEXT",
                  "updated_text TEXT")
"""What the ledger keeps of each page that an edit changes (see pipeline/edit.py)."""


@dataclass
class CacheStats:
    """How many pages a build took from the cache and how many it rendered."""

    hits: int = 0
    misses: int = 0


@dataclass(frozen=True)
class StoredPage:
    """A page as an earlier build stored it: its head, and its HTML compressed (b"" if not asked for).

    The head is what builds read of every page (a few hundred bytes); the rest of its data is
    read with `get_page_rest`, for the few pages whose rest a build needs.
    """

    head: Plain
    compressed_html: bytes


@dataclass(frozen=True)
class BuildRecord:
    """What a finished build leaves for the next one."""

    quick_state: str
    """The digest of every input's stamp (see pipeline/build.py)."""
    site: str
    """The digest of what the site is made of and the stamp of its files."""
    result: Plain
    """The findings and catalog (each page's file and key), for a build with nothing changed to
    repeat: findings None when they are those `last_result` read (at 20,000 agents with a finding
    each, 4 MB not written again), pages None when `changed_pages` says what changed."""
    written: Plain | None = None
    """What the build wrote into its site, when it wrote it (see pipeline/render.py)."""
    entries: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    """Each agent's entries the build rendered and did not store as it went (a few texts), by
    slug, with their keys."""
    slugs: frozenset[str] | None = None
    """Every agent's slug, when the build rendered entries: stored entries of other slugs are dropped."""
    chunks: dict[str, str] = field(default_factory=dict)
    """The search index's chunks made since the last record, by name (their texts)."""
    chunk_names: frozenset[str] | None = None
    """Every chunk of the search index, when the build wrote its site: stored chunks of other names are dropped."""
    layout: Plain | None = None
    """The paths of the site's files and folders as the build left them (None: keep the last)."""
    site_files: StoredFiles | None = None
    """Every file the build wrote into its site with its version, when it wrote it."""
    site_pages: StoredFiles | None = None
    """Every agent page of its site with the memo key it was rendered under, when it wrote it."""
    changed_pages: Mapping[int, Sequence[str]] | None = None
    """The pages (file and key) at the places in the catalog an edit changed, of those
    `last_result` read; with it, `result` holds no pages."""


@dataclass(frozen=True)
class StoredFiles:
    """Every file of a site with its version (or page with its key), stored by difference from
    `before` when that is what the cache holds (as `last_site_files` or `last_site_pages` read
    it): an edit at 20,000 agents changes a few of 80,000, which as one value would be 8 MB of
    JSON written again."""

    files: Mapping[str, str]
    before: Mapping[str, str] | None = None


class BuildCache:
    """Plain values from earlier builds, read and written by one build at a time.

    Any database error switches the cache off for the rest of the build instead of failing it.
    """

    def __init__(self, path: Path | None, fingerprint: str, read_only: bool = False) -> None:
        """Open the cache file at `path`, or with None a private database of this connection's
        alone, which SQLite removes when it is closed (or its process ends, however it ends)."""
        self.path = path
        self.fingerprint = fingerprint
        """A digest of the code, templates and config: values are kept apart by it where they depend on it."""
        self.disabled = False
        self.stats = CacheStats()
        self._generations_read: dict[str, str | None] = {}
        """What was read, since this cache last stored it, of each state an edit stores over: the
        generation of each table stored by difference ('site files', 'site pages', 'result': see
        `_store_by_difference`) and the findings' text ('findings'), by the state's name."""
        self._ledger_read: str | None = None
        """The generation of the ledger `last_ledger` read (see `record_ledger`)."""
        self._result_read: tuple[tuple[object, object], Plain] | None = None
        """The last result `last_result` read, as stored (findings, catalog) and as read (an edit asks twice)."""
        if read_only and path is not None:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2, check_same_thread=False)
            if self._db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
                self._db.close()
                raise sqlite3.DatabaseError("a cache of another format")
            return
        # Autocommit: each write is its own short transaction, so a second build never waits long.
        # One build at a time uses it; serve's come one after another, from its rebuild thread.
        self._db = sqlite3.connect(path or "", timeout=2, isolation_level=None, check_same_thread=False)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        if self._db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
            self._start_afresh()
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
        self._db.execute("CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS chunks (name TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS site_files (path TEXT PRIMARY KEY, version TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS site_pages (path TEXT PRIMARY KEY, version TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS result_pages (place INTEGER PRIMARY KEY, file TEXT, key TEXT)")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS ledger (place INTEGER PRIMARY KEY, {', '.join(LEDGER_COLUMNS)})")

    @classmethod
    def open(cls, folder: Path, fingerprint: str) -> BuildCache | None:
        """Open the cache in `folder`, creating both if need be; None if it cannot be had."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return cls._open_or_replace(folder / CACHE_FILE, fingerprint)
        except (OSError, sqlite3.Error) as exc:
            log.warning("no build cache in %s (%s); every page is rendered afresh", folder, exc)
            return None

    @classmethod
    def open_scratch(cls, fingerprint: str) -> BuildCache | None:
        """Open a cache that lives as long as this connection (see `__init__`); None if SQLite
        cannot make one."""
        try:
            return cls(None, fingerprint)
        except sqlite3.Error as exc:
            log.debug("no scratch cache (%s); the build holds everything itself", exc)
            return None

    @classmethod
    def open_for_reading(cls, path: Path | None, fingerprint: str) -> BuildCache | None:
        """Open the cache file at `path` to read alone, changing nothing (not even a damaged or
        older file); None if it cannot be read. For values read after the build's own cache was
        closed or switched off; a scratch cache (`path` None) is gone with its connection."""
        if path is None:
            return None
        try:
            return cls(path, fingerprint, read_only=True)
        except sqlite3.Error:
            return None

    @classmethod
    def _open_or_replace(cls, path: Path, fingerprint: str) -> BuildCache:
        """Open the cache file; one that is damaged (or not SQLite at all) is deleted and started afresh."""
        try:
            return cls(path, fingerprint)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise  # another build holds it: leave it alone
            log.warning("the build cache %s was damaged (%s); starting a new one", path, exc)
            for damaged in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                damaged.unlink(missing_ok=True)
            return cls(path, fingerprint)

    def _start_afresh(self) -> None:
        """Drop the tables of another format (an older agentpages wrote them) and mark the file as ours."""
        tables = self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'").fetchall()
        for (name,) in tables:
            self._db.execute('DROP TABLE "{}"'.format(name.replace('"', '""')))
        self._db.execute(f"PRAGMA user_version = {FORMAT}")

    def _query(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; on any database error, log it once and switch the cache off."""
        if self.disabled:
            return []
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            self._switch_off(exc)
            return []

    def _switch_off(self, exc: sqlite3.Error) -> None:
        log.warning("the build cache stopped working (%s); the build goes on without it", exc)
        self.disabled = True

    def _rows(self, sql: str, parameters: tuple[object, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """Yield the rows of one query as they come, not all at once; on a database error, as `_query`."""
        if self.disabled:
            return
        try:
            yield from self._db.execute(sql, parameters)
        except sqlite3.Error as exc:
            self._switch_off(exc)

    # -- files as read and checked ----------------------------------------------------------

    def _reading_key(self, digest: str) -> str:
        return digest_parts([self.fingerprint, digest])

    def get_file(self, path: Path, digest: str) -> Plain | None:
        """Return a file's reading stored for this content (and these rules), or None."""
        rows = self._query("SELECT key, reading FROM files WHERE path = ?", (_path_key(path),))
        if not rows or rows[0][0] != self._reading_key(digest):
            return None
        return _unpack(rows[0][1], rows[0][0])

    def get_file_head(self, path: Path, digest: str) -> Plain | None:
        """Return the head of a file's reading (see `get_file_by_stamp`) stored for this content."""
        rows = self._query("SELECT key, head FROM file_heads WHERE path = ?", (_path_key(path),))
        if not rows or rows[0][0] != self._reading_key(digest):
            return None
        found = self._head_with_key(rows[0][1], rows[0][0])
        return found[1] if found is not None and found[0] == digest else None

    def get_file_by_stamp(self, path: Path, stamp: str) -> tuple[str, Plain] | None:
        """Return a file's reading's head (all of it but the frontmatter, which `get_file` has) if
        the file has the same stamp (see pipeline/read.py) as then."""
        rows = self._query("SELECT stamp, key, head FROM file_heads WHERE path = ?", (_path_key(path),))
        if not rows or rows[0][0] != self._reading_key(stamp):
            return None
        return self._head_with_key(rows[0][2], rows[0][1])

    def get_files_by_stamp(self, stamps: Mapping[Path, str]) -> dict[Path, tuple[str, Plain]]:
        """Return the heads of the readings of every file whose stamp is the one stored with it, by
        path, each with the digest of the file's content it holds (for `get_file`): one query for
        the whole catalog, which point queries cost many times over."""
        wanted = {_path_key(path): (path, self._reading_key(stamp)) for path, stamp in stamps.items() if stamp}
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
        value = _unpack(head, key)
        if not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str):
            return None
        return value[0], value[1]

    def restamp_file(self, path: Path, stamp: str) -> None:
        """Remember a file's new stamp (its content is as stored) for `get_file_by_stamp`."""
        self._query("UPDATE file_heads SET stamp = ? WHERE path = ?", (self._reading_key(stamp), _path_key(path)))

    def put_file(self, path: Path, digest: str, stamp: str, reading: Plain, head: Plain) -> None:
        """Store a file's reading and its head under its content's digest, with the stamp it had
        before it was read ("" when not to be trusted)."""
        key = self._reading_key(digest)
        with self._transaction():
            self._query("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", (_path_key(path), key, _pack(reading, key)))
            self._query("INSERT OR REPLACE INTO file_heads VALUES (?, ?, ?, ?)",
                        (_path_key(path), key, self._reading_key(stamp) if stamp else "", _pack([digest, head], key)))

    # -- rendered pages ---------------------------------------------------------------------

    def get_page(self, file: PurePosixPath, key: str, with_html: bool = True) -> StoredPage | None:
        """Return the page stored for the agent file `file` under `key`; without `with_html`,
        its head alone."""
        rows = self._query("SELECT key, head FROM page_heads WHERE file = ?", (_path_key(file),))
        if not rows or rows[0][0] != key:
            return None
        head = _unpack(rows[0][1], key)
        html = self._query("SELECT key, html FROM pages WHERE file = ?", (_path_key(file),)) if with_html else [(key, b"")]
        if not isinstance(head, dict) or not html or html[0][0] != key or not isinstance(html[0][1], bytes):
            return None
        html = html[0][1]
        if with_html and head.get("html") != hashlib.sha256(html).hexdigest():
            return None  # not the HTML this row's head was stored with
        return StoredPage(head, html)

    def get_page_rest(self, file: PurePosixPath | str, key: str) -> Plain | None:
        """Return the rest of the data of the page stored for `file` under `key` (see `StoredPage`)."""
        rows = self._query("SELECT key, rest FROM pages WHERE file = ?", (_path_key(file),))
        return _unpack(rows[0][1], key) if rows and rows[0][0] == key else None

    def get_pages_heads(self, pages: list[tuple[PurePosixPath | str, str]]) -> list[Plain] | None:
        """Return the head of each page (its agent file and key) in that order, read in one query;
        None if any is missing."""
        wanted = {_path_key(file): (index, key) for index, (file, key) in enumerate(pages)}
        found: list[Plain] = [None] * len(pages)
        count = 0
        for file, key, head in self._rows("SELECT file, key, head FROM page_heads"):
            known = wanted.get(file)
            if known is not None and known[1] == key:
                found[known[0]] = value = _unpack(head, key)
                count += value is not None
        return found if count == len(pages) else None

    def get_terms(self, file: PurePosixPath, key: str) -> Plain | None:
        """Return the words for search stored with the page of `file` under `key`."""
        rows = self._query("SELECT key, terms FROM pages WHERE file = ?", (_path_key(file),))
        return _unpack(rows[0][1], key) if rows and rows[0][0] == key else None

    def put_page(self, file: PurePosixPath, key: str, head: dict[str, Plain], rest: Plain, compressed_html: bytes,
                 terms: Plain) -> None:
        """Store a freshly rendered page: its head and the rest of its data (see `StoredPage`), its
        HTML compressed, and its words for search."""
        head = {**head, "html": hashlib.sha256(compressed_html).hexdigest()}
        with self._transaction():
            self._query("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?)",
                        (_path_key(file), key, _pack(rest, key), compressed_html, _pack(terms, key)))
            self._query("INSERT OR REPLACE INTO page_heads VALUES (?, ?, ?)", (_path_key(file), key, _pack(head, key)))

    def forget_others(self, files: Iterable[PurePosixPath], paths: Iterable[Path]) -> None:
        """Drop the pages and readings of files no longer in the catalog (`files` by their path
        below the agents folder, `paths` as read), and values stored under another fingerprint."""
        self._query("DELETE FROM state WHERE name LIKE 'value %' AND name NOT LIKE ?", (self._value_row("%"),))
        kept_files, kept_paths = {_path_key(file) for file in files}, {_path_key(path) for path in paths}
        # While the catalog has the files it had at the last look, and the tables as many rows as
        # were left then, no row can be of a file gone (a build that failed after storing a new
        # file's rows adds to the count), and the tables need not be read.
        present = digest_parts([key.hex() for key in sorted(kept_files)] + ["\0"] + [key.hex() for key in sorted(kept_paths)])
        if self._state("present", unpack=True) == [present, *self._row_counts()]:
            return
        for table, column, kept in (("pages", "file", kept_files), ("page_heads", "file", kept_files),
                                    ("files", "path", kept_paths), ("file_heads", "path", kept_paths)):
            stored = [row[0] for row in self._query(f"SELECT {column} FROM {table}")]
            for gone in [key for key in stored if key not in kept]:
                self._query(f"DELETE FROM {table} WHERE {column} = ?", (gone,))
        self._query("INSERT OR REPLACE INTO state VALUES ('present', ?)",
                    (_pack([present, *self._row_counts()], "present"),))

    def _row_counts(self) -> list[int]:
        return [rows[0][0] if rows else -1 for rows in (self._query(f"SELECT count(*) FROM {table}")
                                                         for table in ("pages", "page_heads", "files", "file_heads"))]

    # -- values and the last build ----------------------------------------------------------

    def get_value(self, name: str) -> Plain | None:
        """Return a value stored by `put_value` under the same fingerprint, or None."""
        row = self._value_row(name)
        return self._state(row, unpack=True)

    def put_value(self, name: str, value: Plain) -> None:
        """Store a value under `name`, for builds with the same templates, config and code (values
        under other fingerprints are dropped by `forget_others`)."""
        row = self._value_row(name)
        self._query("INSERT OR REPLACE INTO state VALUES (?, ?)", (row, _pack(value, row)))

    def _value_row(self, name: str) -> str:
        return f"value {self.fingerprint} {name}"

    def _state(self, name: str, unpack: bool = False) -> Any:
        rows = self._query("SELECT value FROM state WHERE name = ?", (name,))
        if not rows:
            return None
        return _unpack(rows[0][0], name) if unpack else rows[0][0]

    def last_quick_state(self) -> str | None:
        """Return the quick state the last finished build recorded."""
        return self._state("quick")

    def record_quick_state(self, quick_state: str) -> None:
        """Remember a new quick state of the last build's site (its files were touched, not changed)."""
        self._query("INSERT OR REPLACE INTO state VALUES ('quick', ?)", (quick_state,))

    def last_site(self) -> str | None:
        """Return what the last finished build recorded of its site."""
        return self._state("site")

    def last_result(self) -> Plain | None:
        """Return the last finished build's result (see `BuildRecord.result`), not to be changed:
        while the stored text stays the same, the value read before is given again."""
        with self.snapshot():
            texts = (self._state("findings"), self._state("result"))
            self._generations_read.setdefault("findings", texts[0])
            self._generations_read.setdefault("result", texts[1])
            if self._result_read is None or self._result_read[0] != texts:
                findings = _unpack(texts[0], "findings")
                pages = (list(self._rows("SELECT file, key FROM result_pages ORDER BY place"))
                         if isinstance(texts[1], str) else None)
                self._result_read = (texts, [findings, pages] if findings is not None and pages is not None else None)
        return self._result_read[1]

    def last_layout(self) -> Plain | None:
        """Return the layout of the site the last build recorded (see `BuildRecord.layout`)."""
        return self._state("layout", unpack=True)

    def last_written(self) -> Plain | None:
        """Return what the last build that wrote its site left there."""
        return self._state("written", unpack=True)

    def last_ledger(self) -> tuple[Plain, str, list[tuple[Any, ...]]] | None:
        """Return the ledger the last build recorded: what its full build planned (a plain value),
        the stamp of the site it left, and each page's row in order (see `record_ledger`)."""
        plan, site = self._state("ledger", unpack=True), self._state("ledger site", unpack=True)
        if (not isinstance(plan, list) or len(plan) != 3 or plan[0] != self.fingerprint or not isinstance(site, list)
                or len(site) != 3 or site[0] != plan[1] or not isinstance(site[1], str)):
            return None
        self._ledger_read = site[2]
        columns = ", ".join(column.split()[0] for column in LEDGER_COLUMNS)
        return plan[2], site[1], list(self._rows(f"SELECT {columns} FROM ledger ORDER BY place"))

    def record_ledger(self, plan: Plain | None, site_stamp: str, rows: Mapping[int, tuple[Any, ...]]) -> None:
        """Store a ledger: with a `plan`, it and every page's row afresh; without one, the rows
        that changed (by place) of the ledger `last_ledger` read, unless another build recorded
        one since (then none is kept). `site_stamp` is the stamp of the site the build left."""
        read, self._ledger_read = self._ledger_read, None
        with self._transaction():
            site = self._state("ledger site", unpack=True)
            if plan is None and (read is None or not isinstance(site, list) or len(site) != 3 or site[2] != read):
                self._query("DELETE FROM state WHERE name IN ('ledger', 'ledger site')")
                return
            generation = site[0] if plan is None else secrets.token_hex(16)
            if plan is not None:
                self._query("DELETE FROM ledger")
                self._query("INSERT OR REPLACE INTO state VALUES ('ledger', ?)",
                            (_pack([self.fingerprint, generation, plan], "ledger"),))
            self._query("INSERT OR REPLACE INTO state VALUES ('ledger site', ?)",
                        (_pack([generation, site_stamp, secrets.token_hex(16)], "ledger site"),))
            self._many(f"INSERT OR REPLACE INTO ledger VALUES (?{', ?' * len(LEDGER_COLUMNS)})",
                       [(place, *row) for place, row in rows.items()])

    def forget_ledger(self) -> None:
        """Forget the ledger (the last build recorded none)."""
        self._ledger_read = None
        self._query("DELETE FROM state WHERE name IN ('ledger', 'ledger site')")

    def last_site_files(self) -> dict[str, str]:
        """Return every file the last build that wrote its site left there, with its version."""
        return self._read_by_difference("site_files", "site files")

    def last_site_pages(self) -> dict[str, str]:
        """Return every agent page the last build that wrote its site left there, with its key."""
        return self._read_by_difference("site_pages", "site pages")

    def _read_by_difference(self, table: str, generation: str) -> dict[str, str]:
        self._generations_read[generation] = self._state(generation)
        return {path: version for path, version in self._rows(f"SELECT path, version FROM {table}")}

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
        text = _unwrap(value, f"{slug} {key}") if key is not None else None
        return (key, text) if text is not None else None

    def get_entries(self) -> dict[str, tuple[str, list[str]]]:
        """Return every agent's entries as the last builds left them, by slug, with their keys."""
        stored = {}
        for slug, key, *values in self._rows(f"SELECT slug, key, {', '.join(_ENTRY_COLUMNS)} FROM entries"):
            texts = [_unwrap(value, f"{slug} {key}") for value in values]
            if all(text is not None for text in texts):
                stored[slug] = (key, texts)
        return stored

    def get_chunk(self, name: str) -> str | None:
        """Return the text of a search index chunk stored by `record_build`, by its name."""
        rows = self._query("SELECT value FROM chunks WHERE name = ?", (name,))
        text = _unpack(rows[0][0], name) if rows else None
        return text if isinstance(text, str) else None

    def chunk_names(self) -> set[str]:
        """Return the names of every chunk stored."""
        return {name for (name,) in self._query("SELECT name FROM chunks")}

    def record_build(self, record: BuildRecord) -> None:
        """Remember a finished build, all at once."""
        with self._transaction():
            for name, text in record.chunks.items():
                self._query("INSERT OR REPLACE INTO chunks VALUES (?, ?)", (name, _pack(text, name)))
            if record.chunk_names is not None:
                for gone in self.chunk_names() - record.chunk_names:
                    self._query("DELETE FROM chunks WHERE name = ?", (gone,))
            for name, value in (("quick", record.quick_state), ("site", record.site)):
                self._query("INSERT OR REPLACE INTO state VALUES (?, ?)", (name, value))
            self._store_result(record.result, record.changed_pages)
            if record.written is not None:
                self._query("INSERT OR REPLACE INTO state VALUES ('written', ?)", (_pack(record.written, "written"),))
            if record.layout is not None:
                self._query("INSERT OR REPLACE INTO state VALUES ('layout', ?)", (_pack(record.layout, "layout"),))
            if record.site_files is not None:
                self._store_by_difference(record.site_files, "site_files", "site files")
            if record.site_pages is not None:
                self._store_by_difference(record.site_pages, "site_pages", "site pages")
            for slug, (key, entries) in record.entries.items():
                self.put_entries(slug, key, entries)
            if record.slugs is not None:
                gone = [slug for (slug,) in self._query("SELECT slug FROM entries") if slug not in record.slugs]
                for slug in gone:
                    self._query("DELETE FROM entries WHERE slug = ?", (slug,))

    def _store_result(self, result: Plain, changed_pages: Mapping[int, Sequence[str]] | None) -> None:
        """Store a build's findings and catalog; findings None are those `last_result` first read,
        pages None those it read with `changed_pages` changed; either is kept unless another build
        recorded a result since (then no result is kept at all)."""
        read = self._generations_read.pop("findings", _NOTHING_READ)
        pages_read = self._generations_read.pop("result", None)
        if not isinstance(result, list) or len(result) != 2:
            self._forget_result()
            return
        findings, pages = result
        if findings is not None:
            self._query("INSERT OR REPLACE INTO state VALUES ('findings', ?)", (_pack(findings, "findings"),))
        elif read is _NOTHING_READ or self._state("findings") != read:
            self._forget_result()
            return
        if pages is not None:
            self._query("DELETE FROM result_pages")
            self._many("INSERT INTO result_pages VALUES (?, ?, ?)",
                       [(place, file, key) for place, (file, key) in enumerate(pages)])
        elif changed_pages is None or pages_read is None or self._state("result") != pages_read:
            self._forget_result()
            return
        else:
            self._many("UPDATE result_pages SET file = ?, key = ? WHERE place = ?",
                       [(file, key, place) for place, (file, key) in changed_pages.items()])
        self._query("INSERT OR REPLACE INTO state VALUES ('result', ?)", (secrets.token_hex(16),))

    def _forget_result(self) -> None:
        self._query("DELETE FROM state WHERE name IN ('findings', 'result')")

    def _store_by_difference(self, stored: StoredFiles, table: str, generation: str) -> None:
        """Store a site's files (or pages) in `table`: by difference from `before` while the table
        holds what was read of it (no other build recorded since: the `generation` it read is the
        table's), else all of them afresh."""
        files, before = stored.files, stored.before
        read = self._generations_read.pop(generation, None)
        if before is None or read is None or self._state(generation) != read:
            self._query(f"DELETE FROM {table}")
            before = {}
        for gone in [path for path in before if path not in files]:
            self._query(f"DELETE FROM {table} WHERE path = ?", (gone,))
        changed = [(path, version) for path, version in files.items() if before.get(path) != version]
        self._many(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", changed)
        self._query("INSERT OR REPLACE INTO state VALUES (?, ?)", (generation, secrets.token_hex(16)))

    def _many(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        """Run one statement for each of `rows`; on a database error, as `_query`."""
        if self.disabled or not rows:
            return
        try:
            self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            self._switch_off(exc)

    def put_entries(self, slug: str, key: str, entries: list[str]) -> None:
        """Store one agent's entries (its ENTRY_PARTS texts: card, catalog.json object, llms.txt
        line) under the key they were rendered under."""
        if len(entries) == ENTRY_PARTS:
            place = f"{slug} {key}"
            object_size = len(entries[_OBJECT_PART].encode("utf-8"))
            self._query(f"INSERT OR REPLACE INTO entries VALUES (?, ?, ?{', ?' * ENTRY_PARTS})",
                        (slug, key, object_size, *(_wrap(text, place) for text in entries)))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Group writes: all of them are kept, or (after a database error) none."""
        if self.disabled:
            yield  # every write is dropped anyway
            return
        self._query("BEGIN IMMEDIATE")
        completed = False
        try:
            yield
            completed = True
        finally:
            try:
                self._db.execute("COMMIT" if completed and not self.disabled else "ROLLBACK")
            except sqlite3.Error as exc:
                self._switch_off(exc)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read as of one moment: what one build recorded, never parts of two (the file is in
        WAL mode, where a reading transaction sees the database as it began)."""
        if self.disabled or self._db.in_transaction:
            yield
            return
        self._query("BEGIN")
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the file (every write is already committed)."""
        try:
            self._db.close()
        except sqlite3.Error:
            pass


def _pack(value: Plain, place: str) -> str:
    """Return a value as JSON, wrapped with the key or row it belongs to."""
    return json.dumps([place, value], ensure_ascii=True, separators=(",", ":"))


def _unpack(text: object, place: str) -> Plain | None:
    """Return the value `_pack` stored for `place`; None if it is missing, unreadable or another place's."""
    if not isinstance(text, str):
        return None
    try:
        stored_place, value = json.loads(text)
    except (ValueError, TypeError):
        return None
    return value if stored_place == place else None


def _wrap(text: str, place: str) -> str:
    """Return a text as it is, after the row it belongs to."""
    return f"{place}\n{text}"


def _unwrap(value: object, place: str) -> str | None:
    """Return the text `_wrap` stored for `place`; None if it is missing or another place's."""
    if not isinstance(value, str) or not value.startswith(place) or value[len(place):len(place) + 1] != "\n":
        return None
    return value[len(place) + 1:]


def _path_key(path: Path | PurePosixPath | str) -> bytes:
    # Bytes, not text: a file name need not be valid UTF-8.
    return os.fsencode(str(path))


def digest_parts(parts: list[str]) -> str:
    """Digest a list of texts, each kept apart from the next (so ["ab", "c"] differs from ["a", "bc"])."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()
