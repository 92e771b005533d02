"""The build cache's file: one SQLite database of plain data that earlier builds left for later ones.

It stores JSON text and compressed HTML, and nothing that could run code when read, so a
cache made on one machine is good on another. What the values mean is the pipeline's
business (pipeline/memo.py): the store knows rows, keys and JSON, not agents. This module is
the file itself: its connection, format and transactions, and values by name; the tables of
each stage's answers are stage_cache.py's, the last build's record cache.py's.

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
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

log = logging.getLogger(__name__)

CACHE_FILE = "cache.sqlite3"
FORMAT = 25
"""Raised when what the cache stores changes shape; a cache of another format is started afresh."""

Plain = Any
"""JSON-ready data: None, booleans, numbers, text, and lists and string-keyed objects of them."""

@dataclass
class CacheStats:
    """How many pages a build took from the cache and how many it rendered."""

    hits: int = 0
    misses: int = 0


class CacheDatabase:
    """The SQLite file under the build cache: its connection, format, transactions and plain
    values. Any database error switches the cache off for the rest of the build instead of
    failing it.
    """

    def __init__(self, path: Path | None, fingerprint: str, read_only: bool = False) -> None:
        """Open the cache file at `path`, or with None a private database of this connection's
        alone, which SQLite removes when it is closed (or its process ends, however it ends)."""
        self.path = path
        self.fingerprint = fingerprint
        """A digest of the code, templates and config: values are kept apart by it where they depend on it."""
        self.disabled = False
        self.stats = CacheStats()
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
        self._create_tables()

    def _create_tables(self) -> None:
        """Create the tables of this layer of the cache where the file has none yet (each layer
        below adds its own)."""
        self._db.execute("CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT)")

    @classmethod
    def open(cls, folder: Path, fingerprint: str) -> Self | None:
        """Open the cache in `folder`, creating both if need be; None if it cannot be had."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return cls._open_or_replace(folder / CACHE_FILE, fingerprint)
        except (OSError, sqlite3.Error) as exc:
            log.warning("no build cache in %s (%s); every page is rendered afresh", folder, exc)
            return None

    @classmethod
    def open_scratch(cls, fingerprint: str) -> Self | None:
        """Open a cache that lives as long as this connection (see `__init__`); None if SQLite
        cannot make one."""
        try:
            return cls(None, fingerprint)
        except sqlite3.Error as exc:
            log.debug("no scratch cache (%s); the build holds everything itself", exc)
            return None

    @classmethod
    def open_for_reading(cls, path: Path | None, fingerprint: str) -> Self | None:
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
    def _open_or_replace(cls, path: Path, fingerprint: str) -> Self:
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

    def _many(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        """Run one statement for each of `rows`; on a database error, as `_query`."""
        if self.disabled or not rows:
            return
        try:
            self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            self._switch_off(exc)

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

    # -- values ----------------------------------------------------------------------------

    def get_value(self, name: str) -> Plain | None:
        """Return a value stored by `put_value` under the same fingerprint, or None."""
        row = self._value_row(name)
        return self._state(row, decoded=True)

    def put_value(self, name: str, value: Plain) -> None:
        """Store a value under `name`, for builds with the same templates, config and code (values
        under other fingerprints are dropped by `forget_others`)."""
        row = self._value_row(name)
        self._query("INSERT OR REPLACE INTO state VALUES (?, ?)", (row, pack(value, row)))

    def _value_row(self, name: str) -> str:
        return f"value {self.fingerprint} {name}"

    def _state(self, name: str, decoded: bool = False) -> Any:
        rows = self._query("SELECT value FROM state WHERE name = ?", (name,))
        if not rows:
            return None
        return unpack(rows[0][0], name) if decoded else rows[0][0]


def pack(value: Plain, place: str) -> str:
    """Return a value as JSON, wrapped with the key or row it belongs to."""
    return json.dumps([place, value], ensure_ascii=True, separators=(",", ":"))


def unpack(text: object, place: str) -> Plain | None:
    """Return the value `pack` stored for `place`; None if it is missing, unreadable or another place's."""
    if not isinstance(text, str):
        return None
    try:
        stored_place, value = json.loads(text)
    except (ValueError, TypeError):
        return None
    return value if stored_place == place else None


def wrap_text(text: str, place: str) -> str:
    """Return a text as it is, after the row it belongs to."""
    return f"{place}\n{text}"


def unwrap_text(value: object, place: str) -> str | None:
    """Return the text `wrap_text` stored for `place`; None if it is missing or another place's."""
    if not isinstance(value, str) or not value.startswith(place) or value[len(place):len(place) + 1] != "\n":
        return None
    return value[len(place) + 1:]


def path_key(path: Path | PurePosixPath | str) -> bytes:
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
