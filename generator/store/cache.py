"""The build cache: pages rendered by earlier builds, so an unchanged agent is never rendered twice.

A page is stored under a key made of everything it depends on: the agent file's text and
path, its slug and neighbours, the templates, the config and the versions of agentpages
and of the libraries that render Markdown. Links to other agent files are checked
separately: the page is reused only while those files keep the slugs it was rendered with.

The cache is one SQLite file in `.agentpages-cache/` beside the agents folder, or in the
user's cache folder when the catalog's folder is read-only. It is only an accelerator:
any problem with it is logged and the build goes on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import pickle
import re
import secrets
import sqlite3
import sys
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator import __version__
from generator.config import template_dirs

if TYPE_CHECKING:
    from generator.catalog.lint import CheckedFile
    from generator.catalog.load import RawAgent
    from generator.catalog.model import Agent, Catalog
    from generator.config import SiteConfig
    from generator.errors import Finding
    from generator.site.entries import EntryChanges, StoredEntries
    from generator.site.plan import PagePlan
    from generator.site.search import PageTerms, SearchIndex

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
CACHE_FOLDER = ".agentpages-cache"
CACHE_FILE = "cache.sqlite3"
FORMAT = 11
"""Raised when what the cache stores changes shape; a cache of another format is started afresh."""
# The libraries whose output reaches the page: a new version may render differently.
_RENDERING_LIBRARIES = ("jinja2", "markdown", "pygments", "nh3", "pymdown-extensions",
                        "mdx-truly-sane-lists", "mdx-breakless-lists", "pyyaml")  # fmt: skip


@dataclass(frozen=True)
class CachedPage:
    """A page as an earlier build rendered it."""

    agent: Agent
    """The agent without its body, as the index and catalog.json need it."""
    html: bytes


@dataclass
class CacheStats:
    """How many pages a build took from the cache and how many it rendered."""

    hits: int = 0
    misses: int = 0


@dataclass(frozen=True)
class Manifest:
    """What a finished build left in its output folder."""

    out_dir: str
    fingerprint: str
    """The build cache's fingerprint of the templates, config and code that made the site."""
    stamp: str
    """The stamp of the folder's files (`output.SiteFiles`) when the build finished."""
    slugs: dict[PurePosixPath, str]
    """Every agent file's slug, by its path below the agents folder."""
    pages: dict[str, str]
    """Each agent page's path below the site root and the cache key it was rendered under."""
    raws: dict[str, str]
    """Each raw agent file's path below the site root and the digest of its content."""


class BuildCache:
    """Pages from earlier builds, read and written by one build at a time.

    Every stored value is signed with a key kept in the user's cache folder and checked
    before it is unpickled: a cache file that arrives with a repository (or was tampered
    with) is ignored, never run. Any database error switches the cache off for the rest of
    the build instead of failing it.
    """

    def __init__(self, path: Path, fingerprint: str, key: bytes) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self._key = key
        self.disabled = False
        # Autocommit: each write is its own short transaction, so a second build never waits long.
        self._db = sqlite3.connect(path, timeout=2, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        if self._db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
            self._start_afresh()
        self._db.execute("CREATE TABLE IF NOT EXISTS pages (file BLOB PRIMARY KEY, key TEXT, links BLOB, agent BLOB, html BLOB, terms BLOB)")
        self._db.execute("CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, key TEXT, stamp TEXT, reading BLOB)")
        self._db.execute("CREATE TABLE IF NOT EXISTS entries (slug TEXT PRIMARY KEY, key TEXT, value BLOB)")
        self._db.execute("CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS results (name TEXT PRIMARY KEY, value BLOB)")
        self.stats = CacheStats()
        self._page_keys: dict[int, tuple[PagePlan, str]] = {}

    @classmethod
    def open(cls, config: SiteConfig) -> BuildCache | None:
        """Open the catalog's cache, creating it if need be; None if no folder for it is writable."""
        key = signing_key()
        if key is None:
            log.warning("no writable user cache folder for the build cache's key; every page is rendered afresh")
            return None
        fingerprint = make_fingerprint(config)
        for folder in cache_folders(config.agents_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                _ignore_in_git(folder)
                return cls._open_or_replace(folder / CACHE_FILE, fingerprint, key)
            except (OSError, sqlite3.Error) as exc:
                log.debug("no build cache in %s: %s", folder, exc)
        log.warning("no writable folder for the build cache; every page is rendered afresh")
        return None

    @classmethod
    def _open_or_replace(cls, path: Path, fingerprint: str, key: bytes) -> BuildCache:
        """Open the cache file; one that is damaged (or not SQLite at all) is deleted and started afresh."""
        try:
            return cls(path, fingerprint, key)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise  # another build holds it: leave it alone
            log.warning("the build cache %s was damaged (%s); starting a new one", path, exc)
            for damaged in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                damaged.unlink(missing_ok=True)
            return cls(path, fingerprint, key)

    def _start_afresh(self) -> None:
        """Drop the tables of another format (an older agentpages wrote them) and mark the file as ours."""
        tables = self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'").fetchall()
        for (name,) in tables:
            self._db.execute('DROP TABLE "{}"'.format(name.replace('"', '""')))
        self._db.execute(f"PRAGMA user_version = {FORMAT}")

    # -- storing values safely --------------------------------------------------------------

    def _seal(self, value: object, *place: str | bytes) -> bytes:
        """Pickle and sign a value for the place it is stored in (table, row, key, column)."""
        data = pickle.dumps(value)
        return self._signature(data, place) + data

    def _unseal(self, sealed: bytes | None, *place: str | bytes) -> Any:
        """Return the stored value, or None if it is missing, was not signed with our key for this
        very place (a value moved to another row is refused), or is unreadable."""
        if not sealed or len(sealed) < 32:
            return None
        signature, data = sealed[:32], sealed[32:]
        if not hmac.compare_digest(signature, self._signature(data, place)):
            return None
        try:
            return pickle.loads(data)
        except Exception:  # written by another version: a miss
            return None

    def _signature(self, data: bytes, place: tuple[str | bytes, ...]) -> bytes:
        signer = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in place:
            encoded = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
            signer.update(len(encoded).to_bytes(8, "little") + encoded)
        signer.update(data)
        return signer.digest()

    def _query(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; on any database error, log it once and switch the cache off."""
        if self.disabled:
            return []
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            log.warning("the build cache stopped working (%s); the build goes on without it", exc)
            self.disabled = True
            return []

    # -- files as read and checked ----------------------------------------------------------

    def _reading_key(self, digest: str) -> str:
        return _digest([self.fingerprint, digest])

    def get_file(self, path: Path, digest: str) -> CheckedFile | None:
        """Return a file as read and checked before, if its content (and the rules) are unchanged."""
        rows = self._query("SELECT key, reading FROM files WHERE path = ?", (_path_key(path),))
        if not rows or rows[0][0] != self._reading_key(digest):
            return None
        return self._unseal(rows[0][1], "files", _path_key(path), rows[0][0])

    def restamp_file(self, path: Path, stamp: str) -> None:
        """Remember a file's new stamp (its content is as stored) for `get_file_by_stamp`."""
        self._query("UPDATE files SET stamp = ? WHERE path = ?", (self._reading_key(stamp), _path_key(path)))

    def get_file_by_stamp(self, path: Path, stamp: str) -> CheckedFile | None:
        """Return a file as read and checked before, if it has the same stamp (see build.py) as then."""
        rows = self._query("SELECT stamp, key, reading FROM files WHERE path = ?", (_path_key(path),))
        if not rows or rows[0][0] != self._reading_key(stamp):
            return None
        return self._unseal(rows[0][2], "files", _path_key(path), rows[0][1])

    def put_file(self, checked: CheckedFile, stamp: str = "") -> None:
        """Store a file as read and checked by the rules that look at nothing but the file, and the
        stamp it had before it was read ("" when not to be trusted)."""
        if checked.raw is not None:
            path, key = _path_key(checked.raw.path), self._reading_key(checked.raw.digest)
            self._query("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                        (path, key, self._reading_key(stamp) if stamp else "", self._seal(checked, "files", path, key)))

    # -- rendered pages ---------------------------------------------------------------------

    def page_key(self, plan: PagePlan) -> str:
        """Return the key of everything a page depends on but the files it links to."""
        known = self._page_keys.get(id(plan))
        if known is not None and known[0] is plan:
            return known[1]
        raw = plan.raw
        content = raw.digest or _digest(["\n".join(raw.front_matter.lines), raw.body or ""])
        key = _digest([self.fingerprint, str(raw.path), str(raw.rel_path), content,
                       repr(plan.previous), repr(plan.next), plan.slug])
        self._page_keys[id(plan)] = (plan, key)  # the plan is kept, so its id is not reused
        return key

    def get(
        self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], with_html: bool = True
    ) -> CachedPage | None:
        """Return the page stored for `plan` under `key`, if the files it links to kept their slugs.

        Without `with_html`, only the agent is read (its page's `html` is empty).
        """
        columns = "key, links, agent, html" if with_html else "key, links, agent"
        file = _path_key(plan.raw.rel_path)
        rows = self._query(f"SELECT {columns} FROM pages WHERE file = ?", (file,))
        if not rows or rows[0][0] != key:
            return None
        links = self._unseal(rows[0][1], "pages", file, key, "links")
        agent = self._unseal(rows[0][2], "pages", file, key, "agent")
        html = self._unseal(rows[0][3], "pages", file, key, "html") if with_html else b""
        if links is None or agent is None or html is None:
            return None
        if any(slugs.get(target) != slug for target, slug in links.items()):
            return None
        return CachedPage(agent, zlib.decompress(html) if with_html else b"")

    def get_terms(self, plan: PagePlan, key: str) -> PageTerms | None:
        """Return the words for search of the page stored for `plan`'s file under `key`."""
        file = _path_key(plan.raw.rel_path)
        rows = self._query("SELECT key, terms FROM pages WHERE file = ?", (file,))
        return self._unseal(rows[0][1], "pages", file, key, "terms") if rows and rows[0][0] == key else None

    def put(self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], agent: Agent,
            compressed_html: bytes, terms: PageTerms) -> None:
        """Store a freshly rendered page, compressed by `compress_page`, and its words for search."""
        links = {target: slugs.get(target) for target in agent.linked_files}
        file = _path_key(plan.raw.rel_path)
        self._query("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
                    (file, key, self._seal(links, "pages", file, key, "links"),
                     self._seal(agent, "pages", file, key, "agent"), self._seal(compressed_html, "pages", file, key, "html"),
                     self._seal(terms, "pages", file, key, "terms")))

    def forget_others(self, raw_agents: Iterable[RawAgent]) -> None:
        """Drop the files and pages of files that are no longer in the catalog, and values (such as
        compiled templates) stored under another fingerprint."""
        present = list(raw_agents)
        self._query("DELETE FROM results WHERE name LIKE 'value %' AND name NOT LIKE ?",
                    (self._value_row("%"),))
        for table, column, kept in (("pages", "file", {_path_key(raw.rel_path) for raw in present}),
                                    ("files", "path", {_path_key(raw.path) for raw in present})):
            stored = [row[0] for row in self._query(f"SELECT {column} FROM {table}")]
            for gone in [key for key in stored if key not in kept]:
                self._query(f"DELETE FROM {table} WHERE {column} = ?", (gone,))

    # -- the last build ---------------------------------------------------------------------

    def last_quick_state(self) -> str | None:
        """Return the quick state (see build.py) the last finished build recorded."""
        rows = self._query("SELECT value FROM state WHERE name = 'quick'")
        return rows[0][0] if rows else None

    def last_result(self) -> tuple[list[Finding], Catalog] | None:
        """Return the findings and catalog (agents without bodies) of the last finished build."""
        rows = self._query("SELECT value FROM results WHERE name = 'last'")
        return self._unseal(rows[0][0], "results", "last") if rows else None

    def last_written(self) -> tuple[Manifest, SearchIndex] | None:
        """Return what the last build that wrote its site left there, and its search index (see update.py)."""
        rows = self._query("SELECT value FROM results WHERE name = 'written'")
        return self._unseal(rows[0][0], "results", "written") if rows else None

    def get_value(self, name: str) -> Any:
        """Return a value stored by `put_value` under the same fingerprint, or None."""
        row_name = self._value_row(name)
        rows = self._query("SELECT value FROM results WHERE name = ?", (row_name,))
        return self._unseal(rows[0][0], "results", row_name) if rows else None

    def put_value(self, name: str, value: object) -> None:
        """Store any value under `name`, signed like every other, for builds with the same templates,
        config and code (values under other fingerprints are dropped by `forget_others`)."""
        row_name = self._value_row(name)
        self._query("INSERT OR REPLACE INTO results VALUES (?, ?)", (row_name, self._seal(value, "results", row_name)))

    def _value_row(self, name: str) -> str:
        return f"value {self.fingerprint} {name}"

    def last_site(self) -> str | None:
        """Return what the last finished build recorded of its site (see `record_build`)."""
        rows = self._query("SELECT value FROM state WHERE name = 'site'")
        return rows[0][0] if rows else None

    def get_entries(self) -> StoredEntries:
        """Return every agent's entries in the site-wide files as the last builds left them (see entries.py)."""
        from generator.site.entries import AgentEntries

        stored: StoredEntries = {}
        for slug, key, value in self._query("SELECT slug, key, value FROM entries"):
            parts = self._unseal(value, "entries", slug, key)
            if parts is not None:
                stored[slug] = (key, AgentEntries(*parts))
        return stored

    def record_build(
        self, quick_state: str, findings: list[Finding], catalog: Catalog, site: str,
        site_written: tuple[Manifest, SearchIndex] | None = None, entries: EntryChanges | None = None,
    ) -> None:
        """Remember a finished build, all at once: its quick state, findings and catalog (for a build
        with nothing changed to repeat), its site's state and, if it wrote the site, what it wrote
        and the agents' entries it rendered."""
        with self._transaction():
            self._query("INSERT OR REPLACE INTO results VALUES ('last', ?)", (self._seal((findings, catalog), "results", "last"),))
            self._query("INSERT OR REPLACE INTO state VALUES ('quick', ?)", (quick_state,))
            self._query("INSERT OR REPLACE INTO state VALUES ('site', ?)", (site,))
            if site_written is not None:
                self._query("INSERT OR REPLACE INTO results VALUES ('written', ?)",
                            (self._seal(site_written, "results", "written"),))
            if entries is not None:
                self._record_entries(entries)

    def _record_entries(self, changes: EntryChanges) -> None:
        for slug, (key, entries) in changes.rendered.items():
            parts = (entries.card, entries.catalog_object, entries.llms_line)
            self._query("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", (slug, key, self._seal(parts, "entries", slug, key)))
        gone = [slug for (slug,) in self._query("SELECT slug FROM entries") if slug not in changes.slugs]
        for slug in gone:
            self._query("DELETE FROM entries WHERE slug = ?", (slug,))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Group writes: all of them are kept, or (after a database error) none."""
        self._query("BEGIN IMMEDIATE")
        completed = False
        try:
            yield
            completed = True
        finally:
            try:
                self._db.execute("COMMIT" if completed and not self.disabled else "ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("the build cache stopped working (%s); the build goes on without it", exc)
                self.disabled = True

    def close(self) -> None:
        """Close the file (every write is already committed)."""
        try:
            self._db.close()
        except sqlite3.Error:
            pass


def _path_key(path: Path | PurePosixPath) -> bytes:
    # Bytes, not text: a file name need not be valid UTF-8.
    return os.fsencode(str(path))


KEY_BYTES = 32


def signing_key() -> bytes | None:
    """Return this user's key for signing cache values, made on first use; None if it cannot be kept.

    A key file of any other length (cut short by a crash, or planted) is replaced.
    """
    path = user_cache_folder() / "agentpages" / "key"
    try:
        key = path.read_bytes()
        if len(key) == KEY_BYTES:
            return key
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # private: mode 0600
        with os.fdopen(descriptor, "wb") as file:
            file.write(secrets.token_bytes(KEY_BYTES))
        os.replace(temporary, path)  # whole or not at all; the last of two racing builds wins
        return path.read_bytes()
    except OSError:
        return None


def user_cache_folder() -> Path:
    """Return the user's cache folder ($XDG_CACHE_HOME, else ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def compress_page(html: str) -> bytes:
    """Compress a page for the cache (done by the worker that rendered it)."""
    return zlib.compress(html.encode("utf-8"), 1)


def cache_folders(agents_dir: Path) -> list[Path]:
    """Where the cache may go: beside the agents folder, else in the user's cache folder."""
    catalog_id = hashlib.sha256(os.fsencode(str(agents_dir.resolve()))).hexdigest()[:16]
    return [agents_dir.parent / CACHE_FOLDER, user_cache_folder() / "agentpages" / catalog_id]


def _ignore_in_git(folder: Path) -> None:
    """Keep the cache out of git without asking anyone to edit .gitignore."""
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by agentpages: a build cache, safe to delete.\n*\n", encoding="utf-8")


def make_fingerprint(config: SiteConfig) -> str:
    """Return a digest of everything that changes every page: code, versions, templates and config."""
    parts = [f"format {FORMAT}", f"agentpages {__version__}"]
    versions = installed_versions()
    parts += [f"{name} {_library_version(versions, name)}" for name in _RENDERING_LIBRARIES]
    # Our own source too, so a checkout being worked on never serves pages of older code.
    for folder in (PACKAGE_DIR, *template_dirs(config)):
        parts += _folder_digests(folder)
    settings = {key: value for key, value in vars(config).items() if key not in ("out_dir", "strict")}
    parts.append(repr(sorted((key, repr(value)) for key, value in settings.items())))
    return _digest(parts)


def _folder_digests(folder: Path) -> list[str]:
    """Return each file's path and content digest below `folder`, following links as copying does."""
    found = []
    for current, subfolders, files in os.walk(folder, followlinks=True):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            path = Path(current) / name
            try:
                found += [str(path.relative_to(folder)), hashlib.sha256(path.read_bytes()).hexdigest()]
            except OSError:
                found += [str(path.relative_to(folder)), "unreadable"]
    return found


def installed_versions() -> dict[str, str]:
    """Return the version of every distribution installed on `sys.path`, by normalized name.

    Read from the `<name>-<version>.dist-info` (or `.egg-info`, as Debian's packages have)
    folder names, as importlib.metadata finds them, without importing it and the email parser
    it needs: a tenth of a build with nothing to do.
    """
    versions: dict[str, str] = {}
    for folder in sys.path:
        try:
            entries = os.scandir(folder or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                stem, dot, kind = entry.name.rpartition(".")
                name, _, version = stem.partition("-")
                if dot and kind in ("dist-info", "egg-info") and version:
                    versions.setdefault(_normalized(name), version.partition("-")[0])
    return versions


def _library_version(versions: dict[str, str], name: str) -> str:
    """Return a library's version from `installed_versions`, or ask importlib.metadata."""
    known = versions.get(_normalized(name))
    if known is not None:
        return known
    import importlib.metadata  # only when the folder names did not tell

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _digest(parts: list[str]) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()
