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

import hashlib
import importlib.metadata
import logging
import os
import pickle
import sqlite3
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from generator import __version__
from generator.render import template_dirs

if TYPE_CHECKING:
    from generator.catalog import PagePlan
    from generator.config import SiteConfig
    from generator.errors import Finding
    from generator.load import RawAgent
    from generator.model import Agent, Catalog

log = logging.getLogger(__name__)

CACHE_FOLDER = ".agentpages-cache"
CACHE_FILE = "cache.sqlite3"
FORMAT = 3
"""Raised when what the cache stores changes shape; older caches are then ignored."""
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
    """Pages from earlier builds, read and written by one build at a time."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self._db = sqlite3.connect(path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pages (file TEXT PRIMARY KEY, key TEXT, links BLOB, agent BLOB, html BLOB)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, digest TEXT, raw BLOB, findings BLOB)")
        self._db.execute("CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS results (name TEXT PRIMARY KEY, value BLOB)")
        self.stats = CacheStats()

    @classmethod
    def open(cls, config: SiteConfig) -> BuildCache | None:
        """Open the catalog's cache, creating it if need be; None if no folder for it is writable."""
        fingerprint = make_fingerprint(config)
        for folder in cache_folders(config.agents_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                _ignore_in_git(folder)
                return cls._open_or_replace(folder / CACHE_FILE, fingerprint)
            except (OSError, sqlite3.Error) as exc:
                log.debug("no build cache in %s: %s", folder, exc)
        log.warning("no writable folder for the build cache; every page is rendered afresh")
        return None

    @classmethod
    def _open_or_replace(cls, path: Path, fingerprint: str) -> BuildCache:
        """Open the cache file; one that is damaged (or not SQLite at all) is deleted and started afresh."""
        try:
            return cls(path, fingerprint)
        except sqlite3.DatabaseError as exc:
            log.warning("the build cache %s was damaged (%s); starting a new one", path, exc)
            for damaged in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                damaged.unlink(missing_ok=True)
            return cls(path, fingerprint)

    def get_file(self, path: Path, digest: str) -> tuple[RawAgent, list[Finding]] | None:
        """Return a file as read and checked before, if its content is still `digest`."""
        row = self._db.execute("SELECT digest, raw, findings FROM files WHERE path = ?", (str(path),)).fetchone()
        if row is None or row[0] != digest:
            return None
        return pickle.loads(row[1]), pickle.loads(row[2])

    def put_file(self, raw: RawAgent, findings: list[Finding]) -> None:
        """Store a file as read and checked."""
        self._db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                         (str(raw.path), raw.digest, pickle.dumps(raw), pickle.dumps(findings)))

    def page_key(self, plan: PagePlan) -> str:
        """Return the key of everything a page depends on but the files it links to."""
        raw = plan.raw
        content = raw.digest or _digest(["\n".join(raw.front_matter.lines), raw.body])
        return _digest([self.fingerprint, str(raw.path), str(raw.rel_path), content,
                        repr(plan.previous), repr(plan.next), plan.slug])

    def get(
        self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], with_html: bool = True
    ) -> CachedPage | None:
        """Return the page stored for `plan` under `key`, if the files it links to kept their slugs.

        Without `with_html`, only the agent is read (its page's `html` is empty).
        """
        columns = "key, links, agent, html" if with_html else "key, links, agent"
        row = self._db.execute(f"SELECT {columns} FROM pages WHERE file = ?", (str(plan.raw.rel_path),)).fetchone()
        if row is None or row[0] != key:
            return None
        links: dict[PurePosixPath, str | None] = pickle.loads(row[1])
        if any(slugs.get(target) != slug for target, slug in links.items()):
            return None
        return CachedPage(pickle.loads(row[2]), zlib.decompress(row[3]) if with_html else b"")

    def put(self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], agent: Agent,
            compressed_html: bytes) -> None:
        """Store a freshly rendered page, compressed by `compress_page`."""
        links = {target: slugs.get(target) for target in agent.linked_files}
        self._db.execute(
            "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?)",
            (str(plan.raw.rel_path), key, pickle.dumps(links), pickle.dumps(agent), compressed_html),
        )

    def forget_others(self, raw_agents: Iterable[RawAgent]) -> None:
        """Drop the files and pages of files that are no longer in the catalog."""
        present = list(raw_agents)
        for table, column, kept in (("pages", "file", {str(raw.rel_path) for raw in present}),
                                    ("files", "path", {str(raw.path) for raw in present})):
            stored = [row[0] for row in self._db.execute(f"SELECT {column} FROM {table}")]
            self._db.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(f,) for f in stored if f not in kept])

    def last_quick_state(self) -> str | None:
        """Return the quick state (see build.py) the last finished build recorded."""
        row = self._db.execute("SELECT value FROM state WHERE name = 'quick'").fetchone()
        return row[0] if row else None

    def last_result(self) -> tuple[list[Finding], Catalog] | None:
        """Return the findings and catalog (agents without bodies) of the last finished build."""
        row = self._db.execute("SELECT value FROM results WHERE name = 'last'").fetchone()
        return pickle.loads(row[0]) if row else None

    def record_result(self, quick_state: str, findings: list[Finding], catalog: Catalog) -> None:
        """Remember what a finished build found and made, for a build with nothing changed to repeat."""
        self._db.execute("INSERT OR REPLACE INTO state VALUES ('quick', ?)", (quick_state,))
        self._db.execute("INSERT OR REPLACE INTO results VALUES ('last', ?)", (pickle.dumps((findings, catalog)),))

    def last_site(self) -> str | None:
        """Return what the last finished build recorded of its site (see `record_site`)."""
        row = self._db.execute("SELECT value FROM state WHERE name = 'site'").fetchone()
        return row[0] if row else None

    def record_site(self, value: str) -> None:
        """Remember the finished site: its inputs' digest and the marker file that proves it is still there."""
        self._db.execute("INSERT OR REPLACE INTO state VALUES ('site', ?)", (value,))

    def close(self) -> None:
        """Save what was stored and close the file."""
        try:
            self._db.commit()
        finally:
            self._db.close()


def compress_page(html: str) -> bytes:
    """Compress a page for the cache (done by the worker that rendered it)."""
    return zlib.compress(html.encode("utf-8"), 1)


def cache_folders(agents_dir: Path) -> list[Path]:
    """Where the cache may go: beside the agents folder, else in the user's cache folder."""
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    catalog_id = hashlib.sha256(str(agents_dir.resolve()).encode()).hexdigest()[:16]
    return [agents_dir.parent / CACHE_FOLDER, user_cache / "agentpages" / catalog_id]


def _ignore_in_git(folder: Path) -> None:
    """Keep the cache out of git without asking anyone to edit .gitignore."""
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by agentpages: a build cache, safe to delete.\n*\n", encoding="utf-8")


def make_fingerprint(config: SiteConfig) -> str:
    """Return a digest of everything that changes every page: versions, templates and config."""
    parts = [f"format {FORMAT}", f"agentpages {__version__}"]
    parts += [f"{name} {_version_of(name)}" for name in _RENDERING_LIBRARIES]
    for folder in template_dirs(config):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            parts += [str(path.relative_to(folder)), hashlib.sha256(path.read_bytes()).hexdigest()]
    settings = {key: value for key, value in vars(config).items() if key not in ("out_dir", "strict")}
    parts.append(repr(sorted((key, repr(value)) for key, value in settings.items())))
    return _digest(parts)


def _version_of(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _digest(parts: list[str]) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()
