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
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator import __version__
from generator.config import template_dirs

if TYPE_CHECKING:
    from generator.catalog import PagePlan
    from generator.config import SiteConfig
    from generator.errors import Finding
    from generator.lint import CheckedFile
    from generator.load import RawAgent
    from generator.model import Agent, Catalog
    from generator.search import PageTerms, SearchIndex
    from generator.update import Manifest

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
CACHE_FOLDER = ".agentpages-cache"
CACHE_FILE = "cache.sqlite3"
FORMAT = 9
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

    def _seal(self, value: object) -> bytes:
        data = pickle.dumps(value)
        return hmac.new(self._key, data, hashlib.sha256).digest() + data

    def _unseal(self, sealed: bytes | None) -> Any:
        """Return the stored value, or None if it is missing, was not signed with our key, or is unreadable."""
        if not sealed or len(sealed) < 32:
            return None
        signature, data = sealed[:32], sealed[32:]
        if not hmac.compare_digest(signature, hmac.new(self._key, data, hashlib.sha256).digest()):
            return None
        try:
            return pickle.loads(data)
        except Exception:  # written by another version: a miss
            return None

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

    def get_file(self, path: Path, digest: str, stamp: str = "") -> CheckedFile | None:
        """Return a file as read and checked before, if its content (and the rules) are unchanged.

        Its new `stamp`, if trusted, is remembered for `get_file_by_stamp`.
        """
        rows = self._query("SELECT key, reading FROM files WHERE path = ?", (_path_key(path),))
        if not rows or rows[0][0] != self._reading_key(digest):
            return None
        checked = self._unseal(rows[0][1])
        if checked is not None and stamp:
            self._query("UPDATE files SET stamp = ? WHERE path = ?", (self._reading_key(stamp), _path_key(path)))
        return checked

    def get_file_by_stamp(self, path: Path, stamp: str) -> CheckedFile | None:
        """Return a file as read and checked before, if it has the same stamp (see build.py) as then."""
        rows = self._query("SELECT stamp, reading FROM files WHERE path = ?", (_path_key(path),))
        if not rows or rows[0][0] != self._reading_key(stamp):
            return None
        return self._unseal(rows[0][1])

    def put_file(self, checked: CheckedFile, stamp: str = "") -> None:
        """Store a file as read and checked by the rules that look at nothing but the file, and the
        stamp it had before it was read ("" when not to be trusted)."""
        if checked.raw is not None:
            self._query("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                        (_path_key(checked.raw.path), self._reading_key(checked.raw.digest),
                         self._reading_key(stamp) if stamp else "", self._seal(checked)))

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
        rows = self._query(f"SELECT {columns} FROM pages WHERE file = ?", (_path_key(plan.raw.rel_path),))
        if not rows or rows[0][0] != key:
            return None
        links = self._unseal(rows[0][1])
        agent = self._unseal(rows[0][2])
        html = self._unseal(rows[0][3]) if with_html else b""
        if links is None or agent is None or html is None:
            return None
        if any(slugs.get(target) != slug for target, slug in links.items()):
            return None
        return CachedPage(agent, zlib.decompress(html) if with_html else b"")

    def get_terms(self, plan: PagePlan, key: str) -> PageTerms | None:
        """Return the words for search of the page stored for `plan`'s file under `key`."""
        rows = self._query("SELECT key, terms FROM pages WHERE file = ?", (_path_key(plan.raw.rel_path),))
        return self._unseal(rows[0][1]) if rows and rows[0][0] == key else None

    def put(self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], agent: Agent,
            compressed_html: bytes, terms: PageTerms) -> None:
        """Store a freshly rendered page, compressed by `compress_page`, and its words for search."""
        links = {target: slugs.get(target) for target in agent.linked_files}
        self._query("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
                    (_path_key(plan.raw.rel_path), key, self._seal(links), self._seal(agent),
                     self._seal(compressed_html), self._seal(terms)))

    def forget_others(self, raw_agents: Iterable[RawAgent]) -> None:
        """Drop the files and pages of files that are no longer in the catalog."""
        present = list(raw_agents)
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
        return self._unseal(rows[0][0]) if rows else None

    def last_written(self) -> tuple[Manifest, SearchIndex] | None:
        """Return what the last build that wrote its site left there, and its search index (see update.py)."""
        rows = self._query("SELECT value FROM results WHERE name = 'written'")
        return self._unseal(rows[0][0]) if rows else None

    def get_value(self, name: str) -> Any:
        """Return a value stored by `put_value`, or None."""
        rows = self._query("SELECT value FROM results WHERE name = ?", (f"value {name}",))
        return self._unseal(rows[0][0]) if rows else None

    def put_value(self, name: str, value: object) -> None:
        """Store any value under `name`, signed like every other."""
        self._query("INSERT OR REPLACE INTO results VALUES (?, ?)", (f"value {name}", self._seal(value)))

    def last_site(self) -> str | None:
        """Return what the last finished build recorded of its site (see `record_build`)."""
        rows = self._query("SELECT value FROM state WHERE name = 'site'")
        return rows[0][0] if rows else None

    def record_build(
        self, quick_state: str, findings: list[Finding], catalog: Catalog, site: str,
        written: tuple[Manifest, SearchIndex] | None = None,
    ) -> None:
        """Remember a finished build, all at once: its quick state, findings and catalog (for a build
        with nothing changed to repeat), its site's state and, if it wrote the site, what it wrote."""
        with self._transaction():
            self._query("INSERT OR REPLACE INTO results VALUES ('last', ?)", (self._seal((findings, catalog)),))
            self._query("INSERT OR REPLACE INTO state VALUES ('quick', ?)", (quick_state,))
            self._query("INSERT OR REPLACE INTO state VALUES ('site', ?)", (site,))
            if written is not None:
                self._query("INSERT OR REPLACE INTO results VALUES ('written', ?)", (self._seal(written),))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Group writes: all of them are kept, or (after a database error) none."""
        self._query("BEGIN IMMEDIATE")
        yield
        try:
            self._db.execute("ROLLBACK" if self.disabled else "COMMIT")
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


def signing_key() -> bytes | None:
    """Return this user's key for signing cache values, made on first use; None if it cannot be kept."""
    path = user_cache_folder() / "agentpages" / "key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(secrets.token_bytes(32))
        return path.read_bytes()
    except FileExistsError:  # another build made it meanwhile
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
    parts += [f"{name} {versions.get(_normalized(name), 'missing')}" for name in _RENDERING_LIBRARIES]
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

    Read from the `<name>-<version>.dist-info` folder names, as importlib.metadata finds
    them, without importing it (and the email parser it needs): a tenth of a build with
    nothing to do.
    """
    versions: dict[str, str] = {}
    for folder in sys.path:
        try:
            entries = os.scandir(folder or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                name, _, version = entry.name.removesuffix(".dist-info").partition("-")
                if entry.name.endswith(".dist-info") and version:
                    versions.setdefault(_normalized(name), version)
    return versions


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _digest(parts: list[str]) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()
