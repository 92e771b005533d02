"""The build cache: each stage's answers (store/stage_cache.py) and the record of the last build,
which the next one starts from: its quick state, findings and catalog, what it wrote in its
site, the site's layout, the search index's chunks and the plan's ledger (see store/database.py
for what the file holds and how it fails).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.store.database import (
    Plain,
    pack,
    unpack,
)
from generator.store.stage_cache import StageCache

_NOTHING_READ = object()
"""What `BuildCache` read of a state it has not read (the state itself may be absent: None)."""
LEDGER_COLUMNS = ("stamp TEXT", "digest TEXT", "key TEXT", "added REAL", "updated REAL", "added_text TEXT",
                  "updated_text TEXT")
"""What the ledger keeps of each page that an edit changes (see pipeline/edit.py)."""


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


class BuildCache(StageCache):
    """Plain values from earlier builds, read and written by one build at a time: each stage's
    answers (see `StageCache`) and the last build's record."""

    def __init__(self, path: Path | None, fingerprint: str, read_only: bool = False) -> None:
        self._generations_read: dict[str, str | None] = {}
        """What was read, since this cache last stored it, of each state an edit stores over: the
        generation of each table stored by difference ('site files', 'site pages', 'result': see
        `_store_by_difference`) and the findings' text ('findings'), by the state's name."""
        self._ledger_read: str | None = None
        """The generation of the ledger `last_ledger` read (see `record_ledger`)."""
        self._result_read: tuple[tuple[object, object], Plain] | None = None
        """The last result `last_result` read, as stored (findings, catalog) and as read (an edit asks twice)."""
        super().__init__(path, fingerprint, read_only)

    def _create_tables(self) -> None:
        super()._create_tables()
        self._db.execute("CREATE TABLE IF NOT EXISTS chunks (name TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS site_files (path TEXT PRIMARY KEY, version TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS site_pages (path TEXT PRIMARY KEY, version TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS result_pages (place INTEGER PRIMARY KEY, file TEXT, key TEXT)")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS ledger (place INTEGER PRIMARY KEY, {', '.join(LEDGER_COLUMNS)})")

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
                findings = unpack(texts[0], "findings")
                pages = (list(self._rows("SELECT file, key FROM result_pages ORDER BY place"))
                         if isinstance(texts[1], str) else None)
                self._result_read = (texts, [findings, pages] if findings is not None and pages is not None else None)
        return self._result_read[1]

    def last_layout(self) -> Plain | None:
        """Return the layout of the site the last build recorded (see `BuildRecord.layout`)."""
        return self._state("layout", decoded=True)

    def last_written(self) -> Plain | None:
        """Return what the last build that wrote its site left there."""
        return self._state("written", decoded=True)

    def last_ledger(self) -> tuple[Plain, str, list[tuple[Any, ...]]] | None:
        """Return the ledger the last build recorded: what its full build planned (a plain value),
        the stamp of the site it left, and each page's row in order (see `record_ledger`)."""
        plan, site = self._state("ledger", decoded=True), self._state("ledger site", decoded=True)
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
            site = self._state("ledger site", decoded=True)
            if plan is None and (read is None or not isinstance(site, list) or len(site) != 3 or site[2] != read):
                self._query("DELETE FROM state WHERE name IN ('ledger', 'ledger site')")
                return
            generation = site[0] if plan is None else secrets.token_hex(16)
            if plan is not None:
                self._query("DELETE FROM ledger")
                self._query("INSERT OR REPLACE INTO state VALUES ('ledger', ?)",
                            (pack([self.fingerprint, generation, plan], "ledger"),))
            self._query("INSERT OR REPLACE INTO state VALUES ('ledger site', ?)",
                        (pack([generation, site_stamp, secrets.token_hex(16)], "ledger site"),))
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

    def get_chunk(self, name: str) -> str | None:
        """Return the text of a search index chunk stored by `record_build`, by its name."""
        rows = self._query("SELECT value FROM chunks WHERE name = ?", (name,))
        text = unpack(rows[0][0], name) if rows else None
        return text if isinstance(text, str) else None

    def chunk_names(self) -> set[str]:
        """Return the names of every chunk stored."""
        return {name for (name,) in self._query("SELECT name FROM chunks")}

    def record_build(self, record: BuildRecord) -> None:
        """Remember a finished build, all at once."""
        with self._transaction():
            for name, text in record.chunks.items():
                self._query("INSERT OR REPLACE INTO chunks VALUES (?, ?)", (name, pack(text, name)))
            if record.chunk_names is not None:
                for gone in self.chunk_names() - record.chunk_names:
                    self._query("DELETE FROM chunks WHERE name = ?", (gone,))
            for name, value in (("quick", record.quick_state), ("site", record.site)):
                self._query("INSERT OR REPLACE INTO state VALUES (?, ?)", (name, value))
            self._store_result(record.result, record.changed_pages)
            if record.written is not None:
                self._query("INSERT OR REPLACE INTO state VALUES ('written', ?)", (pack(record.written, "written"),))
            if record.layout is not None:
                self._query("INSERT OR REPLACE INTO state VALUES ('layout', ?)", (pack(record.layout, "layout"),))
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
            self._query("INSERT OR REPLACE INTO state VALUES ('findings', ?)", (pack(findings, "findings"),))
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
